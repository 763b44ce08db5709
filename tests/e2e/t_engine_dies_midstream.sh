#!/bin/bash
# An engine killed (-9) while dockmuxd streams its logs: the docker logs -f
# client ends within 20 s instead of hanging, and dockmuxd keeps answering.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

# A third, private engine "c" behind its own dockmuxd.
rig_engine_start c
tag=dmx-c-$$
cfg=$T_TMP/c.json
sock=$T_TMP/c.sock
rig_write_config_for "$cfg" "$sock" "$T_TMP/c.db" "c=$ENGINE_C_SOCK"
rig_dockmuxd_start "$cfg" "$tag"
dpid=$(cat "$RIG_DIR/$tag.pid")
export DOCKER_HOST=unix://$sock

c=$(t_name ticker)
timeout 30 docker run -d --name "$c" busybox \
    sh -c 'i=0; while :; do i=$((i+1)); echo tick$i; sleep 1; done' >/dev/null

docker logs -f "$c" >"$T_TMP/out" 2>"$T_TMP/err" &
lp=$!
has_tick2() { grep -q '^tick2$' "$T_TMP/out"; }
t_wait_for 15 has_tick2 || t_fail "no tick2 through dockmuxd: $(cat "$T_TMP/out" "$T_TMP/err")"

epid=$(cat "$RIG_DIR/c/pid")
t0=$(rig_now_ms)
kill -KILL "$epid"
# The engine (and its container) are gone; rig_engine_stop cleans up the
# leftovers at exit, not docker rm through a dead engine.
# shellcheck disable=SC2034 # read by t_cleanup
T_NAMES=""

if ! rig_wait_gone "$lp" 20; then
	kill -KILL "$lp" 2>/dev/null || true
	t_fail "docker logs -f still running 20 s after the engine died"
fi
rc=0
wait "$lp" || rc=$?
echo "docker logs -f ended $(( $(rig_now_ms) - t0 )) ms after the engine died (exit $rc)"
echo "its stderr: $(cat "$T_TMP/err")"

kill -0 "$dpid" 2>/dev/null || t_fail "dockmuxd died with its engine"
code=$(curl -sS -m 10 --unix-socket "$sock" -o "$T_TMP/ping" -w '%{http_code}' \
    http://dockmux/_ping) || t_fail "dockmuxd does not answer /_ping any more"
case $code in
[2-5][0-9][0-9]) ;;
*) t_fail "/_ping after engine death: status '$code'" ;;
esac
# Another request gets an HTTP answer; an error has Docker's shape.
code=$(curl -sS -m 20 --unix-socket "$sock" -o "$T_TMP/body" -w '%{http_code}' \
    "http://dockmux/containers/$c/json") ||
    t_fail "dockmuxd does not answer GET /containers/$c/json any more"
case $code in
2[0-9][0-9]) ;;
[45][0-9][0-9])
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))["message"]' \
	    "$T_TMP/body" || t_fail "error $code without a JSON message: $(cat "$T_TMP/body")"
	;;
*) t_fail "GET /containers/$c/json after engine death: status '$code'" ;;
esac
echo "after engine death: GET /containers/$c/json -> $code $(cat "$T_TMP/body")"
# And the shared dockmuxd never noticed.
rig_ping "$DOCKMUX_SOCK" || t_fail "the shared dockmuxd stopped answering"
# This dockmuxd still shuts down cleanly.
rig_dockmuxd_stop "$tag" || t_fail "dockmuxd exited with status $? on SIGTERM"
