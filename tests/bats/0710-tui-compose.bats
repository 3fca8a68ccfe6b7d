#!/usr/bin/env bats
# Writing mail in the reader (tui/compose.c): the library's compose flow
# (mail/compose_flow.h) with the reader's own compose screen, driven in
# tmux as in 0700-tui: a reply with a scripted $EDITOR that arrives
# through the harness's Postfix with In-Reply-To and References and
# leaves the original answered (in a Maildir, and in an mbox, where the
# flag is written once, by the reader's own folder handle); a forward as
# an attachment; a reply postponed and resumed with R.

load helpers
load tui_helpers

use_servers

setup() {
    command -v tmux >/dev/null || skip "tmux is not installed"
    send_setup "$BATS_TEST_TMPDIR/config"
    CONF="$BATS_TEST_TMPDIR/config"
    unset COLUMNS NO_COLOR
    SOCK="$BATS_TEST_TMPDIR/tmux.sock"
    mkdir -p "$HOME/Mail/test/cur" "$HOME/Mail/test/new" "$HOME/Mail/test/tmp"
    DRAFTS="$HOME/Mail/test/.Drafts"
    MD="$BATS_TEST_TMPDIR/orig"
    mkdir -p "$MD/cur" "$MD/new" "$MD/tmp"
    ORIG='From: Bob <%s>\nTo: Alice Example <%s>\nSubject: Lunch?\nDate: Thu, 3 Dec 2026 10:00:00 +0100\nMessage-ID: <tc-orig@b.test>\nReferences: <tc-root@b.test>\n\nAre you free?\n'
    # The editor: the line in $BATS_TEST_TMPDIR/text above the text; a
    # To in $BATS_TEST_TMPDIR/to replaces the draft's.
    cat > "$BATS_TEST_TMPDIR/editor" <<'ED'
#!/bin/sh
d=$(dirname "$0")
t=$(cat "$d/text" 2>/dev/null)
to=$(cat "$d/to" 2>/dev/null)
awk -v add="$t" -v to="$to" '
    h == 0 && to != "" && /^To:/ { print "To: " to; next }
    h == 0 && /^$/ { print; if (add != "") print add; h = 1; next }
    { print }' "$1" > "$1.new" && mv "$1.new" "$1"
ED
    chmod +x "$BATS_TEST_TMPDIR/editor"
    # The reader (tui_helpers.bash): this config, the scripted editor,
    # waits of 10 s.
    TUI_ARGS=(-C "$CONF")
    TUI_WAIT=10
    EDITOR="$BATS_TEST_TMPDIR/editor"
}

teardown() {
    [ -n "${SOCK:-}" ] && tmux -S "$SOCK" kill-server 2>/dev/null || true
}

# delivered PYTHON: the last message Postfix delivered to the second
# user, judged by python3's email package (m, raw) with PYTHON.
delivered() {
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    python3 - "$(maildir_last "$MAIL_TEST_MAILDIR2")" <<PY
import email, email.policy, sys
raw = open(sys.argv[1], 'rb').read()
m = email.message_from_bytes(raw, policy=email.policy.default)
$1
PY
}

drafts() { find "$DRAFTS/cur" "$DRAFTS/new" -type f 2>/dev/null | grep -c . || true; }

@test "tui compose: r, the editor, y: In-Reply-To and References through Postfix; the original answered" {
    printf "$ORIG" "$MAIL_TEST_ADDR2" "$MAIL_TEST_ADDR1" > "$MD/new/1700000000.M1P1.test"
    echo "Yes, at noon." > "$BATS_TEST_TMPDIR/text"
    tui_start tui "$MD"
    wait_screen "1 msgs, 1 unread"
    keys r
    # The compose screen: the fields, the attachments, the keys.
    wait_screen "(y) send"
    wait_screen "Subject: Re: Lunch?"
    wait_screen "No attachments."
    keys y Enter
    wait_screen "sent"
    wait_screen "1 UR   Dec  3  Bob"
    delivered '
assert str(m["in-reply-to"]) == "<tc-orig@b.test>", m["in-reply-to"]
assert str(m["references"]) == "<tc-root@b.test> <tc-orig@b.test>", m["references"]
assert str(m["subject"]) == "Re: Lunch?"
t = m.get_body(("plain",)).get_content()
assert t.startswith("Yes, at noon.\n"), repr(t)
assert "> Are you free?" in t, t'
    quit_tui
    ls "$MD/cur" | grep -q ':2,.*R'
}

