#!/bin/bash
# The admin CLI over /_dockmux/: `dockmux backends` (table, --json),
# `dockmux routes` (table, --backend filter, --json), `dockmux explain`
# (isolation label, a platform no backend serves -> exit 1 naming a peer,
# a plain image, --body) which creates nothing, /_dockmux/metrics names
# and counting, and -H at a plain engine -> "not a dockmux socket".
# A private dockmuxd: a (primary) and b offering the isolation "vm".
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

tag=admincli-$$
sock=$T_TMP/admin.sock
cfg=$T_TMP/admin.json
rig_write_config_vm "$cfg" "$sock" "$T_TMP/admin.db"
rig_dockmuxd_start "$cfg" "$tag"
DMX=$BUILD/dockmux
export DOCKMUX_HOST=unix://$sock
D() { docker -H "unix://$sock" "$@"; }

na=$T_PREFIX-on-a
nb=$T_PREFIX-on-b
cleanup_mine() {
	D rm -f "$na" "$nb" >/dev/null 2>&1 || true
}
trap 'rc=$?; set +e; cleanup_mine; (exit $rc); t_cleanup' EXIT

# ---- backends -------------------------------------------------------------
out=$("$DMX" backends) || t_fail "dockmux backends failed"
printf '%s\n' "$out"
head -n1 <<<"$out" | grep -qE '^NAME +ENDPOINT +TRANSPORT +OS +ARCH +STATE +API' ||
    t_fail "backends: unexpected table head: $(head -n1 <<<"$out")"
grep -qE "^a +unix://$ENGINE_A_SOCK +unix +linux +[a-z0-9_]+ +up " <<<"$out" ||
    t_fail "backends: no row 'a ... up'"
grep -qE "^b +unix://$ENGINE_B_SOCK +unix +linux +[a-z0-9_]+ +up " <<<"$out" ||
    t_fail "backends: no row 'b ... up'"
# Aligned: the ENDPOINT column starts at the same offset on every line.
[ "$(awk '{ print index($0, $2) }' <<<"$out" | sort -u | wc -l)" -eq 1 ] ||
    t_fail "backends: columns not aligned"
"$DMX" backends --json | python3 -c '
import json, sys
b = json.load(sys.stdin)
assert [x["name"] for x in b] == ["a", "b"], b
assert [x["primary"] for x in b] == [True, False], b
for x in b:
    assert x["state"] == "up", x
    for k in ("endpoint", "os", "arch", "api_version", "server_version",
              "since", "failures", "error", "routes"):
        assert k in x, (k, x)
' || t_fail "backends --json: unexpected shape"

# ---- routes ---------------------------------------------------------------
D create --name "$na" busybox true >/dev/null || t_fail "create on a"
D create --name "$nb" --label io.dockmux.isolation=vm busybox true \
    >/dev/null || t_fail "create with isolation=vm"
ida=$(D inspect -f '{{.Id}}' "$na")
idb=$(D inspect -f '{{.Id}}' "$nb")
out=$("$DMX" routes) || t_fail "dockmux routes failed"
printf '%s\n' "$out"
head -n1 <<<"$out" | grep -qE '^ID +NAME +BACKEND +RULE +IMAGE +CREATED$' ||
    t_fail "routes: unexpected table head: $(head -n1 <<<"$out")"
grep -qE "^${ida:0:12} +$na +a +[a-z-]+ +busybox +20[0-9-]+T" <<<"$out" ||
    t_fail "routes: no row for $na on a"
grep -qE "^${idb:0:12} +$nb +b +isolation +busybox " <<<"$out" ||
    t_fail "routes: no row for $nb on b by isolation"
out=$("$DMX" routes --backend b) || t_fail "dockmux routes --backend b"
grep -q "$nb" <<<"$out" || t_fail "routes --backend b: $nb missing"
! grep -q "$na" <<<"$out" || t_fail "routes --backend b lists $na (on a)"
"$DMX" routes --backend a --json | python3 -c '
import json, sys
r = json.load(sys.stdin)
ids = [x["id"] for x in r]
assert sys.argv[1] in ids and sys.argv[2] not in ids, ids
assert all(x["backend"] == "a" and x["orphaned"] is False for x in r), r
' "$ida" "$idb" || t_fail "routes --backend a --json: unexpected"
out=$("$DMX" routes --rule isolation) || t_fail "routes --rule isolation"
grep -q "$nb" <<<"$out" && ! grep -q "$na" <<<"$out" ||
    t_fail "routes --rule isolation: wrong rows: $out"

# ---- explain: decides, creates nothing ------------------------------------
count() { docker -H "unix://$1" ps -aq | wc -l; }
before="$(count "$ENGINE_A_SOCK") $(count "$ENGINE_B_SOCK")"

out=$("$DMX" explain --label io.dockmux.isolation=vm busybox) ||
    t_fail "explain isolation=vm: exit $?"
t_expect_eq "explain --label io.dockmux.isolation=vm" \
    "backend: b  rule: isolation" "$out"
