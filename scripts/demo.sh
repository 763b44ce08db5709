#!/bin/bash
# demo.sh: two private dockerd engines ("a" and "b") behind one dockmuxd.
# Shows the docker CLI reaching both through one socket, then waits for
# Ctrl-C (or SIGTERM) and stops everything it started.
#   make demo                      (builds, then BUILD=build sh scripts/demo.sh)
#   DEMO_NONINTERACTIVE=1 ...      exit after the showcase (for tests)
# Needs root (it starts dockerd).  `sh demo.sh` re-executes with bash.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
: "${BUILD:=build}"
case $BUILD in
/*) ;;
*) BUILD=$repo/$BUILD ;;
esac
export BUILD

# shellcheck source=tests/e2e/lib.sh
. "$repo/tests/e2e/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (it starts two private dockerd engines)" >&2
	exit 1
fi
[ -x "$BUILD/dockmuxd" ] || { echo "demo: $BUILD/dockmuxd not built (make)" >&2; exit 1; }

if [ -t 1 ]; then
	say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
	say() { printf '\n==> %s\n' "$*"; }
fi
run() {
	printf '$ %s\n' "$*"
	"$@" || echo "(exit status $?)"
}

rig_init
say "starting two private dockerd engines and dockmuxd in $RIG_DIR"
rig_engine_start a
rig_engine_start b
# Engine b plays the VM-isolated engine: containers labelled
# io.dockmux.isolation=vm go there.
cat >"$RIG_DIR/dockmux.json" <<EOF
{
  "listen": "unix://$RIG_DIR/dockmux.sock",
  "store": "$RIG_DIR/dockmux.db",
  "backends": [
    { "name": "a", "endpoint": "unix://$(rig_engine_sock a)" },
    { "name": "b", "endpoint": "unix://$(rig_engine_sock b)",
      "isolation": ["vm"] }
  ]
}
EOF
rig_dockmuxd_start "$RIG_DIR/dockmux.json"
export DOCKER_HOST=unix://$DOCKMUX_SOCK
unset DOCKER_CONTEXT

say "the configuration ($RIG_DIR/dockmux.json)"
cat "$RIG_DIR/dockmux.json"

say "one socket: DOCKER_HOST=$DOCKER_HOST"
run docker version
say "docker info through dockmuxd (backends and their health)"
run docker info

say "a container through dockmuxd"
run docker run --rm busybox echo hello from dockmux

say "routing: each docker run goes to the engine its labels ask for"
run docker run -d --name demo-on-a busybox sleep 3600
run docker run -d --name demo-on-b --label io.dockmux.isolation=vm \
    busybox sleep 3600
run docker run -d --name demo-pinned --label io.dockmux.backend=b \
    busybox sleep 3600

say "one docker ps over both engines (label io.dockmux.backend says where)"
run docker ps --format 'table {{.Names}}\t{{.Label "io.dockmux.backend"}}\t{{.Status}}'

say "later calls follow the stored route"
run docker exec demo-on-b sh -c 'echo hello from the vm-isolated engine'
run "$BUILD/dockmux" -H "unix://$DOCKMUX_SOCK" routes

say "for comparison, each engine asked directly"
for e in a b; do
	run docker -H "unix://$(rig_engine_sock "$e")" ps
done

cat <<EOF

------------------------------------------------------------------
 dockmuxd is running in front of two engines:
   a: unix://$ENGINE_A_SOCK
   b: unix://$ENGINE_B_SOCK
 In another shell:

   export DOCKER_HOST=unix://$DOCKMUX_SOCK
   docker ps
   curl --unix-socket $DOCKMUX_SOCK http://dockmux/_ping

 dockmuxd log: $RIG_DIR/dockmuxd.log
 Ctrl-C to stop (stops dockmuxd and both engines, removes $RIG_DIR).
------------------------------------------------------------------
EOF

if [ -n "${DEMO_NONINTERACTIVE:-}" ]; then
	say "DEMO_NONINTERACTIVE set: stopping"
	exit 0
fi
# Wait for Ctrl-C / SIGTERM: a requested stop is the normal end (exit 0;
# the EXIT trap from rig_init cleans up).  Also stop if dockmuxd dies.
trap 'echo; echo "demo: stopping"; exit 0' INT TERM
while kill -0 "$(cat "$RIG_DIR/dockmuxd.pid")" 2>/dev/null; do
	sleep 1 &
	wait $! || true
done
echo "demo: dockmuxd exited; last lines of its log:" >&2
tail -n 20 "$RIG_DIR/dockmuxd.log" >&2
exit 1
