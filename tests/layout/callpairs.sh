#!/bin/sh
# callpairs.sh BUILD_DIR: the pairs of source files that call each other
# (A uses a function B defines and B uses one A defines), read off the
# objects' symbol tables.  Prints one "a.c <-> b.c" line per pair.
set -eu
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for o in $(find "$build/lib" "$build/config" "$build/daemon" "$build/api" \
    "$build/backends" "$build/store" "$build/cli" -name '*.o' 2>/dev/null); do
	src=${o#"$build"/}
	src=${src%.o}.c
	[ -f "$src" ] || continue
	nm --defined-only -g "$o" | awk -v f="$src" '$2 ~ /[TDBR]/ {print $3, f}'
done | sort >"$tmp/def"
for o in $(find "$build/lib" "$build/config" "$build/daemon" "$build/api" \
    "$build/backends" "$build/store" "$build/cli" -name '*.o' 2>/dev/null); do
	src=${o#"$build"/}
	src=${src%.o}.c
	[ -f "$src" ] || continue
	nm -u "$o" | awk -v f="$src" '{print $2, f}'
done | sort >"$tmp/use"
# user -> definer edges, one per file pair
join "$tmp/use" "$tmp/def" | awk '$2 != $3 {print $2, $3}' | sort -u >"$tmp/edges"
awk '{ e[$1" "$2] = 1 } END { for (k in e) { split(k, p, " ");
	if (p[1] < p[2] && ((p[2]" "p[1]) in e)) print p[1], "<->", p[2] } }' \
    "$tmp/edges" | sort
