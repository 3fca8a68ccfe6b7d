#!/usr/bin/env bats
# mail reply and mail forward against the harness's Postfix: the reply
# read back from Dovecot's Maildir and judged by python3's email package;
# the original marked answered (R) or passed (P) only after a successful
# send.

load helpers

use_servers

setup() {
    CONF="$BATS_TEST_TMPDIR/config"
    send_setup "$CONF"
    # The originals live in a Maildir of their own, selected by path.
    MD="$BATS_TEST_TMPDIR/orig"
    mkdir -p "$MD/cur" "$MD/new" "$MD/tmp"
}

# original FROM [EXTRA-HEADER-LINES]: an original message in $MD/new,
# its path in ORIG.
original() {
    ORIG="$MD/new/1700000000.M1P1.test"
    {
        printf 'From: %s\n' "$1"
        printf 'To: Alice Example <%s>, Carol <carol@%s>\n' "$MAIL_TEST_ADDR1" "$MAIL_TEST_DOMAIN"
        printf 'Subject: =?UTF-8?Q?AW=3A_Re=3A_Gr=C3=BC=C3=9Fe?=\n'
        printf 'Date: Thu, 3 Dec 2026 10:00:00 +0100\n'
        printf 'Message-ID: <orig-1@b.test>\n'
        printf 'References: <root@b.test>\n'
        [[ -n ${2:-} ]] && printf '%s\n' "$2"
        printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n'
        printf 'Content-Transfer-Encoding: 8bit\n\n'
        printf 'Hallo Alice,\n> earlier words\nschön.\n-- \nBob\n'
    } > "$ORIG"
}

# judge FILE: python's email package: the fields a reply is judged by.
judge() {
    python3 - "$1" <<'PY'
import email, email.policy, sys
m = email.message_from_bytes(open(sys.argv[1], 'rb').read(),
                             policy=email.policy.default)
for k in ("to", "cc", "subject", "in-reply-to", "references"):
    print("%s=%s" % (k, m[k]))
for p in m.walk():
    if p.get_content_type() == "text/plain" and not p.is_multipart():
        print("text=" + p.get_content())
        break
PY
}

@test "reply: text from standard input above the quote; headers; original answered" {
    original "Bob <$MAIL_TEST_ADDR2>"
    run "$MAIL" -C "$CONF" reply "$ORIG" <<<"Thanks, Bob."
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    f=$(maildir_last "$MAIL_TEST_MAILDIR2")
    cat "$f"
    run judge "$f"
    echo "$output"
    [[ "$output" == *"to=Bob <$MAIL_TEST_ADDR2>"* ]]
    [[ "$output" == *"cc="$'\n'* || "$output" == *"cc=None"* ]]
    [[ "$output" == *"subject=Re: Grüße"* ]]
    [[ "$output" == *"in-reply-to=<orig-1@b.test>"* ]]
    [[ "$output" == *"references=<root@b.test> <orig-1@b.test>"* ]]
    [[ "$output" == *"text=Thanks, Bob."$'\n\n'"On Thu, 3 Dec 2026 10:00:00 +0100, Bob wrote:"$'\n'"> Hallo Alice,"$'\n'">> earlier words"$'\n'"> schön."* ]]
    [[ "$output" != *"> Bob"* ]]       # the signature is not quoted
    # Marked answered, after the send.
    ls "$MD/cur"
    [ -z "$(ls "$MD/new")" ]
    ls "$MD/cur" | grep -q ':2,R$'
}

@test "reply --all: To and Cc of the original minus my own addresses and alternates" {
    write_config "$CONF" "timeout=5" "alternates=alice@old.example ^ali\\+.*@"
    original "Bob <$MAIL_TEST_ADDR2>" "Cc: alice@old.example, ali+x@$MAIL_TEST_DOMAIN, Carol <carol@$MAIL_TEST_DOMAIN>"
    run "$MAIL" -C "$CONF" reply --all --dry-run "$ORIG" </dev/null
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"To: Bob <$MAIL_TEST_ADDR2>"* ]]
    [[ "$output" == *"Cc: Carol <carol@$MAIL_TEST_DOMAIN>"* ]]
    [[ "$output" != *"old.example"* ]]
    [[ "$output" != *"ali+x"* ]]
    [[ "$(sed '/^$/q' <<<"$output")" != *"$MAIL_TEST_ADDR1>,"* ]]
    # --dry-run sends nothing and flags nothing.
    ls "$MD/new" | grep -q .
}

@test "reply --list: to List-Post; none is a clear error (65)" {
    original "Bob <$MAIL_TEST_ADDR2>" "List-Post: <mailto:$MAIL_TEST_ADDR2?subject=x>
Reply-To: Someone <nobody@$MAIL_TEST_DOMAIN>"
    run "$MAIL" -C "$CONF" reply --list --dry-run "$ORIG" </dev/null
    echo "$output"
    [ "$status" -eq 0 ]
    grep -qx "To: $MAIL_TEST_ADDR2" <<<"$output"
    original "Bob <$MAIL_TEST_ADDR2>"
    run "$MAIL" -C "$CONF" reply --list "$ORIG" </dev/null
    echo "$output"
    [ "$status" -eq 65 ]
    [[ "$output" == *"List-Post"* ]]
    ls "$MD/new" | grep -q .
}

