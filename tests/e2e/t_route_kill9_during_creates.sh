#!/bin/bash
# kill -9 of dockmuxd in the middle of a stream of creates loses no route:
# after a restart on the same store, every container the stream left on
# either engine (asked directly) is routable through dockmuxd by name, to
# the engine that has it (same Id), and that engine is the one its labels
# asked for; none is on both engines.  Creates that were in flight when
# dockmuxd died are either absent or adopted at start-up.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

N=50
KILL_AFTER=20
pfx=$T_PREFIX-k-
loop_pid=""

# Stop the create loop first; t_cleanup then removes every container
# carrying this test's prefix on both engines.
route_cleanup() {
	local rc=$?
	set +e
	if [ -n "$loop_pid" ] && kill -0 "$loop_pid" 2>/dev/null; then
		kill "$loop_pid" 2>/dev/null
		wait "$loop_pid" 2>/dev/null
	fi
	(exit "$rc")
	t_cleanup
}
trap route_cleanup EXIT

A=(docker -H "unix://$ENGINE_A_SOCK")
B=(docker -H "unix://$ENGINE_B_SOCK")

tag=route-kill9-$$
sock=$T_TMP/d.sock
cfg=$T_TMP/dockmux.json
rig_write_config_vm "$cfg" "$sock" "$T_TMP/dockmux.db"
DOCKER_HOST=unix://$sock
export DOCKER_HOST
rig_dockmuxd_start "$cfg" "$tag"
pid=$(cat "$RIG_DIR/$tag.pid")

# Odd numbers ask for isolation vm (engine b), even ones for nothing
# (engine a, the primary).
want_engine() {
	if [ $(($1 % 2)) -eq 1 ]; then echo b; else echo a; fi
}

: >"$T_TMP/returned"
: >"$T_TMP/created"
(
	set +e
	for i in $(seq 1 "$N"); do
		if [ $((i % 2)) -eq 1 ]; then
			lab=(--label io.dockmux.isolation=vm)
		else
			lab=()
		fi
		if id=$(timeout 30 docker create --name "$pfx$i" "${lab[@]}" \
		    busybox sleep 300 2>>"$T_TMP/create.err"); then
			echo "$i $id" >>"$T_TMP/created"
		fi
		echo "$i" >>"$T_TMP/returned"
	done
) &
loop_pid=$!

returned() { [ "$(wc -l <"$T_TMP/returned")" -ge "$1" ]; }
t_wait_for 120 returned "$KILL_AFTER" ||
    t_fail "only $(wc -l <"$T_TMP/returned") creates returned in 120 s"
kill -KILL "$pid"
rig_wait_gone "$pid" 10 || t_fail "dockmuxd pid $pid survived SIGKILL"
wait "$pid" 2>/dev/null || true
rm -f "$RIG_DIR/$tag.pid"
echo "killed dockmuxd after $(wc -l <"$T_TMP/returned") creates returned," \
    "$(wc -l <"$T_TMP/created") succeeded"

# Back on the same store while the stream goes on.
rig_dockmuxd_start "$cfg" "$tag"
wait "$loop_pid" || true
loop_pid=""
echo "stream done: $(wc -l <"$T_TMP/created") of $N creates succeeded"
[ "$(wc -l <"$T_TMP/created")" -ge "$KILL_AFTER" ] ||
    t_fail "fewer than $KILL_AFTER creates succeeded: $(tail -n 5 "$T_TMP/create.err")"

# What the engines have, asked directly: "name id engine" lines.
: >"$T_TMP/found"
for e in a b; do
	case $e in a) E=("${A[@]}") ;; b) E=("${B[@]}") ;; esac
	"${E[@]}" ps -a --no-trunc --filter "name=$pfx" --format '{{.Names}} {{.ID}}' |
	    while read -r n id; do
		case $n in "$pfx"*) echo "$n $id $e" ;; esac
	    done >>"$T_TMP/found"
done
echo "containers on the engines: $(wc -l <"$T_TMP/found")" \
    "(a: $(grep -c ' a$' "$T_TMP/found" || true)," \
    "b: $(grep -c ' b$' "$T_TMP/found" || true))"

dups=$(awk '{ print $1 }' "$T_TMP/found" | sort | uniq -d)
[ -z "$dups" ] || t_fail "names on both engines: $dups"

# created_on ENGINE ID: the engine's creation time of ID (diagnostics).
created_on() {
	case $1 in
	a) "${A[@]}" inspect -f '{{.Created}}' "$2" 2>&1 ;;
	b) "${B[@]}" inspect -f '{{.Created}}' "$2" 2>&1 ;;
	esac
}

bad=""
while read -r n id e; do
	i=${n#"$pfx"}
	w=$(want_engine "$i")
	[ "$e" = "$w" ] || bad="$bad
$n: on engine $e, its labels ask for engine $w"
	got=$(timeout 30 docker container inspect -f '{{.Id}}' "$n" 2>&1) || {
		bad="$bad
$n (engine $e, $id, created $(created_on "$e" "$id")): docker inspect through dockmuxd: $got"
		continue
	}
	[ "$got" = "$id" ] || bad="$bad
$n: dockmuxd routes it to $got, engine $e has $id"
done <"$T_TMP/found"

# Every create that answered with an Id made that container, and it is
# among the ones checked above.
while read -r i id; do
	grep -q " $id " "$T_TMP/found" ||
	    bad="$bad
$pfx$i: create answered $id, but no engine has it"
done <"$T_TMP/created"

# docker ps through dockmuxd: each once, labelled with its engine.
got=$(timeout 30 docker ps -a --filter "name=$pfx" \
    --format '{{.Names}} {{.Label "io.dockmux.backend"}}' | sort)
want=$(awk '{ print $1, $3 }' "$T_TMP/found" | sort)
[ "$got" = "$want" ] || bad="$bad
docker ps -a through dockmuxd:
$got
engines:
$want"

if [ -n "$bad" ]; then
	echo "---- $tag.log ----"
	grep -E 'routed|adopted|reconcil|dropped|create' "$RIG_DIR/$tag.log" | tail -n 80
	t_fail "after kill -9 and restart:$bad"
fi
