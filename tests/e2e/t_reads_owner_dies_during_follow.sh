#!/bin/bash
# The owner of a container dies (dockerd killed by pid file) while clients
# follow its logs through dockmuxd: a private dockmuxd in front of real
# engine a (primary) and a private engine "dies" that owns the container.
# Every follower's stream ends within 20 s, dockmuxd keeps answering
# /_ping and docker ps, and a later docker logs names the dead backend.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

rig_engine_start dies
tag=dmx-rdd-$$
cfg=$T_TMP/d.json
sock=$T_TMP/d.sock
rig_write_config_for "$cfg" "$sock" "$T_TMP/d.db" \
    "a=$ENGINE_A_SOCK" "dies=$ENGINE_DIES_SOCK"
rig_dockmuxd_start "$cfg" "$tag"
dpid=$(cat "$RIG_DIR/$tag.pid")
export DOCKER_HOST=unix://$sock

c=$(t_name ticker)
# shellcheck disable=SC2016 # the container's shell expands it
timeout 30 docker run -d --label io.dockmux.backend=dies --name "$c" busybox \
    sh -c 'i=0; while :; do i=$((i+1)); echo tick$i; sleep 1; done' >/dev/null ||
    t_fail "docker run on backend dies failed"
docker -H "unix://$ENGINE_DIES_SOCK" inspect "$c" >/dev/null 2>&1 ||
    t_fail "container $c is not on engine dies"

# Two followers: the docker CLI, and curl to see what served the stream.
docker logs -f "$c" >"$T_TMP/out" 2>"$T_TMP/err" &
lp=$!
curl -sS -N --unix-socket "$sock" -D "$T_TMP/hdr" -o "$T_TMP/curl.out" \
    "http://dockmux/v1.41/containers/$c/logs?follow=1&stdout=1&stderr=1" \
    2>"$T_TMP/curl.err" &
cp=$!
has_tick2() { grep -q '^tick2$' "$T_TMP/out" && grep -q 'tick2' "$T_TMP/curl.out"; }
t_wait_for 15 has_tick2 ||
    t_fail "no tick2 through dockmuxd: cli: $(cat "$T_TMP/out" "$T_TMP/err"); curl: $(cat "$T_TMP/curl.err")"
served=$(awk -F': ' 'tolower($1) == "x-dockmux-served-by" { sub(/\r$/, "", $2); print $2 }' "$T_TMP/hdr")
t_expect_eq "X-Dockmux-Served-By of the follow" "dies; mode=native" "$served"

epid=$(cat "$RIG_DIR/dies/pid")
t0=$(rig_now_ms)
kill -KILL "$epid"
# The engine is dead: rig_engine_stop cleans up its leftovers at exit, no
# docker rm through a dead engine.
# shellcheck disable=SC2034 # read by t_cleanup
T_NAMES=""

for p in "$lp" "$cp"; do
	if ! rig_wait_gone "$p" 20; then
		kill -KILL "$lp" "$cp" 2>/dev/null || true
		t_fail "a logs follower (pid $p) still running 20 s after the owner's dockerd died"
	fi
done
rc=0
wait "$lp" || rc=$?
echo "docker logs -f ended $(( $(rig_now_ms) - t0 )) ms after the engine died (exit $rc, stderr: $(cat "$T_TMP/err"))"
crc=0
wait "$cp" || crc=$?
echo "curl follower exit $crc ($(cat "$T_TMP/curl.err"))"

kill -0 "$dpid" 2>/dev/null || t_fail "dockmuxd died with the owner engine"
t_expect_eq "/_ping after the owner died" OK \
    "$(curl -sS -m 10 --unix-socket "$sock" http://dockmux/_ping)"
out=$(timeout 30 docker ps 2>&1) || t_fail "docker ps after the owner died: $out"
echo "docker ps: $out"
head -n 1 <<<"$out" | grep -q 'CONTAINER ID' || t_fail "docker ps output: $out"

# A new read of the dead owner's container: no backend can serve it; the
# answer is an error naming the unreachable backend (502), not a hang,
# not a bare 500.
code=$(curl -sS -m 30 --unix-socket "$sock" -o "$T_TMP/body" -w '%{http_code}' \
    "http://dockmux/v1.41/containers/$c/logs?stdout=1") ||
    t_fail "dockmuxd does not answer a logs read any more"
echo "logs after death: $code $(cat "$T_TMP/body")"
t_expect_eq "logs after the owner died: status" 502 "$code"
python3 - "$T_TMP/body" <<'EOF' || t_fail "logs after death: body $(cat "$T_TMP/body")"
import json, sys
m = json.load(open(sys.argv[1]))["message"]
assert "backend dies" in m, m
EOF
rc=0
err=$(timeout 30 docker logs "$c" 2>&1 >/dev/null) || rc=$?
if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; then
	t_fail "docker logs of the dead owner's container: exit $rc ($err)"
fi
grep -q 'backend dies' <<<"$err" || t_fail "docker logs error does not name the backend: $err"

rig_ping "$DOCKMUX_SOCK" || t_fail "the shared dockmuxd stopped answering"
rig_dockmuxd_stop "$tag" || t_fail "dockmuxd exited with status $? on SIGTERM"
