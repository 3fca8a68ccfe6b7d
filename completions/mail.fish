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
            case -a --account -C --config --color --imap --pop3 --smtp --user \
                -f --folder -n --since -F --format --headers --part --save \
                -s --subject -c --cc -b --bcc -A --attach -r --from --name \
                -o --header --batch --mda
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
            case -a --account -C --config --color --imap --pop3 --smtp --user \
                -f --folder -n --since -F --format --headers --part --save \
                -s --subject -c --cc -b --bcc -A --attach -r --from --name \
                -o --header --batch --mda
                set skip 1
            case '-*'
            case '*'
                set n (math $n + 1)
        end
    end
    # n counts "help" itself.
    test $n -le 1
end

# __mail_opt_values SHORT LONG: the values of -SHORT / --LONG on the
# line so far, one a line, in order ("-S VALUE", "-SVALUE", "--LONG
# VALUE", "--LONG=VALUE").
function __mail_opt_values -a short long
    set -l tokens (commandline -opc)
    set -l i 2
    while test $i -le (count $tokens)
        set -l w $tokens[$i]
        switch $w
            case -$short --$long
                set i (math $i + 1)
                test $i -le (count $tokens); and printf '%s\n' $tokens[$i]
            case "--$long=*"
                string replace -- "--$long=" '' $w
            case "-$short*"
                string sub -s 3 -- $w
        end
        set i (math $i + 1)
    end
end

# The config file: -C FILE / --config FILE on the command line (the last
# one), else $XDG_CONFIG_HOME/mail/config (if absolute), else
# ~/.config/mail/config.
function __mail_config_file
    set -l files (__mail_opt_values C config)
    set -l file
    set -q files[1]; and set file $files[-1]
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

# The store of the account in use (-a, else default = true, else the
# first account): "~" expanded, "mbox:" kept.
function __mail_store
    set -l file (__mail_config_file)
    test -r "$file"; and not test -d "$file"; or return 0
    set -l tokens (commandline -opc)
    set -l acct
    set -l i 2
    while test $i -le (count $tokens)
        switch $tokens[$i]
            case -a --account
                set -l j (math $i + 1)
                test $j -le (count $tokens); and set acct $tokens[$j]
            case '--account=*'
                set acct (string replace -- '--account=' '' $tokens[$i])
        end
        set i (math $i + 1)
    end
    awk -v want="$acct" -v home="$HOME" '
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
        }' $file 2>/dev/null
end

# The folders of the store, as =NAME.
function __mail_folders
    set -l store (__mail_store)
    test -n "$store"; or return 0
    if string match -q -- 'mbox:*' $store
        set store (string sub -s 6 -- $store)
        test -d "$store"; or return 0
        for f in (find $store -type f ! -name '.*' ! -name '*.lock' 2>/dev/null)
            echo =(string replace -- "$store/" '' $f)
        end
    else
        echo =INBOX
        for d in $store/.*/
            test -d $d/cur; or continue
            set -l n (basename $d)
            echo =(string replace -a . / (string sub -s 2 -- $n))
        end
    end
end

# imap:NAME: "imap:" until the word starts with it, then the folders of
# the account's IMAP server as of its last listing (`mail folders --remote
# --cached` reads the folder list cache and never connects), with the -a
# and -C of the line.
function __mail_imap_folders
    set -l cur (commandline -ct)
    set -l word (string unescape -- "$cur" 2>/dev/null)
    or set word $cur
    if not string match -q -- 'imap:*' "$word"
        echo imap:
        return 0
    end
    set -l a
    for v in (__mail_opt_values a account)
        set a $a -a $v
    end
    test (count (__mail_opt_values C config)) -gt 0
    and set a $a -C (__mail_config_file)
    set -l names (command mail $a folders --remote --cached </dev/null 2>/dev/null)
    # none cached yet (mail folders --remote makes the cache): imap:
    test (count $names) -gt 0; or set names ''
    for n in $names
        echo imap:$n
    end
end

complete -c mail -e
complete -c mail -f

# Commands.
complete -c mail -n __mail_no_command -a check \
    -d 'Check the servers of an account: TLS, capabilities, login'
complete -c mail -n __mail_no_command -a auth \
    -d 'Authorize an account with OAuth 2.0, once'
