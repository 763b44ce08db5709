#!/bin/bash
# Errors have Docker's shape: 404, Content-Type application/json,
# {"message": "..."}.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init

check_404() {
	local path=$1 code ct
	code=$(curl -sS -m 10 --unix-socket "$DOCKMUX_SOCK" -D "$T_TMP/h" \
	    -o "$T_TMP/b" -w '%{http_code}' "http://dockmux$path")
	t_expect_eq "GET $path status" 404 "$code"
	ct=$(tr -d '\r' <"$T_TMP/h" | sed -n 's/^[Cc]ontent-[Tt]ype: *//p')
	case $ct in
	application/json*) ;;
	*) t_fail "GET $path: Content-Type '$ct'" ;;
	esac
	python3 - "$T_TMP/b" <<'PY' || t_fail "GET $path: body $(cat "$T_TMP/b")"
import json, sys
m = json.load(open(sys.argv[1]))["message"]
assert isinstance(m, str) and "no such container" in m.lower(), m
PY
}

nope=$T_PREFIX-nope
check_404 "/containers/$nope/json"
api=$(curl -sS -m 10 --unix-socket "$DOCKMUX_SOCK" -D - -o /dev/null http://dockmux/_ping |
    tr -d '\r' | sed -n 's/^[Aa][Pp][Ii]-[Vv]ersion: *//p')
check_404 "/v$api/containers/$nope/json"

# The CLI shows the message.
rc=0
err=$(timeout 30 docker inspect "$nope" 2>&1 >/dev/null) || rc=$?
[ "$rc" -ne 0 ] || t_fail "docker inspect $nope succeeded"
grep -qi "no such.*$nope" <<<"$err" || t_fail "docker inspect error: '$err'"
