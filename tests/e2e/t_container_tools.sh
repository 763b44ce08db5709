#!/bin/bash
# The everyday per-container tools on a container pinned to b all reach
# engine b through dockmuxd: cp both ways, export, top, diff, commit (the
# image lands on b), update, rename, wait (exit code 3), wait with
# condition=next-exit over the API, pause/unpause, restart, kill -s USR1,
# and attach with --detach-keys (driven through a pty): the echo comes
# back, ctrl-a detaches, the container keeps running.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/lib_registry.sh
. "$(dirname "$0")/lib_registry.sh"
t_init
t_needs_dockmuxd

B=(docker -H "unix://$ENGINE_B_SOCK")
PIN=(--label io.dockmux.backend=b)
IMG=$T_PREFIX-commit:1
WAIT_PID=""

tools_cleanup() {
	local rc=$?
	set +e
	t_rm_mine
	[ -n "$WAIT_PID" ] && kill "$WAIT_PID" 2>/dev/null
	"${B[@]}" rmi -f "$IMG" >/dev/null 2>&1
	docker -H "unix://$ENGINE_A_SOCK" rmi -f "$IMG" >/dev/null 2>&1
	(exit "$rc")
	t_cleanup
}
trap tools_cleanup EXIT

on_b() { "${B[@]}" inspect "$1" >/dev/null 2>&1; }

c=$(t_name tools)
# sh as PID 1 with a USR1 trap; the sleep is short so the trap runs soon.
timeout 60 docker run -d --name "$c" "${PIN[@]}" busybox \
    sh -c 'trap "echo got-usr1" USR1; while true; do sleep 0.2; done' \
    >/dev/null || t_fail "docker run -d $c"
on_b "$c" || t_fail "$c is not on engine b"

# ---- cp both ways -----------------------------------------------------------

echo "payload-$$-$RANDOM" >"$T_TMP/in.txt"
out=$(docker cp "$T_TMP/in.txt" "$c:/tmp/in.txt" 2>&1) ||
    t_fail "docker cp host->container: $out"
t_expect_eq "file copied in, read on engine b" "$(cat "$T_TMP/in.txt")" \
    "$("${B[@]}" exec "$c" cat /tmp/in.txt)"
out=$(docker cp "$c:/tmp/in.txt" "$T_TMP/back.txt" 2>&1) ||
    t_fail "docker cp container->host: $out"
cmp -s "$T_TMP/in.txt" "$T_TMP/back.txt" ||
    t_fail "docker cp round trip changed the file: '$(cat "$T_TMP/back.txt")'"

# ---- export, top, diff ------------------------------------------------------

docker export "$c" >"$T_TMP/export.tar" || t_fail "docker export $c"
members=$(tar -tf "$T_TMP/export.tar") || t_fail "docker export: not a tar"
grep -qx 'bin/busybox\|./bin/busybox' <<<"$members" ||
    t_fail "docker export: no bin/busybox in: $(head -n 5 <<<"$members")"

out=$(docker top "$c" 2>&1) || t_fail "docker top: $out"
grep -q 'got-usr1' <<<"$out" || t_fail "docker top does not show the sh loop: $out"

out=$(docker diff "$c" 2>&1) || t_fail "docker diff: $out"
grep -qx 'A /tmp/in.txt' <<<"$out" || t_fail "docker diff lacks 'A /tmp/in.txt': $out"

# ---- commit: the image is made on b ------------------------------------------

out=$(docker commit "$c" "$IMG" 2>&1) || t_fail "docker commit: $out"
"${B[@]}" image inspect "$IMG" >/dev/null 2>&1 ||
    t_fail "committed image $IMG is not on engine b"
docker -H "unix://$ENGINE_A_SOCK" image inspect "$IMG" >/dev/null 2>&1 &&
    t_fail "committed image $IMG is on engine a too"
t_expect_eq "committed image inspected through dockmuxd" "$("${B[@]}" image inspect -f '{{.Id}}' "$IMG")" \
    "$(docker image inspect -f '{{.Id}}' "$IMG")"

# ---- update -------------------------------------------------------------------

out=$(docker update --cpu-shares 512 --memory 64m --memory-swap 128m "$c" 2>&1) ||
    t_fail "docker update: $out"
t_expect_eq "CpuShares on b after update" 512 \
    "$("${B[@]}" inspect -f '{{.HostConfig.CpuShares}}' "$c")"
t_expect_eq "Memory on b after update" 67108864 \
    "$("${B[@]}" inspect -f '{{.HostConfig.Memory}}' "$c")"
t_expect_eq "Memory through dockmuxd after update" 67108864 \
    "$(docker inspect -f '{{.HostConfig.Memory}}' "$c")"

# ---- rename -------------------------------------------------------------------
# (Before restart: dockerd 20.10 with --bridge=none fails a rename after a
# restart with "sandbox ... not found", engine directly too.)

c2=$(t_name tools-renamed)
docker rename "$c" "$c2" || t_fail "docker rename $c $c2"
t_expect_eq "name on b after rename" "/$c2" "$("${B[@]}" inspect -f '{{.Name}}' "$c2")"
t_expect_eq "new name through dockmuxd" "/$c2" "$(docker inspect -f '{{.Name}}' "$c2")"
docker container inspect "$c" >/dev/null 2>&1 &&
    t_fail "the old name $c still resolves after rename"
