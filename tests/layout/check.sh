#!/bin/sh
# check.sh: the floors of the source tree hold (docs/architecture.md):
#   lib <- {config, backends, store} <- dispatcher (daemon/disp*) <- api
#   <- main;  cli -> {config, lib}
# Fails, naming file and line, when a file includes a header from a floor
# above its own (or from a module beside it).  Then lists the pairs of
# files that call each other (tests/layout/callpairs.sh), which must be none.
#   sh tests/layout/check.sh [BUILD]
set -u
cd "$(dirname "$0")/../.." || exit 1
build=${1:-build}
bad=0

# allowed FOLDER PATTERN: the includes a folder's files may name.
check() {
	dir=$1
	allowed=$2
	for f in "$dir"/*.c "$dir"/*.h; do
		[ -e "$f" ] || continue
		grep -n '^#include "' "$f" | while IFS= read -r line; do
			hdr=$(printf '%s\n' "$line" | sed 's/.*#include "\([^"]*\)".*/\1/')
			case $hdr in
			*/*) ;;
			*) hdr="$dir/$hdr" ;;	# same folder
			esac
			if ! printf '%s\n' "$hdr" | grep -Eq "^($allowed)$"; then
				echo "layout: $f:${line%%:*}: includes $hdr"
			fi
		done
	done
}

out=$(
	check lib 'lib/[a-z_]+\.h'
	check config 'lib/[a-z_]+\.h|config/[a-z_]+\.h'
	check backends 'lib/[a-z_]+\.h|backends/[a-z_]+\.h'
	check store 'lib/[a-z_]+\.h|store/[a-z_]+\.h'
	check cli 'lib/[a-z_]+\.h|config/[a-z_]+\.h|cli/[a-z_]+\.h'
	check api 'lib/[a-z_]+\.h|api/[a-z_]+\.h|daemon/disp\.h'
)
if [ -n "$out" ]; then
	printf '%s\n' "$out"
	bad=1
fi

if [ -d "$build/daemon" ]; then
	pairs=$(sh tests/layout/callpairs.sh "$build")
	if [ -n "$pairs" ]; then
		echo "layout: files that call each other:"
		printf '%s\n' "$pairs" | sed 's/^/  /'
		bad=1
	fi
else
	echo "layout: $build/daemon not built; call pairs not checked"
	bad=1
fi
if [ $bad -eq 0 ]; then
	echo "PASS layout"
else
	echo "FAIL layout"
fi
exit $bad
