#!/bin/bash
# The access policy with real Unix users (useradd, runuser) and the real
# docker CLI, in front of the two engines: a read-only user lists but
# cannot run (the 403 message reaches the CLI); a restricted user's plain
# run lands on its backend while --privileged and -v /etc are refused;
# two owner-scoped users do not see each other's containers; a user no
# rule matches is refused.  Then the limits: 5,000 idle connections from
# one uid and a client dribbling a head do not stop another user's ping
# (under 100 ms) or docker ps, and the dribbler is closed by the idle
# timeout.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd
command -v useradd >/dev/null || t_fail "useradd is missing (passwd)"
command -v runuser >/dev/null || t_fail "runuser is missing (util-linux)"

# Users of this run only: removed at the end, by name, one by one.
tag=$$
users=""
D=$(mktemp -d /tmp/dmx-access.XXXXXX)
chmod 755 "$D"
pid=""
flood=""
dribble=""
stop_mine() {
	local u p
	set +e
	for p in $flood $dribble; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		rig_wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null || true
	fi
	pid=""
	for u in $users; do
		userdel "$u" >/dev/null 2>&1 || true
	done
	rm -rf "$D"
}
trap 'rc=$?; set +e; stop_mine; (exit $rc); t_cleanup' EXIT

mkuser() {
	local u=dmx$1$tag
	useradd --no-create-home --shell /usr/sbin/nologin "$u" ||
	    t_fail "useradd $u"
	users="$users $u"
	mkdir -p "$D/home-$u"
	chown "$u" "$D/home-$u"
	printf '%s\n' "$u"
}
RO=$(mkuser ro)
CI=$(mkuser ci)
OWN1=$(mkuser o1)
OWN2=$(mkuser o2)
NOBODY=$(mkuser nn)
FLOOD=$(mkuser fl)

sock=$D/dockmux.sock
cfg=$D/dockmux.json
mkdir -p "$D/ci"
cat >"$cfg" <<EOF
{
  "listen": "unix://$sock",
  "store": "$T_TMP/access.db",
  "socket_mode": "0666",
  "idle_timeout_s": 3,
  "backends": [
    { "name": "a", "endpoint": "unix://$ENGINE_A_SOCK" },
    { "name": "b", "endpoint": "unix://$ENGINE_B_SOCK" }
  ],
  "access": [
    { "user": "$RO", "grant": "read-only" },
    { "user": "$CI", "grant": "restricted", "backends": ["b"],
      "bind_mounts": ["$D/ci"] },
    { "user": "$OWN1", "grant": "restricted", "scope": "owner" },
    { "user": "$OWN2", "grant": "restricted", "scope": "owner" },
    { "user": "$FLOOD", "grant": "full" }
  ]
}
EOF
setsid "$BUILD/dockmuxd" --config "$cfg" >"$T_TMP/d.log" 2>&1 </dev/null &
pid=$!
t_wait_for 20 rig_ping "$sock" || { cat "$T_TMP/d.log"; t_fail "dockmuxd did not start"; }

# as USER ARGS...: the docker CLI as that user, through dockmuxd.
as() {
	local u=$1
	shift
	runuser -u "$u" -- env HOME="$D/home-$u" DOCKER_CONFIG="$D/home-$u" \
	    docker -H "unix://$sock" "$@"
}
# refused USER WANT ARGS...: the command fails and says WANT.
refused() {
	local u=$1 want=$2 out
	shift 2
	if out=$(as "$u" "$@" 2>&1); then
		t_fail "$u: docker $* succeeded: $out"
	fi
	grep -qF -- "$want" <<<"$out" ||
	    t_fail "$u: docker $*: expected '$want' in: $out"
	echo "refused as expected: $u: docker $*: $out"
}

# read-only
as "$RO" ps -a >/dev/null || t_fail "read-only user: docker ps"
refused "$RO" "dockmux: access denied: access[0] (user $RO): grant read-only: POST /containers/create is not allowed" \
    run --rm busybox true

# restricted: plain runs land on b; privileged and /etc binds refused
n=$(t_name ci)
as "$CI" run --name "$n" busybox true || t_fail "restricted user: docker run"
t_expect_eq "restricted user's container backend" b \
    "$(docker -H "unix://$sock" inspect -f '{{index .Config.Labels "io.dockmux.backend"}}' "$n")"
