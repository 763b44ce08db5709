#!/bin/bash
# docker exec in a running container prints its output and passes on the
# exit status; stdin reaches it with -i.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init

c=$(t_name exec)
timeout 30 docker run -d --name "$c" busybox sleep 300 >/dev/null

t_expect_eq "exec echo" hello "$(timeout 30 docker exec "$c" echo hello)"
t_expect_eq "exec sh arithmetic" 42 "$(timeout 30 docker exec "$c" sh -c 'echo $((6*7))')"
t_expect_eq "exec stderr" oops "$(timeout 30 docker exec "$c" sh -c 'echo oops >&2' 2>&1 >/dev/null)"

rc=0
timeout 30 docker exec "$c" sh -c 'exit 3' || rc=$?
t_expect_eq "exec exit status" 3 "$rc"

t_expect_eq "exec -i stdin" abc "$(echo abc | timeout 30 docker exec -i "$c" cat)"

# docker exec -d, then see its effect.
timeout 30 docker exec -d "$c" sh -c 'echo done >/tmp/mark'
has_mark() { [ "$(docker exec "$c" cat /tmp/mark 2>/dev/null)" = "done" ]; }
t_wait_for 10 has_mark || t_fail "exec -d did not run"
