#!/bin/bash
# A user without XDG_RUNTIME_DIR gets the default socket in a directory
# of its own, /tmp/dockmux-UID/: dockmuxd makes it 0700 and serves there,
# and the CLI finds it by the same default.  One that another user made
# first (or a symbolic link put there) is refused by both, in one line
# naming the owner, so nobody can squat the socket or catch the clients.
# Runs as uid 65534 (nobody); engines are not needed (backends down).
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd
command -v setpriv >/dev/null || { echo "SKIP: needs setpriv"; exit 77; }

uid=65534
dir=/tmp/dockmux-$uid
if [ -e "$dir" ] || [ -L "$dir" ]; then
	echo "SKIP: $dir exists already; not ours to remove"
	exit 77
fi
work=$(mktemp -d /tmp/e2e-private-dir.XXXXXX)
chmod 755 "$work"
mkdir "$work/home"
chown "$uid:$uid" "$work/home"
cat >"$work/c.json" <<JSON
{ "store": "$work/home/d.db",
  "backends": [ { "name": "a", "endpoint": "unix://$work/none.sock" } ] }
JSON
chmod 644 "$work/c.json"
dpid=""

# As nobody, with no XDG_RUNTIME_DIR: the default socket path applies.
# (A prefix, not a function: in the background, $! is dockmuxd itself.)
as_nobody=(setpriv --reuid=$uid --regid=$uid --clear-groups
    env -i HOME="$work/home" PATH=/usr/bin:/bin)

private_cleanup() {
	local rc=$?
	[ -n "$dpid" ] && kill -TERM "$dpid" 2>/dev/null &&
	    { wait "$dpid" 2>/dev/null || true; }
	rm -rf "$dir" "$work"
	(exit $rc)
	t_cleanup
}
trap private_cleanup EXIT

# refused WHAT: dockmuxd exits 1 and the CLI refuses too, each in one
# line naming $dir and saying WHAT.
refused() {
	local rc=0 out
	out=$("${as_nobody[@]}" timeout 20 "$BUILD/dockmuxd" \
	    -c "$work/c.json" 2>&1) || rc=$?
	t_expect_eq "dockmuxd exit with $dir $1" 1 "$rc"
	case $out in
	*"$dir $1"*) ;;
	*) t_fail "dockmuxd with $dir $1 said: $out" ;;
	esac
	t_expect_eq "dockmuxd refusal is one line" 1 \
	    "$(printf '%s\n' "$out" | grep -c .)"
	rc=0
	out=$("${as_nobody[@]}" timeout 20 "$BUILD/dockmux" version 2>&1) || rc=$?
	[ "$rc" -ne 0 ] || t_fail "dockmux version with $dir $1 exited 0"
	case $out in
	*"default socket: $dir $1"*) ;;
	*) t_fail "dockmux with $dir $1 said: $out" ;;
	esac
}

# Squatted: another user (root here) made the directory first.
mkdir -m 0777 "$dir"
refused "is owned by uid 0 (root), not by us (uid $uid)"
rmdir "$dir"

# A symbolic link to a directory the user may write is refused too.
ln -s "$work/home" "$dir"
refused "is a symbolic link, not a directory of our own"
rm "$dir"

# Free: dockmuxd makes it 0700 and serves in it; the CLI agrees.
"${as_nobody[@]}" "$BUILD/dockmuxd" -c "$work/c.json" 2>"$work/d.log" &
dpid=$!
t_wait_for 20 test -S "$dir/dockmux.sock" ||
    t_fail "no socket at $dir/dockmux.sock: $(cat "$work/d.log")"
t_expect_eq "directory mode and owner" "700 nobody" \
    "$(stat -c '%a %U' "$dir")"
out=$("${as_nobody[@]}" "$BUILD/dockmux" version 2>&1) ||
    t_fail "dockmux version over the default socket: $out"
case $out in
*"unix://$dir/dockmux.sock"*) ;;
*) t_fail "dockmux version said: $out" ;;
esac
kill -TERM "$dpid"
wait "$dpid" || t_fail "dockmuxd did not stop cleanly"
dpid=""
