#!/usr/bin/env bats
# mail fetch over POP3 against the harness's Dovecot: byte-identical
# copies, incremental reruns, --delete, --catch-up, --mda, mbox, the
# per-account lock, and a connection dropped in the middle of RETR.

load helpers

setup_file() { servers_start; }
teardown_file() { servers_stop; }

setup() {
	mail_reset
	CONF=$BATS_TEST_TMPDIR/config
	STORE=$HOME/Mail/test
	write_config "$CONF" imap= "pop3=pop3s://localhost:$MAIL_TEST_POP3S_PORT"
}
teardown() { fake_stop; }

# add_messages N [PREFIX]: N distinct messages of mixed shapes on the server.
add_messages() {
	local n=$1 p=${2:-m} i f=$BATS_TEST_TMPDIR/msg
	for ((i = 1; i <= n; i++)); do
		{
			printf 'From: Sender %s <s@example.test>\nTo: alice@example.test\n' "$i"
			printf 'Subject: %s-%d\nMessage-ID: <%s-%d@example.test>\n\n' "$p" "$i" "$p" "$i"
			case $((i % 5)) in
			0) printf '.leading dot\n..two dots\n.\nFrom the start\n' ;;
			1) head -c $((i * 37 % 20000 + 1)) /dev/zero | tr '\0' 'x'; echo ;;
			2) printf 'caf\xc3\xa9 8-bit \xff bytes\n' ;;
			3) for ((k = 0; k < 50; k++)); do echo "line $k of $p-$i"; done ;;
			4) printf '\n\n\nblank lines\n\n' ;;
			esac
		} >"$f"
		maildir_add "$MAIL_TEST_MAILDIR1" "$f" >/dev/null
	done
}

# sums DIR...: sorted content hashes of the messages in the Maildirs.
sums() {
	local d
	for d in "$@"; do
		find "$d/new" "$d/cur" -maxdepth 1 -type f -exec sha256sum {} + 2>/dev/null
	done | awk '{print $1}' | sort
}

@test "fetch: POP3 over TLS, 1000 mixed messages byte-identical, rerun fetches nothing" {
	add_messages 1000
	run mail -C "$CONF" fetch
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(maildir_count "$STORE")" -eq 1000 ]
	diff <(sums "$MAIL_TEST_MAILDIR1") <(sums "$STORE")
	[ "$(maildir_count "$MAIL_TEST_MAILDIR1")" -eq 1000 ]   # kept
	start=$(date +%s%N)
	run mail -C "$CONF" -v fetch
	end=$(date +%s%N)
	[ "$status" -eq 0 ]
	[[ $output == "test/INBOX: 0 new, 0.0 MB" ]]
	[ "$(maildir_count "$STORE")" -eq 1000 ]
	(((end - start) < 2000000000))
}

@test "fetch: POP3 with STLS; only new arrivals the second time" {
	write_config "$CONF" imap= "pop3=pop3://localhost:$MAIL_TEST_POP3_PORT"
	add_messages 5 a
	run mail -C "$CONF" fetch
	[ "$status" -eq 0 ]
	add_messages 3 b
	run mail -C "$CONF" -v fetch
	[ "$status" -eq 0 ]
	[[ $output == "test/INBOX: 3 new,"* ]]
	[ "$(maildir_count "$STORE")" -eq 8 ]
	diff <(sums "$MAIL_TEST_MAILDIR1") <(sums "$STORE")
}

@test "fetch --delete leaves the server empty and everything here" {
	add_messages 50
	before=$(sums "$MAIL_TEST_MAILDIR1")
	run mail -C "$CONF" fetch --delete
	[ "$status" -eq 0 ]
	[ "$(maildir_count "$MAIL_TEST_MAILDIR1")" -eq 0 ]
	diff <(echo "$before") <(sums "$STORE")
	run mail -C "$CONF" fetch --delete
	[ "$status" -eq 0 ]
	[ "$(maildir_count "$STORE")" -eq 50 ]
}

