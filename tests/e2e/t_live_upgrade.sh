#!/bin/bash
# kill -USR2 starts dockmuxd anew with its sockets (nginx's binary
# upgrade).  A USR2 with a broken config leaves the old process serving.
# A `logs -f` and an `exec -i` begun before a USR2 go on through the old
# process with no line lost or repeated, while new requests reach the new
# process (X-Dockmux-Pid); a USR2 to the old one meanwhile is ignored; the
# old one exits 0 once those streams end, leaving the socket file to the
# new one.  A SIGTERM to an old process during its grace ends its streams
# at once, and the new one goes on.  Under socket activation with
# NOTIFY_SOCKET, systemd's socket is handed on and systemd hears MAINPID=
# from the old process, then MAINPID= and READY=1 from the new one, and
# nothing more from the old one; the watchdog's pings (WATCHDOG_PID the
# old one's) go on from the new one.  No sanitizer report from any of
# them.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

tag=upgrade-$$
sock=$T_TMP/up.sock
cfg=$T_TMP/up.json
log=$RIG_DIR/$tag.log
rig_write_config_for "$cfg" "$sock" "$T_TMP/up.db" \
    "a=$ENGINE_A_SOCK" "b=$ENGINE_B_SOCK"
rig_dockmuxd_start "$cfg" "$tag"
old=$(cat "$RIG_DIR/$tag.pid")
D() { docker -H "unix://$sock" "$@"; }
# Every process of this test's dockmuxd, old and new, stopped by pid.
pids=$old
stop_mine() {
	local p
	for p in $pids; do
		# Still ours: a dockmuxd on one of this test's configs.
		grep -qF "$T_TMP/" "/proc/$p/cmdline" 2>/dev/null || continue
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $pids; do
		rig_wait_gone "$p" 10 || kill -KILL "$p" 2>/dev/null || true
	done
}
trap 'rc=$?; set +e; stop_mine; (exit $rc); t_cleanup' EXIT

# The pid of the process that answers a new connection.
answering() {
	curl -s -m 5 -D - -o /dev/null --unix-socket "$sock" \
	    http://dockmux/_dockmux/ping | tr -d '\r' |
	    awk -F': ' 'tolower($1) == "x-dockmux-pid" { print $2 }'
}
# count PATTERN: lines of the log matching it.
count() { grep -c -- "$1" "$log" || true; }
# The pid the last handover named.
successor() {
	sed -n 's/.*msg="handed over;.*successor=\([0-9]*\).*/\1/p' "$log" |
	    tail -n 1
}
t_expect_eq "pid answering at start" "$old" "$(answering)"

