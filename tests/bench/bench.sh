#!/bin/bash
# tests/bench/bench.sh: dockmuxd against the engine reached directly, same
# run, printed as ratios (bash; `sh bench.sh` re-executes itself with bash).
#
# One private dockerd (the rig in tests/e2e/lib.sh) and one $BUILD/dockmuxd
# in front of it.  A container writes ~200 MB of log and exits; then, round
# after round, each metric is measured straight at the engine and through
# dockmuxd, one after the other (direct, dockmux, direct, dockmux...), and
# the median over the rounds is kept:
#
#   ping p50/p99      keep-alive GET /_ping, one connection
#   inspect p50/p99   keep-alive GET /containers/{id}/json, one connection
#   log MB/s          GET /containers/{id}/logs?stdout=1, body discarded
#
# Then an image copy between two engines (a second dockerd, b, and a
# second dockmuxd over a and b): a ~200 MB image built on a, made present
# on b round after round, by hand (`docker -H a save | docker -H b load`)
# and by dockmuxd (a create pinned to b, which copies the image first);
# MB/s of the image, medians.  Target: >= 1.0x by hand.
#
# Then a TLS backend: a third dockerd with --tlsverify on TCP behind a
# third dockmuxd; inspect p50 and log throughput through dockmuxd against
# a TLS client (the same certificates) at the engine.
#
# Targets (the issue): ping p50 <= 1.10x direct, inspect p50 <= 1.15x,
# log throughput >= 0.95x.  A benchmark, not a test: a missed target is
# printed as MISS and the exit status stays 0; only a broken rig fails.
#
#   BUILD=build sh tests/bench/bench.sh
#   BENCH_RT_ROUNDS=21 BENCH_LOG_ROUNDS=3     rounds per side (the defaults)
#   BENCH_PING_N=2000 BENCH_INSPECT_N=1000    requests per latency round
#   BENCH_LOG_MB=200                          size of the log
#   BENCH_COPY_MB=200 BENCH_COPY_ROUNDS=3     image copy size and rounds
#   BENCH_TLS_ROUNDS=11 BENCH_TLS_LOG_MB=50   the TLS backend's rounds, log
#   RIG_KEEP=1     leave $RIG_DIR in place afterwards
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo" || exit 1
: "${BUILD:=build}"
case $BUILD in
/*) ;;
*) BUILD=$repo/$BUILD ;;
esac
export BUILD

rt_rounds=${BENCH_RT_ROUNDS:-21}
log_rounds=${BENCH_LOG_ROUNDS:-3}
ping_n=${BENCH_PING_N:-2000}
inspect_n=${BENCH_INSPECT_N:-1000}
log_mb=${BENCH_LOG_MB:-200}
copy_mb=${BENCH_COPY_MB:-200}
copy_rounds=${BENCH_COPY_ROUNDS:-3}
tls_rounds=${BENCH_TLS_ROUNDS:-11}
tls_log_mb=${BENCH_TLS_LOG_MB:-50}

bench_die() {
	printf '%s\n' "bench: FATAL: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || bench_die "the benchmark starts dockerd and needs root"
for tool in dockerd docker curl busybox python3 setsid "${CC:-cc}" \
    pkg-config openssl; do
	command -v "$tool" >/dev/null 2>&1 ||
	    bench_die "$tool not found (sh scripts/install-deps.sh)"
done
[ -x "$BUILD/dockmuxd" ] || bench_die "$BUILD/dockmuxd not built (make)"

# The client: one libcurl easy handle, so one kept-alive connection.
rt=$BUILD/bench_rt
# shellcheck disable=SC2046 # pkg-config prints words
"${CC:-cc}" -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Wformat=2 \
    -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations \
    -Wshadow -Wpointer-arith -Wsign-compare -Wcast-qual \
    -o "$rt" "$here/bench_rt.c" $(pkg-config --cflags --libs libcurl) ||
    bench_die "cannot build $rt"

# shellcheck source=tests/e2e/lib.sh
. "$repo/tests/e2e/lib.sh"

t_start=$(rig_now_ms)
rig_init
rig_engine_start a
direct=$ENGINE_A_SOCK
config=$RIG_DIR/bench.json
rig_write_config_for "$config" "$RIG_DIR/dockmux.sock" "$RIG_DIR/dockmux.db" \
    "a=$direct"
rig_dockmuxd_start "$config"
dmx=$DOCKMUX_SOCK
res=$RIG_DIR/results
mkdir -p "$res"

# The log source, created through dockmuxd so it is routed as a client
# would see it: $log_mb MB of 71-byte lines on stdout, then exit.
line=0123456789012345678901234567890123456789012345678901234567890123456789
t0=$(rig_now_ms)
cid=$(docker -H "unix://$dmx" run -d busybox sh -c \
    "yes $line | head -c $((log_mb * 1000000))") ||
    bench_die "docker run through dockmuxd failed"
[ -n "$cid" ] || bench_die "docker run printed no id"
code=$(timeout 120 docker -H "unix://$dmx" wait "$cid") ||
    bench_die "container $cid did not exit within 120 s"
[ "$code" = 0 ] || bench_die "container $cid exited with $code"
echo "bench: ${log_mb} MB log written in $(( $(rig_now_ms) - t0 )) ms" \
    "(container ${cid:0:12})" >&2

# rt_once SIDE SOCK: one keep-alive run of ping and of inspect against SOCK.
rt_once() {
	local side=$1 sock=$2 out
	out=$("$rt" rt "$sock" "http://localhost/_ping" "$ping_n" \
	    $((ping_n / 10))) || bench_die "$side: ping failed"
	record "$side" ping "$out"
	out=$("$rt" rt "$sock" "http://localhost/containers/$cid/json" \
	    "$inspect_n" $((inspect_n / 10))) || bench_die "$side: inspect failed"
	record "$side" inspect "$out"
}

# log_once SIDE SOCK: one read of the whole log against SOCK.
log_once() {
	local side=$1 sock=$2 out
	out=$("$rt" get "$sock" \
	    "http://localhost/containers/$cid/logs?stdout=1") ||
	    bench_die "$side: logs failed"
	record "$side" log "$out"
}

# record SIDE METRIC "k=v k=v...": one line per value in $res/SIDE.KEY.
record() {
	local side=$1 metric=$2 kv k v
	for kv in $3; do
		k=${kv%%=*}
		v=${kv#*=}
		echo "$v" >>"$res/$side.$metric.$k"
	done
}

# last KEY: the value just recorded under $res/KEY.
last() { tail -n 1 "$res/$1"; }

# median FILE: the middle value (the lower middle for an even count).
median() {
	sort -g "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# Latency runs are short and the host is shared: many alternating rounds
# so a burst of someone else's work lands on both sides alike.
t0=$(rig_now_ms)
for r in $(seq 1 "$rt_rounds"); do
	rt_once direct "$direct"
	rt_once dockmux "$dmx"
done
{
	printf 'bench: %d latency rounds in %d ms, p50 direct/dockmux:' \
	    "$rt_rounds" $(( $(rig_now_ms) - t0 ))
	printf ' ping %s/%s us, inspect %s/%s us (medians)\n' \
	    "$(median "$res/direct.ping.p50_us")" \
	    "$(median "$res/dockmux.ping.p50_us")" \
	    "$(median "$res/direct.inspect.p50_us")" \
	    "$(median "$res/dockmux.inspect.p50_us")"
} >&2

t0=$(rig_now_ms)
for r in $(seq 1 "$log_rounds"); do
	log_once direct "$direct"
	log_once dockmux "$dmx"
	printf 'bench: log round %d/%d (%d s): %s/%s MB/s direct/dockmux\n' \
	    "$r" "$log_rounds" $(( ($(rig_now_ms) - t0) / 1000 )) \
	    "$(last direct.log.mbps)" "$(last dockmux.log.mbps)" >&2
done

# ---- image copy: by hand vs dockmuxd -------------------------------------

rig_engine_start b
config2=$RIG_DIR/bench-copy.json
rig_write_config_for "$config2" "$RIG_DIR/dockmux-copy.sock" \
    "$RIG_DIR/dockmux-copy.db" "a=$direct" "b=$ENGINE_B_SOCK"
rig_dockmuxd_start "$config2" dmx-copy
dmx2=$RIG_DIR/dockmux-copy.sock
A=(docker -H "unix://$direct")
B=(docker -H "unix://$ENGINE_B_SOCK")
IMG=bench-copy:1
ctx=$RIG_DIR/copy-ctx
mkdir -p "$ctx"
head -c $((copy_mb * 1000000)) /dev/urandom >"$ctx/blob" ||
    bench_die "cannot write $ctx/blob"
printf 'FROM busybox\nCOPY blob /blob\n' >"$ctx/Dockerfile"
DOCKER_BUILDKIT=0 "${A[@]}" build -q -t "$IMG" "$ctx" >/dev/null 2>&1 ||
    bench_die "cannot build $IMG on a"
rm -f "$ctx/blob"
img_bytes=$("${A[@]}" image inspect -f '{{.Size}}' "$IMG") ||
    bench_die "cannot inspect $IMG"

# b_forget: b loses the image (and the container made from it).
b_forget() {
	"${B[@]}" rm -f bench-copy >/dev/null 2>&1
	"${B[@]}" rmi -f "$IMG" >/dev/null 2>&1
	! "${B[@]}" image inspect "$IMG" >/dev/null 2>&1 ||
	    bench_die "$IMG still on b"
}

# copy_hand / copy_dmx: seconds to make $IMG present on b.
copy_hand() {
	local t0=$(rig_now_ms)
	"${A[@]}" save "$IMG" | "${B[@]}" load -q >/dev/null ||
	    bench_die "save | load failed"
	echo $(( $(rig_now_ms) - t0 ))
}
copy_dmx() {
	local t0=$(rig_now_ms) code
	code=$(curl -s -o "$res/create.json" -w '%{http_code}' \
	    --unix-socket "$dmx2" -H 'Content-Type: application/json' \
	    -d "{\"Image\":\"$IMG\",\"Labels\":{\"io.dockmux.backend\":\"b\"}}" \
	    'http://localhost/v1.41/containers/create?name=bench-copy')
	[ "$code" = 201 ] || bench_die "create through dockmuxd: $code $(cat "$res/create.json")"
	grep -q 'copied from backend a to backend b' "$res/create.json" ||
	    bench_die "create through dockmuxd did not copy: $(cat "$res/create.json")"
	echo $(( $(rig_now_ms) - t0 ))
}
for r in $(seq 1 "$copy_rounds"); do
	b_forget
	ms=$(copy_hand) || exit 1
	echo "$ms" >>"$res/direct.copy.ms"
	awk -v b="$img_bytes" -v ms="$ms" 'BEGIN { print b / 1e6 / (ms / 1000) }' \
	    >>"$res/direct.copy.mbps"
	b_forget
	ms=$(copy_dmx) || exit 1
	echo "$ms" >>"$res/dockmux.copy.ms"
	awk -v b="$img_bytes" -v ms="$ms" 'BEGIN { print b / 1e6 / (ms / 1000) }' \
	    >>"$res/dockmux.copy.mbps"
	printf 'bench: copy round %d/%d: %s/%s ms by hand/dockmuxd\n' "$r" \
	    "$copy_rounds" "$(last direct.copy.ms)" "$(last dockmux.copy.ms)" >&2
done
b_forget

# ---- a TLS backend: through dockmuxd vs a TLS client at the engine ------

# A third dockerd with --tlsverify on TCP, dockmuxd in front of it as a
# tcp+tls backend; "direct" is bench_rt speaking TLS to the engine with
# the same certificates (what the docker CLI does with --tlsverify).
certs=$RIG_DIR/certs
rig_make_certs "$certs"
tport=$(rig_free_port)
rig_engine_start t --host "tcp://127.0.0.1:$tport" --tlsverify \
    --tlscacert "$certs/ca.pem" --tlscert "$certs/server-cert.pem" \
    --tlskey "$certs/server-key.pem"
config3=$RIG_DIR/bench-tls.json
printf '{ "listen": "unix://%s", "store": "%s", "backends": [ { "name": "t", "endpoint": "tcp://127.0.0.1:%s", "tls": "%s" } ] }\n' \
    "$RIG_DIR/dockmux-tls.sock" "$RIG_DIR/dockmux-tls.db" "$tport" \
    "$certs/client" >"$config3"
rig_dockmuxd_start "$config3" dmx-tls
dmx3=$RIG_DIR/dockmux-tls.sock
tcid=$(docker -H "unix://$dmx3" run -d busybox sh -c \
    "yes $line | head -c $((tls_log_mb * 1000000))") ||
    bench_die "docker run through the TLS backend failed"
timeout 120 docker -H "unix://$dmx3" wait "$tcid" >/dev/null ||
    bench_die "container $tcid did not exit within 120 s"
export BENCH_CA=$certs/ca.pem BENCH_CERT=$certs/client-cert.pem
export BENCH_KEY=$certs/client-key.pem
tdirect=https://127.0.0.1:$tport
for r in $(seq 1 "$tls_rounds"); do
	out=$("$rt" rt - "$tdirect/containers/$tcid/json" "$inspect_n" \
	    $((inspect_n / 10))) || bench_die "TLS direct: inspect failed"
	record direct tls_inspect "$out"
	out=$("$rt" rt "$dmx3" "http://localhost/containers/$tcid/json" \
	    "$inspect_n" $((inspect_n / 10))) ||
	    bench_die "TLS dockmux: inspect failed"
	record dockmux tls_inspect "$out"
done
for r in $(seq 1 "$log_rounds"); do
	out=$("$rt" get - "$tdirect/containers/$tcid/logs?stdout=1") ||
	    bench_die "TLS direct: logs failed"
	record direct tls_log "$out"
	out=$("$rt" get "$dmx3" \
	    "http://localhost/containers/$tcid/logs?stdout=1") ||
	    bench_die "TLS dockmux: logs failed"
	record dockmux tls_log "$out"
done
unset BENCH_CA BENCH_CERT BENCH_KEY
printf 'bench: TLS backend: inspect p50 %s/%s us, log %s/%s MB/s direct/dockmux\n' \
    "$(median "$res/direct.tls_inspect.p50_us")" \
    "$(median "$res/dockmux.tls_inspect.p50_us")" \
    "$(median "$res/direct.tls_log.mbps")" \
    "$(median "$res/dockmux.tls_log.mbps")" >&2

# The same answer on both sides, or the comparison means nothing.
bytes_direct=$(median "$res/direct.log.bytes")
bytes_seen=$(sort -u "$res/direct.log.bytes" "$res/dockmux.log.bytes" |
    tr '\n' ' ')
conn_dmx=$(sort -g "$res/dockmux.ping.connects" \
    "$res/dockmux.inspect.connects" | tail -n 1)

# row LABEL FILE-KEY better TARGET: one table line; better is "low" when a
# smaller number wins (latency), "high" when a larger one does (MB/s).
row() {
	local label=$1 key=$2 better=$3 target=$4 d m
	d=$(median "$res/direct.$key")
	m=$(median "$res/dockmux.$key")
	awk -v l="$label" -v d="$d" -v m="$m" -v b="$better" -v t="$target" '
	BEGIN {
		r = d > 0 ? m / d : 0
		if (t == "-")
			ok = ""
		else if (b == "low")
			ok = r <= t + 0 ? "ok" : "MISS"
		else
			ok = r >= t + 0 ? "ok" : "MISS"
		tgt = t == "-" ? "-" : (b == "low" ? "<= " : ">= ") t "x"
		printf "%-18s %12.1f %12.1f %7.3fx  %-9s %s\n", l, d, m, r, tgt, ok
	}'
}

echo
echo "dockmux bench: one dockerd; medians of $rt_rounds latency rounds" \
    "(ping n=$ping_n, inspect n=$inspect_n) and $log_rounds log reads" \
    "($bytes_direct bytes)"
printf '%-18s %12s %12s %8s  %-9s %s\n' metric direct dockmux ratio target ok
row "ping p50 (us)" ping.p50_us low 1.10
row "ping p99 (us)" ping.p99_us low -
row "inspect p50 (us)" inspect.p50_us low 1.15
row "inspect p99 (us)" inspect.p99_us low -
row "log (MB/s)" log.mbps high 0.95
row "image copy (MB/s)" copy.mbps high 1.0
row "TLS inspect p50" tls_inspect.p50_us low 1.15
row "TLS log (MB/s)" tls_log.mbps high 0.95
echo "(image copy: $img_bytes bytes, $copy_rounds rounds; direct = docker" \
    "save | docker load by hand, a to b)"
echo "(TLS: a dockerd with --tlsverify as a tcp+tls backend; direct = a TLS" \
    "client with the same certificates at the engine; ${tls_log_mb} MB log)"
if [ "$bytes_seen" != "$bytes_direct " ]; then
	echo "MISS: the log reads differ in size (bytes seen: $bytes_seen)"
fi
if [ "${conn_dmx:-0}" -gt 0 ]; then
	echo "note: dockmuxd closed a kept-alive connection" \
	    "($conn_dmx reconnects in one timed run)"
fi
echo "bench: done in $(( ($(rig_now_ms) - t_start) / 1000 )) s" >&2
exit 0
