#!/usr/bin/env bats
# The command line itself: version, help, usage errors, and that every
# command has its man page and completions.

load helpers

setup() {
    isolate_home
}

@test "--version prints the version" {
    run "$MAIL" --version
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^mail\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "--help lists the commands and exits 0" {
    run "$MAIL" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"usage: mail"* ]]
    [[ "$output" == *"check"* ]]
}

@test "help COMMAND shows its usage" {
    run "$MAIL" help check
    [ "$status" -eq 0 ]
    [[ "$output" == *"usage: mail check"* ]]
}

@test "help for an unknown command exits 64" {
    run "$MAIL" help nosuch
    [ "$status" -eq 64 ]
    [[ "$output" == *"unknown command 'nosuch'"* ]]
}

@test "an unknown command exits 64 with a one-line hint" {
    run "$MAIL" frobnicate
    [ "$status" -eq 64 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "mail: unknown command 'frobnicate' (see 'mail --help')" ]]
}

@test "an unknown global option exits 64" {
    run "$MAIL" --frob check
    [ "$status" -eq 64 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"--frob"* ]]
}

@test "an unknown command option exits 64 naming it" {
    run "$MAIL" check --frob
    [ "$status" -eq 64 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"--frob"* ]]
}

@test "no command, not on a terminal: usage on stderr, 64" {
    run "$MAIL"
    [ "$status" -eq 64 ]
    [[ "$output" == *"usage: mail"* ]]
}

@test "control characters in a bad command name are not echoed raw" {
    run "$MAIL" $'bad\033[31mred'
    [ "$status" -eq 64 ]
    [[ "$output" != *$'\033'* ]]
    [[ "$output" == *'^['* ]]
}

# The list of commands from --help.
commands() {
    "$MAIL" --help | awk '/^commands:/{on=1; next} on && /^  [a-z]/{print $1}'
}

@test "every command answers -h with its usage" {
    for c in $(commands); do
        run "$MAIL" "$c" -h
        [ "$status" -eq 0 ] || { echo "$c -h: $status"; false; }
        [[ "$output" == "usage: mail $c"* ]] || { echo "$c: $output"; false; }
    done
}

@test "every command has a man page whose SYNOPSIS names it" {
    for c in $(commands); do
        [ "$c" = help ] && continue
        f="$MAIL_SOURCE_ROOT/man/mail-$c.1"
        [ -f "$f" ] || { echo "missing $f"; false; }
        # The SYNOPSIS starts with the command's name.
        sed -n '/^\.SH SYNOPSIS/,/^\.SH/p' "$f" | grep -q "^\.B mail $c\$" ||
            { echo "$f: SYNOPSIS does not start with mail $c"; false; }
        # Every long option of the command is documented.
        for o in $("$MAIL" "$c" -h | sed -n '/^options:/,/^$/p' |
                   grep -o -- '--[a-z][a-z-]*' | sort -u); do
            roff=$(printf '%s' "$o" | sed 's/-/\\-/g')
            grep -qF -- "$roff" "$f" || { echo "$f lacks $o"; false; }
        done
    done
    [ -f "$MAIL_SOURCE_ROOT/man/mail.1" ]
    [ -f "$MAIL_SOURCE_ROOT/man/mail.conf.5" ]
}

@test "every command is in the bash, zsh and fish completions" {
    for c in $(commands); do
        for f in "$MAIL_SOURCE_ROOT"/completions/mail.bash \
                 "$MAIL_SOURCE_ROOT"/completions/_mail \
                 "$MAIL_SOURCE_ROOT"/completions/mail.fish; do
            grep -qw "$c" "$f" || { echo "$c not in $f"; false; }
        done
    done
}

