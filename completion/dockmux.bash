# bash completion for dockmux(1), the dockmuxd admin CLI.
# Installed as /usr/share/bash-completion/completions/dockmux, where
# bash-completion loads it the first time dockmux is completed.
#
# Backend names are asked of the running dockmuxd (`dockmux backends
# --json`, on the socket given by -H on the line being completed, else the
# CLI's own default), at most 2 s; without an answer none are offered.

_dockmux_commands="backends check-config explain help networks routes
status version volumes"

# The backend names, one per line, from the daemon the line talks to.
_dockmux_backends()
{
	local host=() i
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-H | --host) host=(-H "${words[i + 1]}") ;;
		--host=*) host=(-H "${words[i]#--host=}") ;;
		esac
	done
	timeout 2 dockmux "${host[@]}" backends --json 2>/dev/null |
	    sed -n 's/^ *"name": *"\([^"]*\)".*/\1/p'
}

_dockmux()
{
	local cur prev words cword
	_init_completion -n = || return

	# The subcommand: the first word that is not an option or the
	# value of -H.
	local cmd="" i
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-H | --host) ((i++)) ;;
		-*) ;;
		*) cmd=${words[i]}; break ;;
		esac
	done

	if [[ -z $cmd ]]; then
		case $prev in
		-H | --host)
			# unix:///path or a plain path: offer socket files.
			_filedir
			return
			;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '-H --host -h --help --version' \
			    -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$_dockmux_commands" -- "$cur"))
		fi
		return
	fi

	local list_flags="--json --no-trunc"
	case $cmd in
	backends | networks | volumes)
		COMPREPLY=($(compgen -W "$list_flags" -- "$cur"))
		;;
	routes)
		case $prev in
		--backend)
			COMPREPLY=($(compgen -W "$(_dockmux_backends)" -- "$cur"))
			return
			;;
		--rule)
			COMPREPLY=($(compgen -W 'pin isolation marker platform
			    image-os default adopted' -- "$cur"))
			return
			;;
		--name) return ;;
		esac
		COMPREPLY=($(compgen -W "--backend --rule --name $list_flags" \
		    -- "$cur"))
		;;
	explain)
		case $prev in
		-l | --label)
			# The pin label is the one whose values dockmuxd knows.
			if [[ $cur == io.dockmux.backend=* ]]; then
				COMPREPLY=($(compgen -P io.dockmux.backend= \
				    -W "$(_dockmux_backends)" \
				    -- "${cur#io.dockmux.backend=}"))
			else
				COMPREPLY=($(compgen -W 'io.dockmux.backend=
				    io.dockmux.isolation=' -- "$cur"))
				compopt -o nospace
			fi
			return
			;;
		--platform)
			COMPREPLY=($(compgen -W 'linux windows linux/amd64
			    linux/arm64 linux/arm windows/amd64' -- "$cur"))
			return
			;;
		--body)
			_filedir
			return
			;;
		--name | --runtime) return ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '-l --label --platform --name
			    --runtime --json --body' -- "$cur"))
		fi
		;;
	check-config)
		_filedir json
		;;
	status | version | help) ;;
	esac
} &&
	complete -F _dockmux dockmux

# ex: filetype=sh
