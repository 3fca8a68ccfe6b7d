#!/usr/bin/env bats
# mail fetch against IMAP servers that do what RFC 3501 and RFC 9051 allow
# but Dovecot does not do (FETCH items in another order, tagged replies out
# of order, response text ending in {N}), and against faults (a body
# without its UID, a UID not asked for, the same UID three times, mailbox
# names that are not valid modified UTF-7).  tests/servers/fake-server
# plays the server; every message it serves is also written to
# PORTFILE.msgs/UID as a store holds it, for byte-for-byte checks.

load helpers
bats_require_minimum_version 1.5.0   # run --separate-stderr

setup() {
	CONF=$BATS_TEST_TMPDIR/config
	STORE=$HOME/Mail/test
}
teardown() { fake_stop; }

# fake_config MODE: start the fake server MODE and write a configuration
# for it (plain IMAP, a Maildir store).
fake_config() {
	fake_start "$1"
	MSGS=${FAKE_LOG%.log}.msgs
	fake_account "$FAKE_PORT"
}

# fake_account PORT: the configuration for a fake IMAP server on PORT.
fake_account() {
	write_config "$CONF" pop3= smtp= "imap=imap://127.0.0.1:$1" \
		tls=none-i-know tls-ca-file= user=u "password-command=echo secret"
}

# stored_sums: sorted hashes of every message in the store (all folders).
stored_sums() {
	find "$STORE" -type f \( -path '*/new/*' -o -path '*/cur/*' \) \
		-exec sha256sum {} + 2>/dev/null | awk '{print $1}' | sort
}

# served_sums UID...: sorted hashes of the messages the server served.
served_sums() {
	local u
	for u in "$@"; do
		sha256sum "$MSGS/$u"
	done | awk '{print $1}' | sort
}

@test "imap faults: BODY[] before UID and FLAGS: every message stored byte for byte, once" {
	fake_config imap-fetch-order
	run --separate-stderr timeout 30 "$MAIL" -C "$CONF" fetch
	echo "status $status; stderr: $stderr"
	[ "$status" -eq 0 ]
	[ "$(stored_sums)" = "$(served_sums 3 5 9)" ]
	# flags after the body still count: UID 3, 5 and 9 are \Seen (odd)
	[ "$(find "$STORE/cur" -type f -name '*:2,*S*' | wc -l)" -eq 3 ]
	run --separate-stderr timeout 30 "$MAIL" -C "$CONF" fetch
	[ "$status" -eq 0 ]
	[ "$(maildir_count "$STORE")" -eq 3 ]
	[ "$(grep -c 'UID FETCH [0-9:,]* (UID FLAGS' "$FAKE_LOG")" -eq 1 ]
}

@test "imap faults: a 40 MB body before its UID is spooled to a file, not held in memory" {
	[ -x /usr/bin/time ] || skip "no /usr/bin/time"
	fake_config imap-fetch-order-big
	rss=$BATS_TEST_TMPDIR/rss
	run --separate-stderr timeout 120 /usr/bin/time -o "$rss" -f %M "$MAIL" -C "$CONF" fetch
	echo "status $status, $(tail -n 1 "$rss") KB; stderr: $stderr"
	[ "$status" -eq 0 ]
	[ "$(stored_sums)" = "$(served_sums 7 1000)" ]
	[ "$(tail -n 1 "$rss")" -lt 50000 ]
}

@test "imap faults: pipelined UID FETCH completed in reverse order, untagged responses in between" {
	fake_config imap-tag-order
	run --separate-stderr timeout 60 "$MAIL" -C "$CONF" fetch
	echo "status $status; stderr: $stderr"
	[ "$status" -eq 0 ]
	[ "$(stored_sums)" = "$(served_sums $(seq 1 150))" ]
	# two commands were in flight at once (100 + 50 UIDs)
	[ "$(grep -c 'UID FETCH [0-9:,]* (UID FLAGS' "$FAKE_LOG")" -eq 2 ]
}

@test "imap faults: greeting, tagged OK and OK [ALERT] text ending in {5} is text, not a literal" {
	fake_config imap-text-literal
	run --separate-stderr timeout 30 "$MAIL" -C "$CONF" fetch
	echo "status $status; stderr: $stderr"
	[ "$status" -eq 0 ]
	[ "$(stored_sums)" = "$(served_sums 1 2)" ]
}

