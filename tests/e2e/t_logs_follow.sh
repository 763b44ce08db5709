#!/bin/bash
# docker logs -f shows lines while the container runs and ends when it ends.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init

c=$(t_name follow)
timeout 30 docker run -d --name "$c" busybox \
    sh -c 'for i in 1 2 3 4 5; do echo line$i; sleep 1; done' >/dev/null

timeout 30 docker logs -f "$c" >"$T_TMP/out" 2>"$T_TMP/err" &
lp=$!

has_line2() { grep -q '^line2$' "$T_TMP/out"; }
t_wait_for 10 has_line2 || t_fail "line2 not seen within 10 s: $(cat "$T_TMP/out" "$T_TMP/err")"
running=$(docker inspect -f '{{.State.Running}}' "$c")
t_expect_eq "container running while lines stream" true "$running"
kill -0 "$lp" 2>/dev/null || t_fail "docker logs -f ended while the container runs"

rc=0
wait "$lp" || rc=$?
[ "$rc" -ne 124 ] || t_fail "docker logs -f still running 30 s later (container ended)"
t_expect_eq "docker logs -f exit status" 0 "$rc"
t_expect_eq "followed lines" "line1 line2 line3 line4 line5" "$(tr '\n' ' ' <"$T_TMP/out" | sed 's/ $//')"
t_expect_eq "container state" exited "$(docker inspect -f '{{.State.Status}}' "$c")"

# Without -f: the whole log at once.
t_expect_eq "docker logs" "line1 line2 line3 line4 line5" "$(timeout 30 docker logs "$c" | tr '\n' ' ' | sed 's/ $//')"
t_expect_eq "docker logs --tail 2" "line4 line5" "$(timeout 30 docker logs --tail 2 "$c" | tr '\n' ' ' | sed 's/ $//')"
