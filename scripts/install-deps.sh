#!/bin/sh
# install-deps.sh: install the Debian packages dockmux needs to build and to
# run every test layer (unit, fuzz, integration, real-engine e2e, bench);
# clang and its runtimes (libFuzzer) only for the fuzz harnesses.
# Idempotent and silent when everything is already installed.  Only the
# missing packages are installed (one apt-get update, non-interactive).
# Not root and something missing: says what to install, exits 1.
set -eu

PKGS="build-essential pkg-config libmicrohttpd-dev libjson-c-dev
libsqlite3-dev libcurl4-openssl-dev check valgrind curl docker.io podman
docker-registry busybox-static haproxy systemd docker-compose python3-docker
wrk iproute2 socat jq python3 libgnutls28-dev openssl openssh-server
openssh-client clang libclang-rt-dev scdoc groff-base man-db bash-completion
dpkg-dev debhelper lintian"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
missing=${missing# }
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing Debian packages: $missing" >&2
	echo "install-deps: as root run: apt-get install $missing" >&2
	exit 1
fi

echo "install-deps: installing: $missing" >&2

# Without a running systemd (containers, CI sandboxes) the postinst of
# docker.io/haproxy must not try to start services: a temporary
# policy-rc.d says "not now".  Left alone when one already exists.
policy=""
if [ ! -d /run/systemd/system ] && [ ! -e /usr/sbin/policy-rc.d ]; then
	policy=/usr/sbin/policy-rc.d
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	trap 'rm -f "$policy"' EXIT INT TERM
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # word splitting of the package list is wanted
apt-get install -y -qq $missing >/dev/null

# Check again: apt can "succeed" while leaving a package unconfigured.
still=""
for p in $missing; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) still="$still $p" ;;
	esac
done
if [ -n "$still" ]; then
	echo "install-deps: still not installed after apt-get:$still" >&2
	exit 1
fi