@test "imap faults: a FETCH body without its UID is a protocol error (76), never a silent skip" {
	fake_config imap-no-uid
	run --separate-stderr timeout 30 "$MAIL" -C "$CONF" fetch
	echo "status $status; stderr: $stderr"
	[ "$status" -eq 76 ]
	[[ $stderr == *"without its UID"* ]]
	# UID 1 came before the fault and may be kept; UID 2 never is
	! grep -rqs 'Subject: message 2 ' "$STORE" || false
	run --separate-stderr timeout 30 "$MAIL" -C "$CONF" fetch
	[ "$status" -eq 76 ]
}

@test "imap faults: a FETCH body with a UID not asked for is a protocol error (76)" {
	fake_config imap-wrong-uid
	run --separate-stderr timeout 30 "$MAIL" -C "$CONF" fetch
	echo "status $status; stderr: $stderr"
	[ "$status" -eq 76 ]
	[[ $stderr == *"UID 99"*"not asked for"* ]]
	! grep -rqs 'Subject: message 2 ' "$STORE" || false
}

@test "imap faults: the same UID three times in one reply is stored once" {
	fake_config imap-dup-uid
	run --separate-stderr timeout 30 "$MAIL" -C "$CONF" fetch
	echo "status $status; stderr: $stderr"
	[ "$status" -eq 0 ]
	[ "$(stored_sums)" = "$(served_sums 1 2)" ]
	[ "$(maildir_count "$STORE")" -eq 2 ]
}

@test "imap faults: folder names that are not modified UTF-7 are selected by the server's own bytes" {
	fake_config imap-bad-names
	run --separate-stderr timeout 30 "$MAIL" -C "$CONF" fetch --folder '*'
	echo "status $status; stderr: $stderr"
	cat "$FAKE_LOG"
	[ "$status" -eq 0 ]
	grep -q ' EXAMINE "&AOk-&AOk-"' "$FAKE_LOG"
	grep -q ' EXAMINE "&Jjo-&Jjo"' "$FAKE_LOG"
	grep -q ' EXAMINE "Entw&APw-rfe"' "$FAKE_LOG"
	[ "$(stored_sums)" = "$(served_sums 1 2 3 4)" ]
}

@test "imap faults: LIST names no client can use are skipped with one warning (none under -q)" {
	fake_config imap-skipped-names
	run --separate-stderr timeout 30 "$MAIL" -C "$CONF" fetch --folder '*'
	echo "status $status; stderr: $stderr"
	[ "$status" -eq 0 ]
	[ "$(stored_sums)" = "$(served_sums 1)" ]
	[ "$(printf '%s\n' "$stderr" | grep -c 'warning')" -eq 1 ]
	[[ $stderr == *"mail: warning: fetch test: 2 folder names in the server's LIST reply were skipped"* ]]
	[[ $stderr == *"longer than 1 KiB"* ]]
	run --separate-stderr timeout 30 "$MAIL" -C "$CONF" -q fetch --folder '*'
	echo "status $status; stderr: $stderr"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

@test "imap faults: folders --remote: a connection lost at the LIST is tried once more on a new one" {
	# tests/servers/fake-imap-droplist: fake-server's IMAP server, whose
	# first connection is closed as its LIST arrives
	local portfile
	portfile=$(mktemp -u "$BATS_TEST_TMPDIR/fake-droplist.XXXXXX")
	fake_spawn "$portfile" "$SERVERS_DIR/fake-imap-droplist" "$portfile"
	FAKE_LOG=$portfile.log
	fake_account "$(<"$portfile")"
	run --separate-stderr timeout 30 "$MAIL" -C "$CONF" folders --remote --json
	echo "status $status; stderr: $stderr"
	cat "$FAKE_LOG"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(jq -r '[.[].path] | join(" ")' <<<"$output")" = imap:INBOX ]
	# the first connection's LIST went unanswered, the second one's listed
	grep -q '^1 [^ ]* LIST ' "$FAKE_LOG"
	grep -q '^2 [^ ]* LIST ' "$FAKE_LOG"
	[ "$(grep -cE ' (LOGIN|AUTHENTICATE) ' "$FAKE_LOG")" -eq 2 ]
	# and the human listing too
	run --separate-stderr timeout 30 "$MAIL" -C "$CONF" folders --remote
	[ "$status" -eq 0 ]
	[[ ${lines[1]} == INBOX* ]]
}