complete -c mail -n __mail_no_command -a ls \
    -d 'List the messages of a folder'
complete -c mail -n __mail_no_command -a read -d 'Show messages'
complete -c mail -n __mail_no_command -a folders \
    -d 'List the folders of the store with counts'
complete -c mail -n __mail_no_command -a flag \
    -d 'Set or clear flags of messages'
complete -c mail -n __mail_no_command -a mv \
    -d 'Move messages to another folder'
complete -c mail -n __mail_no_command -a rm \
    -d 'Move messages to the trash, or delete them'
complete -c mail -n __mail_no_command -a send \
    -d 'Send a message (body on standard input), or the queue'
complete -c mail -n __mail_no_command -a sendmail \
    -d 'The sendmail(8) interface, for cron and scripts'
complete -c mail -n __mail_no_command -a reply \
    -d 'Reply to a message, quoted'
complete -c mail -n __mail_no_command -a forward \
    -d 'Forward a message inline or as an attachment'
complete -c mail -n __mail_no_command -a compose \
    -d 'Write a new message, or resume a postponed draft'
complete -c mail -n '__fish_seen_subcommand_from compose' -s s -l subject -r \
    -d 'The subject'
complete -c mail -n '__fish_seen_subcommand_from compose' -s c -l cc -r \
    -d 'Add a Cc recipient'
complete -c mail -n '__fish_seen_subcommand_from compose' -s b -l bcc -r \
    -d 'Add a Bcc recipient'
complete -c mail -n '__fish_seen_subcommand_from compose' -s A -l attach -r -F \
    -d 'Attach a file'
complete -c mail -n '__fish_seen_subcommand_from compose' -l resume \
    -d 'Resume a postponed draft'
complete -c mail -n '__fish_seen_subcommand_from compose' -l dry-run \
    -d 'Print the message instead of sending it'
complete -c mail -n '__fish_seen_subcommand_from reply' -l all -s g \
    -d 'Reply to everyone'
complete -c mail -n '__fish_seen_subcommand_from reply' -l group \
    -d 'Reply to everyone'
complete -c mail -n '__fish_seen_subcommand_from reply' -l list \
    -d 'Reply to the mailing list only'
complete -c mail -n '__fish_seen_subcommand_from forward' -l attach \
    -d 'Forward as a message/rfc822 attachment'
complete -c mail -n '__fish_seen_subcommand_from reply forward' -l dry-run \
    -d 'Print the message instead of sending it'
complete -c mail -n '__fish_seen_subcommand_from reply forward' -s f -l folder -r \
    -d 'The folder of the message'
complete -c mail -n __mail_no_command -a alias \
    -d 'List, show, set or remove aliases; query the address book'
complete -c mail -n __mail_no_command -a fetch \
    -d 'Download new mail from the POP3 or IMAP server into the store'
complete -c mail -n __mail_no_command -a watch \
    -d 'Report new mail in IMAP folders as it arrives, or run a command'
complete -c mail -n __mail_no_command -a tui \
    -d 'The reader: browse and read a folder in the terminal'
complete -c mail -n __mail_no_command -a help -d 'Show help for a command'
complete -c mail -n __mail_help_wants_command \
    -a 'check auth ls read folders flag mv rm send alias fetch watch tui help'

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

# auth
complete -c mail -n '__mail_command_is auth' -l device \
    -d 'The device flow: a code to enter on another machine'
complete -c mail -n '__mail_command_is auth' -l timeout -x \
    -d 'Seconds to wait for the browser'

# tui
complete -c mail -n '__mail_command_is tui' -a '(__mail_folders)' \
    -d 'Folder of the store'
complete -c mail -n '__mail_command_is tui' -a '(__mail_imap_folders)' \
    -d 'Folder on the server'
complete -c mail -n '__mail_command_is tui' -s f -l folder -x \
    -a '(__mail_folders; __mail_imap_folders)' -d 'The folder to read'

# ls
complete -c mail -n '__mail_command_is ls' -a '(__mail_folders)' \
    -d 'Folder of the store'
complete -c mail -n '__mail_command_is ls' -a '(__mail_imap_folders)' \
    -d 'Folder on the server'
complete -c mail -n '__mail_command_is ls' -a 'from: to: cc: subject:' \
    -d 'Query'
