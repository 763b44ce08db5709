#!/usr/bin/env bash
# run.sh: integration tests. Each tests/integration/cases/NAME.case puts
# dockmuxd in front of fake engines (build/fake-engine), sends requests with
# curl --unix-socket and checks what the client got and what each engine
# received. Prints PASS/FAIL per case, the logs of failed cases only, and
# ends with "N passed, N failed"; exits non-zero on any failure.
#
#   sh tests/integration/run.sh [CASE ...]    (CASE: name or path)
#   BUILD=build  DOCKMUXD=$BUILD/dockmuxd  FAKE=$BUILD/fake-engine
#   KEEP=1       keep every case's temp dir (failed ones are always kept)
#   DMI_TARGET=NAME   self-test: send to fake engine NAME, no dockmuxd
#
# A case file is bash, sourced, but reads as a list of facts (like relayd's
# regress args files or curl's tests/data/testN). First line: a comment
# saying what behaviour it pins. Statements, in this order:
#
#   engine NAME [fake-engine options]   a fake engine and a backend NAME in
#                                       the config; config order = line
#                                       order (the first is the primary).
#                                       --down: a backend whose socket
#                                       nobody listens on
#   script NAME <<'EOF' ... EOF         the engine's --script rules (JSON)
#   backend NAME '"os":"windows"'       extra JSON members for that backend
#   config '"unknown_os_backend":"b"'   extra top-level config members
#
#   send METHOD PATH [curl args]        one client request to dockmuxd (PATH
#                                       with its query; -H, --data-binary..)
#   expect_status CODE
#   expect_header NAME VALUE            exact value; name case-insensitive
#   expect_no_header NAME
#   expect_body TEXT                    exact; use $'a\nb\n' for newlines
#   expect_body_has TEXT / expect_body_lacks TEXT
#   expect_body_json JSON               equal as JSON (key order ignored)
#   expect_json FILTER JSON             jq FILTER over the body equals JSON
#   expect_stream_spread MS             first and last body line arrived at
#                                       least MS apart (streamed, not buffered)
#   expect_done_within MS               the response ended within MS
#   expect_first_line_within MS         its first body line came within MS
#                                       of the send (the head did not wait)
#   expect_curl_exit CODE...            curl may exit with one of these
#                                       (otherwise anything but 0 fails)
#
#   received ENGINE METHOD PATH         ENGINE got this request (exact path,
#                                       /vX.Y included) since the last send;
#                                       the received_* lines below check it
#   received_query QUERY                exact raw query string
#   received_header NAME VALUE          exact value; name case-insensitive
#   received_no_header NAME...
#   received_body TEXT                  exact
#   received_json FILTER JSON           jq FILTER over the record equals JSON
#   not_received ENGINE METHOD PATH
#   received_count ENGINE METHOD PATH N  ENGINE got exactly N of these in
#                                       the whole case (health probes too)
#   received_nothing ENGINE             since the last send, only health and
#                                       metadata (/_ping, /version, /info)
#                                       and the watcher's GET /events
#
#   stop_engine NAME / sleep_ms MS      steps between requests
#   as_uid UID [GID [GROUP,...]]        later sends run as that user (curl
#                                       under setpriv; the case's config
#                                       must make the socket reachable,
#                                       e.g. "socket_mode":"0666");
#                                       as_uid root goes back
#   reload [MS]                         write the config again and send
#                                       dockmuxd SIGHUP, then wait until it
#                                       logs the reload; with MS, from the
#                                       background MS ms later, so that it
#                                       lands while the next send is in
#                                       flight (check with expect_log)
#   expect_log TEXT                     dockmuxd's log has a line with TEXT
#   expect_engine_log NAME TEXT         engine NAME's log has a line with
#                                       TEXT (it logs "answer cut short"
#                                       when its client left mid-answer)
#   threads_during N MAX TEXT METHOD PATH  N clients send this at once;
#                                       1.5 s on, while their answers still
#                                       stream, dockmuxd has at most MAX
#                                       threads more than before (workers
#                                       that took the heads linger); then
#                                       every client must end well with
#                                       TEXT in its body
#   expect_signals_blocked              every dockmuxd thread but main blocks
#                                       SIGHUP, SIGINT and SIGTERM (main takes
#                                       them with sigwait); SIGPIPE ignored
#
# Script rules (fake_engine.c): method, path, query_has, status, headers,
# body, json, chunks, chunk_delay_ms, die_after_chunks, hang, times,
# head_delay_ms (the whole answer comes that late), and die_after_ms (the
# engine exits that long after the request, unanswered).
#
# Every case also fails if dockmuxd dies during it, or does not exit 0
# within 5 s of the SIGTERM that ends it (a crash, a hang on shutdown, a
# sanitizer report).

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
export LC_ALL=C

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CASEDIR=$ROOT/tests/integration/cases
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
DOCKMUXD=${DOCKMUXD:-$BUILD/dockmuxd}
FAKE=${FAKE:-$BUILD/fake-engine}
DOCKMUXD_ARGS=${DOCKMUXD_ARGS:--v}
MAX_TIME=${MAX_TIME:-10}

