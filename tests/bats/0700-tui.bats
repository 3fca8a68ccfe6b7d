#!/usr/bin/env bats
# The reader (mail tui), driven in tmux as a person would: keys in with
# send-keys, the screen out with capture-pane (tui_helpers.bash), on the
# sample Maildir and mbox of examples/ and on a folder of crafted
# messages.  Every wait polls the screen (up to 5 s); no fixed sleeps.

load helpers
load tui_helpers

# The reply test sends through the harness's Postfix.
use_servers

setup() {
    tui_setup
    cp -R "$MAIL_SOURCE_ROOT/examples/Maildir" "$T/Maildir"
    cp "$MAIL_SOURCE_ROOT/examples/inbox.mbox" "$T/inbox.mbox"
}

teardown() {
    [ -n "${SOCK:-}" ] && tmux -S "$SOCK" kill-server 2>/dev/null || true
    teardown_stall
}

@test "tui: opens the sample folder at the first unread message, with the columns of mail ls" {
    tui_start tui "$T/Maildir"
    wait_screen "10 msgs, 4 unread"
    # The rows are mail ls's rows at 80 columns (one formatter, in the
    # library: the cut of row 10 included); the selected row 4 is padded
    # with its reverse video.
    COLUMNS=80 run "$MAIL" ls "$T/Maildir"
    [ "$status" -eq 0 ]
    local shown
    shown=$(screen)
    [[ "$(printf '%s\n' "$shown" | sed -n 4p)" == "${lines[3]}"* ]]
    for i in 0 1 2 4 5 6 7 8 9; do
        printf '%s\n' "$shown" | grep -qxF -- "${lines[$i]}" ||
            { echo "row $((i + 1)) differs: ${lines[$i]}"; printf '%s\n' "$shown"; false; }
    done
    # The first unread message is 4: Enter opens it.
    keys Enter
    wait_screen "[4/10]"
    wait_screen "Subject: Re: Team offsite in Lisbon"
    wait_screen "From: Bob Martin <bob@example.org>"
    quit_tui
}

@test "tui: j/k, g/G and arrows move; Enter opens, q goes back, n/p in the pager" {
    tui_start tui "$T/Maildir"
    wait_screen "10 msgs"
    keys k k Enter
    wait_screen "[2/10]"
    wait_screen "Subject: Team offsite in Lisbon"
    keys n
    wait_screen "[3/10]"
    keys p p
    wait_screen "[1/10]"
    wait_screen "Welcome to your sample mailbox"
    keys q
    wait_gone "[1/10]"
    wait_screen " msgs, "
    keys G Enter
    wait_screen "[10/10]"
    keys q Home Down Down Enter
    wait_screen "[3/10]"
    keys q End Up Enter
    wait_screen "[9/10]"
    keys q
    wait_gone "[9/10]"
    # ? shows every key, q leaves it.
    keys '?'
    wait_screen "Keys of the index"
    wait_screen "mark for deletion"
    keys q
    wait_gone "Keys of the index"
    quit_tui
}

@test "tui: reading marks seen; F flags, N toggles new; mail ls sees the changes" {
    tui_start tui "$T/Maildir"
    wait_screen "10 msgs, 4 unread, 1 flagged"
    keys Enter
    wait_screen "[4/10]"
    keys q
    wait_screen "3 unread"
    keys Home F
    wait_screen "2 flagged"
    keys G N
    wait_screen "2 unread"
    quit_tui
    COLUMNS=80 run "$MAIL" ls "$T/Maildir"
    [[ "${lines[3]}" == " 4     "* ]]       # read now
    [[ "${lines[0]}" == " 1   F "* ]]       # flagged
    [[ "${lines[9]}" == "10     "* ]]       # toggled to read
}

