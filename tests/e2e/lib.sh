# shellcheck shell=bash
# tests/e2e/lib.sh: the real-engine test rig (bash).  Sourced by
# tests/e2e/run.sh, by every tests/e2e/t_*.sh, by scripts/demo.sh and by the
# benchmark.
#
# A rig lives in one short temporary directory, $RIG_DIR (/tmp/dmx.XXXXXX:
# unix socket paths must stay under 108 bytes).  Engines are private dockerd
# instances in $RIG_DIR/NAME; dockmuxd instances log to $RIG_DIR/TAG.log.
# Every process records what IT started and rig_cleanup stops only that, by
# pid file, never by process name.  Only the process that created $RIG_DIR
# (rig_init) removes it.
#
#   rig_init                      make $RIG_DIR, trap EXIT -> rig_cleanup
#   rig_engine_start NAME         private dockerd + busybox:latest imported;
#                                 sets/exports ENGINE_<NAME>_SOCK
#   rig_engine_stop NAME          SIGTERM by pid file, 20 s, then SIGKILL
#   rig_engine_purge NAME         stop, unmount, rm -rf $RIG_DIR/NAME
#   rig_write_config [OUT]        dockmux.json: backends a and b
#   rig_write_config_for OUT SOCK STORE name=sock...   any backends
#   rig_dockmuxd_start CONFIG [TAG]   $BUILD/dockmuxd in the background
#   rig_dockmuxd_stop [TAG]       SIGTERM by recorded pid, 10 s, SIGKILL
#   rig_cleanup                   stop what this process started
#
# Test helpers (t_*.sh): t_init (DOCKER_HOST, $T_TMP, trap), t_name, t_stop_pid,
# t_needs_dockmuxd, t_fail, t_expect_eq, t_wait_for, t_man_renders;
# rig_notify_listen (a stand-in for systemd's notify socket).

: "${BUILD:=build}"
: "${RIG_DOCKER:=docker}"	# docker CLI used by the rig itself
export BUILD

RIG_MY_ENGINES=""		# engines this process started
RIG_MY_DMX=""			# dockmuxd tags this process started
RIG_MY_DIR=""			# set when this process created RIG_DIR
RIG_ENGINE_TIMEOUT=${RIG_ENGINE_TIMEOUT:-60}

rig_log() { printf '%s\n' "rig: $*" >&2; }

rig_die() {
	printf '%s\n' "rig: FATAL: $*" >&2
	exit 1
}

rig_now_ms() { date +%s%3N; }

