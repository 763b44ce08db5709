#!/bin/bash
# The listening socket: a stale socket file left by a dead daemon is
# replaced; a live one (something accepts on it) makes a second dockmuxd
# refuse to start with one line and exit non-zero, leaving the first
# serving; a path that is not a socket is left alone and refused; the
# configured socket_mode and socket_group are applied.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

sock=$T_TMP/l.sock
cfg=$T_TMP/l.json
group=$(getent group docker >/dev/null && echo docker || id -gn)
cat >"$cfg" <<JSON
{ "listen": "unix://$sock", "store": "$T_TMP/l.db",
  "socket_mode": "0640", "socket_group": "$group",
  "backends": [ { "name": "a", "endpoint": "unix://$ENGINE_A_SOCK" } ] }
JSON

# A stale socket: bound by a process that is gone, nobody accepts on it.
/usr/bin/python3 -c 'import socket,sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$sock"
[ -S "$sock" ] || t_fail "could not leave a stale socket at $sock"
rig_dockmuxd_start "$cfg" listener-1
t_expect_eq "/_ping over the replaced stale socket" OK \
    "$(curl -sS -m 10 --unix-socket "$sock" http://dockmux/_ping)"
grep -q 'replacing stale socket' "$RIG_DIR/listener-1.log" ||
    t_fail "no 'replacing stale socket' line in the log"

# Mode and group as configured.
t_expect_eq "socket mode" 640 "$(stat -c %a "$sock")"
t_expect_eq "socket group" "$group" "$(stat -c %G "$sock")"

# A live socket: a second daemon refuses, in one line, and the first
# keeps serving.
rc=0
out=$(timeout 20 "$BUILD/dockmuxd" --config "$cfg" 2>&1) || rc=$?
[ "$rc" -ne 0 ] || t_fail "second dockmuxd on a live socket exited 0"
[ "$rc" -ne 124 ] || t_fail "second dockmuxd on a live socket did not exit"
case $out in
*"in use by a running daemon"*) ;;
*) t_fail "second dockmuxd said: $out" ;;
esac
t_expect_eq "refusal is one line" 1 "$(printf '%s\n' "$out" | grep -c .)"
t_expect_eq "/_ping on the first after the refusal" OK \
    "$(curl -sS -m 10 --unix-socket "$sock" http://dockmux/_ping)"

# Not a socket: left alone, refused.
file=$T_TMP/plain
echo keep >"$file"
sed "s|unix://$sock|unix://$file|; s|$T_TMP/l.db|$T_TMP/p.db|" "$cfg" \
    >"$T_TMP/p.json"
rc=0
out=$(timeout 20 "$BUILD/dockmuxd" --config "$T_TMP/p.json" 2>&1) || rc=$?
[ "$rc" -ne 0 ] || t_fail "dockmuxd on a regular file exited 0"
case $out in
*"is not a socket"*) ;;
*) t_fail "dockmuxd on a regular file said: $out" ;;
esac
t_expect_eq "the regular file is untouched" keep "$(cat "$file")"
