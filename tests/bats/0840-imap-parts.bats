#!/usr/bin/env bats
# imap: read fetches only the parts it shows (issue 10, item 2): against
# the harness's Dovecot, a message with a text part and a 50 MB base64
# attachment is read with a few KB on the wire (Dovecot's own count of
# the bytes it sent, "Logged out ... out=N" in its log), and shows the
# same text and attachment sizes as the message read from a file;
# --part and --save fetch that part alone, byte for byte; --raw the whole
# message; \Seen is set unless --peek.  Other shapes (HTML only in a
# multipart/alternative, an attached message, a part that does not exist)
# read exactly as they do from a file.

load helpers
bats_require_minimum_version 1.5.0   # run --separate-stderr

BIG_BYTES=50000000

setup_file() {
	servers_start
	# The attachment and the message, streamed to files (never in memory).
	local d=$BATS_FILE_TMPDIR
	head -c "$BIG_BYTES" /dev/urandom >"$d/big.bin"
	{
		printf 'From: Sender <s@example.test>\nTo: alice@example.test\n'
		printf 'Subject: the big one\nMessage-ID: <big@example.test>\n'
		printf 'Date: Mon, 1 Dec 2025 10:00:00 +0000\nMIME-Version: 1.0\n'
		printf 'Content-Type: multipart/mixed; boundary="XX-big"\n\n'
		printf 'preamble\n--XX-big\nContent-Type: text/plain; charset=utf-8\n\n'
		printf 'Hello, the figures are attached.\n'
		printf -- '--XX-big\nContent-Type: application/octet-stream; name="big.bin"\n'
		printf 'Content-Disposition: attachment; filename="big.bin"\n'
		printf 'Content-Transfer-Encoding: base64\n\n'
		base64 -w 76 "$d/big.bin"
		printf -- '--XX-big--\n'
	} >"$d/big.eml"
}
teardown_file() { servers_stop; }

setup() {
	mail_reset
	isolate_home
	CONF=$BATS_TEST_TMPDIR/config
	write_config "$CONF" pop3=
	MD=$MAIL_TEST_MAILDIR1
}

ls_json() { mail -C "$CONF" ls --json imap:INBOX; }

# add FILE...: the messages into alice's INBOX in this order (a listing
# after each keeps the UIDs in order), then lists it.
add() {
	local f
	for f in "$@"; do
		maildir_add "$MD" "$f" >/dev/null
		mail -C "$CONF" ls imap:INBOX >/dev/null
	done
}

@test "imap read: a 50 MB attachment stays on the server; the text and its size are shown" {
	add "$BATS_FILE_TMPDIR/big.eml"
	before=$(dovecot_mark)
	run --separate-stderr mail -C "$CONF" read imap:INBOX 1
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# The session (once Dovecot has logged its end) sent under 64 KiB.
	n=$(dovecot_bytes_after out "$before")
	echo "Dovecot sent $n bytes"
	[ "$n" -lt 65536 ]
	[[ $output == *"Hello, the figures are attached."* ]]
	# The attachment line, with the size of the attachment, not of an
	# empty body: the same as reading the file.
	[[ $output == *"application/octet-stream"*"48 MiB"*"big.bin"* ]]
	local_out=$(mail read "$BATS_FILE_TMPDIR/big.eml")
	[ "$output" = "$local_out" ]
	# --json: the parts and their exact decoded sizes, as from the file.
	run --separate-stderr mail -C "$CONF" read --json --peek imap:INBOX 1
	[ "$status" -eq 0 ]
	[ "$(jq -r '.[0].parts[1].size' <<<"$output")" = "$BIG_BYTES" ]
	[ "$(jq -c '.[0].parts' <<<"$output")" = \
	  "$(mail read --json "$BATS_FILE_TMPDIR/big.eml" | jq -c '.[0].parts')" ]
	[ "$(jq -r '.[0].attachments' <<<"$output")" = 1 ]
	# Read without --peek: \Seen on the server (BODY.PEEK does not set it).
	run ls_json
	[ "$(jq -r '.[0].flags | index("seen") != null' <<<"$output")" = true ]
}

