#!/bin/bash
# Engines over TCP+TLS and dockmuxd's own TLS listener, all local and
# real: a third dockerd listens on tcp://127.0.0.1:PORT with --tlsverify
# and certificates made here with openssl.  Behind dockmuxd next to a
# Unix engine it serves run, logs -f, exec -i, attach (run -i), stats,
# merged ps and an image copied to it; a backend given the wrong CA is
# down with the reason.  The docker CLI with --tlsverify reaches dockmuxd
# over TCP (ps, run -i, exec -i with stdin EOF passed on), and a client
# without a certificate, or with one from another CA, is refused at the
# handshake.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd
command -v openssl >/dev/null || t_fail "openssl is missing"

C=$T_TMP/certs
EPORT=$(rig_free_port)
LPORT=$(rig_free_port)
rig_make_certs "$C"
rig_make_certs "$C/wrong"
# dockmuxd's side as the engine's client, and the same with a wrong CA.
mkdir -p "$C/bad-ca"
cp "$C/wrong/ca.pem" "$C/bad-ca/ca.pem"
cp "$C/client-cert.pem" "$C/bad-ca/cert.pem"
cp "$C/client-key.pem" "$C/bad-ca/key.pem"

rig_engine_start t --host "tcp://127.0.0.1:$EPORT" --tlsverify \
    --tlscacert "$C/ca.pem" --tlscert "$C/server-cert.pem" \
    --tlskey "$C/server-key.pem"
docker --tlsverify --tlscacert "$C/ca.pem" --tlscert "$C/client-cert.pem" \
    --tlskey "$C/client-key.pem" -H "tcp://127.0.0.1:$EPORT" version \
    >/dev/null || t_fail "the TLS engine does not answer the docker CLI"

sock=$T_TMP/tls.sock
cfg=$T_TMP/tls.json
cat >"$cfg" <<EOF
{
  "listen": ["unix://$sock", "tcp://127.0.0.1:$LPORT"],
  "tls": { "ca": "$C/ca.pem", "cert": "$C/server-cert.pem",
           "key": "$C/server-key.pem" },
  "store": "$T_TMP/tls.db",
  "backends": [
    { "name": "a", "endpoint": "unix://$ENGINE_A_SOCK" },
    { "name": "t", "endpoint": "tcp://127.0.0.1:$EPORT",
      "tls": "$C/client" },
    { "name": "wrongca", "endpoint": "tcp://localhost:$EPORT",
      "tls": "$C/bad-ca" }
  ]
}
EOF
rig_dockmuxd_start "$cfg" tls
pid=$(cat "$RIG_DIR/tls.pid")
DLOG=$RIG_DIR/tls.log
D() { docker -H "unix://$sock" "$@"; }

# The wrong CA: down, and the reason says why.
t_wait_for 20 sh -c "curl -s --unix-socket '$sock' http://d/_dockmux/backends | grep -q '\"name\":\"wrongca\".*\"state\":\"down\"'" ||
    t_fail "the backend with the wrong CA is not down: $(curl -s --unix-socket "$sock" http://d/_dockmux/backends)"
bk=$(curl -s --unix-socket "$sock" http://d/_dockmux/backends)
echo "$bk"
python3 - "$bk" <<'EOF' || t_fail "backends JSON"
import json, sys
b = {x["name"]: x for x in json.loads(sys.argv[1])}
assert b["t"]["state"] == "up", b["t"]
assert b["t"]["transport"] == "tcp+tls", b["t"]
assert b["a"]["transport"] == "unix", b["a"]
err = b["wrongca"].get("error") or b["wrongca"].get("last_error") or ""
assert "certificate" in err.lower() or "ssl" in err.lower(), b["wrongca"]
EOF
"$BUILD/dockmux" -H "unix://$sock" backends | grep -E '^t +tcp://127.0.0.1:[0-9]+ +tcp\+tls ' ||
    t_fail "dockmux backends does not show t over tcp+tls"
info_lists_t() {
	docker -H "unix://$sock" info 2>/dev/null |
	    grep -q "io.dockmux.backend.t=up tcp://127.0.0.1:$EPORT tcp+tls"
}
t_wait_for 20 info_lists_t || {
	docker -H "unix://$sock" info 2>&1 | grep -i "dockmux"
	t_fail "docker info does not list backend t over TLS"
}

# Run, logs -f, exec -i, attach, stats on the TLS engine.
t_remote_backend_works "$sock" t "$ENGINE_T_SOCK"
n3=$T_REMOTE_EXEC

# An image only on a is copied to t over TLS when a container lands there.
img=$T_PREFIX-img:1
docker -H "unix://$ENGINE_A_SOCK" tag busybox:latest "$img"
T_IMAGES="$T_IMAGES $img"
out=$(D run --rm --label io.dockmux.backend=t "$img" echo copied)
t_expect_eq "run of an image copied to the TLS engine" copied "$out"
docker -H "unix://$ENGINE_T_SOCK" image inspect "$img" >/dev/null ||
    t_fail "the image was not copied to engine t"

# dockmuxd's TLS listener, with and without a client certificate.
TLSD=(docker --tlsverify --tlscacert "$C/ca.pem" --tlscert "$C/client-cert.pem"
    --tlskey "$C/client-key.pem" -H "tcp://127.0.0.1:$LPORT")
"${TLSD[@]}" ps --format '{{.Names}}' | grep -qx "$n3" ||
    t_fail "docker --tlsverify ps through dockmuxd's TLS listener"
out=$("${TLSD[@]}" run --rm busybox echo via-tls-listener)
t_expect_eq "run through the TLS listener" via-tls-listener "$out"
out=$(echo through-relay | "${TLSD[@]}" exec -i "$n3" cat)
t_expect_eq "exec -i through the TLS listener" through-relay "$out"
# Refused at the handshake, as dockerd --tlsverify refuses it.
if curl -s --cacert "$C/ca.pem" "https://127.0.0.1:$LPORT/_ping"; then
	t_fail "a client without a certificate got an answer"
fi
if curl -s --cacert "$C/ca.pem" --cert "$C/wrong/ca.pem" \
    --key "$C/wrong/ca-key.pem" "https://127.0.0.1:$LPORT/_ping"; then
	t_fail "a certificate from another CA got an answer"
fi
if docker --tlsverify --tlscacert "$C/ca.pem" -H "tcp://127.0.0.1:$LPORT" \
    ps >"$T_TMP/nocert.out" 2>&1; then
	t_fail "docker --tlsverify without a client certificate worked"
fi
cat "$T_TMP/nocert.out"
[ "$(grep -c 'msg="TLS client refused"' "$DLOG")" -ge 3 ] ||
    t_fail "the TLS refusals are not logged"
kill -0 "$pid" || t_fail "dockmuxd died"
echo PASS
