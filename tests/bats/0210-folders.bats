#!/usr/bin/env bats
# mail folders: the folders of the account's store with their counts, and
# =NAME folders in the other commands.

load helpers

setup() {
    isolate_home
    unset COLUMNS NO_COLOR
    T="$BATS_TEST_TMPDIR"
    # A Maildir++ store: the sample as INBOX, plus Sent and Lists/dev.
    cp -R "$MAIL_SOURCE_ROOT/examples/Maildir" "$T/Mail"
    mkdir -p "$T/Mail/.Sent/cur" "$T/Mail/.Sent/new" "$T/Mail/.Sent/tmp"
    mkdir -p "$T/Mail/.Lists.dev/cur" "$T/Mail/.Lists.dev/new" \
        "$T/Mail/.Lists.dev/tmp"
    mv "$T"/Mail/cur/1791187331.* "$T/Mail/.Sent/cur/"
    mv "$T"/Mail/cur/1791359730.* "$T/Mail/.Lists.dev/cur/"
    mv "$T"/Mail/new/1795137120.* "$T/Mail/.Lists.dev/new/"
    write_store_config "$T/Mail"
}

write_store_config() {
    mkdir -p "$XDG_CONFIG_HOME/mail"
    {
        echo '[account "t"]'
        echo '    address = Alice Example <alice@example.net>'
        if [ -n "$1" ]; then echo "    store = $1"; fi
    } > "$XDG_CONFIG_HOME/mail/config"
}

@test "folders: each folder with messages and unread counts" {
    run "$MAIL" folders
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 4 ]
    [[ "${lines[0]}" == FOLDER*MESSAGES*UNREAD ]]
    [[ "${lines[1]}" =~ ^INBOX\ +7\ +2$ ]]
    # Maildir++ names: .Lists.dev is Lists/dev.
    printf '%s\n' "${lines[@]}" | grep -E '^Lists/dev +2 +2$'
    printf '%s\n' "${lines[@]}" | grep -E '^Sent +1 +0$'
}

@test "folders --json: counts as the files say" {
    run "$MAIL" folders --json
    [ "$status" -eq 0 ]
    printf '%s' "$output" > "$T/f.json"
    python3 - "$T/Mail" "$T/f.json" <<'PY'
import json, os, sys
store = sys.argv[1]
d = json.load(open(sys.argv[2]))
assert d[0]['name'] == 'INBOX', d
def counts(p):
    files = [(s, f) for s in ('cur', 'new') for f in os.listdir(os.path.join(p, s))]
    unread = sum(1 for s, f in files if s == 'new' or 'S' not in f.partition(':2,')[2])
    return len(files), unread
want = {'INBOX': store, 'Sent': store + '/.Sent', 'Lists/dev': store + '/.Lists.dev'}
assert {e['name'] for e in d} == set(want), d
for e in d:
    assert set(e) == {'name', 'path', 'messages', 'unread'}, e
    assert os.path.samefile(e['path'], want[e['name']]), e
    assert (e['messages'], e['unread']) == counts(want[e['name']]), e
PY
}

@test "folders: =NAME in ls, and counts follow flag changes" {
    run "$MAIL" ls =Lists/dev
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 2 ]
    run "$MAIL" ls =Sent --json
    [ "$status" -eq 0 ]
    [[ "$output" == *'"folder":"=Sent"'* ]]
    run "$MAIL" flag --folder =Lists/dev 1-2 +seen
    [ "$status" -eq 0 ]
    run "$MAIL" folders
    printf '%s\n' "${lines[@]}" | grep -E '^Lists/dev +2 +0$'
    run "$MAIL" ls =Nosuch
    [ "$status" -eq 66 ]
    [[ "$output" == *"no folder 'Nosuch'"* ]]
}

