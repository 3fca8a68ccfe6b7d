#!/usr/bin/env bats
# mail send against the harness's Postfix, the delivered mail read back from
# Dovecot's Maildirs and judged by python3's email package; a fake SMTP
# server (below) for what Postfix here does not do: no 8BITMIME, a small
# SIZE.

load helpers

use_servers

setup() {
    CONF="$BATS_TEST_TMPDIR/config"
    send_setup "$CONF"
}

teardown() {
    fake_stop
    [[ -n ${SMTPD_PID:-} ]] && kill "$SMTPD_PID" 2>/dev/null
    true
}

@test "send: body and attachments arrive byte-identical after decoding" {
    printf 'first line\n.a line with a dot\nFrom the start\nlast\n' > "$BATS_TEST_TMPDIR/body"
    head -c 300000 /dev/urandom > "$BATS_TEST_TMPDIR/data.bin"
    printf 'col1,col2\n1,2\n' > "$BATS_TEST_TMPDIR/t.csv"
    cp "$BATS_TEST_TMPDIR/data.bin" "$BATS_TEST_TMPDIR/résumé ünïcode.pdf"
    run "$MAIL" -C "$CONF" send -s "files" -A "$BATS_TEST_TMPDIR/data.bin" \
        --attach "$BATS_TEST_TMPDIR/t.csv" -A "$BATS_TEST_TMPDIR/résumé ünïcode.pdf" \
        "$MAIL_TEST_ADDR2" < "$BATS_TEST_TMPDIR/body"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]            # silent on success, for cron
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    run message_judge "$(maildir_last "$MAIL_TEST_MAILDIR2")"
    echo "$output"
    [[ "$output" == *"part=text/plain name=None sha256=$(file_sha256 "$BATS_TEST_TMPDIR/body")"* ]]
    [[ "$output" == *"name=data.bin sha256=$(file_sha256 "$BATS_TEST_TMPDIR/data.bin")"* ]]
    [[ "$output" == *"part=text/csv name=t.csv sha256=$(file_sha256 "$BATS_TEST_TMPDIR/t.csv")"* ]]
    [[ "$output" == *"part=application/pdf name=résumé ünïcode.pdf sha256=$(file_sha256 "$BATS_TEST_TMPDIR/data.bin")"* ]]
}

@test "send: UTF-8 subject, display name and body decode correctly" {
    printf 'Grüße aus Köln — ça va? 日本語\n' > "$BATS_TEST_TMPDIR/body"
    run "$MAIL" -C "$CONF" send -s 'Prüfung: ünïcödé ✓ 日本' \
        -f 'Zoë Ærøskøbing <alice@example.test>' \
        "Ådne Bø <$MAIL_TEST_ADDR2>" < "$BATS_TEST_TMPDIR/body"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    f=$(maildir_last "$MAIL_TEST_MAILDIR2")
    # 7-bit on the wire: encoded words and quoted-printable.
    ! LC_ALL=C grep -q $'[\x80-\xff]' "$f" || false
    run message_judge "$f"
    echo "$output"
    [[ "$output" == *"subject=Prüfung: ünïcödé ✓ 日本"* ]]
    [[ "$output" == *"from_name=Zoë Ærøskøbing"* ]]
    [[ "$output" == *"to=Ådne Bø <bob@example.test>"* ]]
    [[ "$output" == *"text=Grüße aus Köln — ça va? 日本語"* ]]
    grep -q '^Message-ID: <.*@example.test>$' "$f"
    grep -q '^Date: ' "$f"
    grep -q '^MIME-Version: 1.0$' "$f"
    ! grep -q multipart "$f" || false
}

@test "send: Bcc is delivered but absent from the headers" {
    run "$MAIL" -C "$CONF" send -s bcc -b "$MAIL_TEST_ADDR1" "$MAIL_TEST_ADDR2" <<<"hidden copy"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR1" 1
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    for f in "$(maildir_last "$MAIL_TEST_MAILDIR1")" "$(maildir_last "$MAIL_TEST_MAILDIR2")"; do
        ! grep -qi '^bcc' "$f" || false
        ! grep -q "$MAIL_TEST_ADDR1" <(sed '/^$/q' "$f" | grep -vi '^\(return-path\|delivered-to\|received\|from\|	\)') || false
    done
}

@test "send -t: recipients from To, Cc and Bcc; Bcc removed; the rest byte for byte" {
    cat > "$BATS_TEST_TMPDIR/msg" <<EOF
From: Alice <$MAIL_TEST_ADDR1>
To: "Doe, John (bob)" <$MAIL_TEST_ADDR2> (a comment), team: ;
Cc: undisclosed-recipients:;
Bcc: Alice Herself <$MAIL_TEST_ADDR1>
Subject: whole message
X-Custom:   spaces   kept	and tab
 and a folded line

body line 1
.
body line 3
EOF
    run "$MAIL" -C "$CONF" send -t < "$BATS_TEST_TMPDIR/msg"
    echo "$output"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR1" 1
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    f=$(maildir_last "$MAIL_TEST_MAILDIR2")
    ! grep -qi '^bcc' "$f" || false
    grep -qF 'To: "Doe, John (bob)" <bob@example.test> (a comment), team: ;' "$f"
    grep -qF $'X-Custom:   spaces   kept\tand tab' "$f"
    grep -qF ' and a folded line' "$f"
    grep -q '^Message-ID: <.*@example.test>$' "$f"
    grep -q '^Date: ' "$f"
    grep -q '^MIME-Version: 1.0$' "$f"
    # The body exactly.
    diff <(sed '1,/^$/d' "$BATS_TEST_TMPDIR/msg") <(sed '1,/^$/d' "$f")
}

