#!/bin/bash
# The bash completion of dockmux (completion/dockmux.bash) loads under
# bash-completion, offers the subcommands and each one's flags, and offers
# the backend names of the dockmuxd that -H names on the line (the rig's
# a and b), asked with `dockmux backends --json`.  A socket nobody answers
# on gives no names, quickly.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
t_needs_dockmuxd

repo=$(cd "$(dirname "$0")/../.." && pwd)
bc=/usr/share/bash-completion/bash_completion
[ -f "$bc" ] || t_fail "$bc missing (install bash-completion)"
PATH=$BUILD:$PATH	# the dockmux the completion runs

# shellcheck disable=SC1090
. "$bc"
# shellcheck source=completion/dockmux.bash
. "$repo/completion/dockmux.bash"
complete -p dockmux | grep -q -- '-F _dockmux dockmux' ||
    t_fail "complete -p dockmux: $(complete -p dockmux 2>&1)"

# comp WORD...: the completions bash would offer for the line WORD...,
# the last word being the one completed; one line, space-separated.
comp() {
	local COMP_WORDS COMP_CWORD COMP_LINE COMP_POINT
	COMP_WORDS=("$@")
	COMP_CWORD=$(( $# - 1 ))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_dockmux dockmux "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}" 2>/dev/null
	printf '%s\n' "${COMPREPLY[*]}"
}

t_expect_eq "subcommands" \
    "backends check-config explain help networks routes status version volumes" \
    "$(comp dockmux '')"
t_expect_eq "subcommands after -H" "routes" \
    "$(comp dockmux -H /nowhere.sock ro)"
t_expect_eq "global flags" "-H --host -h --help --version" "$(comp dockmux -)"
t_expect_eq "routes flags" "--backend --rule --name --json --no-trunc" \
    "$(comp dockmux routes --)"
t_expect_eq "listing flags" "--json --no-trunc" "$(comp dockmux volumes -)"
t_expect_eq "rules" "isolation image-os" "$(comp dockmux routes --rule i)"

sock=unix://$DOCKMUX_SOCK
t_expect_eq "backend names (-H)" "a b" \
    "$(comp dockmux -H "$sock" routes --backend '')"
t_expect_eq "backend names (--host=)" "b" \
    "$(comp dockmux --host="$sock" routes --backend b)"
t_expect_eq "pin label values" "io.dockmux.backend=a io.dockmux.backend=b" \
    "$(comp dockmux -H "$sock" explain -l io.dockmux.backend=)"
# From the environment, as the CLI itself would pick the socket.
t_expect_eq "backend names (DOCKMUX_HOST)" "a b" \
    "$(DOCKMUX_HOST=$sock comp dockmux routes --backend '')"

# Nobody answering: no names, and no hang.
t0=$(rig_now_ms)
t_expect_eq "no daemon, no names" "" \
    "$(comp dockmux -H "unix://$T_TMP/none.sock" routes --backend '')"
[ $(( $(rig_now_ms) - t0 )) -lt 3000 ] || t_fail "completion took over 3 s"
echo "ok"
