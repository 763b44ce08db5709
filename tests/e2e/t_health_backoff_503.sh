#!/bin/bash
# Health probes with backoff.  A private dockmuxd in front of engine a and a
# third engine c with a container on c.  Engine c stops: within ~5 s
# `dockmux backends` shows c down with an error; exec in the container on
# c answers 503 naming c at once (< 2 s); `docker ps` still works and
# carries X-Dockmux-Warning, and `docker ps -a` lists the container on c
# as "backend c is down"; probes back off (failures grow slower than
# one per 2 s, "backend down" logged once).  Engine c restarts in the same
# directory: c is up again and the container reachable within ~35 s.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

rig_engine_start c
tag=health-$$
sock=$T_TMP/health.sock
cfg=$T_TMP/health.json
log=$RIG_DIR/$tag.log
rig_write_config_for "$cfg" "$sock" "$T_TMP/health.db" \
    "a=$ENGINE_A_SOCK" "c=$ENGINE_C_SOCK"
rig_dockmuxd_start "$cfg" "$tag"
DMX() { "$BUILD/dockmux" -H "unix://$sock" "$@"; }
D() { docker -H "unix://$sock" "$@"; }
n=$T_PREFIX-on-c
cleanup_mine() {
	timeout 30 docker -H "unix://$sock" rm -f "$n" >/dev/null 2>&1 || true
	rig_engine_purge c
}
trap 'rc=$?; set +e; cleanup_mine; (exit $rc); t_cleanup' EXIT

# state of c as "state failures error" from /_dockmux/backends
c_health() {
	DMX backends --json | python3 -c '
import json, sys
c = [b for b in json.load(sys.stdin) if b["name"] == "c"][0]
print(c["state"], c["failures"], c["error"] or "-")'
}
c_state() { c_health | cut -d' ' -f1; }
c_is() { [ "$(c_state)" = "$1" ]; }

t_expect_eq "c before the stop" up "$(c_state)"
D run -d --name "$n" --label io.dockmux.backend=c \
    busybox sleep 600 >/dev/null || t_fail "run on c"
docker -H "unix://$ENGINE_C_SOCK" inspect "$n" >/dev/null ||
    t_fail "$n is not on engine c"

# ---- engine c stops (SIGTERM by its pid file) -----------------------------
cdir=$(rig_engine_dir c)
cpid=$(cat "$cdir/pid")
kill -TERM "$cpid"
rig_wait_gone "$cpid" 30 || t_fail "engine c (pid $cpid) did not stop"
# Stopped by hand: not twice by the cleanup.
# shellcheck disable=SC2086
RIG_MY_ENGINES=$(rig_list_without c $RIG_MY_ENGINES)
t0=$(rig_now_ms)
t_wait_for 5 c_is down || t_fail "c not down 5 s after engine c stopped: $(c_health)"
t_down=$(rig_now_ms)
echo "c down after $((t_down - t0)) ms: $(c_health)"
read -r _ failures err <<<"$(c_health)"
[ "$err" != "-" ] || t_fail "c is down without an error"
DMX backends | grep -qE '^c +unix://.* down ' ||
    t_fail "dockmux backends (table) does not show c down"
DMX backends | grep -q '^c: ' || t_fail "dockmux backends: no error line for c"

# Exec in the container on c: 503 naming c, without waiting on the engine.
s=$(rig_now_ms)
rc=0
out=$(D exec "$n" true 2>&1) || rc=$?
ms=$(( $(rig_now_ms) - s ))
echo "docker exec on down c: exit $rc in $ms ms: $out"
[ "$rc" -ne 0 ] || t_fail "docker exec on a down backend succeeded"
grep -q 'backend c is down' <<<"$out" ||
    t_fail "docker exec: error does not say 'backend c is down': $out"
[ "$ms" -lt 2000 ] || t_fail "docker exec took $ms ms to fail (>= 2000)"
s=$(rig_now_ms)
code=$(curl -sS -m 10 -o "$T_TMP/exec.json" -w '%{http_code}' \
    --unix-socket "$sock" -X POST -H 'Content-Type: application/json' \
    -d '{"Cmd":["true"]}' "http://dmx/v1.41/containers/$n/exec")
ms=$(( $(rig_now_ms) - s ))
t_expect_eq "POST /containers/$n/exec on down c: status" 503 "$code"
grep -q 'backend c is down' "$T_TMP/exec.json" ||
    t_fail "503 body does not name c: $(cat "$T_TMP/exec.json")"
