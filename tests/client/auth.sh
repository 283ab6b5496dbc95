#!/usr/bin/env bash
# client.auth: every way podfs exec authenticates to the API server and
# verifies it, through `podfs exec gnu -- id -u` against kube-sim: bearer
# token, client certificate (inline data and files with paths relative to
# the kubeconfig), tokenFile (rotated and the old token revoked), basic auth,
# exec credential plugins (v1, v1beta1, a failing one), a bad token,
# insecure-skip-tls-verify, a wrong CA, tls-server-name. kube-sim's request
# log says which user each exec ran as.
# shellcheck disable=SC2016 # $ in single quotes: for the plugin's shell
set -euo pipefail
# shellcheck source=tests/client/common.sh
. "$(dirname -- "$0")/common.sh"
sim_start

ADMIN_TOKEN=$(cat "$SIM_STATE/admin.token")
CA_B64=$(base64 -w0 <"$SIM_STATE/ca.crt")

# last_exec_user: the user of the last exec that got 101
last_exec_user() {
    sim_exec_log | grep -F '"status":101' | tail -n 1 | sed -n 's/.*"user":"\([^"]*\)".*/\1/p'
}

# id_u WHAT EXPECTED_USER PODFS-ARGS...: podfs exec ARGS gnu -- id -u works
# and kube-sim saw EXPECTED_USER
id_u() {
    local what=$1 user=$2 n
    shift 2
    n=$(sim_exec_count 101)
    capture pfs exec "$@" gnu -- id -u
    assert_eq 0 "$RC" "$what: exit code (stderr: $ERR)"
    assert_eq 0 "$OUT" "$what: id -u output"
    assert_eq "" "$ERR" "$what: nothing on stderr"
    sim_wait_exec_log $((n + 1)) || true
    assert_eq $((n + 1)) "$(sim_exec_count 101)" "$what: one more exec session in the request log"
    assert_eq "$user" "$(last_exec_user)" "$what: the user kube-sim saw"
}

# kubeconfig FILE CLUSTER-LINES USER-LINES: a one-context kubeconfig.
# CLUSTER-LINES/USER-LINES are YAML lines indented by 4 spaces.
kubeconfig() {
    cat >"$1" <<EOK
apiVersion: v1
kind: Config
current-context: t
clusters:
- name: c
  cluster:
$2
users:
- name: u
  user:
$3
contexts:
- name: t
  context:
    cluster: c
    user: u
    namespace: default
EOK
}
CLUSTER_OK="    server: $SIM_URL
    certificate-authority-data: $CA_B64"

# --- token (the default context), client certificate data, basic auth -------
id_u "token (default context)" admin
id_u "client certificate data (kube-sim-cert)" cert-user --context kube-sim-cert
id_u "basic auth (kube-sim-basic)" basic-user --context kube-sim-basic

# --- client certificate from files, paths relative to the kubeconfig ------
D=$SIM_WORK/certfiles
mkdir -p "$D/pki"
cp "$SIM_STATE/ca.crt" "$D/ca.crt"
cp "$SIM_STATE/client.crt" "$SIM_STATE/client.key" "$D/pki/"
kubeconfig "$D/config" "    server: $SIM_URL
    certificate-authority: ca.crt" "    client-certificate: pki/client.crt
    client-key: pki/client.key"
mkdir -p "$SIM_WORK/elsewhere"
(cd "$SIM_WORK/elsewhere" && id_u "client certificate files (relative paths, other cwd)" cert-user \
    --kubeconfig "$D/config")
# the same through $KUBECONFIG, run from /
(cd / && KUBECONFIG=$D/config id_u "client certificate files via \$KUBECONFIG, cwd /" cert-user)
# the paths really are relative to the kubeconfig: a missing key file is an error
mv "$D/pki/client.key" "$D/pki/client.key.away"
capture pfs exec --kubeconfig "$D/config" gnu -- id -u
assert_eq 1 "$RC" "client-key file missing: exit code (stdout: $OUT)"
assert_contains "$ERR" "client.key" "client-key file missing: the message names the file"
mv "$D/pki/client.key.away" "$D/pki/client.key"

# --- exec credential plugins ---------------------------------------------------
# plugin.sh APIVERSION: counts its runs in $PLUGIN_COUNT, saves
# KUBERNETES_EXEC_INFO in $PLUGIN_INFO, prints an ExecCredential.
P=$SIM_WORK/plugin
mkdir -p "$P"
cat >"$P/plugin.sh" <<'EOP'
#!/bin/sh
echo run >>"$PLUGIN_COUNT"
printf '%s' "$KUBERNETES_EXEC_INFO" >"$PLUGIN_INFO"
printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"2099-01-01T00:00:00Z"}}\n' \
    "$1" "$PLUGIN_TOKEN"
