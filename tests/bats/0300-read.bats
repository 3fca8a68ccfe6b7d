#!/usr/bin/env bats
# mail read: the readable text of plain, quoted-printable, base64,
# alternative, HTML-only and non-ASCII messages; --raw, --part and --save
# byte for byte; --json checked against Python's email package; the seen
# flag; terminal safety; html-command, mailcap and the pager.

if [ -f "$BATS_TEST_DIRNAME/helpers.bash" ]; then
    load helpers
fi

setup() {
    if declare -F isolate_home >/dev/null; then
        isolate_home
    else
        export HOME="$BATS_TEST_TMPDIR/home"
        export XDG_CONFIG_HOME="$HOME/.config" XDG_STATE_HOME="$HOME/.state"
        export XDG_CACHE_HOME="$HOME/.cache" XDG_DATA_HOME="$HOME/.data"
        mkdir -p "$HOME"
    fi
    unset COLUMNS NO_COLOR PAGER LESS
    # No mailcap of the machine: the built-in renderer unless a test says.
    export MAILCAPS=/dev/null
    T="$BATS_TEST_TMPDIR"
    make_messages "$T/Mail"
    mkdir -p "$XDG_CONFIG_HOME/mail"
    printf '[account "t"]\n    address = Bob <bob@example.org>\n    store = %s\n' \
        "$T/Mail" > "$XDG_CONFIG_HOME/mail/config"
}

# Write the test messages into Maildir $1 (all unseen, in cur/), and the
# original attachment bytes next to it.
make_messages() {
    python3 - "$1" "$T" <<'PY'
import base64, os, quopri, sys
md, t = sys.argv[1], sys.argv[2]
for d in ('cur', 'new', 'tmp'):
    os.makedirs(os.path.join(md, d), exist_ok=True)
msgs = {}
hdr = (b'Date: Tue, 3 Nov 2026 09:00:00 +0000\n'
       b'From: Alice Example <alice@example.com>\n'
       b'To: Bob <bob@example.org>\n')
msgs['plain'] = hdr + (b'Subject: Plain\nMessage-ID: <plain@example.com>\n\n'
                       b'Hello Bob,\nthis is plain text.\n\n-- \nAlice\n')
msgs['qp'] = hdr + (b'Subject: QP\nMIME-Version: 1.0\n'
                    b'Content-Type: text/plain; charset=iso-8859-1\n'
                    b'Content-Transfer-Encoding: quoted-printable\n\n'
                    + quopri.encodestring(('Café crème, a soft=\nbreak '
                      'and a long line ' + 'x' * 90 + '\nend\n')
                      .encode('latin-1')))
body = 'Grüße aus Köln – ✓\nzweite Zeile\n'.encode()
msgs['b64'] = hdr + (b'Subject: =?utf-8?b?' + base64.b64encode('Grüße'.encode())
                     + b'?=\nMIME-Version: 1.0\n'
                     b'Content-Type: text/plain; charset=utf-8\n'
                     b'Content-Transfer-Encoding: base64\n\n'
                     + base64.encodebytes(body))
msgs['alt'] = hdr + (b'Subject: Alternative\nMIME-Version: 1.0\n'
    b'Content-Type: multipart/alternative; boundary="b1"\n\n'
    b'--b1\nContent-Type: text/plain; charset=us-ascii\n\nplain version\n'
    b'--b1\nContent-Type: text/html; charset=us-ascii\n\n'
    b'<p>html version</p>\n--b1--\n')
msgs['html'] = hdr + (b'Subject: HTML only\nMIME-Version: 1.0\n'
    b'Content-Type: text/html; charset=utf-8\n'
    b'Content-Transfer-Encoding: quoted-printable\n\n'
    + quopri.encodestring(
      '<html><head><title>T</title><style>p { color: red }</style></head>'
      '<body><p>Hello <b>World</b> &amp; caf&eacute; \u2713</p>'
      '<p><a href="https://example.com/x?a=1&amp;b=2">a link</a></p>'
      '<ul><li>one</li><li>two</li></ul>'
      '<script>alert(1)</script></body></html>\n'.encode()))
blob = bytes((i * 7 + 3) % 256 for i in range(5000)) + b'\r\n\x00end'
open(os.path.join(t, 'blob.bin'), 'wb').write(blob)
notes = 'Notizen: Übung\n'.encode('latin-1')
open(os.path.join(t, 'notes.txt'), 'wb').write(notes)
msgs['attach'] = hdr + (b'Subject: Attachments\nMIME-Version: 1.0\n'
    b'Content-Type: multipart/mixed; boundary="mx"\n\n'
    b'--mx\nContent-Type: text/plain\n\nsee attached\n'
    b'--mx\nContent-Type: application/octet-stream; name="blob.bin"\n'
    b'Content-Disposition: attachment; filename="blob.bin"\n'
    b'Content-Transfer-Encoding: base64\n\n' + base64.encodebytes(blob) +
    b'--mx\nContent-Type: text/plain; charset=iso-8859-1\n'
    b'Content-Disposition: attachment; filename="notes.txt"\n'
    b'Content-Transfer-Encoding: quoted-printable\n\n'
    + quopri.encodestring(notes) + b'\n--mx--\n')
# Hostile: escape sequences and bidi overrides everywhere, file names
# that try to leave the directory or hide.
esc = '\x1b]0;pwned\x07\x1b[31m'
def att(name_hdr, data=b'data\n'):
    return (b'--hx\nContent-Type: application/octet-stream\n'
            b'Content-Disposition: attachment; ' + name_hdr + b'\n'
            b'Content-Transfer-Encoding: base64\n\n'
            + base64.encodebytes(data))
msgs['hostile'] = (b'Date: Tue, 3 Nov 2026 09:00:00 +0000\n'
    b'From: =?utf-8?q?Mallory=1B=5B2J=E2=80=AE?= <mallory@example.com>\n'
    b'To: bob@example.org\n'
    b'Subject: =?utf-8?q?=1B]0;title=07red=1B[31m?= \xe2\x80\xae reversed\n'
    b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="hx"\n\n'
    b'--hx\nContent-Type: text/plain; charset=utf-8\n\n'
    + ('body ' + esc + ' and \u202e reversed \u2066 text\n').encode()
    + att(b'filename="../../etc/passwd"', b'root:x:0:0\n')
    + att(b"filename*=utf-8''x%1B%5B31m%E2%80%AEevil.txt")
    + att(b'filename="/abs/olute.txt"')
    + att(b'filename=".hidden"')
    + att(b'filename=""')
    + att(b'filename="-rf"')
    + att(b'filename="' + b'a' * 300 + b'.txt"')
    + att(b'filename="same.txt"', b'one\n')
    + att(b'filename="same.txt"', b'two\n')
    + att(b'filename="' + 'é'.encode() * 200 + b'"')
    + b'--hx--\n')
msgs['nonascii'] = (b'Date: Wed, 4 Nov 2026 10:00:00 +0100\n'
    b'From: =?iso-8859-1?q?Ren=E9_Fran=E7ois?= <rene@example.fr>\n'
    b'To: =?utf-8?b?' + base64.b64encode('Jürgen'.encode()) +
    b'?= <j@example.de>, plain@example.net\n'
    b'Cc: "Doe, John" <john@example.com>\n'
    b'Subject: =?utf-8?q?=C3=9Cbersicht?= =?utf-8?q?_=E2=82=AC?=\n'
    b'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n'
    b'Content-Transfer-Encoding: 8bit\n\n'
    + 'Ελληνικά, 日本語, emoji 😀\n'.encode())
for i, (k, v) in enumerate(msgs.items()):
    name = '17900000%02d.M%dP1.test:2,' % (i, i)
    open(os.path.join(md, 'cur', name), 'wb').write(v)
    open(os.path.join(t, k + '.eml'), 'wb').write(v)
PY
}