@test "tui: d marks, u unmarks, \$ expunges; mail ls confirms (Maildir and mbox)" {
    for folder in "$T/Maildir" "$T/inbox.mbox"; do
        COLUMNS=80 run "$MAIL" ls "$folder"
        local n=${#lines[@]} second=${lines[1]}
        tui_start tui "$folder"
        wait_screen "$n msgs"
        keys Home d
        wait_screen "1 deleted"
        keys d
        wait_screen "2 deleted"
        keys k u
        wait_screen "1 deleted"
        keys '$'
        wait_screen "1 expunged"
        wait_screen "$((n - 1)) msgs, "
        quit_tui
        tmux -S "$SOCK" kill-server
        COLUMNS=80 run "$MAIL" ls "$folder"
        [ "$status" -eq 0 ]
        [ "${#lines[@]}" -eq $((n - 1)) ]
        # The second message is the first now: only the first went.
        # (the date column may be narrower now: blanks squeezed)
        [ "$(printf '%s' "${lines[0]:2}" | tr -s ' ')" = \
          "$(printf '%s' "${second:2}" | tr -s ' ')" ] ||
            { echo "$folder: ${lines[0]} / $second"; false; }
    done
}

@test "tui: resizing redraws the index and the pager at the new size" {
    tui_start tui "$T/Maildir"
    wait_screen "10 msgs"
    # At 80 columns the subject of 10 is cut.
    wait_screen "Account notice ^[[31mURGENT^[[0m ^[]…"
    tmux -S "$SOCK" resize-window -t t -x 132 -y 30
    wait_screen "Account notice ^[[31mURGENT^[[0m ^[]0;owned^G"
    # The status line moved to the new last line.
    [ "$(screen | wc -l)" -eq 30 ]
    wait_status "10 msgs"
    tmux -S "$SOCK" resize-window -t t -x 50 -y 12
    wait_gone "Account notice ^[[31mURGENT^[[0m ^[]0;owned"
    [ "$(screen | wc -l)" -eq 12 ]
    wait_status "10 msgs"
    run screen
    for l in "${lines[@]}"; do
        [ "$(printf '%s' "$l" | wc -m)" -le 50 ] || { echo "too wide: $l"; false; }
    done
    # The pager too: open a message, resize, still there.
    keys Enter
    wait_screen "[4/10]"
    tmux -S "$SOCK" resize-window -t t -x 90 -y 20
    wait_screen "Subject: Re: Team offsite in Lisbon"
    [ "$(screen | wc -l)" -eq 20 ]
    quit_tui
}

# A Maildir of crafted messages: escape sequences, bidi controls, C1, CJK
# and combining characters in senders and subjects.
crafted_folder() {
    local d=$T/crafted i=0
    mkdir -p "$d/cur" "$d/new" "$d/tmp"
    msg() {
        i=$((i + 1))
        printf 'From: %s\nTo: a@example.net\nSubject: %s\nDate: Mon, %d Jan 2024 10:00:00 +0000\nMessage-ID: <c%d@example.net>\n\n%s\n' \
            "$1" "$2" "$((i + 1))" "$i" "$3" > "$d/cur/170000000$i.M$i.host:2,S"
    }
    msg 'Evil <evil@example.net>' $'Clear \e[2J\e]0;title\a screen' $'Body \e[31mred\e[0m text'
    msg $'Bidi \u202eevil\u202c <b@example.net>' 'Bidi in the sender' 'plain'
    msg '=?UTF-8?B?5bGx55SwIOiKseWtkA==?= <yamada@example.jp>' '=?UTF-8?B?5LyB55S75Lya6K2w44Gu6K2w5LqL6Yyy?=' 'wide'
    msg 'Cafe' $'Cafe\xcc\x81 combining' 'combining'
    msg '=?UTF-8?B?8J+YgCBFbW9qaQ==?= <e@example.net>' '=?UTF-8?B?8J+OiSBwYXJ0eQ==?=' 'emoji'
    msg $'C1 \xc2\x9b31m <c1@example.net>' $'Subject with \xc2\x9b C1' 'c1'
}

@test "tui: crafted escapes, bidi controls and wide characters are shown defused and aligned" {
    crafted_folder
    tui_start tui "$T/crafted"
    wait_screen "6 msgs"
    local s
    s=$(screen)
    printf '%s\n' "$s"
    # Escape sequences and bidi controls are shown, never acted on.
    [[ "$s" == *'Clear ^[[2J^[]0;title^G screen'* ]]
    [[ "$s" == *'Bidi <U+202E>evil<U…'* ]]
    [[ "$s" == *'山田 花子'* && "$s" == *'企画会議の議事録'* ]]
    [[ "$s" == *'<U+009B>'* ]]
    # The date, sender and subject columns start at the same display
    # column on every row, whatever the widths of the characters before.
    printf '%s\n' "$s" | head -n 6 | python3 -c '
import sys, unicodedata
def width(t):
    w = 0
    for ch in t:
        if unicodedata.combining(ch):
            continue
        w += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return w
rows = [l.rstrip("\n") for l in sys.stdin]
starts = set()
for l in rows:
    # number, flags, date, then the sender after two blanks, the subject
    # after the sender column: find the subject by its known start.
    for subj in ("Clear", "Bidi in", "企画", "Cafe", "🎉", "Subject with"):
        k = l.find(subj, 30)
        if k >= 0:
            starts.add(width(l[:k]))
            break
    else:
        sys.exit("no subject in: " + l)
    assert width(l[:l.find("2024-")]) == 7, l
if len(starts) != 1:
    sys.exit("subjects start at columns %s" % sorted(starts))
'
    # The body in the pager is defused as well.
    keys Home Enter
    wait_screen "[1/6]"
    wait_screen 'Body ^[[31mred^[[0m text'
    quit_tui
}

@test "tui: a folder name with a bidi control is defused in the status line" {
    crafted_folder
    local d=$T/x$'\u202e'lived
    mv "$T/crafted" "$d"
    tui_start tui "$d"
    wait_screen "6 msgs"
    status_line
    [[ "$(status_line)" == *'x<U+202E>lived'* ]]
    [[ "$(status_line)" != *$'\u202e'* ]]
    quit_tui
}

@test "tui: mail with no command on a terminal opens the reader on the inbox" {
    mkdir -p "$XDG_CONFIG_HOME/mail"
    printf '[account "t"]\n    address = Alice <alice@example.net>\n    store = %s\n' \
        "$T/Maildir" > "$XDG_CONFIG_HOME/mail/config"
    tui_start
    wait_screen "INBOX  10 msgs"
    quit_tui
    # Not on a terminal: the usage, 64.
    run "$MAIL" </dev/null
    [ "$status" -eq 64 ]
    run "$MAIL" tui "$T/Maildir" </dev/null
    [ "$status" -eq 64 ]
}

# The screen with its attributes as SGR sequences.
screen_sgr() {
    tmux -S "$SOCK" capture-pane -p -e -t t
}

@test "tui: a missing folder exits 66 before taking the screen" {
    tui_start tui "$T/nonexistent"
    wait_screen "EXITED 66"
    [[ "$(screen)" == *"mail: "*"nonexistent"* ]]
}

@test "tui: unread and flagged rows in color; none under NO_COLOR, bold stays" {
    tui_start tui "$T/Maildir"
    wait_screen "10 msgs"
    screen_sgr | grep -qE $'\e\\[([0-9;]*;)?36(;|m)'      # unread: cyan
    screen_sgr | grep -qE $'\e\\[([0-9;]*;)?31(;|m)'      # flagged: red
    quit_tui
    tmux -S "$SOCK" kill-server
    NO_COLOR=1 tui_start tui "$T/Maildir"
    wait_screen "10 msgs"
    if screen_sgr | grep -qE $'\e\\[([0-9;]*;)?[34][0-7](;|m)'; then
        echo "a color under NO_COLOR"; screen_sgr | cat -v; false
    fi
    screen_sgr | grep -qE $'\e\\[([0-9;]*;)?1(;|m)'       # unread: bold
    quit_tui
}

# ---- search, limit, threads, sort, save, pipe, folders, [tui] ----

@test "tui: / searches with the query language of mail ls, n goes to the next match" {
    tui_start tui "$T/Maildir"
    wait_screen "10 msgs"
    keys / 'from:carol' Enter
    wait_screen "1 match"
    keys Enter
    wait_screen "[3/10]"
    wait_screen "From: Carol Dupont"
    keys q
    wait_gone "[3/10]"
    # Two matches: n goes from one to the other, and wraps.
    keys Home / 'subject:"team offsite"' Enter
    wait_screen "3 matches"
    keys Enter
    wait_screen "[2/10]"
    keys q n n Enter
    wait_screen "[4/10]"
    keys q n Enter
    wait_screen "[2/10]"
    keys q
    # A syntax error says so and changes nothing.
    keys / '(from:a' Enter
    wait_screen "error: query:"
    quit_tui
}

@test "tui: l limits the index to the matching messages, an empty l shows all" {
    tui_start tui "$T/Maildir"
    wait_screen "10 msgs"
    keys l 'from:bob' Enter
    wait_screen "(2 shown, limit: from:bob)"
    wait_gone "Carol Dupont"
    wait_gone "Mail Toolkit"
    [ "$(screen | grep -c 'Bob Martin')" -eq 2 ]
    # The pager's n stays within the limit.
    keys Home Enter
    wait_screen "[2/10]"
    keys n
    wait_screen "[4/10]"
    keys n
    wait_screen "no next message"
    keys q l Enter
    wait_gone "shown, limit"
    wait_screen "Carol Dupont"
    quit_tui
}

@test "tui: t threads the index with tree marks, o and O sort by the keys of mail ls" {
    tui_start tui "$T/Maildir"
    wait_screen "10 msgs"
    keys t
    wait_screen "[threads]"
    wait_screen "Carol Dupont          └─>Re: Team offsite in Lisbon"
    wait_screen "Bob Martin              └─>Re: Team offsite in Lisbon"
    keys t
    wait_gone "[threads]"
    wait_gone "└─>"
    # o: date, from, subject, size, delivery again; the rows follow
    # mail ls -S.
    local key
    for key in date from subject size; do
        keys o
        wait_screen "[sort: $key]"
        COLUMNS=80 run "$MAIL" ls -S "$key" "$T/Maildir"
        [ "$status" -eq 0 ]
        # Same messages in the same order (the numbers differ: the reader
        # keeps the folder's).
        diff <(printf '%s\n' "${lines[@]}" | cut -c4- | sed 's/ *$//') \
             <(screen | head -n 10 | cut -c4- | sed 's/ *$//')
    done
    keys O
    wait_screen "[sort: size, reversed]"
    COLUMNS=80 run "$MAIL" ls -S size -r "$T/Maildir"
    diff <(printf '%s\n' "${lines[@]}" | cut -c4- | sed 's/ *$//') \
         <(screen | head -n 10 | cut -c4- | sed 's/ *$//')
    keys o
    wait_screen "[sort: delivery, reversed]"
    keys O
    wait_gone "[sort:"
    quit_tui
}

@test "tui: s saves a message to another folder and marks it deleted" {
    tui_start tui "$T/Maildir"
    wait_screen "10 msgs"
    keys Home s "$T/Saved" Enter
    wait_screen "saved"
    wait_screen "1 deleted"
    quit_tui
    run "$MAIL" ls "$T/Saved"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "${lines[0]}" == *"Mail Toolkit"*"Welcome to your sample mailbox"* ]]
    run "$MAIL" ls "$T/Maildir"
    [[ "${lines[0]}" == " 1   T "* ]]
}