EOP
cat >"$P/fail.sh" <<'EOP'
#!/bin/sh
echo "plugin-fail.sh: no credentials for you (fake SSO is down)" >&2
exit 1
EOP
chmod +x "$P/plugin.sh" "$P/fail.sh"
for api in v1 v1beta1; do
    mode=
    [ "$api" = v1 ] && mode="      interactiveMode: Never"
    kubeconfig "$P/$api.config" "$CLUSTER_OK" "    exec:
      apiVersion: client.authentication.k8s.io/$api
      command: ./plugin.sh
      args: [\"client.authentication.k8s.io/$api\"]
      env:
      - name: PLUGIN_COUNT
        value: $P/$api.count
      - name: PLUGIN_INFO
        value: $P/$api.info
      - name: PLUGIN_TOKEN
        value: $ADMIN_TOKEN
$mode"
    rm -f "$P/$api.count"
    (cd / && id_u "exec plugin $api" admin --kubeconfig "$P/$api.config")
    assert_eq 1 "$(wc -l <"$P/$api.count")" "exec plugin $api: one podfs exec runs the plugin once (pod GET + exec share it)"
    info=$(cat "$P/$api.info")
    assert_contains "$info" '"kind":"ExecCredential"' "exec plugin $api: KUBERNETES_EXEC_INFO"
    assert_contains "$info" "\"apiVersion\":\"client.authentication.k8s.io/$api\"" "exec plugin $api: KUBERNETES_EXEC_INFO apiVersion"
    assert_contains "$info" '"interactive":false' "exec plugin $api: not interactive"
done
# a plugin that prints the wrong apiVersion is refused
kubeconfig "$P/mismatch.config" "$CLUSTER_OK" "    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: $P/plugin.sh
      args: [\"client.authentication.k8s.io/v1beta1\"]
      interactiveMode: Never
      env:
      - name: PLUGIN_COUNT
        value: $P/mismatch.count
      - name: PLUGIN_INFO
        value: $P/mismatch.info
      - name: PLUGIN_TOKEN
        value: $ADMIN_TOKEN"
n=$(sim_exec_count 101)
capture pfs exec --kubeconfig "$P/mismatch.config" gnu -- id -u
assert_eq 1 "$RC" "plugin with the wrong apiVersion in its output: exit code (stdout: $OUT)"
assert_contains "$ERR" "v1beta1" "plugin with the wrong apiVersion: the message names what it got"
assert_eq "$n" "$(sim_exec_count 101)" "plugin with the wrong apiVersion: no exec session"
# a failing plugin
kubeconfig "$P/fail.config" "$CLUSTER_OK" "    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./fail.sh
      interactiveMode: Never
      installHint: 'install fail.sh from the podfs test suite'"
capture pfs exec --kubeconfig "$P/fail.config" gnu -- id -u
assert_eq 1 "$RC" "failing plugin: exit code (stdout: $OUT)"
assert_contains "$ERR" "no credentials for you (fake SSO is down)" "failing plugin: its own stderr is shown"
assert_contains "$ERR" "fail.sh" "failing plugin: the message names the plugin"
assert_contains "$ERR" "install fail.sh from the podfs test suite" "failing plugin: installHint is shown"
assert_eq "$n" "$(sim_exec_count 101)" "failing plugin: no exec session"
# a plugin that does not exist
kubeconfig "$P/missing.config" "$CLUSTER_OK" "    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: podfs-no-such-credential-plugin
      interactiveMode: Never
      installHint: 'get podfs-no-such-credential-plugin from nowhere'"
capture pfs exec --kubeconfig "$P/missing.config" gnu -- id -u
assert_eq 1 "$RC" "missing plugin: exit code (stdout: $OUT)"
assert_contains "$ERR" "podfs-no-such-credential-plugin" "missing plugin: the message names it"
assert_contains "$ERR" "get podfs-no-such-credential-plugin from nowhere" "missing plugin: installHint is shown"

# --- a bad token ----------------------------------------------------------------
kubeconfig "$SIM_WORK/badtoken.config" "$CLUSTER_OK" "    token: not-the-token-$RANDOM"
n=$(sim_exec_count 101)
capture pfs exec --kubeconfig "$SIM_WORK/badtoken.config" gnu -- id -u
assert_eq 1 "$RC" "bad token: exit code (stdout: $OUT)"
assert_eq "" "$OUT" "bad token: no output"
assert_contains "$ERR" "Unauthorized" "bad token: message"
assert_eq "$n" "$(sim_exec_count 101)" "bad token: no exec session"

# --- TLS: insecure-skip-tls-verify, a wrong CA, tls-server-name ---------------
kubeconfig "$SIM_WORK/insecure.config" "    server: $SIM_URL
    insecure-skip-tls-verify: true" "    token: $ADMIN_TOKEN"
id_u "insecure-skip-tls-verify without a CA" admin --kubeconfig "$SIM_WORK/insecure.config"

# no CA and no insecure flag: the system CAs do not know kube-sim's CA
kubeconfig "$SIM_WORK/noca.config" "    server: $SIM_URL" "    token: $ADMIN_TOKEN"
capture pfs exec --kubeconfig "$SIM_WORK/noca.config" gnu -- id -u
assert_eq 1 "$RC" "no CA at all: exit code (stdout: $OUT)"
assert_contains "$ERR" "certificate" "no CA at all: a certificate verification message"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=not-kube-sim-ca" \
    -keyout "$SIM_WORK/other-ca.key" -out "$SIM_WORK/other-ca.crt" >/dev/null 2>&1 \
    || fail "openssl could not make a CA"
kubeconfig "$SIM_WORK/wrongca.config" "    server: $SIM_URL
    certificate-authority: $SIM_WORK/other-ca.crt" "    token: $ADMIN_TOKEN"
n=$(sim_exec_count 101)
capture pfs exec --kubeconfig "$SIM_WORK/wrongca.config" gnu -- id -u
assert_eq 1 "$RC" "wrong CA: exit code (stdout: $OUT)"
assert_eq "" "$OUT" "wrong CA: no output"
assert_contains "$ERR" "certificate" "wrong CA: a certificate verification message"
assert_not_contains "$ERR" "$ADMIN_TOKEN" "wrong CA: the message does not leak the token"
assert_eq "$n" "$(sim_exec_count 101)" "wrong CA: no exec session"

kubeconfig "$SIM_WORK/sni.config" "$CLUSTER_OK
    tls-server-name: kube-sim.test" "    token: $ADMIN_TOKEN"
id_u "tls-server-name: kube-sim.test (in the certificate)" admin --kubeconfig "$SIM_WORK/sni.config"
kubeconfig "$SIM_WORK/badsni.config" "$CLUSTER_OK
    tls-server-name: wrong.example" "    token: $ADMIN_TOKEN"
n=$(sim_exec_count 101)
capture pfs exec --kubeconfig "$SIM_WORK/badsni.config" gnu -- id -u
assert_eq 1 "$RC" "tls-server-name: wrong.example: exit code (stdout: $OUT)"
assert_contains "$ERR" "certificate" "tls-server-name: wrong.example: a certificate verification message"
assert_eq "$n" "$(sim_exec_count 101)" "tls-server-name: wrong.example: no exec session"

# --- tokenFile: rotated, the old token revoked -------------------------------
# (last: it revokes the admin token of the default context)
sim_tokens() {
    curl -sS --fail-with-body --noproxy '*' --max-time 10 --cacert "$SIM_STATE/ca.crt" \
        -H "Authorization: Bearer $(cat -- "$SIM_STATE/sim.token")" \
        "$SIM_URL/_sim/tokens?$1" >/dev/null || fail "/_sim/tokens?$1 failed"
}
T=$SIM_WORK/tokenfile
mkdir -p "$T"
printf '%s\n' "$ADMIN_TOKEN" >"$T/token"
kubeconfig "$T/config" "$CLUSTER_OK" "    tokenFile: token"
(cd / && id_u "tokenFile (relative path) with the admin token" admin --kubeconfig "$T/config")
NEW_TOKEN=rotated-$RANDOM$RANDOM$RANDOM
sim_tokens "add=$NEW_TOKEN&user=rotated-user&role=admin"
printf '%s\n' "$NEW_TOKEN" >"$T/token.new"
mv "$T/token.new" "$T/token"
sim_tokens "revoke=$ADMIN_TOKEN"
# the revocation took: the default context (the admin token inline) gets 401
capture pfs exec gnu -- id -u
assert_eq 1 "$RC" "admin token revoked: the default context fails"
assert_contains "$ERR" "Unauthorized" "admin token revoked: 401"
(cd / && id_u "tokenFile after rotation" rotated-user --kubeconfig "$T/config")

# --- the message format: like kubectl's other failures, "error: ..." ---------
# (podfs exec's contract: API errors "Error from server (Reason): message",
# every other failure a line "error: ..."; a plugin's own stderr may precede
# it.) Checked last, so that the behaviour above is tested in any case.
has_error_line() { # WHAT: ERR has a line starting "error: "
    printf '%s\n' "$ERR" | grep -q '^error: ' \
        || fail "$1: no line starting with 'error: ' in stderr: $ERR"
}
for cfg in noca wrongca badsni; do
    capture pfs exec --kubeconfig "$SIM_WORK/$cfg.config" gnu -- id -u
    assert_eq 1 "$RC" "$cfg: exit code"
    has_error_line "TLS failure ($cfg)"
done
for cfg in fail missing; do
    capture pfs exec --kubeconfig "$P/$cfg.config" gnu -- id -u
    assert_eq 1 "$RC" "$cfg plugin: exit code"
    has_error_line "credential plugin failure ($cfg)"
done

echo "PASS: client.auth"