# The Maildir file of test message $1 (by its position in make_messages).
msgfile() {
    local f
    for f in "$T"/Mail/cur/17900000"$1".* "$T"/Mail/new/17900000"$1".*; do
        [ -e "$f" ] && printf '%s\n' "$f"
    done
    return 0
}

# Run "$@" with its output on a pseudo-terminal; print what it showed.
on_tty() {
    python3 - "$@" <<'PY'
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b''
while True:
    try:
        d = os.read(fd, 65536)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
sys.stdout.buffer.write(out.replace(b'\r\n', b'\n'))
sys.exit(os.waitstatus_to_exitcode(st))
PY
}

# The text Python's email package reads as the plain body of file $1.
py_text() {
    python3 - "$1" <<'PY'
import email, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], 'rb'),
                                   policy=policy.default)
sys.stdout.write(m.get_body(preferencelist=('plain',)).get_content())
PY
}

# The "text" of the only message in mail read --json output on stdin.
json_text() {
    python3 -c 'import json, sys; d = json.load(sys.stdin); assert len(d) == 1; sys.stdout.write(d[0]["text"])'
}

# ---- the readable text ----

@test "read: a plain message by path: headers, a blank line, the body" {
    run "$MAIL" read "$(msgfile 00)"
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "Date: "*"2026"* ]]
    [ "${lines[1]}" = "From: Alice Example <alice@example.com>" ]
    [ "${lines[2]}" = "To: Bob <bob@example.org>" ]
    [ "${lines[3]}" = "Subject: Plain" ]
    [[ "$output" == *$'Subject: Plain\n\nHello Bob,\nthis is plain text.\n\n-- \nAlice' ]]
}

@test "read: the Date is shown in local time" {
    TZ=UTC run "$MAIL" read --peek "$T/nonascii.eml"
    [ "${lines[0]}" = "Date: Wed, 4 Nov 2026 09:00:00 +0000" ]
    TZ=Asia/Tokyo run "$MAIL" read --peek "$T/nonascii.eml"
    [ "${lines[0]}" = "Date: Wed, 4 Nov 2026 18:00:00 +0900" ]
}

