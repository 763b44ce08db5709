#!/bin/bash
# docker logs -f on a container whose engine cannot stream logs: a private
# dockmuxd in front of real engine a and a fake engine "fk" that owns the
# container (adopted at start), answers 501 to follow=1 and multiplexed
# frames to follow=0.  The CLI prints the snapshot (stdout and stderr lines
# on their own streams) and exits 0 instead of hanging or failing; the
# answer says "fk; mode=snapshot".  docker stats --no-stream on a container
# of real engine a works through the same dockmuxd.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

FAKE=$BUILD/fake-engine
[ -x "$FAKE" ] || t_fail "$FAKE not built (make build/fake-engine)"

FPID=""
# Stop the fake (ours, by pid) first, then the usual cleanup, keeping the
# test's exit status.
reads_cleanup() {
	local rc=$?
	if [ -n "$FPID" ] && kill -0 "$FPID" 2>/dev/null; then
		kill -TERM "$FPID" 2>/dev/null || true
		rig_wait_gone "$FPID" 5 || kill -KILL "$FPID" 2>/dev/null || true
	fi
	(exit "$rc")
	t_cleanup
}
trap reads_cleanup EXIT

id=5eed$(printf 'a%.0s' $(seq 56))f00d	# 64 hex digits
fname=snapfake-$$

# Frames: [stream,0,0,0,size32be] + payload; 12 bytes each (0x0c).
cat >"$T_TMP/fk.json" <<EOF
[
  {"method": "GET", "path": "/containers/json", "query_has": "all=1",
   "json": [{"Id": "$id", "Names": ["/$fname"], "Image": "busybox",
             "State": "running", "Status": "Up 1 minute", "Labels": {}}]},
  {"method": "GET", "path": "/containers/$id/json",
   "json": {"Id": "$id", "Name": "/$fname", "Image": "sha256:0",
            "Config": {"Tty": false, "OpenStdin": false, "Image": "busybox",
                       "Labels": {}},
            "State": {"Status": "running", "Running": true, "Paused": false,
                      "Restarting": false, "Pid": 1, "ExitCode": 0},
            "HostConfig": {"LogConfig": {"Type": "json-file"}}}},
  {"method": "GET", "path": "/containers/$id/logs", "query_has": "follow=1",
   "status": 501, "json": {"message": "fk: cannot follow logs"}},
  {"method": "GET", "path": "/containers/$id/logs", "query_has": "follow=0",
   "headers": {"Content-Type": "application/vnd.docker.raw-stream"},
   "chunks": ["\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u000csnap-stdout\n",
              "\u0002\u0000\u0000\u0000\u0000\u0000\u0000\u000csnap-stderr\n"]}
]
EOF

fsock=$T_TMP/fk.sock
setsid "$FAKE" --socket "$fsock" --record "$T_TMP/fk.rec" --name fk \
    --script "$T_TMP/fk.json" >"$T_TMP/fk.log" 2>&1 </dev/null &
FPID=$!
t_wait_for 10 rig_ping "$fsock" || t_fail "fake engine did not come up: $(cat "$T_TMP/fk.log")"

tag=dmx-rdf-$$
cfg=$T_TMP/d.json
sock=$T_TMP/d.sock
cat >"$cfg" <<EOF
{
  "listen": "unix://$sock",
  "store": "$T_TMP/d.db",
  "backends": [
    { "name": "a", "endpoint": "unix://$ENGINE_A_SOCK" },
    { "name": "fk", "endpoint": "unix://$fsock" }
  ]
}
EOF
rig_dockmuxd_start "$cfg" "$tag"
export DOCKER_HOST=unix://$sock

grep -q "container adopted.*id=${id:0:12}.*backend=fk" "$RIG_DIR/$tag.log" ||
    t_fail "dockmuxd did not adopt the fake's container: $(grep -i adopt "$RIG_DIR/$tag.log")"

