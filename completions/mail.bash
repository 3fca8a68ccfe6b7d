# bash completion for mail(1)                               -*- shell-script -*-
#
# Installed as .../bash-completion/completions/mail, or source it from
# ~/.bashrc.  Works with or without the bash-completion package.

# The commands, and the options of each (besides the common ones).
_mail_commands='check help'
_mail_common_opts='-a --account -C --config -v --verbose -q --quiet
    --color --imap --pop3 --smtp --user -h --help'
_mail_global_opts="$_mail_common_opts --version"

_mail_command_opts()
{
    case $1 in
        check) printf '%s\n' '--json' ;;
    esac
}

# Options that take an argument (the next word, or after '=').
_mail_opt_takes_arg()
{
    case $1 in
        -a | --account | -C | --config | --color | --imap | --pop3 | \
            --smtp | --user) return 0 ;;
    esac
    return 1
}

# The config file: -C FILE / --config FILE on the command line, else
# $XDG_CONFIG_HOME/mail/config (if absolute), else ~/.config/mail/config.
_mail_config_file()
{
    local i w f=
    for ((i = 1; i < ${#words[@]}; i++)); do
        ((i == cword)) && continue
        w=${words[i]}
        case $w in
            -C | --config)
                if [[ ${words[i + 1]-} == = ]]; then
                    f=${words[i + 2]-}
                else
                    f=${words[i + 1]-}
                fi
                ;;
            --config=*) f=${w#--config=} ;;
            -C?*) f=${w#-C} ;;
        esac
    done
    if [[ -n $f ]]; then
        # The shell has not expanded the word yet: do ~ and quotes.
        f=${f#[\"\']}
        f=${f%[\"\']}
        [[ $f == \~ || $f == \~/* ]] && f=$HOME${f#\~}
        printf '%s\n' "$f"
    elif [[ ${XDG_CONFIG_HOME-} == /* ]]; then
        printf '%s\n' "$XDG_CONFIG_HOME/mail/config"
    else
        printf '%s\n' "${HOME-}/.config/mail/config"
    fi
}

# Account names: the NAME of each [account "NAME"] line, with the \"
# and \\ escapes of the config format undone.
_mail_accounts()
{
    local f
    f=$(_mail_config_file)
    [[ -r $f && ! -d $f ]] || return 0
    awk '
        /^[ \t]*\[[ \t]*[Aa][Cc][Cc][Oo][Uu][Nn][Tt][ \t]*"/ {
            s = $0
            sub(/^[ \t]*\[[ \t]*[Aa][Cc][Cc][Oo][Uu][Nn][Tt][ \t]*"/, "", s)
            name = ""
            ok = 0
            while (s != "") {
                c = substr(s, 1, 1)
                s = substr(s, 2)
                if (c == "\\") {
                    name = name substr(s, 1, 1)
                    s = substr(s, 2)
                } else if (c == "\"") {
                    ok = 1
                    break
                } else {
                    name = name c
                }
            }
            if (ok && name != "" && s ~ /^[ \t]*\]/)
                print name
        }' "$f" 2>/dev/null
}

# Add to COMPREPLY the lines of standard input that start with $cur,
# quoted for the shell if they need it.
_mail_add_matching()
{
    local w
    while IFS= read -r w; do
        [[ -n $w && $w == "$cur"* ]] || continue
        if [[ $w == *[!A-Za-z0-9@%+,./:_-]* ]]; then
            printf -v w '%q' "$w"
        fi
        COMPREPLY+=("$w")
    done
}

_mail_add_words()
{
    local w
    for w in $1; do
        [[ $w == "$cur"* ]] && COMPREPLY+=("$w")
    done
}

_mail()
{
    # split is set by _init_completion -s.
    # shellcheck disable=SC2034
    local cur prev words cword split=false before=''
    COMPREPLY=()
    if [[ -n ${COMP_LINE-} ]] && declare -F _init_completion >/dev/null; then
        _init_completion -s || return
    else
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
        cur=${COMP_WORDS[COMP_CWORD]-}
        prev=${COMP_WORDS[COMP_CWORD - 1]-}
        # "--color=al" arrives as "--color" "=" "al" (or "--color" "="
        # when nothing follows the '=').
        if [[ $cur == = ]] && _mail_opt_takes_arg "$prev"; then
            cur=
        elif [[ $prev == = ]] && ((cword >= 2)); then
            prev=${COMP_WORDS[COMP_CWORD - 2]}
        elif [[ $cur == --*=* ]]; then
            # '=' removed from COMP_WORDBREAKS: the reply replaces the
            # whole word, so keep the option in it.
            prev=${cur%%=*}
            cur=${cur#*=}
            before="$prev="
        fi
    fi

    # The value of an option.
    case $prev in
        -a | --account)
            _mail_add_matching < <(_mail_accounts)
            [[ -n $before ]] && COMPREPLY=("${COMPREPLY[@]/#/$before}")
            return 0
            ;;
        -C | --config)
            if declare -F _filedir >/dev/null && [[ -z $before ]]; then
                _filedir
            else
                compopt -o filenames 2>/dev/null
                local f
                while IFS= read -r f; do
                    COMPREPLY+=("$f")
                done < <(compgen -f -- "$cur")
                [[ -n $before ]] && COMPREPLY=("${COMPREPLY[@]/#/$before}")
            fi
            return 0
            ;;
        --color)
            _mail_add_words 'auto always never'
            [[ -n $before ]] && COMPREPLY=("${COMPREPLY[@]/#/$before}")
            return 0
            ;;
        --imap | --pop3 | --smtp)
            # Only the scheme: host names are yours to type.
            if [[ $cur != *:* ]]; then
                local p=${prev#--}
                _mail_add_words "$p:// ${p}s://"
                [[ -n $before ]] && COMPREPLY=("${COMPREPLY[@]/#/$before}")
                compopt -o nospace 2>/dev/null
            fi
            return 0
            ;;
        --user)
            return 0
            ;;
    esac

    # Find the command: the first word that is not an option or an
    # option's argument.
    local i w cmd='' cmd_at=0
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        if [[ $w == = ]]; then
            continue
        elif _mail_opt_takes_arg "$w"; then
            if [[ ${words[i + 1]-} == = ]]; then
                ((i += 2))
            else
                ((i++))
            fi
        elif [[ $w != -* ]]; then
            cmd=$w
            cmd_at=$i
            break
        fi
    done

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            _mail_add_words "$_mail_global_opts"
        else
            _mail_add_words "$_mail_commands"
        fi
        return 0
    fi

    case $cmd in
        help)
            # One argument: a command name.
            if ((cword == cmd_at + 1)) && [[ $cur != -* ]]; then
                _mail_add_words "$_mail_commands"
            elif [[ $cur == -* ]]; then
                _mail_add_words '-h --help'
            fi
            ;;
        *)
            if [[ $cur == -* ]]; then
                _mail_add_words "$_mail_common_opts $(_mail_command_opts "$cmd")"
            fi
            ;;
    esac
    return 0
}

complete -F _mail mail