@test "bash completion completes commands and account names" {
    command -v bash >/dev/null
    mkdir -p "$XDG_CONFIG_HOME/mail"
    cat > "$XDG_CONFIG_HOME/mail/config" <<'CFG'
[account "work"]
    address = w@example.test
[account "home"]
    address = h@example.test
CFG
    run bash -c "source '$MAIL_SOURCE_ROOT/completions/mail.bash'
        COMP_WORDS=(mail ch); COMP_CWORD=1; _mail; printf '%s\n' \"\${COMPREPLY[@]}\""
    [ "$status" -eq 0 ]
    [[ "$output" == *check* ]]
    run bash -c "source '$MAIL_SOURCE_ROOT/completions/mail.bash'
        COMP_WORDS=(mail -a ''); COMP_CWORD=2; _mail; printf '%s\n' \"\${COMPREPLY[@]}\""
    [ "$status" -eq 0 ]
    [[ "$output" == *work* ]]
    [[ "$output" == *home* ]]
}

@test "mv to a store folder that does not exist: 66 unless --create" {
    S="$BATS_TEST_TMPDIR/Mail"
    mkdir -p "$S/cur" "$S/new" "$S/tmp" "$XDG_CONFIG_HOME/mail"
    printf '[account "t"]\n    address = t@example.test\n    store = %s\n' "$S" \
        > "$XDG_CONFIG_HOME/mail/config"
    printf 'From: a@example.test\nSubject: one\n\nbody\n' > "$S/cur/1:2,"
    "$MAIL" ls > /dev/null
    run "$MAIL" mv 1 =Typo
    [ "$status" -eq 66 ]
    [[ "$output" == "mail: no folder =Typo: use --create to make it" ]]
    [ ! -e "$S/.Typo" ]
    [ -e "$S/cur/1:2," ]
    run "$MAIL" mv --create 1 =Typo
    [ "$status" -eq 0 ]
    [ "$(ls "$S/.Typo/cur")" ]
    [ ! -e "$S/cur/1:2," ]
    # An existing folder needs no --create; a missing path is refused too.
    "$MAIL" ls =Typo > /dev/null
    run "$MAIL" mv -f =Typo 1 "$BATS_TEST_TMPDIR/nosuch"
    [ "$status" -eq 66 ]
    run "$MAIL" mv -f =Typo 1 "$S"
    [ "$status" -eq 0 ]
    [ "$(ls "$S/cur")" ]
}

