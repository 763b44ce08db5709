#!/bin/bash
# `make install DESTDIR=... PREFIX=/usr/local` puts every file where the
# Makefile documents it (dockmuxd in sbin and dockmux in bin, as dockerd
# and docker; their man pages; completion for bash and zsh; units with
# the prefix substituted, the
# example config, the docs); `make uninstall` with the same variables
# removes exactly those.  Installs the programs `make` built (they are not
# rebuilt); the man pages are made from man/*.scd when missing.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init

repo=$(cd "$(dirname "$0")/../.." && pwd)
dest=$T_TMP/root
prefix=/usr/local
# -o: take the built programs as they are (others may be editing sources).
mk() {
	make -s -C "$repo" BUILD="$BUILD" -o "$BUILD/dockmuxd" \
	    -o "$BUILD/dockmux" DESTDIR="$dest" PREFIX="$prefix" "$@"
}

mk install || t_fail "make install failed"
expected=(
	"$prefix/sbin/dockmuxd"
	"$prefix/bin/dockmux"
	"$prefix/lib/systemd/system/dockmux.service"
	"$prefix/lib/systemd/system/dockmux.socket"
	"$prefix/share/man/man8/dockmuxd.8"
	"$prefix/share/man/man1/dockmux.1"
	"$prefix/share/man/man5/dockmux.json.5"
	"$prefix/share/bash-completion/completions/dockmux"
	"$prefix/share/zsh/site-functions/_dockmux"
	/etc/dockmux/dockmux.json.example
)
docs=0
expected+=("$prefix/share/doc/dockmux/README.md")
expected+=("$prefix/share/doc/dockmux/NEWS.md")
for f in "$repo"/docs/*.md; do
	[ -f "$f" ] || continue
	expected+=("$prefix/share/doc/dockmux/docs/${f##*/}")
	docs=$((docs + 1))
done
[ "$docs" -gt 0 ] || t_fail "no docs in the tree to install"
for f in "${expected[@]}"; do
	[ -f "$dest$f" ] || t_fail "make install: $f missing"
done
# Nothing else was installed.
got=$(cd "$dest" && find . -type f | sed 's|^\.||' | sort)
want=$(printf '%s\n' "${expected[@]}" | sort)
[ "$got" = "$want" ] ||
    t_fail "make install: unexpected files: $(comm -3 <(echo "$got") <(echo "$want") | tr '\n' ' ')"

[ -x "$dest$prefix/sbin/dockmuxd" ] && [ -x "$dest$prefix/bin/dockmux" ] ||
    t_fail "programs not executable"
cmp -s "$BUILD/dockmuxd" "$dest$prefix/sbin/dockmuxd" ||
    t_fail "installed dockmuxd differs from $BUILD/dockmuxd"
"$dest$prefix/sbin/dockmuxd" --version | grep -q '^dockmuxd ' ||
    t_fail "installed dockmuxd --version"
unit=$dest$prefix/lib/systemd/system/dockmux.service
grep -qx "ExecStart=$prefix/sbin/dockmuxd --config /etc/dockmux/dockmux.json" \
    "$unit" || t_fail "dockmux.service: ExecStart not $prefix/sbin/dockmuxd"
! grep -n '@[A-Z]*@' "$dest$prefix/lib/systemd/system/"* ||
    t_fail "placeholders left in the installed units"
for f in "$prefix/lib/systemd/system/dockmux.service" \
    "$prefix/lib/systemd/system/dockmux.socket" \
    "$prefix/share/man/man8/dockmuxd.8" \
    /etc/dockmux/dockmux.json.example; do
	t_expect_eq "mode of $f" 644 "$(stat -c %a "$dest$f")"
done
# The man pages render without a warning.
for f in "${expected[@]}"; do
	case $f in
	*/share/man/*) t_man_renders "$dest$f" ;;
	esac
done
# The example is a valid configuration.
"$dest$prefix/sbin/dockmuxd" --check-config \
    -c "$dest/etc/dockmux/dockmux.json.example" >/dev/null ||
    t_fail "dockmux.json.example does not pass --check-config"

# A second install over the first one is fine (upgrade).
mk install || t_fail "second make install failed"

# A config the admin wrote survives uninstall.
echo '{}' >"$dest/etc/dockmux/dockmux.json"
mk uninstall || t_fail "make uninstall failed"
for f in "${expected[@]}"; do
	[ ! -e "$dest$f" ] || t_fail "make uninstall left $f"
done
left=$(cd "$dest" && find . -type f | sed 's|^\.||')
t_expect_eq "files left after uninstall" /etc/dockmux/dockmux.json "$left"
[ ! -d "$dest$prefix/share/doc/dockmux" ] ||
    t_fail "make uninstall left $prefix/share/doc/dockmux"

# PREFIX=/usr: the units go where systemd looks for packaged ones.
rm -rf "$dest"
prefix=/usr
mk install || t_fail "make install PREFIX=/usr failed"
[ -f "$dest/usr/lib/systemd/system/dockmux.service" ] ||
    t_fail "PREFIX=/usr: no /usr/lib/systemd/system/dockmux.service"
grep -qx 'ExecStart=/usr/sbin/dockmuxd --config /etc/dockmux/dockmux.json' \
    "$dest/usr/lib/systemd/system/dockmux.service" ||
    t_fail "PREFIX=/usr: ExecStart not /usr/sbin/dockmuxd"
# Where Debian's bash-completion and zsh look for packaged completions.
for f in /usr/share/bash-completion/completions/dockmux \
    /usr/share/zsh/vendor-completions/_dockmux; do
	[ -f "$dest$f" ] || t_fail "PREFIX=/usr: no $f"
done
mk uninstall || t_fail "make uninstall PREFIX=/usr failed"
[ -z "$(cd "$dest" && find . -type f)" ] ||
    t_fail "PREFIX=/usr: uninstall left files"
echo "ok"
