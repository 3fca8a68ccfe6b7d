#!/usr/bin/env bats
# mail compose, the compose menu and postponed drafts, against the
# harness's Postfix (the message read back from Dovecot's Maildir and
# judged by python3's email package).  The terminal is script(1)'s; the
# keys come from its standard input, one answer a line; $EDITOR is a
# script.

load helpers

use_servers

setup() {
    CONF="$BATS_TEST_TMPDIR/config"
    send_setup "$CONF"
    # The account's store, where =Drafts lives.
    mkdir -p "$HOME/Mail/test/cur" "$HOME/Mail/test/new" "$HOME/Mail/test/tmp"
    DRAFTS="$HOME/Mail/test/.Drafts"
    MD="$BATS_TEST_TMPDIR/orig"
    mkdir -p "$MD/cur" "$MD/new" "$MD/tmp"
    # The editor: puts the line in $BATS_TEST_TMPDIR/text (if any) at the
    # top of the text.
    cat > "$BATS_TEST_TMPDIR/editor" <<'EOF'
#!/bin/sh
t="$(dirname "$0")/text"
printf '%s\n' "$1" >> "$(dirname "$0")/edited"
[ -s "$t" ] || exit 0
awk -v add="$(cat "$t")" 'done || NF { print; next } { print; print add; done = 1 }' "$1" > "$1.new" && mv "$1.new" "$1"
EOF
    chmod +x "$BATS_TEST_TMPDIR/editor"
    export EDITOR="$BATS_TEST_TMPDIR/editor" VISUAL=
}

# text LINE: what the editor adds next time.
text() { printf '%s\n' "$1" > "$BATS_TEST_TMPDIR/text"; }

# on_tty LINES ARGS...: run mail with ARGS on a terminal, LINES typed.
on_tty() {
    local keys=$1
    shift
    local cmd="'$MAIL' -C '$CONF'"
    for a in "$@"; do cmd+=" '$a'"; done
    run script -qec "$cmd" /dev/null <<<"$keys"
    echo "$output"
}

# drafts: how many messages the drafts folder holds.
drafts() {
    local n=0
    for d in "$DRAFTS/cur" "$DRAFTS/new"; do
        [[ -d $d ]] && n=$((n + $(ls "$d" | wc -l)))
    done
    echo "$n"
}

