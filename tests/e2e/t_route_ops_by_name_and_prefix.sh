#!/bin/bash
# Per-container operations on a container that lives on engine b reach b,
# whether the CLI names it by name or by a short unique ID prefix: logs,
# exec, stop, start, rename (new name resolves, old one is "No such
# container"), rm -f.  rm of a running container without -f is refused
# (409) and the container stays routable.  Names are unique across
# engines: a second --name X pinned to the other engine is a Conflict and
# creates nothing there.  Every effect is checked on the engines directly.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

A=(docker -H "unix://$ENGINE_A_SOCK")
B=(docker -H "unix://$ENGINE_B_SOCK")

# state_on_b REF: the container's status as engine b reports it.
state_on_b() {
	"${B[@]}" inspect -f '{{.State.Status}}' "$1" 2>&1
}

# expect_no_such WHAT CMD...: CMD fails with "No such container".
expect_no_such() {
	local what=$1 rc=0 err
	shift
	err=$("$@" 2>&1 >/dev/null) || rc=$?
	[ "$rc" -ne 0 ] || t_fail "$what: succeeded, expected No such container"
	grep -q "No such container" <<<"$err" ||
	    t_fail "$what: expected 'No such container', got '$err'"
}

# unique_prefix ID: the shortest 4-6 character prefix of ID that starts no
# other container ID on either engine.
unique_prefix() {
	local id=$1 all n p
	all=$({ "${A[@]}" ps -aq --no-trunc; "${B[@]}" ps -aq --no-trunc; } | grep -v "^$id\$" || true)
	for n in 4 5 6; do
		p=${id:0:n}
		if ! grep -q "^$p" <<<"$all"; then
			printf '%s\n' "$p"
			return 0
		fi
	done
	return 1
}

# ---- a container on b ------------------------------------------------------

c=$(t_name ops)
id=$(timeout 60 docker run -d --name "$c" --label io.dockmux.backend=b \
    busybox sh -c 'echo hello-from-b; exec sleep 300') ||
    t_fail "docker run --label io.dockmux.backend=b failed"
"${B[@]}" inspect "$c" >/dev/null 2>&1 || t_fail "$c is not on engine b"
! "${A[@]}" inspect "$c" >/dev/null 2>&1 || t_fail "$c is also on engine a"
t_expect_eq "engine b's Id for $c" "$id" "$("${B[@]}" inspect -f '{{.Id}}' "$c")"
p=$(unique_prefix "$id") || t_fail "no unique 4-6 char prefix for $id"
echo "container $c id $id prefix $p"

# logs
t_wait_for 10 sh -c "docker logs '$c' 2>&1 | grep -q hello-from-b" ||
    t_fail "docker logs $c: '$(docker logs "$c" 2>&1)'"
out=$(timeout 30 docker logs "$p" 2>&1) || t_fail "docker logs $p failed: $out"
t_expect_eq "docker logs $p" hello-from-b "$out"

# exec: the hostname is b's container's short id.
out=$(timeout 30 docker exec "$c" hostname) || t_fail "docker exec $c failed"
t_expect_eq "docker exec $c hostname" "${id:0:12}" "$out"
out=$(timeout 30 docker exec "$p" cat /proc/1/cmdline | tr '\0' ' ') ||
    t_fail "docker exec $p failed"
t_expect_eq "docker exec $p: PID 1 of b's container" "sleep 300 " "$out"

# rename by name, then by prefix.  (Before any stop/start: dockerd 20.10
# cannot rename a running container that was restarted, "sandbox ... not
# found", engine-side, also without dockmuxd.)
c2=$(t_name ops-renamed)
timeout 30 docker rename "$c" "$c2" || t_fail "docker rename $c $c2 failed"
t_expect_eq "engine b's name after rename" "/$c2" "$("${B[@]}" inspect -f '{{.Name}}' "$id")"
t_expect_eq "docker inspect $c2 (renamed)" "$id" \
    "$(docker inspect -f '{{.Id}}' "$c2" 2>&1)"
expect_no_such "docker inspect $c (old name)" docker container inspect "$c"
expect_no_such "docker logs $c (old name)" docker logs "$c"
c3=$(t_name ops-renamed2)
timeout 30 docker rename "$p" "$c3" || t_fail "docker rename $p $c3 failed"
t_expect_eq "engine b's name after rename by prefix" "/$c3" \
    "$("${B[@]}" inspect -f '{{.Name}}' "$id")"
