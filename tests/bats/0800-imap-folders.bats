#!/usr/bin/env bats
# imap: folders (issue 10): ls, read, flag, mv and rm on the server in
# place, against the harness's Dovecot (messages put into alice's Maildir
# as Dovecot would), and against tests/servers/fake-imap-folder for what
# Dovecot will not do (FETCH items in an odd order, an EXPUNGE in the
# middle of the listing, a server without UIDPLUS).

load helpers
bats_require_minimum_version 1.5.0   # run --separate-stderr

setup_file() { servers_start; }
teardown_file() { servers_stop; }

setup() {
	mail_reset
	isolate_home
	CONF=$BATS_TEST_TMPDIR/config
	STORE=$HOME/Mail/test
	write_config "$CONF" pop3=
	MD=$MAIL_TEST_MAILDIR1
}
teardown() { fake_stop; }

# msg FILE SUBJECT [EXTRA-HEADER]: a small message.
msg() {
	printf 'From: Sender <s@example.test>\nTo: alice@example.test\nSubject: %s\nMessage-ID: <%s@example.test>\nDate: Mon, 1 Dec 2025 10:00:00 +0000\n\nbody of %s\n' \
		"$2" "$2" "$2" >"$1"
}

# att FILE SUBJECT: a message with a text part and a PDF attachment.
att() {
	cat >"$1" <<-MSG
	From: =?utf-8?q?J=C3=BCrgen?= <j@example.test>
	To: alice@example.test
	Subject: $2
	Message-ID: <$2@example.test>
	Date: Tue, 2 Dec 2025 10:00:00 +0000
	MIME-Version: 1.0
	Content-Type: multipart/mixed; boundary="b1"

	--b1
	Content-Type: text/plain; charset=utf-8

	see the report
	--b1
	Content-Type: application/pdf; name="report.pdf"
	Content-Disposition: attachment; filename="report.pdf"
	Content-Transfer-Encoding: base64

	JVBERi0xLjQKJcfsj6IK
	--b1--
	MSG
}

# fill: INBOX with three messages (the second has an attachment).
fill() {
	local t=$BATS_TEST_TMPDIR
	msg "$t/m1" first; att "$t/m2" second; msg "$t/m3" third
	# Dovecot numbers new files in the order it finds them: a listing
	# after each keeps UIDs in the order of the subjects.
	maildir_add "$MD" "$t/m1" >/dev/null
	mail -C "$CONF" ls imap:INBOX >/dev/null
	maildir_add "$MD" "$t/m2" >/dev/null
	mail -C "$CONF" ls imap:INBOX >/dev/null
	maildir_add "$MD" "$t/m3" >/dev/null
}

ls_json() { mail -C "$CONF" ls --json "$@"; }

@test "imap ls: envelopes, flags, UIDs and the attachment mark from the server" {
	fill
	run --separate-stderr mail -C "$CONF" ls imap:INBOX
	[ "$status" -eq 0 ]
	[[ $output == *first* && $output == *second* && $output == *third* ]]
	[ -z "$stderr" ]
	run ls_json imap:INBOX
	[ "$status" -eq 0 ]
	[ "$(jq length <<<"$output")" -eq 3 ]
	[ "$(jq -r '.[1].subject' <<<"$output")" = second ]
	[ "$(jq -r '.[1].attachments' <<<"$output")" = 1 ]
	[ "$(jq -r '.[0].attachments' <<<"$output")" = 0 ]
	[ "$(jq -r '.[1].from[0].name' <<<"$output")" = "Jürgen" ]
	[ "$(jq -r '.[0].from[0].address' <<<"$output")" = s@example.test ]
	[ "$(jq -r '.[0].uid' <<<"$output")" -ge 1 ]
	[ "$(jq -r '.[0].folder' <<<"$output")" = imap:INBOX ]
	[ "$(jq -r '.[0].date' <<<"$output")" = 2025-12-01T10:00:00Z ] ||
		[ "$(jq -r '.[0].date' <<<"$output")" = 2025-12-01T10:00:00+00:00 ]
	[ "$(jq -r '.[2].message_id' <<<"$output")" = '<third@example.test>' ]
	# Listing does not change the messages (no \Seen from a listing).
	[ "$(jq -r '.[0].flags | length' <<<"$output")" -eq 0 ]
}

@test "imap ls: a folder with a non-ASCII name is shown and opened in UTF-8" {
	msg "$BATS_TEST_TMPDIR/m" umlaut
	maildir_add "$MD" "$BATS_TEST_TMPDIR/m" 'Entw&APw-rfe' >/dev/null
	run --separate-stderr mail -C "$CONF" ls imap:Entwürfe
	[ "$status" -eq 0 ]
	[[ $output == *umlaut* ]]
	run ls_json imap:Entwürfe
	[ "$(jq -r '.[0].folder' <<<"$output")" = "imap:Entwürfe" ]
	run --separate-stderr mail -C "$CONF" ls imap:NoSuchFolder
	[ "$status" -eq 66 ]
	[[ $stderr == *NoSuchFolder* ]]
}