@test "tui: | pipes the message to a command, the screen comes back after it" {
    tui_start tui "$T/Maildir"
    wait_screen "10 msgs"
    keys Home Down '|' "cat > $T/piped" Enter
    wait_screen "Press Enter to go back to mail."
    keys Enter
    wait_screen "the command exited 0"
    wait_screen "10 msgs"
    # The whole message went, byte for byte.
    local f
    f=$(grep -l "^Subject: Team offsite in Lisbon" "$T"/Maildir/*/* | head -n 1)
    cmp "$f" "$T/piped"
    # A failing command: its status is shown.
    keys '|' "exit 3" Enter
    wait_screen "Press Enter to go back to mail."
    keys Enter
    wait_screen "the command exited 3"
    quit_tui
}

@test "tui: c changes folder; y lists the store's folders with unread counts" {
    mkdir -p "$XDG_CONFIG_HOME/mail"
    printf '[account "t"]\n    address = Alice <alice@example.net>\n    store = %s\n' \
        "$T/Maildir" > "$XDG_CONFIG_HOME/mail/config"
    mkdir -p "$T/Maildir/.Lists/cur" "$T/Maildir/.Lists/new" "$T/Maildir/.Lists/tmp"
    cp "$T/Maildir/cur/"* "$T/Maildir/.Lists/cur/"
    tui_start tui
    wait_screen "INBOX  10 msgs"
    keys c "$T/inbox.mbox" Enter
    wait_screen "inbox.mbox  3 msgs, 2 unread"
    wait_screen "Lunch on Friday?"
    keys y
    wait_screen "INBOX"
    # unread, total, name
    local s
    s=$(screen)
    [[ "$s" == *"     4     10  INBOX"* ]] || { printf '%s\n' "$s"; false; }
    local total unread
    total=$(ls "$T/Maildir/.Lists/cur" | wc -l)
    unread=$(ls "$T/Maildir/.Lists/cur" | grep -vc ':2,.*S' || true)
    [[ "$s" == *"$(printf '%6d %6d  Lists' "$unread" "$total")"* ]] || { printf '%s\n' "$s"; false; }
    keys Down Enter
    wait_screen "=Lists  $total msgs"
    # A folder that is not there: an error, the folder stays.
    keys c '=Nope' Enter
    wait_screen "error:"
    wait_screen "=Lists  $total msgs"
    quit_tui
}

@test "tui: [tui] bind and color; ? lists the rebound key; bad names exit 78 with file and line" {
    mkdir -p "$XDG_CONFIG_HOME/mail"
    cat > "$XDG_CONFIG_HOME/mail/config" <<CFG
[tui]
    bind = index x delete-message
    bind = index d noop
    color = index-unread bold green
CFG
    tui_start tui "$T/Maildir"
    wait_screen "10 msgs"
    screen_sgr | grep -qE $'\e\\[([0-9;]*;)?32(;|m)'      # unread: green
    if screen_sgr | grep -qE $'\e\\[([0-9;]*;)?36(;|m)'; then
        echo "still cyan"; false
    fi
    keys Home d
    sleep 0.3
    [[ "$(status_line)" == *"0 deleted"* ]]
    keys x
    wait_screen "1 deleted"
    keys '?'
    wait_screen "Keys of the index"
    screen | grep -qE '^  x +delete-message +mark for deletion'
    if screen | grep -qE '^  d +delete-message'; then
        echo "d is still listed"; false
    fi
    keys q
    quit_tui
    tmux -S "$SOCK" kill-server
    printf '[tui]\n  bind = index x explode\n' > "$XDG_CONFIG_HOME/mail/config"
    tui_start tui "$T/Maildir"
    wait_screen "EXITED 78"
    [[ "$(screen | tr -d '\n')" == *"config:2: [tui] unknown action (see mail-tui(1)): 'explode'"* ]]
    tmux -S "$SOCK" kill-server
    printf '[tui]\n  bind = index <Nope> sync-mailbox\n' > "$XDG_CONFIG_HOME/mail/config"
    tui_start tui "$T/Maildir"
    wait_screen "EXITED 78"
    [[ "$(screen | tr -d '\n')" == *"config:2: [tui] unknown key: '<Nope>'"* ]]
    tmux -S "$SOCK" kill-server
    printf '[tui]\n  color = index-unread blink\n' > "$XDG_CONFIG_HOME/mail/config"
    tui_start tui "$T/Maildir"
    wait_screen "EXITED 78"
    [[ "$(screen | tr -d '\n')" == *"config:2: [tui] unknown attribute or color: 'blink'"* ]]
}

@test "tui: r replies through mail reply's flow (scripted \$EDITOR, Postfix); the original is marked answered" {
    local conf="$BATS_TEST_TMPDIR/config" md="$T/orig"
    write_config "$conf" "timeout=5"
    mail_reset
    mkdir -p "$md/cur" "$md/new" "$md/tmp"
    printf 'From: Bob <%s>\nTo: Alice Example <%s>\nSubject: Lunch?\nDate: Thu, 3 Dec 2026 10:00:00 +0100\nMessage-ID: <tui-orig@b.test>\n\nAre you free?\n' \
        "$MAIL_TEST_ADDR2" "$MAIL_TEST_ADDR1" > "$md/new/1700000000.M1P1.test"
    cat > "$BATS_TEST_TMPDIR/editor" <<'ED'
#!/bin/sh
sed -i -e '/^$/{n;s/^/Yes, at noon./;}' "$1"
ED
    chmod +x "$BATS_TEST_TMPDIR/editor"
    EDITOR="$BATS_TEST_TMPDIR/editor" tui_start -C "$conf" tui "$md"
    wait_screen "1 msgs, 1 unread"
    keys r
    wait_screen "(y) send"
    keys y Enter
    wait_screen "sent"
    # The index shows it answered (listed again after the flow).
    wait_screen "1 UR   Dec  3  Bob"
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    local f
    f=$(maildir_last "$MAIL_TEST_MAILDIR2")
    grep -qx 'In-Reply-To: <tui-orig@b.test>' "$f"
    grep -qx 'Subject: Re: Lunch?' "$f"
    grep -q '^Yes, at noon.' "$f"
    quit_tui
    ls "$md/cur" | grep -q ':2,.*R'
}

@test "tui: Ctrl-C cancels a long search (body: over 20000 messages) and the keys keep working" {
    python3 - "$T/big" <<'PY'
import os, sys
d = sys.argv[1]
for s in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(d, s))
body = ("lorem ipsum dolor sit amet " * 80 + "\n") * 2
for i in range(20000):
    with open(os.path.join(d, "cur", "%d.M%d.h:2,S" % (1700000000 + i, i)), "w") as f:
        f.write("From: a%d@example.net\nSubject: m%d\nMessage-ID: <m%d@x>\n\n%s" % (i, i, i, body))
PY
    tui_start tui "$T/big"
    wait_screen "20000 msgs"
    # Enter starts the search on the worker; Ctrl-C right after ends it.
    keys / 'body:zzzz' Enter C-c
    wait_screen "cancelled"
    ! screen | grep -q "match" || { screen; false; }
    # The index answers at once, and a new search still works.
    keys Home
    wait_screen "    1      2023-11-14  a0@example.net"
    keys / 'subject:m19999' Enter
    wait_screen "1 match"
    # q during a long search leaves at once too.
    keys / 'body:zzzz' Enter q
    wait_screen "EXITED 0"
}

@test "tui: m writes a new message through mail compose's flow (prompts, \$EDITOR, Postfix)" {
    local conf="$BATS_TEST_TMPDIR/config"
    write_config "$conf" "timeout=5"
    mail_reset
    cat > "$BATS_TEST_TMPDIR/editor" <<'ED'
#!/bin/sh
printf 'Written in the reader.\n' >> "$1"
ED
    chmod +x "$BATS_TEST_TMPDIR/editor"
    EDITOR="$BATS_TEST_TMPDIR/editor" tui_start -C "$conf" tui "$T/Maildir"
    wait_screen "10 msgs"
    keys m
    wait_screen "To:"
    keys "$MAIL_TEST_ADDR2" Enter
    wait_screen "Subject:"
    keys "From the reader" Enter
    wait_screen "(y) send"
    keys y Enter
    wait_screen "sent"
    wait_screen "10 msgs"
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    local f
    f=$(maildir_last "$MAIL_TEST_MAILDIR2")
    grep -qx 'Subject: From the reader' "$f"
    grep -q '^Written in the reader.' "$f"
    quit_tui
}

# stall_start [SECONDS]: tests/servers/fake-imap-stall in the background
# (its first UID FETCH stalls for SECONDS, 30 by default); sets STALL_PORT,
# STALL_LOG and STALL_PID; teardown_stall stops it.
stall_start() {
    local portfile=$BATS_TEST_TMPDIR/stall.port i
    "$MAIL_SOURCE_ROOT/tests/servers/fake-imap-stall" "$portfile" "${1:-30}" 3>&- &
    STALL_PID=$!
    for ((i = 0; i < 200; i++)); do
        [[ -s $portfile ]] && break
        sleep 0.025
    done
    STALL_PORT=$(<"$portfile")
    STALL_LOG=$portfile.log
}

teardown_stall() {
    [ -n "${STALL_PID:-}" ] && kill "$STALL_PID" 2>/dev/null
    STALL_PID=
    return 0
}

# wait_log TEXT: until the fake server's log has TEXT, 5 s at most.
wait_log() {
    local i
    for ((i = 0; i < 100; i++)); do
        grep -qF -- "$1" "$STALL_LOG" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "the server never logged: $1"
    cat "$STALL_LOG"
    return 1
}

# ms: the clock in milliseconds.
ms() { echo $(( $(date +%s%N) / 1000000 )); }

@test "tui: a FETCH stalled 30 s on imap:INBOX: keys answer within 200 ms, q quits at once" {
    stall_start 30
    local conf="$BATS_TEST_TMPDIR/config" t0 t1
    write_config "$conf" pop3= smtp= "imap=imap://127.0.0.1:$STALL_PORT" \
        tls=none-i-know tls-ca-file= user=u "password-command=echo secret"
    tui_start -C "$conf" tui imap:INBOX
    wait_log "stalling"
    wait_status "imap:INBOX  opening..."
    [[ "$(status_line)" == *"[working: 1"* ]]
    # The help comes up while the worker waits on the server.
    t0=$(ms)
    keys '?'
    while ! screen | grep -qF "Keys of the index"; do
        (( $(ms) - t0 < 2000 )) || { screen; false; }
        sleep 0.01
    done
    t1=$(ms)
    echo "help after $((t1 - t0)) ms"
    (( t1 - t0 < 200 ))
    keys q
    wait_gone "Keys of the index"
    # q in the index leaves the program, well before the stall ends.
    t0=$(ms)
    keys q
    wait_screen "EXITED 0"
    t1=$(ms)
    echo "exited after $((t1 - t0)) ms"
    (( t1 - t0 < 2000 ))
    # The connection was cut, not waited out.
    wait_log "1 closed"
    teardown_stall
}

@test "tui: Ctrl-C cancels a stalled imap: open; c opens it again on a new connection" {
    stall_start 30
    local conf="$BATS_TEST_TMPDIR/config"
    write_config "$conf" pop3= smtp= "imap=imap://127.0.0.1:$STALL_PORT" \
        tls=none-i-know tls-ca-file= user=u "password-command=echo secret"
    tui_start -C "$conf" tui imap:INBOX
    wait_log "stalling"
    keys C-c
    wait_screen "cancelled: imap:INBOX not opened"
    wait_log "1 closed"
    # The server answers the second connection at once.
    keys c imap:INBOX Enter
    wait_screen "imap:INBOX  3 msgs, 3 unread"
    wait_screen "message 3"
    # y lists the server's folders with their counts (STATUS).
    keys y
    wait_screen "imap:Archive"
    [[ "$(screen)" == *"     3      3  imap:INBOX"* ]]
    keys q
    quit_tui
    grep -q '^2 .*LOGIN' "$STALL_LOG"
    teardown_stall
}

@test "tui: a Dovecot folder (imap:INBOX): list, open, flag, delete and sync" {
    local conf="$BATS_TEST_TMPDIR/config" t=$BATS_TEST_TMPDIR i
    write_config "$conf" pop3=
    mail_reset
    for i in 1 2 3; do
        printf 'From: Bob <bob@example.test>\nTo: alice@example.test\nSubject: imap tui %s\nMessage-ID: <tui%s@example.test>\nDate: Mon, 1 Dec 2025 10:0%s:00 +0000\n\nbody number %s\n' \
            "$i" "$i" "$i" "$i" > "$t/m$i"
        maildir_add "$MAIL_TEST_MAILDIR1" "$t/m$i" >/dev/null
        mail -C "$conf" ls imap:INBOX >/dev/null
    done
    tui_start -C "$conf" tui imap:INBOX
    wait_screen "imap:INBOX  3 msgs, 3 unread"
    wait_screen "imap tui 3"
    # Open the first: it is shown and marked seen on the server.
    keys Home Enter
    wait_screen "body number 1"
    keys q
    wait_status "3 msgs, 2 unread"
    # F flags the second, d deletes the third, $ expunges on the server.
    keys j F j d
    wait_status "1 flagged, 1 deleted"
    keys '$'
    wait_status "2 msgs"
    wait_screen "1 expunged"
    quit_tui
    run mail -C "$conf" ls --json imap:INBOX
    [ "$status" -eq 0 ]
    [ "$(jq length <<<"$output")" -eq 2 ]
    [ "$(jq -r '.[0].flags | join(" ")' <<<"$output")" = seen ]
    [ "$(jq -r '.[1].flags | join(" ")' <<<"$output")" = flagged ]
    [ "$(jq -r '[.[].subject] | join(",")' <<<"$output")" = "imap tui 1,imap tui 2" ]
}

@test "tui: v lists the parts; s saves an attachment (a file, a directory), | pipes it decoded" {
    local md="$T/att" f
    mkdir -p "$md/cur" "$md/new" "$md/tmp"
    head -c 3000 /dev/urandom > "$T/data.bin"
    {
        printf 'From: Bob <bob@example.test>\nTo: alice@example.test\nSubject: the data\nDate: Mon, 1 Dec 2025 10:00:00 +0000\nMessage-ID: <att@example.test>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b1"\n\n'
        printf -- '--b1\nContent-Type: text/plain; charset=utf-8\n\nsee the data\n'
        printf -- '--b1\nContent-Type: application/octet-stream; name="data.bin"\nContent-Disposition: attachment; filename="da\033[31mta.bin"\nContent-Transfer-Encoding: base64\n\n'
        base64 "$T/data.bin"
        printf -- '--b1--\n'
    } > "$md/cur/1700000000.M1P1.test:2,S"
    tui_start tui "$md"
    wait_screen "1 msgs"
    keys v
    wait_screen "application/octet-stream"
    # number, type, size, name (the escape defused)
    local s
    s=$(screen)
    [[ "$s" == *"1      text/plain"* ]] || { printf '%s\n' "$s"; false; }
    [[ "$s" == *"2      application/octet-stream        2.9K  da"*"ta.bin"* ]] || { printf '%s\n' "$s"; false; }
    [[ "$(tmux -S "$SOCK" capture-pane -p -e -t t)" != *$'\e[31m'* ]]
    keys j s "$T/saved.bin" Enter
    wait_screen "saved $T/saved.bin"
    cmp "$T/data.bin" "$T/saved.bin"
    # A directory: the name mail read --save gives it (defused), never
    # over an existing file.
    mkdir "$T/dir"
    keys s "$T/dir" Enter
    wait_screen "saved "
    f=$(ls "$T/dir")
    [ "$(ls "$T/dir" | wc -l)" -eq 1 ]
    cmp "$T/data.bin" "$T/dir/$f"
    keys s "$T/saved.bin" Enter
    wait_screen "error:"
    cmp "$T/data.bin" "$T/saved.bin"
    keys '|' "cat > $T/piped.bin" Enter
    wait_screen "Press Enter"
    keys Enter
    wait_screen "the command exited 0"
    cmp "$T/data.bin" "$T/piped.bin"
    # From the pager too; q goes back where v came from.
    keys q
    wait_gone "application/octet-stream"
    keys Enter
    wait_screen "see the data"
    keys v
    wait_screen "application/octet-stream"
    keys q
    wait_screen "see the data"
    quit_tui
}

@test "tui: A opens another account's inbox (its store); c =NAME then names its folders" {
    mkdir -p "$XDG_CONFIG_HOME/mail" "$T/second/.Old/cur" "$T/second/.Old/new" "$T/second/.Old/tmp"
    cp "$T/inbox.mbox" "$T/unused.mbox"
    mkdir -p "$T/second/cur" "$T/second/new" "$T/second/tmp"
    printf 'From: Carol <carol@example.test>\nTo: dave@example.test\nSubject: for the second account\nDate: Mon, 1 Dec 2025 10:00:00 +0000\nMessage-ID: <second@example.test>\n\nhello dave\n' \
        > "$T/second/new/1700000000.M1P1.test"
    printf 'From: Carol <carol@example.test>\nTo: dave@example.test\nSubject: an old one\nDate: Mon, 1 Dec 2025 10:00:00 +0000\nMessage-ID: <old@example.test>\n\nold\n' \
        > "$T/second/.Old/cur/1700000001.M1P1.test:2,S"
    cat > "$XDG_CONFIG_HOME/mail/config" <<CFG
[account "first"]
    address = Alice <alice@example.net>
    store = $T/Maildir
    default = true
[account "second"]
    address = Dave <dave@example.test>
    store = $T/second
CFG
    tui_start tui
    wait_screen "INBOX  10 msgs"
    keys A
    wait_screen "Open account (first, second):"
    keys second Enter
    wait_screen "INBOX (second)  1 msgs, 1 unread"
    wait_screen "for the second account"
    # =NAME is the second account's store now.
    keys c =Old Enter
    wait_screen "=Old  1 msgs"
    wait_screen "an old one"
    # An unknown account: an error, the folder stays.
    keys A nope Enter
    wait_screen "error: no account 'nope'"
    wait_status "=Old  1 msgs"
    keys A first Enter
    wait_screen "INBOX (first)  10 msgs"
    quit_tui
}

@test "tui: Tab completes an address after from: in the limit prompt (aliases, collected, address-command)" {
    mkdir -p "$XDG_CONFIG_HOME/mail"
    printf 'alias bobby Bob Martin <bob@example.org>\nalias news Example News <news@example.net>\n' \
        > "$XDG_CONFIG_HOME/mail/aliases"
    cat > "$T/abook" <<'SH'
#!/bin/sh
echo "searching"
case "$1" in car*) printf 'carol@example.org\tCarol Dupont\n' ;; esac
SH
    chmod +x "$T/abook"
    printf '[account "t"]\n    address = Alice <alice@example.net>\n    store = %s\n    address-command = %s\n' \
        "$T/Maildir" "$T/abook" > "$XDG_CONFIG_HOME/mail/config"
    tui_start tui "$T/Maildir"
    wait_screen "10 msgs"
    # One alias matches: its address replaces the word.
    keys l 'from:bobb' Tab
    wait_screen "Limit to: from:bob@example.org"
    keys Enter
    wait_status "(2 shown, limit: from:bob@example.org"
    # From the address-command.
    keys l 'from:caro' Tab
    wait_screen "Limit to: from:carol@example.org"
    keys Enter
    wait_status "(1 shown, limit: from:carol@example.org"
    # Several: the common beginning, and the candidates on the status line.
    keys l 'to:' C-u 'from:example' Tab
    wait_screen "2 addresses: bob@example.org news@example.net"
    keys C-u Escape
    quit_tui
}

@test "tui: y with an IMAP account lists the server's folders and keeps the list for completion (folders --remote --cached)" {
    local conf="$BATS_TEST_TMPDIR/config"
    write_config "$conf" pop3=
    mail_reset
    run mail -C "$conf" folders --remote --cached
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    tui_start -C "$conf" tui imap:INBOX
    wait_status "msgs"
    keys y
    wait_screen "imap:Trash"
    quit_tui
    run mail -C "$conf" folders --remote --cached
    echo "$output"
    [ "$status" -eq 0 ]
    printf '%s\n' "${lines[@]}" | grep -qx INBOX
    printf '%s\n' "${lines[@]}" | grep -qx Trash
}

@test "tui: an imap: message with a 50 MB attachment opens fetching only its text (Dovecot out= under 1 MB)" {
    local conf="$BATS_TEST_TMPDIR/config" t=$BATS_TEST_TMPDIR n before
    write_config "$conf" pop3=
    mail_reset
    head -c 50000000 /dev/urandom > "$t/big.bin"
    {
        printf 'From: Sender <s@example.test>\nTo: alice@example.test\n'
        printf 'Subject: the big one\nMessage-ID: <tuibig@example.test>\n'
        printf 'Date: Mon, 1 Dec 2025 10:00:00 +0000\nMIME-Version: 1.0\n'
        printf 'Content-Type: multipart/mixed; boundary="XX-big"\n\n'
        printf 'preamble\n--XX-big\nContent-Type: text/plain; charset=utf-8\n\n'
        printf 'Hello, the figures are attached.\n'
        printf -- '--XX-big\nContent-Type: application/octet-stream; name="big.bin"\n'
        printf 'Content-Disposition: attachment; filename="big.bin"\n'
        printf 'Content-Transfer-Encoding: base64\n\n'
        base64 -w 76 "$t/big.bin"
        printf -- '--XX-big--\n'
    } > "$t/big.eml"
    rm -f "$t/big.bin"
    maildir_add "$MAIL_TEST_MAILDIR1" "$t/big.eml" >/dev/null
    mail -C "$conf" ls imap:INBOX >/dev/null
    before=$(dovecot_mark)
    tui_start -C "$conf" tui imap:INBOX
    wait_screen "imap:INBOX  1 msgs, 1 unread"
    keys Enter
    wait_screen "Hello, the figures are attached."
    # The attachment line: its true size, not that of an empty body.
    wait_screen "48 MiB"
    [[ "$(screen)" == *"application/octet-stream"*"48 MiB"*"big.bin"* ]] || { screen; false; }
    quit_tui
    # What Dovecot sent in the reader's sessions (once it has logged
    # their end: the last "Logged out" line when the reader has just
    # exited may still be mail ls's).
    n=$(dovecot_bytes_after out "$before")
    echo "Dovecot sent $n bytes"
    [ "$n" -lt 1000000 ]
}

@test "tui: v on an imap: message with a 50 MB attachment lists true sizes and saves a small part fetching only it (Dovecot out= under 1 MB)" {
    local conf="$BATS_TEST_TMPDIR/config" t=$BATS_TEST_TMPDIR n before
    write_config "$conf" pop3=
    mail_reset
    head -c 50000000 /dev/urandom > "$t/big.bin"
    head -c 2000 /dev/urandom > "$t/small.bin"
    {
        printf 'From: Sender <s@example.test>\nTo: alice@example.test\n'
        printf 'Subject: the big one\nMessage-ID: <tuibigv@example.test>\n'
        printf 'Date: Mon, 1 Dec 2025 10:00:00 +0000\nMIME-Version: 1.0\n'
        printf 'Content-Type: multipart/mixed; boundary="XX-big"\n\n'
        printf 'preamble\n--XX-big\nContent-Type: text/plain; charset=utf-8\n\n'
        printf 'Hello, the figures are attached.\n'
        printf -- '--XX-big\nContent-Type: application/octet-stream; name="big.bin"\n'
        printf 'Content-Disposition: attachment; filename="big.bin"\n'
        printf 'Content-Transfer-Encoding: base64\n\n'
        base64 -w 76 "$t/big.bin"
        printf -- '--XX-big\nContent-Type: application/octet-stream; name="small.bin"\n'
        printf 'Content-Disposition: attachment; filename="small.bin"\n'
        printf 'Content-Transfer-Encoding: base64\n\n'
        base64 -w 76 "$t/small.bin"
        printf -- '--XX-big--\n'
    } > "$t/big.eml"
    rm -f "$t/big.bin"
    maildir_add "$MAIL_TEST_MAILDIR1" "$t/big.eml" >/dev/null
    mail -C "$conf" ls imap:INBOX >/dev/null
    before=$(dovecot_mark)
    tui_start -C "$conf" tui imap:INBOX
    wait_screen "imap:INBOX  1 msgs, 1 unread"
    keys v
    wait_screen "small.bin"
    # The list: the attachment's true size (from the server), not that
    # of a body left out.
    [[ "$(screen)" == *"2      application/octet-stream"*"47.7M  big.bin"* ]] || { screen; false; }
    [[ "$(screen)" == *"3      application/octet-stream"*"2.0K  small.bin"* ]] || { screen; false; }
    keys j j s "$t/saved.bin" Enter
    wait_screen "saved $t/saved.bin"
    cmp "$t/small.bin" "$t/saved.bin"
    quit_tui
    # What Dovecot sent in the reader's sessions (once it has logged
    # their end): the old code fetched the whole message for v and again
    # for s.
    n=$(dovecot_bytes_after out "$before")
    echo "Dovecot sent $n bytes"
    [ "$n" -lt 1000000 ]
}

@test "tui: Enter in v opens the part with its mailcap entry (%s a temporary file, removed after); no entry is said on the status line" {
    local md="$T/mc"
    mkdir -p "$md/cur" "$md/new" "$md/tmp" "$T/tmpdir"
    head -c 3000 /dev/urandom > "$T/data.bin"
    {
        printf 'From: Bob <bob@example.test>\nTo: alice@example.test\nSubject: to open\nDate: Mon, 1 Dec 2025 10:00:00 +0000\nMessage-ID: <mc@example.test>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b1"\n\n'
        printf -- '--b1\nContent-Type: text/plain; charset=utf-8\n\nsee the data\n'
        printf -- '--b1\nContent-Type: application/x-test; name="data.bin"\nContent-Disposition: attachment; filename="data.bin"\nContent-Transfer-Encoding: base64\n\n'
        base64 "$T/data.bin"
        printf -- '--b1\nContent-Type: application/x-none\nContent-Transfer-Encoding: base64\n\n'
        base64 "$T/data.bin"
        printf -- '--b1--\n'
    } > "$md/cur/1700000000.M1P1.test:2,S"
    # The entry copies the file it is given and notes its name; a test=
    # that fails hides the first entry; the reader's tmux server gets
    # MAILCAPS from this environment.
    printf 'application/x-test; false %%s; test=false\napplication/x-test; cp %%s %s/opened.bin && echo %%s > %s/name; needsterminal\n' \
        "$T" "$T" > "$T/mailcap"
    export MAILCAPS="$T/mailcap" TMPDIR="$T/tmpdir"
    tui_start tui "$md"
    wait_screen "1 msgs"
    keys v
    wait_screen "application/x-test"
    keys j Enter
    wait_screen "Press Enter"
    keys Enter
    wait_screen "the command exited 0"
    cmp "$T/data.bin" "$T/opened.bin"
    # The temporary file is gone once the command is done.
    [ -s "$T/name" ]
    [ ! -e "$(cat "$T/name")" ]
    # A type with no entry: said on the status line, nothing run.
    keys j Enter
    wait_screen "no mailcap entry for application/x-none"
    quit_tui
}

@test "tui: a copiousoutput mailcap entry's output is shown in the reader's pager (defused), q goes back to v; its file is removed" {
    local md="$T/mc"
    mkdir -p "$md/cur" "$md/new" "$md/tmp" "$T/tmpdir"
    {
        printf 'From: Bob <bob@example.test>\nTo: alice@example.test\nSubject: to view\nDate: Mon, 1 Dec 2025 10:00:00 +0000\nMessage-ID: <mcc@example.test>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b1"\n\n'
        printf -- '--b1\nContent-Type: text/plain; charset=utf-8\n\nsee the list\n'
        printf -- '--b1\nContent-Type: application/x-list; name="list.txt"\nContent-Disposition: attachment; filename="list.txt"\n\n'
        printf 'first item\nsecond \033[31mitem\n'
        printf -- '--b1--\n'
    } > "$md/cur/1700000000.M1P1.test:2,S"
    printf 'application/x-list; echo %%s > %s/name && tr a-z A-Z < %%s; copiousoutput\n' "$T" > "$T/mailcap"
    export MAILCAPS="$T/mailcap" TMPDIR="$T/tmpdir"
    tui_start tui "$md"
    wait_screen "1 msgs"
    keys v
    wait_screen "application/x-list"
    keys j Enter
    # In the pager, not on a bare terminal: no "Press Enter".
    wait_screen "FIRST ITEM"
    [[ "$(screen)" == *"SECOND ^[[31MITEM"* ]] || { screen; false; }
    [[ "$(screen)" != *"Press Enter"* ]]
    [[ "$(tmux -S "$SOCK" capture-pane -p -e -t t)" != *$'\e[31m'* ]]
    [[ "$(status_line)" == *"q:att"* ]]
    [ -s "$T/name" ]
    [ ! -e "$(cat "$T/name")" ]
    keys q
    wait_screen "application/x-list"
    wait_gone "FIRST ITEM"
    quit_tui
}

@test "tui: a mailcap viewer's temporary file is removed when the reader's terminal goes away while the viewer runs" {
    local md="$T/mc" i
    mkdir -p "$md/cur" "$md/new" "$md/tmp" "$T/tmpdir"
    {
        printf 'From: Bob <bob@example.test>\nTo: alice@example.test\nSubject: to open\nDate: Mon, 1 Dec 2025 10:00:00 +0000\nMessage-ID: <mck@example.test>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b1"\n\n'
        printf -- '--b1\nContent-Type: text/plain; charset=utf-8\n\nsee the data\n'
        printf -- '--b1\nContent-Type: application/x-test; name="data.bin"\nContent-Disposition: attachment; filename="data.bin"\n\nsome data\n'
        printf -- '--b1--\n'
    } > "$md/cur/1700000000.M1P1.test:2,S"
    printf 'application/x-test; echo %%s > %s/name && echo viewing && sleep 30; needsterminal\n' "$T" > "$T/mailcap"
    export MAILCAPS="$T/mailcap" TMPDIR="$T/tmpdir"
    tui_start tui "$md"
    wait_screen "1 msgs"
    keys v
    wait_screen "application/x-test"
    keys j Enter
    wait_screen "viewing"
    [ -e "$(cat "$T/name")" ]
    # The terminal closes (the reader and the viewer get SIGHUP) before
    # the viewer is done: the file goes all the same.
    tmux -S "$SOCK" kill-server
    for ((i = 0; i < 100; i++)); do
        [ -e "$(cat "$T/name")" ] || break
        sleep 0.05
    done
    [ ! -e "$(cat "$T/name")" ]
    [ -z "$(ls "$T/tmpdir")" ]
}

@test "tui: s to an imap: folder appends the message (mail_folder_copy, as mail mv copies), marks it deleted here, and mail ls imap:Trash lists it from the cache (APPENDUID, no FETCH); s from imap: back to a local folder" {
    local conf="$BATS_TEST_TMPDIR/config"
    write_config "$conf" pop3=
    mail_reset
    # The destination's listing cache, empty.
    run mail -C "$conf" ls imap:Trash
    [ "$status" -eq 0 ]
    tui_start -C "$conf" tui "$T/Maildir"
    wait_screen "10 msgs"
    keys Home s "imap:Trash" Enter
    wait_screen "saved"
    wait_screen "1 deleted"
    quit_tui
    run mail ls "$T/Maildir"
    [[ "${lines[0]}" == " 1   T "* ]]
    mail -C "$conf" -vv ls imap:Trash > "$T/out" 2> "$T/err"
    cat "$T/out"
    [ "$(wc -l < "$T/out")" -eq 1 ]
    grep -q "Welcome to your sample mailbox" "$T/out"
    ! grep -q "UID FETCH" "$T/err" || { cat "$T/err"; false; }
    ! grep -q "ENVELOPE" "$T/err" || false
    # The copy is the message (the server gives it with CRLF).
    local f
    f=$(grep -l "^Subject: Welcome to your sample mailbox" "$T"/Maildir/*/* | head -n 1)
    mail -C "$conf" read --raw imap:Trash 1 | tr -d '\r' > "$T/copy"
    cmp "$f" "$T/copy"
    # And from the server to a local folder made for it.
    tmux -S "$SOCK" kill-server
    tui_start -C "$conf" tui imap:Trash
    wait_screen "imap:Trash  1 msgs"
    keys Home s "$T/Back" Enter
    wait_screen "saved"
    quit_tui
    run mail ls "$T/Back"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "${lines[0]}" == *"Welcome to your sample mailbox"* ]]
}