t_expect_eq "docker inspect $c3" "$id" "$(docker inspect -f '{{.Id}}' "$c3" 2>&1)"
expect_no_such "docker inspect $c2 (old name)" docker container inspect "$c2"
out=$(timeout 30 docker exec "$c3" hostname) || t_fail "docker exec $c3 failed"
t_expect_eq "docker exec $c3 hostname" "${id:0:12}" "$out"

# stop by name, start by prefix, stop by prefix, start by name (renamed).
timeout 30 docker stop -t 1 "$c3" >/dev/null || t_fail "docker stop $c3 failed"
t_expect_eq "engine b state after docker stop $c3" exited "$(state_on_b "$id")"
timeout 30 docker start "$p" >/dev/null || t_fail "docker start $p failed"
t_expect_eq "engine b state after docker start $p" running "$(state_on_b "$id")"
timeout 30 docker stop -t 1 "$p" >/dev/null || t_fail "docker stop $p failed"
t_expect_eq "engine b state after docker stop $p" exited "$(state_on_b "$id")"
timeout 30 docker start "$c3" >/dev/null || t_fail "docker start $c3 failed"
t_expect_eq "engine b state after docker start $c3" running "$(state_on_b "$id")"

# rm without -f of a running container: 409, and it stays routable.
rc=0
err=$(timeout 30 docker rm "$c3" 2>&1) || rc=$?
[ "$rc" -ne 0 ] || t_fail "docker rm $c3 (running, no -f) succeeded"
code=$(curl -sS -m 30 --unix-socket "$DOCKMUX_SOCK" -o "$T_TMP/rm.json" \
    -w '%{http_code}' -X DELETE "http://dockmux/containers/$p") ||
    t_fail "curl DELETE /containers/$p failed"
t_expect_eq "DELETE /containers/$p of a running container" 409 "$code"
t_expect_eq "engine b state after refused rm" running "$(state_on_b "$id")"
t_expect_eq "docker inspect $c3 after refused rm" "$id" \
    "$(docker inspect -f '{{.Id}}' "$c3" 2>&1)"
t_expect_eq "docker inspect $p after refused rm" "$id" \
    "$(docker inspect -f '{{.Id}}' "$p" 2>&1)"
out=$(timeout 30 docker exec "$c3" hostname) ||
    t_fail "docker exec $c3 after refused rm failed"
t_expect_eq "docker exec $c3 hostname after refused rm" "${id:0:12}" "$out"

# rm -f by prefix.
timeout 30 docker rm -f "$p" >/dev/null || t_fail "docker rm -f $p failed"
! "${B[@]}" inspect "$id" >/dev/null 2>&1 || t_fail "$id still on engine b after rm -f $p"
expect_no_such "docker inspect $c3 after rm -f" docker container inspect "$c3"
expect_no_such "docker inspect $p after rm -f" docker container inspect "$p"

# rm -f by name, of a second container on b.
d=$(t_name ops-rmname)
did=$(timeout 60 docker run -d --name "$d" --label io.dockmux.backend=b \
    busybox sleep 300) || t_fail "docker run $d failed"
"${B[@]}" inspect "$did" >/dev/null 2>&1 || t_fail "$d is not on engine b"
timeout 30 docker rm -f "$d" >/dev/null || t_fail "docker rm -f $d failed"
! "${B[@]}" inspect "$did" >/dev/null 2>&1 || t_fail "$did still on engine b after rm -f $d"
expect_no_such "docker inspect $d after rm -f" docker container inspect "$d"

# ---- names are unique across engines --------------------------------------

x=$(t_name dup)
xid=$(timeout 60 docker create --name "$x" --label io.dockmux.backend=a \
    busybox true) || t_fail "docker create --name $x (pin a) failed"
"${A[@]}" inspect "$xid" >/dev/null 2>&1 || t_fail "$x is not on engine a"
before=$("${B[@]}" ps -aq --no-trunc | sort)
rc=0
err=$(timeout 60 docker create --name "$x" --label io.dockmux.backend=b \
    busybox true 2>&1) || rc=$?
[ "$rc" -ne 0 ] || t_fail "second docker create --name $x (pin b) succeeded: $err"
grep -q Conflict <<<"$err" || t_fail "second --name $x: expected Conflict, got '$err'"
! "${B[@]}" inspect "$x" >/dev/null 2>&1 || t_fail "engine b has a container named $x"
t_expect_eq "engine b's containers after the refused create" "$before" \
    "$("${B[@]}" ps -aq --no-trunc | sort)"
t_expect_eq "$x still routes to engine a's container" "$xid" \
    "$(docker inspect -f '{{.Id}}' "$x" 2>&1)"
