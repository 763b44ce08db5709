#!/bin/sh
# tests/valgrind-dockmuxd.sh: run dockmuxd under valgrind memcheck, for the
# integration runner (DOCKMUXD=tests/valgrind-dockmuxd.sh).  Any memory
# error or definite leak makes dockmuxd exit 97, which fails the case.
: "${DOCKMUXD_REAL:?set DOCKMUXD_REAL to the dockmuxd binary}"
exec valgrind -q --error-exitcode=97 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite \
    --trace-children=no "$DOCKMUXD_REAL" "$@"
