#!/usr/bin/env bats
# Copies between imap: folders of one account stay on the server: the
# reader's s (save: copy, then mark the original deleted) from imap:INBOX
# to imap:Archive is UID COPY (RFC 3501 6.4.7), never a download and an
# APPEND; COPYUID (UIDPLUS) puts the copy into the destination's listing
# cache.  Against the harness's Dovecot, the reader driven in tmux
# (tui_helpers.bash), and against tests/servers/fake-imap-folder for a
# server without UIDPLUS (also tests/unit/test_imap_folder.c).

load helpers
load tui_helpers
bats_require_minimum_version 1.5.0   # run --separate-stderr

use_servers

setup() {
    tui_setup
    CONF="$T/config"
    MD=$MAIL_TEST_MAILDIR1
    write_config "$CONF" pop3=
    mail_reset
}

teardown() {
    [ -n "${SOCK:-}" ] && tmux -S "$SOCK" kill-server 2>/dev/null || true
    fake_stop
}

# big_msg FILE SUBJECT: a message of about 300 KB (a base64 attachment).
big_msg() {
    {
        printf 'From: Sender <s@example.test>\nTo: alice@example.test\n'
        printf 'Subject: %s\nMessage-ID: <%s@example.test>\n' "$2" "$2"
        printf 'Date: Mon, 1 Dec 2025 10:00:00 +0000\nMIME-Version: 1.0\n'
        printf 'Content-Type: multipart/mixed; boundary="b1"\n\n--b1\n'
        printf 'Content-Type: text/plain\n\nthe figures\n--b1\n'
        printf 'Content-Type: application/octet-stream; name="f.bin"\n'
        printf 'Content-Transfer-Encoding: base64\n\n'
        head -c 220000 /dev/urandom | base64 -w 76
        printf -- '--b1--\n'
    } >"$1"
}

# other_ls ARGS: mail ls with a cache and state of its own (what the
# server says, not the listing cache).
other_ls() { XDG_CACHE_HOME=$T/other XDG_STATE_HOME=$T/ostate mail -C "$CONF" ls "$@"; }

@test "tui: s from imap:INBOX to imap:Archive is UID COPY on the server (Dovecot in= small, no APPEND); the copy keeps its flags and is listed from the cache (COPYUID)" {
    local owner n before
    owner=$(stat -c %u:%g "$MD")
    install -d -o "${owner%:*}" -g "${owner#*:}" -m 700 "$MD/.Archive" \
        "$MD/.Archive/cur" "$MD/.Archive/new" "$MD/.Archive/tmp"
    big_msg "$T/big.eml" kept
    maildir_add "$MD" "$T/big.eml" "" FS >/dev/null
    mail -C "$CONF" ls imap:INBOX >/dev/null
    # the destination's listing cache, empty
    run mail -C "$CONF" ls imap:Archive
    [ "$status" -eq 0 ]
    before=$(dovecot_mark)
    tui_start -C "$CONF" tui imap:INBOX
    wait_screen "imap:INBOX  1 msgs"
    keys Home s "imap:Archive" Enter
    wait_screen "saved"
    wait_screen "1 deleted"
    quit_tui
    # The reader's session sent commands only: an APPEND would have sent
    # the message's 300 KB.
    n=$(dovecot_bytes_after in "$before")
    echo "the reader sent Dovecot $n bytes"
    [ -n "$n" ] && [ "$n" -lt 20000 ]
    # The copy, from the cache (COPYUID): no envelope fetched.
    run --separate-stderr mail -C "$CONF" -vv ls --json imap:Archive
    [ "$status" -eq 0 ]
    [ "$(jq -r '[.[].subject] | join(",")' <<<"$output")" = kept ]
    [ "$(jq -r '.[0].flags | join(" ")' <<<"$output")" = "seen flagged" ]
    [[ $stderr != *ENVELOPE* ]]
    # What the server says: the copy has the original's flags (less
    # \Deleted), the original is marked deleted.
    run --separate-stderr other_ls --json imap:Archive
    [ "$status" -eq 0 ]
    [ "$(jq -r '[.[].subject] | join(",")' <<<"$output")" = kept ]
    [ "$(jq -r '.[0].flags | join(" ")' <<<"$output")" = "seen flagged" ]
    run --separate-stderr other_ls --json imap:INBOX
    [ "$(jq -r '.[0].flags | join(" ")' <<<"$output")" = "seen flagged deleted" ]
    # byte for byte the message
    mail -C "$CONF" ls imap:Archive >/dev/null
    mail -C "$CONF" read --raw imap:Archive 1 | tr -d '\r' >"$T/copy"
    cmp "$T/big.eml" "$T/copy"
}

@test "tui (fake server without UIDPLUS): s to another imap: folder is UID COPY all the same (no COPYUID, no FETCH of the body, no APPEND)" {
    fake_folder_start odd
    tui_start -C "$CONF" tui imap:INBOX
    wait_screen "imap:INBOX  2 msgs"
    keys Home s "imap:Archive" Enter
    wait_screen "saved"
    wait_screen "1 deleted"
    quit_tui
    cat "$FAKE_LOG"
    grep -q 'UID COPY 4 "Archive"$' "$FAKE_LOG"
    grep -q 'UID STORE 4 +FLAGS.SILENT (\\Deleted)' "$FAKE_LOG"
    ! grep -q 'APPEND' "$FAKE_LOG" || false
    ! grep -q 'BODY.PEEK\[\]' "$FAKE_LOG" || false
}

@test "tui: a limit in imap:INBOX is the server's SEARCH, as mail ls's: a body: word downloads no body (Dovecot out= small) and shows what mail ls shows" {
    local n before
    big_msg "$T/big1.eml" first-big
    big_msg "$T/big2.eml" second-big
    printf 'From: s@example.test\nSubject: small one\nMessage-ID: <small@example.test>\nDate: Mon, 1 Dec 2025 11:00:00 +0000\n\nthe zebra crossing\n' >"$T/small.eml"
    maildir_add "$MD" "$T/big1.eml" >/dev/null
    maildir_add "$MD" "$T/small.eml" >/dev/null
    maildir_add "$MD" "$T/big2.eml" >/dev/null
    run mail -C "$CONF" ls -F '%s' imap:INBOX body:zebra
    [ "$status" -eq 0 ]
    [ "$output" = "small one" ]
    before=$(dovecot_mark)
    tui_start -C "$CONF" tui imap:INBOX
    wait_screen "imap:INBOX  3 msgs"
    wait_screen "second-big"
    keys l "body:zebra" Enter
    wait_gone "second-big"
    wait_screen "small one"
    ! screen | grep -q "first-big" || false
    quit_tui
    # matched on the bodies here, the two 300 KB messages would have come
    n=$(dovecot_bytes_after out "$before")
    echo "Dovecot sent the reader $n bytes"
    [ -n "$n" ] && [ "$n" -lt 100000 ]
}
