#!/bin/bash
# docker-compose 1.29 (a real API client) drives dockmuxd: a project of
# three busybox services sharing a named network and a named volume, one
# pinned with the label io.dockmux.backend: b.  `up -d` puts web and db on
# a and worker on b (asked directly), all running, the network and volume
# on both engines; `ps` shows 3 Up; `logs` has the three "up" lines;
# `down -v` removes the containers, the network and the volume from both.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd
command -v docker-compose >/dev/null 2>&1 ||
    t_fail "docker-compose not installed (apt-get install docker-compose)"

A=(docker -H "unix://$ENGINE_A_SOCK")
B=(docker -H "unix://$ENGINE_B_SOCK")
P=e2ecompose$$
dir=$T_TMP/project
mkdir -p "$dir"
cat >"$dir/docker-compose.yml" <<'YML'
version: "3.7"
services:
  web:
    image: busybox
    command: sh -c 'echo web up; sleep 300'
    networks: [appnet]
    volumes: ["data:/data"]
  worker:
    image: busybox
    command: sh -c 'echo worker up; sleep 300'
    labels:
      io.dockmux.backend: b
    networks: [appnet]
    volumes: ["data:/data"]
  db:
    image: busybox
    command: sh -c 'echo db up; sleep 300'
    networks: [appnet]
networks:
  appnet: {}
volumes:
  data: {}
YML
COMPOSE=(docker-compose -f "$dir/docker-compose.yml" -p "$P" --no-ansi)
# docker-compose 1.29 warns that --no-ansi is deprecated; harmless.

compose_cleanup() {
	local rc=$? e s
	set +e
	timeout 60 "${COMPOSE[@]}" down -v >/dev/null 2>&1
	for e in "${A[*]}" "${B[*]}"; do
		for s in web worker db; do
			$e rm -f "${P}_${s}_1" >/dev/null 2>&1
		done
		$e network rm "${P}_appnet" >/dev/null 2>&1
		$e volume rm "${P}_data" >/dev/null 2>&1
	done
	(exit "$rc")
	t_cleanup
}
trap compose_cleanup EXIT

where() {
	local out=""
	"${A[@]}" inspect "$1" >/dev/null 2>&1 && out=a
	"${B[@]}" inspect "$1" >/dev/null 2>&1 && out="${out:+$out }b"
	printf '%s\n' "$out"
}
net_on() {
	local out=""
	"${A[@]}" network inspect "$1" >/dev/null 2>&1 && out=a
	"${B[@]}" network inspect "$1" >/dev/null 2>&1 && out="${out:+$out }b"
	printf '%s\n' "$out"
}
vol_on() {
	local out=""
	"${A[@]}" volume inspect "$1" >/dev/null 2>&1 && out=a
	"${B[@]}" volume inspect "$1" >/dev/null 2>&1 && out="${out:+$out }b"
	printf '%s\n' "$out"
}

# ---- up -d ------------------------------------------------------------------

out=$(timeout 120 "${COMPOSE[@]}" up -d 2>&1) || t_fail "docker-compose up -d: $out"
t_expect_eq "web is on" a "$(where "${P}_web_1")"
t_expect_eq "db is on" a "$(where "${P}_db_1")"
t_expect_eq "worker is on" b "$(where "${P}_worker_1")"
t_expect_eq "web running (engine a)" true "$("${A[@]}" inspect -f '{{.State.Running}}' "${P}_web_1")"
t_expect_eq "db running (engine a)" true "$("${A[@]}" inspect -f '{{.State.Running}}' "${P}_db_1")"
t_expect_eq "worker running (engine b)" true "$("${B[@]}" inspect -f '{{.State.Running}}' "${P}_worker_1")"
t_expect_eq "network ${P}_appnet is on" "a b" "$(net_on "${P}_appnet")"
t_expect_eq "volume ${P}_data is on" "a b" "$(vol_on "${P}_data")"
# shellcheck disable=SC2016 # a Go template, not shell
t_expect_eq "worker's network (engine b)" "${P}_appnet" \
    "$("${B[@]}" inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}' "${P}_worker_1")"

# ---- ps, logs --------------------------------------------------------------

out=$(timeout 60 "${COMPOSE[@]}" ps 2>&1) || t_fail "docker-compose ps: $out"
n=$(grep -cE "^${P}_(web|worker|db)_1 .* Up" <<<"$out" || true)
t_expect_eq "docker-compose ps: services Up" 3 "$n"

three_up() {
	local l
	l=$(timeout 30 "${COMPOSE[@]}" logs 2>&1) || return 1
	grep -q 'web up' <<<"$l" && grep -q 'worker up' <<<"$l" &&
	    grep -q 'db up' <<<"$l"
}
t_wait_for 20 three_up ||
    t_fail "docker-compose logs lacks an up line: $(timeout 30 "${COMPOSE[@]}" logs 2>&1)"

# ---- down -v ----------------------------------------------------------------

out=$(timeout 120 "${COMPOSE[@]}" down -v 2>&1) || t_fail "docker-compose down -v: $out"
for s in web worker db; do
	t_expect_eq "${P}_${s}_1 after down is on" "" "$(where "${P}_${s}_1")"
done
t_expect_eq "network ${P}_appnet after down is on" "" "$(net_on "${P}_appnet")"
t_expect_eq "volume ${P}_data after down is on" "" "$(vol_on "${P}_data")"
n=$(docker ps -a --filter "label=com.docker.compose.project=$P" -q | grep -c . || true)
t_expect_eq "containers of project $P listed by dockmuxd after down" 0 "$n"
