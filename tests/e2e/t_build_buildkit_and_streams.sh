#!/bin/bash
# Builds through dockmuxd as through dockerd: `DOCKER_BUILDKIT=1 docker
# build` with the 20.10 CLI (its session is an Upgrade: h2c on POST
# /session, relayed raw to the primary, where the build naming it goes
# too) for a Dockerfile with FROM, COPY, ENV and LABEL; and the Python
# SDK's streamed build with decode=True, which reads the engine's chunks
# line by line (a chunked answer must stay chunked).
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

A=(docker -H "unix://$ENGINE_A_SOCK")
B=(docker -H "unix://$ENGINE_B_SOCK")
p=$T_PREFIX
IMG_BK=$p-bk:1
IMG_SDK=$p-sdk:1

t_rmi_at_exit "$IMG_BK" "$IMG_SDK"

# Debian's docker.io CLI (20.10) builds with BuildKit without buildx.
DK=/usr/bin/docker
[ -x "$DK" ] || t_fail "$DK missing (apt-get install docker.io)"
PY=/usr/bin/python3
"$PY" -c 'import docker' 2>/dev/null ||
    t_fail "$PY has no docker module (apt-get install python3-docker)"

ctx=$T_TMP/ctx
mkdir -p "$ctx"
printf 'through dockmux\n' >"$ctx/file"
printf 'FROM busybox\nCOPY file /file\nENV DMX=1\nLABEL e2e=%s\n' "$p" \
    >"$ctx/Dockerfile"

out=$(DOCKER_BUILDKIT=1 timeout 180 "$DK" build --progress plain \
    -t "$IMG_BK" "$ctx" 2>&1) || t_fail "BuildKit build: $out"
"${A[@]}" image inspect "$IMG_BK" >/dev/null 2>&1 ||
    t_fail "BuildKit-built image is not on the primary a: $out"
t_expect_eq "label of the BuildKit image" "$p" \
    "$(docker image inspect -f '{{index .Config.Labels "e2e"}}' "$IMG_BK")"
out=$(timeout 60 docker run --rm "$IMG_BK" sh -c 'cat /file; echo $DMX' \
    2>&1) || t_fail "docker run $IMG_BK: $out"
t_expect_eq "run of the BuildKit image" $'through dockmux\n1' "$out"

out=$(timeout 180 "$PY" - "unix://$DOCKMUX_SOCK" "$ctx" "$IMG_SDK" <<'PY' 2>&1
import sys
import docker

url, ctx, tag = sys.argv[1:4]
api = docker.APIClient(base_url=url, timeout=120)
ids, lines = [], 0
for chunk in api.build(path=ctx, tag=tag, decode=True, rm=True):
    lines += 1
    if "error" in chunk:
        raise SystemExit("build error: %s" % chunk["error"])
    if "aux" in chunk and "ID" in chunk["aux"]:
        ids.append(chunk["aux"]["ID"])
    if "stream" in chunk and chunk["stream"].startswith("Successfully built"):
        ids.append(chunk["stream"].split()[-1])
print("lines", lines, "built", bool(ids))
PY
) || t_fail "SDK streamed build: $out"
grep -q "built True" <<<"$out" || t_fail "SDK streamed build: $out"
"${A[@]}" image inspect "$IMG_SDK" >/dev/null 2>&1 ||
    t_fail "SDK-built image is not on a"
echo "ok: BuildKit build and SDK streamed build through dockmuxd"
