#!/bin/bash
# Networks and volumes are replicated by name: `docker network create N`
# and `docker volume create V` make them on both engines (asked directly);
# the merged lists show each once, as the engine returns it (no added
# label: the Python SDK finds in the list what its create answered), and
# `dockmux networks` / `dockmux volumes` say it is on a,b; a
# container pinned to b uses --network N and -v V:/d; network connect and
# disconnect of b's running container act on engine b; `docker network
# rm` / `docker volume rm` remove them from both; network and volume
# prune with a label filter remove only the labelled ones, on both.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/lib_registry.sh
. "$(dirname "$0")/lib_registry.sh"
t_init
t_needs_dockmuxd

A=(docker -H "unix://$ENGINE_A_SOCK")
B=(docker -H "unix://$ENGINE_B_SOCK")
p=$T_PREFIX
LBL=e2e.netvol=$p
N=$p-net
N2=$p-net2
V=$p-vol
NP=$p-net-prune
NID=$p-net-byid
VP=$p-vol-prune

nv_cleanup() {
	local rc=$? e
	set +e
	t_rm_mine
	for e in "${A[*]}" "${B[*]}"; do
		$e network rm "$N" "$N2" "$NP" "$NID" >/dev/null 2>&1
		$e volume rm "$V" "$VP" >/dev/null 2>&1
	done
	(exit "$rc")
	t_cleanup
}
trap nv_cleanup EXIT

# net_on NAME / vol_on NAME: the engines having it, asked directly.
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

# api_label PATH NAME: Labels["io.dockmux.backend"] of entry NAME in the
# merged list at PATH ("" when NAME is listed without it, "NONE" when NAME
# is not listed; "MANY" when listed more than once).
api_label() {
	curl -sS -m 30 --unix-socket "$DOCKMUX_SOCK" "http://dockmux$1" |
	    /usr/bin/python3 -c 'import json, sys
o = json.load(sys.stdin)
if isinstance(o, dict):
    o = o.get("Volumes") or []
hits = [e for e in o if e.get("Name") == sys.argv[1]]
if len(hits) > 1:
    print("MANY")
elif hits:
    print((hits[0].get("Labels") or {}).get("io.dockmux.backend", ""))
else:
    print("NONE")' "$2"
}

# nets_of NAME: the networks of container NAME on engine b, sorted.
# shellcheck disable=SC2016 # a Go template, not shell
NETS_FMT='{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}'
nets_of() {
	"${B[@]}" inspect -f "$NETS_FMT" "$1" | tr ' ' '\n' | grep . | sort |
	    tr '\n' ' ' | sed 's/ $//'
}

# ---- create: replicated ------------------------------------------------------

out=$(docker network create --label "$LBL" "$N" 2>&1) ||
    t_fail "docker network create $N: $out"
t_expect_eq "network $N is on" "a b" "$(net_on "$N")"
out=$(docker volume create --label "$LBL" "$V" 2>&1) ||
    t_fail "docker volume create $V: $out"
t_expect_eq "volume $V is on" "a b" "$(vol_on "$V")"

# ---- lists: merged, once, the engines' objects ------------------------------

lines=$(docker network ls --format '{{.Name}} {{.Labels}}' | grep "^$N " || true)
t_expect_eq "docker network ls lines for $N" 1 "$(grep -c . <<<"$lines")"
t_expect_eq "GET /networks: $N's io.dockmux.backend" "" \
    "$(api_label /v1.41/networks "$N")"
lines=$(docker volume ls --format '{{.Name}} {{.Labels}}' | grep "^$V " || true)
t_expect_eq "docker volume ls lines for $V" 1 "$(grep -c . <<<"$lines")"
t_expect_eq "GET /volumes: $V's io.dockmux.backend" "" \
    "$(api_label /v1.41/volumes "$V")"

# Where each lives: the dockmux CLI (GET /_dockmux/objects).
t_expect_eq "dockmux networks: $N" "$N a,b" \
    "$("$BUILD/dockmux" networks | awk -v n="$N" '$1 == n {print $1, $2}')"
t_expect_eq "dockmux volumes: $V" "$V a,b" \
    "$("$BUILD/dockmux" volumes | awk -v n="$V" '$1 == n {print $1, $2}')"

# The SDK creates a volume and finds an equal object in the list.
SV=$p-sdkvol
out=$(timeout 60 /usr/bin/python3 - "unix://$DOCKMUX_SOCK" "$SV" <<'PY' 2>&1
import sys
import docker

cl = docker.DockerClient(base_url=sys.argv[1], timeout=60)
v = cl.volumes.create(name=sys.argv[2], labels={"k": "v"})
listed = [x for x in cl.volumes.list() if x.name == sys.argv[2]]
assert len(listed) == 1, listed
assert listed[0].attrs == v.attrs, (listed[0].attrs, v.attrs)
v.remove()
print("equal")
PY
) || t_fail "SDK volume create/list: $out"
t_expect_eq "SDK: created volume equals its list entry" equal "$out"

# Inspect through dockmuxd: the first holder (a) answers.
t_expect_eq "docker network inspect $N (Id, from a)" \
    "$("${A[@]}" network inspect -f '{{.Id}}' "$N")" \
    "$(docker network inspect -f '{{.Id}}' "$N")"
