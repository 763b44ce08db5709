#!/bin/bash
# 200 logs -f streams through dockmuxd at once hold no thread each: they
# wait in one event loop.  Every stream keeps getting lines; streams whose
# clients leave end at the engine too; dockmuxd keeps answering.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

pid=$(cat "$RIG_DIR/dockmuxd.pid")
c=$(t_name ticks)
timeout 30 docker run -d --name "$c" busybox \
    sh -c 'i=0; while :; do i=$((i+1)); echo tick$i; sleep 0.5; done' \
    >/dev/null

PYTHONPATH="$(dirname "$0")" python3 - "$DOCKMUX_SOCK" "$c" "$pid" \
    >"$T_TMP/out" 2>&1 <<'PY' ||
import socket, sys, time
from e2e_proc import fail, ping, threads

sock, name, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
N = 200

def open_stream():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(sock)
    s.sendall((f"GET /containers/{name}/logs?follow=1&stdout=1&tail=0 "
               "HTTP/1.1\r\nHost: docker\r\n\r\n").encode())
    return s

def wait_tick(s, what):
    buf = b""
    deadline = time.time() + 15
    while b"tick" not in buf:
        if time.time() > deadline:
            fail(f"{what}: no line within 15 s: {buf[:200]!r}")
        b = s.recv(4096)
        if not b:
            fail(f"{what}: stream ended: {buf[:200]!r}")
        buf += b
    return buf

before = threads(pid)
streams = [open_stream() for _ in range(N)]
for i, s in enumerate(streams):
    head = wait_tick(s, f"stream {i}")
    if not head.startswith(b"HTTP/1.1 200"):
        fail(f"stream {i}: {head[:120]!r}")
during = threads(pid)
print(f"threads before={before} with {N} streams={during}")
# Thread per stream would be +N; workers that served the heads may linger.
if during - before >= N // 2:
    fail(f"{during - before} more threads for {N} streams")

# Half the clients leave; the rest keep streaming, and dockmuxd answers.
for s in streams[: N // 2]:
    s.close()
for i, s in enumerate(streams[N // 2:]):
    wait_tick(s, f"kept stream {i}")
ping(sock, "after closing half the streams")
for s in streams[N // 2:]:
    s.close()
print("ok")
PY
    t_fail "$(cat "$T_TMP/out")"
cat "$T_TMP/out"

# The engine ends the follows whose clients left: none stays open there.
eng_streams() {
	n=$(ss -x 2>/dev/null | grep -c "$ENGINE_A_SOCK\|$ENGINE_B_SOCK" || true)
	[ "$n" -lt 40 ]
}
t_wait_for 15 eng_streams ||
    t_fail "engine connections still open after the clients left: $(ss -x | grep -c "$ENGINE_A_SOCK\|$ENGINE_B_SOCK")"
t_expect_eq "docker ps through dockmuxd" "$c" \
    "$(timeout 30 docker ps --filter "name=^/$c\$" --format '{{.Names}}')"
