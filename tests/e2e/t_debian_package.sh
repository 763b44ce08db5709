#!/bin/bash
# The Debian package: `make deb` builds dockmux_<version>_<arch>.deb,
# lintian finds no error in it, and what it holds works when unpacked
# (dpkg -x, nothing is installed on this host): dockmuxd in /usr/sbin and
# dockmux in /usr/bin serve and query the rig's engines; the conffile
# /etc/dockmux/dockmux.json ("backends": "auto") finds them; the units
# point at /usr/sbin and pass systemd-analyze verify; the sysusers file
# makes group docker; the man pages render without a warning; the bash
# completion loads; the maintainer scripts parse.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
for tool in dpkg-buildpackage dh lintian systemd-analyze systemd-sysusers; do
	command -v "$tool" >/dev/null ||
	    t_fail "$tool not found (sh scripts/install-deps.sh)"
done

repo=$(cd "$(dirname "$0")/../.." && pwd)
version=$(sed -n 's/^#define DOCKMUX_VERSION[^"]*"\(.*\)"/\1/p' \
    "$repo/lib/version.h")
deb=$BUILD/deb/dockmux_${version}_$(dpkg-architecture -qDEB_HOST_ARCH).deb

# ---- build ----------------------------------------------------------------
t0=$(rig_now_ms)
make -s -C "$repo" BUILD="$BUILD" deb >"$T_TMP/deb.log" 2>&1 ||
    t_fail "make deb: $(tail -n 30 "$T_TMP/deb.log")"
echo "make deb: $(( $(rig_now_ms) - t0 )) ms"
[ -f "$deb" ] || t_fail "make deb made no $deb: $(ls "$BUILD/deb")"
t_expect_eq "package version" "$version" \
    "$(dpkg-deb -f "$deb" Version)"

# ---- lintian: no error (warnings are printed, not fatal) -------------------
rc=0
lintian --fail-on error --display-info "${deb%.deb}.changes" \
    >"$T_TMP/lintian.log" 2>&1 || rc=$?
grep -v '^running with root privileges' "$T_TMP/lintian.log" || true
echo "lintian: $(grep -c '^[EWI]: ' "$T_TMP/lintian.log") tags"
[ "$rc" -eq 0 ] || t_fail "lintian found errors (exit $rc)"

# ---- contents ---------------------------------------------------------------
root=$T_TMP/root
dpkg -x "$deb" "$root"
for f in /usr/sbin/dockmuxd /usr/bin/dockmux \
    /lib/systemd/system/dockmux.service /lib/systemd/system/dockmux.socket \
    /etc/dockmux/dockmux.json /usr/lib/sysusers.d/dockmux.conf \
    /usr/share/man/man8/dockmuxd.8.gz /usr/share/man/man1/dockmux.1.gz \
    /usr/share/man/man5/dockmux.json.5.gz \
    /usr/share/bash-completion/completions/dockmux \
    /usr/share/zsh/vendor-completions/_dockmux \
    /usr/share/doc/dockmux/copyright /usr/share/doc/dockmux/changelog.gz \
    /usr/share/doc/dockmux/README.md /usr/share/doc/dockmux/NEWS.md \
    /usr/share/doc/dockmux/docs/install.md \
    /usr/share/doc/dockmux/examples/dockmux.json.example; do
	[ -f "$root$f" ] || t_fail "the package has no $f"
done
ctl=$T_TMP/control
dpkg-deb -e "$deb" "$ctl"
t_expect_eq "conffiles" /etc/dockmux/dockmux.json "$(cat "$ctl/conffiles")"
for s in postinst prerm postrm; do
	sh -n "$ctl/$s" || t_fail "$s does not parse"
done
# As docker.io does: the socket is enabled and started with the service.
grep -q "deb-systemd-helper enable 'dockmux.socket'" "$ctl/postinst" ||
    t_fail "postinst does not enable dockmux.socket"
"$root/usr/sbin/dockmuxd" --version | grep -qx "dockmuxd $version" ||
    t_fail "dockmuxd --version: $("$root/usr/sbin/dockmuxd" --version)"

# ---- the units --------------------------------------------------------------
unit=$root/lib/systemd/system/dockmux.service
grep -qx 'ExecStart=/usr/sbin/dockmuxd --config /etc/dockmux/dockmux.json' \
    "$unit" || t_fail "dockmux.service: ExecStart is not /usr/sbin/dockmuxd"