@test "read: quoted-printable Latin-1 comes out as UTF-8" {
    run "$MAIL" read "$T/qp.eml"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Café crème, a soft=
break and a long line xxxx"* ]]
    [[ "$output" == *"x"$'\n'"end" ]]
}

@test "read: base64 UTF-8 body and an encoded-word subject" {
    run "$MAIL" read "$T/b64.eml"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Subject: Grüße"* ]]
    [[ "$output" == *$'Grüße aus Köln – ✓\nzweite Zeile' ]]
}

@test "read: multipart/alternative shows the plain part only" {
    run "$MAIL" read "$T/alt.eml"
    [ "$status" -eq 0 ]
    [[ "$output" == *"plain version"* ]]
    [[ "$output" != *"html version"* ]]
    [[ "$output" != *"Attachments"* ]]
}

@test "read: HTML only, built-in renderer: text, list, numbered links" {
    run "$MAIL" read "$T/html.eml"
    [ "$status" -eq 0 ]
    [[ "$output" == *$'Subject: HTML only\n\nHello World & café ✓\n\na link [1]\n\n* one\n* two\n\n[1] https://example.com/x?a=1&b=2' ]]
    [[ "$output" != *"alert"* ]]
    [[ "$output" != *"color"* ]]
}

@test "read: html-command from the config renders HTML, fed on stdin" {
    printf '    html-command = tr a-z A-Z\n' >> "$XDG_CONFIG_HOME/mail/config"
    run "$MAIL" read "$T/html.eml"
    [ "$status" -eq 0 ]
    [[ "$output" == *'<P>HELLO <B>WORLD</B>'* ]]
}

@test "read: a failing html-command is reported; the built-in text is shown" {
    printf '    html-command = exit 3\n' >> "$XDG_CONFIG_HOME/mail/config"
    run "$MAIL" read "$T/html.eml"
    [ "$status" -eq 0 ]
    [[ "$output" == *"html-command failed (exit status 3)"* ]]
    [[ "$output" == *"Hello World & café"* ]]
}

@test "read: a mailcap copiousoutput entry for text/html is used" {
    printf 'text/html; xdg-open %%s\n' > "$T/mailcap"
    printf 'text/html; sed -e "s/<[^>]*>//g" %%s; copiousoutput; test=true\n' >> "$T/mailcap"
    mkdir -p "$T/tmp"
    MAILCAPS="$T/nonexistent:$T/mailcap" TMPDIR="$T/tmp" run "$MAIL" read "$T/html.eml"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Hello World &amp; caf&eacute;"* ]]
    # The temporary file is gone.
    [ -z "$(ls -A "$T/tmp")" ]
    # A failing test= skips the entry.
    printf 'text/html; echo WRONG; copiousoutput; test=false\n' > "$T/mailcap"
    MAILCAPS="$T/mailcap" run "$MAIL" read "$T/html.eml"
    [[ "$output" != *WRONG* ]]
    [[ "$output" == *"Hello World & café"* ]]
}

@test "read: a mailcap test= that hangs is killed after the limit and its entry skipped" {
    printf 'text/html; echo HUNG; copiousoutput; test=echo $$ > %s/test.pid && exec sleep 60\n' "$T" > "$T/mailcap"
    printf 'text/html; sed -e "s/<[^>]*>//g" %%s; copiousoutput\n' >> "$T/mailcap"
    SECONDS=0
    MAILCAPS="$T/mailcap" MAIL_RENDER_TIMEOUT=1 run "$MAIL" read --peek "$T/html.eml"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$SECONDS" -lt 30 ]
    [[ "$output" != *HUNG* ]]
    # The next entry is used.
    [[ "$output" == *"Hello World &amp; caf&eacute;"* ]]
    # The test command is gone.
    sleep 0.2
    ! kill -0 "$(cat "$T/test.pid")" 2>/dev/null || false
}

@test "read: the attachment list: number, type, size, name" {
    run "$MAIL" read "$T/attach.eml"
    [ "$status" -eq 0 ]
    [[ "$output" == *$'see attached\n\nAttachments:\n'* ]]
    [[ "$output" =~ \ 2\ +application/octet-stream\ +4\.9\ KiB\ +blob\.bin ]]
    [[ "$output" =~ \ 3\ +text/plain\ +15\ B\ +notes\.txt ]]
}

@test "read: non-ASCII names, subject and body" {
    run "$MAIL" read "$T/nonascii.eml"
    [ "$status" -eq 0 ]
    [[ "$output" == *"From: René François <rene@example.fr>"* ]]
    [[ "$output" == *"To: Jürgen <j@example.de>, plain@example.net"* ]]
    [[ "$output" == *'Cc: "Doe, John" <john@example.com>'* ]]
    [[ "$output" == *"Subject: Übersicht €"* ]]
    [[ "$output" == *"Ελληνικά, 日本語, emoji 😀"* ]]
}

