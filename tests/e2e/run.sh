#!/bin/bash
# tests/e2e/run.sh: real-engine end-to-end tests (bash; `sh run.sh`
# re-executes itself with bash).
#
# Starts two private dockerd engines (a, b) and one $BUILD/dockmuxd in front
# of them ONCE, then runs every tests/e2e/t_*.sh against them with
#   ENGINE_A_SOCK ENGINE_B_SOCK DOCKMUX_SOCK RIG_DIR BUILD
# in the environment.  Prints PASS/FAIL/SKIP per test, the output of failed
# tests only, the failed names, and last a line "N passed, N failed".
#
#   BUILD=build sh tests/e2e/run.sh [t_name ...]   (default: all tests)
#   RIG_DIRECT=a    no dockmuxd: DOCKMUX_SOCK is engine a itself (checks
#                   the tests against real dockerd; dockmuxd-only tests skip)
#   E2E_TIMEOUT=180 per-test limit in seconds
#   RIG_KEEP=1      leave $RIG_DIR in place afterwards
#   E2E_VERBOSE=1   print the output of passed tests too
# Logs of failed tests (and the daemons' logs) are kept in $BUILD/e2e-logs/.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo" || exit 1
: "${BUILD:=build}"
case $BUILD in
/*) ;;
*) BUILD=$repo/$BUILD ;;
esac
export BUILD

# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

logdir=${E2E_LOGDIR:-$BUILD/e2e-logs}
timeout_s=${E2E_TIMEOUT:-180}

if [ -z "${RIG_DIRECT:-}" ] && [ ! -x "$BUILD/dockmuxd" ]; then
	echo "e2e: FATAL: $BUILD/dockmuxd does not exist; build it first (make)" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "e2e: FATAL: the real-engine tests start dockerd and need root" >&2
	exit 1
fi
for tool in dockerd docker curl busybox python3 setsid timeout; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "e2e: FATAL: $tool not found (sh scripts/install-deps.sh)" >&2
		exit 1
	fi
done

# The test list, before anything starts.
tests=()
if [ $# -gt 0 ]; then
	for n in "$@"; do
		n=${n%.sh}
		n=${n##*/}
		[ -f "$here/$n.sh" ] || { echo "e2e: no test $n" >&2; exit 1; }
		tests+=("$here/$n.sh")
	done
else
	for t in "$here"/t_*.sh; do
		[ -f "$t" ] && tests+=("$t")
	done
fi

rm -rf "$logdir"
mkdir -p "$logdir"

# Keep the daemons' logs when something failed; runs before rig_cleanup.
save_rig_logs() {
	local f
	for f in "$RIG_DIR"/*.log "$RIG_DIR"/*/dockerd.log; do
		[ -f "$f" ] || continue
		case $f in
		*/dockerd.log) cp "$f" "$logdir/engine-$(basename "$(dirname "$f")").log" ;;
		*) cp "$f" "$logdir/" ;;
		esac
	done
}

on_exit() {
	local rc=$?
	[ "$rc" -ne 0 ] && save_rig_logs
	rig_cleanup
	exit "$rc"
}

t_start=$(rig_now_ms)
rig_init
trap on_exit EXIT
rig_engine_start a
rig_engine_start b
if [ -n "${RIG_DIRECT:-}" ]; then
	var=ENGINE_$(printf '%s' "$RIG_DIRECT" | tr 'a-z' 'A-Z')_SOCK
	DOCKMUX_SOCK=${!var:?RIG_DIRECT names no engine}
	export DOCKMUX_SOCK
	echo "e2e: RIG_DIRECT=$RIG_DIRECT: tests talk to engine $RIG_DIRECT directly" >&2
else
	rig_dockmuxd_start "$(rig_write_config)"
fi
export ENGINE_A_SOCK ENGINE_B_SOCK DOCKMUX_SOCK RIG_DIR BUILD
echo "e2e: rig up in $(( $(rig_now_ms) - t_start )) ms ($RIG_DIR)" >&2

pass=0
fail=0
skip=0
failed=""
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	out=$logdir/$name.log
	t0=$(rig_now_ms)
	timeout -k 10 "$timeout_s" bash "$t" >"$out" 2>&1 </dev/null
	rc=$?
	ms=$(( $(rig_now_ms) - t0 ))
	[ "$rc" -eq 124 ] && echo "(killed after ${timeout_s}s)" >>"$out"
	# The shared dockmuxd must survive every test.
	if [ -z "${RIG_DIRECT:-}" ] && ! rig_ping "$DOCKMUX_SOCK"; then
		{
			echo "dockmuxd stopped answering /_ping during $name"
			echo "---- last 30 lines of dockmuxd.log ----"
			tail -n 30 "$RIG_DIR/dockmuxd.log"
		} >>"$out"
		[ "$rc" -eq 0 ] && rc=1
		cp "$RIG_DIR/dockmuxd.log" "$logdir/dockmuxd-$name.log" 2>/dev/null
		rig_dockmuxd_stop dockmuxd || true
		( rig_dockmuxd_start "$RIG_DIR/dockmux.json" ) >>"$out" 2>&1
		# (re)exported by the subshell only; the socket path is fixed.
		RIG_MY_DMX="$RIG_MY_DMX dockmuxd"
	fi
	case $rc in
	0)
		echo "PASS $name"
		pass=$((pass + 1))
		[ -n "${E2E_VERBOSE:-}" ] && sed 's/^/    /' "$out"
		rm -f "$out"
		;;
	77)
		echo "SKIP $name: $(tail -n 1 "$out")"
		skip=$((skip + 1))
		rm -f "$out"
		;;
	*)
		echo "FAIL $name (exit $rc, ${ms} ms)"
		sed 's/^/    /' "$out"
		fail=$((fail + 1))
		failed="$failed $name"
		;;
	esac
done

# Last check: the shared dockmuxd, which served every test, exits 0 on
# SIGTERM and its log has no sanitizer report (ASan/UBSan builds).
if [ -z "${RIG_DIRECT:-}" ]; then
	name=dockmuxd_exits_cleanly
	out=$logdir/$name.log
	rc=0
	rig_dockmuxd_stop dockmuxd >"$out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || echo "shared dockmuxd: exit status $rc after SIGTERM" >>"$out"
	if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' \
	    "$RIG_DIR/dockmuxd.log"; then
		echo "sanitizer report in dockmuxd.log:" >>"$out"
		grep -A30 -m1 -E 'Sanitizer|runtime error:' "$RIG_DIR/dockmuxd.log" >>"$out"
		[ "$rc" -eq 0 ] && rc=1
	fi
	if [ "$rc" -eq 0 ]; then
		echo "PASS $name"
		pass=$((pass + 1))
		rm -f "$out"
	else
		echo "FAIL $name"
		sed 's/^/    /' "$out"
		fail=$((fail + 1))
		failed="$failed $name"
	fi
fi

echo "e2e: done in $(( $(rig_now_ms) - t_start )) ms" >&2
[ "$skip" -gt 0 ] && echo "($skip skipped)"
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
