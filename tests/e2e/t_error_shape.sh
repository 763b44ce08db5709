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

# A bad list filter: every engine refuses it alike, and dockmuxd answers
# as one of them would, status and body.
same_as_engine() {
	local path=$1 dcode mcode
	dcode=$(curl -sS -m 10 --unix-socket "$ENGINE_A_SOCK" -o "$T_TMP/db" \
	    -w '%{http_code}' "http://docker$path")
	mcode=$(curl -sS -m 10 --unix-socket "$DOCKMUX_SOCK" -o "$T_TMP/mb" \
	    -w '%{http_code}' "http://dockmux$path")
	[ "$dcode" -ge 400 ] || t_fail "GET $path direct: status $dcode"
	t_expect_eq "GET $path status, as the engine's" "$dcode" "$mcode"
	t_expect_eq "GET $path body, as the engine's" "$(cat "$T_TMP/db")" \
	    "$(cat "$T_TMP/mb")"
}
same_as_engine '/containers/json?filters=%7B%22bad%22%3A%5B%22x%22%5D%7D'
same_as_engine '/containers/json?filters=bad'
same_as_engine '/images/json?filters=%7B%22bad%22%3A%5B%22x%22%5D%7D'
rc=0
err=$(timeout 30 docker ps --filter bad=x 2>&1 >/dev/null) || rc=$?
[ "$rc" -ne 0 ] || t_fail "docker ps --filter bad=x succeeded"
grep -q "^Error response from daemon: [Ii]nvalid filter 'bad'$" <<<"$err" ||
    t_fail "docker ps --filter bad=x: '$err'"