@test "fetch-delete = true in the config; --keep overrides it" {
	write_config "$CONF" imap= "pop3=pop3s://localhost:$MAIL_TEST_POP3S_PORT" fetch-delete=true
	add_messages 4
	run mail -C "$CONF" fetch --keep
	[ "$status" -eq 0 ]
	[ "$(maildir_count "$MAIL_TEST_MAILDIR1")" -eq 4 ]
	run mail -C "$CONF" fetch
	[ "$status" -eq 0 ]
	[ "$(maildir_count "$MAIL_TEST_MAILDIR1")" -eq 0 ]
	[ "$(maildir_count "$STORE")" -eq 4 ]
}

@test "fetch --catch-up records what is there without downloading it" {
	add_messages 6 old
	run mail -C "$CONF" fetch --catch-up
	[ "$status" -eq 0 ]
	[ "$(maildir_count "$STORE")" -eq 0 ]
	add_messages 2 new
	run mail -C "$CONF" fetch
	[ "$status" -eq 0 ]
	[ "$(maildir_count "$STORE")" -eq 2 ]
	grep -q '^Subject: new-' "$STORE"/new/*
	! grep -q '^Subject: old-' "$STORE"/new/*
}

@test "fetch --mda: each message piped to the command, counted on exit 0" {
	add_messages 3
	run mail -C "$CONF" fetch --mda "exit 1"
	[ "$status" -ne 0 ]
	out=$BATS_TEST_TMPDIR/mda
	mkdir -p "$out"
	run mail -C "$CONF" fetch --mda "cat > \$(mktemp $out/m.XXXXXX)"
	[ "$status" -eq 0 ]
	[ "$(ls "$out" | wc -l)" -eq 3 ]
	run mail -C "$CONF" fetch --mda "cat > \$(mktemp $out/m.XXXXXX)"
	[ "$(ls "$out" | wc -l)" -eq 3 ]
	diff <(sums "$MAIL_TEST_MAILDIR1") <(cat "$out"/* /dev/null | true; for f in "$out"/*; do sha256sum "$f"; done | awk '{print $1}' | sort)
}

@test "fetch into an mbox store, waiting for another process's lock" {
	write_config "$CONF" imap= "pop3=pop3s://localhost:$MAIL_TEST_POP3S_PORT" "store=mbox:$HOME/mbox"
	add_messages 3
	: >"$HOME/mbox"
	# Hold an fcntl lock on the mbox for a second.
	python3 -c '
import fcntl, sys, time
f = open(sys.argv[1], "r+")
fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(1.5)
' "$HOME/mbox" "$BATS_TEST_TMPDIR/locked" 3>&- &
	holder=$!
	while [ ! -e "$BATS_TEST_TMPDIR/locked" ]; do sleep 0.05; done
	run mail -C "$CONF" fetch
	wait "$holder"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^From ' "$HOME/mbox")" -eq 3 ]
	run mail -C "$CONF" fetch
	[ "$(grep -c '^From ' "$HOME/mbox")" -eq 3 ]
}

@test "two fetches at once: the second exits 75 at once, or waits with --wait" {
	add_messages 2
	lock=$XDG_STATE_HOME/mail/fetch/test.lock
	mkdir -p "$(dirname "$lock")"
	flock "$lock" sleep 1.5 3>&- &
	holder=$!
	sleep 0.3
	run mail -C "$CONF" fetch
	[ "$status" -eq 75 ]
	[[ $output == *"another mail fetch for account test is running"* ]]
	run mail -C "$CONF" fetch --wait
	[ "$status" -eq 0 ]
	wait "$holder"
	[ "$(maildir_count "$STORE")" -eq 2 ]
}

@test "fetch: a connection dropped in the middle of RETR leaves no partial message" {
	fake_start pop3-drop-retr
	write_config "$CONF" imap= "pop3=pop3://127.0.0.1:$FAKE_PORT" tls=none-i-know tls-ca-file=
	run mail -C "$CONF" fetch
	[ "$status" -eq 75 ]
	[[ $output == "mail: fetch test"* ]]
	[ "$(maildir_count "$STORE")" -eq 1 ]
	[ -z "$(ls -A "$STORE/tmp")" ]
	run mail -C "$CONF" fetch
	[ "$status" -eq 0 ]
	[ "$(maildir_count "$STORE")" -eq 3 ]
	[ "$(grep -l '^Subject: m2' "$STORE"/new/* | wc -l)" -eq 1 ]
	grep -q '^\.\.a stuffed line' "$STORE"/new/*
}

@test "fetch: usage errors" {
	run mail -C "$CONF" fetch --keep --delete
	[ "$status" -eq 64 ]
	run mail -C "$CONF" fetch extra
	[ "$status" -eq 64 ]
	run mail -C "$CONF" fetch -h
	[ "$status" -eq 0 ]
	[[ $output == "usage: mail fetch"* ]]
}

@test "fetch: IMAP over TLS byte-identical, flags mapped, rerun fetches nothing" {
	write_config "$CONF" pop3= "imap=imaps://localhost:$MAIL_TEST_IMAPS_PORT"
	add_messages 200
	printf 'Subject: seen\n\nread already\n' >"$BATS_TEST_TMPDIR/seen"
	maildir_add "$MAIL_TEST_MAILDIR1" "$BATS_TEST_TMPDIR/seen" "" S >/dev/null
	run mail -C "$CONF" fetch
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	diff <(sums "$MAIL_TEST_MAILDIR1") <(sums "$STORE")
	ls "$STORE"/cur/*:2,S
	run mail -C "$CONF" -v fetch
	[ "$status" -eq 0 ]
	[[ $output == "test/INBOX: 0 new, 0.0 MB" ]]
	add_messages 2 later
	run mail -C "$CONF" -v fetch
	[[ $output == "test/INBOX: 2 new,"* ]]
	[ "$(maildir_count "$STORE")" -eq 203 ]
}

@test "fetch: IMAP with STARTTLS, folders by pattern, --delete" {
	write_config "$CONF" pop3= "imap=imap://localhost:$MAIL_TEST_IMAP_PORT" "fetch-folders=INBOX Lists/*"
	add_messages 3
	printf 'Subject: dev\n\nlist mail\n' >"$BATS_TEST_TMPDIR/dev"
	maildir_add "$MAIL_TEST_MAILDIR1" "$BATS_TEST_TMPDIR/dev" Lists.dev >/dev/null
	maildir_add "$MAIL_TEST_MAILDIR1" "$BATS_TEST_TMPDIR/dev" Other >/dev/null
	run mail -C "$CONF" -v fetch --delete
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(maildir_count "$STORE")" -eq 3 ]
	[ "$(maildir_count "$STORE" Lists.dev)" -eq 1 ]
	[ "$(maildir_count "$STORE" Other)" -eq 0 ]
	[ "$(maildir_count "$MAIL_TEST_MAILDIR1")" -eq 0 ]
	[ "$(maildir_count "$MAIL_TEST_MAILDIR1" Lists.dev)" -eq 0 ]
	[ "$(maildir_count "$MAIL_TEST_MAILDIR1" Other)" -eq 1 ]
}

@test "fetch: IMAP connection dropped mid-literal: no partial message, exit 75" {
	fake_start imap-drop-literal
	write_config "$CONF" pop3= "imap=imap://127.0.0.1:$FAKE_PORT" tls=none-i-know tls-ca-file=
	run mail -C "$CONF" fetch
	echo "$output"
	[ "$status" -eq 75 ]
	[ "$(maildir_count "$STORE")" -eq 0 ]
	[ -z "$(ls -A "$STORE/tmp")" ]
}