@test "tui compose: a reply in an mbox marks the original answered once, through the reader's folder" {
    printf "From bob@b.test Thu Dec  3 10:00:00 2026\n$ORIG\n" "$MAIL_TEST_ADDR2" "$MAIL_TEST_ADDR1" > "$BATS_TEST_TMPDIR/in.mbox"
    echo "From the mbox." > "$BATS_TEST_TMPDIR/text"
    tui_start tui "$BATS_TEST_TMPDIR/in.mbox"
    wait_screen "1 msgs"
    # Read first (seen: the reader's copy of the folder changes), then r.
    keys Enter
    wait_screen "Are you free?"
    keys q
    wait_screen "0 unread"
    keys r
    wait_screen "(y) send"
    keys y Enter
    wait_screen "sent"
    wait_screen "R   Dec  3  Bob"
    delivered 'assert str(m["in-reply-to"]) == "<tc-orig@b.test>"'
    quit_tui
    # Written by the reader at its close: one message, answered.
    [ "$(grep -c '^From ' "$BATS_TEST_TMPDIR/in.mbox")" -eq 1 ]
    grep -q '^X-Status: .*A' "$BATS_TEST_TMPDIR/in.mbox" || { cat "$BATS_TEST_TMPDIR/in.mbox"; false; }
    grep -q '^Status: .*R' "$BATS_TEST_TMPDIR/in.mbox"
    run "$MAIL" -C "$CONF" ls --json "$BATS_TEST_TMPDIR/in.mbox"
    echo "$output"
    [[ "$output" == *'"answered"'* ]]
}

@test "tui compose: f forwards as an attachment, byte for byte; the original passed" {
    printf "$ORIG" "$MAIL_TEST_ADDR2" "$MAIL_TEST_ADDR1" > "$MD/new/1700000000.M1P1.test"
    cp "$MD/new/1700000000.M1P1.test" "$BATS_TEST_TMPDIR/orig.eml"
    echo "See attached." > "$BATS_TEST_TMPDIR/text"
    echo "$MAIL_TEST_ADDR2" > "$BATS_TEST_TMPDIR/to"
    tui_start tui "$MD"
    wait_screen "1 msgs, 1 unread"
    keys f
    wait_screen "Forward as an attachment?"
    keys y Enter
    wait_screen "the forwarded message  (message/rfc822"
    wait_screen "Subject: Fwd: Lunch?"
    keys y Enter
    wait_screen "sent"
    delivered "
orig = open('$BATS_TEST_TMPDIR/orig.eml', 'rb').read()
parts = list(m.iter_parts())
assert parts[0].get_content().startswith('See attached.'), parts[0].get_content()
assert parts[-1].get_content_type() == 'message/rfc822'
b = m.get_boundary().encode()
body = raw.split(b'\n--' + b + b'\n')[-1].split(b'\n\n', 1)[1]
body = body[:body.rindex(b'\n--' + b + b'--')]
assert body == orig, (body, orig)"
    quit_tui
    ls "$MD/cur" | grep -q ':2,.*P'
}

@test "tui compose: p postpones a reply; R resumes it, y sends; the draft goes, the original answered" {
    printf "$ORIG" "$MAIL_TEST_ADDR2" "$MAIL_TEST_ADDR1" > "$MD/new/1700000000.M1P1.test"
    echo "Later." > "$BATS_TEST_TMPDIR/text"
    tui_start tui "$MD"
    wait_screen "1 msgs, 1 unread"
    keys r
    wait_screen "(y) send"
    keys p Enter
    wait_screen "postponed to $DRAFTS"
    [ "$(drafts)" -eq 1 ]
    grep -q '^X-Mail-Draft: reply' "$DRAFTS"/cur/*
    # Not answered by a postpone.
    ! ls "$MD/cur" "$MD/new" | grep -q ':2,.*R' || false
    echo "Now." > "$BATS_TEST_TMPDIR/text"
    keys R
    wait_screen "Subject: Re: Lunch?"
    keys y Enter
    wait_screen "sent"
    delivered '
assert str(m["in-reply-to"]) == "<tc-orig@b.test>"
t = m.get_body(("plain",)).get_content()
assert t.startswith("Now.\nLater.\n"), repr(t)
assert "X-Mail-Draft" not in m'
    [ "$(drafts)" -eq 0 ]
    quit_tui
    ls "$MD/cur" | grep -q ':2,.*R'
}

@test "tui compose: Tab completes addresses in the To prompt (aliases), the last address of the line" {
    mkdir -p "$XDG_CONFIG_HOME/mail"
    printf 'alias bobby Bob Martin <bob@example.org>\nalias news Example News <news@example.net>\n' \
        > "$XDG_CONFIG_HOME/mail/aliases"
    printf "$ORIG" "$MAIL_TEST_ADDR2" "$MAIL_TEST_ADDR1" > "$MD/new/1700000000.M1P1.test"
    tui_start tui "$MD"
    wait_screen "1 msgs, 1 unread"
    keys m
    wait_screen "To:"
    # Several: named above the prompt, the word kept.
    keys 'exampl' Tab
    wait_screen "2 addresses: bob@example.org news@example.net"
    wait_screen "To: exampl"
    # One: it replaces the last address only.
    keys C-u 'carol@x.test, bobb' Tab
    wait_screen "To: carol@x.test, bob@example.org"
    keys Escape
    wait_screen "1 msgs, 1 unread"
    quit_tui
}