# ---- a broken config: the upgrade fails, the old process serves on --------
cp "$cfg" "$cfg.good"
echo '{ "backends": "none" }' >"$cfg"
kill -USR2 "$old"
failed() { [ "$(count 'msg="upgrade failed; this process goes on')" -ge 1 ]; }
t_wait_for 20 failed || t_fail "no 'upgrade failed' line after a bad config"
kill -0 "$old" 2>/dev/null || t_fail "the old process died with the upgrade"
t_expect_eq "pid answering after the failed upgrade" "$old" "$(answering)"
[ -S "$sock" ] || t_fail "the socket file went with the failed upgrade"
D version >/dev/null || t_fail "docker version after the failed upgrade"
mv -f "$cfg.good" "$cfg"

# ---- streams across an upgrade --------------------------------------------
c=$(t_name counter)
# shellcheck disable=SC2016 # the container's shell expands it
D run -d --name "$c" busybox sh -c \
    'i=0; while :; do echo line$i; i=$((i+1)); sleep 0.1; done' >/dev/null
e=$(t_name exec)
D run -d --name "$e" --label io.dockmux.backend=b busybox sleep 600 \
    >/dev/null
timeout 120 docker -H "unix://$sock" logs -f "$c" >"$T_TMP/follow.out" \
    2>"$T_TMP/follow.err" &
follow=$!
mkfifo "$T_TMP/stdin"
timeout 120 docker -H "unix://$sock" exec -i "$e" cat <"$T_TMP/stdin" \
    >"$T_TMP/exec.out" 2>"$T_TMP/exec.err" &
ex=$!
exec 7>"$T_TMP/stdin"
echo before-upgrade >&7
echoed() { grep -qx "$1" "$T_TMP/exec.out"; }
t_wait_for 20 echoed before-upgrade || t_fail "exec -i echoed nothing"
sleep 1

kill -USR2 "$old"
handed() { [ -n "$(successor)" ]; }
t_wait_for 60 handed || t_fail "no hand-over after USR2"
new=$(successor)
pids="$pids $new"
[ "$new" != "$old" ] || t_fail "the successor is the old pid"
kill -0 "$new" 2>/dev/null || t_fail "the new process $new is not running"
t_expect_eq "pid answering after the upgrade" "$new" "$(answering)"
D inspect -f '{{.State.Running}}' "$c" >/dev/null ||
    t_fail "inspect through the new process"
D ps --format '{{.Names}}' | grep -qx "$e" ||
    t_fail "ps through the new process lacks $e"
kill -0 "$old" 2>/dev/null || t_fail "the old process left before its streams"

# A USR2 to the old process while it drains is ignored.
ignored=$(count 'USR2 ignored')
kill -USR2 "$old"
more_ignored() { [ "$(count 'USR2 ignored')" -gt "$ignored" ]; }
t_wait_for 10 more_ignored || t_fail "a USR2 during the drain was not ignored"
t_expect_eq "new processes started" 2 \
    "$(count 'msg="upgrade: starting the new process"')"

echo after-upgrade >&7
t_wait_for 20 echoed after-upgrade ||
    t_fail "exec -i stopped echoing after the upgrade"
sleep 2		# the counter goes on: 20 more lines through the old process
exec 7>&-	# stdin ends: cat ends, and the exec with it
rc=0
wait "$ex" || rc=$?
t_expect_eq "exec -i exit status" 0 "$rc"
t_expect_eq "exec -i output" "before-upgrade after-upgrade" \
    "$(tr '\n' ' ' <"$T_TMP/exec.out" | sed 's/ $//')"
D kill "$c" >/dev/null || t_fail "kill the counter through the new process"
rc=0
wait "$follow" || rc=$?
[ "$rc" -ne 124 ] || t_fail "logs -f did not end with its container"
awk '$0 != "line" NR - 1 { print "line " NR ": " $0; bad = 1 }
    END { exit bad }' "$T_TMP/follow.out" >"$T_TMP/gaps" ||
    t_fail "logs -f lost or repeated lines: $(head -3 "$T_TMP/gaps")"
n=$(wc -l <"$T_TMP/follow.out")
[ "$n" -ge 30 ] || t_fail "logs -f showed only $n lines"
D logs "$c" >"$T_TMP/all.out"
cmp -s "$T_TMP/all.out" "$T_TMP/follow.out" ||
    t_fail "logs -f differs from the container's whole log"

rig_wait_gone "$old" 20 || t_fail "the old process still runs after its streams"
rc=0
wait "$old" || rc=$?
t_expect_eq "old process exit status" 0 "$rc"
rm -f "$RIG_DIR/$tag.pid"	# gone: the rig must not signal its pid again
[ -S "$sock" ] || t_fail "the old process removed the new one's socket file"
t_expect_eq "pid answering after the old one left" "$new" "$(answering)"

# ---- SIGTERM during the grace ends the old process's streams --------------
c2=$(t_name forever)
D run -d --name "$c2" busybox sh -c 'while :; do echo tick; sleep 0.2; done' \
    >/dev/null
timeout 60 docker -H "unix://$sock" logs -f "$c2" >"$T_TMP/f2.out" 2>&1 &
follow=$!
sleep 1
kill -USR2 "$new"
newer() { [ "$(successor)" != "$new" ]; }
t_wait_for 60 newer || t_fail "no second hand-over"
newer_pid=$(successor)
pids="$pids $newer_pid"
t_expect_eq "pid answering after the second upgrade" "$newer_pid" \
    "$(answering)"
kill -0 "$new" 2>/dev/null || t_fail "the old process left with a stream open"
t0=$(rig_now_ms)
kill -TERM "$new"
rc=0
wait "$follow" || rc=$?
[ "$rc" -ne 124 ] || t_fail "SIGTERM did not end the old process's stream"
rig_wait_gone "$new" 15 || t_fail "the old process ignored SIGTERM"
el=$(( $(rig_now_ms) - t0 ))
[ "$el" -lt 10000 ] || t_fail "SIGTERM during the grace took ${el} ms"
t_expect_eq "pid answering after SIGTERM to the old one" "$newer_pid" \
    "$(answering)"
D version >/dev/null || t_fail "docker version after SIGTERM to the old one"

# ---- the last one stops as any dockmuxd does ------------------------------
kill -TERM "$newer_pid"
rig_wait_gone "$newer_pid" 15 || t_fail "the newest process ignored SIGTERM"
[ ! -e "$sock" ] || t_fail "the socket file outlived the last process"
grep -q 'msg="stopped"' "$log" || t_fail "no stopped line"

# ---- systemd: socket activation and the notify protocol -------------------
command -v systemd-socket-activate >/dev/null ||
    t_fail "systemd-socket-activate not found (systemd)"
nsock=$T_TMP/notify.sock
nlog=$T_TMP/notify.log
alog=$T_TMP/activated.log
asock=$T_TMP/activated.sock
acfg=$T_TMP/activated.json
rig_notify_listen "$nsock" "$nlog"
npid=$RIG_NOTIFY_PID
trap 'rc=$?; set +e; stop_mine; kill "$npid" 2>/dev/null; (exit $rc); t_cleanup' EXIT
rig_write_config_for "$acfg" "$T_TMP/not-bound.sock" "$T_TMP/act.db" \
    "a=$ENGINE_A_SOCK"
# It binds, and execs dockmuxd (environment: -E only) at the first client;
# sh execs it, so WATCHDOG_PID is the activated dockmuxd's pid.
# shellcheck disable=SC2016 # $$ is the inner shell's
setsid sh -c 'exec systemd-socket-activate -E "NOTIFY_SOCKET=$0" \
    -E WATCHDOG_USEC=1000000 -E "WATCHDOG_PID=$$" -l "$1" \
    "$2" -c "$3"' "$nsock" "$asock" "$BUILD/dockmuxd" "$acfg" \
    >"$alog" 2>&1 </dev/null &
apid=$!
pids="$pids $apid"
t_wait_for 20 rig_ping "$asock" || t_fail "nothing answers on $asock"
t_wait_for 20 grep -q '^READY=1' "$nlog" || t_fail "no READY=1 (activated)"
kill -USR2 "$apid"
# What systemd hears: the main process names its successor, which then
# says it is ready.
notified() { grep -q '^MAINPID=[0-9]* READY=1' "$nlog"; }
t_wait_for 60 notified || t_fail "no MAINPID= READY=1 from the new process"
apid2=$(sed -n 's/^MAINPID=\([0-9]*\) READY=1.*/\1/p' "$nlog")
pids="$pids $apid2"
sock=$asock
t_expect_eq "pid answering on systemd's socket" "$apid2" "$(answering)"
rig_wait_gone "$apid" 20 || t_fail "the activated old process did not exit"
rc=0
wait "$apid" || rc=$?
t_expect_eq "activated old process exit status" 0 "$rc"
# The old process is gone: pings that still come are the new one's.
n0=$(grep -cx 'WATCHDOG=1' "$nlog")
[ "$n0" -ge 1 ] || t_fail "no WATCHDOG=1 before the upgrade"
more_pings() { [ "$(grep -cx 'WATCHDOG=1' "$nlog")" -ge $((n0 + 2)) ]; }
t_wait_for 10 more_pings || t_fail "no WATCHDOG=1 from the new process"
[ -S "$asock" ] || t_fail "systemd's socket file went with the old process"
[ ! -e "$T_TMP/not-bound.sock" ] ||
    t_fail "the new process bound the config's socket despite systemd's"
DOCKER_HOST=unix://$asock docker version >/dev/null ||
    t_fail "docker version through systemd's socket after the upgrade"
kill -TERM "$apid2"
t_wait_for 10 grep -q 'STOPPING=1' "$nlog" || t_fail "no STOPPING=1 (new)"
rig_wait_gone "$apid2" 15 || t_fail "the activated new process ignored SIGTERM"
echo "notifications:"
cat "$nlog"
t_expect_eq "notifications" \
    "READY=1 MAINPID=$apid2 MAINPID=$apid2 STOPPING=1" \
    "$(grep -oE '^(READY=1|MAINPID=[0-9]+|STOPPING=1)' "$nlog" |
    tr '\n' ' ' | sed 's/ $//')"
[ -S "$asock" ] || t_fail "dockmuxd removed systemd's socket file"

for f in "$log" "$alog"; do
	if grep -E 'Sanitizer|runtime error:' "$f" >/dev/null; then
		grep -E -A5 'Sanitizer|runtime error:' "$f" | head -40 >&2
		t_fail "a sanitizer report in $f"
	fi
done
