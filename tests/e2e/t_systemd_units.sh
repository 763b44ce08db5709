#!/bin/bash
# The systemd side: dockmux.service and dockmux.socket as `make install`
# writes them pass `systemd-analyze verify` without a warning; dockmuxd
# serves the socket systemd passes (systemd-socket-activate, LISTEN_FDS)
# even when its config names another one; Type=notify: READY=1 once it
# serves, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM, each
# READY=1 with STATUS= ("2/3 backends up, 0 routes; down: c"), STATUS=
# again when a backend goes down, WATCHDOG=1 every half WATCHDOG_USEC
# when WATCHDOG_PID is ours, none when it is another's; log lines led by
# their syslog priority (<6>, <4>) when stderr is the stream that
# JOURNAL_STREAM names, and not when it names another.
# (systemd is not PID 1 here, so no unit is started for real.)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd
for tool in systemd-analyze systemd-socket-activate; do
	command -v "$tool" >/dev/null || t_fail "$tool not found (systemd)"
done

repo=$(cd "$(dirname "$0")/../.." && pwd)
mk() {
	make -s -C "$repo" BUILD="$BUILD" -o "$BUILD/dockmuxd" \
	    -o "$BUILD/dockmux" "$@"
}

# ---- systemd-analyze verify -----------------------------------------------
# 1. Installed under a DESTDIR, verified with --root: ExecStart= and
# ExecReload= are looked up inside the root, so the root also gets the
# distribution's units (sysinit.target...) and /bin/kill.
root=$T_TMP/root
mk install DESTDIR="$root" PREFIX=/usr/local || t_fail "make install"
mkdir -p "$root/usr/lib/systemd" "$root/bin"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp /bin/kill "$root/bin/kill"
units=/usr/local/lib/systemd/system
verify() {
	local out rc=0
	out=$(systemd-analyze verify "$@" 2>&1) || rc=$?
	printf '%s\n' "$out"
	[ "$rc" -eq 0 ] && [ -z "$out" ]
}
echo "systemd-analyze verify --root=$root $units/dockmux.socket $units/dockmux.service"
verify --root="$root" "$units/dockmux.socket" "$units/dockmux.service" ||
    t_fail "systemd-analyze verify (DESTDIR root) complained"

# 2. Installed for PREFIX=$T_TMP/pfx (DESTDIR keeps /etc/dockmux off the
# host; the tree is then moved to where PREFIX says), verified against the
# host's own units and /bin/kill, without --root.
pfx=$T_TMP/pfx
mk install DESTDIR="$T_TMP/d2" PREFIX="$pfx" || t_fail "make install PREFIX"
mkdir -p "$pfx"
cp -a "$T_TMP/d2$pfx/." "$pfx/"
echo "systemd-analyze verify $pfx/lib/systemd/system/dockmux.socket $pfx/lib/systemd/system/dockmux.service"
verify "$pfx/lib/systemd/system/dockmux.socket" \
    "$pfx/lib/systemd/system/dockmux.service" ||
    t_fail "systemd-analyze verify (host) complained"

# 3. verify does notice a broken unit (so the two passes above mean it).
mkdir -p "$T_TMP/broken"
sed 's|^ExecStart=.*|ExecStart=/nonexistent/dockmuxd|' \
    "$root$units/dockmux.service" >"$T_TMP/broken/dockmux.service"
cp "$root$units/dockmux.socket" "$T_TMP/broken/"
if verify "$T_TMP/broken/dockmux.socket" "$T_TMP/broken/dockmux.service" \
    >/dev/null; then
	t_fail "systemd-analyze verify accepted ExecStart=/nonexistent"
fi

# What the units promise.
svc=$root$units/dockmux.service
# shellcheck disable=SC2016 # $MAINPID is literal in the unit
for line in Type=notify 'ExecReload=/bin/kill -HUP $MAINPID' \
    Restart=on-failure WatchdogSec=30s StateDirectory=dockmux ProtectSystem=strict \
    Requires=dockmux.socket NoNewPrivileges=yes \
    RestrictAddressFamilies=AF_UNIX 'CapabilityBoundingSet='; do
	grep -qxF "$line" "$svc" || t_fail "dockmux.service: no '$line'"
