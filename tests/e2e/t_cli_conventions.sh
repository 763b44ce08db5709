#!/bin/bash
# dockmux and dockmuxd follow the docker CLI's conventions: --version;
# help, -h, --help (and `dockmux CMD --help`, `dockmux help CMD`) on stdout
# with exit 0; a usage error named on stderr with "See '... --help'.", exit
# 2 in both tools; `routes --rule` / `--backend` that name nothing exit 1
# listing what there is; `dockmux status` exits 0 all up, 1 with a backend
# down, 2 without dockmuxd; --json of every listing parses; `routes
# --no-trunc` prints 64-hex IDs (every listing takes the flag); dockmuxd
# -H (repeatable, unix and tcp) and --store replace the file's listen and
# store, also across a reload.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

DMX=$BUILD/dockmux
DMXD=$BUILD/dockmuxd
export DOCKMUX_HOST=unix://$DOCKMUX_SOCK	# the shared dockmuxd: a, b up
pid=""
stop_mine() {
	t_stop_pid "$pid"
	pid=""
}
trap 'rc=$?; set +e; stop_mine; (exit $rc); t_cleanup' EXIT

# run WHAT CMD...: CMD's stdout in $out, stderr in $err, status in $rc.
run() {
	shift
	rc=0
	"$@" >"$T_TMP/out" 2>"$T_TMP/err" || rc=$?
	out=$(cat "$T_TMP/out")
	err=$(cat "$T_TMP/err")
}

# ---- --version ------------------------------------------------------------
run "dockmux --version" "$DMX" --version
t_expect_eq "dockmux --version: exit status" 0 "$rc"
grep -qE '^dockmux [0-9]+\.[0-9]+\.[0-9]+$' <<<"$out" ||
    t_fail "dockmux --version: '$out'"
run "dockmuxd --version" "$DMXD" --version
t_expect_eq "dockmuxd --version: exit status" 0 "$rc"
grep -qE '^dockmuxd [0-9]+\.[0-9]+\.[0-9]+$' <<<"$out" ||
    t_fail "dockmuxd --version: '$out'"

# ---- help: stdout, exit 0 -------------------------------------------------
help_ok() {
	local what=$1
	run "$@"
	t_expect_eq "$what: exit status" 0 "$rc"
	[ -z "$err" ] || t_fail "$what: wrote to stderr: $err"
	grep -q '^Usage:' <<<"$out" || t_fail "$what: no Usage: on stdout: $out"
}
help_ok "dockmux --help" "$DMX" --help
grep -qE '^  status +' <<<"$out" || t_fail "dockmux --help lists no status"
help_ok "dockmux -h" "$DMX" -h
help_ok "dockmux help" "$DMX" help
help_ok "dockmux backends --help" "$DMX" backends --help
help_ok "dockmux routes -h" "$DMX" routes -h
grep -q -- '--no-trunc' <<<"$out" || t_fail "routes -h: no --no-trunc"
help_ok "dockmux help routes" "$DMX" help routes
help_ok "dockmux status --help" "$DMX" status --help
help_ok "dockmux explain --help" "$DMX" explain --help
help_ok "dockmuxd --help" "$DMXD" --help
grep -q -- '--store PATH' <<<"$out" || t_fail "dockmuxd --help: no --store"
help_ok "dockmuxd -h" "$DMXD" -h
help_ok "dockmuxd help" "$DMXD" help

# ---- usage errors: stderr, exit 2, in both tools --------------------------
# usage_error WHAT WANT CMD...: exit 2, nothing on stdout, WANT on stderr.
usage_error() {
	local what=$1 want=$2
	shift 2
	run "$what" "$@"
	t_expect_eq "$what: exit status" 2 "$rc"
	[ -z "$out" ] || t_fail "$what: wrote to stdout: $out"
	grep -qF -- "$want" <<<"$err" || t_fail "$what: expected '$want', got: $err"
}
usage_error "dockmux --bogus" "dockmux: unknown flag: --bogus" "$DMX" --bogus
grep -qx "See 'dockmux --help'." <<<"$err" || t_fail "dockmux --bogus: $err"
usage_error "dockmux routes --bogus" "dockmux: unknown flag: --bogus" \
    "$DMX" routes --bogus
