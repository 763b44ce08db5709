#!/bin/bash
# Legacy links through dockmuxd as through dockerd: `docker run --link`
# makes the alias, and CHILD/ALIAS names the parent (docker inspect);
# `docker rm --link CHILD/ALIAS` (the API's DELETE
# /containers/CHILD/ALIAS?link=1) removes the link and leaves both
# containers running; removing it again, or a link of a container that
# does not exist, answers what the engine reached directly answers.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

par=$(t_name parent)
kid=$(t_name child)
timeout 60 docker run -d --name "$par" busybox sleep 300 >/dev/null ||
    t_fail "docker run $par"
timeout 60 docker run -d --name "$kid" --link "$par:al" busybox sleep 300 \
    >/dev/null || t_fail "docker run --link $par:al"
t_expect_eq "links of $kid" "[\"/$par:/$kid/al\"]" \
    "$(docker inspect -f '{{json .HostConfig.Links}}' "$kid")"

# The link's name reaches the container it names (the parent).
t_expect_eq "inspect by the link's name" "/$par" \
    "$(docker inspect -f '{{.Name}}' "$kid/al")"

out=$(timeout 30 docker rm --link "$kid/al" 2>&1) ||
    t_fail "docker rm --link $kid/al: $out"
t_expect_eq "docker rm --link prints" "$kid/al" "$out"
t_expect_eq "links after rm --link" null \
    "$(docker inspect -f '{{json .HostConfig.Links}}' "$kid")"
for n in "$par" "$kid"; do
	t_expect_eq "$n still running" true \
	    "$(docker inspect -f '{{.State.Running}}' "$n")"
done

# The same request again, and for a parent nobody has: as the engine.
owner_sock=$ENGINE_A_SOCK
docker -H "unix://$ENGINE_A_SOCK" inspect "$kid" >/dev/null 2>&1 ||
    owner_sock=$ENGINE_B_SOCK
for target in "$kid/al" "$T_PREFIX-nobody/al"; do
	direct=$(curl -s -w ' %{http_code}' --unix-socket "$owner_sock" \
	    -X DELETE "http://d/v1.41/containers/$target?link=1")
	via=$(curl -s -w ' %{http_code}' --unix-socket "$DOCKMUX_SOCK" \
	    -X DELETE "http://d/v1.41/containers/$target?link=1")
	t_expect_eq "DELETE /containers/$target?link=1 through dockmuxd" \
	    "$direct" "$via"
done
echo "ok: link removed through dockmuxd; errors as the engine's"
