# shellcheck shell=bash
# tests/e2e/lib_registry.sh: helpers for the e2e tests beyond lib.sh,
# sourced after it: a private image registry (Debian's docker-registry)
# and removal of a test's containers by name prefix.
#
#   t_rm_mine          remove every container named $T_PREFIX*: through
#                      dockmuxd (its routes go too), then on each engine
#                      directly.  (t_name runs in $(...), a subshell, so
#                      lib.sh's T_NAMES list stays empty in the caller.)
#
#   reg_start DIR      registry storing under DIR, on 127.0.0.1:<free port>;
#                      sets REG_ADDR (host:port) and REG_PID
#   reg_stop           SIGTERM by REG_PID (only the registry we started)
#   reg_push_from SOCK SRC REPO:TAG
#                      tag SRC as $REG_ADDR/REPO:TAG on the engine at SOCK,
#                      push it, then remove that tag from the engine again
#
# Engines accept loopback registries over plain HTTP, so no TLS is needed.

REG_ADDR=""
REG_PID=""

# A TCP port nobody listens on right now (the registry binds it next).
reg_free_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

reg_start() {
	local dir=$1 port n
	command -v docker-registry >/dev/null 2>&1 ||
	    t_fail "docker-registry not installed (apt-get install docker-registry)"
	mkdir -p "$dir/data" || t_fail "cannot create $dir"
	port=$(reg_free_port) || t_fail "no free port"
	cat >"$dir/config.yml" <<CFG
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
CFG
	setsid docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 \
	    </dev/null &
	REG_PID=$!
	echo "$REG_PID" >"$dir/registry.pid"
	REG_ADDR=127.0.0.1:$port
	n=100
	until [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' \
	    "http://$REG_ADDR/v2/")" = 200 ]; do
		kill -0 "$REG_PID" 2>/dev/null ||
		    t_fail "docker-registry exited: $(tail -n 5 "$dir/registry.log")"
		n=$((n - 1))
		[ "$n" -gt 0 ] || t_fail "docker-registry not answering on $REG_ADDR"
		sleep 0.1
	done
}

reg_stop() {
	[ -n "$REG_PID" ] || return 0
	if kill -0 "$REG_PID" 2>/dev/null; then
		kill -TERM "$REG_PID" 2>/dev/null
		rig_wait_gone "$REG_PID" 10 || kill -KILL "$REG_PID" 2>/dev/null
	fi
	REG_PID=""
	return 0
}

reg_push_from() {
	local sock=$1 src=$2 dst=$REG_ADDR/$3 out
	docker -H "unix://$sock" tag "$src" "$dst" ||
	    t_fail "tag $src $dst on $sock failed"
	out=$(timeout 120 docker -H "unix://$sock" push "$dst" 2>&1) ||
	    t_fail "push $dst from $sock failed: $out"
	docker -H "unix://$sock" rmi "$dst" >/dev/null ||
	    t_fail "rmi $dst on $sock failed"
}

t_rm_mine() {
	local ids e
	ids=$(timeout 30 docker ps -aq --filter "name=$T_PREFIX" 2>/dev/null)
	# shellcheck disable=SC2086 # a list of IDs
	[ -z "$ids" ] || timeout 60 docker rm -f $ids >/dev/null 2>&1
	for e in "$ENGINE_A_SOCK" "$ENGINE_B_SOCK"; do
		ids=$(timeout 30 docker -H "unix://$e" ps -aq \
		    --filter "name=$T_PREFIX" 2>/dev/null)
		# shellcheck disable=SC2086 # a list of IDs
		[ -z "$ids" ] || timeout 60 docker -H "unix://$e" rm -f $ids \
		    >/dev/null 2>&1
	done
	return 0
}
