#!/bin/bash
# `docker events` through dockmuxd is one stream merged from every
# backend: start events of a container on a and one on b (pinned) both
# arrive, each tagged Actor.Attributes["io.dockmux.backend"] with its
# engine; a bounded `docker events --since X --until Y` replays them and
# ends by itself with exit 0.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/lib_registry.sh
. "$(dirname "$0")/lib_registry.sh"
t_init
t_needs_dockmuxd

EV_PID=""
ev_cleanup() {
	local rc=$?
	set +e
	t_rm_mine
	if [ -n "$EV_PID" ] && kill -0 "$EV_PID" 2>/dev/null; then
		kill -TERM "$EV_PID" 2>/dev/null
		rig_wait_gone "$EV_PID" 5 || kill -KILL "$EV_PID" 2>/dev/null
	fi
	(exit "$rc")
	t_cleanup
}
trap ev_cleanup EXIT

# backend_of_start FILE NAME: the io.dockmux.backend attribute of NAME's
# start event in the JSON lines of FILE ("" when there is none).
backend_of_start() {
	/usr/bin/python3 -c 'import json, sys
name = sys.argv[2]
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    e = json.loads(line)
    a = e.get("Actor", {}).get("Attributes", {})
    if e.get("Action") == "start" and a.get("name") == name:
        print(a.get("io.dockmux.backend", "(untagged)"))
        break' "$1" "$2"
}

since=$(date +%s)
evf=$T_TMP/events.jsonl
docker events --format '{{json .}}' --filter type=container \
    --since "$since" >"$evf" 2>"$T_TMP/events.err" &
EV_PID=$!
sleep 1
kill -0 "$EV_PID" 2>/dev/null ||
    t_fail "docker events exited at once: $(cat "$T_TMP/events.err")"

ca=$(t_name on-a)
cb=$(t_name on-b)
timeout 60 docker run --name "$ca" busybox true || t_fail "docker run $ca"
timeout 60 docker run --name "$cb" --label io.dockmux.backend=b busybox true ||
    t_fail "docker run $cb"
"${RIG_DOCKER:-docker}" -H "unix://$ENGINE_A_SOCK" inspect "$ca" >/dev/null 2>&1 ||
    t_fail "$ca is not on engine a"
docker -H "unix://$ENGINE_B_SOCK" inspect "$cb" >/dev/null 2>&1 ||
    t_fail "$cb is not on engine b"

both_seen() {
	[ -n "$(backend_of_start "$evf" "$ca")" ] &&
	    [ -n "$(backend_of_start "$evf" "$cb")" ]
}
t_wait_for 20 both_seen ||
    t_fail "start events of $ca and $cb not both in the stream: $(cat "$evf")"
t_expect_eq "backend tag of $ca's start event" a "$(backend_of_start "$evf" "$ca")"
t_expect_eq "backend tag of $cb's start event" b "$(backend_of_start "$evf" "$cb")"
kill -0 "$EV_PID" 2>/dev/null ||
    t_fail "docker events (no --until) ended by itself: $(cat "$T_TMP/events.err")"
kill -TERM "$EV_PID"
rig_wait_gone "$EV_PID" 5 || t_fail "docker events ignored SIGTERM"
EV_PID=""

# ---- bounded: --since X --until Y ends by itself ---------------------------

sleep 1
until=$(date +%s)
bf=$T_TMP/bounded.jsonl
rc=0
timeout 30 docker events --format '{{json .}}' --filter type=container \
    --since "$since" --until "$until" >"$bf" 2>"$T_TMP/bounded.err" || rc=$?
[ "$rc" -ne 124 ] || t_fail "docker events --since --until did not end within 30 s"
t_expect_eq "docker events --since --until exit status" 0 "$rc"
t_expect_eq "bounded replay: backend of $ca's start" a "$(backend_of_start "$bf" "$ca")"
t_expect_eq "bounded replay: backend of $cb's start" b "$(backend_of_start "$bf" "$cb")"
