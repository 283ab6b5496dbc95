#!/usr/bin/env bash
# banned.sh REPO: fail if C sources call functions we do not use
# (STYLE.md: unbounded or unchecked string and number handling, shells).
set -euo pipefail
repo=${1:?usage: banned.sh REPO}
cd "$repo"
pattern='(^|[^A-Za-z0-9_.>])(sprintf|vsprintf|strcpy|strcat|gets|atoi|atol|atoll|sscanf|system|popen|strtok)[[:space:]]*\('
found=$(git ls-files -co --exclude-standard -- '*.c' '*.h' 2>/dev/null | grep -v '^build' |
        xargs -r grep -nE "$pattern" |
        grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)' || true)
if [ -n "$found" ]; then
    echo "banned functions used (see STYLE.md; use snprintf/buf_*, parse_u64, strtok_r...):" >&2
    echo "$found" >&2
    exit 1
fi
n=$(git ls-files -co --exclude-standard -- '*.c' '*.h' | grep -vc '^build' || true)
echo "banned.sh: $n C files clean"