draft_file() { ls "$DRAFTS"/cur/* "$DRAFTS"/new/* 2>/dev/null | head -n 1; }

# delivered [ARG...] <<'PY': the last message Postfix delivered to the
# second user, as m (python3's email package) and raw, for the python3
# checks on standard input; sys.argv[2:] are the ARGs.
delivered() {
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    local f
    f=$(maildir_last "$MAIL_TEST_MAILDIR2")
    { printf '%s\n' 'import email, email.policy, sys' \
          'raw = open(sys.argv[1], "rb").read()' \
          'm = email.message_from_bytes(raw, policy=email.policy.default)'
      cat; } | python3 - "$f" "$@"
}

@test "compose: (a) attaches a file at the menu; it arrives intact" {
    head -c 5000 /dev/urandom > "$BATS_TEST_TMPDIR/data.bin"
    text "Here is the file."
    on_tty $'a\n'"$BATS_TEST_TMPDIR/data.bin"$'\ny' compose -s "With a file" "$MAIL_TEST_ADDR2"
    [ "$status" -eq 0 ]
    # The summary: recipients, subject, the attachment with type and size.
    [[ "$output" == *"To:      $MAIL_TEST_ADDR2"* ]]
    [[ "$output" == *"Subject: With a file"* ]]
    [[ "$output" == *"[1] data.bin  (application/octet-stream, 4.9 KiB)"* ]]
    delivered "$BATS_TEST_TMPDIR/data.bin" <<'PY'
assert str(m["subject"]) == "With a file", m["subject"]
parts = list(m.iter_parts())
assert parts[0].get_content().startswith("Here is the file."), parts[0].get_content()
assert parts[1].get_filename() == "data.bin", parts[1].get_filename()
assert parts[1].get_payload(decode=True) == open(sys.argv[2], 'rb').read()
assert "X-Mail-Draft" not in m
PY
    [ "$(drafts)" -eq 0 ]
}

@test "compose: (d) removes an attachment again; (h) changes To and Subject at prompts" {
    printf 'a\n' > "$BATS_TEST_TMPDIR/a.txt"
    printf 'b\n' > "$BATS_TEST_TMPDIR/b.txt"
    text "Body."
    # h: To (the old value erased with readline's ^A ^K), Cc kept, Bcc
    # kept, Subject.
    on_tty "d"$'\n'"2"$'\n'"h"$'\n'$'\x01\x0b'"$MAIL_TEST_ADDR2"$'\n\n\n'$'\x01\x0b'"New subject"$'\ny' \
        compose -s Old -A "$BATS_TEST_TMPDIR/a.txt" -A "$BATS_TEST_TMPDIR/b.txt" "nobody@$MAIL_TEST_DOMAIN"
    [ "$status" -eq 0 ]
    delivered <<'PY'
assert str(m["subject"]) == "New subject", m["subject"]
names = [p.get_filename() for p in m.walk() if p.get_filename()]
assert names == ["a.txt"], names
PY
}

@test "compose: (p) postpones; --resume brings it back; the draft goes only after the send" {
    text "First words."
    on_tty "p" compose -s "Later" "$MAIL_TEST_ADDR2"
    [ "$status" -eq 0 ]
    [[ "$output" == *"postponed to"* ]]
    [ "$(drafts)" -eq 1 ]
    # A real MIME message, flagged Draft (and Seen), nothing sent.
    ls "$DRAFTS/cur" | grep -q ':2,DS$'
    grep -q '^X-Mail-Draft: new' "$(draft_file)"
    sleep 1
    [ "$(maildir_count "$MAIL_TEST_MAILDIR2")" -eq 0 ]
    run "$MAIL" -C "$CONF" ls =Drafts
    echo "$output"
    [[ "$output" == *"Later"* ]]
    # Resumed: the editor sees the text; sent; then the draft is gone.
    text "Second words."
    on_tty "y" compose --resume
    [ "$status" -eq 0 ]
    delivered <<'PY'
assert str(m["subject"]) == "Later", m["subject"]
t = m.get_body(("plain",)).get_content()
assert t.startswith("Second words.\nFirst words."), repr(t)
assert "X-Mail-Draft" not in m
PY
    [ "$(drafts)" -eq 0 ]
}

@test "compose --resume: a failed send keeps the draft; a new draft whose send fails is kept too" {
    text "To someone refused."
    on_tty "p" compose -s "Refused" "nobody@$MAIL_TEST_DOMAIN"
    [ "$(drafts)" -eq 1 ]
    before=$(draft_file)
    on_tty "y" compose --resume
    [ "$status" -eq 67 ]
    [[ "$output" == *"stays in the drafts folder"* ]]
    [ "$(drafts)" -eq 1 ]
    [ "$(draft_file)" = "$before" ]
    # Not postponed first: kept in the drafts folder all the same.
    rm -f "$DRAFTS"/cur/* "$DRAFTS"/new/*
    on_tty "y" compose -s "Refused again" "nobody@$MAIL_TEST_DOMAIN"
    [ "$status" -eq 67 ]
    [[ "$output" == *"postponed to $DRAFTS"* ]]
    [ "$(drafts)" -eq 1 ]
}

@test "compose --resume then (p) again: the new version replaces the old one" {
    text "Version one."
    on_tty "p" compose -s "Twice" "$MAIL_TEST_ADDR2"
    [ "$(drafts)" -eq 1 ]
    text "Version two."
    on_tty "p" compose --resume
    [ "$status" -eq 0 ]
    [ "$(drafts)" -eq 1 ]
    grep -q "Version two." "$(draft_file)"
    grep -q "Version one." "$(draft_file)"
    # Two drafts: the list, and the number picks one.
    on_tty "p" compose -s "Another" "$MAIL_TEST_ADDR2"
    [ "$(drafts)" -eq 2 ]
    run "$MAIL" -C "$CONF" compose --resume </dev/null
    echo "$output"
    [ "$status" -eq 64 ]
    [[ "$output" == *"1  To: $MAIL_TEST_ADDR2  Subject: Twice"* ]]
    [[ "$output" == *"2  To: $MAIL_TEST_ADDR2  Subject: Another"* ]]
    run "$MAIL" -C "$CONF" compose --resume --dry-run 2 </dev/null
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Subject: Another"* ]]
    [ "$(drafts)" -eq 2 ]
}

@test "compose: (q) after an edit asks first; then nothing is sent or kept" {
    text "Throw me away."
    on_tty $'q\nn\nq\ny' compose -s "Gone" "$MAIL_TEST_ADDR2"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Discard your changes?"* ]]
    [[ "$output" == *"not sent"* ]]
    # Unchanged draft: no question.
    rm -f "$BATS_TEST_TMPDIR/text"
    on_tty "x" compose -s "Gone too" "$MAIL_TEST_ADDR2"
    [ "$status" -eq 0 ]
    [[ "$output" != *"Discard your changes?"* ]]
    sleep 1
    [ "$(maildir_count "$MAIL_TEST_MAILDIR2")" -eq 0 ]
    [ "$(drafts)" -eq 0 ]
}

@test "reply: (p) postpones; resumed and sent, the original is marked answered only then" {
    ORIG="$MD/new/1700000000.M1P1.test"
    printf 'From: Bob <%s>\nTo: %s\nSubject: Question\nMessage-ID: <q-1@b.test>\n\nWell?\n' \
        "$MAIL_TEST_ADDR2" "$MAIL_TEST_ADDR1" > "$ORIG"
    text "Answer later."
    on_tty "p" reply "$ORIG"
    [ "$status" -eq 0 ]
    [ "$(drafts)" -eq 1 ]
    grep -q '^X-Mail-Draft: reply' "$(draft_file)"
    grep -q '^In-Reply-To: <q-1@b.test>' "$(draft_file)"
    # Not answered yet.
    ls "$MD/new" | grep -q .
    text "Now the answer."
    on_tty "y" compose --resume
    [ "$status" -eq 0 ]
    delivered <<'PY'
assert str(m["subject"]) == "Re: Question", m["subject"]
assert str(m["in-reply-to"]) == "<q-1@b.test>", m["in-reply-to"]
t = m.get_body(("plain",)).get_content()
assert t.startswith("Now the answer.\nAnswer later.\n"), repr(t)
assert "> Well?" in t, t
PY
    ls "$MD/cur" | grep -q ':2,R$'
    [ "$(drafts)" -eq 0 ]
}

@test "forward --attach: postponed and resumed, the original still goes byte for byte" {
    ORIG="$MD/new/1700000000.M2P1.test"
    printf 'From: Bob <%s>\nSubject: Report\nMessage-ID: <r-1@b.test>\n\nline  \n=3D raw\n' \
        "$MAIL_TEST_ADDR2" > "$ORIG"
    cp "$ORIG" "$BATS_TEST_TMPDIR/orig.eml"
    text "See attached."
    on_tty "p" forward --attach "$ORIG" "$MAIL_TEST_ADDR2"
    [ "$status" -eq 0 ]
    [[ "$output" == *"the forwarded message  (message/rfc822"* ]]
    [ "$(drafts)" -eq 1 ]
    rm -f "$BATS_TEST_TMPDIR/text"
    on_tty "y" compose --resume
    [ "$status" -eq 0 ]
    [[ "$output" == *"forwarded.eml  (message/rfc822"* ]]
    delivered "$BATS_TEST_TMPDIR/orig.eml" <<'PY'
orig = open(sys.argv[2], 'rb').read()
parts = list(m.iter_parts())
assert parts[0].get_content().startswith("See attached."), parts[0].get_content()
assert parts[-1].get_content_type() == "message/rfc822"
b = m.get_boundary().encode()
body = raw.split(b"\n--" + b + b"\n")[-1]
body = body.split(b"\n\n", 1)[1]
body = body[:body.rindex(b"\n--" + b + b"--")]
assert body == orig, (body, orig)
PY
    ls "$MD/cur" | grep -q ':2,P$'
    [ "$(drafts)" -eq 0 ]
}

@test "compose: without a terminal the text comes from standard input; usage errors" {
    run "$MAIL" -C "$CONF" compose -s "Piped" "$MAIL_TEST_ADDR2" <<<"From a pipe."
    echo "$output"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    grep -q "From a pipe." "$(maildir_last "$MAIL_TEST_MAILDIR2")"
    run "$MAIL" -C "$CONF" compose --resume -s x
    [ "$status" -eq 64 ]
    run "$MAIL" -C "$CONF" compose --resume </dev/null
    echo "$output"
    [ "$status" -eq 66 ]
    [[ "$output" == *"no postponed drafts"* ]]
    run "$MAIL" -C "$CONF" compose -A "$BATS_TEST_TMPDIR/missing" "$MAIL_TEST_ADDR2" </dev/null
    [ "$status" -eq 66 ]
}

@test "compose: (p) that cannot save says why and leaves the menu; y then sends" {
    write_config "$CONF" "timeout=5" "store="
    text "Still here."
    on_tty $'p\ny' compose -s "Not postponed" "$MAIL_TEST_ADDR2"
    [ "$status" -eq 0 ]
    [[ "$output" == *"has no drafts-folder and no store to keep drafts in"* ]]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    grep -q "Still here." "$(maildir_last "$MAIL_TEST_MAILDIR2")"
}

# imap_drafts: how many messages imap:Drafts holds, and their subjects.
imap_drafts() {
    "$MAIL" -C "$CONF" ls --json imap:Drafts | python3 -c '
import json, sys
l = json.load(sys.stdin)
print(len(l), " ".join(sorted(m["subject"] for m in l)), " ".join(sorted(",".join(m["flags"]) for m in l)))'
}

@test "drafts-folder = imap:Drafts: postponed on the server, replaced, removed after the send" {
    write_config "$CONF" "timeout=5" "drafts-folder=imap:Drafts"
    text "On the server."
    on_tty "p" compose -s "Remote draft" "$MAIL_TEST_ADDR2"
    [ "$status" -eq 0 ]
    [[ "$output" == *"postponed to imap:Drafts"* ]]
    run imap_drafts
    echo "$output"
    [[ "$output" == "1 Remote draft "*draft* ]]
    # Postponed again: one draft, the new version.
    text "Second version."
    on_tty "p" compose --resume
    [ "$status" -eq 0 ]
    run imap_drafts
    echo "$output"
    [[ "$output" == "1 Remote draft "* ]]
    text "Sent from the server."
    on_tty "y" compose --resume
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    f=$(maildir_last "$MAIL_TEST_MAILDIR2")
    grep -q "Sent from the server." "$f"
    grep -q "Second version." "$f"
    run imap_drafts
    echo "$output"
    [[ "$output" == "0 "* ]]
    [ "$(drafts)" -eq 0 ]
}

@test "reply to a message in imap:INBOX: postponed, resumed, sent; the original answered on the server" {
    printf 'From: Bob <%s>\nTo: %s\nSubject: On the server\nMessage-ID: <srv-1@b.test>\n\nWell?\n' \
        "$MAIL_TEST_ADDR2" "$MAIL_TEST_ADDR1" > "$BATS_TEST_TMPDIR/m1"
    maildir_add "$MAIL_TEST_MAILDIR1" "$BATS_TEST_TMPDIR/m1" >/dev/null
    run "$MAIL" -C "$CONF" ls imap:INBOX
    echo "$output"
    [[ "$output" == *"On the server"* ]]
    text "Later."
    on_tty "p" reply -f imap:INBOX 1
    [ "$status" -eq 0 ]
    grep -q '^X-Mail-Draft-Folder: imap:INBOX' "$(draft_file)"
    flags() {
        "$MAIL" -C "$CONF" ls --json imap:INBOX | python3 -c '
import json, sys
print(" ".join(",".join(m["flags"]) for m in json.load(sys.stdin)))'
    }
    run flags
    [[ "$output" != *answered* ]]
    on_tty "y" compose --resume
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    run flags
    echo "$output"
    [[ "$output" == *answered* ]]
}

@test "compose: the editor gets the draft in a .eml file (editors choose their mail mode by the name)" {
    text "Hello."
    on_tty $'q\ny' compose -s "Named" "$MAIL_TEST_ADDR2"
    [ "$status" -eq 0 ]
    cat "$BATS_TEST_TMPDIR/edited"
    grep -Eq '/mail-[A-Za-z0-9]{6}[.]eml$' "$BATS_TEST_TMPDIR/edited"
}