@test "read: --headers all prints every header, decoded and unfolded" {
    run "$MAIL" read --headers all "$T/b64.eml"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Subject: Grüße"* ]]
    [[ "$output" == *"Content-Transfer-Encoding: base64"* ]]
    [[ "$output" == *"MIME-Version: 1.0"* ]]
    run "$MAIL" read --headers some "$T/b64.eml"
    [ "$status" -eq 64 ]
}

@test "read: several messages are separated" {
    run "$MAIL" read "$T/plain.eml" "$T/alt.eml"
    [ "$status" -eq 0 ]
    [[ "$output" == *$'Alice\n\n========================================================================\n\nDate:'* ]]
}

# ---- folders, numbers, flags ----

@test "read: by number after mail ls, and the seen flag" {
    "$MAIL" ls > /dev/null
    n=$("$MAIL" ls | grep -n 'Plain' | head -1 | cut -d: -f1)
    num=$("$MAIL" ls | sed -n "${n}p" | awk '{print $1}')
    [ -n "$num" ]
    [[ "$(msgfile 00)" == *":2," ]]
    run "$MAIL" read --peek "$num"
    [ "$status" -eq 0 ]
    [[ "$output" == *"this is plain text."* ]]
    [[ "$(msgfile 00)" == *":2," ]]
    run "$MAIL" read "$num"
    [ "$status" -eq 0 ]
    [[ "$(msgfile 00)" == *":2,S" ]]
}

@test "read: a path in a Maildir is marked seen, unless --peek" {
    f=$(msgfile 01)
    run "$MAIL" read --peek "$f"
    [ "$status" -eq 0 ]
    [ -f "$f" ]
    run "$MAIL" read "$f"
    [ "$status" -eq 0 ]
    [[ "$(msgfile 01)" == *":2,S" ]]
    # A message in new/ moves to cur/.
    mv "$(msgfile 02)" "$T/Mail/new/1790000002.M2P1.test"
    run "$MAIL" read --raw "$T/Mail/new/1790000002.M2P1.test" > /dev/null
    [ "$status" -eq 0 ]
    [[ "$(msgfile 02)" == "$T/Mail/cur/"*":2,S" ]]
}

@test "read: a plain file outside any Maildir needs no config" {
    rm -rf "$XDG_CONFIG_HOME/mail"
    cp "$T/plain.eml" "$T/x.eml"
    run "$MAIL" read "$T/x.eml"
    [ "$status" -eq 0 ]
    [[ "$output" == *"this is plain text."* ]]
    cd "$T"
    run "$MAIL" read x.eml
    [ "$status" -eq 0 ]
    [[ "$output" == *"this is plain text."* ]]
    run "$MAIL" read - < "$T/x.eml"
    [ "$status" -eq 0 ]
    [[ "$output" == *"this is plain text."* ]]
}

@test "read: errors: no message 66, usage 64" {
    run "$MAIL" read
    [ "$status" -eq 64 ]
    run "$MAIL" read "$T/nonexistent.eml"
    [ "$status" -eq 66 ]
    "$MAIL" ls > /dev/null
    run "$MAIL" read 999
    [ "$status" -eq 66 ]
    run "$MAIL" read --raw --json 1
    [ "$status" -eq 64 ]
    run "$MAIL" read --part x 1
    [ "$status" -eq 64 ]
    run "$MAIL" read --part 9 "$T/plain.eml"
    [ "$status" -eq 66 ]
    run "$MAIL" read --frob 1
    [ "$status" -eq 64 ]
}

# ---- bytes for programs ----

@test "read --raw: byte-identical to the file" {
    for m in plain qp b64 attach hostile nonascii; do
        "$MAIL" read --raw --peek "$T/$m.eml" > "$T/out"
        cmp "$T/$m.eml" "$T/out"
    done
    f=$(msgfile 04)
    "$MAIL" read --raw "$f" > "$T/out"
    cmp "$T/html.eml" "$T/out"
    [[ "$(msgfile 04)" == *":2,S" ]]
}

@test "read --part: byte-identical to the original attachment" {
    "$MAIL" read --part 2 "$T/attach.eml" > "$T/blob.out"
    [ "$(sha256sum < "$T/blob.out")" = "$(sha256sum < "$T/blob.bin")" ]
    # Transfer decoding only: the Latin-1 text stays Latin-1.
    "$MAIL" read --part 3 "$T/attach.eml" > "$T/notes.out"
    cmp "$T/notes.txt" "$T/notes.out"
    # A 1.2-style number in a nested message.
    run "$MAIL" read --part 1 "$T/alt.eml"
    [ "$status" -eq 0 ]
    run "$MAIL" read --part 2 "$T/alt.eml"
    [ "$output" = "<p>html version</p>" ]
}

