#!/bin/bash
# docker run --rm busybox echo hi prints hi and leaves no container behind.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init

c=$(t_name echo)
out=$(timeout 60 docker run --rm --name "$c" busybox echo hi 2>&1) ||
    t_fail "docker run failed: $out"
t_expect_eq "docker run output" hi "$out"

gone() { ! docker inspect "$c" >/dev/null 2>&1; }
t_wait_for 10 gone || t_fail "--rm container $c still exists"

# The exit status of the container is the exit status of docker run.
c2=$(t_name status)
rc=0
timeout 60 docker run --rm --name "$c2" busybox sh -c 'exit 7' || rc=$?
t_expect_eq "docker run exit status" 7 "$rc"
