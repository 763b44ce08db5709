#!/bin/bash
# docker system df through dockmuxd merges the engines: the image and
# container counts are the sums of what each engine reports directly,
# and LayersSize is the sum of theirs.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
export DOCKER_HOST=unix://$DOCKMUX_SOCK

ca=$(t_name on-a)
cb=$(t_name on-b)
docker run -d --name "$ca" --label io.dockmux.backend=a busybox sleep 60 \
    >/dev/null
docker run -d --name "$cb" --label io.dockmux.backend=b busybox sleep 60 \
    >/dev/null

df_of() {
	curl -sS -m 30 --unix-socket "$1" http://dockmux/v1.41/system/df
}
count() {
	/usr/bin/python3 -c 'import json,sys
d = json.load(sys.stdin)
print(len(d.get(sys.argv[1]) or []))' "$1"
}
layers() {
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["LayersSize"])'
}
ma=$(df_of "$ENGINE_A_SOCK")
mb=$(df_of "$ENGINE_B_SOCK")
m=$(df_of "$DOCKMUX_SOCK")
for k in Images Containers; do
	t_expect_eq "$k merged" \
	    $(( $(count $k <<<"$ma") + $(count $k <<<"$mb") )) \
	    "$(count $k <<<"$m")"
done
t_expect_eq "LayersSize summed" $(( $(layers <<<"$ma") + $(layers <<<"$mb") )) \
    "$(layers <<<"$m")"
out=$(timeout 30 docker system df)
case $out in
*Images*Containers*) ;;
*) t_fail "docker system df printed: $out" ;;
esac
