#!/bin/bash
# Routes survive a dockmuxd restart (SIGTERM, start again on the same
# store): every container still reaches its own engine.  Start-up
# reconciliation adopts a container made directly on an engine while
# dockmuxd was down, and forgets one removed directly on an engine, also
# when its name was meanwhile reused directly on the other engine.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

A=(docker -H "unix://$ENGINE_A_SOCK")
B=(docker -H "unix://$ENGINE_B_SOCK")

tag=route-restart-$$
sock=$T_TMP/d.sock
cfg=$T_TMP/dockmux.json
rig_write_config_vm "$cfg" "$sock" "$T_TMP/dockmux.db"
DOCKER_HOST=unix://$sock
export DOCKER_HOST

restart() {
	local rc=0
	rig_dockmuxd_stop "$tag" || rc=$?
	t_expect_eq "dockmuxd exit status after SIGTERM" 0 "$rc"
	! rig_ping "$sock" || t_fail "$sock still answers after SIGTERM"
	"$@"
	rig_dockmuxd_start "$cfg" "$tag"
}

# routed_to NAME ENGINE: through dockmuxd NAME is ENGINE's container (the
# exec'd hostname is its short id, inspect gives its Id), and only ENGINE
# has it.
routed_to() {
	local n=$1 e=$2 id got
	local -a other
	case $e in
	a) id=$("${A[@]}" inspect -f '{{.Id}}' "$n" 2>/dev/null) || t_fail "$n: not on engine a"
	   other=("${B[@]}") ;;
	b) id=$("${B[@]}" inspect -f '{{.Id}}' "$n" 2>/dev/null) || t_fail "$n: not on engine b"
	   other=("${A[@]}") ;;
	esac
	! "${other[@]}" inspect "$n" >/dev/null 2>&1 || t_fail "$n: on both engines"
	got=$(timeout 30 docker container inspect -f '{{.Id}}' "$n" 2>&1) ||
	    t_fail "docker inspect $n through dockmuxd: $got"
	t_expect_eq "docker inspect $n through dockmuxd" "$id" "$got"
	got=$(timeout 30 docker exec "$n" hostname 2>&1) ||
	    t_fail "docker exec $n hostname through dockmuxd: $got"
	t_expect_eq "docker exec $n hostname (engine $e)" "${id:0:12}" "$got"
}

rig_dockmuxd_start "$cfg" "$tag"

pa=$(t_name plain)
iso=$(t_name iso)
pin=$(t_name pin-b)
pina=$(t_name pin-a)
reuse=$(t_name reuse)
timeout 60 docker run -d --name "$pa" busybox sleep 300 >/dev/null ||
    t_fail "docker run $pa failed"
timeout 60 docker run -d --name "$iso" --label io.dockmux.isolation=vm \
    busybox sleep 300 >/dev/null || t_fail "docker run $iso failed"
timeout 60 docker run -d --name "$pin" --label io.dockmux.backend=b \
    busybox sleep 300 >/dev/null || t_fail "docker run $pin failed"
timeout 60 docker run -d --name "$pina" --label io.dockmux.backend=a \
    busybox sleep 300 >/dev/null || t_fail "docker run $pina failed"
routed_to "$pa" a
routed_to "$iso" b
routed_to "$pin" b
routed_to "$pina" a
timeout 60 docker run -d --name "$reuse" busybox sleep 300 >/dev/null ||
    t_fail "docker run $reuse failed"
routed_to "$reuse" a

# ---- plain restart: every route is still there --------------------------

restart
routed_to "$pa" a
routed_to "$iso" b
routed_to "$pin" b
routed_to "$pina" a

# ---- adopted: made directly on engine b while dockmuxd is down ------------

direct=$(t_name direct-b)
restart timeout 60 "${B[@]}" run -d --name "$direct" busybox sleep 300
routed_to "$direct" b
out=$(timeout 30 docker ps --filter "name=$direct" \
    --format '{{.Names}} {{.Label "io.dockmux.backend"}}') ||
    t_fail "docker ps --filter name=$direct failed"
t_expect_eq "docker ps shows the adopted container on b" "$direct b" "$out"
out=$(timeout 30 docker ps --filter label=io.dockmux.backend=b \
    --filter "name=$direct" --format '{{.Names}}') ||
    t_fail "docker ps --filter label=io.dockmux.backend=b failed"
t_expect_eq "label=io.dockmux.backend=b lists the adopted container" \
    "$direct" "$out"
# The adopted one is managed like any other: stop reaches engine b.
timeout 30 docker stop -t 1 "$direct" >/dev/null ||
    t_fail "docker stop $direct (adopted) failed"
t_expect_eq "engine b state of $direct after docker stop" exited \
    "$("${B[@]}" inspect -f '{{.State.Status}}' "$direct")"

# ---- dropped: removed directly on engine a while dockmuxd is down ---------

# While it is down, also free a routed name on engine a and reuse it on
# engine b directly: after the restart the name is b's container's.
down_changes() {
	timeout 60 "${A[@]}" rm -f "$pa" >/dev/null || t_fail "rm -f $pa on engine a failed"
	timeout 60 "${A[@]}" rm -f "$reuse" >/dev/null ||
	    t_fail "rm -f $reuse on engine a failed"
	timeout 60 "${B[@]}" run -d --name "$reuse" busybox sleep 300 >/dev/null ||
	    t_fail "docker run --name $reuse on engine b failed"
}
restart down_changes
rc=0
err=$(timeout 30 docker container inspect "$pa" 2>&1 >/dev/null) || rc=$?
[ "$rc" -ne 0 ] || t_fail "docker inspect $pa succeeded after it was removed on engine a"
grep -q "No such container" <<<"$err" ||
    t_fail "docker inspect $pa after removal on engine a: '$err'"
routed_to "$reuse" b
# The name is free again through dockmuxd (pinned to b this time).
timeout 60 docker run -d --name "$pa" --label io.dockmux.backend=b \
    busybox sleep 300 >/dev/null ||
    t_fail "docker run --name $pa after the old one was dropped failed"
routed_to "$pa" b
# And the others are untouched.
routed_to "$iso" b
routed_to "$pin" b
routed_to "$pina" a