done
for line in ListenStream=/run/dockmux.sock SocketMode=0660 \
    SocketGroup=docker; do
	grep -qxF "$line" "$root$units/dockmux.socket" ||
	    t_fail "dockmux.socket: no '$line'"
done

# ---- socket activation ----------------------------------------------------
asock=$T_TMP/activated.sock
cfg=$T_TMP/activation.json
rig_write_config_for "$cfg" "$T_TMP/config-listen.sock" "$T_TMP/act.db" \
    "a=$ENGINE_A_SOCK" "b=$ENGINE_B_SOCK"
apid=""
npid=""
dpid=""
fpid=""
stop_pid() {
	if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
		kill -TERM "$1" 2>/dev/null || true
		rig_wait_gone "$1" 10 || kill -KILL "$1" 2>/dev/null || true
	fi
}
stop_mine() {
	stop_pid "$apid"
	stop_pid "$dpid"
	stop_pid "$npid"
	stop_pid "$fpid"
}
trap 'rc=$?; set +e; stop_mine; (exit $rc); t_cleanup' EXIT

# Without --accept, systemd-socket-activate binds, then execs dockmuxd
# with the listening fd as fd 3 and LISTEN_FDS=1, LISTEN_PID=its pid.
setsid systemd-socket-activate -l "$asock" "$BUILD/dockmuxd" -c "$cfg" \
    >"$T_TMP/activation.log" 2>&1 </dev/null &
apid=$!
t_wait_for 20 rig_ping "$asock" ||
    t_fail "nothing answers on the activated socket: $(cat "$T_TMP/activation.log")"
DOCKER_HOST=unix://$asock docker version >/dev/null ||
    t_fail "docker version through the activated socket"
out=$(DOCKER_HOST=unix://$asock docker run --rm busybox echo hi) ||
    t_fail "docker run --rm through the activated socket"
t_expect_eq "docker run --rm busybox echo hi (activated)" hi "$out"
"$BUILD/dockmux" -H "unix://$asock" version | grep -q '^Server: dockmuxd' ||
    t_fail "dockmux version through the activated socket"
[ ! -e "$T_TMP/config-listen.sock" ] ||
    t_fail "dockmuxd bound the config's listen socket despite LISTEN_FDS"
grep -q 'activation=socket' "$T_TMP/activation.log" ||
    t_fail "log does not say the socket came from systemd"
kill -TERM "$apid"
rig_wait_gone "$apid" 10 || t_fail "activated dockmuxd ignored SIGTERM"
rc=0
wait "$apid" || rc=$?
t_expect_eq "activated dockmuxd exit status" 0 "$rc"
apid=""
cat "$T_TMP/activation.log"

# ---- Type=notify ----------------------------------------------------------
nsock=$T_TMP/notify.sock
nlog=$T_TMP/notify.log
rig_notify_listen "$nsock" "$nlog"
npid=$RIG_NOTIFY_PID

dsock=$T_TMP/notify-dmx.sock
# f: a fake engine, ours to stop; c: a socket nobody listens on.
fsock=$T_TMP/fake.sock
setsid "$BUILD/fake-engine" --socket "$fsock" >"$T_TMP/fake.log" 2>&1 \
    </dev/null &
fpid=$!
t_wait_for 10 rig_ping "$fsock" || t_fail "fake engine: $(cat "$T_TMP/fake.log")"
rig_write_config_for "$cfg" "$dsock" "$T_TMP/notify.db" \
    "a=$ENGINE_A_SOCK" "f=$fsock" "c=$T_TMP/nobody.sock"
# stderr is the "journal": JOURNAL_STREAM names the log file's dev:ino.
dlog=$T_TMP/notify-dmx.log
: >"$dlog"
js=$(stat -c '%d:%i' "$dlog")
# WATCHDOG_PID is dockmuxd's own: sh's pid, kept by exec.
# shellcheck disable=SC2016 # $$ is the inner shell's
NOTIFY_SOCKET=$nsock WATCHDOG_USEC=2000000 JOURNAL_STREAM=$js \
    setsid sh -c 'WATCHDOG_PID=$$ exec "$0" "$@"' "$BUILD/dockmuxd" \
    -c "$cfg" >>"$dlog" 2>&1 </dev/null &
dpid=$!
t_wait_for 20 grep -q '^READY=1' "$nlog" || t_fail "no READY=1"
# READY=1 means it serves: the socket answers at once.
rig_ping "$dsock" || t_fail "READY=1 sent before the socket answers"
t_expect_eq "READY=1 with its STATUS=" \
    "READY=1 STATUS=2/3 backends up, 0 routes; down: c" \
    "$(grep -m1 '^READY=1' "$nlog")"
two_pings() { [ "$(grep -cx 'WATCHDOG=1' "$nlog")" -ge 2 ]; }
t_wait_for 10 two_pings || t_fail "not two WATCHDOG=1 in 10 s (2 s interval)"
kill -HUP "$dpid"
t_wait_for 20 grep -q 'RELOADING=1' "$nlog" || t_fail "no RELOADING=1 on SIGHUP"
two_ready() { [ "$(grep -c '^READY=1' "$nlog")" -ge 2 ]; }
t_wait_for 20 two_ready ||
    t_fail "no READY=1 after the reload"
# A backend goes down: STATUS= says so, without a reload.
stop_pid "$fpid"
fpid=""
t_wait_for 15 grep -qx 'STATUS=1/3 backends up, 0 routes; down: f, c' "$nlog" ||
    t_fail "no STATUS= after backend f went down"
kill -TERM "$dpid"
t_wait_for 10 grep -q 'STOPPING=1' "$nlog" || t_fail "no STOPPING=1 on SIGTERM"
rig_wait_gone "$dpid" 10 || t_fail "dockmuxd ignored SIGTERM"
dpid=""
echo "notifications:"
cat "$nlog"
# In order, between the watchdog pings and status changes: READY,
# RELOADING, READY, STOPPING.
t_expect_eq "notification order" "READY=1 RELOADING=1 READY=1 STOPPING=1" \
    "$(grep -v -e '^WATCHDOG=1$' -e '^STATUS=' "$nlog" | awk '{ print $1 }' |
    tr '\n' ' ' | sed 's/ $//')"