# five_hundred DIR [REPLY]: a Maildir of 500 messages, "row N of five
# hundred" from "Sender N", one a minute; 0-249 read, 250-499 unread;
# message REPLY (if given) a reply to message REPLY - 10.
five_hundred() {
    python3 - "$1" "${2:--1}" <<'PY'
import os, sys
d, reply = sys.argv[1], int(sys.argv[2])
for s in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(d, s))
for i in range(500):
    name = "%d.M%d.h:2,%s" % (1700000000 + 60 * i, i, "S" if i < 250 else "")
    extra = ("In-Reply-To: <r%d@x>\nReferences: <r%d@x>\n" % (i - 10, i - 10)
             if i == reply else "")
    with open(os.path.join(d, "cur", name), "w") as f:
        f.write("From: Sender %d <s%d@example.net>\nSubject: row %d of five hundred\n"
                "Message-ID: <r%d@x>\n%s\nbody %d\n" % (i, i, i, i, extra, i))
PY
}

@test "tui: a folder of 500 messages opens with the full count and its first screen; keys and search work at once; the rows filled after the first answer are there" {
    # 250 read, then 250 unread: the reader opens at 251.  The worker's
    # first answer has the strings of rows 1-100, 151-351 and 401-500
    # (tui/index.c WINDOW); those of 101-150 and 352-400 follow.
    five_hundred "$T/five"
    tui_start tui "$T/five"
    wait_status "500 msgs, 250 unread"
    wait_screen "Sender 250"
    screen | grep -E "^ *251 .*row 250 of five hundred" || { screen; false; }
    # Keys at once: G, Home, j/k, End, Enter.
    keys G
    wait_screen "row 499 of five hundred"
    keys Home j j k Enter
    wait_screen "[2/500]"
    wait_screen "Subject: row 1 of five hundred"
    keys q
    wait_gone "[2/500]"
    keys End Enter
    wait_screen "[500/500]"
    wait_screen "Subject: row 499 of five hundred"
    keys q
    wait_gone "[500/500]"
    # Search right away; the cursor goes to rows of the second step,
    # shown with their sender and subject.
    keys / 'subject:"row 120 of"' Enter
    wait_screen "1 match"
    wait_screen "Sender 120"
    screen | grep -E "^ *121 .*Sender 120 +row 120 of five hundred" || { screen; false; }
    keys / 'subject:"row 380 of"' Enter
    wait_screen "1 match"
    wait_screen "Sender 380"
    screen | grep -E "^ *381 .*Sender 380 +row 380 of five hundred" || { screen; false; }
    keys Enter
    wait_screen "[381/500]"
    wait_screen "From: Sender 380 <s380@example.net>"
    keys q
    wait_gone "[381/500]"
    # A whole screen of the second step (rows 111-132): every row has
    # its own sender and subject.
    keys Home PageDown PageDown PageDown PageDown PageDown
    wait_screen "Sender 110 "
    screen | awk '/^ *[0-9]+ / { n++; r = $1 - 1
        if (index($0, "Sender " r " ") == 0 ||
            index($0, "row " r " of five hundred") == 0) bad++ }
        END { exit (bad > 0 || n < 20) }' || { screen; false; }
    quit_tui
}

