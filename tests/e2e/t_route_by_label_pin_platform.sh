#!/bin/bash
# Create-time routing through the real docker CLI: an isolation label lands
# on the backend offering that isolation, a pin label on the named backend,
# no label on the primary; an unknown pin fails naming it; --platform picks
# the first backend serving it or answers 404 route-to-peer; every
# successful create names its backend and rule in X-Dockmux-Backend and
# X-Dockmux-Rule.  Placement is checked by asking each engine directly.
#
# Needs b to offer isolation "vm": runs its own dockmuxd (own socket and
# store) in front of the rig's engines a and b.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

# ---- helpers --------------------------------------------------------------

# Containers this test made go directly on the engines too, whatever
# dockmuxd's store thinks.
# on_engines NAME: the engines (a, b) that have a container NAME, asked
# directly; "" when none.
on_engines() {
	local out=""
	docker -H "unix://$ENGINE_A_SOCK" inspect "$1" >/dev/null 2>&1 &&
	    out="a"
	docker -H "unix://$ENGINE_B_SOCK" inspect "$1" >/dev/null 2>&1 &&
	    out="${out:+$out }b"
	printf '%s\n' "$out"
}

# The value of response header $1 in the curl -si output file $2.
header() {
	awk -v h="$1" 'BEGIN { IGNORECASE = 1 }
	    tolower($0) ~ "^" tolower(h) ":" {
	        sub(/^[^:]*:[ \t]*/, ""); sub(/\r$/, ""); print; exit }' "$2"
}

status_of() {
	awk 'NR == 1 { print $2; exit }' "$1"
}

# ---- own dockmuxd: a primary, b offers isolation "vm" ---------------------

tag=route-lpp-$$
sock=$T_TMP/d.sock
cfg=$T_TMP/dockmux.json
rig_write_config_vm "$cfg" "$sock" "$T_TMP/dockmux.db"
rig_dockmuxd_start "$cfg" "$tag"
DOCKER_HOST=unix://$sock
export DOCKER_HOST

# ---- labels ---------------------------------------------------------------

c=$(t_name iso)
timeout 60 docker run -d --name "$c" --label io.dockmux.isolation=vm \
    busybox sleep 300 >/dev/null || t_fail "docker run --label io.dockmux.isolation=vm failed"
t_expect_eq "isolation=vm placement" b "$(on_engines "$c")"

# Isolation values compare case-insensitively.
c=$(t_name iso-upper)
timeout 60 docker run -d --name "$c" --label io.dockmux.isolation=VM \
    busybox sleep 300 >/dev/null || t_fail "docker run --label io.dockmux.isolation=VM failed"
t_expect_eq "isolation=VM placement" b "$(on_engines "$c")"

c=$(t_name pin-b)
timeout 60 docker run -d --name "$c" --label io.dockmux.backend=b \
    busybox sleep 300 >/dev/null || t_fail "docker run --label io.dockmux.backend=b failed"
t_expect_eq "pin b placement" b "$(on_engines "$c")"

c=$(t_name nolabel)
timeout 60 docker run -d --name "$c" busybox sleep 300 >/dev/null ||
    t_fail "docker run without labels failed"
t_expect_eq "no-label placement (primary)" a "$(on_engines "$c")"

# An isolation nobody offers falls through to the other rules: primary.
c=$(t_name iso-none)
timeout 60 docker run -d --name "$c" --label io.dockmux.isolation=gvisor \
    busybox sleep 300 >/dev/null || t_fail "docker run --label io.dockmux.isolation=gvisor failed"
t_expect_eq "isolation=gvisor placement (falls through)" a "$(on_engines "$c")"

c=$(t_name pin-nope)
rc=0
err=$(timeout 60 docker run -d --name "$c" --label io.dockmux.backend=nope \
    busybox sleep 300 2>&1) || rc=$?
[ "$rc" -ne 0 ] || t_fail "docker run --label io.dockmux.backend=nope succeeded: $err"
grep -q nope <<<"$err" || t_fail "pin to unknown backend: error does not name it: '$err'"
t_expect_eq "pin nope created nothing" "" "$(on_engines "$c")"

# ---- --platform -----------------------------------------------------------

c=$(t_name plat-amd64)
timeout 60 docker run -d --name "$c" --platform linux/amd64 \
    busybox sleep 300 >/dev/null || t_fail "docker run --platform linux/amd64 failed"
t_expect_eq "platform linux/amd64 placement" a "$(on_engines "$c")"