complete -c mail -n '__mail_command_is ls' -s n -x -d 'Only the last N messages'
complete -c mail -n '__mail_command_is ls' -s u -l unread \
    -d 'Only unread messages'
complete -c mail -n '__mail_command_is ls' -l since -x \
    -d 'Only since YYYY-MM-DD or 7d, 12h, 2w'
complete -c mail -n '__mail_command_is ls' -s t -l thread \
    -d 'Group messages into threads'
complete -c mail -n '__mail_command_is ls' -s S -l sort -x \
    -a 'date from subject size' -d 'Order by a key'
complete -c mail -n '__mail_command_is ls' -s r -l reverse \
    -d 'Reverse the order'
complete -c mail -n '__mail_command_is ls' -s F -l format -x \
    -d 'Print with a format (%n %f %d %D %F %t %s %S %i)'
complete -c mail -n '__mail_command_is ls' -l json \
    -d 'Print one JSON document'

# read
complete -c mail -n '__mail_command_is read' -l raw \
    -d 'Print the message as it is'
complete -c mail -n '__mail_command_is read' -l peek \
    -d 'Do not mark the message as seen'
complete -c mail -n '__mail_command_is read' -l headers -x -a all \
    -d 'Show every header'
complete -c mail -n '__mail_command_is read' -l part -x \
    -d 'Show one part (1, 1.2)'
complete -c mail -n '__mail_command_is read' -l save -x -a '(__fish_complete_directories)' \
    -d 'Save the attachments into a directory'
complete -c mail -n '__mail_command_is read' -l json \
    -d 'Print one JSON document'

# alias
complete -c mail -n '__mail_command_is alias' -s d -l delete -x \
    -a '(command mail alias 2>/dev/null | cut -f1)' -d 'Remove the alias'
complete -c mail -n '__mail_command_is alias' -l query -x \
    -d 'Query the address book (aliases, sent, address-command)'
complete -c mail -n '__mail_command_is alias' -l json \
    -d 'Print one JSON document'
complete -c mail -n '__mail_command_is alias; and test (count (commandline -opc)) -eq 2' \
    -a '(command mail alias 2>/dev/null | cut -f1)' -d 'Alias'

# folders
complete -c mail -n '__mail_command_is folders' -l json \
    -d 'Print one JSON document'
complete -c mail -n '__mail_command_is folders' -l remote \
    -d 'The folders on the IMAP server'
complete -c mail -n '__mail_command_is folders' -l cached \
    -d 'With --remote: the names from the last listing, without connecting'
complete -c mail -n '__mail_command_is folders' -l create -x \
    -a '(__mail_imap_folders; __mail_folders)' \
    -d 'Create a folder (imap:NAME or =NAME)'
complete -c mail -n '__mail_command_is folders' -l rename -x \
    -a '(__mail_imap_folders; __mail_folders)' -d 'Rename a folder: OLD NEW'
complete -c mail -n '__mail_command_is folders' -l delete -x \
    -a '(__mail_imap_folders; __mail_folders)' \
    -d 'Delete a folder (imap:NAME or =NAME)'

# flag
complete -c mail -n '__mail_command_is flag' \
    -a '+seen -seen +flagged -flagged +answered -answered +draft -draft' \
    -d 'Flag'

# mv
complete -c mail -n '__mail_command_is mv' -a '(__mail_folders)' \
    -d 'Destination folder'
complete -c mail -n '__mail_command_is mv' -a '(__mail_imap_folders)' \
    -d 'Destination folder on the server'

# read, flag, rm: an imap:NAME folder before the messages
for c in read flag rm
    complete -c mail -n "__mail_command_is $c" -a '(__mail_imap_folders)' \
        -d 'Folder on the server'
end
complete -c mail -n '__mail_command_is mv' -l create \
    -d 'Create the destination folder if it does not exist'

# rm
complete -c mail -n '__mail_command_is rm' -l expunge \
    -d 'Delete for good instead of moving to the trash'

# send
complete -c mail -n '__mail_command_is send' -s s -l subject -x \
    -d 'The subject'
complete -c mail -n '__mail_command_is send' -s c -l cc -x \
    -d 'Add Cc recipients'
complete -c mail -n '__mail_command_is send' -s b -l bcc -x \
    -d 'Add Bcc recipients'