# --- helpers ---------------------------------------------------------------

fail() { printf 'FAIL: %s\n' "$*" | tee -a "$T/failures"; }
note() { printf '%s\n' "$*"; }
usec() { local t=${1/./}; echo $((10#$t)); }

# Lines on stdin, each prefixed with its arrival time.
stamp() {
	local l
	while IFS= read -r l || [[ -n $l ]]; do
		printf '%s %s\n' "$EPOCHREALTIME" "$l"
	done
}

# Value of header $2 in the last header block of file $1 (empty: none).
hdr_value() {
	awk -v n="$2" 'BEGIN { n = tolower(n) }
	    { sub(/\r$/, "") }
	    /^HTTP\// { delete h; next }
	    { i = index($0, ":"); if (i == 0) next
	      k = tolower(substr($0, 1, i - 1)); v = substr($0, i + 1)
	      sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v); h[k] = v }
	    END { if (n in h) { print h[n]; exit 0 } exit 1 }' "$1"
}

# Wait up to $2 tenths of a second for pid $1 to exit; 0 when it did.
wait_gone() {
	local i
	for ((i = 0; i < $2; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# Wait until unix socket $1 answers HTTP at all (any status).
wait_http() {
	local i code
	for ((i = 0; i < $2; i++)); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
		    --unix-socket "$1" http://localhost/_ping 2>/dev/null)
		[[ $code != 000 && -n $code ]] && return 0
		[[ -n ${3:-} ]] && ! kill -0 "$3" 2>/dev/null && return 1
		sleep 0.1
	done
	return 1
}

# --- the case vocabulary, load phase: declarations and queued steps ----------

declare -a ENGINES=() STEPS=()
declare -A EOPTS=() EDOWN=() BEXTRA=() EPID=() MARK=()
CEXTRA=""

step() { STEPS+=("$(printf '%q ' "$@")"); }

engine() {
	local name=$1 a
	shift
	ENGINES+=("$name")
	EOPTS[$name]=""
	for a in "$@"; do
		if [[ $a == --down ]]; then
			EDOWN[$name]=1
		else
			EOPTS[$name]+="$(printf '%q ' "$a")"
		fi
	done
}
script() { cat > "$T/$1.script.json"; }
backend() { BEXTRA[$1]=$2; }
config() { CEXTRA=$1; }

for s in send expect_status expect_header expect_no_header expect_body \
    expect_body_has expect_body_lacks expect_body_json expect_json \
    expect_stream_spread expect_done_within expect_first_line_within \
    expect_curl_exit received \
    received_query received_header received_no_header received_body \
    received_json not_received received_count received_nothing stop_engine sleep_ms \
    as_uid reload expect_log expect_engine_log expect_signals_blocked \
    threads_during; do
	eval "$s() { step do_$s \"\$@\"; }"
done

# --- run phase ---------------------------------------------------------------

N=0		# responses so far
R=""		# file prefix of the current response
SEL=""		# the record picked by the last `received`
CURL_OK=""	# curl exit codes the case accepts for the current response

# Check the previous response's curl exit before moving on.
close_response() {
	local rc
	[[ -z $R ]] && return
	rc=$(cat "$R.rc")
	if [[ " ${CURL_OK:-0} " != *" $rc "* ]]; then
		if [[ $rc == 28 ]]; then
			fail "response $N: client timed out (curl 28)"
		else
			fail "response $N: curl exited $rc (expected ${CURL_OK:-0})"
		fi
	fi
	R=""
}

do_send() {
	local method=$1 path=$2 sock=$T/d.sock t0 t1 name
	local -a how
	shift 2
	close_response
	N=$((N + 1))
	R=$T/resp.$N
	CURL_OK=""
	SEL=""
	for name in "${ENGINES[@]}"; do
		MARK[$name]=$(wc -l < "$T/$name.rec" 2>/dev/null || echo 0)
	done
	[[ -n ${DMI_TARGET:-} ]] && sock=$T/$DMI_TARGET.sock
	if [[ $method == HEAD ]]; then how=(--head); else how=(-X "$method"); fi
	note "> $method $path $*${AS_UID:+ (as uid $AS_UID)}"
	local -a as=()
	if [[ -n ${AS_UID:-} ]]; then
		# curl writes the head itself: a file that uid may write.
		: > "$R.hdr"
		chmod 666 "$R.hdr"
		chmod o+x "$T"
		as=(setpriv --reuid="$AS_UID" --regid="$AS_GID")
		if [[ -n $AS_GROUPS ]]; then as+=(--groups="$AS_GROUPS")
		else as+=(--clear-groups); fi
	fi
	t0=$EPOCHREALTIME
	echo "$t0" > "$R.t0"
	"${as[@]}" curl -sS -N --path-as-is --max-time "$MAX_TIME" "${how[@]}" \
	    -D "$R.hdr" -o - --unix-socket "$sock" "$@" \
	    "http://localhost$path" 2>"$R.err" |
	    tee "$R.body" | stamp > "$R.lines"
	echo "${PIPESTATUS[0]}" > "$R.rc"
	t1=$EPOCHREALTIME
	echo $((($(usec "$t1") - $(usec "$t0")) / 1000)) > "$R.ms"
	[[ $method == HEAD ]] && : > "$R.body"
	note "< $(awk '/^HTTP\//{s=$0} END{print s}' "$R.hdr" | tr -d '\r')" \
	    "(curl $(cat "$R.rc"), $(cat "$R.ms") ms, $(wc -c < "$R.body") bytes)"
	[[ -s $R.err ]] && note "  curl: $(cat "$R.err")"
	return 0
}

need_response() { [[ -n $R ]] && return 0; fail "$1 before any send"; return 1; }

do_expect_status() {
	local got
	need_response expect_status || return
	got=$(awk '/^HTTP\//{s=$2} END{print s}' "$R.hdr")
	[[ $got == "$1" ]] || fail "response $N: status $got, expected $1" \
	    "(body: $(head -c 300 "$R.body"))"
}

do_expect_header() {
	local got
	need_response expect_header || return
	if ! got=$(hdr_value "$R.hdr" "$1"); then
		fail "response $N: no header $1, expected '$2'"
	elif [[ $got != "$2" ]]; then
		fail "response $N: header $1: '$got', expected '$2'"
	fi
}

do_expect_no_header() {
	local got
	need_response expect_no_header || return
	got=$(hdr_value "$R.hdr" "$1") &&
	    fail "response $N: header $1: '$got', expected none"
}

do_expect_body() {
	need_response expect_body || return
	[[ $(cat "$R.body"; echo .) == "$1." ]] ||
	    fail "response $N: body $(printf '%q' "$(cat "$R.body")")," \
	    "expected $(printf '%q' "$1")"
}

do_expect_body_has() {
	need_response expect_body_has || return
	grep -qF -- "$1" "$R.body" ||
	    fail "response $N: body lacks '$1' (body: $(head -c 300 "$R.body"))"
}

do_expect_body_lacks() {
	need_response expect_body_lacks || return
	grep -qF -- "$1" "$R.body" &&
	    fail "response $N: body has '$1', expected not"
}

do_expect_body_json() {
	local got want
	need_response expect_body_json || return
	want=$(jq -cS . <<< "$1") || { fail "bad JSON in case: $1"; return; }
	if ! got=$(jq -cS . "$R.body" 2>/dev/null); then
		fail "response $N: body is not JSON: $(head -c 300 "$R.body")"
	elif [[ $got != "$want" ]]; then
		fail "response $N: body $got, expected $want"
	fi
}

do_expect_json() {
	local got want
	need_response expect_json || return
	want=$(jq -c . <<< "$2") || { fail "bad JSON in case: $2"; return; }
	got=$(jq -c "$1" "$R.body" 2>&1) ||
	    { fail "response $N: jq '$1' over body: $got"; return; }
	[[ $got == "$want" ]] ||
	    fail "response $N: $1 is $got, expected $want"
}

do_expect_stream_spread() {
	local first last ms
	need_response expect_stream_spread || return
	first=$(head -n 1 "$R.lines" | cut -d' ' -f1)
	last=$(tail -n 1 "$R.lines" | cut -d' ' -f1)
	[[ -z $first ]] && { fail "response $N: no body lines"; return; }
	ms=$((($(usec "$last") - $(usec "$first")) / 1000))
	((ms >= $1)) || fail "response $N: body lines arrived within $ms ms" \
	    "of each other, expected >= $1 ms (buffered, not streamed?)"
}

do_expect_done_within() {
	need_response expect_done_within || return
	(($(cat "$R.ms") <= $1)) ||
	    fail "response $N: took $(cat "$R.ms") ms, expected <= $1 ms"
}

do_expect_first_line_within() {
	local first ms
	need_response expect_first_line_within || return
	first=$(head -n 1 "$R.lines" | cut -d' ' -f1)
	[[ -z $first ]] && { fail "response $N: no body lines"; return; }
	ms=$((($(usec "$first") - $(usec "$(cat "$R.t0")")) / 1000))
	((ms <= $1)) || fail "response $N: first body line after $ms ms," \
	    "expected <= $1 ms"
}

do_expect_curl_exit() { CURL_OK="$*"; }

# The records ENGINE wrote since the last send, one JSON object a line.
since_mark() { tail -n +$((${MARK[$1]:-0} + 1)) "$T/$1.rec" 2>/dev/null; }

do_received() {
	SEL=$(since_mark "$1" | jq -c --arg m "$2" --arg p "$3" \
	    'select(.method == $m and .path == $p)' | head -n 1)
	[[ -n $SEL ]] || fail "engine $1 did not receive $2 $3 (it got:" \
	    "$(since_mark "$1" | jq -r '"\(.method) \(.path)"' | paste -sd,))"
	SELDESC="engine $1, $2 $3"
}

need_sel() { [[ -n $SEL ]]; }

do_received_query() {
	local got
	need_sel || return
	got=$(jq -r .query <<< "$SEL")
	[[ $got == "$1" ]] || fail "$SELDESC: query '$got', expected '$1'"
}

do_received_header() {
	local got
	need_sel || return
	if ! jq -e --arg n "${1,,}" '.headers | has($n)' <<< "$SEL" >/dev/null
	then
		fail "$SELDESC: no header $1, expected '$2'"
		return
	fi
	got=$(jq -r --arg n "${1,,}" '.headers[$n]' <<< "$SEL")
	if [[ $got != "$2" ]]; then
		fail "$SELDESC: header $1: '$got', expected '$2'"
	fi
}

do_received_no_header() {
	local n
	need_sel || return
	for n in "$@"; do
		jq -e --arg n "${n,,}" '.headers | has($n)' <<< "$SEL" \
		    >/dev/null && fail "$SELDESC: header $n was forwarded:" \
		    "'$(jq -r --arg n "${n,,}" '.headers[$n]' <<< "$SEL")'"
	done
}

do_received_body() {
	local got
	need_sel || return
	got=$(jq -j .body <<< "$SEL"; echo .)
	[[ $got == "$1." ]] || fail "$SELDESC: body $(printf '%q' "${got%.}")," \
	    "expected $(printf '%q' "$1")"
}

do_received_json() {
	local got want
	need_sel || return
	want=$(jq -c . <<< "$2") || { fail "bad JSON in case: $2"; return; }
	got=$(jq -c "$1" <<< "$SEL" 2>&1)
	[[ $got == "$want" ]] || fail "$SELDESC: $1 is $got, expected $want"
}

do_not_received() {
	local got
	got=$(since_mark "$1" | jq -c --arg m "$2" --arg p "$3" \
	    'select(.method == $m and .path == $p)' | head -n 1)
	[[ -z $got ]] || fail "engine $1 received $2 $3, expected not"
}

do_received_count() {
	local got
	got=$(jq -c --arg m "$2" --arg p "$3" \
	    'select(.method == $m and .path == $p)' "$T/$1.rec" 2>/dev/null |
	    wc -l)
	((got == $4)) || fail "engine $1 received $2 $3 $got times, expected $4"
}

do_received_nothing() {
	local got
	# dockmuxd's own background traffic: health probes and the watcher
	# that follows each engine's container events.
	got=$(since_mark "$1" | jq -r '"\(.method) \(.path)"' |
	    grep -Ev '^(GET|HEAD) (/v[0-9.]+)?/(_ping|version|info|events)$' |
	    paste -sd,)
	[[ -z $got ]] || fail "engine $1 received $got, expected nothing"
}

do_stop_engine() {
	local pid=${EPID[$1]:-}
	[[ -n $pid ]] || return
	kill -TERM "$pid" 2>/dev/null
	wait_gone "$pid" 50 || kill -KILL "$pid" 2>/dev/null
	EPID[$1]=""
}

AS_UID="" AS_GID="" AS_GROUPS=""
do_as_uid() {
	if [[ $1 == root ]]; then AS_UID=""; return; fi
	AS_UID=$1 AS_GID=${2:-$1} AS_GROUPS=${3:-}
}

do_sleep_ms() { sleep "$(awk -v m="$1" 'BEGIN { print m / 1000 }')"; }

# How many lines of dockmuxd's log have the fixed text $1.
log_count() { grep -cF -- "$1" "$T/dockmuxd.log" 2>/dev/null; }

do_reload() {
	local before i
	[[ -n $DPID ]] || { fail "reload without dockmuxd"; return; }
	write_config || return
	if [[ -n ${1:-} ]]; then
		( do_sleep_ms "$1"; kill -HUP "$DPID" 2>/dev/null ) &
		return
	fi
	before=$(log_count 'configuration reloaded')
	kill -HUP "$DPID"
	for ((i = 0; i < 100; i++)); do
		(($(log_count 'configuration reloaded') > before)) && return
		sleep 0.1
	done
	fail "dockmuxd did not log a reload within 10 s of SIGHUP"
}

do_expect_log() {
	(($(log_count "$1") > 0)) || fail "dockmuxd's log has no line with '$1'"
}

do_expect_engine_log() {
	grep -qF -- "$2" "$T/$1.log" 2>/dev/null ||
	    fail "engine $1's log has no line with '$2'"
}

# The threads dockmuxd has now.
dpid_threads() { find /proc/"$DPID"/task -mindepth 1 -maxdepth 1 | wc -l; }

do_threads_during() {
	local n=$1 max=$2 text=$3 method=$4 path=$5 before during i rc
	local -a pids=()
	before=$(dpid_threads)
	for ((i = 0; i < n; i++)); do
		curl -s -o "$T/many.$i" -X "$method" --unix-socket "$T/d.sock" \
		    --max-time "$MAX_TIME" "http://localhost$path" &
		pids+=($!)
	done
	sleep 1.5
	during=$(dpid_threads)
	note "threads before=$before with $n clients streaming=$during"
	((during - before <= max)) || fail "$((during - before)) more" \
	    "threads for $n clients streaming (at most $max)"
	for i in "${!pids[@]}"; do
		rc=0
		wait "${pids[$i]}" || rc=$?
		((rc == 0)) || { fail "client $i: curl exited $rc"; continue; }
		grep -qF -- "$text" "$T/many.$i" ||
		    fail "client $i: no '$text' in $(head -c 300 "$T/many.$i")"
	done
}

# Signal masks from /proc: bit N-1 stands for signal N.  Main is left
# out: while it sleeps in sigwait() the kernel shows the signals it waits
# for as unblocked.
do_expect_signals_blocked() {
	local f blk ign n=0 want=$(((1 << 0) | (1 << 1) | (1 << 14)))
	for f in /proc/"$DPID"/task/*/status; do
		[[ -r $f && $f != /proc/$DPID/task/$DPID/status ]] || continue
		n=$((n + 1))
		blk=$(awk '/^SigBlk:/ { print $2 }' "$f")
		ign=$(awk '/^SigIgn:/ { print $2 }' "$f")
		(((16#$blk & want) == want)) || fail "thread" \
		    "$(basename "$(dirname "$f")") does not block SIGHUP," \
		    "SIGINT and SIGTERM (SigBlk $blk)"
		(((16#$ign & (1 << 12)) != 0)) || fail "thread" \
		    "$(basename "$(dirname "$f")") does not ignore SIGPIPE"
	done
	((n > 0)) || fail "dockmuxd has no thread but main, expected several"
}

# --- one case ----------------------------------------------------------------

DPID=""

# Stop what this case started, by pid; dockmuxd first, so it does not log
# a storm of backend errors while the fakes go away.
cleanup() {
	local name rc
	if [[ -n $DPID ]]; then
		if ! kill -0 "$DPID" 2>/dev/null; then
			wait "$DPID"
			fail "dockmuxd died during the case (status $?)"
		else
			kill -TERM "$DPID"
			if ! wait_gone "$DPID" 50; then
				fail "dockmuxd still running 5 s after SIGTERM"
				kill -KILL "$DPID" 2>/dev/null
			fi
			wait "$DPID"
			rc=$?
			((rc == 0)) ||
			    fail "dockmuxd exited with status $rc after SIGTERM"
		fi
		DPID=""
	fi
	for name in "${ENGINES[@]}"; do
		do_stop_engine "$name"
	done
}

start_engines() {
	local name sock
	local -a opts
	for name in "${ENGINES[@]}"; do
		sock=$T/$name.sock
		: > "$T/$name.rec"
		[[ -n ${EDOWN[$name]:-} ]] && continue
		eval "opts=(${EOPTS[$name]})"
		if [[ -f $T/$name.script.json ]]; then
			jq -e . "$T/$name.script.json" >/dev/null ||
			    { fail "engine $name: script is not JSON"; return 1; }
			opts+=(--script "$T/$name.script.json")
		fi
		"$FAKE" --socket "$sock" --record "$T/$name.rec" \
		    --pidfile "$T/$name.pid" --name "$name" "${opts[@]}" \
		    2>"$T/$name.log" &
		EPID[$name]=$!
		wait_http "$sock" 50 "${EPID[$name]}" ||
		    { fail "engine $name did not come up"; return 1; }
	done
}

write_config() {
	local name b sep="" backends=""
	for name in "${ENGINES[@]}"; do
		b="{\"name\":\"$name\",\"endpoint\":\"unix://$T/$name.sock\""
		[[ -n ${BEXTRA[$name]:-} ]] && b+=",${BEXTRA[$name]}"
		backends+="$sep$b}"
		sep=","
	done
	b="{\"listen\":\"unix://$T/d.sock\",\"store\":\"$T/d.db\""
	b+=",\"backends\":[$backends]"
	[[ -n $CEXTRA ]] && b+=",$CEXTRA"
	jq . <<< "$b}" > "$T/dockmux.json" ||
	    { fail "config is not JSON: $b}"; return 1; }
}

start_dockmuxd() {
	[[ -n ${DMI_TARGET:-} ]] && return 0
	# shellcheck disable=SC2086
	"$DOCKMUXD" -c "$T/dockmux.json" $DOCKMUXD_ARGS 2>"$T/dockmuxd.log" &
	DPID=$!
	if ! wait_http "$T/d.sock" 100 "$DPID"; then
		kill -0 "$DPID" 2>/dev/null || { wait "$DPID"; note "status $?"; }
		fail "dockmuxd did not answer GET /_ping within 10 s"
		return 1
	fi
}

run_case() {
	local s
	trap cleanup EXIT
	# shellcheck disable=SC1090
	source "$1" || { fail "case file did not load"; exit 1; }
	((${#ENGINES[@]} > 0)) || { fail "case declares no engine"; exit 1; }
	start_engines && write_config && start_dockmuxd || exit 1
	for s in "${STEPS[@]}"; do
		eval "$s"
	done
	close_response
	exit 0
}

# Everything a failed case left: what was checked, then the logs.
show_logs() {
	local f shown=""
	for f in "$T/runner.log" "$T/dockmuxd.log" "$T"/*.log "$T"/*.rec; do
		[[ -f $f && " $shown " != *" $f "* ]] || continue
		shown+=" $f"
		printf '    --- %s\n' "${f#"$T"/}"
		tail -n 60 "$f" | sed 's/^/    /'
	done
	printf '    (all files kept in %s)\n' "$T"
}

main() {
	local f name pass=0 nfail=0 failed=""
	local -a cases=()
	[[ -x $FAKE ]] || { echo "run.sh: no $FAKE (make $FAKE)" >&2; exit 2; }
	[[ -n ${DMI_TARGET:-} || -x $DOCKMUXD ]] ||
	    { echo "run.sh: no $DOCKMUXD (make $DOCKMUXD)" >&2; exit 2; }
	command -v jq >/dev/null || { echo "run.sh: needs jq" >&2; exit 2; }
	if (($# > 0)); then
		for f in "$@"; do
			[[ -f $f ]] || f=$CASEDIR/${f%.case}.case
			cases+=("$f")
		done
	else
		cases=("$CASEDIR"/*.case)
	fi
	for f in "${cases[@]}"; do
		name=$(basename "$f" .case)
		T=$(mktemp -d /tmp/dmi.XXXXXX)
		: > "$T/failures"
		( run_case "$f" ) > "$T/runner.log" 2>&1
		if [[ $? == 0 && ! -s $T/failures ]]; then
			echo "PASS $name"
			pass=$((pass + 1))
			[[ -n ${KEEP:-} ]] || rm -rf "$T"
		else
			echo "FAIL $name"
			sed 's/^/    /' "$T/failures"
			show_logs
			nfail=$((nfail + 1))
			failed+=" $name"
		fi
	done
	[[ -n $failed ]] && echo "failed:$failed"
	echo "$pass passed, $nfail failed"
	((nfail == 0))
}

main "$@"
