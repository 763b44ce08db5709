#!/bin/bash
# Podman's Docker-compatible API as a dockmux backend (the test
# rig): a private podman system service with its own root, busybox imported
# from the rig's rootfs tarball, and a private dockmuxd with backends a
# (real dockerd) and "pod" whose create_overrides add the ulimits podman
# needs on these machines.  docker run pinned to pod lands on podman (the
# overrides merged), docker logs / logs -f / stats --no-stream / rm -f all
# work through dockmuxd.  A podman that cannot start the container is a
# FAILURE with podman's own words, never a skip.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd
command -v podman >/dev/null || t_fail "podman not installed (sh scripts/install-deps.sh)"

PD=$(mktemp -d /tmp/pdx.XXXXXX) || t_fail "mktemp for podman"
PSOCK=$PD/podman.sock
P=(podman --root "$PD/root" --runroot "$PD/run" --storage-driver vfs)
PPID_SVC=""

# Ours only: podman's containers, its service (by pid), the conmon and
# cleanup processes that name our directory, its mounts, its directory.
pod_cleanup() {
	local p args
	[ -d "$PD" ] || return 0
	timeout 60 "${P[@]}" rm -f -a -t 0 >/dev/null 2>&1 || true
	if [ -n "$PPID_SVC" ] && kill -0 "$PPID_SVC" 2>/dev/null; then
		kill -TERM "$PPID_SVC" 2>/dev/null || true
		rig_wait_gone "$PPID_SVC" 10 || kill -KILL "$PPID_SVC" 2>/dev/null || true
	fi
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = "$$" ] && continue
		args=()
		mapfile -d '' args 2>/dev/null <"/proc/$p/cmdline" || continue
		case " ${args[*]-} " in
		*"$PD/"*)
			echo "podman leftover: pid $p: ${args[*]}" >&2
			kill -KILL "$p" 2>/dev/null || true
			;;
		esac
	done
	rig_unmount_under "$PD"
	rm -rf "$PD"
}

reads_cleanup() {
	local rc=$?
	# dockmuxd first (t_cleanup's docker rm -f goes through it while
	# podman still answers), then podman, then the rig.
	set +e
	for n in $T_NAMES; do
		timeout 30 docker rm -f "$n" >/dev/null 2>&1 || true
	done
	T_NAMES=""
	[ -n "${tag:-}" ] && rig_dockmuxd_stop "$tag" >/dev/null 2>&1
	pod_cleanup
	(exit "$rc")
	t_cleanup
}
trap reads_cleanup EXIT

# --- podman: image, then the service ---------------------------------------
tar=$(rig_busybox_tar) || t_fail "cannot build the busybox rootfs tarball"
out=$(timeout 120 "${P[@]}" import -c 'CMD ["/bin/sh"]' "$tar" \
    docker.io/library/busybox:latest 2>&1) ||
    t_fail "podman import of the busybox rootfs failed: $out"

setsid "${P[@]}" system service --time 0 "unix://$PSOCK" \
    >"$PD/service.log" 2>&1 </dev/null &
PPID_SVC=$!
echo "$PPID_SVC" >"$PD/service.pid"
t_wait_for 30 rig_ping "$PSOCK" ||
    t_fail "podman system service did not answer /_ping in 30 s: $(tail -n 20 "$PD/service.log")"
pcurl() { curl -sS -m 30 --unix-socket "$PSOCK" "$@"; }

# --- dockmuxd: a + pod ----------------------------------------------------
tag=dmx-rdp-$$
cfg=$T_TMP/d.json
sock=$T_TMP/d.sock
cat >"$cfg" <<EOF
{
  "listen": "unix://$sock",
  "store": "$T_TMP/d.db",
  "backends": [
    { "name": "a", "endpoint": "unix://$ENGINE_A_SOCK" },
    { "name": "pod", "endpoint": "unix://$PSOCK",
      "create_overrides": { "HostConfig": { "Ulimits": [
        { "Name": "nofile", "Soft": 1000, "Hard": 1000 },
        { "Name": "nproc", "Soft": 1000, "Hard": 1000 } ] } } }
  ]
}
EOF
rig_dockmuxd_start "$cfg" "$tag"
export DOCKER_HOST=unix://$sock
# podman's /version takes 1.5 s or more (it gathers storage facts); the
# health probe waits up to 10 s for it, and retries if even that runs out.
pod_up() {
	"$BUILD/dockmux" -H "unix://$sock" backends --json | python3 -c '
import json, sys
sys.exit(0 if [b for b in json.load(sys.stdin)
             if b["name"] == "pod" and b["state"] == "up"] else 1)'
}
t_wait_for 60 pod_up || t_fail "backend pod not up within 60 s: $(
    "$BUILD/dockmux" -H "unix://$sock" backends 2>&1)"

# --- run on pod -----------------------------------------------------------
c=$(t_name pod)
rc=0
out=$(timeout 60 docker run -d --label io.dockmux.backend=pod --name "$c" \
    busybox sh -c 'echo from-podman; sleep 60' 2>&1) || rc=$?
if [ "$rc" -ne 0 ]; then
	{
		echo "docker run through dockmuxd onto podman failed (exit $rc):"
		echo "$out"
		echo "---- podman service log (last 30 lines) ----"
		tail -n 30 "$PD/service.log"
		echo "---- dockmuxd log (last 30 lines) ----"
		tail -n 30 "$RIG_DIR/$tag.log"
	} >&2
	t_fail "podman could not run the container: $out"
fi
id=$(tail -n 1 <<<"$out")
echo "docker run -> $id"

# It is on podman (and not on a), with the overrides merged.
pcurl "http://podman/v1.41/containers/json" >"$T_TMP/plist" ||
    t_fail "cannot list podman's containers"
