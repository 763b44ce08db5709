#!/bin/bash
# A real pull through dockmuxd from a private registry fans out to every
# backend: the progress stream is relayed, the image lands on both engines
# (asked directly), the merged `docker images` lists it once, a container
# of it is placed by the image-os rule; a missing tag fails with the
# registry's "manifest ... not found"; `docker tag` tags it on both
# engines and `docker rmi` of both tags removes them from both.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/lib_registry.sh
. "$(dirname "$0")/lib_registry.sh"
t_init
t_needs_dockmuxd

A=(docker -H "unix://$ENGINE_A_SOCK")
B=(docker -H "unix://$ENGINE_B_SOCK")
repo=library/bbx-$$
REF=""
REF2=""

pull_cleanup() {
	local rc=$? r
	set +e
	t_rm_mine
	for r in "$REF" "$REF2"; do
		[ -n "$r" ] || continue
		"${A[@]}" rmi "$r" >/dev/null 2>&1
		"${B[@]}" rmi "$r" >/dev/null 2>&1
	done
	reg_stop
	(exit "$rc")
	t_cleanup
}
trap pull_cleanup EXIT

# image_on REF: the engines (a, b) holding image REF, asked directly.
image_on() {
	local out=""
	"${A[@]}" image inspect "$1" >/dev/null 2>&1 && out=a
	"${B[@]}" image inspect "$1" >/dev/null 2>&1 && out="${out:+$out }b"
	printf '%s\n' "$out"
}

reg_start "$T_TMP/registry"
REF=$REG_ADDR/$repo:1
REF2=$REG_ADDR/$repo:2
reg_push_from "$ENGINE_A_SOCK" busybox:latest "$repo:1"
t_expect_eq "before the pull, $REF is on" "" "$(image_on "$REF")"

# ---- the pull -------------------------------------------------------------

rc=0
out=$(timeout 120 docker pull "$REF" 2>&1) || rc=$?
[ "$rc" -eq 0 ] || t_fail "docker pull $REF: exit $rc: $out"
grep -qE 'Pull complete|Downloaded' <<<"$out" ||
    t_fail "docker pull $REF: no progress in the output: $out"
t_expect_eq "after the pull, $REF is on" "a b" "$(image_on "$REF")"

n=$(docker images --format '{{.Repository}}:{{.Tag}}' | grep -cxF "$REF" || true)
t_expect_eq "docker images lines for $REF" 1 "$n"

# The same image (one Id) on both engines: one entry with the tag.
ida=$("${A[@]}" image inspect -f '{{.Id}}' "$REF")
idb=$("${B[@]}" image inspect -f '{{.Id}}' "$REF")
t_expect_eq "image Id on b equals a" "$ida" "$idb"
# (docker images prints one line per tag; the API answer has one entry
# per image, its RepoTags united over the engines.)
n=$(curl -sS -m 30 --unix-socket "$DOCKMUX_SOCK" http://dockmux/images/json |
    /usr/bin/python3 -c 'import json, sys
print(sum(1 for i in json.load(sys.stdin) if i["Id"] == sys.argv[1]))' "$ida")
t_expect_eq "GET /images/json entries with Id $ida" 1 "$n"

# ---- a container of it ----------------------------------------------------

c=$(t_name run)
out=$(timeout 60 docker run --rm --name "$c" "$REF" echo ok 2>&1) ||
    t_fail "docker run --rm $REF echo ok failed: $out"
t_expect_eq "docker run $REF output" ok "$out"
grep -qE "msg=\"container routed\" .*name=$c .*rule=image-os" \
    "$RIG_DIR/dockmuxd.log" ||
    t_fail "dockmuxd.log has no 'container routed ... name=$c ... rule=image-os': $(grep -F "$c" "$RIG_DIR/dockmuxd.log" || echo '(no line names it)')"

# ---- a tag the registry does not have --------------------------------------

rc=0
out=$(timeout 120 docker pull "$REG_ADDR/$repo:nope" 2>&1) || rc=$?
[ "$rc" -ne 0 ] || t_fail "docker pull of a missing tag succeeded: $out"
grep -qiE 'manifest|not found' <<<"$out" ||
    t_fail "docker pull of a missing tag: message lacks manifest/not found: $out"
t_expect_eq "missing tag is on" "" "$(image_on "$REG_ADDR/$repo:nope")"

# ---- tag and rmi reach every holder ----------------------------------------

out=$(docker tag "$REF" "$REF2" 2>&1) || t_fail "docker tag $REF $REF2: $out"
t_expect_eq "after docker tag, $REF2 is on" "a b" "$(image_on "$REF2")"

out=$(docker rmi "$REF" "$REF2" 2>&1) || t_fail "docker rmi $REF $REF2: $out"
t_expect_eq "after docker rmi, $REF is on" "" "$(image_on "$REF")"
t_expect_eq "after docker rmi, $REF2 is on" "" "$(image_on "$REF2")"
n=$(docker images --format '{{.Repository}}' | grep -cxF "$REG_ADDR/$repo" || true)
t_expect_eq "docker images lines for $REG_ADDR/$repo after rmi" 0 "$n"