@test "imap read: text, --raw byte for byte, --part, \\Seen unless --peek" {
	fill
	mail -C "$CONF" ls imap:INBOX >/dev/null
	run --separate-stderr mail -C "$CONF" read --peek imap:INBOX 1
	[ "$status" -eq 0 ]
	[[ $output == *"body of first"* ]]
	run ls_json imap:INBOX
	[ "$(jq -r '.[0].flags | length' <<<"$output")" -eq 0 ]
	# --raw: exactly the bytes Dovecot holds.
	mail -C "$CONF" read --raw imap:INBOX 2 >"$BATS_TEST_TMPDIR/raw"
	# (Dovecot keeps LF line ends on disk and serves CRLF.)
	f=$(ls "$MD"/new/* "$MD"/cur/* 2>/dev/null | xargs grep -l 'Subject: second')
	cmp "$BATS_TEST_TMPDIR/raw" <(sed 's/$/\r/' "$f")
	# --part 2: the attachment, decoded.
	run mail -C "$CONF" read --part 2 imap:INBOX 2
	[ "$status" -eq 0 ]
	[[ $output == %PDF-1.4* ]]
	# Reading without --peek marks the message seen on the server.
	run mail -C "$CONF" read imap:INBOX 1
	[ "$status" -eq 0 ]
	run ls_json imap:INBOX
	[ "$(jq -r '.[0].flags[0]' <<<"$output")" = seen ]
}

@test "imap flag: + and - on a set of messages, and uid:N" {
	fill
	mail -C "$CONF" ls imap:INBOX >/dev/null
	run mail -C "$CONF" -vv flag -f imap:INBOX 1-3 +flagged +seen
	[ "$status" -eq 0 ]
	# One UID STORE for the three messages, not three.
	[ "$(grep -c 'UID STORE' <<<"$output")" -eq 1 ]
	run ls_json imap:INBOX
	[ "$(jq -r '[.[].flags | index("flagged")] | map(select(. != null)) | length' <<<"$output")" -eq 3 ]
	uid=$(jq -r '.[2].uid' <<<"$output")
	run mail -C "$CONF" flag -f imap:INBOX "uid:$uid" -flagged
	[ "$status" -eq 0 ]
	run ls_json imap:INBOX
	[ "$(jq -r '.[2].flags | join(" ")' <<<"$output")" = seen ]
	[ "$(jq -r '.[1].flags | join(" ")' <<<"$output")" = "seen flagged" ]
	run --separate-stderr mail -C "$CONF" flag -f imap:INBOX uid:999999 +seen
	[ "$status" -eq 66 ]
}

@test "imap mv: IMAP to IMAP (one UID MOVE), IMAP to local, local to IMAP" {
	fill
	mail -C "$CONF" ls imap:INBOX >/dev/null
	run mail -C "$CONF" -vv mv -f imap:INBOX 1 3 imap:Trash
	[ "$status" -eq 0 ]
	[ "$(grep -c 'UID MOVE' <<<"$output")" -eq 1 ]
	# The old numbers of the moved messages resolve to nothing, never to
	# another message.
	run --separate-stderr mail -C "$CONF" flag -f imap:INBOX 1 +seen
	[ "$status" -eq 66 ]
	run ls_json imap:Trash
	[ "$(jq length <<<"$output")" -eq 2 ]
	run ls_json imap:INBOX
	[ "$(jq length <<<"$output")" -eq 1 ]
	# IMAP to a local Maildir: the copy is there, the server's is gone.
	mail -C "$CONF" ls imap:INBOX >/dev/null
	run mail -C "$CONF" mv --create -f imap:INBOX 1 "$HOME/Local"
	[ "$status" -eq 0 ]
	[ "$(maildir_count "$HOME/Local")" -eq 1 ]
	grep -q 'Subject: second' "$HOME"/Local/*/*
	run ls_json imap:INBOX
	[ "$(jq length <<<"$output")" -eq 0 ]
	# And back: local to IMAP, byte for byte, removed locally.
	cp "$HOME"/Local/*/* "$BATS_TEST_TMPDIR/orig"
	mail -C "$CONF" ls "$HOME/Local" >/dev/null
	run mail -C "$CONF" mv -f "$HOME/Local" 1 imap:INBOX
	[ "$status" -eq 0 ]
	[ "$(maildir_count "$HOME/Local")" -eq 0 ]
	run ls_json imap:INBOX
	[ "$(jq -r '.[0].subject' <<<"$output")" = second ]
	[ "$(jq -r '.[0].attachments' <<<"$output")" = 1 ]
	mail -C "$CONF" ls imap:INBOX >/dev/null
	mail -C "$CONF" read --raw imap:INBOX 1 >"$BATS_TEST_TMPDIR/back"
	cmp "$BATS_TEST_TMPDIR/orig" "$BATS_TEST_TMPDIR/back"
}

@test "imap rm: to the SPECIAL-USE \\Trash, and --expunge for good" {
	fill
	mail -C "$CONF" ls imap:INBOX >/dev/null
	run mail -C "$CONF" rm -f imap:INBOX 2
	[ "$status" -eq 0 ]
	run ls_json imap:Trash
	[ "$(jq -r '.[0].subject' <<<"$output")" = second ]
	run ls_json imap:INBOX
	[ "$(jq length <<<"$output")" -eq 2 ]
	[ "$(jq -r '.[1].subject' <<<"$output")" = third ]
	run mail -C "$CONF" -vv rm --expunge -f imap:INBOX 2
	[ "$status" -eq 0 ]
	[[ $output == *"UID EXPUNGE"* ]]
	run ls_json imap:INBOX
	[ "$(jq -r '.[].subject' <<<"$output")" = first ]
	run ls_json imap:Trash
	[ "$(jq length <<<"$output")" -eq 1 ]
}

@test "imap: a listing number after UIDVALIDITY changed is refused: the folder changed (66)" {
	fill
	mail -C "$CONF" ls imap:INBOX >/dev/null
	sleep 1.1
	# A new UIDVALIDITY, as after the server rebuilt its indexes.
	rm -f "$MD"/dovecot-uidlist "$MD"/dovecot.index*
	run --separate-stderr mail -C "$CONF" read --peek imap:INBOX 1
	[ "$status" -eq 66 ]
	[[ $stderr == *"folder changed"*"mail ls again"* ]]
	mail -C "$CONF" ls imap:INBOX >/dev/null
	run mail -C "$CONF" read --peek imap:INBOX 1
	[ "$status" -eq 0 ]
	[[ $output == *"Subject: "* ]]
}

# uids: the UIDs of the listing in $output, in order, on one line.
uids() { jq -r '[.[].uid] | join(" ")' <<<"$output"; }

# relist_changed: the fake server's folder listed twice, on two
# connections: UIDs 4, 6 and 8 first; then 6 expunged, 4 \Seen and a new
# UID 10 (subject "ten"), however the mode lets the cache find that out.
relist_changed() {
	run --separate-stderr ls_json imap:INBOX
	[ "$status" -eq 0 ]
	[ "$(uids)" = "4 6 8" ]
	run --separate-stderr ls_json imap:INBOX
	[ "$status" -eq 0 ]
	[ "$(uids)" = "4 8 10" ]
	[ "$(jq -r '.[0].flags | join(" ")' <<<"$output")" = "seen" ]
	[ "$(jq -r '.[2].subject' <<<"$output")" = ten ]
}

@test "imap ls (fake server): items in any order, EXPUNGE and FLAGS during the listing" {
	fake_folder_start odd
	run --separate-stderr ls_json imap:INBOX
	[ "$status" -eq 0 ]
	[ "$(jq length <<<"$output")" -eq 2 ]
	[ "$(uids)" = "4 8" ]
	[ "$(jq -r '[.[].subject] | join(",")' <<<"$output")" = "four,eight" ]
	[ "$(jq -r '.[0].flags | join(" ")' <<<"$output")" = "seen flagged" ]
	[ "$(jq -r '.[1].size' <<<"$output")" = 1234 ]
	[ "$(jq -r '.[1].attachments' <<<"$output")" = 1 ]
	[ "$(jq -r '.[1].from[0].name' <<<"$output")" = "Doe, J" ]
}

@test "imap rm --expunge without UIDPLUS: refused while another message is marked deleted" {
	fake_folder_start odd
	mail -C "$CONF" ls imap:INBOX >/dev/null
	run --separate-stderr mail -C "$CONF" rm --expunge -f imap:INBOX 1
	[ "$status" -eq 69 ]
	[[ $stderr == *UIDPLUS*"marked deleted"* ]]
	# No EXPUNGE went out.
	! grep -q ' EXPUNGE$' "$FAKE_LOG" || false
	grep -q 'UID STORE 4 +FLAGS.SILENT (\\Deleted)' "$FAKE_LOG"
}

@test "imap ls QUERY: run by the server (UID SEARCH), same messages as locally" {
	fill
	# The same three messages in a local Maildir.
	mkdir -p "$HOME/L/cur" "$HOME/L/new" "$HOME/L/tmp"
	for m in m1 m2 m3; do cp "$BATS_TEST_TMPDIR/$m" "$HOME/L/new/$m.x"; done
	subjects() { mail -C "$CONF" ls --json "$@" | jq -r '[.[].subject] | sort | join(",")'; }
	for q in 'from:jürgen' 'subject:second OR subject:third' 'NOT subject:first' \
		'body:report' 'has:attachment' 'larger:400' '( from:sender NOT body:third )'; do
		# shellcheck disable=SC2086
		server=$(subjects imap:INBOX $q)
		# shellcheck disable=SC2086
		local_=$(subjects "$HOME/L" $q)
		echo "$q: server '$server' local '$local_'"
		[ "$server" = "$local_" ]
		[ -n "$server" ]
	done
	run --separate-stderr mail -C "$CONF" -vv ls imap:INBOX body:report
	[ "$status" -eq 0 ]
	[[ $stderr == *"UID SEARCH "*"BODY"* ]]
	# The bodies were not fetched to match.
	[[ $stderr != *"BODY.PEEK[]"* ]]
	[[ $output == *second* ]]
	[[ $output != *third* ]]
}

@test "imap ls (fake server): a connection lost in the middle of the listing is tried once more on a new one" {
	fake_folder_start drop
	run --separate-stderr ls_json imap:INBOX
	[ "$status" -eq 0 ]
	[ "$(uids)" = "4 8" ]
	# Two logins: the first connection was lost, the second listed.
	[ "$(grep -c ' LOGIN ' "$FAKE_LOG")" -eq 2 ]
}

# tagged_after_login: the tagged commands of a -v trace (standard input)
# after LOGIN (or AUTHENTICATE), LOGOUT left out.
tagged_after_login() {
	awk '/^imap> [A-Za-z0-9]+ (LOGIN|AUTHENTICATE)/ { on = 1; next }
	     on && /^imap> [A-Za-z0-9]+ / && !/ LOGOUT/ { n++ }
	     END { print n + 0 }'
}

# Round trips after LOGIN (or AUTHENTICATE) in a -vv trace, LOGOUT left
# out: commands written together before the client reads again (the
# trace shows a line when it is written or read) are one round trip.
round_trips_after_login() {
	awk '/^imap> [A-Za-z0-9]+ (LOGIN|AUTHENTICATE)/ { on = 1; sent = 1; next }
	     !on { next }
	     /^imap> [A-Za-z0-9]+ / && / LOGOUT/ { exit }
	     /^imap> [A-Za-z0-9]+ / { if (!sent) n++; sent = 1; next }
	     /^imap< / { sent = 0 }
	     END { print n + 0 }'
}

@test "imap ls cache: a rerun on an unchanged folder costs fewer than 3 round trips after login, and lists the same" {
	fill
	run --separate-stderr ls_json imap:INBOX
	[ "$status" -eq 0 ]
	first=$output
	ls "$XDG_CACHE_HOME"/mail/imap/test/INBOX.cache
	run --separate-stderr mail -C "$CONF" -vv ls --json imap:INBOX
	[ "$status" -eq 0 ]
	[ "$output" = "$first" ]
	n=$(tagged_after_login <<<"$stderr")
	grep '^imap[<>] ' <<<"$stderr" || true
	# COMPRESS, then ENABLE QRESYNC pipelined with the SELECT
	[ "$n" -le 3 ]
	[ "$(round_trips_after_login <<<"$stderr")" -lt 3 ]
	[[ $stderr == *"ENABLE QRESYNC"* ]]
	grep -Eq '^imap> [A-Za-z0-9]+ (SELECT|EXAMINE) "INBOX" \(QRESYNC \(' <<<"$stderr"
	# No envelope was fetched again, nothing after the SELECT.
	[[ $stderr != *ENVELOPE* ]]
	[[ $stderr != *"UID FETCH"* ]]
	[[ $stderr != *"UID SEARCH"* ]]
}

@test "imap ls cache: flags changed and a message expunged by another client are seen, by QRESYNC in the SELECT, without a fetch" {
	fill
	ls_json imap:INBOX >/dev/null
	# Another client: the same account with its own cache.
	other() { XDG_CACHE_HOME=$BATS_TEST_TMPDIR/other XDG_STATE_HOME=$BATS_TEST_TMPDIR/ostate mail -C "$CONF" "$@"; }
	other ls imap:INBOX >/dev/null
	other flag -f imap:INBOX 3 +flagged +seen
	other rm --expunge -f imap:INBOX 1
	# and doveadm, a client of its own: \Answered on the second
	doveadm -c "$(dovecot_conf)" flags add -u "$MAIL_TEST_USER1" '\Answered' \
		mailbox INBOX uid 2 3>&- 9>&-
	run --separate-stderr mail -C "$CONF" -vv ls --json imap:INBOX
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.[].subject] | join(",")' <<<"$output")" = "second,third" ]
	[ "$(jq -r '.[1].flags | join(" ")' <<<"$output")" = "seen flagged" ]
	[ "$(jq -r '.[0].flags | join(" ")' <<<"$output")" = "answered" ]
	grep '^imap[<>] ' <<<"$stderr" || true
	# the SELECT carried QRESYNC and brought VANISHED (EARLIER) and the
	# changed flags: no CHANGEDSINCE fetch, no search, no flag refresh
	[[ $stderr == *"ENABLE QRESYNC"* ]]
	grep -Eq '^imap> [A-Za-z0-9]+ (SELECT|EXAMINE) "INBOX" \(QRESYNC \([0-9]+ [0-9]+ 1:3\)\)$' <<<"$stderr"
	grep -q '^imap< \* VANISHED (EARLIER) 1$' <<<"$stderr"
	[[ $stderr != *"CHANGEDSINCE"* ]]
	[[ $stderr != *"UID SEARCH"* ]]
	[[ $stderr != *"UID FETCH"* ]]
	# and the cache now holds that: a rerun agrees without fetching
	run --separate-stderr mail -C "$CONF" -vv ls --json imap:INBOX
	[ "$(jq -r '[.[].subject] | join(",")' <<<"$output")" = "second,third" ]
	[[ $stderr != *ENVELOPE* ]]
}

@test "imap ls cache: a new UIDVALIDITY drops the cache and lists everything again" {
	fill
	ls_json imap:INBOX >/dev/null
	old=$(ls_json imap:INBOX | jq -r '.[0].uid')
	sleep 1.1
	rm -f "$MD"/dovecot-uidlist "$MD"/dovecot.index*
	run --separate-stderr mail -C "$CONF" -vv ls --json imap:INBOX
	[ "$status" -eq 0 ]
	[ "$(jq length <<<"$output")" -eq 3 ]
	[[ $stderr == *"UID FETCH 1:* (UID FLAGS INTERNALDATE"* ]]
	[[ $stderr != *CHANGEDSINCE* ]]
	# every number works with the new keys
	run mail -C "$CONF" read --peek imap:INBOX 3
	[ "$status" -eq 0 ]
	[[ $output == *"Subject: "* ]]
	[ -n "$old" ]
}

@test "imap ls cache (fake server, no CONDSTORE): new messages by UID range, flags and expunges by one flag refresh" {
	fake_folder_start resync
	relist_changed
	# the second connection: one flag refresh and the new range only
	grep -q '^2 [^ ]* UID FETCH 1:8 (UID FLAGS)$' "$FAKE_LOG"
	grep -q '^2 [^ ]* UID FETCH 9:\* (UID FLAGS INTERNALDATE' "$FAKE_LOG"
	! grep -q '^2 [^ ]* UID FETCH 1:\* ' "$FAKE_LOG" || false
}

@test "imap ls cache (fake server): VANISHED and a FETCH of flags without UID during the resync" {
	fake_folder_start unsolicited
	ls_json imap:INBOX >/dev/null
	run --separate-stderr ls_json imap:INBOX
	[ "$status" -eq 0 ]
	[ "$(uids)" = "4 8" ]
	[ "$(jq -r '.[1].flags | join(" ")' <<<"$output")" = "flagged" ]
	# the flags without a UID made it refresh once more
	[ "$(grep -c '^2 [^ ]* UID FETCH 1:[0-9]* (UID FLAGS)$' "$FAKE_LOG")" -ge 2 ]
}

@test "imap ls cache (fake server, CONDSTORE without QRESYNC): CHANGEDSINCE and a UID SEARCH, no ENABLE QRESYNC" {
	fake_folder_start condstore
	relist_changed
	cat "$FAKE_LOG"
	grep -Eq '^2 [^ ]+ (SELECT|EXAMINE) "INBOX" \(CONDSTORE\)$' "$FAKE_LOG"
	grep -q '^2 [^ ]* UID FETCH 1:8 (UID FLAGS) (CHANGEDSINCE 10)$' "$FAKE_LOG"
	grep -q '^2 [^ ]* UID SEARCH UID 1:8$' "$FAKE_LOG"
	grep -q '^2 [^ ]* UID FETCH 9:\* (UID FLAGS INTERNALDATE' "$FAKE_LOG"
	! grep -q 'QRESYNC' "$FAKE_LOG" || false
	! grep -q '^2 [^ ]* UID FETCH 1:8 (UID FLAGS)$' "$FAKE_LOG" || false
}

@test "imap ls cache (fake server, QRESYNC): VANISHED (EARLIER) with ranges and a 170 KB set in the SELECT, nothing asked but the new range" {
	fake_folder_start qresync
	relist_changed
	cat "$FAKE_LOG"
	grep -q '^2 [^ ]* ENABLE QRESYNC$' "$FAKE_LOG"
	grep -Eq '^2 [^ ]+ (SELECT|EXAMINE) "INBOX" \(QRESYNC \(77 10 1:8\)\)$' "$FAKE_LOG"
	grep -q '^2 [^ ]* UID FETCH 9:\* (UID FLAGS INTERNALDATE' "$FAKE_LOG"
	[ "$(grep -c '^2 [^ ]* UID ' "$FAKE_LOG")" -eq 1 ]
	# the cache holds it: a third run asks nothing after the SELECT
	run --separate-stderr ls_json imap:INBOX
	[ "$(uids)" = "4 8 10" ]
	! grep -q '^3 [^ ]* UID ' "$FAKE_LOG" || false
}

@test "imap ls QUERY: ESEARCH (RETURN (ALL), ranges) where offered, plain SEARCH otherwise" {
	fill
	run --separate-stderr mail -C "$CONF" -vv ls --json imap:INBOX subject:second OR subject:third
	[ "$status" -eq 0 ]
	# Dovecot offers ESEARCH: the hits come back as a sequence set
	[[ $stderr == *"UID SEARCH RETURN (ALL) "* ]]
	[[ $stderr == *"ESEARCH (TAG "* ]]
	[ "$(jq -r '[.[].subject] | join(",")' <<<"$output")" = "second,third" ]
	run --separate-stderr mail -C "$CONF" ls --json imap:INBOX subject:nothing-matches
	[ "$status" -eq 0 ]
	[ "$(jq length <<<"$output")" -eq 0 ]
	# The fake server has no ESEARCH: UID SEARCH and "* SEARCH 4 9".
	fake_folder_start odd
	run --separate-stderr ls_json imap:INBOX subject:four
	[ "$status" -eq 0 ]
	[ "$(uids)" = 4 ]
	grep -q ' UID SEARCH SUBJECT' "$FAKE_LOG"
	! grep -q 'RETURN' "$FAKE_LOG" || false
}

@test "imap ls --thread: References from the listing, so threads match the local folder's" {
	local t=$BATS_TEST_TMPDIR
	mkdir -p "$HOME/L/cur" "$HOME/L/new" "$HOME/L/tmp"
	tmsg() {   # name date msgid refs subject
		{
			echo "From: $1 <$1@example.org>"
			echo "Subject: $5"
			echo "Date: $2"
			echo "Message-ID: <$3@example.org>"
			[ -n "$4" ] && echo "References: $4"
			echo
			echo "body"
		} >"$t/$1"
		cp "$t/$1" "$HOME/L/new/$1.x"
		maildir_add "$MD" "$t/$1" >/dev/null
	}
	# No In-Reply-To anywhere: only References tells the parents.
	tmsg ann "Tue, 14 Nov 2023 10:00:00 +0000" a "" "Plan"
	tmsg bob "Tue, 14 Nov 2023 11:00:00 +0000" x "" "Other topic"
	tmsg cat "Tue, 14 Nov 2023 12:00:00 +0000" b "<a@example.org>" "Re: Plan"
	tmsg dan "Tue, 14 Nov 2023 13:00:00 +0000" c "<a@example.org>
 <b@example.org>" "Re: Re: Plan"
	tmsg eve "Tue, 14 Nov 2023 14:00:00 +0000" d "<a@example.org>" "Re: Plan (2)"
	run --separate-stderr mail -C "$CONF" -vv ls --thread -F '%s' imap:INBOX
	[ "$status" -eq 0 ]
	[[ $stderr == *"BODY.PEEK[HEADER.FIELDS (REFERENCES)]"* ]]
	remote=$output
	run mail -C "$CONF" ls --thread -F '%s' "$HOME/L"
	[ "$status" -eq 0 ]
	echo "remote:"; echo "$remote"; echo "local:"; echo "$output"
	[ "$remote" = "$output" ]
	[ "${lines[2]}" = "  └─Re: Re: Plan" ]
	# and from the cache, the same
	run mail -C "$CONF" ls --thread -F '%s' imap:INBOX
	[ "$output" = "$remote" ]
}

@test "imap mv: COPYUID puts the moved message into the destination's cache, so its listing fetches no envelope" {
	fill
	ls_json imap:INBOX >/dev/null
	ls_json imap:Trash >/dev/null
	run mail -C "$CONF" -vv mv -f imap:INBOX 1 imap:Trash
	[ "$status" -eq 0 ]
	[[ $output == *"COPYUID"* ]]
	run --separate-stderr mail -C "$CONF" -vv ls --json imap:Trash
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.[].subject] | join(",")' <<<"$output")" = first ]
	[[ $stderr != *ENVELOPE* ]]
	run mail -C "$CONF" read --peek imap:Trash 1
	[ "$status" -eq 0 ]
	[[ $output == *"Subject: first"* ]]
}

# other_ls ARGS: mail ls with a cache and state of its own (a fresh
# listing from the server, to compare with one from the cache).
other_ls() { XDG_CACHE_HOME=$BATS_TEST_TMPDIR/other XDG_STATE_HOME=$BATS_TEST_TMPDIR/ostate mail -C "$CONF" ls "$@"; }

@test "imap mv local to IMAP: APPENDUID puts the message into the destination's cache, so its listing fetches no envelope" {
	fill
	ls_json imap:INBOX >/dev/null
	ls_json imap:Trash >/dev/null
	mkdir -p "$HOME/Local/cur" "$HOME/Local/new" "$HOME/Local/tmp"
	att "$HOME/Local/new/1.x" appended
	# a bare-LF message: RFC822.SIZE counts CRLF
	run mail -C "$CONF" ls "$HOME/Local"
	run mail -C "$CONF" -vv mv -f "$HOME/Local" 1 imap:Trash
	[ "$status" -eq 0 ]
	[[ $output == *"APPENDUID"* ]]
	run --separate-stderr mail -C "$CONF" -vv ls --json imap:Trash
	[ "$status" -eq 0 ]
	cached=$output
	[ "$(jq -r '[.[].subject] | join(",")' <<<"$cached")" = appended ]
	[[ $stderr != *ENVELOPE* ]]
	[[ $stderr != *"UID FETCH"* ]]
	# what the server would have said: the same envelope
	run --separate-stderr other_ls --json imap:Trash
	[ "$status" -eq 0 ]
	[[ -n $output ]]
	diff <(jq -S . <<<"$cached") <(jq -S . <<<"$output")
	run mail -C "$CONF" read --peek imap:Trash 1
	[ "$status" -eq 0 ]
	[[ $output == *"Subject: appended"* ]]
}

@test "sent copy: APPENDUID puts the copy into the Sent folder's cache, so mail ls imap:Sent fetches no envelope" {
	write_config "$CONF" pop3= "sent-folder=imap:Sent"
	run --separate-stderr ls_json imap:Sent
	[ "$status" -eq 0 ]
	before=$(jq length <<<"$output")
	printf 'body of the copy\n' | mail -C "$CONF" send -s "filed copy" "$MAIL_TEST_ADDR2"
	run --separate-stderr mail -C "$CONF" -vv ls --json imap:Sent
	[ "$status" -eq 0 ]
	cached=$output
	[ "$(jq length <<<"$cached")" -eq $((before + 1)) ]
	[ "$(jq -r '.[-1].subject' <<<"$cached")" = "filed copy" ]
	[ "$(jq -r '.[-1].flags | join(" ")' <<<"$cached")" = seen ]
	[[ $stderr != *ENVELOPE* ]]
	[[ $stderr != *"UID FETCH"* ]]
	run --separate-stderr other_ls --json imap:Sent
	[ "$status" -eq 0 ]
	diff <(jq -S . <<<"$cached") <(jq -S . <<<"$output")
}

@test "imap: listing numbers are kept per account: imap:INBOX of one never takes another's" {
	printf '%s\n' "$MAIL_TEST_PASS2" >"$BATS_TEST_TMPDIR/bob.pass"
	cat >>"$CONF" <<-CFG
	[account "bob"]
	    address = Bob <$MAIL_TEST_ADDR2>
	    imap = imaps://localhost:$MAIL_TEST_IMAPS_PORT
	    smtp = smtp://localhost:$MAIL_TEST_SUBMISSION_PORT
	    user = $MAIL_TEST_USER2
	    password-command = cat $BATS_TEST_TMPDIR/bob.pass
	    tls-ca-file = $MAIL_TEST_CA
	    store = $HOME/Mail/bob
	CFG
	msg "$BATS_TEST_TMPDIR/a.eml" "for alice"
	msg "$BATS_TEST_TMPDIR/b.eml" "for bob"
	maildir_add "$MAIL_TEST_MAILDIR1" "$BATS_TEST_TMPDIR/a.eml" >/dev/null
	maildir_add "$MAIL_TEST_MAILDIR2" "$BATS_TEST_TMPDIR/b.eml" >/dev/null
	run mail -C "$CONF" -a test ls imap:INBOX
	[ "$status" -eq 0 ]
	[[ $output == *"for alice"* ]]
	# bob has listed nothing yet: alice's numbers are not his.
	run mail -C "$CONF" -a bob read --peek imap:INBOX 1
	[ "$status" -ne 0 ]
	[[ $output != *"for alice"* ]]
	run mail -C "$CONF" -a bob ls imap:INBOX
	[[ $output == *"for bob"* ]]
	run mail -C "$CONF" -a bob read --peek imap:INBOX 1
	[ "$status" -eq 0 ]
	[[ $output == *"body of for bob"* ]]
	# bob's listing left alice's alone.
	run mail -C "$CONF" -a test read --peek imap:INBOX 1
	[ "$status" -eq 0 ]
	[[ $output == *"body of for alice"* ]]
}

@test "imap ls and read (fake server, wire): literals in every string, NIL fields, groups, control bytes, a 5 GB size, a space-padded INTERNALDATE" {
	fake_folder_start wire
	run --separate-stderr ls_json imap:INBOX
	[ "$status" -eq 0 ]
	[ "$(uids)" = "11 12 13 14" ]
	# literals everywhere (ENVELOPE of UID 11), 8-bit subject and name
	[ "$(jq -r '.[0].from[0].address' <<<"$output")" = rene@example.test ]
	[ "$(jq -r '.[0].message_id' <<<"$output")" = "<eleven@x>" ]
	[ "$(jq -r '.[0].size' <<<"$output")" = 5000000000 ]
	[ "$(jq -r '.[0].date' <<<"$output")" = 2026-12-05T10:00:00+00:00 ]
	[[ $(jq -r '.[0].subject' <<<"$output") == "café "* ]]
	# keywords and \Recent are no flag words
	[ "$(jq -c '[.[].flags]' <<<"$output")" = '[["seen"],[],[],["flagged"]]' ]
	# every nullable ENVELOPE field NIL
	[ "$(jq -c '.[1] | [.from, .to, .cc, .subject, .message_id, .date]' <<<"$output")" = '[null,null,null,null,null,null]' ]
	# group syntax: its members, the empty group none
	[ "$(jq -r '[.[2].to[].address] | join(" ")' <<<"$output")" = "a@x.test b@x.test" ]
	[[ $(jq -r '.[2].from[0].name' <<<"$output") == "Jürgen "* ]]
	# attachments from the BODYSTRUCTURE shapes: extension data full,
	# absent, partial; a message/rfc822 with its own attachment
	[ "$(jq -c '[.[].attachments]' <<<"$output")" = '[0,0,2,2]' ]
	# the JSON escapes control bytes
	! grep -q $'[\x01-\x08\x0b-\x1f\x7f]' <<<"$output" || false
	run --separate-stderr mail -C "$CONF" ls imap:INBOX
	[ "$status" -eq 0 ]
	# no raw control byte reaches the terminal; the space-padded
	# INTERNALDATE " 5-Dec-2026 23:00:00 -0130" of UID 12 is its date
	! grep -q $'[\x01-\x08\x0b-\x1f\x7f]' <<<"$output" || false
	[[ ${lines[1]} == *"(nobody)"*"(no subject)"* ]]
	[ "$(TZ=UTC mail -C "$CONF" ls -F '%n %S' imap:INBOX | sed -n 1p)" = "1 5000000000" ]
	# read: the parts from a nested BODYSTRUCTURE (answered in reverse
	# order, flags of another message in between)
	run --separate-stderr mail -C "$CONF" read --peek --json imap:INBOX 3
	[ "$status" -eq 0 ]
	[ "$(jq -r '.[0].text' <<<"$output")" = "outer text" ]
	[ "$(jq -r '[.[0].parts[].part] | join(" ")' <<<"$output")" = "1 2 2.1 2.2" ]
	[ "$(jq -r '.[0].parts[3].filename' <<<"$output")" = in.pdf ]
	grep -q 'UID FETCH 13 (BODY.PEEK\[1\])$' "$FAKE_LOG"
	run --separate-stderr mail -C "$CONF" read --peek imap:INBOX 1
	[ "$status" -eq 0 ]
	[[ $output == *"eleven body"* ]]
	! grep -q $'[\x01-\x08\x0b-\x1f\x7f]' <<<"$output" || false
}

@test "imap mv without MOVE or UIDPLUS (fake server): UID COPY, then \\Deleted and EXPUNGE when no other message is marked deleted" {
	fake_folder_start wire
	ls_json imap:INBOX >/dev/null
	run --separate-stderr mail -C "$CONF" mv -f imap:INBOX 2 imap:Archive
	echo "$stderr"
	[ "$status" -eq 0 ]
	# the copy first, then the mark, a check for others, the EXPUNGE
	grep -o 'UID SEARCH DELETED\|UID COPY 12 "Archive"\|UID STORE 12 +FLAGS.SILENT (\\Deleted)\|EXPUNGE$' "$FAKE_LOG" >"$BATS_TEST_TMPDIR/seq"
	[ "$(tr '\n' ',' <"$BATS_TEST_TMPDIR/seq")" = 'UID SEARCH DELETED,UID COPY 12 "Archive",UID STORE 12 +FLAGS.SILENT (\Deleted),UID SEARCH DELETED,EXPUNGE,' ]
	run --separate-stderr ls_json imap:INBOX
	[ "$(uids)" = "11 13 14" ]
}

@test "imap mv without MOVE or UIDPLUS (fake server): refused with nothing copied or marked while another message is marked deleted" {
	fake_folder_start odd
	ls_json imap:INBOX >/dev/null
	run --separate-stderr mail -C "$CONF" mv -f imap:INBOX 1 imap:Archive
	[ "$status" -eq 69 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"neither MOVE nor UIDPLUS"*"marked deleted"*"nothing was moved"* ]]
	! grep -q 'UID COPY\|UID STORE\| EXPUNGE$' "$FAKE_LOG" || false
}

@test "imap folders --remote (fake server, no LIST-STATUS, no SPECIAL-USE): STATUS per folder; odd names and delimiters listed terminal-safe and opened" {
	fake_folder_start wire
	run --separate-stderr mail -C "$CONF" folders --remote
	[ "$status" -eq 0 ]
	# one STATUS per folder, no LIST-STATUS, no RETURN (SPECIAL-USE)
	grep -q ' LIST "" "\*"$' "$FAKE_LOG"
	[ "$(grep -c ' STATUS ' "$FAKE_LOG")" -eq 10 ]
	! grep -q 'RETURN' "$FAKE_LOG" || false
	! grep -q $'[\x01-\x08\x0b-\x1f\x7f]' <<<"$output" || false
	[[ $output == *'quo"te\back '* ]]
	[[ $output == *'Entwürfe '* ]]
	[[ $output == *'ctl\x07bel '* ]]
	run --separate-stderr mail -C "$CONF" folders --remote --json
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.[].name] | join("|")' <<<"$output")" = 'INBOX|Lists.dev|Flat|Lit Name|quo"te\back|star*pct%|Entwürfe|'$'\e''[31mesc|ctl\x07bel|../../escape' ]
	# each name as folders --remote shows it opens the server's folder,
	# in a new session too (ctl\x07bel: the server's bytes are not
	# modified UTF-7, so a LIST finds them and the SELECT sends them)
	for n in Lists.dev Flat 'Lit Name' 'quo"te\back' 'star*pct%' Entwürfe $'\e[31mesc' 'ctl\x07bel' ../../escape; do
		run --separate-stderr mail -C "$CONF" ls "imap:$n"
		echo "$n: $status $stderr"
		[ "$status" -eq 0 ]
	done
	grep -q $' EXAMINE {7+}\r$' "$FAKE_LOG"
	grep -q 'EXAMINE "Entw&APw-rfe"' "$FAKE_LOG"
	grep -q 'EXAMINE "quo\\"te\\\\back"' "$FAKE_LOG"
	# the listing caches stay inside the cache directory
	[ -z "$(find "$HOME" -name '*escape*' ! -path "$XDG_CACHE_HOME/mail/imap/*" ! -path "$BATS_TEST_TMPDIR/fake-*")" ]
	# a name the server does not have: 66, one line
	run --separate-stderr mail -C "$CONF" ls 'imap:No\x07such'
	[ "$status" -eq 66 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
}

@test "imap rm (fake server, no SPECIAL-USE): 69 naming trash-folder; with trash-folder = imap:NAME, COPY there and EXPUNGE (no MOVE, no UIDPLUS)" {
	fake_folder_start wire
	ls_json imap:INBOX >/dev/null
	run --separate-stderr mail -C "$CONF" rm -f imap:INBOX 1
	[ "$status" -eq 69 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"no trash folder (SPECIAL-USE \\Trash): set 'trash-folder = imap:NAME'"* ]]
	! grep -q 'UID COPY\|UID STORE' "$FAKE_LOG" || false
	write_config "$CONF" pop3= smtp= "imap=imap://127.0.0.1:$FAKE_PORT" \
		tls=none-i-know tls-ca-file= user=u "password-command=echo secret" \
		trash-folder=imap:Flat
	run --separate-stderr mail -C "$CONF" rm -f imap:INBOX 1
	echo "$stderr"
	[ "$status" -eq 0 ]
	grep -q 'UID COPY 11 "Flat"$' "$FAKE_LOG"
	grep -q ' EXPUNGE$' "$FAKE_LOG"
	run --separate-stderr ls_json imap:INBOX
	[ "$(uids)" = "12 13 14" ]
}

@test "imap (fake server, wiredrop): a connection lost in UID STORE or EXPUNGE is tried once more; in UID COPY or APPEND it is one line, exit 69, nothing lost and nothing sent twice" {
	fake_folder_start wiredrop
	ls_json imap:INBOX >/dev/null
	# flag: the first UID STORE is cut, the second (new login) is answered
	run --separate-stderr mail -C "$CONF" flag -f imap:INBOX 2 +flagged
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'UID STORE 12 +FLAGS.SILENT (\\Flagged)$' "$FAKE_LOG")" -eq 2 ]
	# rm --expunge: the first EXPUNGE is cut; mark, check, EXPUNGE again
	run --separate-stderr mail -C "$CONF" rm --expunge -f imap:INBOX 1
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(grep -c ' EXPUNGE$' "$FAKE_LOG")" -eq 2 ]
	run --separate-stderr ls_json imap:INBOX
	[ "$(uids)" = "12 13 14" ]
	[ "$(jq -c '.[0].flags' <<<"$output")" = '["flagged"]' ]
	# mv without MOVE: a UID COPY cut may have copied; not sent again
	run --separate-stderr mail -C "$CONF" mv -f imap:INBOX 1 imap:Flat
	[ "$status" -eq 69 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"UID COPY: connection closed by the server"* ]]
	[ "$(grep -c 'UID COPY' "$FAKE_LOG")" -eq 1 ]
	run --separate-stderr ls_json imap:INBOX
	[ "$(uids)" = "12 13 14" ]
	# mv local to IMAP: the APPEND cut; the local message stays, no retry
	mkdir -p "$HOME/L/cur" "$HOME/L/new" "$HOME/L/tmp"
	msg "$HOME/L/new/1700000000.1.x" local
	mail -C "$CONF" ls "$HOME/L" >/dev/null
	run --separate-stderr mail -C "$CONF" mv -f "$HOME/L" 1 imap:INBOX
	[ "$status" -eq 69 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"APPEND INBOX: connection closed by the server"* ]]
	[ "$(grep -c ' APPEND ' "$FAKE_LOG")" -eq 1 ]
	[ -f "$HOME/L/new/1700000000.1.x" ] || [ -n "$(ls "$HOME/L/cur")" ]
	run mail -C "$CONF" ls "$HOME/L"
	[[ $output == *local* ]]
}

@test "imap mv (fake server, wiremove): a connection lost before UID MOVE's OK is tried once more; what the first moved stays moved once" {
	fake_folder_start wiremove
	ls_json imap:INBOX >/dev/null
	run --separate-stderr mail -C "$CONF" mv -f imap:INBOX 2-3 imap:Flat
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'UID MOVE 12:13 "Flat"$' "$FAKE_LOG")" -eq 2 ]
	[ "$(grep -c ' moved UID ' "$FAKE_LOG")" -eq 2 ]
	! grep -q 'UID COPY' "$FAKE_LOG" || false
	run --separate-stderr ls_json imap:INBOX
	[ "$(uids)" = "11 14" ]
}