@test "read --save: attachments decoded into DIR" {
    mkdir "$T/out"
    run "$MAIL" read --save "$T/out" "$T/attach.eml"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "$T/out/blob.bin" ]
    [ "${lines[1]}" = "$T/out/notes.txt" ]
    cmp "$T/blob.bin" "$T/out/blob.bin"
    cmp "$T/notes.txt" "$T/out/notes.txt"
    # Never overwrites: the second time gets " (1)".
    run "$MAIL" read --save "$T/out" "$T/attach.eml"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "$T/out/blob (1).bin" ]
    cmp "$T/blob.bin" "$T/out/blob.bin"
    # DIR must exist.
    run "$MAIL" read --save "$T/missing" "$T/attach.eml"
    [ "$status" -eq 73 ]
}

@test "read --save: hostile file names stay inside DIR, safe and distinct" {
    mkdir -p "$T/w/out"
    echo keep > "$T/w/out/passwd"
    cd "$T/w"
    run "$MAIL" read --save out "$T/hostile.eml"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(cat out/passwd)" = keep ]
    [ "$(cat 'out/passwd (1)')" = "root:x:0:0" ]
    [ ! -e "$T/etc" ] && [ ! -e /abs/olute.txt ]
    [ -f out/olute.txt ] && [ -f out/hidden ] && [ -f out/rf ]
    [ "$(cat out/same.txt)" = one ] && [ "$(cat 'out/same (1).txt')" = two ]
    ls out/attachment-* > /dev/null
    # Every file is directly in out/, none hidden, no control bytes, no
    # bidi override, no name over 255 bytes.
    [ -z "$(find out -mindepth 1 -not -type f)" ]
    [ -z "$(find out -mindepth 1 -name '.*')" ]
    [ -z "$(find out -mindepth 1 -name '-*')" ]
    python3 - out <<'PY'
import os, sys
names = os.listdir(sys.argv[1])
assert len(names) == 11, names
for n in names:
    b = os.fsencode(n)
    assert len(b) <= 255, (len(b), n)
    assert not any(c < 0x20 or c == 0x7f for c in b), n
    assert '\u202e' not in n, n
    b.decode('utf-8')
long = [n for n in names if n.startswith('aaaa')]
assert len(long) == 1 and long[0].endswith('.txt'), long
PY
    # The printed paths are terminal-safe.
    [[ "$output" != *$'\033'* ]]
    [[ "$output" != *$'\u202e'* ]]
}

@test "read --json: valid, the envelope, the parts, text as Python reads it" {
    for m in plain qp b64 alt nonascii attach; do
        "$MAIL" read --json --peek "$T/$m.eml" > "$T/j"
        python3 -m json.tool "$T/j" > /dev/null
        json_text < "$T/j" > "$T/got"
        py_text "$T/$m.eml" > "$T/want"
        cmp "$T/want" "$T/got" || { echo "$m differs"; diff "$T/want" "$T/got"; false; }
    done
    "$MAIL" read --json "$T/attach.eml" "$T/nonascii.eml" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert len(d) == 2
a, n = d
assert a["subject"] == "Attachments" and a["attachments"] == 2, a
assert a["date"] == "2026-11-03T09:00:00+00:00", a["date"]
assert a["from"] == [{"name": "Alice Example", "address": "alice@example.com"}]
assert [p["part"] for p in a["parts"]] == ["1", "2", "3"], a["parts"]
p = a["parts"][1]
assert p == {"part": "2", "type": "application/octet-stream", "charset": None,
             "filename": "blob.bin", "disposition": "attachment",
             "size": 5006}, p
assert a["parts"][2]["charset"] == "iso-8859-1"
assert n["subject"] == "Übersicht €", n["subject"]
assert n["cc"] == [{"name": "Doe, John", "address": "john@example.com"}]
assert n["to"][0] == {"name": "Jürgen", "address": "j@example.de"}
assert n["text"] == "Ελληνικά, 日本語, emoji 😀\n"
assert n["message_id"] is None and a["flags"] == []
'
}

@test "read --json: folder messages carry id, folder, path and flags" {
    "$MAIL" ls > /dev/null
    run "$MAIL" read --json 1 2
    [ "$status" -eq 0 ]
    echo "$output" | python3 -c '
import json, sys, os
d = json.load(sys.stdin)
assert [m["id"] for m in d] == [1, 2], d
for m in d:
    assert m["folder"] and os.path.exists(m["path"]), m
    assert "seen" in m["flags"], m
'
    run "$MAIL" read --json --peek 3
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert "seen" not in d[0]["flags"], d
'
}

# ---- terminal safety ----

