#!/usr/bin/env bats
# mail fetch over POP3 against the harness's Dovecot: byte-identical
# copies, incremental reruns, --delete, --catch-up, --mda, mbox, the
# per-account lock, and a connection dropped in the middle of RETR.

load helpers
bats_require_minimum_version 1.5.0   # run --separate-stderr

setup_file() { servers_start; }
teardown_file() { servers_stop; }

setup() {
	mail_reset
	CONF=$BATS_TEST_TMPDIR/config
	STORE=$HOME/Mail/test
	write_config "$CONF" imap= "pop3=pop3s://localhost:$MAIL_TEST_POP3S_PORT"
}
teardown() {
	fake_stop
	if [[ -n ${SMALL_FS:-} ]]; then umount "$SMALL_FS" 2>/dev/null || true; fi
}

# add_messages N [PREFIX] [MAILDIR]: N distinct messages of mixed shapes on
# the server (alice's Maildir unless MAILDIR), put into the Maildir as
# Dovecot would (tmp/, then new/, owned by the mail user) by one python3: a
# few processes per message made the 1000-message test take over a minute.
add_messages() {
	python3 - "${3:-$MAIL_TEST_MAILDIR1}" "$1" "${2:-m}" <<'PY'
import os, sys, time
md, n, p = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
st = os.stat(md)
for i in range(1, n + 1):
    msg = (b"From: Sender %d <s@example.test>\nTo: alice@example.test\n" % i
           + b"Subject: %s-%d\nMessage-ID: <%s-%d@example.test>\n\n" % (p, i, p, i))
    k = i % 5
    if k == 0:
        msg += b".leading dot\n..two dots\n.\nFrom the start\n"
    elif k == 1:
        msg += b"x" * (i * 37 % 20000 + 1) + b"\n"
    elif k == 2:
        msg += b"caf\xc3\xa9 8-bit \xff bytes\n"
    elif k == 3:
        msg += b"".join(b"line %d of %s-%d\n" % (j, p, i) for j in range(50))
    else:
        msg += b"\n\n\nblank lines\n\n"
    name = "%d.M%dP%d.%s.helpers" % (time.time(), i, os.getpid(), p.decode())
    tmp = os.path.join(md, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(msg)
    os.chown(tmp, st.st_uid, st.st_gid)
    os.chmod(tmp, 0o600)
    os.rename(tmp, os.path.join(md, "new", name))
PY
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
	[[ $output == "test/INBOX: 0 new, 0 B" ]]
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
	! grep -q '^Subject: old-' "$STORE"/new/* || false
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
	held=$BATS_TEST_TMPDIR/held release=$BATS_TEST_TMPDIR/release
	mkdir -p "$(dirname "$lock")"
	# The lock is held from when "held" exists until "release" does (a
	# fixed hold and a fixed pause before the first fetch raced on a
	# loaded machine: the holder might not have the lock yet, or the
	# sanitizer build's fetch might get there after it was let go).
	# (timeout: not left behind when the test fails before the release.)
	flock "$lock" timeout 60 sh -c ': >"$1"; while [ ! -e "$2" ]; do sleep 0.05; done' \
		sh "$held" "$release" 3>&- &
	holder=$!
	for ((i = 0; i < 200; i++)); do
		[ -e "$held" ] && break
		sleep 0.05
	done
	[ -e "$held" ]
	run mail -C "$CONF" fetch
	[ "$status" -eq 75 ]
	[[ $output == *"another mail fetch for account test is running"* ]]
	# --wait: still waiting while the lock is held, done once it is free.
	mail -C "$CONF" fetch --wait 3>&- &
	waiter=$!
	sleep 1
	kill -0 "$waiter"
	[ "$(maildir_count "$STORE")" -eq 0 ]
	: >"$release"
	wait "$holder"
	st=0
	wait "$waiter" || st=$?
	[ "$st" -eq 0 ]
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
	add_messages 1000
	printf 'Subject: seen\n\nread already\n' >"$BATS_TEST_TMPDIR/seen"
	maildir_add "$MAIL_TEST_MAILDIR1" "$BATS_TEST_TMPDIR/seen" "" S >/dev/null
	run mail -C "$CONF" fetch
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	diff <(sums "$MAIL_TEST_MAILDIR1") <(sums "$STORE")
	ls "$STORE"/cur/*:2,S
	run mail -C "$CONF" -v fetch
	[ "$status" -eq 0 ]
	[[ $output == "test/INBOX: 0 new, 0 B" ]]
	add_messages 2 later
	run mail -C "$CONF" -v fetch
	[[ $output == "test/INBOX: 2 new,"* ]]
	[ "$(maildir_count "$STORE")" -eq 1003 ]
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

# uidvalidity: the INBOX's UIDVALIDITY as Dovecot reports it (EXAMINE).
uidvalidity() {
	python3 - "$MAIL_TEST_IMAPS_PORT" "$MAIL_TEST_CA" "$MAIL_TEST_USER1" "$MAIL_TEST_PASS1" <<'PY'
import imaplib, ssl, sys
port, ca, user, pw = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
m = imaplib.IMAP4_SSL("localhost", int(port), ssl_context=ctx)
m.login(user, pw)
m.select("INBOX", readonly=True)
print(m.untagged_responses["UIDVALIDITY"][0].decode())
m.logout()
PY
}

@test "fetch: IMAP UIDVALIDITY changed by Dovecot: no duplicates, new mail fetched" {
	write_config "$CONF" pop3= "imap=imaps://localhost:$MAIL_TEST_IMAPS_PORT"
	add_messages 5 before
	run mail -C "$CONF" fetch
	[ "$status" -eq 0 ]
	[ "$(maildir_count "$STORE")" -eq 5 ]
	v1=$(uidvalidity)
	# Dovecot keeps UIDVALIDITY and the UIDs in dovecot-uidlist and its
	# index; without them it numbers the folder afresh, with a new
	# UIDVALIDITY (from dovecot-uidvalidity, never reused).
	rm -f "$MAIL_TEST_MAILDIR1"/dovecot-uidlist "$MAIL_TEST_MAILDIR1"/dovecot.index*
	add_messages 2 after
	v2=$(uidvalidity)
	echo "UIDVALIDITY $v1 -> $v2"
	[ -n "$v1" ] && [ -n "$v2" ] && [ "$v1" != "$v2" ]
	run mail -C "$CONF" -v fetch
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == "test/INBOX: 2 new, "*", 5 already here" ]]
	[ "$(maildir_count "$STORE")" -eq 7 ]
	diff <(sums "$MAIL_TEST_MAILDIR1") <(sums "$STORE")
	run mail -C "$CONF" -v fetch
	[[ $output == "test/INBOX: 0 new, 0 B" ]]
	[ "$(maildir_count "$STORE")" -eq 7 ]
}

@test "fetch: IMAP UIDVALIDITY changed by Dovecot: no re-delivery into an mbox store or through --mda" {
	out=$BATS_TEST_TMPDIR/mda
	mkdir -p "$out"
	mda="cat > \$(mktemp $out/m.XXXXXX)"
	add_messages 5 before
	write_config "$CONF" pop3= "imap=imaps://localhost:$MAIL_TEST_IMAPS_PORT" "store=mbox:$HOME/mbox"
	run mail -C "$CONF" fetch
	[ "$status" -eq 0 ]
	[ "$(grep -c '^From ' "$HOME/mbox")" -eq 5 ]
	# the MDA as another account's destination (its own state)
	sed 's/^\[account "test"\]/[account "viamda"]/' "$CONF" >"$CONF.mda"
	chmod 600 "$CONF.mda"
	run mail -C "$CONF.mda" fetch --mda "$mda"
	[ "$status" -eq 0 ]
	[ "$(ls "$out" | wc -l)" -eq 5 ]
	v1=$(uidvalidity)
	rm -f "$MAIL_TEST_MAILDIR1"/dovecot-uidlist "$MAIL_TEST_MAILDIR1"/dovecot.index*
	add_messages 2 after
	v2=$(uidvalidity)
	[ -n "$v1" ] && [ -n "$v2" ] && [ "$v1" != "$v2" ]
	run mail -C "$CONF" -v fetch
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == "test/INBOX: 2 new, "*", 5 already here" ]]
	[ "$(grep -c '^From ' "$HOME/mbox")" -eq 7 ]
	[ "$(grep -c '^Subject: before-' "$HOME/mbox")" -eq 5 ]
	run mail -C "$CONF.mda" -v fetch --mda "$mda"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == "viamda/INBOX: 2 new, "*", 5 already here" ]]
	[ "$(ls "$out" | wc -l)" -eq 7 ]
	[ "$(cat "$out"/* | grep -c '^Subject: before-')" -eq 5 ]
	diff <(sums "$MAIL_TEST_MAILDIR1") <(for f in "$out"/*; do sha256sum "$f"; done | awk '{print $1}' | sort)
	# and nothing more the next time
	run mail -C "$CONF" fetch
	run mail -C "$CONF.mda" fetch --mda "$mda"
	[ "$(grep -c '^From ' "$HOME/mbox")" -eq 7 ]
	[ "$(ls "$out" | wc -l)" -eq 7 ]
}

@test "fetch-max-size over POP3: skip by default; fetch-oversized = headers keeps the header" {
	add_messages 2 small
	{
		printf 'From: big@example.test\nSubject: the big one\nMessage-ID: <big@example.test>\n\n'
		head -c 6000 /dev/zero | tr '\0' 'y'
		echo
	} >"$BATS_TEST_TMPDIR/big"
	maildir_add "$MAIL_TEST_MAILDIR1" "$BATS_TEST_TMPDIR/big" >/dev/null
	base=(imap= "pop3=pop3s://localhost:$MAIL_TEST_POP3S_PORT" fetch-max-size=2k)
	write_config "$CONF" "${base[@]}"
	run mail -C "$CONF" fetch --delete
	[ "$status" -eq 0 ]
	[[ $output == *"over fetch-max-size: left on the server"* ]]
	[ "$(maildir_count "$STORE")" -eq 2 ]
	[ "$(maildir_count "$MAIL_TEST_MAILDIR1")" -eq 1 ]
	write_config "$CONF" "${base[@]}" fetch-oversized=headers
	run mail -C "$CONF" fetch --delete
	[ "$status" -eq 0 ]
	[[ $output == *"over fetch-max-size: its header is kept here"* ]]
	[ "$(maildir_count "$STORE")" -eq 3 ]
	[ "$(maildir_count "$MAIL_TEST_MAILDIR1")" -eq 1 ]   # not deleted
	stub=$(grep -l '^Subject: the big one' "$STORE"/new/*)
	head -n 1 "$stub" | grep -qx "X-Mail-Fetch-Truncated: [0-9]* bytes not downloaded (over fetch-max-size)"
	grep -q '^Message-ID: <big@example.test>$' "$stub"
	! grep -q yyyy "$stub" || false
	[ "$(wc -c <"$stub")" -lt 300 ]
	# Once only.
	run mail -C "$CONF" fetch --delete
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(maildir_count "$STORE")" -eq 3 ]
	# A larger limit fetches the whole message after all.
	write_config "$CONF" imap= "pop3=pop3s://localhost:$MAIL_TEST_POP3S_PORT" fetch-oversized=headers
	run mail -C "$CONF" fetch --delete
	[ "$status" -eq 0 ]
	[ "$(maildir_count "$STORE")" -eq 4 ]
	[ "$(maildir_count "$MAIL_TEST_MAILDIR1")" -eq 0 ]
	grep -q yyyy "$STORE"/new/*
}

@test "fetch --delete over IMAP without UIDPLUS: MOVE to the trash, else refused (69)" {
	fake_start imap-no-uidplus
	write_config "$CONF" pop3= "imap=imap://127.0.0.1:$FAKE_PORT" tls=none-i-know tls-ca-file=
	run mail -C "$CONF" fetch --delete
	echo "$output"
	[ "$status" -eq 69 ]
	[[ $output == *"neither UIDPLUS nor MOVE"* ]]
	[ "$(maildir_count "$STORE")" -eq 1 ]   # fetched, just not deleted
	! grep -q 'EXPUNGE\|STORE' "$FAKE_LOG" || false
	fake_stop
	fake_start imap-move-no-uidplus
	write_config "$CONF" pop3= "imap=imap://127.0.0.1:$FAKE_PORT" tls=none-i-know tls-ca-file= trash-folder=Bin
	run mail -C "$CONF" fetch --delete
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q ' UID MOVE 1 "\?Bin"\?$' "$FAKE_LOG"
	! grep -q 'EXPUNGE\|STORE' "$FAKE_LOG" || false
	# (another port, another server: its message is fetched too)
	[ "$(maildir_count "$STORE")" -eq 2 ]
	run mail -C "$CONF" fetch --delete
	[ "$status" -eq 0 ]
	[ "$(maildir_count "$STORE")" -eq 2 ]
	[ "$(grep -c 'UID MOVE' "$FAKE_LOG")" -eq 1 ]
}

# write_two FILE ALICE_URL BOB_URL: a configuration with two accounts,
# alice (the default) and bob, each with its own store under HOME and the
# server of its URL (imap or pop3 by the scheme).
write_two() {
	local file=$1 dir ka=${2%%s:*} kb=${3%%s:*}
	ka=${ka%%:*} kb=${kb%%:*}
	dir=$(dirname -- "$file")
	(umask 077 && printf '%s\n' "$MAIL_TEST_PASS1" >"$dir/alice.pass" &&
		printf '%s\n' "$MAIL_TEST_PASS2" >"$dir/bob.pass")
	cat >"$file" <<-EOF
	[account "alice"]
	    address = $MAIL_TEST_ADDR1
	    $ka = $2
	    user = $MAIL_TEST_USER1
	    password-command = cat $dir/alice.pass
	    tls-ca-file = $MAIL_TEST_CA
	    store = $HOME/Mail/alice
	    default = true
	[account "bob"]
	    address = $MAIL_TEST_ADDR2
	    $kb = $3
	    user = $MAIL_TEST_USER2
	    password-command = cat $dir/bob.pass
	    tls-ca-file = $MAIL_TEST_CA
	    store = $HOME/Mail/bob
	EOF
	chmod 600 "$file"
}

@test "fetch --all over STARTTLS: alice by IMAP, bob by POP3, 1000 mixed each, byte-identical" {
	a="imap://localhost:$MAIL_TEST_IMAP_PORT" b="pop3://localhost:$MAIL_TEST_POP3_PORT"
	write_two "$CONF" "$a" "$b"
	add_messages 1000 a
	add_messages 1000 b "$MAIL_TEST_MAILDIR2"
	run --separate-stderr mail -C "$CONF" fetch --all
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	[ "$(maildir_count "$HOME/Mail/alice")" -eq 1000 ]
	[ "$(maildir_count "$HOME/Mail/bob")" -eq 1000 ]
	diff <(sums "$MAIL_TEST_MAILDIR1") <(sums "$HOME/Mail/alice")
	diff <(sums "$MAIL_TEST_MAILDIR2") <(sums "$HOME/Mail/bob")
	run mail -C "$CONF" -v fetch --all
	[ "$status" -eq 0 ]
	[ "$output" = "alice/INBOX: 0 new, 0 B
bob/INBOX: 0 new, 0 B" ]
}

@test "fetch --all: one account's server unreachable, the other still fetched; exit 69, one line" {
	# A port nothing listens on.
	bad=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	add_messages 3 a
	add_messages 4 b "$MAIL_TEST_MAILDIR2"
	# The first account unreachable: the second is fetched all the same.
	write_two "$CONF" "imaps://localhost:$bad" "pop3s://localhost:$MAIL_TEST_POP3S_PORT"
	run --separate-stderr mail -C "$CONF" fetch --all
	echo "$stderr"
	[ "$status" -eq 69 ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "mail: fetch alice"*"localhost"*"$bad"* ]]
	[[ ${stderr,,} == *refused* ]]
	[ "$(maildir_count "$HOME/Mail/bob")" -eq 4 ]
	diff <(sums "$MAIL_TEST_MAILDIR2") <(sums "$HOME/Mail/bob")
	[ "$(maildir_count "$HOME/Mail/alice")" -eq 0 ]
	# The other way round: alice is fetched, bob's line names bob.
	write_two "$CONF" "imaps://localhost:$MAIL_TEST_IMAPS_PORT" "pop3s://localhost:$bad"
	run --separate-stderr mail -C "$CONF" fetch --all
	echo "$stderr"
	[ "$status" -eq 69 ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "mail: fetch bob"*"localhost"*"$bad"* ]]
	[[ ${stderr,,} == *refused* ]]
	[ "$(maildir_count "$HOME/Mail/alice")" -eq 3 ]
	diff <(sums "$MAIL_TEST_MAILDIR1") <(sums "$HOME/Mail/alice")
}

@test "fetch: an IMAP literal announced as {99999999999}: exit 76 at once, nothing allocated, nothing stored" {
	[ -x /usr/bin/time ] || skip "no /usr/bin/time"
	fake_start imap-huge-literal
	write_config "$CONF" pop3= "imap=imap://127.0.0.1:$FAKE_PORT" tls=none-i-know tls-ca-file=
	rss=$BATS_TEST_TMPDIR/rss
	start=$(date +%s%N)
	run --separate-stderr timeout 20 /usr/bin/time -o "$rss" -f %M "$MAIL" -C "$CONF" fetch
	end=$(date +%s%N)
	echo "status $status, $(((end - start) / 1000000)) ms, $(cat "$rss") KB; stderr: $stderr"
	[ "$status" -eq 76 ]
	(((end - start) < 3000000000))
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "mail: fetch test"* ]]
	[ "$(tail -n 1 "$rss")" -lt 50000 ]
	grep -q 'UID FETCH 1' "$FAKE_LOG"
	for d in tmp new cur; do
		[ -d "$STORE/$d" ]
		[ -z "$(ls -A "$STORE/$d")" ]
	done
}

@test "fetch: silent on success (cron); -v: one line per folder, ACCOUNT/FOLDER: N new, SIZE" {
	write_config "$CONF" pop3= "imap=imaps://localhost:$MAIL_TEST_IMAPS_PORT" "fetch-folders=INBOX Lists/*"
	add_messages 3 a
	printf 'Subject: dev\n\nlist mail\n' >"$BATS_TEST_TMPDIR/dev"
	maildir_add "$MAIL_TEST_MAILDIR1" "$BATS_TEST_TMPDIR/dev" Lists.dev >/dev/null
	run --separate-stderr mail -C "$CONF" fetch
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	add_messages 2 b
	run --separate-stderr mail -C "$CONF" -v fetch
	printf '%s\n' "$output" "--" "$stderr"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 2 ]   # in the server's LIST order
	[[ $output =~ (^|$'\n')test/INBOX:\ 2\ new,\ [0-9]+\ B($|$'\n') ]]
	[[ $output =~ (^|$'\n')test/Lists/dev:\ 0\ new,\ 0\ B($|$'\n') ]]
	# POP3 too.
	mail_reset
	write_config "$CONF" imap= "pop3=pop3s://localhost:$MAIL_TEST_POP3S_PORT" store="$HOME/Mail/p"
	add_messages 20 c
	run --separate-stderr mail -C "$CONF" fetch
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	add_messages 1 d
	run --separate-stderr mail -C "$CONF" -v fetch
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ $output =~ ^test/INBOX:\ 1\ new,\ [0-9]+\ B$ ]]
	# Human units: a message of 9,900 bytes is 9.9 KB (was "0.0 MB").
	{
		printf 'Subject: ten\n\n'
		head -c 9886 /dev/zero | tr '\0' 'z'
	} >"$BATS_TEST_TMPDIR/ten"
	[ "$(wc -c <"$BATS_TEST_TMPDIR/ten")" -eq 9900 ]
	maildir_add "$MAIL_TEST_MAILDIR1" "$BATS_TEST_TMPDIR/ten" >/dev/null
	run --separate-stderr mail -C "$CONF" -v fetch
	[ "$status" -eq 0 ]
	[ "$output" = "test/INBOX: 1 new, 9.9 KB" ]
	# --catch-up -v says how many it marked.
	add_messages 3 e
	run --separate-stderr mail -C "$CONF" -v fetch --catch-up
	[ "$status" -eq 0 ]
	[ "$output" = "test/INBOX: 3 marked as fetched without downloading, 0 new, 0 B" ]
}

@test "fetch: a server folder named with ESC ] 2 ; ... BEL never reaches the terminal raw (progress line on a tty)" {
	command -v script >/dev/null || skip "no script(1) (util-linux)"
	# The folder "evil ESC ]2;pwned BEL x" with one message in it, made in
	# Dovecot's mail directory under its modified UTF-7 name (Dovecot's
	# CREATE refuses control characters; its LIST shows what is there).
	printf 'Subject: evil\n\nbody\n' >"$BATS_TEST_TMPDIR/evil"
	maildir_add "$MAIL_TEST_MAILDIR1" "$BATS_TEST_TMPDIR/evil" 'evil&ABs-]2;pwned&AAc-x' >/dev/null
	write_config "$CONF" pop3= "imap=imaps://localhost:$MAIL_TEST_IMAPS_PORT" "fetch-folders=*"
	tty=$BATS_TEST_TMPDIR/tty
	# script(1) gives mail a terminal, so that it draws its progress line
	run script -qec "'$MAIL' -C '$CONF' fetch" /dev/null
	printf '%s' "$output" >"$tty"
	od -c "$tty" | head -n 20
	[ "$status" -eq 0 ]
	# the progress line was drawn, with the name in caret notation ...
	grep -qF 'evil^[]2;pwned^Gx: 1/1 messages' "$tty"
	# ... and no OSC sequence or BEL reached the terminal
	! grep -q $'\e]' "$tty" || false
	! grep -q $'\a' "$tty" || false
	[ "$(grep -c '^Subject: evil' "$STORE"/.evil*/new/*)" -eq 1 ]
}

# fetch_fake MODE: start tests/servers/fake-imap-fetch MODE (stopped by
# fake_stop in teardown); sets FAKE_PORT and FAKE_LOG.
fetch_fake() {
	local portfile
	portfile=$(mktemp -u "$BATS_TEST_TMPDIR/fake-$1.XXXXXX")
	fake_spawn "$portfile" "$MAIL_SOURCE_ROOT/tests/servers/fake-imap-fetch" "$1" "$portfile" || return 1
	FAKE_PORT=$(<"$portfile")
	FAKE_LOG=$portfile.log
}

@test "fetch: the same UID twice in one FETCH reply is stored once (Maildir and mbox)" {
	fetch_fake dupuid
	write_config "$CONF" pop3= "imap=imap://127.0.0.1:$FAKE_PORT" tls=none-i-know tls-ca-file=
	run mail -C "$CONF" fetch
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(maildir_count "$STORE")" -eq 2 ]
	[ "$(grep -l '^Subject: dup-1' "$STORE"/new/* | wc -l)" -eq 1 ]
	[ -z "$(ls -A "$STORE/tmp")" ]
	write_config "$CONF" pop3= "imap=imap://127.0.0.1:$FAKE_PORT" tls=none-i-know tls-ca-file= "store=mbox:$HOME/mbox"
	rm -rf "$XDG_STATE_HOME/mail/fetch"
	run mail -C "$CONF" fetch
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^From ' "$HOME/mbox")" -eq 2 ]
	[ "$(grep -c '^Subject: dup-1' "$HOME/mbox")" -eq 1 ]
}

@test "fetch: a server that sends '* OK still here' for ever: given up after 10 x timeout, exit 75, the lock free" {
	fetch_fake trickle
	write_config "$CONF" pop3= "imap=imap://127.0.0.1:$FAKE_PORT" tls=none-i-know tls-ca-file= timeout=1
	start=$(date +%s%N)
	run --separate-stderr timeout 60 "$MAIL" -C "$CONF" fetch
	end=$(date +%s%N)
	echo "status $status after $(((end - start) / 1000000)) ms: $stderr"
	[ "$status" -eq 75 ]
	(((end - start) >= 9000000000 && (end - start) < 20000000000))
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "mail: fetch test"*"no progress for 10 s"*"try again later" ]]
	# the account's lock is free again
	flock -n "$XDG_STATE_HOME/mail/fetch/test.lock" true
}

@test "fetch: a listed folder that cannot be fetched is reported; the others are fetched; exit 76" {
	fetch_fake folders
	write_config "$CONF" pop3= "imap=imap://127.0.0.1:$FAKE_PORT" tls=none-i-know tls-ca-file= "fetch-folders=*"
	run --separate-stderr mail -C "$CONF" fetch
	printf '%s\n' "$output" "--" "$stderr"
	[ "$status" -eq 76 ]
	[ "${#stderr_lines[@]}" -eq 3 ]
	[[ ${stderr_lines[0]} == "mail: fetch test: "*"Gone"* ]]
	[[ ${stderr_lines[1]} == "mail: fetch test: a//b"* ]]
	[[ ${stderr_lines[2]} == "mail: fetch test"*"2 of the server's folders could not be fetched"* ]]
	[ "$(maildir_count "$STORE")" -eq 1 ]
	[ "$(maildir_count "$STORE" Good)" -eq 1 ]
	grep -q ' LOGOUT' "$FAKE_LOG"
	# and the next run fetches nothing twice
	run --separate-stderr mail -C "$CONF" fetch
	[ "$status" -eq 76 ]
	[ "$(maildir_count "$STORE")" -eq 1 ]
	[ "$(maildir_count "$STORE" Good)" -eq 1 ]
}

# small_fs DIR: a 200 KB tmpfs on DIR (root only); skips the test otherwise.
small_fs() {
	mkdir -p "$1"
	mount -t tmpfs -o size=200k tmpfs "$1" 2>/dev/null ||
		skip "cannot mount a small tmpfs here (needs root)"
	SMALL_FS=$1
}

# full_maildir SERVER-KEYS...: fetch three messages of 150 KB into a
# Maildir on a 200 KB file system (the second fills it in the middle of
# its body, where the store is written while the message streams in),
# then again with room.
full_maildir() {
	small_fs "$BATS_TEST_TMPDIR/small"
	for i in 1 2 3; do
		{
			printf 'Subject: big %s\nMessage-ID: <big-%s@example.test>\n\n' "$i" "$i"
			head -c 150000 /dev/zero | tr '\0' "$i"
			echo
		} >"$BATS_TEST_TMPDIR/big$i"
		maildir_add "$MAIL_TEST_MAILDIR1" "$BATS_TEST_TMPDIR/big$i" >/dev/null
	done
	write_config "$CONF" "$@" "store=$SMALL_FS/Mail"
	run --separate-stderr mail -C "$CONF" fetch
	echo "status $status: $stderr"
	[ "$status" -eq 74 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "mail: fetch test"*"No space left on device"* ]]
	# nothing half-written: tmp/ is empty and every message here is one of
	# the server's, whole
	[ -z "$(ls -A "$SMALL_FS/Mail/tmp")" ]
	n=$(maildir_count "$SMALL_FS/Mail")
	echo "$n of 3 fetched"
	[ "$n" -lt 3 ]
	comm -13 <(sums "$MAIL_TEST_MAILDIR1") <(sums "$SMALL_FS/Mail") >"$BATS_TEST_TMPDIR/extra"
	[ ! -s "$BATS_TEST_TMPDIR/extra" ]
	# room again: the rest comes, nothing twice
	mount -o remount,size=20m "$SMALL_FS"
	run --separate-stderr mail -C "$CONF" fetch
	echo "$stderr"
	[ "$status" -eq 0 ]
	diff <(sums "$MAIL_TEST_MAILDIR1") <(sums "$SMALL_FS/Mail")
}

@test "fetch into a full file system over IMAP: exit 74 saying why (was: 'could not store the body'), nothing partial, the rest next time" {
	full_maildir pop3= "imap=imaps://localhost:$MAIL_TEST_IMAPS_PORT"
}

@test "fetch into a full file system over POP3: exit 74 saying why (was: 'writing the message stopped'), nothing partial" {
	full_maildir imap= "pop3=pop3s://localhost:$MAIL_TEST_POP3S_PORT"
}

# full_mbox SERVER-KEYS...: fetch 600 messages into an mbox on a 200 KB
# file system, then again with room.
full_mbox() {
	small_fs "$BATS_TEST_TMPDIR/small"
	add_messages 600
	write_config "$CONF" "$@" "store=mbox:$SMALL_FS/mbox"
	run --separate-stderr mail -C "$CONF" fetch
	echo "status $status: $stderr"
	[ "$status" -eq 74 ] || [ "$status" -eq 73 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "mail: fetch test"*"No space left on device"* ]]
	# every message in the mbox is whole: the same body as on the server
	check_mbox() {
		python3 - "$SMALL_FS/mbox" "$MAIL_TEST_MAILDIR1" "$1" <<'PY'
import mailbox, os, sys, glob
box, md, want = sys.argv[1], sys.argv[2], sys.argv[3]
server = {}
for f in glob.glob(os.path.join(md, "new", "*")) + glob.glob(os.path.join(md, "cur", "*")):
    m = mailbox.MaildirMessage(open(f, "rb").read())
    server[m["Message-ID"]] = m.get_payload(decode=False)
n = 0
import re
for m in mailbox.mbox(box):
    # mboxrd: one '>' less on each >From line; the separator line goes
    body = re.sub(r"(?m)^>(>*From )", r"\1", m.get_payload(decode=False))
    assert server[m["Message-ID"]].rstrip("\n") == body.rstrip("\n"), m["Message-ID"]
    n += 1
print(n, "whole messages in the mbox")
assert (n < 600) if want == "some" else (n == 600), n
PY
	}
	check_mbox some
	mount -o remount,size=20m "$SMALL_FS"
	run --separate-stderr mail -C "$CONF" fetch
	echo "$stderr"
	[ "$status" -eq 0 ]
	check_mbox all
}

@test "fetch into an mbox on a full file system over IMAP: exit 74 saying why, no partial message, the rest next time" {
	full_mbox pop3= "imap=imaps://localhost:$MAIL_TEST_IMAPS_PORT"
}

@test "fetch into an mbox on a full file system over POP3: exit 74 saying why, no partial message, the rest next time" {
	full_mbox imap= "pop3=pop3s://localhost:$MAIL_TEST_POP3S_PORT"
}