[ -n "$(docker -H "unix://$ENGINE_B_SOCK" ps -aq --filter "name=^/$n\$")" ] ||
    t_fail "restricted user's container is not on engine b"
refused "$CI" "grant restricted: privileged containers are not allowed" \
    run --rm --privileged busybox true
refused "$CI" "grant restricted: bind mount of /etc is not allowed" \
    run --rm -v /etc:/x busybox true
as "$CI" run --rm -v "$D/ci:/w" busybox true ||
    t_fail "restricted user: a bind under bind_mounts"
refused "$CI" "grant restricted: NetworkMode host is not allowed" \
    run --rm --network host busybox true

# owner scope: each sees only its own
n1=$(t_name own1)
as "$OWN1" run -d --name "$n1" busybox sleep 120 >/dev/null ||
    t_fail "owner-scoped user 1: docker run"
t_expect_eq "owner label" "$(id -u "$OWN1")" \
    "$(docker -H "unix://$sock" inspect -f '{{index .Config.Labels "io.dockmux.owner"}}' "$n1")"
as "$OWN1" ps --format '{{.Names}}' | grep -qx "$n1" ||
    t_fail "owner-scoped user 1 does not see its container"
! as "$OWN2" ps -a --format '{{.Names}}' | grep -qx "$n1" ||
    t_fail "owner-scoped user 2 sees user 1's container"
refused "$OWN2" "No such container: $n1" stop "$n1"
refused "$OWN2" "No such container: $n1" rm "$n1"
refused "$OWN2" "No such" inspect "$n1"
refused "$OWN2" "No such container: $n1" logs "$n1"
[ "$(docker -H "unix://$sock" inspect -f '{{.State.Running}}' "$n1")" = true ] ||
    t_fail "user 1's container did not survive user 2's attempts"

# unmatched
refused "$NOBODY" "access: no rule matches uid $(id -u "$NOBODY")" ps

# root is always full
docker -H "unix://$sock" ps >/dev/null || t_fail "root: docker ps"

# Limits: 5,000 idle connections by one uid, and a dribbled head.
ulimit -n 16384 || t_fail "cannot raise the open file limit for the flood"
cat >"$D/flood.py" <<'EOF'
import socket, sys, time
path, n, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
conns = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    conns.append(s)
print("flood: %d connected" % len(conns), flush=True)
time.sleep(hold)
EOF
cat >"$D/dribble.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
t0 = time.time()
head = b"GET /_ping HTTP/1.1\r\nHost: d\r\nX-Slow: " + b"a" * 100
try:
    for b in head:
        s.send(bytes([b]))
        time.sleep(0.5)
        s.settimeout(0.01)
        try:
            if s.recv(1) == b"":
                break
        except socket.timeout:
            pass
        s.settimeout(None)
except (BrokenPipeError, ConnectionResetError):
    pass
print("dribble: closed after %.1f s" % (time.time() - t0), flush=True)
EOF
chmod 644 "$D/flood.py" "$D/dribble.py"
# setpriv, not runuser: PAM would put the open file limit back to 1024.
setpriv --reuid="$(id -u "$FLOOD")" --regid="$(id -g "$FLOOD")" \
    --clear-groups /usr/bin/python3 "$D/flood.py" "$sock" 5000 25 \
    >"$T_TMP/flood.out" 2>&1 &
flood=$!
# Queued connections not yet accepted (the listening socket's Recv-Q).
backlog() {
	ss -xlH 2>/dev/null | awk -v p="$sock" '$5 == p { print $3 }'
}
backlog_empty() { [ "$(backlog)" = 0 ]; }
t_wait_for 60 grep -q 'connected\|Error' "$T_TMP/flood.out" ||
    { cat "$T_TMP/flood.out"; t_fail "the flood did not connect"; }
grep -q connected "$T_TMP/flood.out" ||
    { cat "$T_TMP/flood.out"; t_fail "the flood did not connect"; }
cat "$T_TMP/flood.out"
# The flood is all in: what dockmuxd has not accepted yet would queue the
# ping behind it; 5,000 *open* idle connections are what is measured.
t_wait_for 30 backlog_empty ||
    t_fail "dockmuxd did not take the flood's connections: backlog $(backlog)"
runuser -u "$NOBODY" -- /usr/bin/python3 "$D/dribble.py" "$sock" \
    >"$T_TMP/dribble.out" 2>&1 &
dribble=$!
worst=0
for _ in 1 2 3 4 5; do
	ms=$(runuser -u "$RO" -- curl -s -o /dev/null -w '%{time_total}' \
	    --unix-socket "$sock" http://d/_ping | awk '{ printf "%d", $1 * 1000 }')
	[ "$ms" -gt "$worst" ] && worst=$ms
	sleep 0.2
done
echo "another user's /_ping under the flood: worst ${worst} ms"
[ "$worst" -lt 100 ] || t_fail "/_ping took ${worst} ms under 5,000 idle connections"
as "$RO" ps >/dev/null || t_fail "read-only user's docker ps under the flood"
wait "$dribble" || true
dribble=""
cat "$T_TMP/dribble.out"
secs=$(sed -n 's/^dribble: closed after \([0-9.]*\) s$/\1/p' "$T_TMP/dribble.out")
[ -n "$secs" ] || t_fail "the dribbling client was not closed"
awk -v s="$secs" 'BEGIN { exit !(s >= 2.5 && s <= 8) }' ||
    t_fail "the dribbler was closed after $secs s, expected ~3 (idle_timeout_s)"
kill "$flood" 2>/dev/null || true
wait "$flood" 2>/dev/null || true
flood=""
t_expect_eq "per-peer refusals logged (once a minute)" 1 \
    "$(grep -c 'max_connections_per_peer reached' "$T_TMP/d.log")"
grep -q "msg=\"access\" uid=$(id -u "$RO") .* verdict=deny grant=read-only" "$T_TMP/d.log" ||
    t_fail "the read-only user's denial is not logged"
grep -q "msg=\"access\" uid=$(id -u "$CI") .*method=POST path=/v[0-9.]*/containers/create backend=b verdict=allow" "$T_TMP/d.log" ||
    t_fail "the restricted user's create is not logged"
kill -0 "$pid" || t_fail "dockmuxd died"

# SIGHUP reloads the policy: the read-only user becomes full.
sed -i "s/{ \"user\": \"$RO\", \"grant\": \"read-only\" }/{ \"user\": \"$RO\", \"grant\": \"full\" }/" "$cfg"
grep -q "\"user\": \"$RO\", \"grant\": \"full\"" "$cfg" || t_fail "config not rewritten"
kill -HUP "$pid"
t_wait_for 10 grep -q 'msg="configuration reloaded"' "$T_TMP/d.log" ||
    t_fail "no reload logged"
as "$RO" run --rm busybox true ||
    t_fail "after SIGHUP the formerly read-only user still cannot run"
kill -0 "$pid" || t_fail "dockmuxd died"
echo "PASS"
