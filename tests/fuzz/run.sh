#!/bin/sh
# run.sh: the libFuzzer harnesses, one at a time (the machine is shared):
# each first replays its crashers (tests/fuzz/crashers/NAME/, bugs found
# and fixed), then fuzzes for SECONDS from its seed corpus.  Prints one
# PASS/FAIL line per harness with the executions it reached; keeps the
# log of a failure only.  Exits 1 when any failed.
#   sh tests/fuzz/run.sh [-s] SECONDS NAME...
#   -s (smoke): a fresh corpus each run; otherwise the corpus grows in
#   $FUZZ_BUILD/corpus/NAME from one run to the next.
#   FUZZ_RUNS=N stops a harness after N executions.
set -u
cd "$(dirname "$0")/../.." || exit 1
build=${FUZZ_BUILD:-build/fuzz}
smoke=0
if [ "${1:-}" = "-s" ]; then
	smoke=1
	shift
fi
secs=${1:?usage: run.sh [-s] SECONDS NAME...}
shift
mkdir -p "$build/tmp" "$build/logs"
# The harnesses' scratch directories (their stores) live under the build.
TMPDIR=$(cd "$build/tmp" && pwd)
export TMPDIR
failed=""

for name in "$@"; do
	bin=$build/$name
	short=${name#fuzz_}
	log=$build/logs/$name.log
	if [ ! -x "$bin" ]; then
		echo "FAIL $name: $bin not built"
		failed="$failed $name"
		continue
	fi
	crashers=tests/fuzz/crashers/$short
	if [ -d "$crashers" ] && [ -n "$(ls -A "$crashers")" ]; then
		if ! "$bin" -timeout=10 "$crashers"/* >"$log" 2>&1; then
			echo "FAIL $name: a crasher crashes again (log: $log)"
			tail -n 30 "$log" | sed 's/^/    /'
			failed="$failed $name"
			continue
		fi
	fi
	if [ $smoke -eq 1 ]; then
		work=$build/smoke/$short
		rm -rf "$work"
	else
		work=$build/corpus/$short
	fi
	mkdir -p "$work"
	opts="-max_total_time=$secs -timeout=10 -rss_limit_mb=2048"
	opts="$opts -print_final_stats=1 -artifact_prefix=$build/crash-$short-"
	[ -n "${FUZZ_RUNS:-}" ] && opts="$opts -runs=$FUZZ_RUNS"
	start=$(date +%s)
	# shellcheck disable=SC2086 # opts is split on purpose
	"$bin" $opts "$work" "tests/fuzz/corpus/$short" >"$log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	if [ $rc -eq 0 ] && [ -n "$runs" ]; then
		echo "PASS $name runs=$runs exec/s=$rate time=${took}s"
		rm -f "$log"
	else
		echo "FAIL $name exit=$rc runs=${runs:-?} (log: $log)"
		grep -E '^(==[0-9]+==|SUMMARY|.*property broken|.*runtime error)' \
		    "$log" | head -n 5 | sed 's/^/    /'
		ls "$build"/crash-"$short"-* 2>/dev/null | sed 's/^/    input: /'
		failed="$failed $name"
	fi
done

if [ -n "$failed" ]; then
	echo "fuzz: failed:$failed"
	exit 1
fi
exit 0
