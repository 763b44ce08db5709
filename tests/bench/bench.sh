#!/bin/bash
# tests/bench/bench.sh: dockmuxd against the engine reached directly, and
# against two plain proxies, all in one run, printed as ONE table of
# figures and ratios (bash; `sh bench.sh` re-executes itself with bash).
#
# Two private dockerd engines, a and b (the rig in tests/e2e/lib.sh).  In
# front of a: a socat pipe (UNIX-LISTEN,fork -> UNIX-CONNECT), HAProxy
# (mode tcp, unix socket to unix socket) and $BUILD/dockmuxd; a second
# dockmuxd stands in front of a and b.  Each metric is measured on every
# side of its row in turn, round after round (direct, socat, haproxy,
# dockmux, direct...), and the median over the rounds is kept; every ratio
# is to direct (the engine's own socket), from the same rounds.  Row 4's
# latency interleaves the two sides' lists one by one within a round
# (`bench_rt alt`, each side first in turn): a list takes milliseconds,
# so every one finds dockmuxd's threads asleep either way, and a block
# of 50 lasts long enough for a burst of the host's other work to land
# on one side only.
#
#   row                        columns             target (dockmuxd)
#   1 ping p50 (+ p99)         all four            <= 0.80x direct
#     keep-alive GET /_ping, one connection
#   2 inspect p50 (+ p99)      all four            <= socat's ratio
#     keep-alive GET /containers/{id}/json         (stretch: <= 1.15x)
#   3 log MB/s                 all four            >= 0.98x
#     GET /containers/{id}/logs?stdout=1 of a container that wrote 50 MB
#     of 1,000-byte lines, body discarded
#   4 merged ps p50            direct, dockmux     <= 1.10x
#     GET /containers/json?all=1, 40 containers on each of a and b:
#     dockmuxd over a and b against asking a and b at once directly (two
#     requests in parallel, until both are answered); with it the CPU
#     time per request of the machine, both dockerds and dockmuxd
#   5 1,000 logs -f            direct, dockmux     RSS growth <= 32 MiB,
#     1,000 kept-open GET .../logs?follow=1 through   threads grow by less
#     dockmuxd (`bench_rt hold`); the RSS             than 1 per 10 streams
#     (VmRSS) and Threads growth over idle of dockmuxd, and for comparison
#     of dockerd ("direct"), which serves the same 1,000 streams behind it
#   6 docker run --rm busybox true, end to end    <= 1.05x
#                              direct, dockmux
#   7 64 clients inspect req/s all four            >= 0.90x
#     64 concurrent keep-alive connections, fixed duration; with it the
#     machine's CPU time per request (clients, proxy, dockerd: every core
#     is busy, so req/s ~ cores / that), dockerd's part of it and the
#     proxy's (HAProxy's and dockmuxd's; socat forks, uncounted)
#   image copy MB/s            direct, dockmux     >= 1.0x
#     a ~50 MB image made present on b: `docker save | docker load` by
#     hand against a create pinned to b through dockmuxd (which copies)
#   TLS inspect p50, TLS log   direct, dockmux     <= 1.15x, >= 0.95x
#     a third dockerd with --tlsverify on TCP behind a third dockmuxd;
#     direct = a TLS client with the same certificates at the engine
#
# A benchmark, not a test: a missed target is printed as MISS and the
# exit status stays 0; only a broken rig fails.  About 2-3 minutes on two
# cores.  Raises its fd limit (ulimit -n) for the streams of row 5.
#
#   BUILD=build sh tests/bench/bench.sh
#   BENCH_RT_ROUNDS=11 BENCH_PING_N=1000 BENCH_INSPECT_N=500   rows 1-2
#   BENCH_LOG_ROUNDS=5 BENCH_LOG_MB=50                          row 3
#   BENCH_PS_CONTAINERS=40 BENCH_PS_ROUNDS=7 BENCH_PS_N=50      row 4
#   BENCH_STREAMS=1000                                          row 5
#   BENCH_RUN_ROUNDS=7                                          row 6
#   BENCH_LOAD_CONC=64 BENCH_LOAD_SECS=2 BENCH_LOAD_ROUNDS=3    row 7
#   BENCH_COPY_MB=50 BENCH_COPY_ROUNDS=3                        image copy
#   BENCH_TLS_ROUNDS=5 BENCH_TLS_LOG_MB=20                      TLS backend
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

