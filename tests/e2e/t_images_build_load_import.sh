#!/bin/bash
# Build, save/load and import through dockmuxd: `docker build` (legacy
# builder: no buildx on the rig) of FROM busybox + RUN works and the image
# runs; `docker save` then `docker load` after rmi brings it back;
# `docker import` of a tarball makes an image (and of the busybox rootfs,
# a runnable one).  With no platform, or --platform linux/amd64 (both rig
# engines serve it, a first), everything lands on the primary a only.
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
IMG_BUILT=$p-built:1
IMG_PLAT=$p-plat:1
IMG_IMP=$p-imp:1
IMG_IMPBB=$p-impbb:1
IMG_IMPCMD=$p-impcmd:1
MADE="$IMG_BUILT $IMG_PLAT $IMG_IMP $IMG_IMPBB $IMG_IMPCMD"

bli_cleanup() {
	local rc=$? i
	set +e
	t_rm_mine
	for i in $MADE; do
		"${A[@]}" rmi -f "$i" >/dev/null 2>&1
		"${B[@]}" rmi -f "$i" >/dev/null 2>&1
	done
	(exit "$rc")
	t_cleanup
}
trap bli_cleanup EXIT

image_on() {
	local out=""
	"${A[@]}" image inspect "$1" >/dev/null 2>&1 && out=a
	"${B[@]}" image inspect "$1" >/dev/null 2>&1 && out="${out:+$out }b"
	printf '%s\n' "$out"
}

# ---- build ----------------------------------------------------------------

ctx=$T_TMP/ctx
mkdir -p "$ctx"
printf 'FROM busybox\nRUN echo built > /built\n' >"$ctx/Dockerfile"
out=$(DOCKER_BUILDKIT=0 timeout 120 docker build -t "$IMG_BUILT" "$ctx" 2>&1) ||
    t_fail "docker build -t $IMG_BUILT: $out"
grep -q "Successfully tagged $IMG_BUILT" <<<"$out" ||
    t_fail "docker build: no 'Successfully tagged': $out"
t_expect_eq "built image is on" a "$(image_on "$IMG_BUILT")"
c=$(t_name built)
out=$(timeout 60 docker run --rm --name "$c" "$IMG_BUILT" cat /built 2>&1) ||
    t_fail "docker run $IMG_BUILT cat /built: $out"
t_expect_eq "cat /built in the built image" built "$out"

out=$(DOCKER_BUILDKIT=0 timeout 120 docker build --platform linux/amd64 \
    -t "$IMG_PLAT" "$ctx" 2>&1) ||
    t_fail "docker build --platform linux/amd64: $out"
t_expect_eq "image built with --platform linux/amd64 is on" a \
    "$(image_on "$IMG_PLAT")"
c=$(t_name plat)
out=$(timeout 60 docker run --rm --name "$c" "$IMG_PLAT" cat /built 2>&1) ||
    t_fail "docker run $IMG_PLAT cat /built: $out"
t_expect_eq "cat /built in the --platform image" built "$out"

# ---- save, rmi, load ------------------------------------------------------

tarf=$T_TMP/built.tar
out=$(timeout 60 docker save -o "$tarf" "$IMG_BUILT" 2>&1) ||
    t_fail "docker save $IMG_BUILT: $out"
[ -s "$tarf" ] || t_fail "docker save wrote nothing"
members=$(tar -tf "$tarf")
grep -qx 'manifest.json' <<<"$members" ||
    t_fail "docker save: no manifest.json in the archive: $members"
out=$(docker rmi "$IMG_BUILT" 2>&1) || t_fail "docker rmi $IMG_BUILT: $out"
t_expect_eq "after rmi, $IMG_BUILT is on" "" "$(image_on "$IMG_BUILT")"
out=$(timeout 60 docker load -i "$tarf" 2>&1) || t_fail "docker load: $out"
grep -q "Loaded image: $IMG_BUILT" <<<"$out" ||
    t_fail "docker load: no 'Loaded image: $IMG_BUILT': $out"
t_expect_eq "loaded image is on" a "$(image_on "$IMG_BUILT")"
c=$(t_name loaded)
out=$(timeout 60 docker run --rm --name "$c" "$IMG_BUILT" cat /built 2>&1) ||
    t_fail "docker run of the loaded image: $out"
t_expect_eq "cat /built in the loaded image" built "$out"

# ---- import -----------------------------------------------------------------

imp=$T_TMP/imp
mkdir -p "$imp"
echo hello-import >"$imp/hello.txt"
tar -C "$imp" -cf "$T_TMP/imp.tar" .
out=$(timeout 60 docker import "$T_TMP/imp.tar" "$IMG_IMP" 2>&1) ||
    t_fail "docker import: $out"
grep -q '^sha256:' <<<"$out" || t_fail "docker import printed no image ID: $out"
t_expect_eq "imported image is on" a "$(image_on "$IMG_IMP")"
t_expect_eq "imported image Os (inspect through dockmuxd)" linux \
    "$(docker image inspect -f '{{.Os}}' "$IMG_IMP")"
# Its only layer holds hello.txt: save it and look.
timeout 60 docker save -o "$T_TMP/imp-saved.tar" "$IMG_IMP" ||
    t_fail "docker save $IMG_IMP"
mkdir -p "$T_TMP/imp-saved"
tar -C "$T_TMP/imp-saved" -xf "$T_TMP/imp-saved.tar"
found=""
for l in "$T_TMP"/imp-saved/*/layer.tar; do
	grep -qx './hello.txt\|hello.txt' <<<"$(tar -tf "$l")" && found=yes
done
t_expect_eq "hello.txt in the imported layer" yes "$found"

# The busybox rootfs, imported with a platform: runnable.
tar=$(rig_busybox_tar)
out=$(timeout 60 docker import --platform linux/amd64 "$tar" "$IMG_IMPBB" 2>&1) ||
    t_fail "docker import --platform linux/amd64: $out"
t_expect_eq "imported busybox is on" a "$(image_on "$IMG_IMPBB")"
c=$(t_name impbb)
out=$(timeout 60 docker run --rm --name "$c" "$IMG_IMPBB" sh -c 'echo imported' 2>&1) ||
    t_fail "docker run of the imported busybox: $out"
t_expect_eq "run of the imported busybox" imported "$out"

# With a change (-c): the CLI form-encodes the space in 'CMD ["/bin/sh"]'
# as '+' in the query (changes=CMD+%5B...), which must reach the engine
# as sent.
out=$(timeout 60 docker import -c 'CMD ["/bin/sh"]' "$tar" "$IMG_IMPCMD" 2>&1) ||
    t_fail "docker import -c 'CMD [\"/bin/sh\"]': $out"
t_expect_eq "Config.Cmd of the image imported with -c" '[/bin/sh]' \
    "$(docker image inspect -f '{{.Config.Cmd}}' "$IMG_IMPCMD")"