# rig_init: create the rig directory (unless RIG_DIR is already set by a
# parent, e.g. a test under run.sh) and install the cleanup trap.
rig_init() {
	if [ -z "${RIG_DIR:-}" ]; then
		RIG_DIR=$(mktemp -d /tmp/dmx.XXXXXX) ||
		    rig_die "cannot create rig directory"
		RIG_MY_DIR=$RIG_DIR
	fi
	export RIG_DIR
	trap rig_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# The busybox rootfs tarball, built once per rig and shared by all engines.
rig_busybox_tar() {
	local tar=$RIG_DIR/busybox.tar bb root a
	if [ -s "$tar" ]; then
		printf '%s\n' "$tar"
		return 0
	fi
	# The image needs a static busybox: busybox-static's /bin/busybox.
	bb=/bin/busybox
	[ -x "$bb" ] || bb=$(command -v busybox) ||
	    rig_die "busybox not found (install busybox-static)"
	root=$(mktemp -d "$RIG_DIR/rootfs.XXXXXX")
	mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/proc" \
	    "$root/sys" "$root/dev" "$root/root" || return 1
	cp "$bb" "$root/bin/busybox" || return 1
	for a in $("$root/bin/busybox" --list); do
		[ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
	done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
	echo 'root:x:0:' >"$root/etc/group"
	tar -C "$root" -cf "$tar.tmp.$$" . || return 1
	mv -f "$tar.tmp.$$" "$tar"
	rm -rf "$root"
	printf '%s\n' "$tar"
}

rig_engine_dir() { printf '%s\n' "$RIG_DIR/$1"; }

rig_engine_sock() { printf '%s\n' "$RIG_DIR/$1/docker.sock"; }

# rig_ping SOCK: does something answer GET /_ping with OK on that socket?
rig_ping() {
	[ -S "$1" ] || return 1
	[ "$(curl -s -m 5 --unix-socket "$1" http://engine/_ping 2>/dev/null)" = OK ]
}

# rig_engine_start NAME [DOCKERD FLAGS...]: a private dockerd in its own directory
# ($RIG_DIR/NAME: vfs storage, no iptables, no bridge network).
rig_engine_start() {
	local name=$1 D sock t0 tar var
	shift	# the rest: more dockerd flags (a TCP+TLS listener)
	[ -n "${RIG_DIR:-}" ] || rig_die "rig_engine_start before rig_init"
	D=$(rig_engine_dir "$name")
	sock=$D/docker.sock
	mkdir -p "$D" || rig_die "cannot create $D"
	if [ -s "$D/pid" ] && kill -0 "$(cat "$D/pid")" 2>/dev/null; then
		rig_die "engine $name already running (pid $(cat "$D/pid"))"
	fi
	# Own daemon.json: a host /etc/docker/daemon.json must not leak into
	# the rig, and each engine gets its own trust key, hence its own
	# engine ID in GET /info (the default /etc/docker/key.json is shared:
	# every engine on the host would report the same ID).
	[ -f "$D/daemon.json" ] ||
	    printf '{ "deprecated-key-path": "%s/key.json" }\n' "$D" >"$D/daemon.json"
	t0=$(rig_now_ms)
	setsid dockerd --config-file "$D/daemon.json" \
	    --host "unix://$sock" --data-root "$D/data" \
	    --exec-root "$D/exec" --pidfile "$D/pid" \
	    --iptables=false --ip-masq=false --bridge=none \
	    --storage-driver=vfs "$@" \
	    >>"$D/dockerd.log" 2>&1 </dev/null &
	echo $! >"$D/launcher.pid"
	disown $!	# no "Killed" job notices when a test kills it
	RIG_MY_ENGINES="$RIG_MY_ENGINES $name"
	while ! rig_ping "$sock"; do
		if ! kill -0 "$(cat "$D/launcher.pid")" 2>/dev/null &&
		    ! kill -0 "$(cat "$D/pid" 2>/dev/null || echo none)" 2>/dev/null; then
			rig_engine_fail "$name" "dockerd exited during start"
		fi
		if [ $(( $(rig_now_ms) - t0 )) -gt $((RIG_ENGINE_TIMEOUT * 1000)) ]; then
			rig_engine_fail "$name" \
			    "no /_ping answer on $sock after ${RIG_ENGINE_TIMEOUT}s"
		fi
		sleep 0.1
	done
	tar=$(rig_busybox_tar) || rig_die "cannot build busybox rootfs"
	"$RIG_DOCKER" -H "unix://$sock" import -c 'CMD ["/bin/sh"]' - \
	    busybox:latest <"$tar" >/dev/null ||
	    rig_engine_fail "$name" "busybox import failed"
	var=ENGINE_$(printf '%s' "$name" | tr 'a-z-' 'A-Z_')_SOCK
	printf -v "$var" '%s' "$sock"
	export "${var?}"
	rig_log "engine $name ready in $(( $(rig_now_ms) - t0 )) ms ($sock)"
}

rig_engine_fail() {
	local D
	D=$(rig_engine_dir "$1")
	{
		echo "rig: FATAL: engine $1: $2"
		echo "rig: ---- last 30 lines of $D/dockerd.log ----"
		tail -n 30 "$D/dockerd.log" 2>/dev/null
		echo "rig: ----"
	} >&2
	exit 1
}

# Pids of every descendant of pid $1 (children first), from /proc/PID/stat.
rig_descendants() {
	local table="" f line rest
	for f in /proc/[0-9]*/stat; do
		line=""
		read -r line 2>/dev/null <"$f" || continue
		rest=${line##*) }	# after "pid (comm) ": state ppid ...
		rest=${rest#* }
		table="$table${line%% *} ${rest%% *}
"
	done
	rig_descendants_in "$1" "$table"
}

rig_descendants_in() {
	local c
	for c in $(printf '%s' "$2" | awk -v p="$1" '$2 == p { print $1 }'); do
		rig_descendants_in "$c" "$2"
		echo "$c"
	done
}

# rig_wait_gone PID SECONDS: 0 once the pid is gone.
rig_wait_gone() {
	local pid=$1 n=$(( $2 * 10 ))
	while kill -0 "$pid" 2>/dev/null; do
		[ "$n" -le 0 ] && return 1
		n=$((n - 1))
		sleep 0.1
	done
	return 0
}

# Lazily unmount everything mounted at or below $1 (deepest first).
rig_unmount_under() {
	local dir=$1 m
	# Field 5 of mountinfo is the mount point (octal-escaped spaces are
	# not an issue: rig paths have none).
	for m in $(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' \
	    /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
}

# rig_engine_stop NAME: containers removed while the engine still answers,
# then SIGTERM by pid file, 20 s, SIGKILL.  Whatever the engine left behind
# (its containerd, shims and container processes after a kill -9) is found
# through the pid files and cmdlines under its own directory and killed by
# pid; its mounts are unmounted.
rig_engine_stop() {
	local opts=$-
	set +e
	rig_engine_stop_ "$@"
	case $opts in *e*) set -e ;; esac
	return 0
}

rig_engine_stop_() {
	local name=$1 D sock pid cpid ids p leftovers id cg args
	D=$(rig_engine_dir "$name")
	sock=$D/docker.sock
	if rig_ping "$sock"; then
		ids=$("$RIG_DOCKER" -H "unix://$sock" ps -aq 2>/dev/null)
		if [ -n "$ids" ]; then
			# shellcheck disable=SC2086
			timeout 30 "$RIG_DOCKER" -H "unix://$sock" rm -f $ids \
			    >/dev/null 2>&1 || true
		fi
	fi
	pid=$(cat "$D/pid" 2>/dev/null || cat "$D/launcher.pid" 2>/dev/null || true)
	cpid=$(cat "$D/exec/containerd/containerd.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		if ! rig_wait_gone "$pid" 20; then
			rig_log "engine $name: dockerd $pid ignored SIGTERM for 20 s, SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			rig_wait_gone "$pid" 5 || true
		fi
	fi
	if [ -n "$cpid" ] && kill -0 "$cpid" 2>/dev/null &&
	    grep -qF "$D/" "/proc/$cpid/cmdline" 2>/dev/null; then
		kill -TERM "$cpid" 2>/dev/null || true
		rig_wait_gone "$cpid" 5 || kill -KILL "$cpid" 2>/dev/null || true
	fi
	# Shims outlive a killed dockerd/containerd; they name this engine's
	# directory on their command line.  Kill them and their containers.
	leftovers=""
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = "$$" ] && continue
		args=()
		mapfile -d '' args 2>/dev/null <"/proc/$p/cmdline" || continue
		case " ${args[*]-} " in
		*"$D/"*)
			leftovers="$leftovers $(rig_descendants "$p" | tr '\n' ' ') $p"
			;;
		esac
	done
	if [ -n "${leftovers// /}" ]; then
		rig_log "engine $name: killing leftover processes:$leftovers"
		# shellcheck disable=SC2086
		kill -KILL $leftovers 2>/dev/null || true
		sleep 0.2
		# Their (now empty) cgroups, named after the container ids.
		for id in "$D"/data/containers/*; do
			id=${id##*/}
			for cg in /sys/fs/cgroup/*/docker/"$id" \
			    /sys/fs/cgroup/docker/"$id"; do
				if [ -d "$cg" ]; then
					rmdir "$cg" 2>/dev/null || true
				fi
			done
		done
	fi
	rig_unmount_under "$D"
	rm -f "$D/pid" "$D/launcher.pid"
	# shellcheck disable=SC2086 # a list of words
	RIG_MY_ENGINES=$(rig_list_without "$name" $RIG_MY_ENGINES)
	return 0
}

# rig_list_without WORD LIST...: LIST minus WORD, space separated.
rig_list_without() {
	local w=$1 out="" x
	shift
	for x in "$@"; do
		[ "$x" = "$w" ] || out="$out $x"
	done
	printf '%s\n' "$out"
}

# rig_engine_purge NAME: stop it and remove its directory.
rig_engine_purge() {
	rig_engine_stop "$1"
	rm -rf "$(rig_engine_dir "$1")"
}

# rig_write_config_for OUT LISTEN_SOCK STORE name=sock [name=sock...]
rig_write_config_for() {
	local out=$1 listen=$2 store=$3 sep="" b
	shift 3
	{
		printf '{\n  "listen": "unix://%s",\n  "store": "%s",\n' \
		    "$listen" "$store"
		printf '  "backends": ['
		for b in "$@"; do
			printf '%s\n    { "name": "%s", "endpoint": "unix://%s" }' \
			    "$sep" "${b%%=*}" "${b#*=}"
			sep=,
		done
		printf '\n  ]\n}\n'
	} >"$out"
}

# rig_write_config [OUT]: the standard two-backend config; prints its path.
rig_write_config() {
	local out=${1:-$RIG_DIR/dockmux.json}
	rig_write_config_for "$out" "$RIG_DIR/dockmux.sock" \
	    "$RIG_DIR/dockmux.db" \
	    "a=$(rig_engine_sock a)" "b=$(rig_engine_sock b)"
	printf '%s\n' "$out"
}

# rig_write_config_vm OUT SOCK STORE: engines a and b behind SOCK, with b
# the VM-isolated one (isolation "vm": io.dockmux.isolation=vm lands there).
rig_write_config_vm() {
	cat >"$1" <<EOF
{
  "listen": "unix://$2",
  "store": "$3",
  "isolation_labels": ["io.dockmux.isolation"],
  "backends": [
    { "name": "a", "endpoint": "unix://$ENGINE_A_SOCK" },
    { "name": "b", "endpoint": "unix://$ENGINE_B_SOCK", "isolation": ["vm"] }
  ]
}
EOF
}

# The listen socket path from a config file.
rig_config_sock() {
	python3 -c 'import json,sys
l = json.load(open(sys.argv[1])).get("listen", "")
l = next((x for x in ([l] if isinstance(l, str) else l) if x.startswith("unix://")), "")
print(l[len("unix://"):])' "$1"
}

# rig_dockmuxd_start CONFIG [TAG]: $BUILD/dockmuxd --config CONFIG, stderr
# to $RIG_DIR/TAG.log, pid in $RIG_DIR/TAG.pid; waits for GET /_ping.
# TAG defaults to "dockmuxd"; that one exports DOCKMUX_SOCK.
rig_dockmuxd_start() {
	local config=$1 tag=${2:-dockmuxd} sock pid t0 bin w
	bin=$BUILD/dockmuxd
	[ -x "$bin" ] || rig_die "$bin does not exist: build it first (make)"
	sock=$(rig_config_sock "$config") || rig_die "cannot read $config"
	[ -n "$sock" ] || rig_die "$config has no unix:// listen"
	t0=$(rig_now_ms)
	setsid "$bin" --config "$config" >>"$RIG_DIR/$tag.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$RIG_DIR/$tag.pid"
	RIG_MY_DMX="$RIG_MY_DMX $tag"
	while ! rig_ping "$sock"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			if wait "$pid"; then w=0; else w=$?; fi
			rig_dmx_fail "$tag" "dockmuxd exited with status $w during start"
		fi
		if [ $(( $(rig_now_ms) - t0 )) -gt 20000 ]; then
			rig_dmx_fail "$tag" "no /_ping answer on $sock after 20 s"
		fi
		sleep 0.05
	done
	if [ "$tag" = dockmuxd ]; then
		DOCKMUX_SOCK=$sock
		export DOCKMUX_SOCK
	fi
	rig_log "$tag ready in $(( $(rig_now_ms) - t0 )) ms ($sock, pid $pid)"
}

rig_dmx_fail() {
	{
		echo "rig: FATAL: $1: $2"
		echo "rig: ---- last 30 lines of $RIG_DIR/$1.log ----"
		tail -n 30 "$RIG_DIR/$1.log" 2>/dev/null
		echo "rig: ----"
	} >&2
	exit 1
}

# rig_dockmuxd_stop [TAG]: SIGTERM by recorded pid, 10 s, then SIGKILL.
# Returns dockmuxd's exit status when it was our child, else 0.
rig_dockmuxd_stop() {
	local opts=$- rc=0
	set +e
	rig_dockmuxd_stop_ "$@"
	rc=$?
	case $opts in *e*) set -e ;; esac
	return $rc
}

rig_dockmuxd_stop_() {
	local tag=${1:-dockmuxd} pid rc=0 w
	pid=$(cat "$RIG_DIR/$tag.pid" 2>/dev/null) || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		if ! rig_wait_gone "$pid" 10; then
			rig_log "$tag: pid $pid ignored SIGTERM for 10 s, SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			rc=137
		fi
	fi
	# Reap it if it is our child (status unknown otherwise: 127).
	if wait "$pid" 2>/dev/null; then w=0; else w=$?; fi
	if [ "$rc" -eq 0 ] && [ "$w" -ne 127 ]; then
		rc=$w
	fi
	rm -f "$RIG_DIR/$tag.pid"
	# shellcheck disable=SC2086 # a list of words
	RIG_MY_DMX=$(rig_list_without "$tag" $RIG_MY_DMX)
	return $rc
}

# rig_cleanup: stop what this process started; remove RIG_DIR if it made it.
rig_cleanup() {
	local rc=$? t e
	trap - EXIT INT TERM
	set +e
	for t in $RIG_MY_DMX; do
		rig_dockmuxd_stop "$t" || true
	done
	# Engines stop in parallel (dockerd takes 1-3 s to shut down).
	local pids=""
	for e in $RIG_MY_ENGINES; do
		( rig_engine_stop "$e" ) &
		pids="$pids $!"
	done
	for t in $pids; do
		wait "$t"
	done
	RIG_MY_ENGINES=""
	if [ -n "$RIG_MY_DIR" ] && [ -d "$RIG_MY_DIR" ]; then
		rig_unmount_under "$RIG_MY_DIR"
		if [ -n "${RIG_KEEP:-}" ]; then
			rig_log "RIG_KEEP set: leaving $RIG_MY_DIR"
		else
			rm -rf "$RIG_MY_DIR"
		fi
	fi
	return $rc
}

# ---- helpers for t_*.sh ---------------------------------------------------

T_NAMES=""
T_IMAGES=""

# t_rmi_at_exit IMAGE...: remove these images from engines a and b when
# the test ends (call it directly, not in $(...)).
t_rmi_at_exit() {
	T_IMAGES="$T_IMAGES $*"
}

# t_init: env checks, DOCKER_HOST at dockmuxd, cleanup trap for the test.
t_init() {
	[ -n "${RIG_DIR:-}" ] || rig_die "RIG_DIR not set: run via tests/e2e/run.sh"
	[ -n "${DOCKMUX_SOCK:-}" ] || rig_die "DOCKMUX_SOCK not set"
	T_SELF=$(basename "$0" .sh)
	T_PREFIX=e2e-${T_SELF#t_}-$$
	T_PREFIX=${T_PREFIX//_/-}
	T_TMP=$(mktemp -d "$RIG_DIR/t.XXXXXX") || rig_die "mktemp under $RIG_DIR"
	DOCKER_HOST=unix://$DOCKMUX_SOCK
	export DOCKER_HOST
	unset DOCKER_CONTEXT
	trap t_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# t_name SUFFIX: a unique container name, removed when the test ends.
t_name() {
	local n=$T_PREFIX-$1
	T_NAMES="$T_NAMES $n"
	printf '%s\n' "$n"
}

t_cleanup() {
	local rc=$? n
	trap - EXIT INT TERM
	set +e
	for n in $T_NAMES; do
		timeout 30 docker rm -f "$n" >/dev/null 2>&1 || true
	done
	# t_name runs in $(...), so T_NAMES misses most names: also remove
	# every container carrying this test's prefix, on each engine.
	for n in "${ENGINE_A_SOCK:-}" "${ENGINE_B_SOCK:-}"; do
		[ -S "$n" ] || continue
		docker -H "unix://$n" ps -aq --filter "name=^/$T_PREFIX" \
		    2>/dev/null | xargs -r timeout 60 docker -H "unix://$n" \
		    rm -f >/dev/null 2>&1
	done
	for n in "${ENGINE_A_SOCK:-}" "${ENGINE_B_SOCK:-}"; do
		[ -S "$n" ] && [ -n "$T_IMAGES" ] || continue
		# shellcheck disable=SC2086 # a list of image names
		timeout 60 docker -H "unix://$n" rmi -f $T_IMAGES >/dev/null 2>&1
	done
	rig_cleanup
	[ -n "${T_TMP:-}" ] && rm -rf "$T_TMP"
	exit $rc
}

# t_needs_dockmuxd: this test drives dockmuxd itself (not a raw engine).
t_needs_dockmuxd() {
	if [ -n "${RIG_DIRECT:-}" ]; then
		echo "SKIP: needs dockmuxd (RIG_DIRECT=$RIG_DIRECT)"
		exit 77
	fi
	[ -x "$BUILD/dockmuxd" ] || t_fail "$BUILD/dockmuxd not built"
}

# t_stop_pid PID: SIGTERM a process this test started itself (not through
# rig_dockmuxd_start), SIGKILL after 10 s.  An empty or gone PID is done.
t_stop_pid() {
	if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
		kill -TERM "$1"
		rig_wait_gone "$1" 10 || kill -KILL "$1" 2>/dev/null || true
	fi
}

t_fail() {
	printf '%s\n' "FAIL: $*" >&2
	exit 1
}

# t_man_renders FILE: the man page FILE (roff, maybe gzipped) renders with
# neither groff -ww nor man --warnings saying a word, and is not empty.
t_man_renders() {
	local f=$1 out
	out=$( { zcat -f "$f" | LC_ALL=C.UTF-8 groff -ww -man -Tutf8 \
	    >/dev/null; } 2>&1) || t_fail "groff failed on $f: $out"
	[ -z "$out" ] || t_fail "groff -ww warns about $f: $out"
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$f" 2>&1 \
	    >/dev/null) || t_fail "man -l $f failed: $out"
	[ -z "$out" ] || t_fail "man --warnings -l $f: $out"
	[ "$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$f" 2>/dev/null | wc -l)" \
	    -gt 20 ] || t_fail "man -l $f: (almost) nothing rendered"
}

# t_expect_eq WHAT EXPECTED ACTUAL
t_expect_eq() {
	[ "$2" = "$3" ] ||
	    t_fail "$1: expected '$2', got '$3'"
}

# t_wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
t_wait_for() {
	local n=$(( $1 * 10 ))
	shift
	until "$@"; do
		[ "$n" -le 0 ] && return 1
		n=$((n - 1))
		sleep 0.1
	done
}

# t_remote_backend_works SOCK BACKEND ENGINE_SOCK: through dockmuxd at
# SOCK, containers pinned to BACKEND (whose engine is at ENGINE_SOCK) run,
# stream logs -f, take stdin through exec -i and run -i (attach) to its
# end, report stats, and appear in the merged ps.
t_remote_backend_works() {
	local sock=$1 be=$2 esock=$3 n n2 n3 out
	n=$(t_name "$be-run")
	out=$(docker -H "unix://$sock" run --name "$n" \
	    --label "io.dockmux.backend=$be" busybox echo "over-$be")
	t_expect_eq "run on backend $be" "over-$be" "$out"
	[ -n "$(docker -H "unix://$esock" ps -aq --filter "name=^/$n\$")" ] ||
	    t_fail "the container is not on backend $be's engine"
	n2=$(t_name "$be-logs")
	docker -H "unix://$sock" run -d --name "$n2" \
	    --label "io.dockmux.backend=$be" busybox sh -c \
	    'i=0; while [ $i -lt 30 ]; do echo line$i; i=$((i+1)); sleep 0.1; done' \
	    >/dev/null
	timeout 20 docker -H "unix://$sock" logs -f "$n2" >"$T_TMP/$be.follow" ||
	    t_fail "logs -f on backend $be"
	t_expect_eq "logs -f lines on backend $be" 30 \
	    "$(grep -c '^line' "$T_TMP/$be.follow")"
	n3=$(t_name "$be-exec")
	docker -H "unix://$sock" run -d --name "$n3" \
	    --label "io.dockmux.backend=$be" busybox sleep 120 >/dev/null
	out=$(echo hello-exec | timeout 20 docker -H "unix://$sock" exec -i "$n3" cat)
	t_expect_eq "exec -i on backend $be" hello-exec "$out"
	out=$(echo hello-attach | timeout 20 docker -H "unix://$sock" run -i --rm \
	    --label "io.dockmux.backend=$be" busybox cat)
	t_expect_eq "run -i (attach) on backend $be" hello-attach "$out"
	docker -H "unix://$sock" stats --no-stream "$n3" | grep -q "$n3" ||
	    t_fail "stats on backend $be"
	docker -H "unix://$sock" ps --format '{{.Names}}' | grep -qx "$n3" ||
	    t_fail "merged ps lacks backend $be's container"
	T_REMOTE_EXEC=$n3
}

# rig_make_certs DIR: with openssl, a CA (DIR/ca.pem, ca-key.pem), a
# server certificate for localhost and 127.0.0.1 (server-cert.pem,
# server-key.pem) and a client one (client-cert.pem, client-key.pem),
# both signed by it; and DIR/client/ with ca.pem, cert.pem, key.pem in
# the docker CLI's DOCKER_CERT_PATH layout.
rig_make_certs() {
	local d=$1 n usage
	mkdir -p "$d/client" || rig_die "mkdir $d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test-ca" \
	    -keyout "$d/ca-key.pem" -out "$d/ca.pem" 2>/dev/null ||
	    rig_die "openssl req (CA) in $d"
	for n in server client; do
		usage=serverAuth
		[ "$n" = client ] && usage=clientAuth
		openssl req -newkey rsa:2048 -nodes -keyout "$d/$n-key.pem" \
		    -subj "/CN=$n" -out "$d/$n.csr" 2>/dev/null ||
		    rig_die "openssl req ($n)"
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=%s\n' \
		    "$usage" >"$d/$n.ext"
		openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.pem" \
		    -CAkey "$d/ca-key.pem" -CAcreateserial -days 2 \
		    -out "$d/$n-cert.pem" -extfile "$d/$n.ext" 2>/dev/null ||
		    rig_die "openssl x509 ($n)"
	done
	cp "$d/ca.pem" "$d/client/ca.pem"
	cp "$d/client-cert.pem" "$d/client/cert.pem"
	cp "$d/client-key.pem" "$d/client/key.pem"
}

# rig_notify_listen SOCK LOG: in the background, a stand-in for systemd's
# notify socket at SOCK: each datagram becomes one line of LOG (its
# newlines written as spaces).  Sets RIG_NOTIFY_PID (the caller stops
# it); returns once SOCK exists.
rig_notify_listen() {
	: >"$2"
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        m = s.recv(4096).decode()
        f.write(m.replace("\n", " ") + "\n")
        f.flush()
' "$1" "$2" &
	RIG_NOTIFY_PID=$!
	t_wait_for 10 test -S "$1" || rig_die "notify listener did not start on $1"
}

# rig_free_port: a TCP port on 127.0.0.1 nobody listens on (now).
rig_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
