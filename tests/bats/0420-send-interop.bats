#!/usr/bin/env bats
# The real programs that call sendmail(8) with recipients on the command
# line and a whole message on standard input: git send-email, mutt and
# Debian's cron.  Each message goes through the harness's Postfix and is
# read back from Dovecot's Maildir; python3's email package judges it.

load helpers

use_servers

setup() {
    # The default config file (sendmail callers give no -C), $SENDMAIL.
    sendmail_setup
}

@test "git send-email --sendmail-cmd='mail sendmail': the patch arrives as git wrote it" {
    command -v git >/dev/null || skip "git is not installed (scripts/install-deps --test)"
    [ -x "$(git --exec-path)/git-send-email" ] ||
        skip "git send-email is not installed (package git-email)"
    repo=$BATS_TEST_TMPDIR/repo
    git init -q "$repo"
    cd "$repo"
    git config user.name "Alice Example"
    git config user.email "$MAIL_TEST_ADDR1"
    printf 'line one\n' > file.txt
    git add file.txt
    git commit -q -m "first"
    printf 'line one\nline two, naïve\n' > file.txt
    git commit -q -a -m "file: add a second line" -m "Körper of the commit message."
    git format-patch -q -1 -o "$BATS_TEST_TMPDIR/out"
    patch=$(ls "$BATS_TEST_TMPDIR"/out/*.patch)
    run git send-email --sendmail-cmd="$MAIL sendmail" --to="$MAIL_TEST_ADDR2" \
        --from="Alice Example <$MAIL_TEST_ADDR1>" --confirm=never \
        --suppress-cc=all --no-chain-reply-to --quiet "$patch"
    echo "$output"
    [ "$status" -eq 0 ]
    judge_newest "$MAIL_TEST_MAILDIR2" whole
    [[ "$output" == *"subject=[PATCH] file: add a second line"* ]]
    [[ "$output" == *"from=Alice Example <$MAIL_TEST_ADDR1>"* ]]
    [[ "$output" == *"to=$MAIL_TEST_ADDR2"* ]]
    [[ "$output" == *"message-id=<"*"@"*">"* ]]
    [[ "$output" == *"x-mailer=git-send-email"* ]]
    [[ "$output" == *"Körper of the commit message."* ]]
    [[ "$output" == *"+line two, naïve"* ]]
    [[ "$output" == *"defects=0"* ]]
    # git's Message-ID, kept: one Message-ID, no second Date.
    [ "$(grep -ci '^Message-ID:' "$f")" -eq 1 ]
    [ "$(grep -ci '^Date:' "$f")" -eq 1 ]
    # The patch applies as it arrived.
    cd "$repo"
    git reset -q --hard HEAD~1
    git am -q "$f"
    grep -q 'line two, naïve' file.txt
}

@test "mutt in batch mode with set sendmail='mail sendmail': attachment and headers intact" {
    command -v mutt >/dev/null || skip "mutt is not installed (scripts/install-deps --test)"
    rc=$BATS_TEST_TMPDIR/muttrc
    cat > "$rc" <<EOF
set sendmail="$MAIL sendmail"
set from="Alice Example <$MAIL_TEST_ADDR1>"
set use_from=yes
set realname="Alice Example"
set charset="utf-8"
set send_charset="us-ascii:utf-8"
set record=""
set folder="$HOME/Mail"
set spoolfile="$HOME/Mail/inbox"
EOF
    printf 'Hello from mutt, ça va?\n' > "$BATS_TEST_TMPDIR/body"
    head -c 5000 /dev/urandom > "$BATS_TEST_TMPDIR/data.bin"
    run env HOME="$HOME" mutt -n -F "$rc" -s "mutt subject" -b "$MAIL_TEST_ADDR1" \
        -a "$BATS_TEST_TMPDIR/data.bin" -- "$MAIL_TEST_ADDR2" < "$BATS_TEST_TMPDIR/body"
    echo "$output"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR1" 1     # the Bcc, from mutt's argv
    judge_newest "$MAIL_TEST_MAILDIR2" whole
    [[ "$output" == *"subject=mutt subject"* ]]
    [[ "$output" == *"from=Alice Example <$MAIL_TEST_ADDR1>"* ]]
    [[ "$output" == *"multipart=True"* ]]
    [[ "$output" == *"text=Hello from mutt, ça va?"* ]]
    [[ "$output" == *"name=data.bin sha256=$(file_sha256 "$BATS_TEST_TMPDIR/data.bin")"* ]]
    [[ "$output" == *"bcc=None"* ]]
    [[ "$output" == *"defects=0"* ]]
    ! grep -qi '^Bcc:' "$f" || false
    ! grep -qi '^Bcc:' "$(maildir_last "$MAIL_TEST_MAILDIR1")" || false
}

@test "cron: sendmail -FCronDaemon -i -B8BITMIME -oem USER keeps the cron message whole" {
    printf 'From: root (Cron Daemon)\nTo: %s\nSubject: Cron <root@host> /usr/local/bin/backup\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\nX-Cron-Env: <SHELL=/bin/sh>\nX-Cron-Env: <HOME=/root>\nBcc: %s\n\nbackup done: 3 files, naïve\n.\nstill the body\n' \
        "$MAIL_TEST_ADDR2" "$MAIL_TEST_ADDR1" > "$BATS_TEST_TMPDIR/cron"
    run "$SENDMAIL" -FCronDaemon -i -B8BITMIME -oem "$MAIL_TEST_ADDR2" < "$BATS_TEST_TMPDIR/cron"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    judge_newest "$MAIL_TEST_MAILDIR2" whole
    [[ "$output" == *"subject=Cron <root@host> /usr/local/bin/backup"* ]]
    [[ "$output" == *"from=root (Cron Daemon)"* || "$output" == *"from=\"root (Cron Daemon)\""* || "$output" == *"from=root"* ]]
    [[ "$output" == *"content-type=text/plain; charset=\"UTF-8\""* ]]
    [[ "$output" == *"text=backup done: 3 files, naïve"$'\n'".
still the body"* ]]
    [[ "$output" == *"message-id=<"* ]]
    [[ "$output" == *"date="[A-Z]* ]]
    [ "$(grep -c '^X-Cron-Env:' "$f")" -eq 2 ]
    ! grep -qi '^Bcc:' "$f" || false
    # Recipients come from the command line only: not the Bcc header.
    sleep 0.5
    [ "$(maildir_count "$MAIL_TEST_MAILDIR1")" -eq 0 ]
}

@test "sendmail ADDR: headers kept, Date and Message-ID only added when missing, Resent-Bcc removed" {
    printf 'From: Alice <%s>\nTo: someone-else@example.test\nSubject: kept subject\nDate: Tue, 1 Dec 2026 10:00:00 +0000\nMessage-ID: <given.1@example.test>\nResent-Bcc: %s\n\nbody\n' \
        "$MAIL_TEST_ADDR1" "$MAIL_TEST_ADDR1" > "$BATS_TEST_TMPDIR/m"
    run "$MAIL" sendmail -oi "$MAIL_TEST_ADDR2" < "$BATS_TEST_TMPDIR/m"
    echo "$output"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    f=$(maildir_last "$MAIL_TEST_MAILDIR2")
    cat "$f"
    [ "$(grep -c '^Message-ID: <given.1@example.test>' "$f")" -eq 1 ]
    [ "$(grep -ci '^Message-ID:' "$f")" -eq 1 ]
    [ "$(grep -c '^Date: Tue, 1 Dec 2026 10:00:00 +0000' "$f")" -eq 1 ]
    [ "$(grep -ci '^Date:' "$f")" -eq 1 ]
    grep -q '^To: someone-else@example.test' "$f"
    grep -q '^Subject: kept subject' "$f"
    ! grep -qi '^Resent-Bcc:' "$f" || false
    sleep 0.5
    [ "$(maildir_count "$MAIL_TEST_MAILDIR1")" -eq 0 ]
    [ "$(maildir_count "$MAIL_TEST_SINK_MAILDIR")" -eq 0 ]
}