@test "read: no raw escape or bidi control reaches the output" {
    run "$MAIL" read "$T/hostile.eml"
    [ "$status" -eq 0 ]
    [[ "$output" != *$'\033'* ]]
    [[ "$output" != *$'\a'* ]]
    [[ "$output" != *$'\u202e'* ]]
    [[ "$output" != *$'\u2066'* ]]
    [[ "$output" == *'body ^[]0;pwned^G^[[31m and <U+202E> reversed'* ]]
    [[ "$output" == *"Subject: ^[]0;title^Gred^[[31m <U+202E> reversed"* ]]
    [[ "$output" == *'From: "Mallory'*'[2J<U+202E>" <mallory@example.com>'* ]]
    [[ "$output" == *'x^[[31m<U+202E>evil.txt'* ]]
    run on_tty env PAGER=cat NO_COLOR=1 "$MAIL" read "$T/hostile.eml"
    [ "$status" -eq 0 ]
    [[ "$output" != *$'\033'* ]]
    [[ "$output" == *'body ^[]0;pwned'* ]]
    run on_tty env PAGER=cat NO_COLOR=1 "$MAIL" read --raw "$T/hostile.eml"
    [ "$status" -eq 0 ]
    [[ "$output" != *$'\033'* ]]
    [[ "$output" == *'Subject: =?utf-8?q?=1B]0;title=07red=1B[31m?= <U+202E> reversed'* ]]
}

@test "read --part: refuses binary to a terminal, shows text safely" {
    run on_tty "$MAIL" read --part 2 "$T/attach.eml"
    [ "$status" -eq 64 ]
    [[ "$output" == *"--save"* ]]
    run on_tty "$MAIL" read --part 3 "$T/attach.eml"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Notizen: Übung"* ]]
}

@test "read: the pager gets the output on a terminal, not in a pipe" {
    export NO_COLOR=1
    run on_tty env PAGER='sed -e s/^/PAGED:/' "$MAIL" read "$T/plain.eml"
    [ "$status" -eq 0 ]
    [[ "$output" == *"PAGED:Subject: Plain"* ]]
    run env PAGER='sed -e s/^/PAGED:/' "$MAIL" read "$T/plain.eml"
    [[ "$output" != *PAGED* ]]
    run on_tty env PAGER= "$MAIL" read "$T/plain.eml"
    [[ "$output" != *PAGED* ]]
    [[ "$output" == *"Subject: Plain"* ]]
    # A pager that quits early is no error.
    python3 -c 'print("Subject: long\n\n" + "line\n" * 200000, end="")' > "$T/long.eml"
    run on_tty env PAGER='head -n 1' "$MAIL" read "$T/long.eml"
    [ "$status" -eq 0 ]
    [[ "$output" != *"mail:"* ]]
}

@test "read: the pager gets LESS=FRX and LV=-c unless the user set them" {
    export NO_COLOR=1
    pager='sh -c "cat >/dev/null; echo \"LESS=\${LESS-unset} LV=\${LV-unset}\""'
    run on_tty env -u LESS -u LV PAGER="$pager" "$MAIL" read "$T/plain.eml"
    [ "$status" -eq 0 ]
    [[ "$output" == *"LESS=FRX LV=-c"* ]]
    # The user's own settings win, even empty ones.
    run on_tty env LESS=-S LV= PAGER="$pager" "$MAIL" read "$T/plain.eml"
    [ "$status" -eq 0 ]
    [[ "$output" == *"LESS=-S LV="* ]]
    [[ "$output" != *FRX* ]]
}

@test "read: output into a closed pipe is not an error" {
    python3 -c 'print("Subject: long\n\n" + "line\n" * 200000, end="")' > "$T/long.eml"
    run bash -c '"$MAIL" read "$1" | head -n 1; echo "rc=${PIPESTATUS[0]}"' _ "$T/long.eml"
    [[ "$output" == *"rc=0"* ]]
    [[ "$output" != *"mail:"* ]]
}

# ---- the sample Maildir and mbox ----

@test "read: every message of examples/ reads, as text and as JSON" {
    [ -d "$MAIL_SOURCE_ROOT/examples/Maildir" ] || skip "no examples/Maildir"
    cp -R "$MAIL_SOURCE_ROOT/examples/Maildir" "$T/ex"
    n=$("$MAIL" ls "$T/ex" | grep -c .)
    [ "$n" -gt 0 ]
    for i in $(seq 1 "$n"); do
        run "$MAIL" read -f "$T/ex" --peek "$i"
        [ "$status" -eq 0 ] || { echo "message $i: $output"; false; }
        [[ "$output" != *$'\033'* ]]
        "$MAIL" read -f "$T/ex" --json --peek "$i" | python3 -m json.tool > /dev/null
    done
    [ -f "$MAIL_SOURCE_ROOT/examples/inbox.mbox" ] || return 0
    cp "$MAIL_SOURCE_ROOT/examples/inbox.mbox" "$T/inbox.mbox"
    "$MAIL" ls "$T/inbox.mbox" > /dev/null
    run "$MAIL" read -f "$T/inbox.mbox" 1
    [ "$status" -eq 0 ]
    [[ "$output" == *"Subject: "* ]]
    "$MAIL" read -f "$T/inbox.mbox" --raw --peek 1 > "$T/m1"
    [ -s "$T/m1" ]
    run "$MAIL" read -f "$T/inbox.mbox" --json 1
    echo "$output" | python3 -c '
import json, sys
assert "seen" in json.load(sys.stdin)[0]["flags"]'
}