grep -qx "See 'dockmux routes --help'." <<<"$err" ||
    t_fail "dockmux routes --bogus: $err"
usage_error "dockmux routes --backend" \
    "dockmux: flag needs an argument: --backend" "$DMX" routes --backend
usage_error "dockmux routes extra" '"dockmux routes" accepts no arguments.' \
    "$DMX" routes extra
usage_error "dockmux explain" '"dockmux explain" requires at least 1 argument' \
    "$DMX" explain
usage_error "dockmux status -x" "unknown shorthand flag: 'x'" "$DMX" status -x
usage_error "dockmux nosuchcmd" "'nosuchcmd' is not a dockmux command" \
    "$DMX" nosuchcmd
usage_error "dockmuxd --bogus" "dockmuxd: unknown flag: --bogus" "$DMXD" --bogus
grep -qx "See 'dockmuxd --help'." <<<"$err" || t_fail "dockmuxd --bogus: $err"
usage_error "dockmuxd -c" "dockmuxd: flag needs an argument: -c" "$DMXD" -c
usage_error "dockmuxd extra" '"dockmuxd" accepts no arguments.' "$DMXD" extra
usage_error "dockmuxd --log-level loud" 'invalid argument "loud" for "--log-level"' \
    "$DMXD" --log-level loud
usage_error "dockmuxd -H unix://relative" 'for "-H, --host" flag' \
    "$DMXD" -H unix://relative

# ---- values that name nothing: exit 1, naming what there is --------------
run "routes --backend nosuch" "$DMX" routes --backend nosuch
t_expect_eq "routes --backend nosuch: exit status" 1 "$rc"
grep -q '"nosuch".*a, b' <<<"$err" || t_fail "routes --backend nosuch: $err"
run "routes --rule bogus" "$DMX" routes --rule bogus
t_expect_eq "routes --rule bogus: exit status" 1 "$rc"
for r in pin isolation marker platform image-os default adopted; do
	grep -qw -- "$r" <<<"$err" || t_fail "routes --rule bogus: no '$r' in: $err"
done
run "routes --rule pin" "$DMX" routes --rule pin
t_expect_eq "routes --rule pin: exit status" 0 "$rc"

# ---- --json parses; --no-trunc --------------------------------------------
n=$(t_name notrunc)
docker create --name "$n" --label io.dockmux.backend=b busybox true \
    >/dev/null || t_fail "create $n"
id=$(docker inspect -f '{{.Id}}' "$n")
isjson() { python3 -c 'import json, sys; json.load(sys.stdin)'; }
for cmd in backends routes networks volumes status; do
	"$DMX" "$cmd" --json | isjson || t_fail "dockmux $cmd --json: not JSON"
done
for cmd in backends routes networks volumes; do
	"$DMX" "$cmd" --no-trunc >/dev/null || t_fail "dockmux $cmd --no-trunc"
done
"$DMX" explain --json busybox | isjson || t_fail "explain --json: not JSON"
out=$("$DMX" routes --no-trunc --name "$n") || t_fail "routes --no-trunc"
grep -qE "^$id +$n +b +pin " <<<"$out" ||
    t_fail "routes --no-trunc: no whole ID $id: $out"
grep -qE '^[0-9a-f]{64} ' <<<"$(tail -n +2 <<<"$out")" ||
    t_fail "routes --no-trunc: not 64 hex digits"
out=$("$DMX" routes --name "$n") || t_fail "routes"
grep -qE "^${id:0:12} +$n " <<<"$out" || t_fail "routes: ID not cut to 12: $out"

