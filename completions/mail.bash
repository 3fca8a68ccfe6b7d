# bash completion for mail(1)                               -*- shell-script -*-
#
# Installed as .../bash-completion/completions/mail, or source it from
# ~/.bashrc.  Works with or without the bash-completion package.

# The commands, and the options of each (besides the common ones).
_mail_commands='check auth ls read folders flag mv rm send sendmail reply forward compose alias fetch watch tui help'
_mail_common_opts='-a --account -C --config -v --verbose -q --quiet
    --color --imap --pop3 --smtp --user -h --help'
_mail_global_opts="$_mail_common_opts --version"

_mail_command_opts()
{
    case $1 in
        check) printf '%s\n' '--json' ;;
        auth) printf '%s\n' --device --timeout ;;
        ls) printf '%s\n' -f --folder -n -u --unread --since -t --thread \
            -S --sort -r --reverse -F --format --json ;;
        read) printf '%s\n' -f --folder --raw --peek --headers --part \
            --save --json ;;
        folders) printf '%s\n' --json --remote --cached --create --rename \
            --delete ;;
        flag) printf '%s\n' -f --folder ;;
        tui) printf '%s\n' -f --folder ;;
        mv) printf '%s\n' -f --folder --create ;;
        rm) printf '%s\n' -f --folder --expunge ;;
        sendmail) printf '%s\n' -t -i -oi -f -r -F -C -v -q -odi -oem ;;
        send) printf '%s\n' -s --subject -c --cc -b --bcc -A --attach -f -r \
            --from -F --name -t --extract -i -o --header --dry-run --queue \
            --no-queue --flush --no-flush --no-save --batch ;;
        reply) printf '%s\n' --all -g --group --list -f --folder --dry-run ;;
        forward) printf '%s\n' --attach -f --folder --dry-run ;;
        compose) printf '%s\n' -s --subject -c --cc -b --bcc -A --attach \
            --resume --dry-run ;;
        alias) printf '%s\n' -d --delete -q --query --json ;;
        fetch) printf '%s\n' --all --keep --delete --folder --catch-up \
            --mda --wait --idle --keepalive --no-notify ;;
        watch) printf '%s\n' --exec --exec-timeout --json --interval --keepalive \
            --no-notify ;;
    esac
}

# The flag words of `mail flag`.
_mail_flag_words='+seen -seen +flagged -flagged +answered -answered +draft
    -draft'

# Options that take an argument (the next word, or after '=') for the
# command $2 (empty: before the command, the global options only).  Some
# take one for one command and are flags of another: fetch --delete,
# mv --create, ls -r (--reverse).
_mail_opt_takes_arg()
{
    case $1 in
        -a | --account | -C | --config | --color | --imap | --pop3 | \
            --smtp | --user | -f | --folder | -n | --since | -F | \
            --format | --headers | --part | --save | -s | --subject | \
            -c | --cc | -b | --bcc | -A | --attach | --from | \
            --name | -o | --header | --batch | --mda | --query | \
            -S | --sort | --timeout | --exec | --exec-timeout | --interval | \
            --keepalive) return 0 ;;
        -r) [[ ${2-} == send || ${2-} == sendmail ]] && return 0 ;;
        -d | --delete) [[ ${2-} == alias || ${2-} == folders ]] && return 0 ;;
        --create | --rename) [[ ${2-} == folders ]] && return 0 ;;
    esac
    return 1
}