@test "send -t with no recipients anywhere exits 64" {
    printf 'Subject: nobody\n\nx\n' | { run "$MAIL" -C "$CONF" send -t; echo "$output"; [ "$status" -eq 64 ]; }
}

@test "send: a refused recipient exits 67, is named, the others get the message" {
    run "$MAIL" -C "$CONF" send -s partial "nobody@$MAIL_TEST_DOMAIN" "$MAIL_TEST_ADDR2" <<<"hi"
    echo "$output"
    [ "$status" -eq 67 ]
    [[ "$output" == *"nobody@example.test: refused: 550 5.1.1"* ]]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    # Every recipient refused: 67 as well, nothing sent.
    run "$MAIL" -C "$CONF" send -s none "nobody@$MAIL_TEST_DOMAIN" <<<"hi"
    echo "$output"
    [ "$status" -eq 67 ]
    [[ "$output" == *"nobody@example.test"* ]]
}

@test "send: 465 with implicit TLS" {
    write_config "$CONF" "smtp=smtps://localhost:$MAIL_TEST_SUBMISSIONS_PORT"
    run "$MAIL" -C "$CONF" send -s implicit "$MAIL_TEST_ADDR2" <<<"over smtps"
    echo "$output"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    grep -q 'over smtps' "$(maildir_last "$MAIL_TEST_MAILDIR2")"
}

@test "send: wrong password exits 77 and never prints it" {
    echo wrong-password-xyz > "$BATS_TEST_TMPDIR/alice.pass"
    run "$MAIL" -C "$CONF" -v send -s x "$MAIL_TEST_ADDR2" <<<"x"
    echo "$output"
    [ "$status" -eq 77 ]
    ! grep -q wrong-password-xyz <<<"$output" || false
}

@test "send: STARTTLS stripped by the server is refused, no AUTH is sent" {
    fake_start smtp-no-starttls
    write_config "$CONF" "smtp=smtp://127.0.0.1:$FAKE_PORT"
    run "$MAIL" -C "$CONF" send -s x "$MAIL_TEST_ADDR2" <<<"x"
    echo "$output"
    [ "$status" -eq 69 ]
    [[ "$output" == *"STARTTLS not offered"* ]]
    ! grep -qi 'AUTH' "$FAKE_LOG" || false
    ! grep -qi 'MAIL FROM' "$FAKE_LOG" || false
}

@test "send: a temporary refusal (421 greeting) exits 75" {
    fake_start smtp-tempfail-greeting
    write_config "$CONF" "smtp=smtp://127.0.0.1:$FAKE_PORT"
    run "$MAIL" -C "$CONF" send -s x "$MAIL_TEST_ADDR2" <<<"x"
    echo "$output"
    [ "$status" -eq 75 ]
}

@test "send: server down exits 75; with the queue on it arrives after --flush" {
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    write_config "$CONF" "smtp=smtp://127.0.0.1:$port"
    run "$MAIL" -C "$CONF" send -s down "$MAIL_TEST_ADDR2" <<<"x"
    echo "$output"
    [ "$status" -eq 75 ]
    [ -z "$(ls "$XDG_DATA_HOME/mail/queue" 2>/dev/null | grep -v tmp)" ]
    # queue = true in the account.
    write_config "$CONF" "smtp=smtp://127.0.0.1:$port" "queue=true"
    run "$MAIL" -C "$CONF" send -s "queued one" "$MAIL_TEST_ADDR2" <<<"kept safe"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"queued as"* ]]
    # --queue on the command line.
    write_config "$CONF" "smtp=smtp://127.0.0.1:$port"
    run "$MAIL" -C "$CONF" send --queue -s "queued two" "$MAIL_TEST_ADDR2" <<<"kept too"
    [ "$status" -eq 0 ]
    [ "$(ls "$XDG_DATA_HOME/mail/queue" | grep -vc tmp)" -eq 2 ]
    # Still down: the queue stays, 75.
    run "$MAIL" -C "$CONF" send --flush
    [ "$status" -eq 75 ]
    [ "$(ls "$XDG_DATA_HOME/mail/queue" | grep -vc tmp)" -eq 2 ]
    # The server is back.
    write_config "$CONF"
    run "$MAIL" -C "$CONF" send --flush
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(ls "$XDG_DATA_HOME/mail/queue" | grep -vc tmp || true)" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 2
    grep -l 'kept safe' $(maildir_files "$MAIL_TEST_MAILDIR2")
    grep -l 'kept too' $(maildir_files "$MAIL_TEST_MAILDIR2")
}

