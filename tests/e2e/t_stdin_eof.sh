#!/bin/bash
# stdin EOF reaches the container: docker run -i ... cat ends by itself.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init

rc=0
out=$(echo data | timeout 30 docker run -i --rm --name "$(t_name cat)" busybox cat) || rc=$?
[ "$rc" -ne 124 ] || t_fail "docker run -i cat did not end within 30 s after stdin EOF"
t_expect_eq "docker run -i exit status" 0 "$rc"
t_expect_eq "docker run -i output" data "$out"

# More than one buffer's worth, counted inside the container.
rc=0
out=$(seq 1 20000 | timeout 30 docker run -i --rm --name "$(t_name wc)" busybox wc -l) || rc=$?
[ "$rc" -ne 124 ] || t_fail "docker run -i wc -l did not end within 30 s"
t_expect_eq "docker run -i wc -l status" 0 "$rc"
t_expect_eq "lines received" 20000 "${out// /}"
