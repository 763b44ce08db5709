#!/bin/bash
# dockmuxd refuses bad config files with a non-zero exit and one line naming
# the problem key; --check-config accepts a good file.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

bin=$BUILD/dockmuxd
sock=$T_TMP/bad.sock
store=$T_TMP/bad.db
be_a="{ \"name\": \"a\", \"endpoint\": \"unix://$ENGINE_A_SOCK\" }"
be_b="{ \"name\": \"b\", \"endpoint\": \"unix://$ENGINE_B_SOCK\" }"
head="\"listen\": \"unix://$sock\", \"store\": \"$store\""

# expect_refused CASE WORD... : the file $T_TMP/CASE.json is refused, in one
# stderr line containing every WORD (case-insensitive).
expect_refused() {
	local cname=$1 f=$T_TMP/$1.json rc=0 w lines mode
	shift
	for mode in --config --check-config; do
		rc=0
		if [ "$mode" = --config ]; then
			timeout 10 "$bin" --config "$f" >"$T_TMP/out" 2>"$T_TMP/err" || rc=$?
		else
			timeout 10 "$bin" --check-config --config "$f" >"$T_TMP/out" 2>"$T_TMP/err" || rc=$?
		fi
		[ "$rc" -ne 124 ] || t_fail "$cname ($mode): dockmuxd started instead of refusing"
		[ "$rc" -ne 0 ] || t_fail "$cname ($mode): exit status 0"
		[ "$rc" -lt 128 ] || t_fail "$cname ($mode): killed by signal $((rc - 128))"
		lines=$(grep -c . "$T_TMP/err" || true)
		[ "$lines" -eq 1 ] ||
		    t_fail "$cname ($mode): $lines lines on stderr, want 1: $(cat "$T_TMP/err")"
		for w in "$@"; do
			grep -qiF -- "$w" "$T_TMP/err" ||
			    t_fail "$cname ($mode): '$w' not named in: $(cat "$T_TMP/err")"
		done
	done
	if [ -S "$sock" ] && rig_ping "$sock"; then
		t_fail "$cname: something answers on $sock"
	fi
}

printf '{ %s, "backends": [ %s, ' "$head" "$be_a" >"$T_TMP/syntax.json"
expect_refused syntax

printf '{ %s, "listne": "x", "backends": [ %s ] }' "$head" "$be_a" >"$T_TMP/unknown_key.json"
expect_refused unknown_key listne

printf '{ %s, "backends": [ { "name": "a", "endpoint": "unix://%s", "colour": "red" } ] }' \
    "$head" "$ENGINE_A_SOCK" >"$T_TMP/unknown_backend_key.json"
expect_refused unknown_backend_key colour

printf '{ %s, "isolation_labels": "io.dockmux.isolation", "backends": [ %s ] }' \
    "$head" "$be_a" >"$T_TMP/wrong_type.json"
expect_refused wrong_type isolation_labels

printf '{ %s, "backends": [ { "name": "a", "endpoint": 5 } ] }' \
    "$head" >"$T_TMP/wrong_type_nested.json"
expect_refused wrong_type_nested endpoint

printf '{ %s, "backends": [ %s, { "name": "a", "endpoint": "unix://%s" } ] }' \
    "$head" "$be_a" "$ENGINE_B_SOCK" >"$T_TMP/duplicate_name.json"
expect_refused duplicate_name name

printf '{ %s, "unknown_os_backend": "nosuch", "backends": [ %s, %s ] }' \
    "$head" "$be_a" "$be_b" >"$T_TMP/unknown_os_backend.json"
expect_refused unknown_os_backend unknown_os_backend

# A good file passes --check-config, which does not start serving.
printf '{ %s, "unknown_os_backend": "b", "backends": [ %s, %s ] }' \
    "$head" "$be_a" "$be_b" >"$T_TMP/good.json"
rc=0
timeout 10 "$bin" --check-config --config "$T_TMP/good.json" >"$T_TMP/out" 2>"$T_TMP/err" || rc=$?
t_expect_eq "--check-config on a good file: exit status ($(cat "$T_TMP/err"))" 0 "$rc"
if [ -S "$sock" ] && rig_ping "$sock"; then
	t_fail "--check-config started serving on $sock"
fi
rig_write_config "$T_TMP/std.json" >/dev/null
rc=0
timeout 10 "$bin" --check-config -c "$T_TMP/std.json" >"$T_TMP/out" 2>"$T_TMP/err" || rc=$?
t_expect_eq "--check-config -c on rig_write_config's file ($(cat "$T_TMP/err"))" 0 "$rc"