@test "send: the queue is flushed at the start of the next send" {
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    write_config "$CONF" "smtp=smtp://127.0.0.1:$port" "queue=true"
    run "$MAIL" -C "$CONF" send -s first "$MAIL_TEST_ADDR2" <<<"first"
    [ "$status" -eq 0 ]
    write_config "$CONF" "queue=true"
    run "$MAIL" -C "$CONF" send -s second "$MAIL_TEST_ADDR2" <<<"second"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 2
    [ "$(ls "$XDG_DATA_HOME/mail/queue" | grep -vc tmp || true)" -eq 0 ]
}

@test "send: header injection attempts are refused with 64 and nothing is sent" {
    run "$MAIL" -C "$CONF" send -s $'hi\nBcc: '"$MAIL_TEST_ADDR1" "$MAIL_TEST_ADDR2" <<<"x"
    [ "$status" -eq 64 ]
    run "$MAIL" -C "$CONF" send -s hi $'bob@example.test\r\nBcc: alice@example.test' <<<"x"
    [ "$status" -eq 64 ]
    run "$MAIL" -C "$CONF" send -s hi -c $'x@example.test\nX-Evil: 1' "$MAIL_TEST_ADDR2" <<<"x"
    [ "$status" -eq 64 ]
    run "$MAIL" -C "$CONF" send -s hi -F $'Name\nX-Evil: 1' "$MAIL_TEST_ADDR2" <<<"x"
    [ "$status" -eq 64 ]
    run "$MAIL" -C "$CONF" send -s hi -f $'a@example.test\nX-Evil: 1' "$MAIL_TEST_ADDR2" <<<"x"
    [ "$status" -eq 64 ]
    run "$MAIL" -C "$CONF" send --header $'X-A: 1\nX-Evil: 2' "$MAIL_TEST_ADDR2" <<<"x"
    [ "$status" -eq 64 ]
    sleep 0.5
    [ "$(maildir_count "$MAIL_TEST_MAILDIR1")" -eq 0 ]
    [ "$(maildir_count "$MAIL_TEST_MAILDIR2")" -eq 0 ]
}

@test "send --dry-run prints the exact message and sends nothing" {
    run "$MAIL" -C "$CONF" send --dry-run -s dry -c "$MAIL_TEST_ADDR1" "$MAIL_TEST_ADDR2" <<<"dry body"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Subject: dry"* ]]
    [[ "$output" == *"Cc: alice@example.test"* ]]
    [[ "$output" == *"dry body"* ]]
    sleep 0.5
    [ "$(maildir_count "$MAIL_TEST_MAILDIR2")" -eq 0 ]
}

@test "send: sent-folder gets a copy, with the Bcc" {
    write_config "$CONF" "sent-folder=$HOME/Mail/Sent"
    run "$MAIL" -C "$CONF" send -s kept -b "$MAIL_TEST_ADDR1" "$MAIL_TEST_ADDR2" <<<"copy me"
    [ "$status" -eq 0 ]
    [ "$(maildir_count "$HOME/Mail/Sent")" -eq 1 ]
    f=$(maildir_files "$HOME/Mail/Sent")
    grep -q '^Subject: kept' $f
    grep -q "^Bcc: $MAIL_TEST_ADDR1" $f
    [[ "$f" == *:2,S ]]
}