# The journal's priorities: every line led by one, the levels matching.
echo "log with JOURNAL_STREAM:"
cat "$dlog"
bad=$(grep -vE '^<[3467]>time=' "$dlog" || true)
[ -z "$bad" ] || t_fail "lines without a priority: $bad"
grep -qE '^<6>time=[^ ]+ level=info msg="serving"' "$dlog" ||
    t_fail "no <6> level=info line"
grep -qE '^<4>time=[^ ]+ level=warn msg="backend down" backend=c' "$dlog" ||
    t_fail "no <4> level=warn line"
! grep -qE '^<6>[^ ]+ level=warn|^<4>[^ ]+ level=info' "$dlog" ||
    t_fail "a priority that is not the line's level"

# Another process's watchdog (WATCHDOG_PID), another stream
# (JOURNAL_STREAM inherited, stderr elsewhere): neither is ours.
: >"$nlog"
NOTIFY_SOCKET=$nsock WATCHDOG_USEC=200000 WATCHDOG_PID=1 JOURNAL_STREAM=1:1 \
    setsid "$BUILD/dockmuxd" -c "$cfg" >"$T_TMP/other.log" 2>&1 </dev/null &
dpid=$!
t_wait_for 20 grep -q '^READY=1' "$nlog" || t_fail "no READY=1 (WATCHDOG_PID=1)"
sleep 1	# five intervals of 0.1 s
kill -TERM "$dpid"
rig_wait_gone "$dpid" 10 || t_fail "dockmuxd ignored SIGTERM"
dpid=""
! grep -q 'WATCHDOG=1' "$nlog" || t_fail "WATCHDOG=1 sent for WATCHDOG_PID=1"
grep -q '^time=.* msg="serving"' "$T_TMP/other.log" ||
    t_fail "JOURNAL_STREAM=1:1, stderr a file: lines not plain: $(head -3 "$T_TMP/other.log")"
! grep -q '^<' "$T_TMP/other.log" || t_fail "JOURNAL_STREAM=1:1: prefixed lines"
echo "ok"
