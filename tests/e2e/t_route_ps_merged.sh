#!/bin/bash
# docker ps through dockmuxd merges every engine's containers: each shows
# exactly once, labelled io.dockmux.backend with the engine that has it
# (also one made directly on an engine, behind dockmuxd's back); a
# label=io.dockmux.backend=X filter shows X's containers only.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

A=(docker -H "unix://$ENGINE_A_SOCK")
B=(docker -H "unix://$ENGINE_B_SOCK")

a1=$(t_name a1)
a2=$(t_name a2)
b1=$(t_name b1)
b2=$(t_name b2)
bd=$(t_name b-direct)
for n in "$a1" "$a2"; do
	timeout 60 docker run -d --name "$n" --label io.dockmux.backend=a \
	    busybox sleep 300 >/dev/null || t_fail "docker run $n (pin a) failed"
done
for n in "$b1" "$b2"; do
	timeout 60 docker run -d --name "$n" --label io.dockmux.backend=b \
	    busybox sleep 300 >/dev/null || t_fail "docker run $n (pin b) failed"
done
# One dockmuxd never routed: made on engine b directly.
timeout 60 "${B[@]}" run -d --name "$bd" busybox sleep 300 >/dev/null ||
    t_fail "docker run $bd directly on engine b failed"

# Placement as the engines see it.
for n in "$a1" "$a2"; do
	"${A[@]}" inspect "$n" >/dev/null 2>&1 || t_fail "$n is not on engine a"
	! "${B[@]}" inspect "$n" >/dev/null 2>&1 || t_fail "$n is also on engine b"
done
for n in "$b1" "$b2" "$bd"; do
	"${B[@]}" inspect "$n" >/dev/null 2>&1 || t_fail "$n is not on engine b"
	! "${A[@]}" inspect "$n" >/dev/null 2>&1 || t_fail "$n is also on engine a"
done

fmt='{{.Names}} {{.Label "io.dockmux.backend"}}'
want_all=$(printf '%s\n' "$a1 a" "$a2 a" "$b1 b" "$b2 b" "$bd b" | sort)
want_b=$(printf '%s\n' "$b1 b" "$b2 b" "$bd b" | sort)
want_a=$(printf '%s\n' "$a1 a" "$a2 a" | sort)

out=$(timeout 30 docker ps --format "$fmt") || t_fail "docker ps failed"
got=$(grep -F -- "$T_PREFIX-" <<<"$out" | sort || true)
t_expect_eq "docker ps (this test's containers, once each, labelled)" \
    "$want_all" "$got"

out=$(timeout 30 docker ps -a --filter "name=$T_PREFIX-" --format "$fmt") ||
    t_fail "docker ps -a --filter name= failed"
t_expect_eq "docker ps -a --filter name=" "$want_all" "$(sort <<<"$out")"

# Every container of both engines, exactly once (Id-level, no truncation).
got=$(timeout 30 docker ps -aq --no-trunc | sort)
want=$({ "${A[@]}" ps -aq --no-trunc; "${B[@]}" ps -aq --no-trunc; } | sort)
t_expect_eq "docker ps -aq through dockmuxd == union of the engines" \
    "$want" "$got"
t_expect_eq "docker ps -aq has no duplicates" "$(uniq <<<"$got")" "$got"

out=$(timeout 30 docker ps --filter label=io.dockmux.backend=b \
    --format "$fmt") || t_fail "docker ps --filter label=io.dockmux.backend=b failed"
got=$(grep -F -- "$T_PREFIX-" <<<"$out" | sort || true)
t_expect_eq "docker ps --filter label=io.dockmux.backend=b" "$want_b" "$got"
# Nothing but b's, whoever else runs containers on the engines.
if awk '$2 != "b"' <<<"$out" | grep -q .; then
	t_fail "label=io.dockmux.backend=b shows other backends: $out"
fi
got=$(timeout 30 docker ps -q --no-trunc --filter label=io.dockmux.backend=b | sort)
t_expect_eq "label=io.dockmux.backend=b == engine b's running containers" \
    "$("${B[@]}" ps -q --no-trunc | sort)" "$got"

out=$(timeout 30 docker ps --filter label=io.dockmux.backend=a \
    --format "$fmt") || t_fail "docker ps --filter label=io.dockmux.backend=a failed"
got=$(grep -F -- "$T_PREFIX-" <<<"$out" | sort || true)
t_expect_eq "docker ps --filter label=io.dockmux.backend=a" "$want_a" "$got"

# Combined with another filter (the engines get that one).
out=$(timeout 30 docker ps --filter label=io.dockmux.backend=b \
    --filter "name=$b1" --format "$fmt") ||
    t_fail "docker ps with backend and name filters failed"
t_expect_eq "backend=b plus name filter" "$b1 b" "$out"