@test "send --batch: every message of an mbox over one connection" {
    for i in 1 2 3; do
        printf 'From alice@example.test Sat Nov 21 10:00:00 2026\nTo: %s\nSubject: batch %s\n\nnumber %s\n\n' \
            "$MAIL_TEST_ADDR2" "$i" "$i"
    done > "$BATS_TEST_TMPDIR/batch.mbox"
    run "$MAIL" -C "$CONF" -v send --batch "$BATS_TEST_TMPDIR/batch.mbox"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(grep -c '^smtp> EHLO' <<<"$output")" -eq 2 ]    # one session
    [ "$(grep -c '^smtp> AUTH' <<<"$output")" -eq 1 ]
    [ "$(grep -c '^smtp> DATA' <<<"$output")" -eq 3 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 3
}

@test "send: a 20 MB attachment is sent with flat memory" {
    local -A rss
    head -c 20000000 /dev/urandom > "$BATS_TEST_TMPDIR/big"
    head -c 1000 /dev/urandom > "$BATS_TEST_TMPDIR/small"
    # Peak memory with a 1 KB attachment, then with a 20 MB one: the same
    # but for noise (sanitizer builds have a large, fixed baseline).
    for f in small big; do
        run /usr/bin/time -f 'maxrss=%M' "$MAIL" -C "$CONF" send -s "$f" \
            -A "$BATS_TEST_TMPDIR/$f" "$MAIL_TEST_ADDR2" <<<"$f one"
        echo "$output"
        [ "$status" -eq 0 ]
        rss[$f]=$(grep -o 'maxrss=[0-9]*' <<<"$output" | cut -d= -f2)
    done
    echo "small: ${rss[small]} KiB, big: ${rss[big]} KiB"
    [ "$((rss[big] - rss[small]))" -lt 4000 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 2 30
    run message_judge "$(maildir_last "$MAIL_TEST_MAILDIR2")"
    [[ "$output" == *"name=big sha256=$(file_sha256 "$BATS_TEST_TMPDIR/big")"* ]]
}

# ---------------------------------------------------------------------------
# A small SMTP server with STARTTLS (the harness's certificate) that can
# leave out 8BITMIME and SMTPUTF8 or announce a small SIZE, and keeps what
# it receives: the commands in $SMTPD_DIR/log, each message in
# $SMTPD_DIR/msg.N.
# ---------------------------------------------------------------------------
smtpd_start() {
    local mode=$1 i
    SMTPD_DIR=$BATS_TEST_TMPDIR/smtpd
    mkdir -p "$SMTPD_DIR"
    python3 - "$mode" "$SMTPD_DIR" "$MAIL_TEST_DIR/tls/server.pem" "$MAIL_TEST_DIR/tls/server.key" 3>&- <<'EOF' &
import socket, ssl, sys, os
mode, d, cert, key = sys.argv[1:5]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(5)
open(d + "/port.tmp", "w").write(str(srv.getsockname()[1]))
os.rename(d + "/port.tmp", d + "/port")
n = 0
def caps(tls):
    c = ["localhost", "PIPELINING", "ENHANCEDSTATUSCODES"]
    c.append("SIZE 1000" if mode == "size" else "SIZE")
    if mode != "no8bit":
        c += ["8BITMIME", "SMTPUTF8"]
    c.append("AUTH PLAIN" if tls else "STARTTLS")
    return c
while True:
    c, _ = srv.accept()
    f = c.makefile("rwb")
    tls = False
    def send(s):
        f.write(s.encode() + b"\r\n"); f.flush()
    send("220 localhost fake ESMTP")
    log = open(d + "/log", "ab")
    while True:
        line = f.readline()
        if not line:
            break
        log.write(line); log.flush()
        cmd = line.strip().upper()
        if cmd.startswith(b"EHLO"):
            cs = caps(tls)
            for x in cs[:-1]:
                send("250-" + x)
            send("250 " + cs[-1])
        elif cmd == b"STARTTLS":
            send("220 2.0.0 go ahead")
            c = ctx.wrap_socket(c, server_side=True)
            f = c.makefile("rwb")
            tls = True
        elif cmd.startswith(b"AUTH"):
            send("235 2.7.0 ok")
        elif cmd.startswith(b"MAIL") or cmd.startswith(b"RCPT") or cmd == b"RSET":
            send("250 2.1.0 ok")
        elif cmd == b"DATA":
            send("354 go")
            n += 1
            with open(d + "/msg.%d" % n, "wb") as m:
                while True:
                    l = f.readline()
                    if l in (b".\r\n", b""):
                        break
                    if l.startswith(b".."):
                        l = l[1:]
                    m.write(l)
            send("250 2.0.0 queued")
        elif cmd == b"QUIT":
            send("221 bye")
            break
        else:
            send("502 5.5.1 no")
    c.close()
EOF
    SMTPD_PID=$!
    for ((i = 0; i < 200; i++)); do
        [[ -s $SMTPD_DIR/port ]] && break
        sleep 0.025
    done
    SMTPD_PORT=$(<"$SMTPD_DIR/port")
    write_config "$CONF" "smtp=smtp://localhost:$SMTPD_PORT"
}

@test "send: a server without 8BITMIME gets a valid 7-bit message" {
    smtpd_start no8bit
    long=$(head -c 3000 /dev/zero | tr '\0' x)
    printf 'To: %s\nSubject: ütf-8 header\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nnaïve body\n%s\n.lone dot line\n' \
        "$MAIL_TEST_ADDR2" "$long" > "$BATS_TEST_TMPDIR/msg"
    run "$MAIL" -C "$CONF" send -t < "$BATS_TEST_TMPDIR/msg"
    echo "$output"
    [ "$status" -eq 0 ]
    m=$SMTPD_DIR/msg.1
    ! LC_ALL=C grep -q $'[\x80-\xff]' "$m" || false
    ! grep -q BODY=8BITMIME "$SMTPD_DIR/log" || false
    [ "$(awk '{ if (length($0) > 999) print }' "$m" | wc -l)" -eq 0 ]
    python3 - "$m" "$long" <<'EOF'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
assert str(m["subject"]) == "ütf-8 header", m["subject"]
body = m.get_content()
assert body.replace("\r\n", "\n") == "naïve body\n" + sys.argv[2] + "\n.lone dot line\n", repr(body[:80])
EOF
}

@test "send: SIZE exceeded fails before DATA, naming the limit" {
    smtpd_start size
    head -c 3000 /dev/zero | tr '\0' y > "$BATS_TEST_TMPDIR/body"
    run "$MAIL" -C "$CONF" send -s big "$MAIL_TEST_ADDR2" < "$BATS_TEST_TMPDIR/body"
    echo "$output"
    [ "$status" -eq 69 ]
    [[ "$output" == *"SIZE 1000 bytes"* ]]
    ! grep -q '^DATA' "$SMTPD_DIR/log" || false
    ! grep -q '^MAIL' "$SMTPD_DIR/log" || false
}

@test "send: with 8BITMIME an 8-bit -t body goes as it is, BODY=8BITMIME" {
    smtpd_start plain
    printf 'To: %s\nSubject: x\n\nnaïve\n' "$MAIL_TEST_ADDR2" > "$BATS_TEST_TMPDIR/msg"
    run "$MAIL" -C "$CONF" send -t < "$BATS_TEST_TMPDIR/msg"
    [ "$status" -eq 0 ]
    grep -q 'BODY=8BITMIME' "$SMTPD_DIR/log"
    grep -q 'naïve' "$SMTPD_DIR/msg.1"
}

@test "send: no password source and no terminal (cron) fails before sending, exit 77; --queue keeps it" {
    write_config "$CONF" "timeout=5" "password-command="
    # setsid: no controlling terminal to ask on, as under cron.
    run setsid -w "$MAIL" -C "$CONF" -v send -s "cron job" "$MAIL_TEST_ADDR2" <<<"output"
    echo "$output"
    [ "$status" -eq 77 ]
    [[ "$output" == *"no password available for $MAIL_TEST_USER1 at localhost (set password-command, add it to ~/.netrc, or run on a terminal)"* ]]
    ! grep -q '^smtp> MAIL FROM' <<<"$output" || false
    run setsid -w "$MAIL" -C "$CONF" send --queue -s "cron job" "$MAIL_TEST_ADDR2" <<<"output"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"queued as"* ]]
    [ "$(ls "$XDG_DATA_HOME/mail/queue" | grep -vc tmp)" -eq 1 ]
    # With a password again, the queued message goes.
    write_config "$CONF" "timeout=5"
    run "$MAIL" -C "$CONF" send --flush
    echo "$output"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    [ "$(maildir_count "$MAIL_TEST_MAILDIR2")" -eq 1 ]
}