c=$c2

# ---- kill -s USR1: the trap prints ---------------------------------------------

out=$(docker kill -s USR1 "$c" 2>&1) || t_fail "docker kill -s USR1: $out"
got_usr1() { docker logs "$c" 2>&1 | grep -q got-usr1; }
t_wait_for 10 got_usr1 || t_fail "no got-usr1 in the logs after kill -s USR1: $(docker logs "$c" 2>&1)"
t_expect_eq "running after USR1" true "$(docker inspect -f '{{.State.Running}}' "$c")"

# ---- pause / unpause ------------------------------------------------------------

docker pause "$c" >/dev/null || t_fail "docker pause"
t_expect_eq "State.Paused on b after pause" true \
    "$("${B[@]}" inspect -f '{{.State.Paused}}' "$c")"
docker unpause "$c" >/dev/null || t_fail "docker unpause"
t_expect_eq "State.Paused after unpause" false \
    "$(docker inspect -f '{{.State.Paused}}' "$c")"

# ---- restart ------------------------------------------------------------------

s1=$(docker inspect -f '{{.State.StartedAt}}' "$c")
timeout 60 docker restart -t 1 "$c" >/dev/null || t_fail "docker restart"
s2=$("${B[@]}" inspect -f '{{.State.StartedAt}}' "$c")
[ "$s1" != "$s2" ] || t_fail "StartedAt unchanged by restart: $s1"
t_expect_eq "running after restart" true "$(docker inspect -f '{{.State.Running}}' "$c")"

# ---- wait -------------------------------------------------------------------

w=$(t_name exit3)
timeout 60 docker run -d --name "$w" "${PIN[@]}" busybox sh -c 'sleep 1; exit 3' \
    >/dev/null || t_fail "docker run $w"
on_b "$w" || t_fail "$w is not on engine b"
out=$(timeout 30 docker wait "$w" 2>&1) || t_fail "docker wait $w: $out"
t_expect_eq "docker wait of a container exiting 3" 3 "$out"

# condition=next-exit over the API returns only when the container stops.
n=$(t_name next-exit)
timeout 60 docker run -d --name "$n" "${PIN[@]}" busybox sleep 300 >/dev/null ||
    t_fail "docker run $n"
curl -sS -m 60 --unix-socket "$DOCKMUX_SOCK" -X POST \
    "http://dockmux/v1.41/containers/$n/wait?condition=next-exit" \
    >"$T_TMP/wait.json" 2>&1 &
WAIT_PID=$!
sleep 1
kill -0 "$WAIT_PID" 2>/dev/null ||
    t_fail "wait?condition=next-exit returned before the container stopped: $(cat "$T_TMP/wait.json")"
timeout 30 docker kill "$n" >/dev/null || t_fail "docker kill $n"
rc=0
wait "$WAIT_PID" || rc=$?
WAIT_PID=""
t_expect_eq "curl wait?condition=next-exit exit status" 0 "$rc"
t_expect_eq "wait?condition=next-exit StatusCode" 137 \
    "$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["StatusCode"])' "$T_TMP/wait.json")"

# ---- attach with detach keys, through a pty ---------------------------------------

at=$(t_name attach)
timeout 60 docker run -dit --name "$at" "${PIN[@]}" busybox sh >/dev/null ||
    t_fail "docker run -dit $at"
on_b "$at" || t_fail "$at is not on engine b"
cat >"$T_TMP/attach.py" <<'PY'
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp("docker", ["docker", "attach", "--detach-keys=ctrl-a", sys.argv[1]])
buf = b""
def read_until(pat, secs):
    global buf
    end = time.time() + secs
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        try:
            d = os.read(fd, 4096)
        except OSError:
            return False
        if not d:
            return False
        buf += d
        if pat in buf:
            return True
    return False
time.sleep(1)
# The shell computes 42: the output, not the tty echo, proves the round trip.
os.write(fd, b"echo attached-$((40+2))\r")
echoed = read_until(b"attached-42", 15)
os.write(fd, b"\x01")
read_until(b"\x00(eof)", 10)
# The pty reports EOF as the CLI closes it, a moment before it can be reaped.
wp = 0
end = time.time() + 10
while wp == 0 and time.time() < end:
    wp, st = os.waitpid(pid, os.WNOHANG)
    if wp == 0:
        time.sleep(0.1)
if wp == 0:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
print("echoed=%s exited=%s" % (echoed, wp != 0))
sys.stderr.write(repr(buf[-400:]) + "\n")
PY
out=$(timeout 60 /usr/bin/python3 "$T_TMP/attach.py" "$at" 2>"$T_TMP/attach.err") ||
    t_fail "attach driver failed: $(cat "$T_TMP/attach.err")"
[ "$out" = "echoed=True exited=True" ] ||
    t_fail "attach: want 'echoed=True exited=True' (output came back, ctrl-a detached), got '$out'; the pty saw: $(cat "$T_TMP/attach.err")"
grep -q 'read escape sequence' "$T_TMP/attach.err" ||
    t_fail "attach did not end by the detach keys: $(cat "$T_TMP/attach.err")"
t_expect_eq "container running after detach (engine b)" true \
    "$("${B[@]}" inspect -f '{{.State.Running}}' "$at")"
