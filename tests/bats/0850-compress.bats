#!/usr/bin/env bats
# COMPRESS=DEFLATE (RFC 4978, issue 10 item 7): ls, read and fetch over a
# compressed IMAP connection to the harness's Dovecot (imap_zlib), off
# with compress = no, and a corrupt stream from
# tests/servers/fake-imap-idle.

load helpers
bats_require_minimum_version 1.5.0

setup_file() { servers_start; }
teardown_file() { servers_stop; }

setup() { watch_setup; }

teardown() { fake_stop; }

# deliver SUBJECT LINES: a message of LINES numbered body lines (text that
# deflate shrinks) in alice's INBOX on the server.
deliver() {
	local f
	f=$(mktemp "$BATS_TEST_TMPDIR/m.XXXXXX")
	{
		printf 'From: Sender <s@example.test>\nTo: alice@example.test\nSubject: %s\nMessage-ID: <%s.%s@example.test>\n\n' \
			"$1" "$1" "$RANDOM"
		seq -f "line %g of a body that compresses well" "$2"
	} >"$f"
	maildir_add "$MD" "$f" >/dev/null
}

@test "compress: ls, read and fetch over COMPRESS=DEFLATE with Dovecot, the same bytes" {
	deliver zipped-one 2000
	deliver zipped-two 3
	run --separate-stderr mail -C "$CONF" -vv ls imap:INBOX
	[ "$status" -eq 0 ]
	grep -qE '^imap> A[0-9]+ COMPRESS DEFLATE$' <<<"$stderr"
	# Commands after it are answered (through inflate).
	grep -qE '^imap> A[0-9]+ (UID FETCH|FETCH|SELECT|EXAMINE)' <<<"$stderr"
	[[ $output == *zipped-one* && $output == *zipped-two* ]]
	run --separate-stderr mail -C "$CONF" read --raw imap:INBOX 1-2
	[ "$status" -eq 0 ]
	[[ $output == *"line 2000 of a body that compresses well"* ]]
	run --separate-stderr mail -C "$CONF" -vv fetch
	[ "$status" -eq 0 ]
	grep -qE 'COMPRESS DEFLATE' <<<"$stderr"
	[ "$(maildir_count "$STORE")" -eq 2 ]
	# Byte for byte what Dovecot holds (CRLF on the wire, LF here).
	for f in "$MD"/new/* "$MD"/cur/*; do
		[ -f "$f" ] || continue
		sum=$(sha256sum <"$f" | cut -d' ' -f1)
		found=0
		for g in "$STORE"/new/* "$STORE"/cur/*; do
			[ "$(sha256sum <"$g" | cut -d' ' -f1)" = "$sum" ] && found=1
		done
		[ "$found" -eq 1 ]
	done
}

@test "compress: watch over a compressed connection: IDLE renewed, new mail reported once" {
	local out=$OUT err=$ERR st=0
	"$MAIL" -C "$CONF" -v watch --keepalive 1 >"$out" 2>"$err" 3>&- &
	FAKE_PIDS=$!
	wait_for "$err" '^mail: watching' 10
	grep -qE '^imap> A[0-9]+ COMPRESS DEFLATE$' "$err"
	deliver over-deflate 5
	wait_for "$out" over-deflate 5
	sleep 1.5
	kill -TERM "$FAKE_PIDS"
	wait "$FAKE_PIDS" || st=$?
	FAKE_PIDS=
	[ "$st" -eq 0 ]
	[ "$(grep -c over-deflate "$out")" -eq 1 ]
	[ "$(grep -c '^imap> DONE$' "$err")" -ge 1 ]
}

@test "compress = no: no COMPRESS command, the rest as before" {
	deliver plain-one 50
	write_config "$CONF" pop3= timeout=5 compress=no
	run --separate-stderr mail -C "$CONF" -vv ls imap:INBOX
	[ "$status" -eq 0 ]
	[[ $output == *plain-one* ]]
	grep -q 'COMPRESS=DEFLATE' <<<"$stderr"
	! grep -qE '^imap> A[0-9]+ COMPRESS' <<<"$stderr" || false
	write_config "$CONF" pop3= timeout=5 compress=maybe
	run --separate-stderr mail -C "$CONF" ls imap:INBOX
	[ "$status" -eq 78 ]
}

@test "compress (fake server): a corrupt deflate stream is one clean line, exit 76" {
	fake_idle_start zcorrupt
	run --separate-stderr timeout 20 "$MAIL" -C "$CONF" watch
	[ "$status" -eq 76 ]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	[[ $stderr == "mail: "*"corrupt compressed data from the server (COMPRESS=DEFLATE)"* ]]
	grep -q ' COMPRESS DEFLATE$' "$FAKE_BASE.log"
}