# ---- status: 0 all up, 1 degraded, 2 no dockmuxd --------------------------
run "status (a, b up)" "$DMX" status
t_expect_eq "status with a and b up: exit status ($err)" 0 "$rc"
grep -qE '^a +up +unix$' <<<"$out" || t_fail "status: no 'a up unix': $out"
grep -qE '^b +up +unix$' <<<"$out" || t_fail "status: no 'b up unix': $out"
run "status, no dockmuxd" "$DMX" -H "unix://$T_TMP/nothing.sock" status
t_expect_eq "status without dockmuxd: exit status" 2 "$rc"
grep -q 'cannot connect' <<<"$err" || t_fail "status without dockmuxd: $err"
run "status, an engine's socket" "$DMX" -H "unix://$ENGINE_A_SOCK" status
t_expect_eq "status on an engine's socket: exit status" 2 "$rc"

# A private dockmuxd: backends a and c (nobody listens on c's socket),
# started with -H twice (unix, tcp on loopback) and --store, over a file
# naming another listen and store.
cfg=$T_TMP/conv.json
rig_write_config_for "$cfg" "$T_TMP/file.sock" "$T_TMP/file.db" \
    "a=$ENGINE_A_SOCK" "c=$T_TMP/nobody.sock"
hsock=$T_TMP/h1.sock
port=$(rig_free_port)
setsid "$DMXD" -c "$cfg" -H "unix://$hsock" --host "tcp://127.0.0.1:$port" \
    --store "$T_TMP/h.db" >"$T_TMP/conv.log" 2>&1 </dev/null &
pid=$!
t_wait_for 20 rig_ping "$hsock" ||
    t_fail "nothing answers on -H unix://$hsock: $(cat "$T_TMP/conv.log")"
[ "$(curl -s -m 5 "http://127.0.0.1:$port/_dockmux/ping")" = OK ] ||
    t_fail "nothing answers on -H tcp://127.0.0.1:$port"
[ ! -e "$T_TMP/file.sock" ] || t_fail "dockmuxd bound the file's listen"
[ -s "$T_TMP/h.db" ] || t_fail "no store at --store $T_TMP/h.db"
[ ! -e "$T_TMP/file.db" ] || t_fail "dockmuxd made the file's store"

run "status (c down)" "$DMX" -H "unix://$hsock" status
t_expect_eq "status with c down: exit status" 1 "$rc"
grep -qE '^a +up +unix$' <<<"$out" || t_fail "status, c down: $out"
grep -qE "^c +down +unix +cannot connect to $T_TMP/nobody.sock" <<<"$out" ||
    t_fail "status, c down: no reason for c: $out"
run "status --json (c down)" "$DMX" -H "unix://$hsock" status --json
t_expect_eq "status --json with c down: exit status" 1 "$rc"
python3 -c '
import json, sys
b = {x["name"]: x["state"] for x in json.loads(sys.argv[1])}
assert b == {"a": "up", "c": "down"}, b
' "$out" || t_fail "status --json: $out"

# A reload keeps -H and --store: nothing to restart for.
kill -HUP "$pid"
t_wait_for 20 grep -q 'msg="configuration reloaded"' "$T_TMP/conv.log" ||
    t_fail "no reload: $(cat "$T_TMP/conv.log")"
! grep -q 'restart to apply' "$T_TMP/conv.log" ||
    t_fail "reload took -H/--store for a change: $(grep restart "$T_TMP/conv.log")"
rig_ping "$hsock" || t_fail "-H socket gone after the reload"
stop_mine

# --check-config applies -H, and the file's rule for plain TCP.
run "--check-config -H tcp://0.0.0.0" "$DMXD" --check-config -c "$cfg" \
    -H tcp://0.0.0.0:2375
t_expect_eq "--check-config -H tcp://0.0.0.0:2375: exit status" 1 "$rc"
grep -q 'plain TCP beyond loopback' <<<"$err" || t_fail "plain TCP: $err"
echo "ok"
