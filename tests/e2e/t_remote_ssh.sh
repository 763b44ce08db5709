#!/bin/bash
# An engine behind ssh, as the docker CLI's ssh:// reaches one: a real
# sshd (openssh-server) on 127.0.0.1 with a key made here, its
# authorized_keys forcing "docker system dial-stdio" in front of engine b.
# Behind dockmuxd the ssh:// backend serves run, logs -f, exec -i, attach
# (run -i), stats and merged ps, and keeps its ssh connections (far fewer
# ssh processes than requests).  A changed host key, and a key the server
# does not accept (BatchMode: never a password prompt), make that backend
# down with ssh's own words while the Unix backend keeps serving.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$SSHD" ] || t_fail "sshd is missing (openssh-server)"
command -v ssh >/dev/null || t_fail "ssh is missing (openssh-client)"

S=$T_TMP/ssh
mkdir -p "$S" /run/sshd
chmod 700 "$S"
PORT=$(rig_free_port)
ssh-keygen -q -t ed25519 -N '' -f "$S/host_key" -C host
ssh-keygen -q -t ed25519 -N '' -f "$S/other_host_key" -C other
ssh-keygen -q -t ed25519 -N '' -f "$S/id" -C dockmux
ssh-keygen -q -t ed25519 -N '' -f "$S/stranger" -C stranger
printf 'command="docker -H unix://%s system dial-stdio",no-pty,no-port-forwarding %s\n' \
    "$ENGINE_B_SOCK" "$(cat "$S/id.pub")" >"$S/authorized_keys"
printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1,2 "$S/host_key.pub")" \
    >"$S/known_hosts"
printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1,2 "$S/other_host_key.pub")" \
    >"$S/wrong_known_hosts"
cat >"$S/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $S/host_key
PidFile $S/sshd.pid
AuthorizedKeysFile $S/authorized_keys
PermitRootLogin forced-commands-only
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
EOF
"$SSHD" -f "$S/sshd_config" -E "$S/sshd.log" || t_fail "sshd did not start"
sshd_pid=""
t_wait_for 10 test -s "$S/sshd.pid" || t_fail "sshd wrote no pid file"
sshd_pid=$(cat "$S/sshd.pid")
# ssh itself, first: the forced command speaks the engine's HTTP.
printf 'GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n' |
    timeout 20 ssh -o BatchMode=yes -o UserKnownHostsFile="$S/known_hosts" \
    -i "$S/id" -p "$PORT" root@127.0.0.1 docker system dial-stdio |
    grep -q '^OK' || t_fail "ssh dial-stdio to engine b does not answer"

sock=$T_TMP/ssh.sock
cfg=$T_TMP/ssh.json
cat >"$cfg" <<EOF
{
  "listen": "unix://$sock",
  "store": "$T_TMP/ssh.db",
  "backends": [
    { "name": "a", "endpoint": "unix://$ENGINE_A_SOCK" },
    { "name": "s", "endpoint": "ssh://root@127.0.0.1:$PORT",
      "ssh": { "identity": "$S/id", "known_hosts": "$S/known_hosts" } },
    { "name": "hostkey", "endpoint": "ssh://root@127.0.0.1:$PORT",
      "ssh": { "identity": "$S/id", "known_hosts": "$S/wrong_known_hosts" } },
    { "name": "nokey", "endpoint": "ssh://root@127.0.0.1:$PORT",
      "ssh": { "identity": "$S/stranger", "known_hosts": "$S/known_hosts" } }
  ]
}
EOF
stop_sshd() {
	if [ -n "$sshd_pid" ] && kill -0 "$sshd_pid" 2>/dev/null; then
		kill -TERM "$sshd_pid"
		rig_wait_gone "$sshd_pid" 10 || kill -KILL "$sshd_pid" 2>/dev/null || true
	fi
}
trap 'rc=$?; set +e; stop_sshd; (exit $rc); t_cleanup' EXIT
rig_dockmuxd_start "$cfg" ssh
pid=$(cat "$RIG_DIR/ssh.pid")
D() { docker -H "unix://$sock" "$@"; }

state() {
	curl -s --unix-socket "$sock" http://d/_dockmux/backends |
	    python3 -c 'import json,sys; b={x["name"]:x for x in json.load(sys.stdin)}; print(b[sys.argv[1]]["state"], b[sys.argv[1]]["error"])' "$1"
}
t_wait_for 30 sh -c "curl -s --unix-socket '$sock' http://d/_dockmux/backends | grep -q '\"name\":\"s\".*\"state\":\"up\"'" ||
    t_fail "the ssh backend is not up: $(state s)"
t_wait_for 30 sh -c "curl -s --unix-socket '$sock' http://d/_dockmux/backends | grep -q '\"name\":\"nokey\".*\"state\":\"down\"'" ||
    t_fail "the backend with an unknown key is not down"
echo "hostkey: $(state hostkey)"
echo "nokey: $(state nokey)"
state hostkey | grep -qi 'host key verification failed' ||
    t_fail "a changed host key is not the reason: $(state hostkey)"
state nokey | grep -qi 'permission denied' ||
    t_fail "a refused key is not the reason: $(state nokey)"
"$BUILD/dockmux" -H "unix://$sock" backends | grep -E '^s +ssh://root@127.0.0.1:[0-9]+ +ssh ' ||
    t_fail "dockmux backends does not show s over ssh"

t_remote_backend_works "$sock" s "$ENGINE_B_SOCK"
n3=$T_REMOTE_EXEC
for _ in $(seq 20); do D inspect "$n3" >/dev/null; done

# Connections are kept: sshd started far fewer sessions than requests.
sessions=$(grep -c 'Accepted publickey' "$S/sshd.log" || true)
echo "sshd sessions accepted: $sessions"
[ "$sessions" -gt 0 ] && [ "$sessions" -lt 20 ] ||
    t_fail "ssh connections are not reused: $sessions sessions"
D ps >/dev/null || t_fail "docker ps with two ssh backends down"
kill -0 "$pid" || t_fail "dockmuxd died"
echo PASS
