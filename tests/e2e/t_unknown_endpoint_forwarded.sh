#!/bin/bash
# Requests dockmux does not special-case go to the primary unchanged.
# 1. Through the shared dockmuxd, endpoints like /plugins, /swarm, /nodes,
#    a plugin that does not exist, a path no engine knows, and a POST with
#    a body get exactly engine a's answer (status, Content-Type, body).
# 2. A dockmuxd of our own whose primary is an echo server (python, on a
#    unix socket) and whose second backend is engine a shows what reaches
#    the primary: method, path with its /v1.xx prefix, query, body and
#    X-Registry-Auth as the client sent them, no hop-by-hop headers; and
#    the primary's status, headers and body come back unchanged.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

ECHO_PID=""
fwd_cleanup() {
	local rc=$?
	set +e
	rig_dockmuxd_stop "fwd-$$"
	if [ -n "$ECHO_PID" ] && kill -0 "$ECHO_PID" 2>/dev/null; then
		kill -TERM "$ECHO_PID"
		rig_wait_gone "$ECHO_PID" 5 || kill -KILL "$ECHO_PID"
	fi
	(exit "$rc")
	t_cleanup
}
trap fwd_cleanup EXIT

# ask SOCK OUTFILE curl-args...: "STATUS CONTENT-TYPE" on stdout, body in
# OUTFILE.
ask() {
	local sock=$1 outf=$2
	shift 2
	curl -sS -m 30 --unix-socket "$sock" -o "$outf" \
	    -w '%{http_code} %{content_type}' "$@"
}

# ---- 1. the shared dockmuxd answers as engine a ----------------------------

same_as_a() {
	local what=$1 da ea
	shift
	da=$(ask "$DOCKMUX_SOCK" "$T_TMP/d.body" "$@") || t_fail "$what via dockmuxd: curl failed"
	ea=$(ask "$ENGINE_A_SOCK" "$T_TMP/a.body" "$@") || t_fail "$what on engine a: curl failed"
	t_expect_eq "$what: status and Content-Type" "$ea" "$da"
	cmp -s "$T_TMP/a.body" "$T_TMP/d.body" ||
	    t_fail "$what: body differs: engine a '$(cat "$T_TMP/a.body")' dockmuxd '$(cat "$T_TMP/d.body")'"
}

same_as_a "GET /v1.41/plugins" http://dockmux/v1.41/plugins
same_as_a "GET /plugins (no version)" http://dockmux/plugins
same_as_a "GET /v1.41/plugins/nope-$$/json" "http://dockmux/v1.41/plugins/nope-$$/json"
same_as_a "GET /v1.41/swarm" http://dockmux/v1.41/swarm
same_as_a "GET /v1.41/nodes" http://dockmux/v1.41/nodes
same_as_a "GET /v1.41/services" http://dockmux/v1.41/services
same_as_a "GET /v1.41/secrets" http://dockmux/v1.41/secrets
same_as_a "GET /v1.41/configs" http://dockmux/v1.41/configs
same_as_a "GET /v1.41/no-such-endpoint" http://dockmux/v1.41/no-such-endpoint
same_as_a "POST /v1.41/swarm/join with a body" -X POST \
    -H 'Content-Type: application/json' -d '{"ListenAddr":""}' \
    http://dockmux/v1.41/swarm/join

# The docker CLI agrees: plugin ls and swarm-only commands.
t_expect_eq "docker plugin ls -q" "" "$(docker plugin ls -q)"
rc=0
out=$(docker node ls 2>&1) || rc=$?
[ "$rc" -ne 0 ] || t_fail "docker node ls succeeded on a non-swarm engine"
grep -q 'not a swarm manager' <<<"$out" || t_fail "docker node ls: '$out'"

# ---- 2. what reaches the primary, and what comes back ---------------------