rt_rounds=${BENCH_RT_ROUNDS:-11}
ping_n=${BENCH_PING_N:-1000}
inspect_n=${BENCH_INSPECT_N:-500}
log_rounds=${BENCH_LOG_ROUNDS:-5}
log_mb=${BENCH_LOG_MB:-50}
ps_containers=${BENCH_PS_CONTAINERS:-40}
ps_rounds=${BENCH_PS_ROUNDS:-7}
ps_n=${BENCH_PS_N:-50}
streams=${BENCH_STREAMS:-1000}
run_rounds=${BENCH_RUN_ROUNDS:-7}
load_conc=${BENCH_LOAD_CONC:-64}
load_secs=${BENCH_LOAD_SECS:-2}
load_rounds=${BENCH_LOAD_ROUNDS:-3}
copy_mb=${BENCH_COPY_MB:-50}
copy_rounds=${BENCH_COPY_ROUNDS:-3}
tls_rounds=${BENCH_TLS_ROUNDS:-5}
tls_log_mb=${BENCH_TLS_LOG_MB:-20}

bench_die() {
	printf '%s\n' "bench: FATAL: $*" >&2
	exit 1
}

bench_log() { printf '%s\n' "bench: $*" >&2; }

[ "$(id -u)" -eq 0 ] || bench_die "the benchmark starts dockerd and needs root"
for tool in dockerd docker curl busybox python3 setsid "${CC:-cc}" \
    pkg-config openssl socat haproxy jq; do
	command -v "$tool" >/dev/null 2>&1 ||
	    bench_die "$tool not found (sh scripts/install-deps.sh)"
done
[ -x "$BUILD/dockmuxd" ] || bench_die "$BUILD/dockmuxd not built (make)"

# Row 5: the holder's streams, dockmuxd's both ends of each, dockerd's.
# Everything started from here on inherits the limit.
fds=$((streams * 3 + 1024))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$fds" ]; then
	ulimit -n "$fds" 2>/dev/null ||
	    { ulimit -Hn "$fds" && ulimit -n "$fds"; } 2>/dev/null ||
	    bench_die "cannot raise the fd limit to $fds (ulimit -n)"
fi

# The clients: bench_rt (libcurl round trips, reads and load; held-open
# streams).
cflags=(-std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Wformat=2
    -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations
    -Wshadow -Wpointer-arith -Wsign-compare -Wcast-qual)
rt=$BUILD/bench_rt
# shellcheck disable=SC2046 # pkg-config prints words
"${CC:-cc}" "${cflags[@]}" -pthread -o "$rt" "$here/bench_rt.c" \
    $(pkg-config --cflags --libs libcurl) || bench_die "cannot build $rt"

# shellcheck source=tests/e2e/lib.sh
. "$repo/tests/e2e/lib.sh"

# The helpers this script starts itself (socat, haproxy, the holder):
# stopped by pid, with what they forked, before the rig's own cleanup.
BENCH_PIDS=""
# shellcheck disable=SC2317 # run by the EXIT trap
bench_cleanup() {
	local rc=$? p
	for p in $BENCH_PIDS; do
		# shellcheck disable=SC2046 # a list of pids
		kill -TERM $(rig_descendants "$p") "$p" 2>/dev/null
	done
	(exit "$rc")
	rig_cleanup
}

t_start=$(rig_now_ms)
rig_init
trap bench_cleanup EXIT
rig_engine_start a
rig_engine_start b
direct=$ENGINE_A_SOCK
res=$RIG_DIR/results
mkdir -p "$res"

# bench_config OUT SOCK STORE name=sock...: a dockmuxd config with room
# for row 5's streams (the defaults allow 256 connections per uid).
bench_config() {
	local out=$1
	rig_write_config_for "$out.in" "${@:2}"
	jq --argjson n $((streams + 256)) \
	    '. + { max_connections: $n, max_connections_per_peer: $n }' \
	    "$out.in" >"$out" || bench_die "cannot write $out"
}
bench_config "$RIG_DIR/bench.json" "$RIG_DIR/dockmux.sock" \
    "$RIG_DIR/dockmux.db" "a=$direct"