complete -c mail -n '__mail_command_is send' -s A -l attach -r -F \
    -d 'Attach a file'
complete -c mail -n '__mail_command_is send' -s f -l from -x \
    -d 'The sender (From and envelope)'
complete -c mail -n '__mail_command_is send' -s r -x \
    -d 'The sender, as -f'
complete -c mail -n '__mail_command_is send' -s F -l name -x \
    -d "The sender's name"
complete -c mail -n '__mail_command_is send' -s t -l extract \
    -d 'Standard input is a whole message'
complete -c mail -n '__mail_command_is send' -s i \
    -d 'Accepted for sendmail compatibility'
complete -c mail -n '__mail_command_is send' -s o -x \
    -d 'A sendmail option (ignored)'
complete -c mail -n '__mail_command_is send' -l header -x \
    -d "Add a header field ('NAME: VALUE')"
complete -c mail -n '__mail_command_is send' -l dry-run \
    -d 'Print the message instead of sending it'
complete -c mail -n '__mail_command_is send' -l queue \
    -d 'Queue the message if the server cannot take it now'
complete -c mail -n '__mail_command_is send' -l no-queue \
    -d 'Never queue, even with queue = true'
complete -c mail -n '__mail_command_is send' -l flush \
    -d 'Send the queued messages, nothing else'
complete -c mail -n '__mail_command_is send' -l no-flush \
    -d 'Do not send the queue before this message'
complete -c mail -n '__mail_command_is send' -l no-save \
    -d 'No copy in the sent folder this time'
complete -c mail -n '__mail_command_is send' -l batch -r -F \
    -d 'Send every message of an mbox over one connection'

# watch
complete -c mail -n '__mail_command_is watch' -l exec -x -a '(__fish_complete_command)' \
    -d 'Run this command for each arrival of new mail (details in MAIL_* variables)'
complete -c mail -n '__mail_command_is watch' -l exec-timeout -x \
    -d 'Seconds before a hung --exec command is killed (0: never)'
complete -c mail -n '__mail_command_is watch' -l json \
    -d 'One JSON object a line for each new message'
complete -c mail -n '__mail_command_is watch' -l interval -x \
    -d 'Seconds between STATUS polls of folders without IDLE'
complete -c mail -n '__mail_command_is watch' -l keepalive -x \
    -d 'Seconds between IDLE renewals and NOOP keepalives'
complete -c mail -n '__mail_command_is watch' -l no-notify \
    -d 'No IMAP NOTIFY: IDLE on a connection per folder'
complete -c mail -n '__mail_command_is watch' -a '(__mail_imap_folders)' \
    -d 'Folder on the server'

# fetch
complete -c mail -n '__mail_command_is fetch' -l all \
    -d 'Fetch every account with a POP3 or IMAP server'
complete -c mail -n '__mail_command_is fetch' -l keep \
    -d 'Leave the messages on the server'
complete -c mail -n '__mail_command_is fetch' -l delete \
    -d 'Delete the fetched messages on the server'
complete -c mail -n '__mail_command_is fetch' -l folder -x \
    -d 'IMAP: fetch this folder (* and % patterns; repeatable)'
complete -c mail -n '__mail_command_is fetch' -l catch-up \
    -d 'Record everything on the server as fetched, without downloading'
complete -c mail -n '__mail_command_is fetch' -l mda -x \
    -a '(__fish_complete_command)' \
    -d 'Pipe each message to this command instead of the store'
complete -c mail -n '__mail_command_is fetch' -l wait \
    -d 'Wait for another mail fetch of the account instead of exiting 75'
complete -c mail -n '__mail_command_is fetch' -l idle \
    -d 'After fetching, wait for new mail and fetch it as it comes'
complete -c mail -n '__mail_command_is fetch' -l keepalive -x \
    -d 'With --idle: seconds between IDLE renewals'
complete -c mail -n '__mail_command_is fetch' -l no-notify \
    -d 'With --idle: no IMAP NOTIFY, IDLE on a connection per folder'

# -f/--folder for the commands that work on messages.
for c in ls read flag mv rm
    complete -c mail -n "__mail_command_is $c" -s f -l folder -x \
        -a '(__mail_folders; __mail_imap_folders; __fish_complete_path (commandline -ct))' \
        -d 'The folder'
end