t_expect_eq "docker volume inspect $V (Name)" "$V" \
    "$(docker volume inspect -f '{{.Name}}' "$V")"

# ---- a container on b uses both ---------------------------------------------

# A container on a uses both first: the one on b is told that the data
# and the network are not shared across engines (docker run prints it).
ca=$(t_name user-a)
out=$(timeout 60 docker run -d --name "$ca" --label io.dockmux.backend=a \
    --network "$N" -v "$V:/d" busybox sleep 300 2>&1) ||
    t_fail "docker run --network $N -v $V:/d pinned to a: $out"
grep -q WARNING <<<"$out" && t_fail "first user of $V warned: $out"
c=$(t_name user-b)
out=$(timeout 60 docker run -d --name "$c" --label io.dockmux.backend=b \
    --network "$N" -v "$V:/d" busybox sh -c 'echo on-b > /d/f; sleep 300' 2>&1) ||
    t_fail "docker run --network $N -v $V:/d pinned to b: $out"
grep -q "WARNING: dockmux: volume $V also has containers on backend a" \
    <<<"$out" || t_fail "no split-volume warning from docker run: $out"
grep -q "WARNING: dockmux: network $N also has containers on backend a" \
    <<<"$out" || t_fail "no split-network warning from docker run: $out"
out=$(timeout 60 docker rm -f "$ca" 2>&1) || t_fail "docker rm -f $ca: $out"
"${B[@]}" inspect "$c" >/dev/null 2>&1 || t_fail "$c is not on engine b"
t_expect_eq "$c's networks (engine b)" "$N" \
    "$(nets_of "$c")"
t_expect_eq "$c's mount source volume (engine b)" "$V" \
    "$("${B[@]}" inspect -f '{{range .Mounts}}{{.Name}}{{end}}' "$c")"
hasf() { [ "$(docker exec "$c" cat /d/f 2>/dev/null)" = on-b ]; }
t_wait_for 10 hasf || t_fail "$c did not write /d/f in the volume"

# connect / disconnect: by the container's owner (b).
out=$(docker network create "$N2" 2>&1) || t_fail "docker network create $N2: $out"
out=$(docker network connect "$N2" "$c" 2>&1) ||
    t_fail "docker network connect $N2 $c: $out"
t_expect_eq "$c's networks on b after connect" "$N $N2" \
    "$(nets_of "$c")"
out=$(docker network disconnect "$N2" "$c" 2>&1) ||
    t_fail "docker network disconnect $N2 $c: $out"
t_expect_eq "$c's networks on b after disconnect" "$N" \
    "$(nets_of "$c")"

timeout 30 docker rm -f "$c" >/dev/null || t_fail "docker rm -f $c"

# ---- remove: from both ------------------------------------------------------

out=$(docker network rm "$N" "$N2" 2>&1) || t_fail "docker network rm: $out"
t_expect_eq "network $N after rm is on" "" "$(net_on "$N")"
t_expect_eq "network $N2 after rm is on" "" "$(net_on "$N2")"
out=$(docker volume rm "$V" 2>&1) || t_fail "docker volume rm $V: $out"
t_expect_eq "volume $V after rm is on" "" "$(vol_on "$V")"

rc=0
out=$(docker network rm "$N" 2>&1) || rc=$?
[ "$rc" -ne 0 ] || t_fail "docker network rm of a removed network succeeded"
grep -qi 'not found\|no such' <<<"$out" ||
    t_fail "docker network rm of a removed network: '$out'"

# ---- prune: only labelled ones, on both ---------------------------------------

out=$(docker network create --label "$LBL" "$NP" 2>&1) ||
    t_fail "docker network create $NP: $out"
out=$(docker volume create --label "$LBL" "$VP" 2>&1) ||
    t_fail "docker volume create $VP: $out"
t_expect_eq "network $NP is on" "a b" "$(net_on "$NP")"
t_expect_eq "volume $VP is on" "a b" "$(vol_on "$VP")"

out=$(timeout 60 docker network prune -f --filter "label=$LBL" 2>&1) ||
    t_fail "docker network prune: $out"
grep -qF "$NP" <<<"$out" || t_fail "network prune output lacks $NP: $out"
t_expect_eq "network $NP after prune is on" "" "$(net_on "$NP")"

out=$(timeout 60 docker volume prune -f --filter "label=$LBL" 2>&1) ||
    t_fail "docker volume prune: $out"
grep -qF "$VP" <<<"$out" || t_fail "volume prune output lacks $VP: $out"
grep -q 'Total reclaimed space' <<<"$out" ||
    t_fail "volume prune output lacks 'Total reclaimed space': $out"
t_expect_eq "volume $VP after prune is on" "" "$(vol_on "$VP")"

# ---- remove by ID: the ID `docker network create` printed (a's) ---------------
# The copies on other engines have other IDs; removing by a's ID must
# still remove the network everywhere it was replicated.

nid=$(docker network create "$NID" 2>&1) || t_fail "docker network create $NID: $nid"
t_expect_eq "network $NID is on" "a b" "$(net_on "$NID")"
out=$(docker network rm "$nid" 2>&1) || t_fail "docker network rm $nid (by ID): $out"
t_expect_eq "network $NID after rm by ID is on" "" "$(net_on "$NID")"
