#!/bin/bash
# A second dockmuxd on its own socket and store exits 0 within 10 s of
# SIGTERM, and stops answering on its socket.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

tag=sigterm-$$
cfg=$T_TMP/sigterm.json
sock=$T_TMP/sigterm.sock
rig_write_config_for "$cfg" "$sock" "$T_TMP/sigterm.db" \
    "a=$ENGINE_A_SOCK" "b=$ENGINE_B_SOCK"
rig_dockmuxd_start "$cfg" "$tag"
pid=$(cat "$RIG_DIR/$tag.pid")

# Busy with a request or two before the signal.
t_expect_eq "/_ping" OK "$(curl -sS -m 10 --unix-socket "$sock" http://dockmux/_ping)"
curl -sS -m 10 --unix-socket "$sock" -o /dev/null http://dockmux/version ||
    t_fail "GET /version on the second dockmuxd failed"

kill -TERM "$pid"
if ! rig_wait_gone "$pid" 10; then
	kill -KILL "$pid" 2>/dev/null || true
	t_fail "dockmuxd pid $pid still running 10 s after SIGTERM"
fi
rc=0
wait "$pid" || rc=$?
t_expect_eq "dockmuxd exit status after SIGTERM" 0 "$rc"
rm -f "$RIG_DIR/$tag.pid"
RIG_MY_DMX=""

if rig_ping "$sock"; then
	t_fail "$sock still answers after dockmuxd exited"
fi
# The shared dockmuxd is untouched.
rig_ping "$DOCKMUX_SOCK" || t_fail "the shared dockmuxd stopped answering"