esock=$T_TMP/echo.sock
cat >"$T_TMP/echo.py" <<'PY'
import json, os, socketserver, sys
from http.server import BaseHTTPRequestHandler

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def address_string(self):
        return "unix"
    def answer(self, status, obj, extra=None):
        b = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(b)
    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        p = self.path.split("?")[0]
        if p.endswith("/version"):
            return self.answer(200, {"ApiVersion": "1.41", "MinAPIVersion": "1.12",
                "Os": "linux", "Arch": "amd64", "Version": "0-echo",
                "KernelVersion": "0"})
        if p.endswith("/_ping"):
            return self.answer(200, "OK")
        if p.endswith("/containers/json") or p.endswith("/images/json"):
            return self.answer(200, [])
        if p.endswith("/info"):
            return self.answer(200, {"OSType": "linux", "Architecture": "x86_64"})
        self.answer(299, {"method": self.command, "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body}, {"X-Echo": "echoed"})
    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any

class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

sock = sys.argv[1]
if os.path.exists(sock):
    os.unlink(sock)
S(sock, H).serve_forever()
PY
/usr/bin/python3 "$T_TMP/echo.py" "$esock" >"$T_TMP/echo.log" 2>&1 &
ECHO_PID=$!
t_wait_for 10 test -S "$esock" || t_fail "echo server did not start: $(cat "$T_TMP/echo.log")"

cfg=$T_TMP/dockmux.json
dsock=$T_TMP/d.sock
rig_write_config_for "$cfg" "$dsock" "$T_TMP/dockmux.db" \
    "echo=$esock" "a=$ENGINE_A_SOCK"
rig_dockmuxd_start "$cfg" "fwd-$$"

# echoed KEY: a field of the echo server's answer (in $T_TMP/e.body).
echoed() {
	/usr/bin/python3 -c 'import json, sys
o = json.load(open(sys.argv[1]))
k = sys.argv[2]
if k.startswith("h:"):
    print(o["headers"].get(k[2:], "(absent)"))
else:
    print(o[k])' "$T_TMP/e.body" "$1"
}

head=$(curl -sS -m 30 --unix-socket "$dsock" -D "$T_TMP/e.head" -o "$T_TMP/e.body" \
    -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' -H 'X-Registry-Auth: e30K' \
    -H 'Connection: keep-alive, X-Private' -H 'X-Private: secret' \
    -H 'Keep-Alive: timeout=5' \
    -d '{"Name":"p-1","Remote":"x"}' \
    "http://dockmux/v1.41/plugins/pull?remote=x%2Fy&name=p-1") ||
    t_fail "POST /v1.41/plugins/pull via the own dockmuxd: curl failed"
t_expect_eq "primary's status comes back" 299 "$head"
grep -qi '^X-Echo: echoed' "$T_TMP/e.head" ||
    t_fail "primary's X-Echo header lost: $(cat "$T_TMP/e.head")"
t_expect_eq "method at the primary" POST "$(echoed method)"
t_expect_eq "path and query at the primary" \
    "/v1.41/plugins/pull?remote=x%2Fy&name=p-1" "$(echoed path)"
t_expect_eq "body at the primary" '{"Name":"p-1","Remote":"x"}' "$(echoed body)"
t_expect_eq "Content-Type at the primary" application/json "$(echoed h:content-type)"
t_expect_eq "X-Registry-Auth at the primary" e30K "$(echoed h:x-registry-auth)"
t_expect_eq "Keep-Alive (hop-by-hop) at the primary" "(absent)" "$(echoed h:keep-alive)"
t_expect_eq "X-Private (named by Connection) at the primary" "(absent)" \
    "$(echoed h:x-private)"

head=$(ask "$dsock" "$T_TMP/e.body" -X DELETE "http://dockmux/v1.41/plugins/p-1?force=1")
t_expect_eq "DELETE /plugins/p-1: status from the primary" "299 application/json" "$head"
t_expect_eq "DELETE path at the primary" "/v1.41/plugins/p-1?force=1" "$(echoed path)"

# Unversioned, deep, percent-coded: as sent.
head=$(ask "$dsock" "$T_TMP/e.body" "http://dockmux/swarm/unlockkey?x=%20y%2Bz")
t_expect_eq "GET /swarm/unlockkey: status" "299 application/json" "$head"
t_expect_eq "unversioned path and query at the primary" \
    "/swarm/unlockkey?x=%20y%2Bz" "$(echoed path)"

# A query with a form-encoded space ('+', as Go's url.Values writes it:
# the docker CLI does for filters, import/commit changes, build args).
head=$(ask "$dsock" "$T_TMP/e.body" "http://dockmux/v1.41/plugins?filters=%7B%22capability%22%3A%7B%22a+b%22%3Atrue%7D%7D")
t_expect_eq "GET /plugins?filters=...a+b...: status" "299 application/json" "$head"
t_expect_eq "query with '+' at the primary" \
    "/v1.41/plugins?filters=%7B%22capability%22%3A%7B%22a+b%22%3Atrue%7D%7D" \
    "$(echoed path)"
