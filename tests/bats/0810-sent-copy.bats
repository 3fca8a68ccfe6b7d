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

# A scripted IMAP server (implicit TLS with the harness's certificate,
# PREAUTH) for the drops Dovecot will not make: the first
# connection drops during the APPEND (MODE=mid: in the middle of the
# literal; MODE=after: after the whole message, before the tagged OK, so
# the copy is there).  Later connections behave.  MODE=quota answers
# every APPEND with NO [OVERQUOTA]; MODE=nocreate with NO [TRYCREATE],
# and CREATE with NO.  Messages it keeps go
# to $DIR/msg.N; a log of the commands to $DIR/log.
start_drop_server() {
    DROP_DIR="$BATS_TEST_TMPDIR/drop"
    mkdir -p "$DROP_DIR"
    cat > "$DROP_DIR/server.py" <<'PY'
import os, re, socket, ssl, sys, threading
mode, d, cert, key = sys.argv[1:5]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
store = []           # the messages of "Sent"
lock = threading.Lock()
conns = [0]

def log(line):
    with lock, open(os.path.join(d, "log"), "a") as f:
        f.write(line + "\n")

def serve(c, n):
    f = c.makefile("rb")
    c.sendall(b"* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS] hi\r\n")
    while True:
        line = f.readline()
        if not line:
            return
        text = line.decode("latin-1").rstrip("\r\n")
        log("%d %s" % (n, text))
        tag, _, rest = text.partition(" ")
        cmd = rest.split(" ")[0].upper()
        if cmd == "CAPABILITY":
            c.sendall(b"* CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS\r\n" + tag.encode() + b" OK done\r\n")
        elif cmd in ("EXAMINE", "SELECT"):
            c.sendall(b"* %d EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n" % len(store) + tag.encode() + b" OK [READ-ONLY] done\r\n")
        elif cmd == "UID" and rest.upper().startswith("UID SEARCH HEADER MESSAGE-ID"):
            want = rest.split('"')[1]
            hits = [str(i + 1) for i, m in enumerate(store) if want.encode() in m]
            c.sendall(("* SEARCH %s\r\n" % " ".join(hits)).replace(" \r", "\r").encode() + tag.encode() + b" OK done\r\n")
        elif cmd == "CREATE" and mode == "nocreate":
            c.sendall(tag.encode() + b" NO [CANNOT] not here\r\n")
        elif cmd == "APPEND":
            size = int(re.search(r"\{(\d+)\+?\}$", text).group(1))
            if mode in ("quota", "nocreate"):
                f.read(size)
                f.readline()
                if mode == "quota":
                    c.sendall(tag.encode() + b" NO [OVERQUOTA] Quota exceeded (mailbox for user is full)\r\n")
                else:
                    c.sendall(tag.encode() + b" NO [TRYCREATE] no such mailbox\r\n")
                continue
            if n == 1 and mode == "mid":
                f.read(size // 2)
                c.close()
                return
            msg = f.read(size)
            f.readline()
            with lock:
                store.append(msg)
                k = len(store)
            with open(os.path.join(d, "msg.%d" % k), "wb") as out:
                out.write(msg)
            if n == 1 and mode == "after":
                c.close()
                return
            c.sendall(tag.encode() + b" OK [APPENDUID 7 %d] done\r\n" % k)
        elif cmd == "LOGOUT":
            c.sendall(b"* BYE bye\r\n" + tag.encode() + b" OK done\r\n")
            c.close()
            return
        else:
            c.sendall(tag.encode() + b" BAD what\r\n")

s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(5)
with open(os.path.join(d, "port.tmp"), "w") as p:
    p.write(str(s.getsockname()[1]))
os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
while True:
    c, _ = s.accept()
    try:
        c = ctx.wrap_socket(c, server_side=True)
    except (ssl.SSLError, OSError):
        continue
    conns[0] += 1
    threading.Thread(target=serve, args=(c, conns[0]), daemon=True).start()
PY
    fake_spawn "$DROP_DIR/port" python3 "$DROP_DIR/server.py" "$1" "$DROP_DIR" \
        "$MAIL_TEST_DIR/tls/server.pem" "$MAIL_TEST_DIR/tls/server.key" || return 1
    DROP_PORT=$(<"$DROP_DIR/port")
}

@test "sent copy: a connection lost in the middle of the APPEND: one more try on a new connection" {
    start_drop_server mid
    write_config "$CONF" "timeout=5" "sent-folder=imap:Sent" \
        "imap=imaps://localhost:$DROP_PORT"
    run send_one "dropped mid"
    echo "$output"
    cat "$DROP_DIR/log"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    # the second connection searched first, then appended: one copy
    grep -q '^2 .* UID SEARCH HEADER Message-ID' "$DROP_DIR/log"
    [ "$(grep -c '^2 .* APPEND' "$DROP_DIR/log")" -eq 1 ]
    [ -f "$DROP_DIR/msg.1" ] && [ ! -f "$DROP_DIR/msg.2" ]
    grep -q '^Subject: dropped mid' "$DROP_DIR/msg.1"
    [ "$(pending_count)" -eq 0 ]
}

@test "sent copy: lost after the server has the copy: the search finds it, no second APPEND" {
    start_drop_server after
    write_config "$CONF" "timeout=5" "sent-folder=imap:Sent" \
        "imap=imaps://localhost:$DROP_PORT"
    run send_one "dropped after"
    echo "$output"
    cat "$DROP_DIR/log"
    [ "$status" -eq 0 ]
    grep -q '^2 .* UID SEARCH HEADER Message-ID' "$DROP_DIR/log"
    ! grep -q '^2 .* APPEND' "$DROP_DIR/log" || false
    [ -f "$DROP_DIR/msg.1" ] && [ ! -f "$DROP_DIR/msg.2" ]
    [ "$(pending_count)" -eq 0 ]
}

@test "sent copy: a message without a Message-ID gets one in its copy: a retry searches for it, one copy" {
    start_drop_server after
    write_config "$CONF" "timeout=5" "sent-folder=imap:Sent" \
        "imap=imaps://localhost:$DROP_PORT"
    # an empty Message-ID field: the composer leaves it, the message has
    # no identifier to search by
    run bash -c 'printf "To: %s\nSubject: no id\nMessage-ID:\n\nbody\n" "$3" | "$1" -C "$2" send -t' _ "$MAIL" "$CONF" "$MAIL_TEST_ADDR2"
    echo "$output"
    cat "$DROP_DIR/log"
    [ "$status" -eq 0 ]
    # the first APPEND landed before the drop: the second connection
    # searched for the copy's Message-ID, found it, appended nothing
    grep -q '^2 .* UID SEARCH HEADER Message-ID "<.*@' "$DROP_DIR/log"
    ! grep -q '^2 .* APPEND' "$DROP_DIR/log" || false
    [ -f "$DROP_DIR/msg.1" ] && [ ! -f "$DROP_DIR/msg.2" ]
    grep -q '^Message-ID: <.*@' "$DROP_DIR/msg.1"
    [ "$(pending_count)" -eq 0 ]
}

@test "sent copy: refused for good (NO [OVERQUOTA]): reported once, parked in sent-pending/failed, not retried at the next send" {
    start_drop_server quota
    write_config "$CONF" "timeout=5" "sent-folder=imap:Sent" \
        "imap=imaps://localhost:$DROP_PORT"
    run send_one "over quota"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output == *"warning: sent, but no copy saved in imap:Sent"*"OVERQUOTA"*"refused for good, not tried again"*"$PENDING/failed/"* ]]
    [ "$(pending_count)" -eq 0 ]
    [ "$(find "$PENDING/failed" -name '*.copy' | wc -l)" -eq 1 ]
    grep -q '^body of over quota' "$PENDING"/failed/*.copy
    [ "$(grep -c ' APPEND' "$DROP_DIR/log")" -eq 1 ]
    # the next send tries its own copy only: one more APPEND, one warning
    run send_one "still over"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(grep -c 'warning:' <<<"$output")" -eq 1 ]
    [ "$(grep -c ' APPEND' "$DROP_DIR/log")" -eq 2 ]
    [ "$(find "$PENDING/failed" -name '*.copy' | wc -l)" -eq 2 ]
    # and the server back to normal (Dovecot): nothing old is filed
    write_config "$CONF" "timeout=5" "sent-folder=imap:"
    run send_one "room again"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [ "$(sent_count)" -eq 1 ]
    grep -q '^Subject: room again' $(sent_files)
}

@test "sent copy: a folder that cannot be created ([TRYCREATE], CREATE refused) is parked too" {
    start_drop_server nocreate
    write_config "$CONF" "timeout=5" "sent-folder=imap:Sent" \
        "imap=imaps://localhost:$DROP_PORT"
    run send_one "no folder"
    echo "$output"
    cat "$DROP_DIR/log"
    [ "$status" -eq 0 ]
    [[ $output == *"refused for good, not tried again"* ]]
    [ "$(pending_count)" -eq 0 ]
    [ "$(find "$PENDING/failed" -name '*.copy' | wc -l)" -eq 1 ]
    [ "$(grep -c ' CREATE' "$DROP_DIR/log")" -eq 1 ]
}

# fault_smtp MODE: the fake SMTP server in MODE (fake_smtp_start); the
# caller points the account (Sent on the harness's Dovecot) at it.
fault_smtp() { fake_smtp_start "$1"; }

queued() { ls "$XDG_DATA_HOME/mail/queue" 2>/dev/null | grep -c '^[0-9]' || true; }

# collected ADDR: how many times the address book counted ADDR
collected() {
    awk -F'\t' -v a="$1" '$3 == a { print $2 }' "$XDG_STATE_HOME/mail/addresses" 2>/dev/null
}

@test "sent copy: a message queued (every recipient deferred) gets its copy and is collected when --flush sends it, exactly once" {
    fault_smtp defer-all
    write_config "$CONF" "timeout=5" "sent-folder=imap:" \
        "smtp=smtp://localhost:$FAULT_PORT"
    run send_one "queued first" --queue -b "$MAIL_TEST_ADDR1"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output == *"queued as"* ]]
    [ "$(queued)" -eq 1 ]
    [ "$(sent_count)" -eq 0 ]
    [ -z "$(collected "$MAIL_TEST_ADDR2")" ]
    # the flush sends it through the harness's Postfix: its copy (with
    # the Bcc shown) in Sent, its recipients in the address book
    write_config "$CONF" "timeout=5" "sent-folder=imap:"
    run "$MAIL" -C "$CONF" send --flush
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(queued)" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    [ "$(sent_count)" -eq 1 ]
    f=$(sent_files)
    grep -q '^Subject: queued first' "$f"
    grep -q "^Bcc: .*$MAIL_TEST_ADDR1" "$f"
    [[ $f == */cur/*:2,*S* ]]
    [ "$(collected "$MAIL_TEST_ADDR2")" = 1 ]
    [ "$(collected "$MAIL_TEST_ADDR1")" = 1 ]
    # nothing more on another flush or the next send
    run "$MAIL" -C "$CONF" send --flush
    [ "$status" -eq 0 ]
    run send_one "next"
    [ "$status" -eq 0 ]
    [ "$(sent_count)" -eq 2 ]
    [ "$(grep -l '^Subject: queued first' $(sent_files) | wc -l)" -eq 1 ]
    [ "$(collected "$MAIL_TEST_ADDR2")" = 2 ]
}

@test "sent copy: --no-save before queueing: the flush files no copy" {
    fault_smtp defer-all
    write_config "$CONF" "timeout=5" "sent-folder=imap:" \
        "smtp=smtp://localhost:$FAULT_PORT"
    run send_one "queued unsaved" --queue --no-save
    [ "$status" -eq 0 ]
    [ "$(queued)" -eq 1 ]
    write_config "$CONF" "timeout=5" "sent-folder=imap:"
    run "$MAIL" -C "$CONF" send --flush
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(queued)" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    [ "$(sent_count)" -eq 0 ]
}

@test "sent copy: the recipients left over from a delivered message get no second copy when flushed" {
    fault_smtp defer-one
    write_config "$CONF" "timeout=5" "sent-folder=imap:" \
        "smtp=smtp://localhost:$FAULT_PORT"
    run bash -c 'printf "x\n" | "$1" -C "$2" send --queue -s split "$3" later@example.test' _ "$MAIL" "$CONF" "$MAIL_TEST_ADDR2"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(queued)" -eq 1 ]
    [ "$(sent_count)" -eq 1 ]
    # the flush (the fake server's second connection takes later@)
    run "$MAIL" -C "$CONF" send --flush
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(queued)" -eq 0 ]
    [ -f "$FAULT_DIR/port.msg.2" ]
    [ "$(sent_count)" -eq 1 ]
    [ "$(collected later@example.test)" = 1 ]
}

@test "sent copy: with no sent-folder set, an account with an IMAP server files it in the \\Sent folder; one without files none" {
    # write_config sets imap (Dovecot marks .Sent \Sent) and no sent-folder
    write_config "$CONF" "timeout=5"
    run grep -c 'sent-folder' "$CONF"
    [ "$output" = 0 ]
    run send_one "by default"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [ "$(sent_count)" -eq 1 ]
    [[ $(sent_files) == */cur/*:2,*S* ]]
    grep -q '^Subject: by default' "$(sent_files)"
    [ "$(pending_count)" -eq 0 ]
    # no IMAP server: nowhere to file it, and nothing kept for later
    write_config "$CONF" "timeout=5" "imap="
    run send_one "smtp only"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    mail_wait "$MAIL_TEST_MAILDIR2" 2
    [ "$(sent_count)" -eq 1 ]
    [ "$(pending_count)" -eq 0 ]
}
