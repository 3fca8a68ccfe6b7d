#!/usr/bin/env bats
# mail flag, mail mv and mail rm: what changes on disk, and that message
# numbers keep naming the same messages until the next ls.

load helpers

setup() {
    isolate_home
    unset COLUMNS NO_COLOR
    T="$BATS_TEST_TMPDIR"
    cp -R "$MAIL_SOURCE_ROOT/examples/Maildir" "$T/Mail"
    cp "$MAIL_SOURCE_ROOT/examples/inbox.mbox" "$T/inbox.mbox"
    mkdir -p "$XDG_CONFIG_HOME/mail"
    printf '[account "t"]\n    address = Alice <alice@example.net>\n    store = %s\n' \
        "$T/Mail" > "$XDG_CONFIG_HOME/mail/config"
}

# The one file of the Maildir $1 whose name starts with $2.
file_of() {
    local f
    f=$(ls "$1"/cur/"$2".* "$1"/new/"$2".* 2>/dev/null)
    [ "$(printf '%s\n' "$f" | grep -c .)" -eq 1 ] || return 1
    printf '%s\n' "$f"
}

# The message of an mboxrd file with Message-ID $2, unquoted, without its
# From_ line and separating blank line: what a Maildir copy must hold.
mbox_message() {
    python3 - "$1" "$2" <<'PY'
import re, sys
data = open(sys.argv[1], 'rb').read()
msgs = re.split(rb'(?:^|\n)From [^\n]*\n', data)[1:]
for m in msgs:
    if ('Message-ID: ' + sys.argv[2]).encode() in m:
        if m.endswith(b'\n\n'):
            m = m[:-1]
        m = re.sub(rb'(?m)^>(>*From )', rb'\1', m)
        sys.stdout.buffer.write(m)
        break
else:
    sys.exit(1)
PY
}

