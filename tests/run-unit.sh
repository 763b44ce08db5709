#!/bin/sh
# tests/run-unit.sh: run each unit test binary named on the command line.
#
#   sh tests/run-unit.sh build/tests/check_cfg build/tests/check_dmerr ...
#   VALGRIND=1 sh tests/run-unit.sh ...    each under valgrind, CK_FORK=no
#
# Prints "PASS name" or "FAIL name" per binary, a failed binary's output
# (and only a failed one's) indented under its line, then the failed names
# and last a line "N passed, N failed".  Exits non-zero on any failure.

pass=0
fail=0
failed=""
out=$(mktemp "${TMPDIR:-/tmp}/run-unit.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$#" -eq 0 ]; then
	echo "usage: [VALGRIND=1] sh tests/run-unit.sh test-binary ..." >&2
	exit 2
fi

if [ "${VALGRIND:-0}" = 1 ] && ! command -v valgrind >/dev/null 2>&1; then
	echo "run-unit: VALGRIND=1 but valgrind is not installed" >&2
	exit 1
fi

for t in "$@"; do
	name=$(basename "$t")
	if [ ! -x "$t" ]; then
		echo "$t: not an executable (build it first)" >"$out"
		rc=1
	elif [ "${VALGRIND:-0}" = 1 ]; then
		# Check forks each test by default; under valgrind that
		# reports the children's memory as leaked.
		CK_FORK=no valgrind --leak-check=full \
		    --errors-for-leak-kinds=definite,indirect \
		    --error-exitcode=1 -q "$t" >"$out" 2>&1
		rc=$?
	else
		"$t" >"$out" 2>&1
		rc=$?
	fi
	if [ "$rc" -eq 0 ]; then
		echo "PASS $name"
		pass=$((pass + 1))
	else
		echo "FAIL $name (exit $rc)"
		sed 's/^/    /' "$out"
		fail=$((fail + 1))
		failed="$failed $name"
	fi
done

[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