@test "send: addresses with blanks or ESMTP parameters are refused with 64, naming them" {
    for a in 'bob@example.test ORCPT=rfc822;alice@example.test' 'bob@example.test> NOTIFY=NEVER' 'bob@example.test SIZE=1'; do
        run "$MAIL" -C "$CONF" send -s x "$a" <<<"x"
        echo "$output"
        [ "$status" -eq 64 ]
        [[ "$output" == *"'$a' is not a valid address"* ]]
        run "$MAIL" -C "$CONF" send -s x -c "$a" "$MAIL_TEST_ADDR2" <<<"x"
        [ "$status" -eq 64 ]
        [[ "$output" == *"'$a'"* ]]
        run "$MAIL" -C "$CONF" send -s x -b "$a" "$MAIL_TEST_ADDR2" <<<"x"
        [ "$status" -eq 64 ]
        printf 'To: %s\nSubject: x\n\nx\n' "$a" > "$BATS_TEST_TMPDIR/m"
        run "$MAIL" -C "$CONF" send -t < "$BATS_TEST_TMPDIR/m"
        echo "$output"
        [ "$status" -eq 64 ]
        [[ "$output" == *"'$a' is not a valid address"* ]]
        run "$MAIL" -C "$CONF" sendmail -oi "$a" < "$BATS_TEST_TMPDIR/m"
        [ "$status" -eq 64 ]
    done
    sleep 0.5
    [ "$(maildir_count "$MAIL_TEST_MAILDIR1")" -eq 0 ]
    [ "$(maildir_count "$MAIL_TEST_MAILDIR2")" -eq 0 ]
}

@test "send --header: Bcc, From, MIME fields and bad names are refused with 64" {
    for h in "Bcc: $MAIL_TEST_ADDR1" "From: Mallory <$MAIL_TEST_ADDR1>" 'Content-Type: text/html' \
             'MIME-Version: 1.0' 'Content-Transfer-Encoding: base64' 'X Bad: 1' 'Resent-Bcc: x@example.test'; do
        run "$MAIL" -C "$CONF" send -s x --header "$h" "$MAIL_TEST_ADDR2" <<<"x"
        echo "$output"
        [ "$status" -eq 64 ]
    done
    run "$MAIL" -C "$CONF" send -s x --header 'X-Ok: fine' "$MAIL_TEST_ADDR2" <<<"x"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    grep -q '^X-Ok: fine' "$(maildir_last "$MAIL_TEST_MAILDIR2")"
    [ "$(maildir_count "$MAIL_TEST_MAILDIR1")" -eq 0 ]
}

@test "send -t strips Resent-Bcc as well as Bcc" {
    printf 'To: %s\nBcc: %s\nResent-Bcc: %s\nSubject: resent\n\nx\n' \
        "$MAIL_TEST_ADDR2" "$MAIL_TEST_ADDR1" "$MAIL_TEST_ADDR1" > "$BATS_TEST_TMPDIR/m"
    # What mail itself hands over (Postfix strips both fields too, so
    # the delivered copies alone would not show it).
    run "$MAIL" -C "$CONF" send -t --dry-run < "$BATS_TEST_TMPDIR/m"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Subject: resent"* ]]
    ! grep -qi '^Resent-Bcc:' <<<"$output" || false
    ! grep -qi '^Bcc:' <<<"$output" || false
    run "$MAIL" -C "$CONF" send -t < "$BATS_TEST_TMPDIR/m"
    echo "$output"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    mail_wait "$MAIL_TEST_MAILDIR1" 1
    for f in $(maildir_files "$MAIL_TEST_MAILDIR2") $(maildir_files "$MAIL_TEST_MAILDIR1"); do
        ! grep -qi '^Resent-Bcc:' "$f" || false
        ! grep -qi '^Bcc:' "$f" || false
    done
}