@test "flag: +seen moves a new message to cur/ with S; round trips" {
    "$MAIL" ls > /dev/null
    f=$(file_of "$T/Mail" 1795137120)
    [[ "$f" == */new/* ]]
    run "$MAIL" flag 8 +seen
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    f=$(file_of "$T/Mail" 1795137120)
    [[ "$f" == */cur/1795137120.M107777P4007.mail.example:2,S ]]
    # The same number still works after the rename, for every flag word.
    run "$MAIL" flag 8 +flagged +answered +draft
    [ "$status" -eq 0 ]
    [[ "$(file_of "$T/Mail" 1795137120)" == *:2,DFRS ]]
    run "$MAIL" flag 8 -draft -answered
    [[ "$(file_of "$T/Mail" 1795137120)" == *:2,FS ]]
    # Flag words may come first, and -f/--folder names the folder.
    run "$MAIL" flag -seen -flagged --folder "$T/Mail" 8
    [ "$status" -eq 0 ]
    [[ "$(file_of "$T/Mail" 1795137120)" == */cur/*:2, ]]
    run "$MAIL" ls --json -n 3 "$T/Mail"
    [[ "$output" == *'"flags":[]'* ]]
}

@test "flag: ranges, lists, message-ids and paths" {
    "$MAIL" ls > /dev/null
    run "$MAIL" flag 2-3,5 +flagged
    [ "$status" -eq 0 ]
    [[ "$(file_of "$T/Mail" 1791187331)" == *:2,FRS ]]
    [[ "$(file_of "$T/Mail" 1791297600)" == *:2,FS ]]
    [[ "$(file_of "$T/Mail" 1793599200)" == *:2,FS ]]
    [[ "$(file_of "$T/Mail" 1791359730)" == *:2, ]]
    run "$MAIL" flag '<offsite-3@example.org>' +seen
    [ "$status" -eq 0 ]
    [[ "$(file_of "$T/Mail" 1791359730)" == *:2,S ]]
    # A path: no folder and no listing needed.
    rm -rf "$XDG_STATE_HOME"
    run "$MAIL" flag "$(file_of "$T/Mail" 1764580500)" +flagged
    [ "$status" -eq 0 ]
    [[ "$(file_of "$T/Mail" 1764580500)" == *:2,FS ]]
}

@test "flag: usage errors 64, unknown messages 66" {
    "$MAIL" ls > /dev/null
    run "$MAIL" flag 1 +bogus
    [ "$status" -eq 64 ]
    [[ "$output" == *"unknown flag 'bogus'"* ]]
    run "$MAIL" flag 1 -bogus
    [ "$status" -eq 64 ]
    run "$MAIL" flag 1
    [ "$status" -eq 64 ]
    run "$MAIL" flag +seen
    [ "$status" -eq 64 ]
    run "$MAIL" flag 1 +seen -seen
    [ "$status" -eq 64 ]
    run "$MAIL" flag 3-1 +seen
    [ "$status" -eq 64 ]
    run "$MAIL" flag 'what?' +seen
    [ "$status" -eq 64 ]
    run "$MAIL" flag 11 +seen
    [ "$status" -eq 66 ]
    [[ "$output" == *"no message 11"* ]]
    run "$MAIL" flag '<nosuch@example.org>' +seen
    [ "$status" -eq 66 ]
    run "$MAIL" flag -f "$T/nosuch" 1 +seen
    [ "$status" -eq 66 ]
    # Numbers need a listing of that folder.
    run "$MAIL" flag -f "$T/inbox.mbox" 1 +seen
    [ "$status" -eq 66 ]
    [[ "$output" == *"mail ls"* ]]
    # A listing that showed nothing.
    "$MAIL" ls "$T/inbox.mbox" nothing-matches-this > /dev/null
    run "$MAIL" flag -f "$T/inbox.mbox" 1 +seen
    [ "$status" -eq 66 ]
    [[ "$output" == *"no message 1 in the last listing"*"showed 0"* ]]
}

@test "flag: in an mbox, written to Status and kept by number" {
    "$MAIL" ls "$T/inbox.mbox" > /dev/null
    run "$MAIL" flag -f "$T/inbox.mbox" 2 +seen +flagged
    [ "$status" -eq 0 ]
    run "$MAIL" ls --json "$T/inbox.mbox"
    printf '%s' "$output" > "$T/j"
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d[1]["subject"] == "Lunch on Friday?" and sorted(d[1]["flags"]) == ["flagged", "seen"], d[1]
assert d[0]["flags"] == ["seen"] and d[2]["flags"] == [], d
' "$T/j"
    # The file was rewritten, so the offsets moved: the numbers of the
    # last listing still name the same messages.
    "$MAIL" ls "$T/inbox.mbox" > /dev/null
    run "$MAIL" flag -f "$T/inbox.mbox" 1 +answered
    run "$MAIL" flag -f "$T/inbox.mbox" 3 +seen
    [ "$status" -eq 0 ]
    run "$MAIL" ls --json "$T/inbox.mbox"
    printf '%s' "$output" > "$T/j"
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d[2]["subject"] == "Programme de d\u00e9cembre" and d[2]["flags"] == ["seen"], d[2]
assert sorted(d[0]["flags"]) == ["answered", "seen"], d[0]
' "$T/j"
}

@test "mv: Maildir to mbox and back, byte for byte" {
    orig=$(file_of "$T/Mail" 1795137120)
    cp "$orig" "$T/orig"
    "$MAIL" ls > /dev/null
    run "$MAIL" mv 8 "$T/inbox.mbox"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    ! file_of "$T/Mail" 1795137120 || false
    mbox_message "$T/inbox.mbox" '<minutes-1120@example.net>' > "$T/in-mbox"
    cmp "$T/orig" "$T/in-mbox"
    "$MAIL" ls "$T/inbox.mbox" > /dev/null
    run "$MAIL" mv -f "$T/inbox.mbox" 4 "$T/Mail"
    [ "$status" -eq 0 ]
    back=$(grep -l 'minutes-1120@example.net' "$T"/Mail/new/* "$T"/Mail/cur/*)
    cmp "$T/orig" "$back"
    ! grep -q minutes-1120 "$T/inbox.mbox" || false
}

@test "mv: mbox to Maildir unquotes >From lines, byte for byte" {
    mbox_message "$T/inbox.mbox" '<lunch-1@example.org>' > "$T/want"
    grep -q '^From what Carol said' "$T/want"
    grep -q '^>From the old days' "$T/want"
    "$MAIL" ls "$T/inbox.mbox" > /dev/null
    run "$MAIL" mv --create --folder "$T/inbox.mbox" 2 =Archive
    [ "$status" -eq 0 ]
    # =NAME of the store is created.
    [ -d "$T/Mail/.Archive/cur" ] && [ -d "$T/Mail/.Archive/tmp" ]
    got=$(find "$T/Mail/.Archive/new" "$T/Mail/.Archive/cur" -type f)
    cmp "$T/want" "$got"
    run "$MAIL" ls "$T/inbox.mbox"
    [ "${#lines[@]}" -eq 2 ]
    # And the other way: quoted again in the mbox.
    "$MAIL" ls =Archive > /dev/null
    run "$MAIL" mv -f =Archive 1 "$T/inbox.mbox"
    [ "$status" -eq 0 ]
    grep -q '^>From what Carol said' "$T/inbox.mbox"
    grep -q '^>>From the old days' "$T/inbox.mbox"
}

@test "mv: flags go along" {
    "$MAIL" ls > /dev/null
    run "$MAIL" mv --create 7 =Archive
    [ "$status" -eq 0 ]
    [[ "$(file_of "$T/Mail/.Archive" 1794759605)" == */cur/*:2,FS ]]
    "$MAIL" ls =Archive > /dev/null
    run "$MAIL" mv -f =Archive 1 "$T/inbox.mbox"
    [ "$status" -eq 0 ]
    run "$MAIL" ls --json "$T/inbox.mbox"
    [[ "$output" == *'"flags":["seen","flagged"]'*'"subject":"Unterlagen für das Projekt"'* ]]
}

@test "mv: numbers of the last ls stay valid, in Maildir and mbox" {
    "$MAIL" ls > /dev/null
    run "$MAIL" mv --create 2 4 =Archive
    [ "$status" -eq 0 ]
    run "$MAIL" flag 3 +flagged
    [ "$status" -eq 0 ]
    [[ "$(file_of "$T/Mail" 1791297600)" == *:2,FS ]]
    run "$MAIL" flag 5 +flagged
    [[ "$(file_of "$T/Mail" 1793599200)" == *:2,FS ]]
    run "$MAIL" flag 2 +seen
    [ "$status" -eq 66 ]
    [[ "$output" == *"no longer"* ]]
    # mbox: the file is rewritten and offsets change.
    "$MAIL" ls "$T/inbox.mbox" > /dev/null
    run "$MAIL" mv -f "$T/inbox.mbox" 1 =Archive
    [ "$status" -eq 0 ]
    run "$MAIL" mv -f "$T/inbox.mbox" 3 =Archive
    [ "$status" -eq 0 ]
    run "$MAIL" ls -F '%s' =Archive
    [[ "$output" == *"Nightly backup finished"* ]]
    [[ "$output" == *"Programme de décembre"* ]]
    run "$MAIL" ls -F '%s' "$T/inbox.mbox"
    [ "$output" = "Lunch on Friday?" ]
}

@test "mv: usage errors" {
    "$MAIL" ls > /dev/null
    run "$MAIL" mv 1
    [ "$status" -eq 64 ]
    run "$MAIL" mv
    [ "$status" -eq 64 ]
    run "$MAIL" mv 1 "$T/Mail"
    [ "$status" -eq 64 ]
    [[ "$output" == *"already in"* ]]
    # A path destination is not created.
    run "$MAIL" mv 1 "$T/nosuch"
    [ "$status" -eq 66 ]
    [ ! -e "$T/nosuch" ]
    run "$MAIL" mv 1 imap:Archive
    [ "$status" -eq 78 ]    # imap: works, but this account has no server
    [[ "$output" == *"no imap server"* ]]
}

@test "rm: to the trash folder, created when missing; numbers stay" {
    "$MAIL" ls > /dev/null
    run "$MAIL" rm 1 3
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [ -n "$(file_of "$T/Mail/.Trash" 1764580500)" ]
    [ -n "$(file_of "$T/Mail/.Trash" 1791297600)" ]
    ! file_of "$T/Mail" 1764580500 || false
    run "$MAIL" rm 2
    [ "$status" -eq 0 ]
    [ -n "$(file_of "$T/Mail/.Trash" 1791187331)" ]
    run "$MAIL" ls -F %s =Trash
    [ "${#lines[@]}" -eq 3 ]
    # Removing from the trash deletes for good.
    run "$MAIL" rm -f =Trash 1
    [ "$status" -eq 0 ]
    ! file_of "$T/Mail/.Trash" 1764580500 || false
    ! file_of "$T/Mail" 1764580500 || false
}

@test "rm: trash-folder from the config" {
    printf '    trash-folder = Bin\n' >> "$XDG_CONFIG_HOME/mail/config"
    "$MAIL" ls > /dev/null
    run "$MAIL" rm 5
    [ "$status" -eq 0 ]
    [ -n "$(file_of "$T/Mail/.Bin" 1793599200)" ]
}

@test "rm --expunge: gone for good, from Maildir and mbox" {
    "$MAIL" ls > /dev/null
    run "$MAIL" rm --expunge 4
    [ "$status" -eq 0 ]
    ! file_of "$T/Mail" 1791359730 || false
    [ ! -e "$T/Mail/.Trash" ]
    "$MAIL" ls "$T/inbox.mbox" > /dev/null
    run "$MAIL" rm --expunge -f "$T/inbox.mbox" 2
    [ "$status" -eq 0 ]
    ! grep -q lunch-1 "$T/inbox.mbox" || false
    run "$MAIL" ls -F %s "$T/inbox.mbox"
    [ "${#lines[@]}" -eq 2 ]
    run "$MAIL" rm --expunge -f "$T/inbox.mbox" 3
    [ "$status" -eq 66 ]
}

@test "rm: no store for the trash is 78; a bad number leaves no trash" {
    "$MAIL" ls > /dev/null
    run "$MAIL" rm 42
    [ "$status" -eq 66 ]
    [ ! -e "$T/Mail/.Trash" ]
    run "$MAIL" rm
    [ "$status" -eq 64 ]
    printf '[account "t"]\n    address = a@example.net\n' > "$XDG_CONFIG_HOME/mail/config"
    "$MAIL" ls "$T/inbox.mbox" > /dev/null
    run "$MAIL" rm -f "$T/inbox.mbox" 1
    [ "$status" -eq 78 ]
    [[ "$output" == *"--expunge"* ]]
    grep -q backup-1118 "$T/inbox.mbox"
}

@test "flag, mv, rm: a folder where a message goes is a usage error pointing at -f, and nothing changes" {
    "$MAIL" ls > /dev/null
    before=$(find "$T/Mail" -type f | sort)
    # The default folder exists here, so on the old code these either
    # acted on it or failed with its error instead of naming the folder.
    run "$MAIL" rm imap:INBOX 1
    [ "$status" -eq 64 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "mail rm: 'imap:INBOX' is a folder, not a message: give it with -f (mail rm -f imap:INBOX ...)"* ]]
    run "$MAIL" mv =Work 1 =Archive
    [ "$status" -eq 64 ]
    [[ "$output" == *"'=Work' is a folder, not a message: give it with -f"* ]]
    run "$MAIL" flag 1 =Work +seen
    [ "$status" -eq 64 ]
    [[ "$output" == *"'=Work' is a folder"* ]]
    [ "$(find "$T/Mail" -type f | sort)" = "$before" ]
}
