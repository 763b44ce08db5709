#!/bin/bash
# --log-level: debug adds level=debug lines, warn drops the info lines, the
# default (info) has them; every line has time=, level= and msg=; an
# unknown level is refused with one line and a non-zero exit.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

sock=$T_TMP/loglevel.sock
cfg=$T_TMP/loglevel.json
rig_write_config_for "$cfg" "$sock" "$T_TMP/loglevel.db" \
    "a=$ENGINE_A_SOCK" "b=$ENGINE_B_SOCK"
pid=""
stop_mine() {
	t_stop_pid "$pid"
	pid=""
}
trap 'rc=$?; set +e; stop_mine; (exit $rc); t_cleanup' EXIT

# run_at LOG ARGS...: a dockmuxd with ARGS, some traffic (a run with
# attach, logs, an unknown container), SIGTERM; its stderr in LOG.
run_at() {
	local log=$1 n
	shift
	setsid "$BUILD/dockmuxd" --config "$cfg" "$@" >"$log" 2>&1 </dev/null &
	pid=$!
	t_wait_for 20 rig_ping "$sock" || t_fail "dockmuxd $* did not start"
	n=$(t_name "lvl$RANDOM")
	docker -H "unix://$sock" run --name "$n" busybox echo hi >/dev/null ||
	    t_fail "docker run through dockmuxd $*"
	docker -H "unix://$sock" logs "$n" >/dev/null 2>&1 || true
	docker -H "unix://$sock" rm -f "$n" >/dev/null 2>&1 || true
	docker -H "unix://$sock" inspect "$T_PREFIX-none" >/dev/null 2>&1 || true
	curl -s -m 5 --unix-socket "$sock" -X POST \
	    http://dmx/v1.41/containers/create -d '{' >/dev/null || true
	stop_mine
}

# check_shape LOG: every line is time=... level=... with a msg=.
check_shape() {
	local bad
	bad=$(grep -vE '^time=[0-9T:.-]+Z level=(error|warn|info|debug) (.* )?msg=' "$1" || true)
	[ -z "$bad" ] || t_fail "$1: lines without time=/level=/msg=: $bad"
}

run_at "$T_TMP/debug.log" --log-level debug
cat "$T_TMP/debug.log"
check_shape "$T_TMP/debug.log"
grep -q ' level=debug ' "$T_TMP/debug.log" ||
    t_fail "--log-level debug: no level=debug line"
grep -q ' level=info ' "$T_TMP/debug.log" ||
    t_fail "--log-level debug: no level=info line"

run_at "$T_TMP/v.log" -v
check_shape "$T_TMP/v.log"
grep -q ' level=debug ' "$T_TMP/v.log" || t_fail "-v: no level=debug line"

run_at "$T_TMP/info.log"
check_shape "$T_TMP/info.log"
grep -q ' level=info .*msg="listening"' "$T_TMP/info.log" ||
    t_fail "default level: no info line \"listening\""
! grep -q ' level=debug ' "$T_TMP/info.log" ||
    t_fail "default level: has level=debug lines"

run_at "$T_TMP/warn.log" --log-level warn
cat "$T_TMP/warn.log"
check_shape "$T_TMP/warn.log"
! grep -qE ' level=(info|debug) ' "$T_TMP/warn.log" ||
    t_fail "--log-level warn: has info/debug lines"

rc=0
out=$("$BUILD/dockmuxd" --config "$cfg" --log-level bogus 2>&1) || rc=$?
[ "$rc" -ne 0 ] || t_fail "--log-level bogus: exit 0"
t_expect_eq "--log-level bogus: lines of output" 1 "$(wc -l <<<"$out")"
grep -q 'bogus' <<<"$out" || t_fail "--log-level bogus: '$out'"
! rig_ping "$sock" || t_fail "--log-level bogus: something serves $sock"
echo "ok"
