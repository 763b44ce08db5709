#!/bin/bash
# SIGHUP reloads the config: a backend added is listed and takes pinned
# creates; a backend removed leaves its routes listed as orphaned, and
# requests for its containers answer 503 naming it; a bad config is
# refused (log line), the running one kept, and dockmuxd keeps serving.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

tag=reload-$$
sock=$T_TMP/reload.sock
cfg=$T_TMP/reload.json
store=$T_TMP/reload.db
log=$RIG_DIR/$tag.log
write_cfg() { rig_write_config_for "$cfg.new" "$sock" "$store" "$@" &&
    mv -f "$cfg.new" "$cfg"; }
write_cfg "a=$ENGINE_A_SOCK"
rig_dockmuxd_start "$cfg" "$tag"
pid=$(cat "$RIG_DIR/$tag.pid")
DMX() { "$BUILD/dockmux" -H "unix://$sock" "$@"; }
D() { docker -H "unix://$sock" "$@"; }
n1=$T_PREFIX-on-a
n2=$T_PREFIX-on-b
cleanup_mine() {
	D rm -f "$n1" >/dev/null 2>&1 || true
	docker -H "unix://$ENGINE_B_SOCK" rm -f "$n2" >/dev/null 2>&1 || true
}
trap 'rc=$?; set +e; cleanup_mine; (exit $rc); t_cleanup' EXIT

backend_names() {
	DMX backends --json | python3 -c '
import json, sys
print(" ".join(b["name"] + ":" + b["state"] for b in json.load(sys.stdin)))'
}
t_expect_eq "backends before the reload" "a:up" "$(backend_names)"
D run -d --name "$n1" busybox sleep 300 >/dev/null || t_fail "run on a"

# ---- add b ----------------------------------------------------------------
write_cfg "a=$ENGINE_A_SOCK" "b=$ENGINE_B_SOCK"
kill -HUP "$pid"
has_b_up() { [ "$(backend_names)" = "a:up b:up" ]; }
t_wait_for 15 has_b_up || t_fail "after SIGHUP: backends are '$(backend_names)'"
DMX backends | grep -qE "^b +unix://$ENGINE_B_SOCK " ||
    t_fail "dockmux backends (table) does not list b"
D run -d --name "$n2" --label io.dockmux.backend=b busybox sleep 300 \
    >/dev/null || t_fail "create pinned to the added backend b"
docker -H "unix://$ENGINE_B_SOCK" inspect "$n2" >/dev/null ||
    t_fail "$n2 is not on engine b"
D exec "$n2" true || t_fail "exec in $n2 through dockmuxd"
DMX routes --backend b | grep -qE " $n2 +b +pin " ||
    t_fail "routes: $n2 not listed on b (pin)"
D inspect "$n1" >/dev/null || t_fail "$n1 (on a) lost across the reload"

# ---- remove b -------------------------------------------------------------
write_cfg "a=$ENGINE_A_SOCK"
kill -HUP "$pid"
no_b() { [ "$(backend_names)" = "a:up" ]; }
t_wait_for 15 no_b || t_fail "after removing b: backends are '$(backend_names)'"
out=$(DMX routes) || t_fail "dockmux routes after removing b"
printf '%s\n' "$out"
grep -qE " $n2 +b \(orphaned\) " <<<"$out" ||
    t_fail "routes: $n2 not marked orphaned"
grep -qE " $n1 +a " <<<"$out" || t_fail "routes: $n1 missing"
DMX routes --json | python3 -c '
import json, sys
r = {x["name"].lstrip("/"): x for x in json.load(sys.stdin)}
assert r[sys.argv[1]]["orphaned"] is True, r
assert r[sys.argv[2]]["orphaned"] is False, r
' "$n2" "$n1" || t_fail "routes --json: orphaned flags wrong"
grep -q 'routes kept for backends no longer configured' "$log" ||
    t_fail "no log line about the orphaned routes"
# A request for the orphaned container: 503 naming b, at once.
t0=$(rig_now_ms)
resp=$(curl -sS -m 10 -w '\n%{http_code}' --unix-socket "$sock" \
    "http://dmx/v1.41/containers/$n2/json") || t_fail "curl inspect $n2"
ms=$(( $(rig_now_ms) - t0 ))
code=${resp##*$'\n'}
body=${resp%$'\n'*}
echo "inspect $n2 -> $code in $ms ms: $body"
t_expect_eq "inspect of a container on a removed backend: status" 503 "$code"
grep -q '"message"' <<<"$body" || t_fail "503 without a JSON message: $body"
grep -q 'backend b' <<<"$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["message"])' "$body")" ||
    t_fail "503 does not name backend b: $body"
rc=0
err=$(D stop -t 1 "$n2" 2>&1) || rc=$?
kill -0 "$pid" 2>/dev/null ||
    t_fail "dockmuxd died on a second request for a container on a removed backend; docker said: $err; log: $(tail -n 2 "$log")"
[ "$rc" -ne 0 ] || t_fail "docker stop of a container on a removed backend worked"
grep -q 'backend b' <<<"$err" || t_fail "docker stop error does not name b: $err"
hdr=$(curl -sS -m 10 -D - -o /dev/null --unix-socket "$sock" \
    http://dmx/_dockmux/backends)
grep -qi '^X-Dockmux-Warning:.*no longer configured' <<<"$hdr" ||
    t_fail "/_dockmux/backends: no X-Dockmux-Warning about orphans"
D inspect "$n1" >/dev/null || t_fail "$n1 (on a) lost after removing b"

# ---- a bad config is refused ----------------------------------------------
cp "$cfg" "$T_TMP/good.json"
printf '{ "backends": [ { "name": "a" ' >"$cfg"
kill -HUP "$pid"
t_wait_for 10 grep -q 'reload refused; running configuration kept' "$log" ||
    t_fail "bad config: no 'reload refused' log line"
grep 'reload refused' "$log"
kill -0 "$pid" || t_fail "dockmuxd exited on a bad config"
rig_ping "$sock" || t_fail "dockmuxd stopped answering after a bad config"
t_expect_eq "backends after a refused reload" "a:up" "$(backend_names)"
D ps --format '{{.Names}}' | grep -qx "$n1" ||
    t_fail "docker ps after a refused reload does not list $n1"
# An unknown key is refused too (the config is valid JSON).
sed 's/"backends"/"bogus_key": 1, "backends"/' "$T_TMP/good.json" >"$cfg"
n=$(grep -c 'reload refused' "$log")
kill -HUP "$pid"
more_refusals() { [ "$(grep -c 'reload refused' "$log")" -gt "$n" ]; }
t_wait_for 10 more_refusals || t_fail "unknown key: reload not refused"
grep 'reload refused' "$log" | tail -n1 | grep -q 'bogus_key' ||
    t_fail "the refusal does not name the bad key"
D inspect "$n1" >/dev/null || t_fail "inspect after refused reloads"
echo "ok"
