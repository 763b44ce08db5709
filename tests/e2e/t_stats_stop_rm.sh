#!/bin/bash
# docker stats --no-stream, docker stop and docker rm on a running container.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init

c=$(t_name stats)
timeout 30 docker run -d --name "$c" busybox sleep 300 >/dev/null

out=$(timeout 30 docker stats --no-stream --format '{{.Name}} {{.MemUsage}}' "$c") ||
    t_fail "docker stats --no-stream failed: $out"
[ "${out%% *}" = "$c" ] || t_fail "docker stats: '$out'"

# sleep as PID 1 ignores SIGTERM: docker stop kills it after -t seconds.
timeout 30 docker stop -t 1 "$c" >/dev/null || t_fail "docker stop failed"
t_expect_eq "state after stop" exited "$(docker inspect -f '{{.State.Status}}' "$c")"

out=$(timeout 30 docker rm "$c") || t_fail "docker rm failed: $out"
t_expect_eq "docker rm output" "$c" "$out"
rc=0
err=$(docker inspect "$c" 2>&1 >/dev/null) || rc=$?
[ "$rc" -ne 0 ] || t_fail "container still there after docker rm"
grep -qi 'no such' <<<"$err" || t_fail "inspect after rm: '$err'"

# Removing a running container without -f is refused, with -f it works.
c2=$(t_name running)
timeout 30 docker run -d --name "$c2" busybox sleep 300 >/dev/null
if timeout 30 docker rm "$c2" >/dev/null 2>&1; then
	t_fail "docker rm of a running container succeeded without -f"
fi
t_expect_eq "still running" true "$(docker inspect -f '{{.State.Running}}' "$c2")"
timeout 30 docker rm -f "$c2" >/dev/null