rig_dockmuxd_start "$RIG_DIR/bench.json"
dmx=$DOCKMUX_SOCK
dmx_pid=$(cat "$RIG_DIR/dockmuxd.pid")
bench_config "$RIG_DIR/bench-ab.json" "$RIG_DIR/dockmux-ab.sock" \
    "$RIG_DIR/dockmux-ab.db" "a=$direct" "b=$ENGINE_B_SOCK"
rig_dockmuxd_start "$RIG_DIR/bench-ab.json" dmx-ab
dmx2=$RIG_DIR/dockmux-ab.sock
dmx2_pid=$(cat "$RIG_DIR/dmx-ab.pid")

# The plain proxies in front of a.  socat's listen backlog is raised from
# its default 5 for row 7's 64 clients connecting at once.
socat_sock=$RIG_DIR/socat.sock
socat "UNIX-LISTEN:$socat_sock,fork,backlog=1024" "UNIX-CONNECT:$direct" \
    </dev/null >>"$RIG_DIR/socat.log" 2>&1 &
BENCH_PIDS="$BENCH_PIDS $!"
ha_sock=$RIG_DIR/haproxy.sock
cat >"$RIG_DIR/haproxy.cfg" <<EOF
global
	maxconn 4096
defaults
	mode tcp
	timeout connect 5s
	timeout client 120s
	timeout server 120s
listen engine
	bind unix@$ha_sock
	server engine unix@$direct
EOF
haproxy -f "$RIG_DIR/haproxy.cfg" -db </dev/null >>"$RIG_DIR/haproxy.log" 2>&1 &
ha_pid=$!
BENCH_PIDS="$BENCH_PIDS $ha_pid"
t0=$(rig_now_ms)
while ! rig_ping "$socat_sock" || ! rig_ping "$ha_sock"; do
	[ $(( $(rig_now_ms) - t0 )) -lt 10000 ] ||
	    bench_die "socat or haproxy does not answer: $(tail -n 5 \
	        "$RIG_DIR/socat.log" "$RIG_DIR/haproxy.log")"
	sleep 0.05
done

# The sides of rows 1-3 and 7, in the order of every round.
SIDES=(direct socat haproxy dockmux)
declare -A SOCK=([direct]=$direct [socat]=$socat_sock [haproxy]=$ha_sock
    [dockmux]=$dmx)

# The log source, created through dockmuxd so it is routed as a client
# would see it: $log_mb MB of 1,000-byte lines on stdout, then exit.  (With
# short lines dockerd's per-line decoding caps a read near 5 MB/s and the
# row would time dockerd alone.)
line=$(printf '%0999d' 0)
t0=$(rig_now_ms)
cid=$(docker -H "unix://$dmx" run -d busybox sh -c \
    "yes $line | head -c $((log_mb * 1000000))") ||
    bench_die "docker run through dockmuxd failed"
[ -n "$cid" ] || bench_die "docker run printed no id"
code=$(timeout 120 docker -H "unix://$dmx" wait "$cid") ||
    bench_die "container $cid did not exit within 120 s"
[ "$code" = 0 ] || bench_die "container $cid exited with $code"
bench_log "${log_mb} MB log written in $(( $(rig_now_ms) - t0 )) ms" \
    "(container ${cid:0:12})"

# record SIDE METRIC "k=v k=v...": one line per value in $res/SIDE.METRIC.k.
record() {
	local side=$1 metric=$2 kv
	for kv in $3; do
		echo "${kv#*=}" >>"$res/$side.$metric.${kv%%=*}"
	done
}

# measure SIDE METRIC CMD...: run a bench_rt CMD, record its output.
measure() {
	local side=$1 metric=$2 out
	shift 2
	out=$("$@") || bench_die "$side: $metric failed"
	record "$side" "$metric" "$out"
}

