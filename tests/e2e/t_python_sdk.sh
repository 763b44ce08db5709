#!/bin/bash
# The Docker SDK for Python (Debian's python3-docker, a real API client)
# works against dockmuxd: ping, version, containers.run(..., remove=True)
# returns the output, containers.list shows running containers of both
# engines, images.list, logs(stream=True) of a container on b streams its
# lines, exec_run on it returns exit code and output, stop/remove.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/lib_registry.sh
. "$(dirname "$0")/lib_registry.sh"
t_init
t_needs_dockmuxd
# shellcheck disable=SC2317 # run by the EXIT trap
sdk_cleanup() {
	local rc=$?
	set +e
	t_rm_mine
	(exit "$rc")
	t_cleanup
}
trap sdk_cleanup EXIT

# /usr/bin/python3: the python3 first on PATH may be a pyenv one without
# the docker module.
PY=/usr/bin/python3
"$PY" -c 'import docker' 2>/dev/null ||
    t_fail "$PY has no docker module (apt-get install python3-docker)"

ca=$(t_name sdk-a)
cb=$(t_name sdk-b)
cr=$(t_name sdk-rm)

out=$(timeout 120 "$PY" - "unix://$DOCKMUX_SOCK" "$ca" "$cb" "$cr" <<'PY' 2>&1
import sys, time
import docker

url, ca, cb, cr = sys.argv[1:5]
cl = docker.DockerClient(base_url=url, timeout=60)

def check(what, cond, detail=""):
    if not cond:
        print("FAIL:", what, detail)
        sys.exit(1)
    print("ok:", what)

check("ping", cl.ping() is True)
v = cl.version()
check("version has ApiVersion", bool(v.get("ApiVersion")), v)

out = cl.containers.run("busybox", "echo sdk", remove=True, name=cr)
check("containers.run output", out == b"sdk\n", repr(out))
names = [c.name for c in cl.containers.list(all=True)]
check("remove=True left nothing", cr not in names, names)

a = cl.containers.run("busybox", ["sh", "-c", "echo a-ready; sleep 300"],
                      detach=True, name=ca)
b = cl.containers.run("busybox",
                      ["sh", "-c", "for i in 1 2 3; do echo line-$i; sleep 0.3; done; sleep 300"],
                      detach=True, name=cb, labels={"io.dockmux.backend": "b"})

running = {c.name: c for c in cl.containers.list()}
check("containers.list has both", ca in running and cb in running, list(running))
# containers.list() re-inspects each container; the merged list's own
# entries (low-level API) carry the backend label.
raw = {e["Names"][0].lstrip("/"): e for e in cl.api.containers()}
check("backend label of a's container in the list",
      raw[ca]["Labels"].get("io.dockmux.backend") == "a", raw[ca]["Labels"])
check("backend label of b's container in the list",
      raw[cb]["Labels"].get("io.dockmux.backend") == "b", raw[cb]["Labels"])
only_b = [c.name for c in cl.containers.list(filters={"label": "io.dockmux.backend=b"})]
check("list filtered to backend b", cb in only_b and ca not in only_b, only_b)

tags = [t for i in cl.images.list() for t in i.tags]
check("images.list has busybox:latest", "busybox:latest" in tags, tags)
check("images.get busybox", cl.images.get("busybox").id.startswith("sha256:"))

got = b""
deadline = time.time() + 30
for chunk in b.logs(stream=True, follow=True):
    got += chunk
    if b"line-3" in got or time.time() > deadline:
        break
check("logs(stream=True) of b's container", got.startswith(b"line-1\nline-2\nline-3"), repr(got))

r = b.exec_run(["sh", "-c", "echo exec-out; exit 4"])
check("exec_run exit code", r.exit_code == 4, r)
check("exec_run output", r.output == b"exec-out\n", repr(r.output))
r = a.exec_run("hostname")
check("exec_run on a's container", r.exit_code == 0 and
      r.output.decode().strip() == a.id[:12], repr(r))

b.reload()
check("reload: running", b.status == "running", b.status)
b.stop(timeout=1)
b.reload()
check("stopped", b.status == "exited", b.status)
b.remove()
a.remove(force=True)
names = [c.name for c in cl.containers.list(all=True)]
check("removed", ca not in names and cb not in names, names)
cl.close()
PY
) || t_fail "python SDK: $out"
printf '%s\n' "$out"
docker -H "unix://$ENGINE_B_SOCK" inspect "$cb" >/dev/null 2>&1 &&
    t_fail "$cb still on engine b after remove()"

# A pull no engine can even start (nothing listens on that registry)
# raises in the SDK with the engine's status, direct and through dockmuxd.
pull_fails() {
	timeout 120 "$PY" - "$1" <<'PY' 2>&1
import sys
import docker

cl = docker.DockerClient(base_url=sys.argv[1], timeout=60)
try:
    cl.images.pull("127.0.0.1:9/e2e/nosuch", tag="1")
except docker.errors.APIError as e:
    print("raised", e.status_code)
else:
    print("no error")
PY
}
direct=$(pull_fails "unix://$ENGINE_A_SOCK")
case $direct in
"raised "*) ;;
*) t_fail "SDK pull from a dead registry, engine a direct: $direct" ;;
esac
t_expect_eq "SDK pull from a dead registry through dockmuxd" "$direct" \
    "$(pull_fails "unix://$DOCKMUX_SOCK")"
exit 0
