#!/bin/bash
# Prunes fan out to every backend and merge their answers: `docker
# container prune --filter label=X` removes the stopped containers with
# that label on both engines (asked directly), prints the deleted IDs of
# both and the reclaimed space, leaves a stopped container without the
# label alone, and dockmuxd forgets the pruned ones (inspect → No such
# container).  `docker image prune --filter label=X` removes a dangling
# image with that label on each engine and lists both.  Only things made
# here carry the label; nothing else is pruned.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/lib_registry.sh
. "$(dirname "$0")/lib_registry.sh"
t_init
t_needs_dockmuxd

A=(docker -H "unix://$ENGINE_A_SOCK")
B=(docker -H "unix://$ENGINE_B_SOCK")
LBL=e2e.prune=$T_PREFIX
IMG=$T_PREFIX-prune:1

prune_cleanup() {
	local rc=$?
	set +e
	t_rm_mine
	"${A[@]}" rmi -f "$IMG" >/dev/null 2>&1
	"${B[@]}" rmi -f "$IMG" >/dev/null 2>&1
	(exit "$rc")
	t_cleanup
}
trap prune_cleanup EXIT

# ---- containers -------------------------------------------------------------

ca=$(t_name stopped-a)
cb=$(t_name stopped-b)
keep=$(t_name keep)
timeout 60 docker run --name "$ca" --label "$LBL" busybox true ||
    t_fail "docker run $ca failed"
timeout 60 docker run --name "$cb" --label "$LBL" \
    --label io.dockmux.backend=b busybox true ||
    t_fail "docker run $cb failed"
timeout 60 docker run --name "$keep" busybox true ||
    t_fail "docker run $keep failed"
ida=$("${A[@]}" inspect -f '{{.Id}}' "$ca") || t_fail "$ca is not on engine a"
idb=$("${B[@]}" inspect -f '{{.Id}}' "$cb") || t_fail "$cb is not on engine b"

out=$(timeout 60 docker container prune -f --filter "label=$LBL" 2>&1) ||
    t_fail "docker container prune: $out"
grep -qF "$ida" <<<"$out" || t_fail "container prune output lacks $ida (a): $out"
grep -qF "$idb" <<<"$out" || t_fail "container prune output lacks $idb (b): $out"
grep -q 'Total reclaimed space' <<<"$out" ||
    t_fail "container prune output lacks 'Total reclaimed space': $out"
"${A[@]}" inspect "$ca" >/dev/null 2>&1 && t_fail "$ca still on engine a"
"${B[@]}" inspect "$cb" >/dev/null 2>&1 && t_fail "$cb still on engine b"
docker inspect "$keep" >/dev/null 2>&1 ||
    t_fail "container prune --filter label removed $keep, which lacks the label"

for c in "$ca" "$cb"; do
	rc=0
	out=$(docker container inspect "$c" 2>&1) && rc=0 || rc=$?
	[ "$rc" -ne 0 ] || t_fail "docker container inspect $c after the prune succeeded"
	grep -q 'No such container' <<<"$out" ||
	    t_fail "docker inspect $c after the prune: '$out', want No such container"
done

# ---- images -----------------------------------------------------------------

# dangling_on SOCK: build IMG twice on that engine; the first build, now
# untagged, is a dangling image with the label.  Prints its Id.
dangling_on() {
	local sock=$1 ctx=$T_TMP/ctx-$RANDOM id1 out
	mkdir -p "$ctx"
	printf 'FROM busybox\nLABEL %s\nRUN echo one-%s > /f\n' "$LBL" "$RANDOM" \
	    >"$ctx/Dockerfile"
	out=$(DOCKER_BUILDKIT=0 timeout 120 docker -H "unix://$sock" build -q \
	    -t "$IMG" "$ctx" 2>&1) || t_fail "build on $sock: $out"
	id1=$(docker -H "unix://$sock" image inspect -f '{{.Id}}' "$IMG")
	printf 'FROM busybox\nLABEL %s\nRUN echo two-%s > /f\n' "$LBL" "$RANDOM" \
	    >"$ctx/Dockerfile"
	out=$(DOCKER_BUILDKIT=0 timeout 120 docker -H "unix://$sock" build -q \
	    -t "$IMG" "$ctx" 2>&1) || t_fail "second build on $sock: $out"
	[ "$(docker -H "unix://$sock" image inspect -f '{{.Id}}' "$IMG")" != "$id1" ] ||
	    t_fail "second build on $sock made the same image"
	printf '%s\n' "$id1"
}

dia=$(dangling_on "$ENGINE_A_SOCK")
dib=$(dangling_on "$ENGINE_B_SOCK")
"${A[@]}" image inspect "$dia" >/dev/null || t_fail "dangling image not on a"
"${B[@]}" image inspect "$dib" >/dev/null || t_fail "dangling image not on b"

out=$(timeout 60 docker image prune -f --filter "label=$LBL" 2>&1) ||
    t_fail "docker image prune: $out"
grep -qF "$dia" <<<"$out" || t_fail "image prune output lacks $dia (a): $out"
grep -qF "$dib" <<<"$out" || t_fail "image prune output lacks $dib (b): $out"
grep -q 'Total reclaimed space' <<<"$out" ||
    t_fail "image prune output lacks 'Total reclaimed space': $out"
"${A[@]}" image inspect "$dia" >/dev/null 2>&1 && t_fail "$dia still on engine a"
"${B[@]}" image inspect "$dib" >/dev/null 2>&1 && t_fail "$dib still on engine b"
# The tagged builds are not dangling: kept.
"${A[@]}" image inspect "$IMG" >/dev/null 2>&1 || t_fail "image prune removed $IMG on a"
"${B[@]}" image inspect "$IMG" >/dev/null 2>&1 || t_fail "image prune removed $IMG on b"

# The API answer: both deletions in one list, space summed (a number).
out=$(curl -sS -m 60 --unix-socket "$DOCKMUX_SOCK" -X POST \
    "http://dockmux/v1.41/images/prune?filters=%7B%22label%22%3A%7B%22$LBL%22%3Atrue%7D%7D")
/usr/bin/python3 -c 'import json, sys
o = json.loads(sys.argv[1])
assert isinstance(o.get("SpaceReclaimed"), int), o
assert o.get("ImagesDeleted") in (None, []), o' "$out" ||
    t_fail "second image prune (nothing left): $out"

# Nothing to prune: the same answer as the engine's, every key included
# ({"ContainersDeleted":null,"SpaceReclaimed":0}).
none=$(printf '{"label":["%s-nothing"]}' "$T_PREFIX" | jq -sRr @uri)
for what in containers images volumes networks; do
	direct=$(curl -sS -m 30 -X POST --unix-socket "$ENGINE_A_SOCK" \
	    "http://d/v1.41/$what/prune?filters=$none" | jq -cS .)
	via=$(curl -sS -m 30 -X POST --unix-socket "$DOCKMUX_SOCK" \
	    "http://d/v1.41/$what/prune?filters=$none" | jq -cS .)
	t_expect_eq "POST /$what/prune with nothing to prune" "$direct" "$via"
done