# A message whose subject, From name and attachment name carry U+202E,
# U+009B (CSI), U+2028 and ESC, in encoded words and RFC 2231.
make_evil() {
    mkdir -p "$1/cur" "$1/new" "$1/tmp"
    python3 - "$1/cur/evil:2," <<'PY'
import base64, sys, urllib.parse
bad = '\u202e\u009b31m\u2028\x1b]2;x\x07'
def ew(s):
    return '=?utf-8?b?' + base64.b64encode(s.encode()).decode() + '?='
msg = ('Date: Tue, 3 Nov 2026 09:00:00 +0000\n'
       'From: ' + ew('Eve' + bad) + ' <eve@example.com>\n'
       'To: bob@example.org\n'
       'Subject: ' + ew('Hi' + bad + 'there') + '\n'
       'MIME-Version: 1.0\n'
       'Content-Type: multipart/mixed; boundary="b"\n\n'
       '--b\nContent-Type: text/plain\n\nbody\n'
       '--b\nContent-Type: application/octet-stream\n'
       "Content-Disposition: attachment; filename*=utf-8''"
       + urllib.parse.quote('f' + bad + '.txt') + '\n\nxyz\n--b--\n')
open(sys.argv[1], 'w').write(msg)
PY
}

# No raw U+202E, U+009B, U+2028 or ESC in file $1.
no_raw_controls() {
    python3 - "$1" <<'PY'
import sys
b = open(sys.argv[1], 'rb').read()
for bad in ('\u202e', '\u009b', '\u2028', '\x1b'):
    assert bad.encode() not in b, (bad, b[:400])
PY
}

@test "read, ls: --json escapes U+202E, C1, U+2028 and ESC; human output is safe" {
    make_evil "$T/Evil"
    "$MAIL" read --peek --json "$T/Evil/cur/evil:2," > "$T/read.json"
    no_raw_controls "$T/read.json"
    grep -q '\\u202e' "$T/read.json"
    grep -q '\\u009b' "$T/read.json"
    grep -q '\\u2028' "$T/read.json"
    python3 - "$T/read.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))[0]
bad = '\u202e\u009b31m\u2028\x1b]2;x\x07'
assert m['subject'] == 'Hi' + bad + 'there', m['subject']
assert m['from'][0]['name'].startswith('Eve\u202e\u009b31m\u2028'), m['from']
names = [p.get('filename') for p in m['parts']]
assert 'f' + bad + '.txt' in names, names
PY
    "$MAIL" ls --json "$T/Evil" > "$T/ls.json"
    no_raw_controls "$T/ls.json"
    python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))[0]; assert "\u202e" in m["subject"]' "$T/ls.json"
    "$MAIL" read --peek "$T/Evil/cur/evil:2," > "$T/read.txt"
    no_raw_controls "$T/read.txt"
    grep -q '<U+202E><U+009B>31m' "$T/read.txt"
    "$MAIL" ls "$T/Evil" > "$T/ls.txt"
    no_raw_controls "$T/ls.txt"
    "$MAIL" ls -F '%s %f\n' "$T/Evil" > "$T/lsf.txt"
    no_raw_controls "$T/lsf.txt"
}

# A message of $2 text/html parts into file $1; part i says "part-i-text".
make_many_html() {
    python3 - "$1" "$2" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, 'w') as f:
    f.write('From: a@example.com\nTo: b@example.org\nSubject: many\n'
            'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n')
    for i in range(1, n + 1):
        f.write('--b\nContent-Type: text/html\n\n<p>part-%d-text</p>\n' % i)
    f.write('--b--\n')
PY
}

# Every "part-i-text" for i in 1..$2 is in file $1.
all_parts_shown() {
    python3 - "$1" "$2" <<'PY'
import sys
text, n = open(sys.argv[1]).read(), int(sys.argv[2])
missing = [i for i in range(1, n + 1) if 'part-%d-text' % i not in text]
assert not missing, missing[:10]
PY
}

@test "read: 300 HTML parts: at most 4 html-command runs, every part shown" {
    make_many_html "$T/many.eml" 300
    printf '    html-command = echo run >> %s/count; cat\n' "$T" >> "$XDG_CONFIG_HOME/mail/config"
    "$MAIL" read --peek --json "$T/many.eml" > "$T/out.json" 2> "$T/err"
    [ "$(wc -l < "$T/count")" -le 4 ]
    [ "$(wc -l < "$T/count")" -ge 1 ]
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["text"])' "$T/out.json" > "$T/out.txt"
    all_parts_shown "$T/out.txt" 300
    grep -q "296 more HTML parts shown with the built-in renderer" "$T/err"
    rm "$T/count"
    "$MAIL" read --peek "$T/many.eml" > "$T/out.txt" 2>/dev/null
    [ "$(wc -l < "$T/count")" -le 4 ]
    all_parts_shown "$T/out.txt" 300
}