@test "folders: an mbox directory store" {
    mkdir -p "$T/mboxes/lists"
    cp "$MAIL_SOURCE_ROOT/examples/inbox.mbox" "$T/mboxes/INBOX"
    head -n 11 "$MAIL_SOURCE_ROOT/examples/inbox.mbox" > "$T/mboxes/lists/dev"
    write_store_config "mbox:$T/mboxes"
    run "$MAIL" folders
    [ "$status" -eq 0 ]
    [[ "${lines[1]}" =~ ^INBOX\ +3\ +2$ ]]
    printf '%s\n' "${lines[@]}" | grep -E '^lists/dev +1 +0$'
    run "$MAIL" ls
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 3 ]
    run "$MAIL" ls =lists/dev
    [ "$status" -eq 0 ]
    [[ "$output" == *"Nightly backup finished"* ]]
}

@test "folders: --remote without an imap server is 78; no store is 78" {
    run "$MAIL" folders --remote
    [ "$status" -eq 78 ]
    [[ "$output" == *"imap"* ]]
    write_store_config ""
    run "$MAIL" folders
    [ "$status" -eq 78 ]
    [[ "$output" == *"store"* ]]
    run "$MAIL" folders extra
    [ "$status" -eq 64 ]
}

@test "folders: names from the disk are shown terminal-safe" {
    mkdir -p "$T/Mail/.Evil"$'\x1b'"[2J"/{cur,new,tmp}
    run "$MAIL" folders
    [ "$status" -eq 0 ]
    [[ "$output" == *"Evil^[[2J"* ]]
    ! printf '%s' "$output" | grep -q $'\x1b' || false
}

# folder_err WANT-STATUS WANT-STDERR ARGS...: mail ARGS fails so.
folder_err() {
    local want=$1 text=$2
    shift 2
    run --separate-stderr "$MAIL" "$@"
    [ "$status" -eq "$want" ] && [ "$stderr" = "$text" ] ||
        { echo "mail $*: $status: $stderr (want $want: $text)"; false; }
}

@test "folders: a FOLDER name's errors are the same in ls, flag, mv and rm (one opener: mail_remote_open_any, as the reader's)" {
    bats_require_minimum_version 1.5.0
    local x
    for x in "ls" "flag -f" "mv -f" "rm -f"; do
        local -a tail=()
        case $x in
            flag*) tail=(1 +seen) ;;
            mv*) tail=(1 =Sent) ;;
            rm*) tail=(1) ;;
        esac
        # shellcheck disable=SC2086
        set -- $x
        folder_err 64 "mail: imap: needs a folder name, as in imap:INBOX" "$@" imap: "${tail[@]}"
        folder_err 64 "mail: '=' needs a folder name, as in =Sent" "$@" = "${tail[@]}"
        folder_err 66 "mail: no folder 'Nope' in the store (see 'mail folders')" "$@" =Nope "${tail[@]}"
        folder_err 66 "mail: $T/nothere: no such folder" "$@" "$T/nothere" "${tail[@]}"
        folder_err 78 "mail: account t has no imap server (imap = URL)" "$@" imap:INBOX "${tail[@]}"
        [ "$1" = ls ] || folder_err 64 "mail: empty folder name" "$@" "" "${tail[@]}"
    done
    # mv's destination
    folder_err 66 "mail: no folder =Nope: use --create to make it" mv -f "$T/Mail" 1 =Nope
    folder_err 64 "mail: imap: needs a folder name, as in imap:INBOX" mv -f "$T/Mail" 1 imap:
    # "imap:" and "=" alone are usage errors before the config is read
    folder_err 64 "mail: '=' needs a folder name, as in =Sent" -C "$T/none" ls =
    folder_err 64 "mail: imap: needs a folder name, as in imap:INBOX" -C "$T/none" ls imap:
    # no store
    write_store_config ""
    folder_err 78 "mail: account 't' has no store, needed for =Sent (add 'store = ~/Mail' to its section of the config, or give a folder path)" ls =Sent
    folder_err 78 "mail: account 't' has no store, needed for the default folder (add 'store = ~/Mail' to its section of the config, or give a folder path)" ls
    # a store that is not there: the default folder is named by its path
    write_store_config "$T/Missing"
    folder_err 66 "mail: $T/Missing: no such folder" ls
}