@test "send: bare names are expanded from the aliases file or refused; domain qualifies them" {
    # No alias, no domain: refused, nothing sent.
    run "$MAIL" -C "$CONF" send -s x root <<<"x"
    echo "$output"
    [ "$status" -eq 64 ]
    [[ "$output" == *"'root' is not an address: no alias 'root' and no domain to add (set domain in the account)"* ]]
    # mutt's alias format, in $XDG_CONFIG_HOME/mail/aliases.
    mkdir -p "$XDG_CONFIG_HOME/mail"
    printf '# aliases\nalias root Bob Admin <%s>\nalias both %s, root\n' \
        "$MAIL_TEST_ADDR2" "$MAIL_TEST_ADDR1" > "$XDG_CONFIG_HOME/mail/aliases"
    run "$MAIL" -C "$CONF" send -s "to root" root <<<"x"
    echo "$output"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    grep -q "^To: Bob Admin <$MAIL_TEST_ADDR2>" "$(maildir_last "$MAIL_TEST_MAILDIR2")"
    # -c, -b and the mailx form, and -t headers.
    run "$MAIL" -C "$CONF" send -s "cc both" -c both "$MAIL_TEST_ADDR2" <<<"x"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR1" 1
    printf 'To: root\nSubject: via -t\n\nx\n' > "$BATS_TEST_TMPDIR/m"
    run "$MAIL" -C "$CONF" send -t < "$BATS_TEST_TMPDIR/m"
    echo "$output"
    [ "$status" -eq 0 ]
    # sendmail as cron calls it: MAILTO=root.
    printf 'Subject: cron\n\nx\n' | "$MAIL" -C "$CONF" sendmail -i root
    mail_wait "$MAIL_TEST_MAILDIR2" 4
    # HOME's ~/.config when XDG_CONFIG_HOME is unset.
    rm "$XDG_CONFIG_HOME/mail/aliases"
    printf 'alias root %s\n' "$MAIL_TEST_ADDR1" > "$HOME/.config/mail/aliases"
    run env -u XDG_CONFIG_HOME "$MAIL" -C "$CONF" send -s home root <<<"x"
    echo "$output"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR1" 2
    # domain = in the account qualifies a name that no alias resolves.
    rm "$HOME/.config/mail/aliases"
    write_config "$CONF" "timeout=5" "domain=example.test"
    run "$MAIL" -C "$CONF" send -s "qualified" bob <<<"x"
    echo "$output"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 5
    grep -q '^To: bob@example.test' "$(maildir_last "$MAIL_TEST_MAILDIR2")"
}

# fault_smtp MODE: the fake SMTP server in MODE (fake_smtp_start); the
# account points at it.
fault_smtp() {
    fake_smtp_start "$1"
    write_config "$CONF" "timeout=5" "smtp=smtp://localhost:$FAULT_PORT"
}

queued() { ls "$XDG_DATA_HOME/mail/queue" 2>/dev/null | grep -c '^[0-9]' || true; }

@test "send: the server drops the connection after RCPT or at DATA: 75 without --queue, queued with it" {
    n=0
    for mode in drop-after-rcpt drop-at-data; do
        fault_smtp "$mode"
        run "$MAIL" -C "$CONF" send -s "$mode" "$MAIL_TEST_ADDR2" <<<"x"
        echo "$output"
        [ "$status" -eq 75 ]
        [[ "$output" == *"the message was not sent"* ]]
        grep -q '^RCPT TO' "$FAULT_LOG"
        [ "$(queued)" -eq "$n" ]
        run "$MAIL" -C "$CONF" send --queue -s "$mode" "$MAIL_TEST_ADDR2" <<<"kept: $mode"
        echo "$output"
        [ "$status" -eq 0 ]
        [[ "$output" == *"queued as"* ]]
        n=$((n + 1))
        [ "$(queued)" -eq "$n" ]
        fake_stop
    done
    [ "$(queued)" -eq 2 ]
    # queue = true in the account works the same.
    fault_smtp drop-at-data
    write_config "$CONF" "timeout=5" "smtp=smtp://localhost:$(<"$FAULT_DIR/port")" "queue=true"
    run "$MAIL" -C "$CONF" send -s third "$MAIL_TEST_ADDR2" <<<"kept: third"
    [ "$status" -eq 0 ]
    [ "$(queued)" -eq 3 ]
    # The real server: all three arrive.
    write_config "$CONF" "timeout=5"
    run "$MAIL" -C "$CONF" send --flush
    echo "$output"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 3
    [ "$(queued)" -eq 0 ]
}

