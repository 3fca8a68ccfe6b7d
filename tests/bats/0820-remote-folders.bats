#!/usr/bin/env bats
# mail folders --remote (LIST with SPECIAL-USE, counts by LIST-STATUS or
# STATUS) and --create/--rename/--delete of imap:NAME folders against the
# harness's Dovecot; the same options on =NAME folders of the local store.

load helpers

use_servers

setup() {
    CONF="$BATS_TEST_TMPDIR/config"
    send_setup "$CONF"
    unset COLUMNS NO_COLOR
    MSG="$BATS_TEST_TMPDIR/msg"
    printf 'From: a@example.test\nTo: b@example.test\nSubject: s\n\nbody\n' > "$MSG"
}

# row NAME: the human listing's line for folder NAME
row() {
    printf '%s\n' "${lines[@]}" | grep -E "^$1 " || true
}

@test "folders --remote: each server folder with counts and its special use" {
    maildir_add "$MAIL_TEST_MAILDIR1" "$MSG" >/dev/null
    maildir_add "$MAIL_TEST_MAILDIR1" "$MSG" >/dev/null
    maildir_add "$MAIL_TEST_MAILDIR1" "$MSG" "" S >/dev/null
    maildir_add "$MAIL_TEST_MAILDIR1" "$MSG" Sent S >/dev/null
    run "$MAIL" -C "$CONF" folders --remote
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == FOLDER*MESSAGES*UNREAD*USE ]]
    [[ "$(row INBOX)" =~ ^INBOX\ +3\ +2$ ]]
    [[ "$(row Sent)" =~ ^Sent\ +1\ +0\ +sent$ ]]
    [[ "$(row Trash)" =~ ^Trash\ +0\ +0\ +trash$ ]]
    [[ "$(row Drafts)" =~ ^Drafts\ +0\ +0\ +drafts$ ]]
}

@test "folders --remote --json: the local listing's fields plus special_use" {
    maildir_add "$MAIL_TEST_MAILDIR1" "$MSG" >/dev/null
    maildir_add "$MAIL_TEST_MAILDIR1" "$MSG" "Entw&APw-rfe" >/dev/null
    run "$MAIL" -C "$CONF" folders --remote --json
    [ "$status" -eq 0 ]
    printf '%s' "$output" > "$BATS_TEST_TMPDIR/f.json"
    python3 - "$BATS_TEST_TMPDIR/f.json" <<'PY'
import json, sys
d = {f["name"]: f for f in json.load(open(sys.argv[1]))}
for f in d.values():
    assert set(f) >= {"name", "path", "messages", "unread", "special_use"}, f
assert d["INBOX"]["messages"] == 1 and d["INBOX"]["unread"] == 1, d["INBOX"]
assert d["INBOX"]["special_use"] is None
assert d["INBOX"]["path"] == "imap:INBOX"
assert d["Sent"]["special_use"] == "sent", d["Sent"]
assert d["Trash"]["special_use"] == "trash"
# a modified UTF-7 name of the server, in UTF-8
assert d["Entwürfe"]["messages"] == 1, d
assert d["Entwürfe"]["path"] == "imap:Entwürfe"
PY
}

@test "folders --create/--rename/--delete imap:NAME, non-ASCII names too" {
    run "$MAIL" -C "$CONF" folders --create 'imap:Projekte/Ünïcødé'
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    run "$MAIL" -C "$CONF" folders --remote
    echo "$output"
    [[ "$(row 'Projekte/Ünïcødé')" =~ \ +0\ +0$ ]]
    # the server keeps it as modified UTF-7
    run "$MAIL" -C "$CONF" folders --rename 'imap:Projekte/Ünïcødé' imap:Archiv
    echo "$output"
    [ "$status" -eq 0 ]
    run "$MAIL" -C "$CONF" folders --remote
    [ -z "$(row 'Projekte/Ünïcødé')" ]
    [ -n "$(row Archiv)" ]
    # a parent that only exists because of its child is not selectable
    p=$(row Projekte)
    [[ -z $p || $p == *" - "*"not selectable"* ]]
    run "$MAIL" -C "$CONF" folders --delete imap:Archiv
    [ "$status" -eq 0 ]
    run "$MAIL" -C "$CONF" folders --remote
    [ -z "$(row Archiv)" ]
}

