#!/usr/bin/env bash
# client.proxy: podfs exec through the kubeconfig's http:// proxy-url. The
# exec connection is a CONNECT tunnel that podfs opens itself (then TLS and
# the WebSocket upgrade inside it): plain output, stdin, a client
# certificate, and a proxy that is down (a clear error, no hang). The proxy
# is a small CONNECT-only forwarder in Python that logs each request line.
set -euo pipefail
# shellcheck source=tests/client/common.sh
. "$(dirname -- "$0")/common.sh"
command -v python3 >/dev/null 2>&1 || skip "needs python3 for the test proxy"
sim_start
export PF_TIMEOUT=30

cat >"$SIM_WORK/proxy.py" <<'PY'
import socket, sys, threading

log = open(sys.argv[1], "a")
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(64)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
import os
os.rename(sys.argv[2] + ".tmp", sys.argv[2])

def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    try:
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass

def handle(c):
    data = b""
    while b"\r\n\r\n" not in data:
        d = c.recv(4096)
        if not d:
            c.close()
            return
        data += d
    line = data.split(b"\r\n")[0].decode()
    log.write(line + "\n")
    log.flush()
    method, target = line.split(" ")[:2]
    if method != "CONNECT":
        c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
        c.close()
        return
    host, port = target.rsplit(":", 1)
    try:
        u = socket.create_connection((host.strip("[]"), int(port)))
    except OSError:
        c.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
        c.close()
        return
    c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    rest = data.split(b"\r\n\r\n", 1)[1]
    if rest:
        u.sendall(rest)
    t = threading.Thread(target=pump, args=(u, c), daemon=True)
    t.start()
    pump(c, u)
    t.join()
    c.close()
    u.close()

while True:
    c, _ = srv.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
PY
python3 "$SIM_WORK/proxy.py" "$SIM_WORK/proxy.log" "$SIM_WORK/proxy.port" &
PROXY_PID=$!
sim_on_cleanup 'kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null || true'
for ((i = 0; i < 100; i++)); do
    [ -s "$SIM_WORK/proxy.port" ] && break
    sleep 0.05
done
[ -s "$SIM_WORK/proxy.port" ] || fail "the test proxy did not start"
PROXY_PORT=$(cat "$SIM_WORK/proxy.port")

# with_proxy URL: a copy of the kubeconfig whose cluster uses proxy-url URL
with_proxy() {
    sed "s|^\(    server: .*\)$|\1\n    proxy-url: $1|" "$KUBECONFIG" >"$SIM_WORK/proxy.kubeconfig"
    grep -q "proxy-url: $1" "$SIM_WORK/proxy.kubeconfig" || fail "cannot add proxy-url to the kubeconfig"
}

with_proxy "http://127.0.0.1:$PROXY_PORT"
n0=$(sim_exec_count 101)
nall=$(sim_exec_count)
capture pfs exec --kubeconfig "$SIM_WORK/proxy.kubeconfig" gnu -- echo via-proxy
assert_eq 0 "$RC" "through the proxy: exit code (stderr: $ERR)"
assert_eq via-proxy "$OUT" "through the proxy: output"
grep -q "^CONNECT 127.0.0.1:$SIM_PORT HTTP/1.1$" "$SIM_WORK/proxy.log" \
    || fail "no CONNECT to the API server in the proxy's log: $(cat "$SIM_WORK/proxy.log")"
ncon=$(grep -c '^CONNECT' "$SIM_WORK/proxy.log")

head -c 3000000 /dev/urandom >"$SIM_WORK/in.bin"
capture pfs exec --kubeconfig "$SIM_WORK/proxy.kubeconfig" -i gnu -- sha256sum <"$SIM_WORK/in.bin"
assert_eq 0 "$RC" "-i through the proxy: exit code (stderr: $ERR)"
assert_eq "$(sha "$SIM_WORK/in.bin")  -" "$OUT" "-i through the proxy: sha256 of 3 MB of stdin"

capture pfs exec --kubeconfig "$SIM_WORK/proxy.kubeconfig" --context kube-sim-cert gnu -- sh -c 'exit 7'
assert_eq 7 "$RC" "client certificate through the proxy: exit code (stderr: $ERR)"
sim_wait_exec_log $((nall + 3)) 10
assert_eq $((n0 + 3)) "$(sim_exec_count 101)" "three exec sessions upgraded"
[ "$(grep -c '^CONNECT' "$SIM_WORK/proxy.log")" -gt "$ncon" ] || fail "later sessions did not use the proxy"

# A proxy that is not there: an error naming the stream, promptly.
with_proxy "http://127.0.0.1:1"
t0=$(date +%s)
capture pfs exec --kubeconfig "$SIM_WORK/proxy.kubeconfig" gnu -- echo never
[ "$RC" -ne 0 ] || fail "a dead proxy: exit 0"
[ "$RC" -ne 124 ] || fail "a dead proxy: podfs hung"
[ $(($(date +%s) - t0)) -le 20 ] || fail "a dead proxy: took more than 20 s"
assert_eq "" "$OUT" "a dead proxy: no output"
echo "PASS: proxy ($(grep -c '^CONNECT' "$SIM_WORK/proxy.log") CONNECTs)"
