#!/bin/bash
# An image follows its container across engines: built on a (the
# primary), `docker run` pinned to b works the first time, because
# dockmuxd streams the image from a's `docker save` into b's `docker load`
# and creates again, printing a WARNING line that says so.  b reached
# directly refuses the same create (404 "No such image").  Two concurrent
# creates that need the same copy cause exactly one copy.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

A=(docker -H "unix://$ENGINE_A_SOCK")
B=(docker -H "unix://$ENGINE_B_SOCK")
p=$T_PREFIX
IMG=$p-app:1
IMG2=$p-twice:1

t_rmi_at_exit "$IMG" "$IMG2"

# Successful copies a -> b so far, from dockmuxd's metrics.
copies() {
	curl -sf --unix-socket "$DOCKMUX_SOCK" http://d/_dockmux/metrics |
	    awk '/^dockmux_image_copies_total\{from="a",to="b",result="ok"\}/ \
	    { n = $2 } END { print n + 0 }'
}

build() {
	local ctx=$T_TMP/ctx-$2
	mkdir -p "$ctx"
	printf '%s\n' "$2" >"$ctx/file"
	printf 'FROM busybox\nCOPY file /file\n' >"$ctx/Dockerfile"
	out=$(DOCKER_BUILDKIT=0 timeout 120 docker build -t "$1" "$ctx" 2>&1) ||
	    t_fail "docker build -t $1: $out"
	"${A[@]}" image inspect "$1" >/dev/null 2>&1 ||
	    t_fail "built image $1 is not on a"
	if "${B[@]}" image inspect "$1" >/dev/null 2>&1; then
		t_fail "built image $1 is on b already"
	fi
}

create_body() {
	printf '{"Image":"%s","Labels":{"io.dockmux.backend":"b"}}' "$1"
}

build "$IMG" follows

# b reached directly: the create dockmuxd makes work is refused there.
st=$(curl -s -o "$T_TMP/direct.json" -w '%{http_code}' --unix-socket \
    "$ENGINE_B_SOCK" -H 'Content-Type: application/json' \
    -d "$(create_body "$IMG")" http://d/v1.41/containers/create)
t_expect_eq "create on b directly" 404 "$st"
grep -q 'No such image' "$T_TMP/direct.json" ||
    t_fail "b directly: $(cat "$T_TMP/direct.json")"

before=$(copies)
c=$(t_name run)
out=$(timeout 180 docker run --rm --name "$c" --label io.dockmux.backend=b \
    "$IMG" cat /file 2>&1) || t_fail "docker run on b: $out"
grep -qx follows <<<"$out" || t_fail "docker run on b printed: $out"
grep -q "WARNING: dockmux: image $IMG copied from backend a to backend b" \
    <<<"$out" || t_fail "no copy warning from docker run: $out"
"${B[@]}" image inspect "$IMG" >/dev/null 2>&1 ||
    t_fail "after the run, $IMG is not on b"
t_expect_eq "copies after one run" $((before + 1)) "$(copies)"

# The image is there now: the next run copies nothing and warns nothing.
out=$(timeout 60 docker run --rm --label io.dockmux.backend=b "$IMG" \
    cat /file 2>&1) || t_fail "second docker run on b: $out"
t_expect_eq "second run output" follows "$out"
t_expect_eq "copies after a second run" $((before + 1)) "$(copies)"

# Two creates at once that both need the same copy: one copy.
build "$IMG2" twice
before=$(copies)
for i in 1 2; do
	curl -s -o "$T_TMP/c$i.json" -w '%{http_code}' --unix-socket \
	    "$DOCKMUX_SOCK" -H 'Content-Type: application/json' \
	    -d "$(create_body "$IMG2")" \
	    "http://d/v1.41/containers/create?name=$p-twice-$i" \
	    >"$T_TMP/c$i.status" &
done
wait
for i in 1 2; do
	t_expect_eq "concurrent create $i" 201 "$(cat "$T_TMP/c$i.status")"
done
t_expect_eq "copies for two concurrent creates" $((before + 1)) "$(copies)"
for i in 1 2; do
	t_expect_eq "concurrent create $i warns" 1 \
	    "$(jq '[.Warnings[] | select(test("copied from backend a"))] | length' \
	    "$T_TMP/c$i.json")"
	"${B[@]}" inspect "$p-twice-$i" >/dev/null 2>&1 ||
	    t_fail "container $p-twice-$i is not on b"
done
echo "ok: image followed the container to b; concurrent creates shared one copy"