c=$(t_name plat-windows)
rc=0
err=$(timeout 60 docker run -d --name "$c" --platform windows/amd64 \
    busybox sleep 300 2>&1) || rc=$?
[ "$rc" -ne 0 ] || t_fail "docker run --platform windows/amd64 succeeded: $err"
grep -q "configure a backend" <<<"$err" ||
    t_fail "platform windows: no 'configure a backend' remedy in '$err'"
grep -q "peer" <<<"$err" ||
    t_fail "platform windows: no 'peer' remedy in '$err'"
t_expect_eq "platform windows created nothing" "" "$(on_engines "$c")"

# ---- the same through the API: status and headers -------------------------

resp=$T_TMP/resp
body='{"Image":"busybox","Cmd":["true"]}'

c=$(t_name api-windows)
curl -sSi -m 60 --unix-socket "$sock" -X POST \
    -H 'Content-Type: application/json' -d "$body" \
    "http://dockmux/containers/create?platform=windows/amd64&name=$c" \
    >"$resp" || t_fail "curl create platform=windows/amd64 failed"
t_expect_eq "platform=windows/amd64 status" 404 "$(status_of "$resp")"
t_expect_eq "X-Dockmux-Route-To-Peer" windows \
    "$(header X-Dockmux-Route-To-Peer "$resp")"
grep -q "configure a backend" "$resp" ||
    t_fail "404 body lacks 'configure a backend': $(cat "$resp")"
grep -q "peer" "$resp" || t_fail "404 body lacks 'peer': $(cat "$resp")"
t_expect_eq "api platform windows created nothing" "" "$(on_engines "$c")"

# api_create SUFFIX QUERY LABELS-JSON WANT-BACKEND WANT-RULE
api_create() {
	local c b j
	c=$(t_name "$1")
	if [ -n "$3" ]; then
		j="{\"Image\":\"busybox\",\"Cmd\":[\"true\"],\"Labels\":$3}"
	else
		j=$body
	fi
	curl -sSi -m 60 --unix-socket "$sock" -X POST \
	    -H 'Content-Type: application/json' -d "$j" \
	    "http://dockmux/containers/create?name=$c${2:+&$2}" >"$resp" ||
	    t_fail "curl create ($1) failed"
	t_expect_eq "create ($1) status" 201 "$(status_of "$resp")"
	b=$(header X-Dockmux-Backend "$resp")
	t_expect_eq "create ($1) X-Dockmux-Backend" "$4" "$b"
	t_expect_eq "create ($1) X-Dockmux-Rule" "$5" \
	    "$(header X-Dockmux-Rule "$resp")"
	t_expect_eq "create ($1) placement" "$4" "$(on_engines "$c")"
}

api_create api-plain "" "" a image-os
api_create api-iso "" '{"io.dockmux.isolation":"vm"}' b isolation
api_create api-pin "" '{"io.dockmux.backend":"b"}' b pin
api_create api-pin-a "" '{"io.dockmux.backend":"a"}' a pin
api_create api-platform "platform=linux/amd64" "" a platform

# The pin error as the API gives it: 400 naming the backend, nothing made.
c=$(t_name api-nope)
curl -sSi -m 60 --unix-socket "$sock" -X POST \
    -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","Labels":{"io.dockmux.backend":"nope"}}' \
    "http://dockmux/containers/create?name=$c" >"$resp" ||
    t_fail "curl create pin=nope failed"
t_expect_eq "pin=nope status" 400 "$(status_of "$resp")"
grep -q '"message":".*nope' "$resp" || t_fail "pin=nope body: $(cat "$resp")"
t_expect_eq "api pin nope created nothing" "" "$(on_engines "$c")"

# A platform dockerd cannot parse: its status, through dockmuxd too.
for plat in foo linux/amd64/v2/x; do
	for what in "images/create?fromImage=busybox&tag=latest" \
	    "containers/create?name=$T_PREFIX-badplat"; do
		d=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
		    -H 'Content-Type: application/json' -d '{"Image":"busybox"}' \
		    --unix-socket "$ENGINE_A_SOCK" \
		    "http://d/v1.41/$what&platform=$plat" 2>/dev/null)
		v=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
		    -H 'Content-Type: application/json' -d '{"Image":"busybox"}' \
		    --unix-socket "$sock" "http://d/v1.41/$what&platform=$plat")
		t_expect_eq "POST /$what platform=$plat status" "$d" "$v"
	done
done
