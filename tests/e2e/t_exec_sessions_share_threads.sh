#!/bin/bash
# 100 interactive exec sessions through dockmuxd at once (what `docker
# exec -i` and a foreground `docker run` hold open) hold no thread each:
# the relays wait in the stream loop.  Each session echoes its own line;
# a 32 MB stdin comes back whole while the client reads and writes at
# once (the relay's backpressure both ways; a relay that blocked sending
# to the engine while the engine's output backed up deadlocked here now
# and then); a client's half-close reaches the process, whose end ends
# the session.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

pid=$(cat "$RIG_DIR/dockmuxd.pid")
c=$(t_name sessions)
timeout 30 docker run -d --name "$c" busybox sleep 600 >/dev/null

PYTHONPATH="$(dirname "$0")" python3 - "$DOCKMUX_SOCK" "$c" "$pid" \
    >"$T_TMP/out" 2>&1 <<'PY' ||
import hashlib, json, os, socket, struct, sys, threading, time
from e2e_proc import fail, threads

sock, name, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
N = 100

def request(method, path, body):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(sock)
    data = json.dumps(body).encode()
    s.sendall((f"{method} {path} HTTP/1.1\r\nHost: docker\r\n"
               "Content-Type: application/json\r\n"
               f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
               ).encode() + data)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    head, _, rest = out.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 201"):
        fail(f"{method} {path}: {out[:200]!r}")
    return json.loads(rest)

def session(cmd):
    """An exec of cmd with stdin, started and upgraded: the raw socket."""
    eid = request("POST", f"/containers/{name}/exec",
                  {"AttachStdin": True, "AttachStdout": True,
                   "AttachStderr": True, "Cmd": cmd})["Id"]
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(sock)
    body = b'{"Detach":false,"Tty":false}'
    s.sendall((f"POST /exec/{eid}/start HTTP/1.1\r\nHost: docker\r\n"
               "Content-Type: application/json\r\nConnection: Upgrade\r\n"
               f"Upgrade: tcp\r\nContent-Length: {len(body)}\r\n\r\n"
               ).encode() + body)
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(1)
        if not b:
            fail(f"exec start: closed after {head!r}")
        head += b
    if not head.startswith(b"HTTP/1.1 101"):
        fail(f"exec start: {head!r}")
    return s

class Frames:
    """stdout of a multiplexed (Tty false) stream, frame by frame."""
    def __init__(self, s):
        self.s, self.buf, self.at = s, bytearray(), 0
    def more(self):
        b = self.s.recv(262144)
        if not b:
            return False
        if self.at > 0:
            del self.buf[:self.at]
            self.at = 0
        self.buf += b
        return True
    def stdout_until(self, want_len):
        out = bytearray()
        while len(out) < want_len:
            while len(self.buf) - self.at >= 8:
                kind = self.buf[self.at]
                size = struct.unpack_from(">I", self.buf, self.at + 4)[0]
                if len(self.buf) - self.at < 8 + size:
                    break
                if kind == 1:
                    out += self.buf[self.at + 8:self.at + 8 + size]
                self.at += 8 + size
            if len(out) >= want_len:
                break
            if not self.more():
                fail(f"stream ended after {len(out)} of {want_len} bytes")
        return bytes(out)
    def ends(self):
        while self.more():
            pass

before = threads(pid)
sessions = [session(["cat"]) for _ in range(N)]
during = threads(pid)
print(f"threads before={before} with {N} sessions={during}")
# A thread per session would be +N; workers that served the starts may
# linger.
if during - before >= N // 2:
    fail(f"{during - before} more threads for {N} sessions")
readers = [Frames(s) for s in sessions]
for i, s in enumerate(sessions):
    s.sendall(f"line {i}\n".encode())
for i, r in enumerate(readers):
    got = r.stdout_until(len(f"line {i}\n"))
    if got != f"line {i}\n".encode():
        fail(f"session {i} echoed {got!r}")

# Half-close: cat sees EOF and exits; the engine's end ends each session.
for s in sessions:
    s.shutdown(socket.SHUT_WR)
t0 = time.time()
for r in readers:
    r.ends()
for s in sessions:
    s.close()
print(f"{N} sessions ended {time.time() - t0:.1f} s after stdin closed")

# 32 MB both ways at once through one session.
data = os.urandom(32 * 1024 * 1024)
s = session(["cat"])
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
w = threading.Thread(target=send)
t0 = time.time()
w.start()
got = Frames(s).stdout_until(len(data))
w.join()
s.close()
if hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
    fail(f"32 MB echo differs ({len(got)} bytes back)")
print(f"32 MB echoed in {time.time() - t0:.1f} s")
print("ok")
PY
    t_fail "$(cat "$T_TMP/out")"
cat "$T_TMP/out"
t_expect_eq "docker ps through dockmuxd" "$c" \
    "$(timeout 30 docker ps --filter "name=^/$c\$" --format '{{.Names}}')"