@test "imap read --peek: \\Seen stays unset" {
	add "$BATS_FILE_TMPDIR/big.eml"
	run --separate-stderr mail -C "$CONF" read --peek imap:INBOX 1
	[ "$status" -eq 0 ]
	[[ $output == *"Hello, the figures are attached."* ]]
	run ls_json
	[ "$(jq -r '.[0].flags | length' <<<"$output")" -eq 0 ]
}

@test "imap read --part 2 and --save: only that part comes, byte for byte; --raw: the whole message" {
	add "$BATS_FILE_TMPDIR/big.eml"
	t=$BATS_TEST_TMPDIR
	mail -C "$CONF" -vv read --peek --part 2 imap:INBOX 1 >"$t/part2" 2>"$t/trace"
	cmp "$t/part2" "$BATS_FILE_TMPDIR/big.bin"
	# The part alone (BODY.PEEK[2]), never the whole message.
	grep -q 'BODY.PEEK\[2\]' "$t/trace"
	run grep -c 'BODY.PEEK\[\]' "$t/trace"
	[ "$output" = 0 ]
	mkdir "$t/save"
	run --separate-stderr mail -C "$CONF" read --peek --save "$t/save" imap:INBOX 1
	[ "$status" -eq 0 ]
	[ "$output" = "$t/save/big.bin" ]
	cmp "$t/save/big.bin" "$BATS_FILE_TMPDIR/big.bin"
	# --raw: every byte Dovecot holds (LF on disk, CRLF on the wire).
	mail -C "$CONF" read --peek --raw imap:INBOX 1 >"$t/raw"
	cmp "$t/raw" <(sed 's/$/\r/' "$BATS_FILE_TMPDIR/big.eml")
	run ls_json
	[ "$(jq -r '.[0].flags | length' <<<"$output")" -eq 0 ]
	# --part without --peek marks it seen.
	mail -C "$CONF" read --part 1 imap:INBOX 1 >/dev/null
	run ls_json
	[ "$(jq -r '.[0].flags | index("seen") != null' <<<"$output")" = true ]
}

