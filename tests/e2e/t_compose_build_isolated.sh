#!/bin/bash
# `docker-compose up --build` (1.29, a real API client) where the service
# built from the project's Dockerfile is pinned to engine b: the build
# lands on the primary a, and the container still starts on b the first
# time, because dockmuxd copies the built image there.  A second service
# on a uses the same image without a copy.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd
command -v docker-compose >/dev/null 2>&1 ||
    t_fail "docker-compose not installed (apt-get install docker-compose)"

A=(docker -H "unix://$ENGINE_A_SOCK")
B=(docker -H "unix://$ENGINE_B_SOCK")
P=e2ecbuild$$
IMG=${P}_app:latest
dir=$T_TMP/project
mkdir -p "$dir"
printf 'built by compose\n' >"$dir/msg"
printf 'FROM busybox\nCOPY msg /msg\nCMD ["sh", "-c", "cat /msg; sleep 300"]\n' \
    >"$dir/Dockerfile"
cat >"$dir/docker-compose.yml" <<YML
version: "3.7"
services:
  sandboxed:
    build: .
    image: $IMG
    labels:
      io.dockmux.backend: b
  plain:
    image: $IMG
    depends_on: [sandboxed]
YML
COMPOSE=(docker-compose -f "$dir/docker-compose.yml" -p "$P" --no-ansi)

cb_cleanup() {
	local rc=$? e s
	set +e
	timeout 60 "${COMPOSE[@]}" down >/dev/null 2>&1
	for e in "${A[*]}" "${B[*]}"; do
		for s in sandboxed plain; do
			$e rm -f "${P}_${s}_1" >/dev/null 2>&1
		done
		$e network rm "${P}_default" >/dev/null 2>&1
		$e rmi -f "$IMG" >/dev/null 2>&1
	done
	(exit "$rc")
	t_cleanup
}
trap cb_cleanup EXIT

out=$(COMPOSE_DOCKER_CLI_BUILD=0 DOCKER_BUILDKIT=0 timeout 240 \
    "${COMPOSE[@]}" up -d --build 2>&1) ||
    t_fail "docker-compose up -d --build: $out"
"${B[@]}" inspect "${P}_sandboxed_1" >/dev/null 2>&1 ||
    t_fail "${P}_sandboxed_1 is not on engine b: $out"
"${A[@]}" inspect "${P}_plain_1" >/dev/null 2>&1 ||
    t_fail "${P}_plain_1 is not on engine a: $out"
t_expect_eq "sandboxed running (engine b)" true \
    "$("${B[@]}" inspect -f '{{.State.Running}}' "${P}_sandboxed_1")"
says() {
	[ "$("${B[@]}" logs "${P}_sandboxed_1" 2>&1)" = "built by compose" ]
}
t_wait_for 20 says || t_fail "sandboxed on b does not say the built message"
echo "ok: compose build on a, isolated service ran on b"
