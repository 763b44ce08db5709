#!/bin/bash
# docker version shows the server, docker info works, and GET/HEAD /_ping
# answer OK with an API-Version header.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init

out=$(timeout 30 docker version 2>&1) || t_fail "docker version failed: $out"
grep -q '^Server' <<<"$out" || t_fail "docker version shows no Server: $out"
api=$(timeout 30 docker version --format '{{.Server.APIVersion}}')
[[ $api =~ ^1\.[0-9]+$ ]] || t_fail "server APIVersion '$api'"

out=$(timeout 30 docker info 2>&1) || t_fail "docker info failed: $out"
sv=$(timeout 30 docker info --format '{{.ServerVersion}}')
[ -n "$sv" ] || t_fail "docker info: empty ServerVersion"
n=$(timeout 30 docker info --format '{{.Containers}}')
[[ $n =~ ^[0-9]+$ ]] || t_fail "docker info: Containers '$n'"

code=$(curl -sS -m 10 --unix-socket "$DOCKMUX_SOCK" -D "$T_TMP/h" \
    -o "$T_TMP/b" -w '%{http_code}' http://dockmux/_ping)
t_expect_eq "GET /_ping status" 200 "$code"
t_expect_eq "GET /_ping body" OK "$(cat "$T_TMP/b")"
hv=$(tr -d '\r' <"$T_TMP/h" | sed -n 's/^[Aa][Pp][Ii]-[Vv]ersion: *//p')
[[ $hv =~ ^1\.[0-9]+$ ]] || t_fail "GET /_ping: API-Version header '$hv'"

code=$(curl -sS -m 10 --unix-socket "$DOCKMUX_SOCK" -I -D "$T_TMP/h2" \
    -o /dev/null -w '%{http_code}' http://dockmux/_ping)
t_expect_eq "HEAD /_ping status" 200 "$code"
tr -d '\r' <"$T_TMP/h2" | grep -qi '^API-Version: 1\.' ||
    t_fail "HEAD /_ping: no API-Version header"

# A versioned path works too (the CLI always sends one).
code=$(curl -sS -m 10 --unix-socket "$DOCKMUX_SOCK" -o /dev/null \
    -w '%{http_code}' "http://dockmux/v$hv/_ping")
t_expect_eq "GET /v$hv/_ping status" 200 "$code"

# /info follows the requested API version as dockerd's does: below 1.25
# dockerd adds "ExecutionDriver"; through dockmuxd it is there too.
direct=$(curl -sS -m 10 --unix-socket "$ENGINE_A_SOCK" \
    http://d/v1.24/info | jq -r '.ExecutionDriver // "absent"')
[ "$direct" != absent ] || t_fail "engine a: /v1.24/info has no ExecutionDriver"
t_expect_eq "/v1.24/info ExecutionDriver through dockmuxd" "$direct" \
    "$(curl -sS -m 10 --unix-socket "$DOCKMUX_SOCK" http://d/v1.24/info |
    jq -r '.ExecutionDriver // "absent"')"