@test "imap read: HTML only in a multipart/alternative, and an attached message, read as from a file" {
	t=$BATS_TEST_TMPDIR
	cat >"$t/html.eml" <<-'MSG'
	From: Web <w@example.test>
	To: alice@example.test
	Subject: html only
	Date: Tue, 2 Dec 2025 10:00:00 +0000
	MIME-Version: 1.0
	Content-Type: multipart/alternative; boundary="alt"

	--alt
	Content-Type: text/html; charset=utf-8
	Content-Transfer-Encoding: quoted-printable

	<html><body><p>Hello <b>HTML</b> =C3=BCber alles</p><ul><li>one</li></ul></=
	body></html>
	--alt--
	MSG
	cat >"$t/fwd.eml" <<-'MSG'
	From: Fwd <f@example.test>
	To: alice@example.test
	Subject: forwarded
	Date: Wed, 3 Dec 2025 10:00:00 +0000
	MIME-Version: 1.0
	Content-Type: multipart/mixed; boundary="outer"

	--outer
	Content-Type: text/plain

	See the message below.
	--outer
	Content-Type: message/rfc822
	Content-Disposition: attachment; filename="orig.eml"

	From: Orig <o@example.test>
	Subject: the original
	MIME-Version: 1.0
	Content-Type: multipart/mixed; boundary="inner"

	--inner
	Content-Type: text/plain

	original text
	--inner
	Content-Type: application/pdf; name="r.pdf"
	Content-Transfer-Encoding: base64

	JVBERi0xLjQKJcfsj6IK
	--inner--
	--outer
	Content-Type: image/png; name="p.png"
	Content-Transfer-Encoding: base64

	iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA
	--outer--
	MSG
	# An epilogue (after the closing boundary, never shown) makes both
	# bigger than what imap read fetches whole, so the parts are picked.
	local i
	for i in $(seq 900); do
		echo "epilogue line $i, padding the message past 32 KiB" >>"$t/html.eml"
		echo "epilogue line $i, padding the message past 32 KiB" >>"$t/fwd.eml"
	done
	add "$t/html.eml" "$t/fwd.eml"
	# Compared with the files as the server holds them (CRLF): the size
	# of an attached message is its bytes as stored.
	sed 's/$/\r/' "$t/html.eml" >"$t/html.crlf"
	sed 's/$/\r/' "$t/fwd.eml" >"$t/fwd.crlf"
	run --separate-stderr mail -C "$CONF" -vv read --peek imap:INBOX 1
	[ "$status" -eq 0 ]
	grep -q 'BODYSTRUCTURE' <<<"$stderr"
	run --separate-stderr mail -C "$CONF" read --peek imap:INBOX 1
	[ "$status" -eq 0 ]
	[[ $output == *"HTML"*"über alles"* ]]
	[ "$output" = "$(mail read "$t/html.crlf")" ]
	run --separate-stderr mail -C "$CONF" read --peek imap:INBOX 2
	[ "$status" -eq 0 ]
	[[ $output == *"See the message below."* ]]
	[ "$output" = "$(mail read "$t/fwd.crlf")" ]
	run --separate-stderr mail -C "$CONF" read --peek --json imap:INBOX 2
	[ "$(jq -c '.[0].parts' <<<"$output")" = \
	  "$(mail read --json "$t/fwd.crlf" | jq -c '.[0].parts')" ]
	# The attached message whole, and a part inside it.
	run --separate-stderr mail -C "$CONF" read --peek --part 2 imap:INBOX 2
	[ "$status" -eq 0 ]
	[ "$output" = "$(mail read --part 2 "$t/fwd.crlf")" ]
	[[ $output == *"Subject: the original"*"original text"* ]]
	mail -C "$CONF" read --peek --part 2.2 imap:INBOX 2 >"$t/pdf"
	mail read --part 2.2 "$t/fwd.crlf" >"$t/pdf.local"
	cmp "$t/pdf" "$t/pdf.local"
	mkdir "$t/s1" "$t/s2"
	run --separate-stderr mail -C "$CONF" read --peek --save "$t/s1" imap:INBOX 2
	[ "$status" -eq 0 ]
	mail read --save "$t/s2" "$t/fwd.crlf" >/dev/null
	diff -r "$t/s1" "$t/s2"
	[ "$(ls "$t/s1" | wc -l)" -eq 2 ]
}

@test "imap read --part: a part that does not exist is 66 with one line, as for a file" {
	add "$BATS_FILE_TMPDIR/big.eml"
	run --separate-stderr mail -C "$CONF" read --peek --part 9 imap:INBOX 1
	[ "$status" -eq 66 ]
	[ "$(wc -l <<<"$stderr")" -eq 1 ]
	[[ $stderr == "mail: message 1 has no part 9"* ]]
	run --separate-stderr mail read --part 9 "$BATS_FILE_TMPDIR/big.eml"
	[ "$status" -eq 66 ]
}

@test "imap read: a small message comes whole in one FETCH (picking its parts would cost three)" {
	t=$BATS_TEST_TMPDIR
	printf 'From: a@example.test\nSubject: small\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nsmall text\n--b\nContent-Type: application/pdf; name=x.pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b--\n' >"$t/small.eml"
	add "$t/small.eml"
	run --separate-stderr mail -C "$CONF" -vv read --peek imap:INBOX 1
	[ "$status" -eq 0 ]
	[[ $output == *"small text"*"x.pdf"* ]]
	[ "$(grep -c 'UID FETCH' <<<"$stderr")" -eq 1 ]
	grep -q 'BODY.PEEK\[\]' <<<"$stderr"
	run grep -c 'BODYSTRUCTURE' <<<"$stderr"
	[ "$output" = 0 ]
}