@test "folders: server refusals exit per DESIGN.md with one clear line" {
    run "$MAIL" -C "$CONF" folders --create imap:Dup
    [ "$status" -eq 0 ]
    run "$MAIL" -C "$CONF" folders --create imap:Dup
    echo "$output"
    [ "$status" -eq 73 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ $output == "mail: "*"CREATE Dup"*"exists"* ]]
    run "$MAIL" -C "$CONF" folders --delete imap:Nowhere
    echo "$output"
    [ "$status" -eq 66 ]
    [ "${#lines[@]}" -eq 1 ]
    run "$MAIL" -C "$CONF" folders --rename imap:Nowhere imap:Else
    echo "$output"
    [ "$status" -eq 66 ]
    run "$MAIL" -C "$CONF" folders --create imap:Other
    [ "$status" -eq 0 ]
    run "$MAIL" -C "$CONF" folders --rename imap:Other imap:Dup
    echo "$output"
    [ "$status" -eq 73 ]
    # usage
    run "$MAIL" -C "$CONF" folders --rename imap:Drafts
    [ "$status" -eq 64 ]
    run "$MAIL" -C "$CONF" folders --create imap:A --delete imap:B
    [ "$status" -eq 64 ]
    run "$MAIL" -C "$CONF" folders --rename imap:Drafts =Local
    [ "$status" -eq 64 ]
    # the server unreachable: 69, not a hang
    write_config "$CONF" "timeout=5" "imap=imap://localhost:1"
    run "$MAIL" -C "$CONF" folders --remote
    echo "$output"
    [ "$status" -eq 69 ]
}

@test "folders --create/--rename/--delete =NAME in the local store" {
    mkdir -p "$HOME/Mail/test/cur" "$HOME/Mail/test/new" "$HOME/Mail/test/tmp"
    run "$MAIL" -C "$CONF" folders --create =Lokal
    [ "$status" -eq 0 ]
    [ -d "$HOME/Mail/test/.Lokal/cur" ]
    run "$MAIL" -C "$CONF" folders --create =Lokal
    [ "$status" -eq 73 ]
    run "$MAIL" -C "$CONF" folders --rename =Lokal =Neu
    [ "$status" -eq 0 ]
    [ -d "$HOME/Mail/test/.Neu/cur" ]
    [ ! -e "$HOME/Mail/test/.Lokal" ]
    cp "$MSG" "$HOME/Mail/test/.Neu/new/1.x"
    run "$MAIL" -C "$CONF" folders --delete =Neu
    echo "$output"
    [ "$status" -eq 69 ]
    [[ $output == *"holds 1 message"* ]]
    rm "$HOME/Mail/test/.Neu/new/1.x"
    run "$MAIL" -C "$CONF" folders --delete =Neu
    [ "$status" -eq 0 ]
    [ ! -e "$HOME/Mail/test/.Neu" ]
    run "$MAIL" -C "$CONF" folders --delete =Neu
    [ "$status" -eq 66 ]
    run "$MAIL" -C "$CONF" folders --delete =INBOX
    [ "$status" -eq 64 ]
}

@test "folders --remote --cached: a LIST the library makes anyway (rm's search for \\Trash) fills the completion cache" {
    maildir_add "$MAIL_TEST_MAILDIR1" "$MSG" >/dev/null
    maildir_add "$MAIL_TEST_MAILDIR1" "$MSG" Work >/dev/null
    run "$MAIL" -C "$CONF" folders --remote --cached
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    run "$MAIL" -C "$CONF" ls imap:INBOX
    [ "$status" -eq 0 ]
    run "$MAIL" -C "$CONF" rm -f imap:INBOX 1
    echo "$output"
    [ "$status" -eq 0 ]
    run "$MAIL" -C "$CONF" folders --remote --cached
    echo "$output"
    [ "$status" -eq 0 ]
    printf '%s\n' "${lines[@]}" | grep -qx INBOX
    printf '%s\n' "${lines[@]}" | grep -qx Trash
    printf '%s\n' "${lines[@]}" | grep -qx Work
}

@test "completion (fish): imap:NAME of the account and the config file the line names (-a, --account, -C, --config; joined or not)" {
    command -v fish >/dev/null || skip "fish is not installed"
    maildir_add "$MAIL_TEST_MAILDIR1" "$MSG" Work >/dev/null
    "$MAIL" -C "$CONF" folders --remote >/dev/null
    # the completion runs `mail folders --remote --cached`, found on PATH
    mkdir -p "$BATS_TEST_TMPDIR/bin"
    ln -sf "$MAIL" "$BATS_TEST_TMPDIR/bin/mail"
    fish_complete() {
        PATH="$BATS_TEST_TMPDIR/bin:$PATH" fish --no-config -c \
            "source '$MAIL_SOURCE_ROOT/completions/mail.fish'; complete -C '$1'" | cut -f1
    }
    for line in "mail -C $CONF ls imap:W" "mail --config=$CONF ls imap:W" \
        "mail -C$CONF -a test ls imap:W" "mail --config $CONF --account=test ls imap:W" \
        "mail -atest -C $CONF mv 3 imap:W" "mail -C /nonexistent -C $CONF ls imap:W"; do
        got=$(fish_complete "$line")
        [ "$got" = imap:Work ] || { echo "$line: '$got'"; false; }
    done
    # another account, or the default config file (there is none): not
    # this account's folders
    for line in "mail -C $CONF -a other ls imap:W" "mail ls imap:W" \
        "mail -C $CONF -C /nonexistent ls imap:W"; do
        got=$(fish_complete "$line")
        [[ $got != *Work* ]] || { echo "$line: '$got'"; false; }
    done
}