# verify looks ExecStart= up inside the root; it also needs the
# distribution's units and /bin/kill there (see t_systemd_units).
mkdir -p "$root/usr/lib/systemd" "$root/bin"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp /bin/kill "$root/bin/kill"
out=$(systemd-analyze verify --root="$root" \
    /lib/systemd/system/dockmux.socket /lib/systemd/system/dockmux.service \
    2>&1) || t_fail "systemd-analyze verify: $out"
[ -z "$out" ] || t_fail "systemd-analyze verify complained: $out"
# The socket's group: made by systemd-sysusers from the package's file.
mkdir -p "$T_TMP/sysroot/etc"
systemd-sysusers --root="$T_TMP/sysroot" \
    "$root/usr/lib/sysusers.d/dockmux.conf" >/dev/null 2>&1 ||
    t_fail "systemd-sysusers refused dockmux.conf"
grep -q '^docker:' "$T_TMP/sysroot/etc/group" ||
    t_fail "dockmux.conf makes no group docker"

# ---- the conffile finds the engines ----------------------------------------
conf=$root/etc/dockmux/dockmux.json
engines=$ENGINE_A_SOCK:$ENGINE_B_SOCK
out=$(DOCKMUX_AUTODETECT_SOCKETS=$engines "$root/usr/sbin/dockmuxd" \
    --check-config -c "$conf") || t_fail "--check-config of the conffile: $out"
t_expect_eq "--check-config of the conffile" \
    "dockmuxd: $conf: configuration OK (2 backends)" "$out"
# With no engine answering, the conffile is refused, saying where it looked.
if out=$(DOCKMUX_AUTODETECT_SOCKETS=$T_TMP/none.sock \
    "$root/usr/sbin/dockmuxd" --check-config -c "$conf" 2>&1); then
	t_fail "--check-config passed with no engine: $out"
fi
case $out in
*"no container engine answered GET /_ping on $T_TMP/none.sock"*) ;;
*) t_fail "--check-config with no engine said: $out" ;;
esac

# ---- the packaged programs serve --------------------------------------------
# The conffile as shipped, with a socket and store of the test's own.
sock=$T_TMP/pkg.sock
cfg=$T_TMP/pkg.json
python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))
c.update(listen="unix://" + sys.argv[2], store=sys.argv[3])
json.dump(c, open(sys.argv[4], "w"))' "$conf" "$sock" "$T_TMP/pkg.db" "$cfg"
dpid=""
trap 'rc=$?; set +e; if [ -n "$dpid" ]; then kill -TERM "$dpid" 2>/dev/null;
    rig_wait_gone "$dpid" 10 || kill -KILL "$dpid" 2>/dev/null; fi;
    (exit $rc); t_cleanup' EXIT
DOCKMUX_AUTODETECT_SOCKETS=$engines setsid "$root/usr/sbin/dockmuxd" \
    -c "$cfg" >"$T_TMP/pkg-dockmuxd.log" 2>&1 </dev/null &
dpid=$!
t_wait_for 20 rig_ping "$sock" ||
    t_fail "packaged dockmuxd does not answer: $(cat "$T_TMP/pkg-dockmuxd.log")"
cli=$root/usr/bin/dockmux
"$cli" -H "unix://$sock" version | grep -q '^Server: dockmuxd' ||
    t_fail "packaged dockmux version"
"$cli" -H "unix://$sock" backends || t_fail "packaged dockmux backends"
"$cli" -H "unix://$sock" backends --json >"$T_TMP/backends.json" ||
    t_fail "packaged dockmux backends --json"
t_expect_eq "backends found by the conffile, up" "engine0 engine1" \
    "$(python3 -c 'import json, sys
print(" ".join(b["name"] for b in json.load(open(sys.argv[1]))
    if b["state"] == "up"))' "$T_TMP/backends.json")"
out=$(docker -H "unix://$sock" run --rm busybox echo packaged) ||
    t_fail "docker run through the packaged dockmuxd"
t_expect_eq "docker run through the packaged dockmuxd" packaged "$out"
kill -TERM "$dpid"
rig_wait_gone "$dpid" 10 || t_fail "packaged dockmuxd ignored SIGTERM"
rc=0
wait "$dpid" || rc=$?
dpid=""
t_expect_eq "packaged dockmuxd exit status" 0 "$rc"

# ---- man pages and completion ---------------------------------------------
for f in "$root"/usr/share/man/man*/*.gz; do
	t_man_renders "$f"
done
comp=$root/usr/share/bash-completion/completions/dockmux
out=$(bash -c '. "$1"; complete -p dockmux' _ "$comp" 2>&1) ||
    t_fail "bash completion does not load: $out"
t_expect_eq "complete -p dockmux" "complete -F _dockmux dockmux" "$out"
echo "ok"
