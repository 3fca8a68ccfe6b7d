#!/usr/bin/env bats
# Sent copies on the IMAP server (sent-folder = imap:NAME, or imap: for
# the folder the server marks \Sent): sent through the harness's Postfix,
# filed by APPEND in the harness's Dovecot, checked in alice's Maildir.
# A copy that cannot be filed (Dovecot not reachable) stays in
# DATA_HOME/mail/sent-pending and the next `mail send` (or --flush) files
# it, searching by Message-ID first: never lost, never twice.

load helpers

use_servers

setup() {
    CONF="$BATS_TEST_TMPDIR/config"
    send_setup "$CONF"
    PENDING="$XDG_DATA_HOME/mail/sent-pending"
}

teardown() {
    fake_stop
}

# sent_files [FOLDER]: the messages of alice's FOLDER (default Sent)
sent_files() {
    find "$MAIL_TEST_MAILDIR1/.${1:-Sent}/cur" "$MAIL_TEST_MAILDIR1/.${1:-Sent}/new" \
        -maxdepth 1 -type f 2>/dev/null || true
}

sent_count() {
    sent_files "${1:-}" | wc -l
}

pending_count() {
    find "$PENDING" -maxdepth 1 -name '*.copy' 2>/dev/null | wc -l
}

# a free port nothing listens on (Dovecot "down")
dead_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

send_one() {
    # send_one SUBJECT [mail send options...]
    local subj=$1
    shift
    printf 'body of %s\n' "$subj" | "$MAIL" -C "$CONF" send -s "$subj" "$@" "$MAIL_TEST_ADDR2"
}

@test "sent copy: imap: files the copy in the \\Sent folder, seen, exactly once" {
    write_config "$CONF" "timeout=5" "sent-folder=imap:"
    run send_one "copy one"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    [ "$(sent_count)" -eq 1 ]
    f=$(sent_files)
    # \Seen: in cur/ with S among the flags
    [[ $f == */cur/*:2,*S* ]]
    grep -q '^Subject: copy one' "$f"
    # the copy is the message that was delivered (same Message-ID)
    id=$(grep -i -m1 '^Message-ID:' "$f")
    grep -qiF "$id" "$(maildir_last "$MAIL_TEST_MAILDIR2")"
    [ "$(pending_count)" -eq 0 ]
}

@test "sent copy: imap:NAME files it there, creating the folder, with the Bcc shown" {
    write_config "$CONF" "timeout=5" "sent-folder=imap:Gesendet"
    run send_one "named" -b "$MAIL_TEST_ADDR1"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(sent_count Gesendet)" -eq 1 ]
    [ "$(sent_count)" -eq 0 ]
    grep -q "^Bcc: .*$MAIL_TEST_ADDR1" "$(sent_files Gesendet)"
    [ "$(pending_count)" -eq 0 ]
}

@test "sent copy: --no-save and sent-folder = none file nothing" {
    write_config "$CONF" "timeout=5" "sent-folder=imap:"
    run send_one "not saved" --no-save
    [ "$status" -eq 0 ]
    write_config "$CONF" "timeout=5" "sent-folder=none"
    run send_one "none"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 2
    [ "$(sent_count)" -eq 0 ]
    [ ! -e "$HOME/Mail/test/none" ]
    [ ! -e "$HOME/Mail/test/.none" ]
    [ "$(pending_count)" -eq 0 ]
}

@test "sent copy: a failed send leaves no copy and no pending record" {
    write_config "$CONF" "timeout=5" "sent-folder=imap:" \
        "smtp=smtp://localhost:$(dead_port)"
    run send_one "never sent" --no-queue
    echo "$output"
    [ "$status" -eq 75 ]
    # a refused recipient: not sent either
    write_config "$CONF" "timeout=5" "sent-folder=imap:"
    run bash -c 'printf "x\n" | "$1" -C "$2" send -s refused nobody-here@example.test' _ "$MAIL" "$CONF"
    echo "$output"
    [ "$status" -ne 0 ]
    [ "$(sent_count)" -eq 0 ]
    [ "$(pending_count)" -eq 0 ]
}

@test "sent copy: IMAP down after the send keeps the copy; the next send files it once" {
    write_config "$CONF" "timeout=5" "sent-folder=imap:" \
        "imap=imap://localhost:$(dead_port)"
    run send_one "while down"
    echo "$output"
    # sent: exit 0, and a warning that says where the copy waits
    [ "$status" -eq 0 ]
    [[ $output == *"warning: sent, but no copy saved in imap:"* ]]
    [[ $output == *"kept in $PENDING"* ]]
    [ "$(pending_count)" -eq 1 ]
    [ "$(sent_count)" -eq 0 ]
    rec=$(find "$PENDING" -name '*.copy')
    cp "$rec" "$BATS_TEST_TMPDIR/record"

    # Dovecot back: the next send files the old copy, then its own
    write_config "$CONF" "timeout=5" "sent-folder=imap:"
    run send_one "after"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [ "$(pending_count)" -eq 0 ]
    [ "$(sent_count)" -eq 2 ]
    grep -l '^Subject: while down' $(sent_files) | wc -l | grep -qx 1
    grep -l '^Subject: after' $(sent_files) | wc -l | grep -qx 1

    # a crash between the server's OK and the record's removal: the
    # record is back, its copy is there; --flush finds it, files nothing
    cp "$BATS_TEST_TMPDIR/record" "$PENDING/1.copy"
    run "$MAIL" -C "$CONF" send --flush
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(pending_count)" -eq 0 ]
    [ "$(sent_count)" -eq 2 ]
    # and every copy is seen
    for f in $(sent_files); do [[ $f == */cur/*:2,*S* ]]; done
}

@test "sent copy: the pending record holds the whole message and its Message-ID" {
    write_config "$CONF" "timeout=5" "sent-folder=imap:Sent" \
        "imap=imap://localhost:$(dead_port)"
    run send_one "record"
    [ "$status" -eq 0 ]
    rec=$(find "$PENDING" -name '*.copy')
    [ -n "$rec" ]
    [ "$(stat -c %a "$rec")" = 600 ]
    head -n 4 "$rec" | grep -qx 'account test'
    head -n 4 "$rec" | grep -qx 'folder Sent'
    id=$(head -n 4 "$rec" | sed -n 's/^message-id //p')
    [[ $id == "<"*"@"*">" ]]
    grep -qF "Message-ID: $id" "$rec"
    grep -q '^body of record' "$rec"
}
