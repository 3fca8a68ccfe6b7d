# fish completion for mail(1)

# The command given so far (check, help, ...), skipping options and their
# arguments; prints nothing and fails when there is none yet.
function __mail_command
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip 0
    for t in $tokens
        if test $skip = 1
            set skip 0
            continue
        end
        switch $t
            case -a --account -C --config --color --imap --pop3 --smtp --user
                set skip 1
            case '-*'
            case '*'
                echo $t
                return 0
        end
    end
    return 1
end

function __mail_no_command
    not __mail_command >/dev/null
end

function __mail_command_is
    set -l c (__mail_command)
    and test "$c" = "$argv[1]"
end

# `mail help COMMAND`: only the one argument.
function __mail_help_wants_command
    __mail_command_is help; or return 1
    set -l tokens (commandline -opc)
    set -l n 0
    set -l skip 0
    for t in $tokens[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $t
            case -a --account -C --config --color --imap --pop3 --smtp --user
                set skip 1
            case '-*'
            case '*'
                set n (math $n + 1)
        end
    end
    # n counts "help" itself.
    test $n -le 1
end

# The config file: -C FILE / --config FILE on the command line, else
# $XDG_CONFIG_HOME/mail/config (if absolute), else ~/.config/mail/config.
function __mail_config_file
    set -l tokens (commandline -opc)
    set -l file
    set -l i 2
    while test $i -le (count $tokens)
        set -l w $tokens[$i]
        switch $w
            case -C --config
                set -l j (math $i + 1)
                if test $j -le (count $tokens)
                    set file $tokens[$j]
                end
            case '--config=*'
                set file (string replace -- '--config=' '' $w)
            case '-C?*'
                set file (string sub -s 3 -- $w)
        end
        set i (math $i + 1)
    end
    if test -n "$file"
        string replace -r -- '^~(?=/|$)' "$HOME" $file
    else if string match -q -- '/*' "$XDG_CONFIG_HOME"
        echo $XDG_CONFIG_HOME/mail/config
    else
        echo $HOME/.config/mail/config
    end
end

# Account names: the NAME of each [account "NAME"] line.
function __mail_accounts
    set -l file (__mail_config_file)
    test -r "$file"; and not test -d "$file"; or return 0
    awk '
        /^[ \t]*\[[ \t]*[Aa][Cc][Cc][Oo][Uu][Nn][Tt][ \t]*"/ {
            s = $0
            sub(/^[ \t]*\[[ \t]*[Aa][Cc][Cc][Oo][Uu][Nn][Tt][ \t]*"/, "", s)
            name = ""
            ok = 0
            while (s != "") {
                c = substr(s, 1, 1)
                s = substr(s, 2)
                if (c == "\\\\") {
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
        }' $file 2>/dev/null
end

complete -c mail -e
complete -c mail -f

# Commands.
complete -c mail -n __mail_no_command -a check \
    -d 'Check the servers of an account: TLS, capabilities, login'
complete -c mail -n __mail_no_command -a help -d 'Show help for a command'
complete -c mail -n __mail_help_wants_command -a 'check help'

# Accepted before the command and by every command.
complete -c mail -s a -l account -x -a '(__mail_accounts)' \
    -d 'Use this account'
complete -c mail -s C -l config -r -F -d 'Read this config file'
complete -c mail -s v -l verbose -d 'Print the protocol dialogue on stderr'
complete -c mail -s q -l quiet -d 'Print nothing on success'
complete -c mail -l color -x -a 'auto always never' -d 'Use color'
complete -c mail -l imap -x -a 'imap:// imaps://' -d 'Use this IMAP server'
complete -c mail -l pop3 -x -a 'pop3:// pop3s://' -d 'Use this POP3 server'
complete -c mail -l smtp -x -a 'smtp:// smtps://' -d 'Use this SMTP server'
complete -c mail -l user -x -d 'Log in as this user'
complete -c mail -s h -l help -d 'Show the usage'
complete -c mail -n __mail_no_command -l version -d 'Print the version'

# check
complete -c mail -n '__mail_command_is check' -l json \
    -d 'Print one JSON document'