@test "tui: 20 syncs (\$, each a re-list) keep one mapping of the header cache, not one per listing" {
    python3 - "$T/three" <<'PY'
import os, sys
d = sys.argv[1]
for s in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(d, s))
for i in range(300):
    with open(os.path.join(d, "cur", "%d.M%d.h:2,S" % (1700000000 + i, i)), "w") as f:
        f.write("From: s%d@example.net\nSubject: m%d\n\nbody\n" % (i, i))
PY
    "$MAIL" ls "$T/three" >/dev/null    # the header cache written
    tui_start tui "$T/three"
    wait_status "300 msgs"
    local pane pid i
    pane=$(tmux -S "$SOCK" list-panes -t t -F '#{pane_pid}')
    pid=$(pgrep -P "$pane" | head -n 1)
    [ -n "$pid" ]
    for ((i = 1; i <= 20; i++)); do
        keys '$'
        wait_screen "0 expunged"
        keys j    # the message line clears: the next sync is seen
        wait_gone "0 expunged"
    done
    local maps
    maps=$(grep -c '\.hc$' "/proc/$pid/maps" || true)
    echo "mappings of the cache after 20 re-lists: $maps"
    grep '\.hc$' "/proc/$pid/maps" || true
    [ "$maps" -le 2 ]
    quit_tui
}

