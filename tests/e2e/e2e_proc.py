"""What the e2e tests' Python clients share: a process's thread count,
dockmuxd still answering, and failing with a message."""
import socket
import sys


def threads(pid):
    """The Threads: line of /proc/PID/status."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise RuntimeError(f"no Threads: line for pid {pid}")


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def ping(sock, what):
    """GET /_ping on the Unix socket sock answers 200, or fail(what)."""
    p = socket.socket(socket.AF_UNIX)
    p.settimeout(10)
    p.connect(sock)
    p.sendall(b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n")
    if not p.recv(4096).startswith(b"HTTP/1.1 200"):
        fail(f"/_ping {what}")
    p.close()