[ "$ms" -lt 2000 ] || t_fail "POST exec took $ms ms to answer 503"

# Fan-outs skip c and say so; `docker ps -a` still shows c's container,
# from the store, said down.
out=$(D ps -a --filter "label=io.dockmux.backend=c" \
    --format '{{.Names}}|{{.State}}|{{.Status}}' 2>&1) ||
    t_fail "docker ps -a --filter label=io.dockmux.backend=c: $out"
# (c may hold other tests' leftovers, adopted at start: look for $n.)
grep -qx "$n|unknown|backend c is down" <<<"$out" ||
    t_fail "docker ps -a of c alone, c down: no '$n|unknown|...': $out"
out=$(D ps -a --format '{{.Names}}|{{.State}}|{{.Status}}' 2>&1) ||
    t_fail "docker ps -a with c down: $out"
grep -qx "$n|unknown|backend c is down" <<<"$out" ||
    t_fail "docker ps -a with c down does not show $n down: $out"
out=$(D ps --format '{{.Names}}' 2>&1) || t_fail "docker ps with c down: $out"
grep -qx "$n" <<<"$out" && t_fail "docker ps (no -a) shows $n of down c"
hdr=$(curl -sS -m 10 -D - -o /dev/null --unix-socket "$sock" \
    "http://dmx/v1.41/containers/json?all=1")
grep -qi '^X-Dockmux-Warning:' <<<"$hdr" ||
    t_fail "GET /containers/json with c down: no X-Dockmux-Warning: $hdr"
grep -i '^X-Dockmux-Warning:' <<<"$hdr"

# Replicated and every-holder operations go on with the live backend; the
# down one is skipped and said, not a failure.
D tag busybox "$T_PREFIX-tag:1" || t_fail "docker tag with c down"
D rmi "$T_PREFIX-tag:1" >/dev/null || t_fail "docker rmi with c down"
D network create "$T_PREFIX-net" >/dev/null ||
    t_fail "docker network create with c down"
D network rm "$T_PREFIX-net" >/dev/null || t_fail "docker network rm with c down"
[ -z "$(docker -H "unix://$ENGINE_A_SOCK" network ls -q \
    --filter "name=^$T_PREFIX-net\$")" ] ||
    t_fail "network still on engine a after rm with c down"

# Backoff: probes of a down backend at +2, +4, +8... s, not every 2 s.
# ~10 s after c was seen down that is 3 failures (4 at most); a 2 s
# period would have counted 5 or more.
sleep_until() { local w=$(( $1 - $(rig_now_ms) )); [ "$w" -le 0 ] || sleep "$(printf '%d.%03d' $((w / 1000)) $((w % 1000)))"; }
sleep_until $((t_down + 10000))
read -r state failures err <<<"$(c_health)"
echo "10 s after down: $state failures=$failures"
t_expect_eq "c 10 s after down" down "$state"
[ "$failures" -ge 2 ] && [ "$failures" -le 4 ] ||
    t_fail "failures=$failures 10 s after down: expected 2..4 (backoff)"
t_expect_eq "'backend down' lines for c in the log" 1 \
    "$(grep -c 'msg="backend down" backend=c ' "$log")"

# ---- engine c comes back (same directory) ---------------------------------
rig_engine_start c
t1=$(rig_now_ms)
t_wait_for 35 c_is up || t_fail "c not up 35 s after engine c restarted: $(c_health)"
echo "c up again after $(( $(rig_now_ms) - t1 )) ms: $(c_health)"
read -r state failures err <<<"$(c_health)"
t_expect_eq "error once c is up" - "$err"
grep -q 'msg="backend up" backend=c ' "$log" || t_fail "no 'backend up' log line"
# The engine stopped the container with itself; start it again through
# dockmuxd (the route to c held while c was down).
D inspect "$n" >/dev/null || t_fail "inspect $n after c came back"
D start "$n" >/dev/null || t_fail "docker start $n after c came back"
D exec "$n" true || t_fail "docker exec in $n after c came back"
D ps --format '{{.Names}}' | grep -qx "$n" || t_fail "docker ps: no $n"
hdr=$(curl -sS -m 10 -D - -o /dev/null --unix-socket "$sock" \
    "http://dmx/v1.41/containers/json")
! grep -qi '^X-Dockmux-Warning:' <<<"$hdr" ||
    t_fail "X-Dockmux-Warning after c came back: $hdr"
echo "ok"