@test "read: 10,000 HTML parts through a mailcap viewer: at most 4 runs" {
    make_many_html "$T/many.eml" 10000
    printf '#!/bin/sh\necho run >> %s/count\nexec cat\n' "$T" > "$T/viewer"
    chmod +x "$T/viewer"
    printf 'text/html; %s/viewer; copiousoutput\n' "$T" > "$T/mailcap"
    MAILCAPS="$T/mailcap" "$MAIL" read --peek "$T/many.eml" > "$T/out.txt" 2>/dev/null
    [ "$(wc -l < "$T/count")" -le 4 ]
    all_parts_shown "$T/out.txt" 10000
    "$MAIL" ls --json "$T/many.eml" > /dev/null || true
}

@test "read: an html-command that hangs is killed after the limit (MAIL_RENDER_TIMEOUT)" {
    printf '    html-command = echo run >> %s/count; sh -c "echo \\$\\$ > %s/pid; exec sleep 60"\n' "$T" "$T" >> "$XDG_CONFIG_HOME/mail/config"
    make_many_html "$T/many.eml" 3
    start=$(date +%s)
    MAIL_RENDER_TIMEOUT=1 run "$MAIL" read --peek "$T/many.eml"
    [ "$status" -eq 0 ]
    [ $(( $(date +%s) - start )) -lt 30 ]
    # One run: after a time-out the other parts get the built-in renderer.
    [ "$(wc -l < "$T/count")" -eq 1 ]
    [[ "$output" == *"html-command failed (still running after 1 s: killed); showing the built-in rendering"* ]]
    [[ "$output" == *part-1-text*part-2-text*part-3-text* ]]
    # The sleep is gone too (its process group was killed).
    # (It may be a grandchild, not mail's own: it may die, or be reaped,
    # a moment after mail is done, on a loaded machine after more than
    # a fixed 0.2 s.)
    [ -s "$T/pid" ]
    for ((i = 0; i < 100; i++)); do
        st=$(ps -o stat= -p "$(cat "$T/pid")" || true)
        [[ -z "$st" || "$st" == Z* ]] && break   # gone, or a zombie waiting for init
        sleep 0.05
    done
    [[ -z "$st" || "$st" == Z* ]]
    # One that closes its output and goes on running is killed too.
    printf '[account "t"]\n    address = b@example.org\n    store = %s\n    html-command = exec >&-; sleep 60\n' \
        "$T/Mail" > "$XDG_CONFIG_HOME/mail/config"
    start=$(date +%s)
    MAIL_RENDER_TIMEOUT=1 run "$MAIL" read --peek "$T/many.eml"
    [ "$status" -eq 0 ]
    [ $(( $(date +%s) - start )) -lt 30 ]
    [[ "$output" == *"still running after 1 s: killed"* ]]
    [[ "$output" == *part-3-text* ]]
}

@test "read: a message file outside any folder: a pipe and standard input are read like a file (--raw byte for byte, --json's envelope), a folder or a missing file is 66 naming it" {
    bats_require_minimum_version 1.5.0
    local f="$T/out.eml"
    printf 'From: Ann <ann@example.org>\nTo: bob@example.org\nSubject: outside\nDate: Mon, 1 Dec 2025 10:00:00 +0000\nMessage-ID: <out@example.org>\n\nthe body\n' > "$f"
    run "$MAIL" read --json "$f"
    [ "$status" -eq 0 ]
    local direct=$output
    [ "$(jq -r '.[0].subject' <<<"$direct")" = outside ]
    [ "$(jq -r '.[0].size' <<<"$direct")" = "$(stat -c %s "$f")" ]
    [ "$(jq -r '.[0].path' <<<"$direct")" = "$f" ]
    [ "$(jq -r '.[0].flags | length' <<<"$direct")" = 0 ]
    # standard input: the same but its name
    run "$MAIL" read --json - < "$f"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.[0].path' <<<"$output")" = "(standard input)" ]
    diff <(jq -S '.[0] | del(.path)' <<<"$direct") <(jq -S '.[0] | del(.path)' <<<"$output")
    # a pipe given by path: copied first, then read from its start
    run "$MAIL" read <(cat "$f")
    [ "$status" -eq 0 ]
    [[ "$output" == *"Subject: outside"*"the body"* ]]
    "$MAIL" read --raw <(cat "$f") > "$T/raw"
    cmp "$f" "$T/raw"
    "$MAIL" read --raw - < "$f" > "$T/raw2"
    cmp "$f" "$T/raw2"
    run --separate-stderr "$MAIL" read "$T/Mail/cur"
    [ "$status" -eq 66 ]
    [ "$stderr" = "mail: $T/Mail/cur: is a folder, not a message (use 'mail ls $T/Mail/cur')" ]
    run --separate-stderr "$MAIL" read "$T/none/x.eml"
    [ "$status" -eq 66 ]
    [ "$stderr" = "mail: $T/none/x.eml: No such file or directory" ]
}