# The CLI: inspect (Tty false), then logs?follow=1 -> snapshot; must end.
rc=0
timeout 20 docker logs -f "$id" >"$T_TMP/out" 2>"$T_TMP/err" || rc=$?
[ "$rc" -ne 124 ] || t_fail "docker logs -f still running after 20 s (snapshot stream did not end)"
t_expect_eq "docker logs -f exit status (stderr: $(cat "$T_TMP/err"))" 0 "$rc"
t_expect_eq "docker logs -f stdout" snap-stdout "$(cat "$T_TMP/out")"
t_expect_eq "docker logs -f stderr" snap-stderr "$(cat "$T_TMP/err")"

# The same by name, and what dockmuxd says served it.
rc=0
timeout 20 docker logs -f "$fname" >"$T_TMP/out2" 2>&1 || rc=$?
t_expect_eq "docker logs -f by name exit status ($(cat "$T_TMP/out2"))" 0 "$rc"
grep -qx snap-stdout "$T_TMP/out2" || t_fail "by name: no snap-stdout: $(cat "$T_TMP/out2")"

code=$(curl -sS -m 20 --unix-socket "$sock" -D "$T_TMP/hdr" -o "$T_TMP/body" \
    -w '%{http_code}' \
    "http://dockmux/v1.41/containers/$id/logs?follow=1&stdout=1&stderr=1") ||
    t_fail "curl logs?follow=1 through dockmuxd failed"
t_expect_eq "logs?follow=1 status" 200 "$code"
served=$(awk -F': ' 'tolower($1) == "x-dockmux-served-by" { sub(/\r$/, "", $2); print $2 }' "$T_TMP/hdr")
t_expect_eq "X-Dockmux-Served-By" "fk; mode=snapshot" "$served"
# The frames arrive intact: 2 x (8-byte header + 12 bytes).
t_expect_eq "snapshot body size" 40 "$(wc -c <"$T_TMP/body")"
t_expect_eq "first frame header" 010000000000000c \
    "$(od -An -tx1 -N8 "$T_TMP/body" | tr -d ' \n')"
t_expect_eq "second frame header" 020000000000000c \
    "$(od -An -tx1 -j20 -N8 "$T_TMP/body" | tr -d ' \n')"

# The fake saw the client's follow=1 and then dockmuxd's follow=0.
python3 - "$T_TMP/fk.rec" "$id" <<'EOF' || t_fail "fake engine's record: $(cat "$T_TMP/fk.rec")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
logs = [r["query"] for r in recs if r["path"].endswith("/containers/%s/logs" % sys.argv[2])]
assert any("follow=1" in q for q in logs), logs
assert any("follow=0" in q for q in logs), logs
EOF

# A container on real engine a: docker stats --no-stream through the same
# dockmuxd.
c=$(t_name stats)
timeout 30 docker run -d --label io.dockmux.backend=a --name "$c" busybox \
    sleep 300 >/dev/null || t_fail "docker run on backend a failed"
docker -H "unix://$ENGINE_A_SOCK" inspect "$c" >/dev/null 2>&1 ||
    t_fail "container $c is not on engine a"
out=$(timeout 30 docker stats --no-stream --format '{{.Name}} {{.MemUsage}}' "$c" 2>&1) ||
    t_fail "docker stats --no-stream failed: $out"
[ "${out%% *}" = "$c" ] || t_fail "docker stats --no-stream: '$out'"
echo "docker stats --no-stream: $out"
code=$(curl -sS -m 20 --unix-socket "$sock" -D "$T_TMP/hdr2" -o "$T_TMP/body2" \
    -w '%{http_code}' "http://dockmux/v1.41/containers/$c/stats?stream=false") ||
    t_fail "curl stats through dockmuxd failed"
t_expect_eq "stats?stream=false status" 200 "$code"
served=$(awk -F': ' 'tolower($1) == "x-dockmux-served-by" { sub(/\r$/, "", $2); print $2 }' "$T_TMP/hdr2")
t_expect_eq "stats X-Dockmux-Served-By" "a; mode=native" "$served"
timeout 30 docker rm -f "$c" >/dev/null || t_fail "docker rm -f $c failed"

rig_dockmuxd_stop "$tag" || t_fail "dockmuxd exited with status $? on SIGTERM"
