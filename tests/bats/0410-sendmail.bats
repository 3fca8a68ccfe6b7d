#!/usr/bin/env bats
# The sendmail(8) interface (a link named sendmail, `mail sendmail`) as
# cron, git send-email and scripts call it, and POSIX mailx's sending form.

load helpers

use_servers

setup() {
    # The default config file (sendmail callers give no -C), $SENDMAIL.
    sendmail_setup
}

@test "sendmail: as cron calls it (-FCronDaemon -i -B8BITMIME -oem ADDR)" {
    printf 'From: root (Cron Daemon)\nTo: %s\nSubject: Cron <root@host> backup\nContent-Type: text/plain; charset=UTF-8\n\nbackup done\n.\nstill the body\n' \
        "$MAIL_TEST_ADDR2" > "$BATS_TEST_TMPDIR/cron"
    run "$SENDMAIL" -FCronDaemon -i -B8BITMIME -oem "$MAIL_TEST_ADDR2" < "$BATS_TEST_TMPDIR/cron"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    f=$(maildir_last "$MAIL_TEST_MAILDIR2")
    grep -q '^Subject: Cron <root@host> backup' "$f"
    grep -q '^From: root (Cron Daemon)' "$f"
    grep -q '^still the body' "$f"     # -i: a lone dot is data
    grep -q '^Message-ID: ' "$f"
}

@test "sendmail -t -oi, as git send-email and mutt call it" {
    printf 'From: Alice <%s>\nTo: %s\nCc: %s\nSubject: [PATCH] fix\n\n---\n file | 1 +\n' \
        "$MAIL_TEST_ADDR1" "$MAIL_TEST_ADDR2" "$MAIL_TEST_ADDR1" > "$BATS_TEST_TMPDIR/patch"
    run "$SENDMAIL" -t -oi -f "$MAIL_TEST_ADDR1" < "$BATS_TEST_TMPDIR/patch"
    echo "$output"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR1" 1
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    diff <(sed '1,/^$/d' "$BATS_TEST_TMPDIR/patch") <(sed '1,/^$/d' "$(maildir_last "$MAIL_TEST_MAILDIR2")")
}

@test "sendmail without -i: a line with a single dot ends the message" {
    printf 'Subject: dots\n\nbefore\n.\nafter\n' | "$SENDMAIL" "$MAIL_TEST_ADDR2"
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    f=$(maildir_last "$MAIL_TEST_MAILDIR2")
    grep -q '^before' "$f"
    ! grep -q '^after' "$f" || false
}

@test "mail sendmail: the same interface as a subcommand" {
    printf 'To: %s\nSubject: sub\n\nvia mail sendmail\n' "$MAIL_TEST_ADDR2" |
        "$MAIL" sendmail -t -oi -odi
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    grep -q 'via mail sendmail' "$(maildir_last "$MAIL_TEST_MAILDIR2")"
}

@test "sendmail: no recipients, unknown options and daemon modes exit 64" {
    run "$SENDMAIL" < /dev/null
    [ "$status" -eq 64 ]
    run "$SENDMAIL" -bd < /dev/null
    [ "$status" -eq 64 ]
    run "$SENDMAIL" -Z "$MAIL_TEST_ADDR2" < /dev/null
    [ "$status" -eq 64 ]
    # Other -o options are ignored.
    run "$SENDMAIL" -oXyz -odb -i "$MAIL_TEST_ADDR2" <<<"Subject: o

ok"
    [ "$status" -eq 0 ]
}

@test "mailx form: mail -s SUBJ -c ADDR -a FILE ADDR < body" {
    printf 'attached\n' > "$BATS_TEST_TMPDIR/notes.txt"
    run "$MAIL" -s 'mailx subject' -c "$MAIL_TEST_ADDR1" -a "$BATS_TEST_TMPDIR/notes.txt" \
        "$MAIL_TEST_ADDR2" <<<"mailx body"
    echo "$output"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR1" 1
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    f=$(maildir_last "$MAIL_TEST_MAILDIR2")
    grep -q '^Subject: mailx subject' "$f"
    grep -q '^Cc: alice@example.test' "$f"
    grep -q 'filename=notes.txt' "$f"
}

@test "mailx form: -A attaches too (GNU mailutils), -b is Bcc, a bare address works" {
    printf 'x\n' > "$BATS_TEST_TMPDIR/a.txt"
    run "$MAIL" -s s2 -b "$MAIL_TEST_ADDR1" -A "$BATS_TEST_TMPDIR/a.txt" "$MAIL_TEST_ADDR2" <<<"b"
    [ "$status" -eq 0 ]
    run "$MAIL" "$MAIL_TEST_ADDR2" <<<"no subject at all"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR1" 1
    mail_wait "$MAIL_TEST_MAILDIR2" 2
    ! grep -qi '^bcc' $(maildir_files "$MAIL_TEST_MAILDIR2") || false
    grep -l 'filename=a.txt' $(maildir_files "$MAIL_TEST_MAILDIR2")
}

@test "mailx form does not take over commands or unknown words" {
    run "$MAIL" frobnicate
    [ "$status" -eq 64 ]
    [[ "$output" == *"unknown command 'frobnicate'"* ]]
    run "$MAIL" send -h
    [ "$status" -eq 0 ]
    [[ "$output" == "usage: mail send"* ]]
}