# A folder to create, rename or delete: imap:NAME on the server (from
# the folder list cache: never a login) or =NAME of the store.
_mail_complete_folder_name()
{
    if [[ $cur == =* ]]; then
        _mail_complete_folder
        return
    fi
    _mail_complete_imap
    [[ -z $cur ]] && _mail_add_matching < <(_mail_store_folders)
    [[ -n $before ]] && COMPREPLY=("${COMPREPLY[@]/#/$before}")
    compopt -o nospace 2>/dev/null
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

# The store of the account in use (-a NAME, else the one with
# default = true, else the first), "~" expanded; "mbox:" kept.
_mail_store()
{
    local f i w acct=
    f=$(_mail_config_file)
    [[ -r $f && ! -d $f ]] || return 0
    for ((i = 1; i < ${#words[@]}; i++)); do
        ((i == cword)) && continue
        w=${words[i]}
        case $w in
            -a | --account) acct=${words[i + 1]-} ;;
            --account=*) acct=${w#--account=} ;;
            -a?*) acct=${w#-a} ;;
        esac
    done
    awk -v want="$acct" -v home="${HOME-}" '
        function flush() {
            if (name == "") return
            if (want != "" && name == want) chosen = store
            if (want == "" && isdef && def == "") def = store
            if (!seenfirst) { first = store; seenfirst = 1 }
        }
        /^[ \t]*\[/ {
            flush()
            name = $0
            sub(/^[^"]*"/, "", name)
            sub(/".*$/, "", name)
            store = ""
            isdef = 0
            next
        }
        /^[ \t]*store[ \t]*=/ {
            v = $0
            sub(/^[^=]*=[ \t]*/, "", v)
            sub(/[ \t]+#.*$/, "", v)
            sub(/[ \t]+$/, "", v)
            store = v
        }
        /^[ \t]*default[ \t]*=[ \t]*(true|yes|1)/ { isdef = 1 }
        END {
            flush()
            s = want != "" ? chosen : (def != "" ? def : first)
            p = ""
            if (s ~ /^mbox:/) { p = "mbox:"; s = substr(s, 6) }
            if (s == "~" || s ~ /^~\//) s = home substr(s, 2)
            if (s != "") print p s
        }' "$f" 2>/dev/null
}

# The folders of the account's IMAP server as of its last listing: `mail
# folders --remote --cached` reads the folder list cache and never
# connects (nothing when there is none), with the -a and -C of the line.
_mail_remote_folders()
{
    local i w a=() acct= conf=
    for ((i = 1; i < ${#words[@]}; i++)); do
        ((i == cword)) && continue
        w=${words[i]}
        case $w in
            -a | --account)
                if [[ ${words[i + 1]-} == = ]]; then
                    acct=${words[i + 2]-}
                else
                    acct=${words[i + 1]-}
                fi
                ;;
            --account=*) acct=${w#--account=} ;;
            -a?*) acct=${w#-a} ;;
            -C | --config | --config=* | -C?*) conf=1 ;;
        esac
    done
    if [[ -n $acct ]]; then
        acct=${acct#[\"\']}
        acct=${acct%[\"\']}
        a+=(-a "$acct")
    fi
    [[ -n $conf ]] && a+=(-C "$(_mail_config_file)")
    command mail "${a[@]}" folders --remote --cached </dev/null 2>/dev/null
}

# An imap:NAME word: "imap:" while the word is a prefix of it, then the
# server's folders from the cache.  The word as typed may start with a
# quote (readline then completes after it, and the quote keeps spaces)
# or have backslashes: matched without them; the replies are escaped for
# the shell unless after a quote.  Readline replaces only what follows
# the last ':' when ':' breaks words (outside quotes): the reply then
# starts after it.
_mail_complete_imap()
{
    local typed=$cur q='' w n=0 keep=''
    case $typed in
        \'*) q=\' typed=${typed#\'} ;;
        \"*) q=\" typed=${typed#\"} ;;
        *) typed=$(printf '%s' "$typed" | sed 's/\\\(.\)/\1/g') ;;
    esac
    if [[ $typed != imap:* ]]; then
        [[ imap: == "$typed"* ]] || return 0
        COMPREPLY+=("${before}imap:")
        compopt -o nospace 2>/dev/null
        return 0
    fi
    [[ -z $q && ${COMP_WORDBREAKS-} == *:* && -z $before ]] &&
        keep=${cur%"${cur##*:}"}
    while IFS= read -r w; do
        w=imap:$w
        [[ $w == "$typed"* ]] || continue
        [[ -z $q ]] && w=$(printf '%s' "$w" |
            sed 's/[][ \t!"#$&'\''()*;<>?\\`{|}~]/\\&/g')
        COMPREPLY+=("$before${w#"$keep"}")
        ((n++))
    done < <(_mail_remote_folders)
    if ((n == 0)) && [[ $typed == imap: ]]; then
        COMPREPLY+=("$before${typed#"$keep"}")
        compopt -o nospace 2>/dev/null
    fi
}

# The names of the aliases: the first column of `mail alias`.
_mail_alias_names()
{
    command mail alias 2>/dev/null | cut -f1
}

# The folders of the store, as =NAME.
_mail_store_folders()
{
    local store d n
    store=$(_mail_store)
    [[ -n $store ]] || return 0
    if [[ $store == mbox:* ]]; then
        store=${store#mbox:}
        [[ -d $store ]] || return 0
        (cd "$store" 2>/dev/null &&
            find . -type f ! -name '.*' ! -name '*.lock' 2>/dev/null) |
            sed 's|^\./|=|'
    else
        printf '%s\n' =INBOX
        for d in "$store"/.[!.]*/; do
            [[ -d ${d}cur ]] || continue
            n=${d%/}
            n=${n##*/}
            n=${n#.}
            printf '=%s\n' "${n//./\/}"
        done
    fi
}

# A FOLDER argument: =NAME from the store, imap:NAME from the folder list
# cache, else files and directories.
_mail_complete_folder()
{
    if [[ $cur == imap:* || $cur == [\'\"]imap:* ]]; then
        _mail_complete_imap
    elif [[ $cur == =* ]]; then
        _mail_add_matching < <(_mail_store_folders)
        # Readline replaces only the text after the last character of
        # COMP_WORDBREAKS (with or without bash-completion, which joins
        # the words again for us): when '=' is one, the reply must not
        # repeat what comes up to it, or "=Ar" becomes "==Archive".
        if [[ ${COMP_WORDBREAKS-} == *=* && -z $before ]]; then
            local keep=${cur%=*}=
            COMPREPLY=("${COMPREPLY[@]#"$keep"}")
        fi
        [[ -n $before ]] && COMPREPLY=("${COMPREPLY[@]/#/$before}")
    else
        [[ -n $cur ]] && _mail_complete_imap
        compopt -o filenames 2>/dev/null
        local f
        while IFS= read -r f; do
            COMPREPLY+=("$before$f")
        done < <(compgen -f -- "$cur")
    fi
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
        _init_completion -s -n : || return
    else
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
        cur=${COMP_WORDS[COMP_CWORD]-}
        prev=${COMP_WORDS[COMP_CWORD - 1]-}
        # "--color=al" arrives as "--color" "=" "al" (or "--color" "="
        # when nothing follows the '=').
        if [[ $cur == = && $prev == --* ]]; then
            # (only an option with a value is followed by '=')
            cur=
        elif [[ $prev == = ]] && ((cword >= 2)); then
            prev=${COMP_WORDS[COMP_CWORD - 2]}
            # "=Sent" split the same way: a folder of the store, unless
            # the '=' joins a long option to its value.
            if [[ $prev != --* ]]; then
                cur="=$cur"
            fi
        elif [[ $cur == --*=* ]]; then
            # '=' removed from COMP_WORDBREAKS: the reply replaces the
            # whole word, so keep the option in it.
            prev=${cur%%=*}
            cur=${cur#*=}
            before="$prev="
        fi
        # "imap:Arc" arrives as "imap" ":" "Arc" when ':' breaks words
        # (and "imap:" as "imap" ":"): one word again, as
        # _init_completion -n : makes it.
        local j=$cword joined=$cur p
        while ((j >= 2)); do
            p=${words[j - 1]}
            [[ $p == : || $joined == :* ]] || break
            [[ ${COMP_LINE:0:COMP_POINT} == *"$p$joined" ]] || break
            joined=$p$joined
            ((j--))
        done
        if ((j < cword)); then
            cur=$joined
            words=("${words[@]:0:j}" "$cur")
            cword=$j
            prev=${words[j - 1]}
        fi
    fi

    # Find the command: the first word that is not an option or an
    # option's argument.  It decides what some options mean (-f is a
    # folder for ls, the sender for send).
    local i w cmd='' cmd_at=0
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        if [[ $w == = ]]; then
            continue
        elif _mail_opt_takes_arg "$w" "$cmd"; then
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

    # The value of an option (one that takes a value for this command:
    # after a flag such as fetch --delete the usual words follow).
    [[ -n $before ]] || _mail_opt_takes_arg "$prev" "$cmd" ||
        prev=
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
        --user | -n | --since | -F | --format | --part | -s | --subject | \
            -c | --cc | -b | --bcc | -r | --from | --name | -o | --header)
            # Free text or addresses: nothing to offer.
            return 0
            ;;
        -f | --folder)
            # For send, -f is the sender's address; for fetch, --folder
            # is a folder (or pattern) on the IMAP server.
            [[ $cmd == send || $cmd == fetch ]] || _mail_complete_folder
            return 0
            ;;
        -d | --delete)
            if [[ $cmd == alias ]]; then
                _mail_add_matching < <(_mail_alias_names)
            elif [[ $cmd == folders ]]; then
                _mail_complete_folder_name
            fi
            return 0
            ;;
        --create | --rename)
            [[ $cmd == folders ]] && _mail_complete_folder_name
            return 0
            ;;
        --query | -S | --sort | --timeout | --exec | --interval | \
            --keepalive | -r)
            return 0
            ;;
        --mda)
            # A shell command: offer the command names.
            local c
            while IFS= read -r c; do
                COMPREPLY+=("$before$c")
            done < <(compgen -c -- "$cur" | sort -u)
            return 0
            ;;
        -A | --attach | --batch)
            compopt -o filenames 2>/dev/null
            local f
            while IFS= read -r f; do
                COMPREPLY+=("$before$f")
            done < <(compgen -f -- "$cur")
            return 0
            ;;
        --headers)
            _mail_add_words 'all'
            [[ -n $before ]] && COMPREPLY=("${COMPREPLY[@]/#/$before}")
            return 0
            ;;
        --save)
            compopt -o filenames 2>/dev/null
            local f
            while IFS= read -r f; do
                COMPREPLY+=("$before$f")
            done < <(compgen -d -- "$cur")
            return 0
            ;;
    esac

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
        flag)
            if [[ $cur == +* ]]; then
                _mail_add_words "$_mail_flag_words"
            elif [[ $cur == -* ]]; then
                _mail_add_words "$_mail_flag_words $_mail_common_opts $(_mail_command_opts "$cmd")"
            elif [[ $cur == */* || $cur == [.~]* || $cur == imap:* ]]; then
                _mail_complete_folder
            elif [[ -n $cur ]]; then
                _mail_complete_imap
            fi
            ;;
        watch)
            # FOLDER: imap:NAME on the server (from the folder list cache).
            if [[ $cur == -* ]]; then
                _mail_add_words "$_mail_common_opts $(_mail_command_opts "$cmd")"
            else
                _mail_complete_imap
            fi
            ;;
        send | fetch)
            # send: the other words are addresses; fetch takes none.
            if [[ $cur == -* ]]; then
                _mail_add_words "$_mail_common_opts $(_mail_command_opts "$cmd")"
            fi
            ;;
        alias)
            # NAME: an alias (to show or change); then addresses.
            if [[ $cur == -* ]]; then
                _mail_add_words "$_mail_common_opts $(_mail_command_opts "$cmd")"
            elif ((cword == cmd_at + 1)); then
                _mail_add_matching < <(_mail_alias_names)
            fi
            ;;
        ls | mv | tui)
            if [[ $cur == -* ]]; then
                _mail_add_words "$_mail_common_opts $(_mail_command_opts "$cmd")"
            elif [[ $cur == =* || $cur == */* || $cur == [.~]* ||
                $cur == imap:* || $cur == [\'\"]imap:* ]]; then
                _mail_complete_folder
            else
                _mail_complete_imap
                if [[ $cmd == ls ]]; then
                    _mail_add_words 'from: to: cc: subject:'
                    compopt -o nospace 2>/dev/null
                fi
            fi
            ;;
        *)
            if [[ $cur == -* ]]; then
                _mail_add_words "$_mail_common_opts $(_mail_command_opts "$cmd")"
            elif [[ ($cmd == read || $cmd == rm) && -n $cur &&
                $cur != */* && $cur != [.~]* ]]; then
                # read, rm: a folder first (imap:NAME MSG...)
                _mail_complete_imap
            elif [[ $cmd != check && ($cur == */* || $cur == [.~]*) ]]; then
                # read, rm: message file paths.
                compopt -o filenames 2>/dev/null
                local f
                while IFS= read -r f; do
                    COMPREPLY+=("$f")
                done < <(compgen -f -- "$cur")
            fi
            ;;
    esac
    return 0
}

complete -F _mail mail
