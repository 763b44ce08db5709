#!/bin/bash
# SIGTERM is graceful: a short request already in flight (a stop that
# takes the engine ~2 s) still gets its answer, a follow stream in
# progress is closed, no new connection is accepted, and dockmuxd exits 0.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

tag=graceful-$$
cfg=$T_TMP/g.json
sock=$T_TMP/g.sock
rig_write_config_for "$cfg" "$sock" "$T_TMP/g.db" "a=$ENGINE_A_SOCK"
rig_dockmuxd_start "$cfg" "$tag"
pid=$(cat "$RIG_DIR/$tag.pid")
export DOCKER_HOST=unix://$sock

# sleep as PID 1 ignores SIGTERM: a stop with -t 2 takes about 2 s.
c=$(t_name slow)
docker run -d --name "$c" busybox sh -c 'echo up; exec sleep 300' >/dev/null
f=$(t_name follow)
docker run -d --name "$f" busybox sh -c 'while :; do echo tick; sleep 1; done' \
    >/dev/null

curl -sS -m 30 --unix-socket "$sock" -o /dev/null -w '%{http_code}' \
    -X POST "http://dockmux/v1.41/containers/$c/stop?t=2" \
    >"$T_TMP/stop.code" 2>"$T_TMP/stop.err" &
stop_pid=$!
timeout 30 docker logs -f "$f" >"$T_TMP/follow.out" 2>&1 &
follow_pid=$!
sleep 0.7

t0=$(rig_now_ms)
kill -TERM "$pid"
sleep 0.2
# No new connections once stopping.
if curl -sS -m 5 --unix-socket "$sock" http://dockmux/_ping >/dev/null 2>&1
then
	t_fail "a new connection was served after SIGTERM"
fi

rc=0
wait "$stop_pid" || rc=$?
t_expect_eq "in-flight stop: curl exit" 0 "$rc"
t_expect_eq "in-flight stop: status" 204 "$(cat "$T_TMP/stop.code")"

rc=0
wait "$follow_pid" || rc=$?
[ "$rc" -ne 124 ] || t_fail "the follow stream was not closed on SIGTERM"
grep -q tick "$T_TMP/follow.out" || t_fail "the follow stream showed nothing"

rig_wait_gone "$pid" 10 || t_fail "dockmuxd still running 10 s after SIGTERM"
rc=0
wait "$pid" || rc=$?
t_expect_eq "dockmuxd exit status" 0 "$rc"
el=$(( $(rig_now_ms) - t0 ))
[ "$el" -lt 8000 ] || t_fail "graceful stop took ${el} ms"
# Directly on the engine: the stop really happened.
t_expect_eq "container stopped" false \
    "$(docker -H "unix://$ENGINE_A_SOCK" inspect -f '{{.State.Running}}' "$c")"
