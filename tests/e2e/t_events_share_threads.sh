#!/bin/bash
# 50 `GET /events` clients through dockmuxd at once hold no thread each:
# they wait in one event loop, on one epoll fd per client for all the
# engines (the reader-thread design cost 1 worker + 1 reader per backend
# each).  Every client still gets the start event of a container on a and
# of one on b, each tagged with its backend; clients that leave end their
# streams at both engines too; dockmuxd keeps answering.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

pid=$(cat "$RIG_DIR/dockmuxd.pid")
ca=$(t_name on-a)
cb=$(t_name on-b)

# Engine-side connections: ss lists the engines' ends by socket path.
eng_conns() {
	ss -x 2>/dev/null | grep -c "$ENGINE_A_SOCK\|$ENGINE_B_SOCK" || true
}
conns_before=$(eng_conns)

PYTHONPATH="$(dirname "$0")" python3 - "$DOCKMUX_SOCK" "$pid" "$ca" "$cb" \
    "$T_TMP/go" "$T_TMP/ready" >"$T_TMP/out" 2>&1 <<'PY' &
import json, os, socket, sys, time, urllib.parse
from e2e_proc import fail, ping, threads

sock, pid, ca, cb, go, ready = sys.argv[1:7]
pid = int(pid)
N = 50
FILTERS = urllib.parse.quote(json.dumps({"type": ["container"],
                                         "event": ["start"]}))

class Stream:
    """One GET /events client: the head, then chunked JSON lines."""
    def __init__(self, i):
        self.i = i
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(30)
        self.s.connect(sock)
        self.s.sendall((f"GET /events?filters={FILTERS} HTTP/1.1\r\n"
                        "Host: docker\r\n\r\n").encode())
        self.raw = b""
        self.body = b""
        self.head = None

    def more(self):
        b = self.s.recv(65536)
        if not b:
            fail(f"stream {self.i} ended: {self.raw[:200]!r}")
        self.raw += b
        if self.head is None:
            if b"\r\n\r\n" not in self.raw:
                return
            self.head, self.raw = self.raw.split(b"\r\n\r\n", 1)
            if not self.head.startswith(b"HTTP/1.1 200"):
                fail(f"stream {self.i}: {self.head[:120]!r}")
        while b"\r\n" in self.raw:
            size, rest = self.raw.split(b"\r\n", 1)
            n = int(size.split(b";")[0], 16)
            if len(rest) < n + 2:
                break
            self.body += rest[:n]
            self.raw = rest[n + 2:]

    def tag_of_start(self, name):
        for line in self.body.splitlines():
            e = json.loads(line)
            a = e.get("Actor", {}).get("Attributes", {})
            if e.get("Action") == "start" and a.get("name") == name:
                return a.get("io.dockmux.backend", "(untagged)")
        return None

before = threads(pid)
streams = [Stream(i) for i in range(N)]
# Every client has its 200 before the containers start.
deadline = time.time() + 20
for st in streams:
    while st.head is None:
        if time.time() > deadline:
            fail(f"stream {st.i}: no head within 20 s")
        st.more()
during = threads(pid)
print(f"threads before={before} with {N} events clients={during}")
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.1)

deadline = time.time() + 30
for st in streams:
    while st.tag_of_start(ca) is None or st.tag_of_start(cb) is None:
        if time.time() > deadline:
            fail(f"stream {st.i}: start events of {ca} and {cb} not both "
                 f"within 30 s: {st.body[:300]!r}")
        st.more()
    if (st.tag_of_start(ca), st.tag_of_start(cb)) != ("a", "b"):
        fail(f"stream {st.i}: start events tagged {st.tag_of_start(ca)} "
             f"and {st.tag_of_start(cb)}, expected a and b")
after = threads(pid)
print(f"threads after the events={after}")
# A thread per client would be +N at least; workers that served the
# 200s may linger a while.
if during - before >= N // 2:
    fail(f"{during - before} more threads for {N} events clients")

for st in streams:
    st.s.close()
ping(sock, "after the events clients left")
print("ok")
PY
py=$!

ready_or_gone() { [ -e "$T_TMP/ready" ] || ! kill -0 "$py" 2>/dev/null; }
t_wait_for 60 ready_or_gone
if [ ! -e "$T_TMP/ready" ]; then
	kill "$py" 2>/dev/null || true
	wait "$py" || true
	t_fail "events clients not ready: $(cat "$T_TMP/out")"
fi
conns_during=$(eng_conns)
echo "engine connections before=$conns_before with 50 events clients=$conns_during"
[ $((conns_during - conns_before)) -ge 50 ] ||
    t_fail "only $((conns_during - conns_before)) more engine connections for 50 events clients"

timeout 60 docker run --name "$ca" busybox true || t_fail "docker run $ca"
timeout 60 docker run --name "$cb" --label io.dockmux.backend=b busybox true ||
    t_fail "docker run $cb"
touch "$T_TMP/go"
rc=0
wait "$py" || rc=$?
[ "$rc" -eq 0 ] || t_fail "$(cat "$T_TMP/out")"
cat "$T_TMP/out"

# The engines end the streams whose clients left: none stays open there.
eng_streams_gone() {
	[ "$(eng_conns)" -le $((conns_before + 10)) ]
}
t_wait_for 15 eng_streams_gone ||
    t_fail "engine connections still open after the clients left: before=$conns_before now=$(eng_conns)"
echo "engine connections after the clients left=$(eng_conns)"