# measure_alt METRIC URL COUNT WARMUP SIDE=SOCKS...: one `bench_rt alt`
# over the sides, their rounds interleaved one by one; each side's result
# line recorded as its own.
measure_alt() {
	local metric=$1 url=$2 n=$3 w=$4 out a i=1
	local socks=()
	shift 4
	for a in "$@"; do socks+=("${a#*=}"); done
	out=$("$rt" alt "$url" "$n" "$w" "${socks[@]}") ||
	    bench_die "$metric failed"
	for a in "$@"; do
		record "${a%%=*}" "$metric" "$(sed -n "${i}p" <<<"$out")"
		i=$((i + 1))
	done
}

# median FILE: the middle value (the lower middle for an even count).
median() {
	sort -g "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# since MS: seconds since the rig_now_ms value MS.
since() { echo $(( ($(rig_now_ms) - $1) / 1000 )); }

# ---- rows 1-2: ping and inspect latency, one kept-alive connection -------

# Latency runs are short and the host is shared: many alternating rounds
# so a burst of someone else's work lands on every side alike.  Not
# interleaved one by one (as row 4): a process that slept through three
# other sides' requests wakes slowly on these virtual machines (ping
# direct 111 -> 168 us, through dockmuxd 64 -> 156 us), and what a row of
# microseconds would then measure is that wake-up, not the relay.
t0=$(rig_now_ms)
for r in $(seq 1 "$rt_rounds"); do
	for s in "${SIDES[@]}"; do
		measure "$s" ping "$rt" rt "${SOCK[$s]}" \
		    "http://localhost/_ping" "$ping_n" $((ping_n / 10))
		measure "$s" inspect "$rt" rt "${SOCK[$s]}" \
		    "http://localhost/containers/$cid/json" "$inspect_n" \
		    $((inspect_n / 10))
	done
done
bench_log "rows 1-2: $rt_rounds latency rounds in $(since "$t0") s"

# ---- row 3: log throughput --------------------------------------------

t0=$(rig_now_ms)
for r in $(seq 1 "$log_rounds"); do
	for s in "${SIDES[@]}"; do
		measure "$s" log "$rt" get "${SOCK[$s]}" \
		    "http://localhost/containers/$cid/logs?stdout=1"
	done
	bench_log "row 3: log round $r/$log_rounds ($(since "$t0") s)"
done

# ---- row 7: 64 concurrent clients doing inspect -------------------------

# The row is bound by CPU: every core is busy, so req/s is about the cores
# over the CPU one request costs the whole machine (clients, proxy and
# dockerd).  Each round also records that cost and dockerd's share of it.
hz=$(getconf CLK_TCK)
# cpu_busy: the machine's busy clock ticks so far (every core, /proc/stat).
cpu_busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# cpu_of PID: the process's user + system clock ticks so far.
cpu_of() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# per_request TICKS N: microseconds per request.
per_request() { awk -v t="$1" -v n="$2" -v hz="$hz" \
    'BEGIN { printf "%.1f\n", (n > 0 ? t * 1e6 / hz / n : 0) }'; }
eng_a_pid=$(cat "$RIG_DIR/a/pid")
declare -A PROXY_PID=([haproxy]=$ha_pid [dockmux]=$dmx_pid)
t0=$(rig_now_ms)
for r in $(seq 1 "$load_rounds"); do
	for s in "${SIDES[@]}"; do
		m0=$(cpu_busy)
		e0=$(cpu_of "$eng_a_pid")
		# The proxy's own: socat forks one per connection, uncounted.
		px=${PROXY_PID[$s]:-}
		[ -n "$px" ] && x0=$(cpu_of "$px")
		measure "$s" load "$rt" load "${SOCK[$s]}" \
		    "http://localhost/containers/$cid/json" "$load_conc" \
		    "$load_secs"
		n=$(tail -n 1 "$res/$s.load.n")
		per_request $(($(cpu_busy) - m0)) "$n" >>"$res/$s.load.cpu_us"
		per_request $(($(cpu_of "$eng_a_pid") - e0)) "$n" \
		    >>"$res/$s.load.engine_us"
		if [ -n "$px" ]; then
			per_request $(($(cpu_of "$px") - x0)) "$n" \
			    >>"$res/$s.load.proxy_us"
		fi
	done
	bench_log "row 7: load round $r/$load_rounds ($(since "$t0") s)"
done

# ---- row 6: docker run --rm busybox true, end to end -------------------

# run_once SIDE SOCK: ms for one `docker run --rm busybox true`.
run_once() {
	local t
	t=$(rig_now_ms)
	docker -H "unix://$2" run --rm busybox true >/dev/null ||
	    bench_die "$1: docker run --rm failed"
	echo $(( $(rig_now_ms) - t )) >>"$res/$1.run.ms"
}
t0=$(rig_now_ms)
for r in $(seq 1 "$run_rounds"); do
	run_once direct "$direct"
	run_once dockmux "$dmx"
done
bench_log "row 6: $run_rounds docker run rounds in $(since "$t0") s"

# ---- row 4: merged ps over two engines ----------------------------------

# fill SOCK: stopped containers on the engine at SOCK until it has
# $ps_containers (a already has the log container), 8 creates at a time.
fill() {
	local have
	have=$(docker -H "unix://$1" ps -aq | wc -l)
	seq 1 $((ps_containers - have)) | xargs -r -P 8 -I{} \
	    curl -sf -o /dev/null --unix-socket "$1" \
	    -H 'Content-Type: application/json' \
	    -d '{"Image":"busybox","Cmd":["true"]}' \
	    http://localhost/containers/create ||
	    bench_die "cannot create containers on $1"
}
t0=$(rig_now_ms)
fill "$direct" &
fpid=$!
fill "$ENGINE_B_SOCK"
wait "$fpid" || exit 1
ps_a=$(docker -H "unix://$direct" ps -aq | wc -l)
ps_b=$(docker -H "unix://$ENGINE_B_SOCK" ps -aq | wc -l)
ps_dmx=$(curl -s --unix-socket "$dmx2" \
    'http://localhost/containers/json?all=1' | jq length)
bench_log "row 4: $ps_a + $ps_b containers created in $(since "$t0") s;" \
    "dockmuxd lists $ps_dmx"
t0=$(rig_now_ms)
eng_b_pid=$(cat "$RIG_DIR/b/pid")
# ps_once SIDE SOCK: one round, with the machine's and both dockerds' CPU.
ps_once() {
	local m0 e0 x0 n
	m0=$(cpu_busy)
	e0=$(($(cpu_of "$eng_a_pid") + $(cpu_of "$eng_b_pid")))
	x0=$(cpu_of "$dmx2_pid")
	measure "$1" psblk "$rt" rt "$2" \
	    "http://localhost/containers/json?all=1" "$ps_n" $((ps_n / 10))
	n=$((ps_n + ps_n / 10))
	per_request $(($(cpu_busy) - m0)) "$n" >>"$res/$1.ps.cpu_us"
	per_request $(($(cpu_of "$eng_a_pid") + $(cpu_of "$eng_b_pid") - e0)) \
	    "$n" >>"$res/$1.ps.engine_us"
	if [ "$1" = dockmux ]; then
		per_request $(($(cpu_of "$dmx2_pid") - x0)) "$n" \
		    >>"$res/$1.ps.proxy_us"
	fi
}
# The latency: both sides' lists interleaved one by one (see the top).
# The CPU (and, beside it, the latency as rows 1-2 take it): a block of
# lists on each side in turn, since CPU time cannot be told apart within
# one run.
for r in $(seq 1 "$ps_rounds"); do
	measure_alt ps "http://localhost/containers/json?all=1" "$ps_n" \
	    $((ps_n / 10)) "direct=$direct,$ENGINE_B_SOCK" "dockmux=$dmx2"
	ps_once direct "$direct,$ENGINE_B_SOCK"
	ps_once dockmux "$dmx2"
done
bench_log "row 4: $ps_rounds rounds in $(since "$t0") s"

# ---- row 5: 1,000 logs -f streams through dockmuxd ----------------------

# status PID KEY: a number from /proc/PID/status (VmRSS in kB, Threads).
status() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# sample TAG: dockmuxd's and dockerd's RSS (MiB) and threads now.
eng_pid=$(cat "$RIG_DIR/a/pid")
sample() {
	awk -v r="$(status "$dmx_pid" VmRSS)" 'BEGIN { printf "%.1f\n", r / 1024 }' \
	    >"$res/dockmux.$1.rss"
	status "$dmx_pid" Threads >"$res/dockmux.$1.threads"
	awk -v r="$(status "$eng_pid" VmRSS)" 'BEGIN { printf "%.1f\n", r / 1024 }' \
	    >"$res/direct.$1.rss"
	status "$eng_pid" Threads >"$res/direct.$1.threads"
}

tick=$(docker -H "unix://$dmx" run -d busybox sh -c \
    'while :; do echo tick; sleep 1; done') ||
    bench_die "cannot start the ticking container"
# One request (and its backend connection) before "idle" is sampled.
"$rt" rt "$dmx" "http://localhost/containers/$tick/json" 10 1 >/dev/null ||
    bench_die "row 5: inspect of $tick failed"
sleep 1
sample idle
t0=$(rig_now_ms)
"$rt" hold "$dmx" "/containers/$tick/logs?follow=1&stdout=1" "$streams" 120 \
    >"$res/hold.out" 2>>"$res/hold.err" &
hpid=$!
BENCH_PIDS="$BENCH_PIDS $hpid"
while ! grep -q '^open=' "$res/hold.out"; do
	kill -0 "$hpid" 2>/dev/null ||
	    bench_die "bench_rt hold exited: $(cat "$res/hold.err")"
	[ "$(since "$t0")" -lt 60 ] || bench_die "bench_rt hold: no streams in 60 s"
	sleep 0.1
done
sleep 3		# a few lines through every stream
sample open
kill -TERM "$hpid"
wait "$hpid"
# shellcheck disable=SC2086 # a list of pids
BENCH_PIDS=$(rig_list_without "$hpid" $BENCH_PIDS)
hold_open=$(sed -n 's/^open=\([0-9]*\).*/\1/p' "$res/hold.out")
hold_ms=$(sed -n 's/.* ms=\([0-9]*\).*/\1/p' "$res/hold.out")
hold_ended=$(sed -n 's/^ended=//p' "$res/hold.out")
sleep 2
sample closed
for s in direct dockmux; do
	awk -v a="$(cat "$res/$s.idle.rss")" -v b="$(cat "$res/$s.open.rss")" \
	    'BEGIN { print b - a }' >"$res/$s.streams.rss"
	echo $(( $(cat "$res/$s.open.threads") - $(cat "$res/$s.idle.threads") )) \
	    >"$res/$s.streams.threads"
done
bench_log "row 5: $hold_open/$streams streams open in $hold_ms ms" \
    "($hold_ended ended early); $(since "$t0") s"

# ---- image copy: by hand vs dockmuxd -------------------------------------

A=(docker -H "unix://$direct")
B=(docker -H "unix://$ENGINE_B_SOCK")
IMG=bench-copy:1
ctx=$RIG_DIR/copy-ctx
mkdir -p "$ctx"
t0=$(rig_now_ms)
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

# copy_hand / copy_dmx: ms to make $IMG present on b.
copy_hand() {
	local t
	t=$(rig_now_ms)
	"${A[@]}" save "$IMG" | "${B[@]}" load -q >/dev/null ||
	    bench_die "save | load failed"
	echo $(( $(rig_now_ms) - t ))
}
copy_dmx() {
	local t code
	t=$(rig_now_ms)
	code=$(curl -s -o "$res/create.json" -w '%{http_code}' \
	    --unix-socket "$dmx2" -H 'Content-Type: application/json' \
	    -d "{\"Image\":\"$IMG\",\"Labels\":{\"io.dockmux.backend\":\"b\"}}" \
	    'http://localhost/v1.41/containers/create?name=bench-copy')
	[ "$code" = 201 ] || bench_die "create through dockmuxd: $code $(cat "$res/create.json")"
	grep -q 'copied from backend a to backend b' "$res/create.json" ||
	    bench_die "create through dockmuxd did not copy: $(cat "$res/create.json")"
	echo $(( $(rig_now_ms) - t ))
}
# copy_record SIDE MS: one round's ms and MB/s.
copy_record() {
	echo "$2" >>"$res/$1.copy.ms"
	awk -v b="$img_bytes" -v ms="$2" 'BEGIN { print b / 1e6 / (ms / 1000) }' \
	    >>"$res/$1.copy.mbps"
}
for r in $(seq 1 "$copy_rounds"); do
	b_forget
	ms=$(copy_hand) || exit 1
	copy_record direct "$ms"
	b_forget
	ms=$(copy_dmx) || exit 1
	copy_record dockmux "$ms"
done
b_forget
bench_log "image copy: $copy_rounds rounds in $(since "$t0") s"

# ---- a TLS backend: through dockmuxd vs a TLS client at the engine ------

# A third dockerd with --tlsverify on TCP, dockmuxd in front of it as a
# tcp+tls backend; "direct" is bench_rt speaking TLS to the engine with
# the same certificates (what the docker CLI does with --tlsverify).
t0=$(rig_now_ms)
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
	measure direct tls_inspect "$rt" rt - \
	    "$tdirect/containers/$tcid/json" "$inspect_n" $((inspect_n / 10))
	measure dockmux tls_inspect "$rt" rt "$dmx3" \
	    "http://localhost/containers/$tcid/json" "$inspect_n" \
	    $((inspect_n / 10))
done
for r in $(seq 1 "$log_rounds"); do
	measure direct tls_log "$rt" get - \
	    "$tdirect/containers/$tcid/logs?stdout=1"
	measure dockmux tls_log "$rt" get "$dmx3" \
	    "http://localhost/containers/$tcid/logs?stdout=1"
done
unset BENCH_CA BENCH_CERT BENCH_KEY
bench_log "TLS backend: $tls_rounds + $log_rounds rounds in $(since "$t0") s"

# ---- the table ----------------------------------------------------------

# row LABEL KEY BETTER TARGET: one table line.  KEY names $res/SIDE.KEY
# files (a side without one prints "-"); BETTER is "low" when a smaller
# number wins, "high" when a larger one does.  TARGET: "-" (none), a
# ratio to direct ("0.8"), "socat/1.15" (at most socat's ratio; the
# stretch 1.15x), or "abs/N" (dockmuxd's own figure at most N).
row() {
	local label=$1 key=$2 better=$3 target=$4 s v vals=""
	for s in "${SIDES[@]}"; do
		v=-
		[ -s "$res/$s.$key" ] && v=$(median "$res/$s.$key")
		vals="$vals $v"
	done
	awk -v l="$label" -v vals="$vals" -v b="$better" -v t="$target" '
	function cell(v, d) {
		if (v == "-")
			return sprintf(" %18s", "-")
		if (d == "-" || d + 0 == 0)
			return sprintf(" %10.1f %7s", v, "-")
		return sprintf(" %10.1f %6.3fx", v, v / d)
	}
	function meets(r, lim) { return b == "low" ? r <= lim : r >= lim }
	BEGIN {
		split(vals, v, " ")
		d = v[1]; m = v[4]
		r = (d != "-" && d + 0 != 0) ? m / d : 0
		op = b == "low" ? "<=" : ">="
		if (t == "-") {
			tgt = "-"; ok = ""
		} else if (t ~ /^socat\//) {
			split(t, p, "/")
			sr = v[2] / d
			tgt = sprintf("<= socat %.3fx", sr)
			ok = (r <= sr ? "ok" : "MISS") \
			    sprintf(" (%.2fx: %s)", p[2], r <= p[2] ? "ok" : "MISS")
		} else if (t ~ /^abs\//) {
			split(t, p, "/")
			tgt = op " " p[2]
			ok = meets(m, p[2] + 0) ? "ok" : "MISS"
		} else {
			tgt = sprintf("%s %.2fx", op, t)
			ok = meets(r, t + 0) ? "ok" : "MISS"
		}
		ds = d == "-" ? "-" : sprintf("%.1f", d)
		printf "%-24s %10s%s%s%s  %-16s %s\n", l, ds, cell(v[2], d),
		    cell(v[3], d), cell(v[4], d), tgt, ok
	}'
}

# The same answer on every side, or the comparison means nothing.
bytes_direct=$(median "$res/direct.log.bytes")
bytes_seen=$(sort -u "$res"/*.log.bytes | tr '\n' ' ')
reconnects=""
for s in "${SIDES[@]}"; do
	n=$(cat "$res/$s".{ping,inspect,ps,psblk,load}.connects 2>/dev/null |
	    sort -g | tail -n 1)
	[ "${n:-0}" -gt 0 ] && reconnects="$reconnects, $s $n"
done

echo
echo "dockmux bench: medians; ratios to direct, measured side by side in" \
    "this run"
printf '%-24s %10s %18s %18s %18s  %-16s %s\n' metric direct "socat (x)" \
    "haproxy (x)" "dockmux (x)" target ok
row "1 ping p50 (us)" ping.p50_us low 0.8
row "  ping p99 (us)" ping.p99_us low -
row "2 inspect p50 (us)" inspect.p50_us low socat/1.15
row "  inspect p99 (us)" inspect.p99_us low -
row "3 log (MB/s)" log.mbps high 0.98
row "4 merged ps p50 (us)" ps.p50_us low 1.10
row "  in blocks of $ps_n (us)" psblk.p50_us low -
row "  CPU/request (us)" ps.cpu_us low -
row "  dockerds' of it (us)" ps.engine_us low -
row "  dockmuxd's of it (us)" ps.proxy_us low -
row "5 logs -f RSS +MiB" streams.rss low abs/32MiB
row "  logs -f threads +" streams.threads low "abs/$((streams / 10))"
row "6 docker run (ms)" run.ms low 1.05
row "7 inspect x$load_conc (req/s)" load.rps high 0.9
row "  CPU/request (us)" load.cpu_us low -
row "  dockerd's of it (us)" load.engine_us low -
row "  proxy's of it (us)" load.proxy_us low -
row "image copy (MB/s)" copy.mbps high 1.0
row "TLS inspect p50 (us)" tls_inspect.p50_us low 1.15
row "TLS log (MB/s)" tls_log.mbps high 0.95
echo "rows 1-2: $rt_rounds rounds (ping n=$ping_n, inspect n=$inspect_n);" \
    "3: $log_rounds reads of $bytes_direct bytes;" \
    "7: $load_rounds x ${load_secs} s, CPU = the whole machine's busy" \
    "time (every core) over the requests served"
echo "row 4: $ps_rounds rounds of $ps_n, interleaved, then a block of $ps_n" \
    "on each side (CPU); direct = a ($ps_a containers) and b ($ps_b) asked" \
    "at once, until both answer; dockmuxd lists $ps_dmx"
# fig SIDE WHAT: "idle/open/closed" of $res/SIDE.{idle,open,closed}.WHAT.
fig() {
	awk '{ printf "%s%s", (NR > 1 ? "/" : ""), $1 }' \
	    "$res/$1".{idle,open,closed}."$2"
}
echo "row 5: $hold_open/$streams logs -f streams open through dockmuxd in" \
    "$hold_ms ms ($hold_ended ended early); direct = dockerd behind it;" \
    "idle/open/closed: dockmuxd $(fig dockmux rss) MiB, $(fig dockmux threads)" \
    "threads; dockerd $(fig direct rss) MiB, $(fig direct threads) threads"
echo "row 6: $run_rounds rounds; image copy: $img_bytes bytes, $copy_rounds" \
    "rounds, direct = docker save | docker load by hand, a to b"
echo "TLS: a dockerd with --tlsverify as a tcp+tls backend, $tls_rounds" \
    "rounds, ${tls_log_mb} MB log; direct = a TLS client with the same" \
    "certificates at the engine"
if [ "${hold_open:-0}" -lt "$streams" ]; then
	echo "MISS: only ${hold_open:-0} of $streams logs -f streams opened"
fi
if [ "$bytes_seen" != "$bytes_direct " ]; then
	echo "MISS: the log reads differ in size (bytes seen: $bytes_seen)"
fi
if [ -n "$reconnects" ]; then
	echo "note: kept-alive connections reopened in one timed run" \
	    "(the most): ${reconnects#, }"
fi
bench_log "done in $(since "$t_start") s"
exit 0