python3 - "$T_TMP/plist" "$c" <<'EOF' || t_fail "container $c not on podman: $(cat "$T_TMP/plist")"
import json, sys
names = [n for e in json.load(open(sys.argv[1])) for n in e.get("Names", [])]
assert "/" + sys.argv[2] in names, names
EOF
if docker -H "unix://$ENGINE_A_SOCK" inspect "$c" >/dev/null 2>&1; then
	t_fail "container $c is on engine a, expected podman"
fi
pcurl "http://podman/v1.41/containers/$c/json" >"$T_TMP/pinspect" ||
    t_fail "podman inspect $c failed"
python3 - "$T_TMP/pinspect" <<'EOF' || t_fail "ulimits not applied on podman: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["HostConfig"].get("Ulimits"))' "$T_TMP/pinspect")"
import json, sys
u = {x["Name"].lower().replace("rlimit_", ""): (x["Soft"], x["Hard"])
     for x in json.load(open(sys.argv[1]))["HostConfig"].get("Ulimits") or []}
assert u.get("nofile") == (1000, 1000) and u.get("nproc") == (1000, 1000), u
EOF
running=$(docker inspect -f '{{.State.Running}}' "$c" 2>&1) || t_fail "docker inspect $c: $running"
t_expect_eq "running on podman" true "$running"

# --- docker logs ----------------------------------------------------------
logs_has() { timeout 20 docker logs "$c" 2>&1 | grep -qx from-podman; }
t_wait_for 15 logs_has ||
    t_fail "docker logs through dockmuxd: no from-podman line: $(timeout 20 docker logs "$c" 2>&1)"

code=$(curl -sS -m 20 --unix-socket "$sock" -D "$T_TMP/hdr" -o "$T_TMP/body" \
    -w '%{http_code}' "http://dockmux/v1.41/containers/$c/logs?stdout=1&stderr=1") ||
    t_fail "curl logs through dockmuxd failed"
t_expect_eq "logs status" 200 "$code"
served=$(awk -F': ' 'tolower($1) == "x-dockmux-served-by" { sub(/\r$/, "", $2); print $2 }' "$T_TMP/hdr")
t_expect_eq "logs X-Dockmux-Served-By" "pod; mode=native" "$served"

# --- docker logs -f while it runs ------------------------------------------
docker logs -f "$c" >"$T_TMP/fout" 2>"$T_TMP/ferr" &
lp=$!
f_has() { grep -qx from-podman "$T_TMP/fout"; }
if ! t_wait_for 15 f_has; then
	kill "$lp" 2>/dev/null || true
	t_fail "docker logs -f: no from-podman within 15 s: $(cat "$T_TMP/fout" "$T_TMP/ferr")"
fi
sleep 2
if ! kill -0 "$lp" 2>/dev/null; then
	rc=0
	wait "$lp" || rc=$?
	t_fail "docker logs -f ended while the container runs (exit $rc): $(cat "$T_TMP/ferr")"
fi
kill "$lp" 2>/dev/null || true
wait "$lp" 2>/dev/null || true
# What served the follow (curl, 3 s, the stream must still be open).
rc=0
curl -sS -N -m 3 --unix-socket "$sock" -D "$T_TMP/fhdr" -o "$T_TMP/fbody" \
    "http://dockmux/v1.41/containers/$c/logs?follow=1&stdout=1&stderr=1" \
    2>/dev/null || rc=$?
[ "$rc" = 28 ] ||
    t_fail "curl follow: ended after $(wc -c <"$T_TMP/fbody") bytes within 3 s (curl exit $rc, want 28: still streaming); dockmuxd said: $(tail -n 15 "$RIG_DIR/$tag.log"); podman said: $(tail -n 15 "$PD/service.log")"
served=$(awk -F': ' 'tolower($1) == "x-dockmux-served-by" { sub(/\r$/, "", $2); print $2 }' "$T_TMP/fhdr")
t_expect_eq "logs -f X-Dockmux-Served-By" "pod; mode=native" "$served"
grep -q from-podman "$T_TMP/fbody" || t_fail "curl follow body lacks from-podman"

# --- docker stats --no-stream -----------------------------------------------
out=$(timeout 30 docker stats --no-stream --format '{{.Name}} {{.MemUsage}}' "$c" 2>&1) ||
    t_fail "docker stats --no-stream on podman failed: $out"
echo "docker stats --no-stream: $out"
# Podman 4.3's compat stats says "name":"NAME" without dockerd's leading
# "/", and the CLI cuts one character off: the same row docker stats shows
# talking to podman directly.  Either spelling is this container's row.
case ${out%% *} in
"$c" | "${c:1}") ;;
*) t_fail "docker stats --no-stream: not a row for $c: '$out'" ;;
esac
case $out in
*" / "*) ;;
*) t_fail "docker stats --no-stream: no memory usage in '$out'" ;;
esac

# --- docker rm -f -----------------------------------------------------------
out=$(timeout 60 docker rm -f "$c" 2>&1) || t_fail "docker rm -f on podman failed: $out"
pcurl "http://podman/v1.41/containers/json?all=1" >"$T_TMP/plist2" ||
    t_fail "cannot list podman's containers"
if grep -qF "\"/$c\"" "$T_TMP/plist2"; then
	t_fail "container $c still on podman after docker rm -f"
fi
rc=0
err=$(docker inspect "$c" 2>&1 >/dev/null) || rc=$?
[ "$rc" -ne 0 ] || t_fail "docker inspect $c still works after rm -f"
grep -qi 'no such' <<<"$err" || t_fail "docker inspect after rm -f: '$err'"
# shellcheck disable=SC2034 # read by t_cleanup
T_NAMES=""

rig_dockmuxd_stop "$tag" || t_fail "dockmuxd exited with status $? on SIGTERM"