@test "reply: a scripted \$EDITOR changes To, Cc and Subject; y sends" {
    original "Bob <$MAIL_TEST_ADDR2>"
    cat > "$BATS_TEST_TMPDIR/editor" <<EOF
#!/bin/sh
sed -i -e 's/^To: .*/To: Bobby <$MAIL_TEST_ADDR2>/' \\
       -e 's/^Cc: .*/Cc: $MAIL_TEST_ADDR1/' \\
       -e 's/^Subject: .*/Subject: Re: edited subject/' \\
       -e '/^\$/{n;s/^/Edited reply text.\n/;}' "\$1"
EOF
    chmod +x "$BATS_TEST_TMPDIR/editor"
    export EDITOR="$BATS_TEST_TMPDIR/editor" VISUAL=
    run script -qec "'$MAIL' -C '$CONF' reply '$ORIG'" /dev/null <<<"y"
    echo "$output"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    mail_wait "$MAIL_TEST_MAILDIR1" 1
    f=$(maildir_last "$MAIL_TEST_MAILDIR2")
    cat "$f"
    run judge "$f"
    echo "$output"
    [[ "$output" == *"to=Bobby <$MAIL_TEST_ADDR2>"* ]]
    [[ "$output" == *"cc=$MAIL_TEST_ADDR1"* ]]
    [[ "$output" == *"subject=Re: edited subject"* ]]
    [[ "$output" == *"in-reply-to=<orig-1@b.test>"* ]]
    [[ "$output" == *"text=Edited reply text."* ]]
    ls "$MD/cur" | grep -q ':2,R$'
}

@test "reply: quit at the menu sends nothing and does not flag" {
    original "Bob <$MAIL_TEST_ADDR2>"
    printf '#!/bin/sh\ntrue\n' > "$BATS_TEST_TMPDIR/editor"
    chmod +x "$BATS_TEST_TMPDIR/editor"
    export EDITOR="$BATS_TEST_TMPDIR/editor" VISUAL=
    run script -qec "'$MAIL' -C '$CONF' reply '$ORIG'" /dev/null <<<"q"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"not sent"* ]]
    sleep 1
    [ "$(maildir_count "$MAIL_TEST_MAILDIR2")" -eq 0 ]
    ls "$MD/new" | grep -q .
}

@test "reply: a refused recipient (67) leaves the original unanswered" {
    original "Nobody <nobody@$MAIL_TEST_DOMAIN>"
    run "$MAIL" -C "$CONF" reply "$ORIG" <<<"hello?"
    echo "$output"
    [ "$status" -eq 67 ]
    [[ "$output" == *"nobody@$MAIL_TEST_DOMAIN"* ]]
    ls "$MD/new" | grep -q .
    ! ls "$MD/cur" | grep -q ':2,.*R' || false
}

@test "reply: an unreachable server leaves the original unanswered" {
    write_config "$CONF" "timeout=5" "smtp=smtp://127.0.0.1:1"
    original "Bob <$MAIL_TEST_ADDR2>"
    run "$MAIL" -C "$CONF" reply "$ORIG" <<<"hello?"
    echo "$output"
    [ "$status" -ne 0 ]
    ls "$MD/new" | grep -q .
}

@test "forward inline: Fwd: subject, the forwarded block, passed flag" {
    original "Bob <$MAIL_TEST_ADDR2>"
    run "$MAIL" -C "$CONF" forward "$ORIG" "$MAIL_TEST_ADDR2" <<<"FYI"
    echo "$output"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    f=$(maildir_last "$MAIL_TEST_MAILDIR2")
    cat "$f"
    run judge "$f"
    echo "$output"
    [[ "$output" == *"subject=Fwd: AW: Re: Grüße"* ]]
    [[ "$output" == *"in-reply-to=None"* ]]
    [[ "$output" == *"text=FYI"$'\n\n'"---------- Forwarded message ---------"$'\n'"From: Bob <$MAIL_TEST_ADDR2>"$'\n'"Date: Thu, 3 Dec 2026 10:00:00 +0100"$'\n'"Subject: AW: Re: Grüße"$'\n'* ]]
    [[ "$output" == *"schön."* ]]
    ls "$MD/cur" | grep -q ':2,P$'
}

@test "forward --attach: the original as message/rfc822, bytes untouched" {
    original "Bob <$MAIL_TEST_ADDR2>"
    cp "$ORIG" "$BATS_TEST_TMPDIR/orig.eml"
    run "$MAIL" -C "$CONF" forward --attach "$ORIG" "$MAIL_TEST_ADDR2" <<<"see attached"
    echo "$output"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    f=$(maildir_last "$MAIL_TEST_MAILDIR2")
    cat "$f"
    python3 - "$f" "$BATS_TEST_TMPDIR/orig.eml" <<'PY'
import email, email.policy, re, sys
raw = open(sys.argv[1], 'rb').read()
orig = open(sys.argv[2], 'rb').read()
m = email.message_from_bytes(raw, policy=email.policy.default)
assert m.get_content_type() == "multipart/mixed", m.get_content_type()
parts = list(m.iter_parts())
assert parts[0].get_content_type() == "text/plain"
assert parts[0].get_content().startswith("see attached"), parts[0].get_content()
assert parts[1].get_content_type() == "message/rfc822"
assert str(m["subject"]) == "Fwd: AW: Re: Grüße", m["subject"]
# The bytes between the part's header and the closing delimiter.
b = m.get_boundary().encode()
body = raw.split(b"\n--" + b + b"\n", 2)[2]
body = body.split(b"\n\n", 1)[1]
body = body[:body.rindex(b"\n--" + b + b"--")]
assert body == orig, (body, orig)
PY
    ls "$MD/cur" | grep -q ':2,P$'
}

@test "reply and forward: usage errors" {
    run "$MAIL" -C "$CONF" reply
    [ "$status" -eq 64 ]
    run "$MAIL" -C "$CONF" reply --all --list x
    [ "$status" -eq 64 ]
    run "$MAIL" -C "$CONF" forward
    [ "$status" -eq 64 ]
    run "$MAIL" -C "$CONF" reply "$MD/cur/nonexistent:2,"
    echo "$output"
    [ "$status" -ne 0 ]
}
