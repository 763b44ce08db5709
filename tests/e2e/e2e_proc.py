"""What the e2e tests' Python clients share: a process's thread count,
and failing with a message."""
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