@test "send: no reply after the final dot: kept aside, not queued for resending, 75" {
    fault_smtp drop-after-dot
    run "$MAIL" -C "$CONF" send --queue -s "maybe" "$MAIL_TEST_ADDR2" <<<"maybe delivered"
    echo "$output"
    [ "$status" -eq 75 ]
    [ "$(grep -c . <<<"$output")" -eq 1 ]
    [[ "$output" == "mail: no reply after the end of the message: it may or may not have been delivered; kept in $XDG_DATA_HOME/mail/queue/held/"* ]]
    [ -f "$FAULT_DIR/port.msg.1" ]
    [ "$(queued)" -eq 0 ]
    held=${output##* kept in }
    grep -q 'maybe delivered' "$held"
    # A flush does not send it again.
    write_config "$CONF" "timeout=5"
    run "$MAIL" -C "$CONF" send --flush
    [ "$status" -eq 0 ]
    sleep 0.5
    [ "$(maildir_count "$MAIL_TEST_MAILDIR2")" -eq 0 ]
    # Moved back into the queue by the user, it goes.
    mv "$held" "$XDG_DATA_HOME/mail/queue/"
    run "$MAIL" -C "$CONF" send --flush
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
}

@test "send: a held message (no reply after the dot) gets no Sent copy; moved back and flushed, the copy follows, once, with its Bcc" {
    fake_smtp_start drop-after-dot
    write_config "$CONF" "timeout=5" "smtp=smtp://localhost:$FAULT_PORT" \
        "sent-folder=$HOME/Mail/Sent"
    run "$MAIL" -C "$CONF" send -s "held copy" -b "$MAIL_TEST_ADDR1" "$MAIL_TEST_ADDR2" <<<"maybe delivered"
    echo "$output"
    [ "$status" -eq 75 ]
    [[ "$output" == *"may or may not have been delivered; kept in $XDG_DATA_HOME/mail/queue/held/"* ]]
    held=${output##* kept in }
    # not known to be sent: no copy yet, but the held entry carries it
    [ "$(maildir_count "$HOME/Mail/Sent")" -eq 0 ]
    grep -q '^sent-copy yes$' "$held"
    # the user sends it after all: the copy comes with that send
    write_config "$CONF" "timeout=5" "sent-folder=$HOME/Mail/Sent"
    mv "$held" "$XDG_DATA_HOME/mail/queue/"
    run "$MAIL" -C "$CONF" send --flush
    echo "$output"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    [ "$(maildir_count "$HOME/Mail/Sent")" -eq 1 ]
    f=$(maildir_files "$HOME/Mail/Sent")
    grep -q '^Subject: held copy' $f
    grep -q "^Bcc: $MAIL_TEST_ADDR1" $f
    run "$MAIL" -C "$CONF" send --flush
    [ "$status" -eq 0 ]
    [ "$(maildir_count "$HOME/Mail/Sent")" -eq 1 ]
}

@test "send --flush: a queued message without a reply after its dot is held, not retried" {
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    write_config "$CONF" "timeout=5" "smtp=smtp://127.0.0.1:$port"
    run "$MAIL" -C "$CONF" send --queue -s "q" "$MAIL_TEST_ADDR2" <<<"queued first"
    [ "$status" -eq 0 ]
    [ "$(queued)" -eq 1 ]
    fault_smtp drop-after-dot
    run "$MAIL" -C "$CONF" send --flush
    echo "$output"
    [ "$status" -eq 75 ]
    [[ "$output" == *"may or may not have been delivered; kept in $XDG_DATA_HOME/mail/queue/held/"* ]]
    [ "$(queued)" -eq 0 ]
    [ "$(ls "$XDG_DATA_HOME/mail/queue/held" | grep -c '^[0-9]')" -eq 1 ]
}

@test "send -t -A: the attachment is added (multipart/mixed), the message's headers kept" {
    head -c 4000 /dev/urandom > "$BATS_TEST_TMPDIR/data.bin"
    printf 'To: %s\nSubject: t with attachment\nX-Keep: yes\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nnaïve body\n' \
        "$MAIL_TEST_ADDR2" > "$BATS_TEST_TMPDIR/m"
    run "$MAIL" -C "$CONF" send -t -A "$BATS_TEST_TMPDIR/data.bin" < "$BATS_TEST_TMPDIR/m"
    echo "$output"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    f=$(maildir_last "$MAIL_TEST_MAILDIR2")
    grep -q '^X-Keep: yes' "$f"
    run message_judge "$f"
    echo "$output"
    [[ "$output" == *"subject=t with attachment"* ]]
    [[ "$output" == *"text=naïve body"* ]]
    [[ "$output" == *"name=data.bin sha256=$(file_sha256 "$BATS_TEST_TMPDIR/data.bin")"* ]]
    # A missing file is an error, before anything is sent.
    run "$MAIL" -C "$CONF" send -t -A "$BATS_TEST_TMPDIR/nope" < "$BATS_TEST_TMPDIR/m"
    [ "$status" -eq 66 ]
}

@test "send -A: text attachments say their charset (utf-8, us-ascii); other bytes go as octet-stream" {
    printf 'Grüße, naïve ✓\n' > "$BATS_TEST_TMPDIR/utf8.txt"
    printf 'plain ascii\n' > "$BATS_TEST_TMPDIR/ascii.txt"
    printf 'caf\xe9 latin-1\n' > "$BATS_TEST_TMPDIR/latin1.txt"
    run "$MAIL" -C "$CONF" send -s charsets -A "$BATS_TEST_TMPDIR/utf8.txt" \
        -A "$BATS_TEST_TMPDIR/ascii.txt" -A "$BATS_TEST_TMPDIR/latin1.txt" "$MAIL_TEST_ADDR2" <<<"body"
    echo "$output"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    python3 - "$(maildir_last "$MAIL_TEST_MAILDIR2")" "$BATS_TEST_TMPDIR" <<'PY'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
parts = {p.get_filename(): p for p in m.walk() if p.get_filename()}
u = parts["utf8.txt"]
assert u.get_content_type() == "text/plain", u.get_content_type()
assert u.get_content_charset() == "utf-8", u.get_content_charset()
assert u.get_content() == open(sys.argv[2] + "/utf8.txt", encoding="utf-8").read()
a = parts["ascii.txt"]
assert a.get_content_charset() == "us-ascii", a.get_content_charset()
l = parts["latin1.txt"]
assert l.get_content_type() == "application/octet-stream", l.get_content_type()
assert l.get_payload(decode=True) == open(sys.argv[2] + "/latin1.txt", "rb").read()
PY
}

@test "send --batch: a message refused for some recipients is reported as partly delivered, 67" {
    fault_smtp refuse-one
    {
        printf 'From alice@example.test Sat Nov 21 10:00:00 2026\nTo: %s\nSubject: one\n\n1\n\n' "$MAIL_TEST_ADDR2"
        printf 'From alice@example.test Sat Nov 21 10:00:00 2026\nTo: %s, refused@example.test\nSubject: two\n\n2\n\n' "$MAIL_TEST_ADDR2"
    } > "$BATS_TEST_TMPDIR/batch.mbox"
    run "$MAIL" -C "$CONF" send --batch "$BATS_TEST_TMPDIR/batch.mbox"
    echo "$output"
    [ "$status" -eq 67 ]
    [[ "$output" == *"message 2 of 2: partly delivered, refused for refused@example.test"* ]]
    [[ "$output" == *"1 of 2 messages sent, 1 partly delivered, 0 failed"* ]]
    [ -f "$FAULT_DIR/port.msg.2" ]
}

@test "send: a recipient deferred (451) while the others took the message: 75; with the queue only that recipient waits, and gets it on the flush" {
    fault_smtp defer-one
    run "$MAIL" -C "$CONF" send -s "split" "$MAIL_TEST_ADDR2" later@example.test <<<"body"
    echo "$output"
    [ "$status" -eq 75 ]
    [[ "$output" == *"later@example.test: deferred: 451 4.2.0 try again later"* ]]
    [ -f "$FAULT_DIR/port.msg.1" ]
    [ "$(queued)" -eq 0 ]
    # A fresh server (its first connection defers again), the queue on:
    # the message went to bob, later@ waits in the queue, exit 0.
    rm -rf "$FAULT_DIR"
    fault_smtp defer-one
    run "$MAIL" -C "$CONF" send --queue -s "split" "$MAIL_TEST_ADDR2" later@example.test <<<"body"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"queued as"*"1 recipient(s) deferred"* ]]
    [ "$(queued)" -eq 1 ]
    [ -f "$FAULT_DIR/port.msg.1" ] && [ ! -f "$FAULT_DIR/port.msg.2" ]
    # The flush (a second connection: accepted) sends it to later@ only.
    : > "$FAULT_LOG"
    run "$MAIL" -C "$CONF" send --flush
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(queued)" -eq 0 ]
    [ -f "$FAULT_DIR/port.msg.2" ]
    [ "$(grep -c '^RCPT TO' "$FAULT_LOG")" -eq 1 ]
    grep -q '^RCPT TO:<later@example.test>' "$FAULT_LOG"
    grep -q '^Subject: split' "$FAULT_DIR/port.msg.2"
}

@test "send --batch: a recipient deferred in one message is queued with --queue, the batch goes on" {
    fault_smtp defer-one
    {
        printf 'From alice@example.test Sat Nov 21 10:00:00 2026\nTo: %s, later@example.test\nSubject: one\n\n1\n\n' "$MAIL_TEST_ADDR2"
        printf 'From alice@example.test Sat Nov 21 10:00:00 2026\nTo: %s\nSubject: two\n\n2\n\n' "$MAIL_TEST_ADDR2"
    } > "$BATS_TEST_TMPDIR/batch.mbox"
    run "$MAIL" -C "$CONF" send --queue --batch "$BATS_TEST_TMPDIR/batch.mbox"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"queued as"* ]]
    [ "$(queued)" -eq 1 ]
    [ -f "$FAULT_DIR/port.msg.1" ] && [ -f "$FAULT_DIR/port.msg.2" ]
    : > "$FAULT_LOG"
    run "$MAIL" -C "$CONF" send --flush
    [ "$status" -eq 0 ]
    [ "$(queued)" -eq 0 ]
    grep -q '^RCPT TO:<later@example.test>' "$FAULT_LOG"
    grep -q '^Subject: one' "$FAULT_DIR/port.msg.3"
}