@test "tui: with a warm header cache a folder of 500 opens from a lazy listing; limit, search and threads right away see every message; a damaged cache record off the first screen is read from its file" {
    # As the 500-message test above, with the cache written first (the
    # reader's listing then reads no string of it before the first
    # screen: MAIL_FOLDER_LIST_LAZY) and a reply pair off the first
    # screen (rows 121 and 131; 111 has a damaged record).  The damaged
    # record is read from its file alone: the cache is not rebuilt (the
    # old listing checked every record first, found it and parsed all
    # 500 files again, writing a new cache file).
    five_hundred "$T/five" 130
    "$MAIL" ls "$T/five" >/dev/null    # the header cache written
    # Message 110's record damaged (its display block: the sender's
    # name), and its file now says otherwise than the cache.
    python3 - "$XDG_CACHE_HOME/mail" "$T/five" <<'PY'
import glob, os, sys
hc = [p for p in glob.glob(os.path.join(sys.argv[1], "*.hc"))
      if b"1700006600.M110.h" in open(p, "rb").read()]
assert len(hc) == 1, hc
b = bytearray(open(hc[0], "rb").read())
at = b.rfind(b"Sender 110")
assert at > 0
b[at] ^= 1
open(hc[0], "wb").write(b)
name = os.path.join(sys.argv[2], "cur", "1700006600.M110.h:2,S")
with open(name, "w") as f:
    f.write("From: File Sender <f@example.net>\nSubject: row 110 from the file\n"
            "Message-ID: <r110@x>\n\nbody 110\n")
PY
    local hc ino
    hc=$(grep -l "1700006600.M110.h" "$XDG_CACHE_HOME"/mail/*.hc)
    ino=$(stat -c %i "$hc")
    tui_start tui "$T/five"
    wait_status "500 msgs, 250 unread"
    wait_screen "Sender 250"
    screen | grep -E "^ *251 .*row 250 of five hundred" || { screen; false; }
    # A limit at once: every message is seen (rows 12, 121-130).
    keys l 'subject:"row 12"' Enter
    wait_screen "(11 shown, limit: subject:\"row 12\")"
    screen | grep -E "^ *121 .*Sender 120 +row 120 of five hundred" || { screen; false; }
    keys l Enter
    wait_gone "shown, limit"
    # The damaged record: its row says what the file says.
    keys / 'subject:"from the file"' Enter
    wait_screen "1 match"
    wait_screen "File Sender"
    screen | grep -E "^ *111 .*File Sender +row 110 from the file" || { screen; false; }
    # Threads: 131 is the reply to 121, off the first screen.
    keys t
    wait_screen "[threads]"
    keys / 'subject:"row 130 of"' Enter
    wait_screen "Sender 130"
    screen | grep -E "^ *131 .*Sender 130 +└─>row 130 of five hundred" || { screen; false; }
    quit_tui
    [ "$(stat -c %i "$hc")" = "$ino" ]
}