# complete_line with|without LINE WORD...: run the bash completion of
# completions/mail.bash on LINE (split into the WORDs as bash splits it,
# the last one being completed), with or without the bash-completion
# package, and print each resulting line as readline would make it: the
# text after the last COMP_WORDBREAKS character replaced by the reply.
complete_line() {
    local with=$1 line=$2
    shift 2
    cat > "$BATS_TEST_TMPDIR/complete.sh" <<'SH'
with=$1 src=$2 line=$3
shift 3
if [ "$with" = with ]; then
    . /usr/share/bash-completion/bash_completion || exit 3
    declare -F _init_completion >/dev/null || exit 3
fi
. "$src"
COMP_WORDBREAKS=" 	
\"'@><=;|&(:"
COMP_LINE=$line
COMP_POINT=${#line}
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
_mail
# Readline replaces the text after the last word-break character.
keep=$line
while [ -n "$keep" ] && [[ $COMP_WORDBREAKS != *"${keep: -1}"* ]]; do
    keep=${keep%?}
done
for r in "${COMPREPLY[@]}"; do printf '%s\n' "$keep$r"; done
SH
    bash "$BATS_TEST_TMPDIR/complete.sh" "$with" \
        "$MAIL_SOURCE_ROOT/completions/mail.bash" "$line" "$@"
}

@test "bash completion of =FOLDER gives =FOLDER, not ==FOLDER, with and without bash-completion" {
    S="$BATS_TEST_TMPDIR/Mail"
    mkdir -p "$S/cur" "$S/.Archive/cur" "$S/.Arts/cur" "$XDG_CONFIG_HOME/mail"
    printf '[account "t"]\n    address = t@example.test\n    store = %s\n' "$S" \
        > "$XDG_CONFIG_HOME/mail/config"
    modes=without
    [ -r /usr/share/bash-completion/bash_completion ] && modes="without with"
    for m in $modes; do
        run complete_line $m "mail mv 3 =Arc" mail mv 3 = Arc
        [ "$status" -eq 0 ]
        [ "$output" = "mail mv 3 =Archive" ] || { echo "$m: $output"; false; }
        run complete_line $m "mail mv 3 =" mail mv 3 =
        [[ "$output" == *"mail mv 3 =Archive"* ]] || { echo "$m: $output"; false; }
        [[ "$output" != *"=="* ]] || { echo "$m: $output"; false; }
        run complete_line $m "mail ls -f =Ar" mail ls -f = Ar
        [[ "$output" == *"mail ls -f =Archive"* && "$output" == *"mail ls -f =Arts"* ]] ||
            { echo "$m: $output"; false; }
        [[ "$output" != *"=="* ]] || { echo "$m: $output"; false; }
        run complete_line $m "mail ls --folder=Arc" mail ls --folder = Arc
        [ -z "$output" ] || [[ "$output" != *"=="* ]] || { echo "$m: $output"; false; }
    done
    [[ $modes == *with* ]] || skip "bash-completion is not installed: tested without it only"
}

# The options command $1 accepts, from its source: the getopt_long table
# and short-option string of cmd/$1.c (sendmail: its bash completion list).
accepted_options() {
    local c=$1 src="$MAIL_SOURCE_ROOT/cmd/$1.c" short
    if [ "$c" = sendmail ]; then
        bash -c ". '$MAIL_SOURCE_ROOT/completions/mail.bash'; _mail_command_opts sendmail"
        return
    fi
    [ "$c" = help ] && return
    grep -oE '\{ "[a-z-]+", (no|required|optional)_argument' "$src" |
        sed 's/{ "/--/; s/",.*//'
    short=$(tr '\n' ' ' < "$src" |
        grep -oE 'CMD_COMMON_SHORT[[:space:]]*"[^"]*"' |
        sed 's/.*"\(.*\)"/\1/' | tr -d ':' | head -1)
    for ((i = 0; i < ${#short}; i++)); do printf -- '-%s\n' "${short:i:1}"; done
}

@test "help CMD and CMD --help show every option the command accepts, with examples" {
    for c in $(commands); do
        run "$MAIL" help "$c"
        [ "$status" -eq 0 ] || { echo "help $c: $status"; false; }
        help=$output
        [[ "$help" == "usage: mail $c"* ]]
        [[ "$help" == *$'\noptions:\n'* ]] || { echo "$c: no options"; false; }
        [[ "$help" == *$'\nexamples:\n  $ '* ]] || { echo "$c: no example"; false; }
        run "$MAIL" "$c" --help
        [ "$status" -eq 0 ]
        [ "$output" = "$help" ] || { echo "$c --help differs"; false; }
        opts=$(accepted_options "$c")
        [ "$c" = help ] || [ -n "$opts" ] || { echo "$c: no options found in the source"; false; }
        for o in $opts; do
            # As a word: "-f," "-f " "--folder " "--folder\n"...
            printf '%s\n' "$help" | grep -qE -- "(^|[ ,])$o([ ,=]|\$)" ||
                { echo "$c: $o is not in 'mail help $c'"; false; }
        done
    done
    # sendmail's own options, by name.
    run "$MAIL" help sendmail
    for o in -t -i -oi -f -F -odi -B -oem -q -C -bm; do
        printf '%s\n' "$output" | grep -qE -- "(^|[ ,])$o([ ,=]|\$)" || { echo "sendmail: $o"; false; }
    done
}

@test "every man page that a help text or message names exists" {
    for c in $(commands); do
        "$MAIL" help "$c"
    done > "$BATS_TEST_TMPDIR/help.txt"
    "$MAIL" --help >> "$BATS_TEST_TMPDIR/help.txt"
    cat "$MAIL_SOURCE_ROOT"/cmd/*.c >> "$BATS_TEST_TMPDIR/help.txt"
    for ref in $(grep -oE '\bmail(-[a-z]+)?(\.conf)?\([0-9]\)' "$BATS_TEST_TMPDIR/help.txt" | sort -u); do
        page=${ref%(*}
        sec=${ref#*(}
        sec=${sec%)}
        [ -f "$MAIL_SOURCE_ROOT/man/$page.$sec" ] || { echo "no man page for $ref"; false; }
    done
}

# The candidates each shell's completion offers for the command line "$@"
# (the last word is the one being completed; "" for a new word), one a
# line, descriptions cut off.
complete_bash() {
    bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; _mail
        printf "%s\n" "${COMPREPLY[@]}"' _ \
        "$MAIL_SOURCE_ROOT/completions/mail.bash" "$@"
}
complete_zsh() {
    timeout 30 "$MAIL_SOURCE_ROOT/tests/bats/zsh-complete" \
        "$MAIL_SOURCE_ROOT/completions" "$@"
}
complete_fish() {
    local line
    printf -v line '%q ' "$@"
    line=${line% }
    [ "${!#}" = "" ] && line="${line%\'\'} "
    fish --no-config -c "source '$MAIL_SOURCE_ROOT/completions/mail.fish'
        complete -C $(printf '%q' "$line")" | cut -f1
}
need_shells() {
    command -v zsh >/dev/null && command -v fish >/dev/null ||
        skip "zsh or fish is not installed (scripts/install-deps --test installs them)"
}

@test "bash, zsh and fish complete every long option of every command" {
    need_shells
    for c in $(commands); do
        opts=$(accepted_options "$c" | grep -- '^--' | sort -u)
        [ -n "$opts" ] || continue
        for sh in bash zsh fish; do
            got=$(complete_$sh mail "$c" --)
            for o in $opts; do
                grep -qx -- "$o=\?" <<< "$got" ||
                    { echo "$sh: mail $c $o is not completed"; false; }
            done
        done
    done
}

@test "zsh and fish complete commands, account names and =FOLDER" {
    need_shells
    mkdir -p "$XDG_CONFIG_HOME/mail" "$BATS_TEST_TMPDIR/store/.Lists/cur" \
        "$BATS_TEST_TMPDIR/store/.Lists/new" "$BATS_TEST_TMPDIR/store/.Lists/tmp"
    cat > "$XDG_CONFIG_HOME/mail/config" <<CFG
[account "work"]
    address = w@example.test
    store = $BATS_TEST_TMPDIR/store
[account "home"]
    address = h@example.test
CFG
    for sh in zsh fish; do
        got=$(complete_$sh mail '')
        for c in $(commands); do
            grep -qx -- "$c" <<< "$got" || { echo "$sh: command $c"; false; }
        done
        got=$(complete_$sh mail -a '')
        grep -qx work <<< "$got" || { echo "$sh: account work: $got"; false; }
        grep -qx home <<< "$got" || { echo "$sh: account home: $got"; false; }
    done
    # zsh expands =word to a command's path: its users type \=NAME, and
    # the candidate is the name after the prefix.
    got=$(complete_zsh mail ls '\=L')
    grep -qx 'Lists' <<< "$got" || { echo "zsh: =Lists: $got"; false; }
    got=$(complete_fish mail ls '=L')
    grep -qx '=Lists' <<< "$got" || { echo "fish: =Lists: $got"; false; }
}

@test "completion: folders --create, --rename and --delete take a folder (imap:, =NAME); fetch --delete, mv --create and ls -r are flags" {
    mkdir -p "$XDG_CONFIG_HOME/mail" "$BATS_TEST_TMPDIR/store/.Lists/cur" \
        "$BATS_TEST_TMPDIR/store/.Lists/new" "$BATS_TEST_TMPDIR/store/.Lists/tmp"
    cat > "$XDG_CONFIG_HOME/mail/config" <<CFG
[account "work"]
    address = w@example.test
    store = $BATS_TEST_TMPDIR/store
CFG
    for o in --create --rename --delete; do
        got=$(complete_bash mail folders "$o" '')
        grep -qx 'imap:' <<< "$got" || { echo "bash: folders $o: $got"; false; }
        grep -qx '=Lists' <<< "$got" || { echo "bash: folders $o: $got"; false; }
        ! grep -q -- '^--' <<< "$got" || { echo "bash: folders $o offers options: $got"; false; }
        got=$(complete_bash mail folders "$o" 'im')
        grep -qx 'imap:' <<< "$got" || { echo "bash: folders $o im: $got"; false; }
    done
    # the word after the value is not the option's
    got=$(complete_bash mail folders --delete =Lists --)
    grep -qx -- '--json' <<< "$got" || { echo "bash: after the value: $got"; false; }
    # flags elsewhere: what follows them is completed as usual
    got=$(complete_bash mail fetch --delete --)
    grep -qx -- '--keep' <<< "$got" || { echo "bash: fetch --delete --: $got"; false; }
    got=$(complete_bash mail ls -r --)
    grep -qx -- '--json' <<< "$got" || { echo "bash: ls -r --: $got"; false; }
    got=$(complete_bash mail mv --create --)
    grep -qx -- '--folder' <<< "$got" || { echo "bash: mv --create --: $got"; false; }
    need_shells
    for o in --create --rename --delete; do
        got=$(complete_zsh mail folders "$o" '')
        grep -qx 'imap:' <<< "$got" || { echo "zsh: folders $o: $got"; false; }
        got=$(complete_zsh mail folders "$o" '\=L')
        grep -qx 'Lists' <<< "$got" || { echo "zsh: folders $o \\=L: $got"; false; }
        got=$(complete_fish mail folders "$o" '')
        grep -qx 'imap:' <<< "$got" || { echo "fish: folders $o: $got"; false; }
        grep -qx '=Lists' <<< "$got" || { echo "fish: folders $o: $got"; false; }
    done
}

# imap:NAME completion from the folder list cache (issue 10): the shells
# run `mail folders --remote --cached`, found on PATH as `mail`.
mail_on_path() {
    mkdir -p "$BATS_TEST_TMPDIR/bin"
    ln -sf "$MAIL" "$BATS_TEST_TMPDIR/bin/mail"
    export PATH="$BATS_TEST_TMPDIR/bin:$PATH"
}

teardown() {
    servers_stop
    [ -z "${HOLE_PID:-}" ] || kill "$HOLE_PID" 2>/dev/null || true
}

# Dovecot's logins so far.
dovecot_logins() {
    grep -c 'imap-login: .*Login: user=<' "$MAIL_TEST_DOVECOT_LOG" || true
}

@test "completion: imap:NAME from the folder list cache that folders --remote wrote, in bash, zsh and fish, without a login" {
    servers_start
    write_config "$XDG_CONFIG_HOME/mail/config" "timeout=5"
    mail_reset
    mail_on_path
    "$MAIL" folders --create 'imap:Entwürfe'
    "$MAIL" folders --create 'imap:My Folder'
    "$MAIL" folders --create 'imap:Lists/dev'
    "$MAIL" folders --remote > /dev/null
    run "$MAIL" folders --remote --cached
    [ "$status" -eq 0 ]
    for n in INBOX Entwürfe 'My Folder' Lists/dev Sent Trash; do
        grep -qxF -- "$n" <<< "$output" || { echo "cached: $n: $output"; false; }
    done
    before=$(dovecot_logins)
    [ "$before" -gt 0 ]
    modes=without
    [ -r /usr/share/bash-completion/bash_completion ] && modes="without with"
    for m in $modes; do
        got=$(complete_line $m "mail ls imap:" mail ls imap :)
        for n in INBOX Entwürfe 'My\ Folder' Lists/dev; do
            grep -qxF -- "mail ls imap:$n" <<< "$got" || { echo "bash $m: $n: $got"; false; }
        done
        got=$(complete_line $m "mail ls imap:En" mail ls imap : En)
        [ "$got" = "mail ls imap:Entwürfe" ] || { echo "bash $m: En: $got"; false; }
        got=$(complete_line $m "mail ls -f imap:Li" mail ls -f imap : Li)
        [ "$got" = "mail ls -f imap:Lists/dev" ] || { echo "bash $m: -f: $got"; false; }
        # every command that takes a FOLDER
        for c in "read" "mv 3" "flag -f" "rm -f" "watch" "tui" \
                 "folders --delete" "folders --rename"; do
            # shellcheck disable=SC2086
            got=$(complete_line $m "mail $c imap:I" mail $c imap : I)
            [ "$got" = "mail $c imap:INBOX" ] || { echo "bash $m: $c: $got"; false; }
        done
    done
    # a space typed with a backslash (readline does not break there, and
    # replaces what follows the ':'), then after a quote: the names as
    # they are
    got=$(complete_bash mail ls 'imap:My\ F')
    [ "$got" = 'My\ Folder' ] || { echo "bash My\\ F: $got"; false; }
    got=$(complete_bash mail ls "'imap:My")
    [ "$got" = "imap:My Folder" ] || { echo "bash quoted: $got"; false; }
    if command -v zsh >/dev/null && command -v fish >/dev/null; then
        got=$(complete_zsh mail ls 'imap:')
        for n in INBOX Entwürfe 'My\ Folder' Lists/dev; do
            grep -qxF -- "$n" <<< "$got" || { echo "zsh: $n: $got"; false; }
        done
        got=$(complete_zsh mail watch 'imap:En')
        [ "$got" = Entwürfe ] || { echo "zsh watch: $got"; false; }
        got=$(complete_zsh mail folders --delete 'imap:My')
        [ "$got" = 'My\ Folder' ] || { echo "zsh --delete: $got"; false; }
        got=$(complete_fish mail ls 'imap:')
        for n in INBOX Entwürfe 'My Folder' Lists/dev; do
            grep -qxF -- "imap:$n" <<< "$got" || { echo "fish: $n: $got"; false; }
        done
        got=$(complete_fish mail mv 3 'imap:En')
        [ "$got" = imap:Entwürfe ] || { echo "fish mv: $got"; false; }
    fi
    # no login (nor any connection) for all of that: Dovecot's log has
    # none, and it still works with Dovecot stopped
    [ "$(dovecot_logins)" -eq "$before" ] || { echo "logins: $before -> $(dovecot_logins)"; false; }
    servers_stop
    got=$(complete_line without "mail ls imap:En" mail ls imap : En)
    [ "$got" = "mail ls imap:Entwürfe" ] || { echo "stopped: $got"; false; }
}

@test "folders --remote --cached: the cache follows --create, --rename and --delete of imap:NAME, as a new LIST says" {
    servers_start
    write_config "$XDG_CONFIG_HOME/mail/config" "timeout=5"
    mail_reset
    "$MAIL" folders --create 'imap:Entwürfe'
    "$MAIL" folders --create 'imap:My Folder'
    "$MAIL" folders --create 'imap:Lists/dev'
    "$MAIL" folders --remote > /dev/null
    "$MAIL" folders --create 'imap:Neu'
    "$MAIL" folders --rename 'imap:My Folder' 'imap:Your Folder'
    "$MAIL" folders --rename 'imap:Lists' 'imap:Old'
    "$MAIL" folders --delete 'imap:Entwürfe'
    run "$MAIL" folders --remote --cached
    [ "$status" -eq 0 ]
    cached=$(sort <<< "$output")
    for n in Neu 'Your Folder' Old/dev INBOX; do
        grep -qxF -- "$n" <<< "$cached" || { echo "missing $n: $cached"; false; }
    done
    for n in Entwürfe 'My Folder' Lists/dev; do
        ! grep -qxF -- "$n" <<< "$cached" || { echo "stale $n: $cached"; false; }
    done
    # what the server lists now, selectable folders only
    listed=$("$MAIL" folders --remote --json | python3 -c '
import json, sys
for f in json.load(sys.stdin):
    if f["selectable"]:
        print(f["name"])' | sort)
    [ "$cached" = "$listed" ] || { echo "cached: $cached"; echo "listed: $listed"; false; }
    # --json: the objects of --remote without counts
    run "$MAIL" folders --remote --cached --json
    [ "$status" -eq 0 ]
    python3 -c '
import json, sys
l = json.loads(sys.argv[1])
s = {f["name"]: f for f in l}
assert s["Sent"]["special_use"] == "sent", s
assert s["Neu"]["path"] == "imap:Neu" and s["Neu"]["messages"] is None, s
' "$output"
    # --cached without --remote is a usage error
    run "$MAIL" folders --cached
    [ "$status" -eq 64 ]
    # the file names its account: another account's copy is no cache,
    # and so is a truncated one
    printf '[account "other"]\n    address = o@example.test\n    imap = imaps://localhost:1\n' \
        >> "$XDG_CONFIG_HOME/mail/config"
    mkdir -p "$XDG_CACHE_HOME/mail/imap/other"
    cp "$XDG_CACHE_HOME/mail/imap/test/folders.list" "$XDG_CACHE_HOME/mail/imap/other/"
    run "$MAIL" -a other folders --remote --cached
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    f="$XDG_CACHE_HOME/mail/imap/test/folders.list"
    truncate -s -1 "$f"
    run "$MAIL" folders --remote --cached
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "completion with no folder list cache: just imap:, at once, even when the server would hang; a damaged cache is none" {
    mail_on_path
    # a server that accepts and never answers
    python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1]); sys.stdout.flush()
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' > "$BATS_TEST_TMPDIR/hole.port" &
    HOLE_PID=$!
    for i in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/hole.port" ] && break; sleep 0.1; done
    port=$(cat "$BATS_TEST_TMPDIR/hole.port")
    mkdir -p "$XDG_CONFIG_HOME/mail"
    cat > "$XDG_CONFIG_HOME/mail/config" <<CFG
[account "hole"]
    address = h@example.test
    imap = imap://127.0.0.1:$port
    user = h
    timeout = 30
CFG
    run timeout 10 "$MAIL" folders --remote --cached
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    got=$(timeout 20 bash -c "$(declare -f complete_line); BATS_TEST_TMPDIR='$BATS_TEST_TMPDIR' MAIL_SOURCE_ROOT='$MAIL_SOURCE_ROOT' complete_line without 'mail ls imap:' mail ls imap :")
    [ "$got" = "mail ls imap:" ] || { echo "bash: $got"; false; }
    got=$(timeout 20 bash -c "$(declare -f complete_bash); MAIL_SOURCE_ROOT='$MAIL_SOURCE_ROOT' complete_bash mail watch ''")
    [ "$got" = "imap:" ] || { echo "bash watch: $got"; false; }
    if command -v zsh >/dev/null && command -v fish >/dev/null; then
        got=$(complete_zsh mail ls 'imap:')
        [ "$got" = "imap:" ] || { echo "zsh: $got"; false; }
        got=$(complete_zsh mail watch '')
        [ "$got" = "imap:" ] || { echo "zsh watch: $got"; false; }
        got=$(timeout 20 fish --no-config -c "source '$MAIL_SOURCE_ROOT/completions/mail.fish'
            complete -C 'mail ls imap:'" | cut -f1)
        [ "$got" = "imap:" ] || { echo "fish: $got"; false; }
    fi
    # a damaged cache file loads as none
    d="$XDG_CACHE_HOME/mail/imap/hole"
    mkdir -p "$d"
    head -c 200 /dev/urandom > "$d/folders.list"
    run timeout 10 "$MAIL" folders --remote --cached
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}