out=$("$DMX" explain -l io.dockmux.backend=b --name "$T_PREFIX-x" busybox \
    sh -c 'echo not run') || t_fail "explain pin: exit $?"
t_expect_eq "explain -l io.dockmux.backend=b" "backend: b  rule: pin" "$out"
out=$("$DMX" explain busybox) || t_fail "explain busybox: exit $?"
grep -qE '^backend: a  rule: [a-z-]+$' <<<"$out" ||
    t_fail "explain busybox: expected backend a, got '$out'"

rc=0
err=$("$DMX" explain --platform windows/amd64 busybox 2>&1 >/dev/null) || rc=$?
t_expect_eq "explain --platform windows/amd64: exit status" 1 "$rc"
grep -qi 'peer' <<<"$err" ||
    t_fail "explain windows/amd64: error does not mention a peer: $err"
grep -q 'windows' <<<"$err" || t_fail "explain windows: error: $err"

rc=0
out=$("$DMX" explain --json --platform windows/amd64 busybox) || rc=$?
t_expect_eq "explain --json windows: exit status" 1 "$rc"
python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert o["route_to_peer"] == "windows" and o["status"] >= 400, o
' "$out" || t_fail "explain --json windows: $out"
out=$("$DMX" explain --json busybox) || t_fail "explain --json busybox"
python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert o["backend"] == "a" and o["rule"], o
' "$out" || t_fail "explain --json busybox: $out"
out=$(printf '{"Image":"busybox","Labels":{"io.dockmux.isolation":"vm"}}' |
    "$DMX" explain --body -) || t_fail "explain --body -: exit $?"
t_expect_eq "explain --body -" "backend: b  rule: isolation" "$out"
rc=0
"$DMX" explain --body - <<<'not json' >/dev/null 2>&1 || rc=$?
t_expect_eq "explain --body with bad JSON: exit status" 1 "$rc"
rc=0
"$DMX" explain >/dev/null 2>&1 || rc=$?
t_expect_eq "explain without IMAGE: exit status (usage)" 2 "$rc"

after="$(count "$ENGINE_A_SOCK") $(count "$ENGINE_B_SOCK")"
t_expect_eq "containers on a and b after explain" "$before" "$after"
if D inspect "$T_PREFIX-x" >/dev/null 2>&1; then
	t_fail "explain --name created $T_PREFIX-x"
fi

# ---- metrics --------------------------------------------------------------
metrics() { curl -sS -m 10 --unix-socket "$sock" http://dmx/_dockmux/metrics; }
m=$(metrics) || t_fail "GET /_dockmux/metrics"
for name in dockmux_requests_total dockmux_request_duration_seconds_bucket \
    dockmux_request_duration_seconds_sum \
    dockmux_request_duration_seconds_count dockmux_active_streams \
    dockmux_backend_up dockmux_store_routes dockmux_store_bytes; do
	grep -qE "^$name(\{| )" <<<"$m" || t_fail "metrics: no $name sample"
done
grep -q '^# TYPE dockmux_reads_served_total counter$' <<<"$m" ||
    t_fail "metrics: no dockmux_reads_served_total"
grep -q '^# TYPE dockmux_request_duration_seconds histogram$' <<<"$m" ||
    t_fail "metrics: dockmux_request_duration_seconds is not a histogram"
grep -qE '^dockmux_backend_up\{backend="b"\} 1$' <<<"$m" ||
    t_fail "metrics: dockmux_backend_up{backend=\"b\"} is not 1"
grep -qE '^dockmux_store_routes 2$' <<<"$m" ||
    t_fail "metrics: dockmux_store_routes is not 2"
series='dockmux_requests_total{class="per_container",backend="a",status="200"}'
value() { awk -v s="$series" '$1 == s { print $2 }' <<<"$1"; }
v0=$(value "$m")
D inspect "$na" >/dev/null || t_fail "inspect $na"
v1=$(value "$(metrics)")
[ "${v1:-0}" -gt "${v0:-0}" ] ||
    t_fail "metrics: $series did not grow after an inspect (${v0:-none} -> ${v1:-none})"

# ---- a socket that is not dockmuxd's --------------------------------------
rc=0
err=$("$DMX" -H "unix://$ENGINE_A_SOCK" backends 2>&1) || rc=$?
[ "$rc" -ne 0 ] || t_fail "dockmux -H <engine socket> backends exited 0"
grep -q 'not a dockmux socket' <<<"$err" ||
    t_fail "dockmux -H <engine socket>: expected 'not a dockmux socket', got: $err"
[ "$(wc -l <<<"$err")" -eq 1 ] || t_fail "not one line: $err"
rc=0
err=$("$DMX" -H "unix://$T_TMP/nothing.sock" routes 2>&1) || rc=$?
[ "$rc" -ne 0 ] || t_fail "dockmux -H <no socket> routes exited 0"
grep -q 'cannot connect' <<<"$err" || t_fail "no socket: $err"
echo "ok"
