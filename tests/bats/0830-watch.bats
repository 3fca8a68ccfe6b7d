#!/usr/bin/env bats
# mail watch (issue 10): new mail reported as it arrives, against the
# harness's Dovecot (IDLE), across a Dovecot restart, and against
# tests/servers/fake-imap-idle for what Dovecot will not do on demand (a
# server without IDLE, an untagged BYE in the middle of an IDLE).

load helpers
bats_require_minimum_version 1.5.0

setup_file() { servers_start; }
teardown_file() { servers_stop; }

setup() {
	watch_setup
	WPID=
}

teardown() {
	if [[ -n $WPID ]] && kill -0 "$WPID" 2>/dev/null; then
		kill -KILL "$WPID" 2>/dev/null || true
		wait "$WPID" 2>/dev/null || true
	fi
	fake_stop
	# A test that stopped Dovecot starts it again.
	dovecot_up
}

# msg FILE SUBJECT [FROM]: a small message.
msg() {
	printf 'From: %s\nTo: alice@example.test\nSubject: %s\nMessage-ID: <%s.%s@example.test>\nDate: Mon, 1 Dec 2025 10:00:00 +0000\n\nbody\n' \
		"${3:-Sender <s@example.test>}" "$2" "$RANDOM" "$RANDOM" >"$1"
}

# deliver SUBJECT [FOLDER] [FROM]: a new message in alice's mailbox,
# saved through Dovecot (dovecot_save: what its NOTIFY hears).
deliver() {
	local f
	f=$(mktemp "$BATS_TEST_TMPDIR/m.XXXXXX")
	msg "$f" "$1" "${3:-}"
	dovecot_save "$f" "${2:-}"
}

# deliver_direct SUBJECT [FOLDER]: the message file dropped into the
# Maildir (while Dovecot is down).
deliver_direct() {
	local f
	f=$(mktemp "$BATS_TEST_TMPDIR/m.XXXXXX")
	msg "$f" "$1" "${3:-}"
	maildir_add "$MD" "$f" "${2:-}" >/dev/null
}

# watch_start ARGS...: mail -v watch in the background, until it is
# watching.
# (-v: the "watching" line is printed on a terminal or with -v only.)
watch_start() {
	# Emptied here, not only by the redirection: that happens in the
	# child, and until it does, a second watch of the same test would
	# find the first one's "watching" line.
	: >"$ERR"
	"$MAIL" -C "$CONF" -v watch "$@" >"$OUT" 2>"$ERR" 3>&- &
	WPID=$!
	wait_for "$ERR" '^mail: watching' 10
}

# watch_stop: SIGTERM; the exit status in WSTATUS (not 0: the end of
# stderr is shown, where a sanitizer's report would be).
watch_stop() {
	# (A watch that is gone already is no reason to skip that.)
	kill -TERM "$WPID" 2>/dev/null || true
	WSTATUS=0
	wait "$WPID" || WSTATUS=$?
	WPID=
	((WSTATUS == 0)) || { echo "exit $WSTATUS; stderr ends:" >&2; tail -n 30 "$ERR" >&2; }
}

count() { grep -cE -- "$2" "$1" || true; }

# fake_watch_start MODE HOW: a fresh tests/servers/fake-imap-idle MODE
# (fake_idle_start) and `mail -v watch` of its INBOX in the background,
# until it says it is watching 1 folder HOW (a regular expression) and
# its first connection has sent IDLE; OUT and ERR emptied first.
fake_watch_start() {
	fake_stop
	fake_idle_start "$1"
	: >"$OUT"
	: >"$ERR"       # (as in watch_start)
	"$MAIL" -C "$CONF" -v watch >"$OUT" 2>"$ERR" 3>&- &
	WPID=$!
	wait_for "$ERR" "^mail: watching 1 folder $2" 10
	wait_for "$FAKE_BASE.log" '^1 A[0-9]+ IDLE$' 3
}

@test "watch: INBOX and another folder at once, each new message within 2 s and once" {
	deliver old-one
	deliver old-work Work
	watch_start imap:INBOX Work
	# Dovecot offers NOTIFY (RFC 5465): both folders on one connection.
	grep -q 'watching 2 folders (NOTIFY, one connection)' "$ERR"
	deliver fresh-inbox
	wait_for "$OUT" '^imap:INBOX  uid:[0-9]+  Sender  fresh-inbox$' 2
	deliver fresh-work Work '=?utf-8?q?J=C3=BCrgen?= <j@example.test>'
	wait_for "$OUT" '^imap:Work  uid:[0-9]+  Jürgen  fresh-work$' 2
	deliver second-inbox
	wait_for "$OUT" 'second-inbox' 2
	sleep 1.5
	[ "$(count "$OUT" fresh-inbox)" -eq 1 ]
	[ "$(count "$OUT" fresh-work)" -eq 1 ]
	[ "$(count "$OUT" second-inbox)" -eq 1 ]
	# What was there before the start is not new.
	! grep -q old- "$OUT" || false
	[ "$(wc -l <"$OUT")" -eq 3 ]
	watch_stop
	[ "$WSTATUS" -eq 0 ]
}

@test "watch: SIGTERM and SIGINT end it with 0 after a LOGOUT; -q is silent" {
	"$MAIL" -C "$CONF" -v watch >"$OUT" 2>"$ERR" 3>&- &
	WPID=$!
	wait_for "$ERR" '^mail: watching 1 folder' 10
	wait_for "$ERR" 'imap< \+ idling' 5
	watch_stop
	[ "$WSTATUS" -eq 0 ]
	grep -q 'imap> DONE' "$ERR"
	grep -qE 'imap> A[0-9]+ LOGOUT' "$ERR"
	! grep -q "$MAIL_TEST_PASS1" "$ERR" || false
	mark=$(dovecot_mark)
	"$MAIL" -C "$CONF" -q watch INBOX >"$OUT" 2>"$ERR" 3>&- &
	WPID=$!
	# Quiet, so Dovecot's log says when it has logged in (a fixed 1.5 s
	# could end a sanitizer build on a loaded machine before it even
	# got there); a moment more for the watch to begin.
	for ((i = 0; i < 200; i++)); do
		tail -n +"$((mark + 1))" "$MAIL_TEST_DOVECOT_LOG" | grep -q 'imap-login: .*Login: user=<alice>' && break
		sleep 0.05
	done
	tail -n +"$((mark + 1))" "$MAIL_TEST_DOVECOT_LOG" | grep -q 'imap-login: .*Login: user=<alice>'
	sleep 0.5
	kill -INT "$WPID"
	WSTATUS=0
	wait "$WPID" || WSTATUS=$?
	WPID=
	[ "$WSTATUS" -eq 0 ]
	[ ! -s "$ERR" ]
	[ ! -s "$OUT" ]
}

@test "watch --json: one object a line that jq parses" {
	watch_start --json
	deliver 'json "quoted" one'
	wait_for "$OUT" 'json' 3
	deliver 'json two' '' '"Doe, Jane" <jane@example.test>'
	wait_for "$OUT" 'json two' 3
	[ "$(wc -l <"$OUT")" -eq 2 ]
	run jq -r '[.folder, (.uid|tostring), .from[0].address, .subject] | join("|")' "$OUT"
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^imap:INBOX\|[0-9]+\|s@example.test\|json\ \"quoted\"\ one$ ]]
	[[ ${lines[1]} =~ ^imap:INBOX\|[0-9]+\|jane@example.test\|json\ two$ ]]
	[ "$(sed -n 2p "$OUT" | jq -r '.from[0].name')" = "Doe, Jane" ]
	[ "$(sed -n 1p "$OUT" | jq -r .date)" = 2025-12-01T10:00:00+00:00 ]
	watch_stop
	[ "$WSTATUS" -eq 0 ]
}

@test "watch --exec: the details in the environment, never in the shell's text" {
	cd "$BATS_TEST_TMPDIR"
	watch_start --exec 'printf "%s|%s|%s|%s\n" "$MAIL_FOLDER" "$MAIL_UID" "$MAIL_FROM" "$MAIL_SUBJECT" >>exec.log'
	deliver 'hello $(touch pwned) `touch pwned2`'
	wait_for "$BATS_TEST_TMPDIR/exec.log" 'hello' 3
	run cat exec.log
	[[ $output =~ ^imap:INBOX\|[0-9]+\|Sender\ \<s@example.test\>\|hello\ \$\(touch\ pwned\)\ \`touch\ pwned2\`$ ]]
	[ ! -e pwned ] && [ ! -e pwned2 ]
	# The uid in the environment is the one printed.
	uid=$(cut -d'|' -f2 exec.log)
	grep -q "uid:$uid  " "$OUT"
	watch_stop
	[ "$WSTATUS" -eq 0 ]
}

@test "watch: across a Dovecot restart, what came meanwhile is reported once" {
	watch_start
	deliver before-restart
	wait_for "$OUT" before-restart 2
	dovecot_down
	deliver_direct during-restart
	# On a loaded machine (CI runs two suites at once, one under ASan) the
	# connection can end well after the port closed: once, 10 s was not
	# enough.  What matters is that it comes and nothing is lost.
	wait_for "$ERR" 'connecting again in' 60
	dovecot_up
	wait_for "$OUT" during-restart 60
	deliver after-restart
	wait_for "$OUT" after-restart 5
	sleep 1
	[ "$(count "$OUT" before-restart)" -eq 1 ]
	[ "$(count "$OUT" during-restart)" -eq 1 ]
	[ "$(count "$OUT" after-restart)" -eq 1 ]
	watch_stop
	[ "$WSTATUS" -eq 0 ]
}

@test "watch: a missing folder is 66, a refused password 77, a local folder 64" {
	run --separate-stderr mail -C "$CONF" watch imap:NoSuchFolder
	[ "$status" -eq 66 ]
	[[ $stderr == *NoSuchFolder* ]]
	printf 'wrong-password\n' >"$BATS_TEST_TMPDIR/alice.pass"
	run --separate-stderr mail -C "$CONF" watch
	[ "$status" -eq 77 ]
	[[ $stderr != *wrong-password* ]]
	run --separate-stderr mail -C "$CONF" watch =Local
	[ "$status" -eq 64 ]
}

@test "watch (fake server without IDLE): STATUS polls every --interval, each message once" {
	fake_idle_start noidle
	watch_start --interval 1
	grep -q 'watching 1 folder (0 with IDLE)' "$ERR"
	echo polled-one >>"$FAKE_BASE.msgs"
	wait_for "$OUT" '^imap:INBOX  uid:11  Fake Sender  polled-one$' 3
	echo polled-two >>"$FAKE_BASE.msgs"
	wait_for "$OUT" '^imap:INBOX  uid:12  Fake Sender  polled-two$' 3
	sleep 2.5
	[ "$(wc -l <"$OUT")" -eq 2 ]
	grep -q 'STATUS' "$FAKE_BASE.log"
	! grep -q ' IDLE$' "$FAKE_BASE.log" || false
	# The old message (UID 10, which "11:*" also names) is never reported.
	! grep -q 'uid:10 ' "$OUT" || false
	watch_stop
	[ "$WSTATUS" -eq 0 ]
}

@test "watch (fake server): new messages answered newest first and twice are each reported once" {
	fake_idle_start noidle
	: >"$FAKE_BASE.reverse"
	watch_start --interval 1
	grep -q 'watching 1 folder (0 with IDLE)' "$ERR"
	printf 'first\nsecond\nthird\n' >>"$FAKE_BASE.msgs"
	wait_for "$OUT" 'uid:11  Fake Sender  first$' 4
	wait_for "$OUT" 'uid:12  Fake Sender  second$' 2
	wait_for "$OUT" 'uid:13  Fake Sender  third$' 2
	echo fourth >>"$FAKE_BASE.msgs"
	wait_for "$OUT" 'uid:14  Fake Sender  fourth$' 3
	sleep 2.5
	[ "$(wc -l <"$OUT")" -eq 4 ]
	watch_stop
	[ "$WSTATUS" -eq 0 ]
}

@test "watch (fake server): an untagged BYE during IDLE, reconnected, the message reported once" {
	fake_idle_start bye
	watch_start
	wait_for "$FAKE_BASE.log" '^1 DONE$|^1 A[0-9]+ IDLE$' 5
	echo after-bye >>"$FAKE_BASE.msgs"
	wait_for "$ERR" 'BYE shutting down.*connecting again in 1 s' 3
	wait_for "$OUT" '^imap:INBOX  uid:11  Fake Sender  after-bye$' 5
	# The second connection IDLEs and hears EXISTS.
	wait_for "$FAKE_BASE.log" '^2 A[0-9]+ IDLE$' 3
	echo by-exists >>"$FAKE_BASE.msgs"
	wait_for "$OUT" 'uid:12  Fake Sender  by-exists$' 3
	sleep 1
	[ "$(count "$OUT" after-bye)" -eq 1 ]
	[ "$(wc -l <"$OUT")" -eq 2 ]
	watch_stop
	[ "$WSTATUS" -eq 0 ]
}

@test "watch (fake server): a new UIDVALIDITY reports nothing old, says so, and goes on" {
	fake_idle_start noidle
	watch_start --interval 1
	# Both changes at once for the watcher: no STATUS between them.
	kill -STOP "$WPID"
	sleep 0.3
	echo 10 >"$FAKE_BASE.uidvalidity"
	echo renumbered >>"$FAKE_BASE.msgs"
	kill -CONT "$WPID"
	wait_for "$ERR" 'UIDVALIDITY of INBOX changed from 9 to 10' 4
	echo after-renumbering >>"$FAKE_BASE.msgs"
	wait_for "$OUT" '^imap:INBOX  uid:12  Fake Sender  after-renumbering$' 4
	sleep 1.5
	! grep -q renumbered "$OUT" || false
	[ "$(wc -l <"$OUT")" -eq 1 ]
	watch_stop
	[ "$WSTATUS" -eq 0 ]
}

@test "watch --keepalive: IDLE is re-issued every N seconds and nothing is lost or doubled across renewals" {
	"$MAIL" -C "$CONF" -v watch --keepalive 1 >"$OUT" 2>"$ERR" 3>&- &
	WPID=$!
	wait_for "$ERR" '^mail: watching 1 folder' 10
	sleep 3.5
	# A renewal is DONE, the tagged OK, a new IDLE: at least 3 in 3.5 s.
	[ "$(count "$ERR" '^imap> A[0-9]+ IDLE$')" -ge 3 ]
	[ "$(count "$ERR" '^imap> DONE$')" -ge 2 ]
	deliver across-renewals
	wait_for "$OUT" across-renewals 3
	sleep 2.5
	[ "$(count "$OUT" across-renewals)" -eq 1 ]
	[ "$(wc -l <"$OUT")" -eq 1 ]
	# One connection all along.
	[ "$(count "$ERR" '^imap> A[0-9]+ (LOGIN|AUTHENTICATE)')" -eq 1 ]
	watch_stop
	[ "$WSTATUS" -eq 0 ]
}

@test "watch: watch-connections = 2 with three folders: one IDLEs, one connection polls two with LIST-STATUS" {
	write_config "$CONF" pop3= timeout=5 watch-connections=2
	deliver old-other Other
	deliver old-work Work
	"$MAIL" -C "$CONF" -v watch --no-notify --interval 1 INBOX Work Other >"$OUT" 2>"$ERR" 3>&- &
	WPID=$!
	wait_for "$ERR" '^mail: watching 3 folders \(1 with IDLE\)' 10
	deliver to-inbox
	deliver to-work Work
	deliver to-other Other
	wait_for "$OUT" '^imap:INBOX  uid:[0-9]+  Sender  to-inbox$' 3
	wait_for "$OUT" '^imap:Work  uid:[0-9]+  Sender  to-work$' 3
	wait_for "$OUT" '^imap:Other  uid:[0-9]+  Sender  to-other$' 3
	sleep 2
	[ "$(wc -l <"$OUT")" -eq 3 ]
	# Two connections, and the polled one asks LIST ... RETURN (STATUS ...).
	[ "$(count "$ERR" '^imap> A[0-9]+ (LOGIN|AUTHENTICATE)')" -eq 2 ]
	grep -qE '^imap> A[0-9]+ LIST .*RETURN \(.*STATUS' "$ERR"
	watch_stop
	[ "$WSTATUS" -eq 0 ]
}

@test "watch: a bad watch-connections is a config error (78) naming the line" {
	write_config "$CONF" pop3= watch-connections=0
	run --separate-stderr mail -C "$CONF" watch
	[ "$status" -eq 78 ]
	[[ $stderr == *watch-connections* ]]
	write_config "$CONF" pop3= watch-connections=many
	run --separate-stderr mail -C "$CONF" watch
	[ "$status" -eq 78 ]
	run --separate-stderr mail -C "$CONF" watch --keepalive 0
	[ "$status" -eq 64 ]
}

@test "watch (fake server without IDLE): a polled connection sends NOOP every --keepalive between polls" {
	fake_idle_start noidle
	watch_start --interval 30 --keepalive 1
	grep -q 'watching 1 folder (0 with IDLE)' "$ERR"
	wait_for "$FAKE_BASE.log" '^1 A[0-9]+ NOOP$' 3
	sleep 2
	[ "$(count "$FAKE_BASE.log" '^1 A[0-9]+ NOOP$')" -ge 2 ]
	# No STATUS poll yet: the interval is 30 s.
	[ "$(count "$FAKE_BASE.log" '^1 A[0-9]+ STATUS')" -le 1 ]
	watch_stop
	[ "$WSTATUS" -eq 0 ]
}

@test "watch (NOTIFY): INBOX and two other folders over ONE connection, each new message within 2 s and once" {
	deliver old-work Work
	deliver old-lists Lists
	"$MAIL" -C "$CONF" -v watch INBOX Work Lists >"$OUT" 2>"$ERR" 3>&- &
	WPID=$!
	wait_for "$ERR" '^mail: watching 3 folders \(NOTIFY, one connection\)' 10
	grep -qE '^imap> A[0-9]+ NOTIFY SET \(mailboxes \("?INBOX"? "?Work"? "?Lists"?\) \(MessageNew MessageExpunge\)\)$' "$ERR"
	deliver notify-work Work
	wait_for "$OUT" '^imap:Work  uid:[0-9]+  Sender  notify-work$' 2
	deliver notify-inbox
	wait_for "$OUT" '^imap:INBOX  uid:[0-9]+  Sender  notify-inbox$' 2
	deliver notify-lists Lists
	wait_for "$OUT" '^imap:Lists  uid:[0-9]+  Sender  notify-lists$' 2
	deliver notify-work-2 Work
	wait_for "$OUT" 'notify-work-2$' 2
	sleep 1.5
	[ "$(wc -l <"$OUT")" -eq 4 ]
	[ "$(count "$OUT" 'notify-work$')" -eq 1 ]
	! grep -q old- "$OUT" || false
	# One login for the three folders (Dovecot's log agrees).
	[ "$(count "$ERR" '^imap> A[0-9]+ (LOGIN|AUTHENTICATE)')" -eq 1 ]
	watch_stop
	[ "$WSTATUS" -eq 0 ]
}

@test "watch --no-notify: the IDLE path on Dovecot, one connection per folder" {
	deliver old-work Work
	"$MAIL" -C "$CONF" -v watch --no-notify INBOX Work >"$OUT" 2>"$ERR" 3>&- &
	WPID=$!
	wait_for "$ERR" '^mail: watching 2 folders \(2 with IDLE\)' 10
	deliver idle-path Work
	wait_for "$OUT" '^imap:Work  uid:[0-9]+  Sender  idle-path$' 2
	[ "$(count "$ERR" '^imap> A[0-9]+ (LOGIN|AUTHENTICATE)')" -eq 2 ]
	! grep -qE '^imap> A[0-9]+ NOTIFY' "$ERR" || false
	watch_stop
	[ "$WSTATUS" -eq 0 ]
}

@test "watch (fake server refusing NOTIFY SET with NO, then with BAD): IDLE on the same connection" {
	for mode in notifyno notifybad; do
		fake_watch_start $mode '\(1 with IDLE\)'
		grep -qE '^1 A[0-9]+ NOTIFY SET \(mailboxes \("?INBOX"?\) \(MessageNew MessageExpunge\)\)$' "$FAKE_BASE.log"
		echo "after-$mode" >>"$FAKE_BASE.msgs"
		wait_for "$OUT" "^imap:INBOX  uid:11  Fake Sender  after-$mode\$" 2
		# One connection, one login: the refusal did not cost another.
		[ "$(count "$FAKE_BASE.log" ' LOGIN ')" -eq 1 ]
		[ "$(wc -l <"$OUT")" -eq 1 ]
		watch_stop
		[ "$WSTATUS" -eq 0 ]
	done
}

@test "watch (fake server): NOTIFY on the first connection, refused or gone on the one made after a drop: IDLE from then on, nothing missed or doubled" {
	for mode in notifydrop notifygone; do
		fake_watch_start $mode '\(NOTIFY, one connection\)'
		# The first connection ends with a BYE as the message comes.
		echo "during-drop-$mode" >>"$FAKE_BASE.msgs"
		wait_for "$ERR" 'BYE shutting down.*connecting again in 1 s' 3
		# The second: NOTIFY SET refused (notifydrop) or NOTIFY not
		# offered (notifygone); the message that came is fetched by UID.
		wait_for "$OUT" "^imap:INBOX  uid:11  Fake Sender  during-drop-$mode\$" 5
		wait_for "$FAKE_BASE.log" '^2 A[0-9]+ IDLE$' 3
		if [[ $mode == notifydrop ]]; then
			grep -qE '^2 A[0-9]+ NOTIFY SET ' "$FAKE_BASE.log"
		else
			! grep -qE '^2 A[0-9]+ NOTIFY' "$FAKE_BASE.log" || false
		fi
		# IDLE on that connection hears the next one.
		echo "after-drop-$mode" >>"$FAKE_BASE.msgs"
		wait_for "$OUT" "^imap:INBOX  uid:12  Fake Sender  after-drop-$mode\$" 3
		sleep 2.5
		# No loop of connections: two in all, and each message once.
		! grep -qE '^3 ' "$FAKE_BASE.log" || false
		[ "$(count "$ERR" 'connecting again')" -eq 1 ]
		[ "$(wc -l <"$OUT")" -eq 2 ]
		watch_stop
		[ "$WSTATUS" -eq 0 ]
	done
}

@test "watch on a non-terminal: quiet except for errors; on a terminal the watching line and the reconnect notes" {
	fake_idle_start bye
	"$MAIL" -C "$CONF" watch >"$OUT" 2>"$ERR" 3>&- &
	WPID=$!
	wait_for "$FAKE_BASE.log" '^1 A[0-9]+ IDLE$' 10
	# The BYE during IDLE: reconnected, the message reported, and not a
	# word on standard error (cron would mail it).
	echo quiet-after-bye >>"$FAKE_BASE.msgs"
	wait_for "$OUT" '^imap:INBOX  uid:11  Fake Sender  quiet-after-bye$' 6
	wait_for "$FAKE_BASE.log" '^2 A[0-9]+ IDLE$' 3
	watch_stop
	[ "$WSTATUS" -eq 0 ]
	[ ! -s "$ERR" ]
	# The same on a terminal (script(1) gives it a pty): both are shown.
	fake_stop
	fake_idle_start bye
	script -qfec "$(printf '%q ' "$MAIL" -C "$CONF" watch)" "$BATS_TEST_TMPDIR/tty.log" </dev/null >/dev/null 2>&1 3>&- &
	WPID=$!
	wait_for "$BATS_TEST_TMPDIR/tty.log" '^mail: watching 1 folder \(1 with IDLE\)' 10
	echo tty-after-bye >>"$FAKE_BASE.msgs"
	wait_for "$BATS_TEST_TMPDIR/tty.log" 'BYE shutting down.*connecting again in 1 s' 6
	wait_for "$BATS_TEST_TMPDIR/tty.log" 'uid:11  Fake Sender  tty-after-bye' 6
	watch_stop
}

@test "watch --exec: once per arrival with MAIL_COUNT, MAIL_SUBJECTS and MAIL_UIDS; untrusted bytes made safe in the environment and on the line" {
	cd "$BATS_TEST_TMPDIR"
	# A subject with ESC [31m, a newline (unfolded to a space), a bidi
	# override (U+202E) and a byte that is not UTF-8 (U+FFFD), RFC
	# 2047-encoded.
	nasty="=?utf-8?b?$(printf 'red\033[31m\nline2 \342\200\256evil \377end' | base64 -w0)?="
	watch_start --exec 'n=$(ls runs 2>/dev/null | grep -cv subjects); mkdir -p runs; env | grep "^MAIL_" | sort >runs/$n; printf "%s\n" "$MAIL_SUBJECTS" >runs/$n.subjects'
	kill -STOP "$WPID"
	deliver batch-one
	deliver "$nasty"
	deliver batch-three
	kill -CONT "$WPID"
	wait_for "$OUT" batch-three 5
	sleep 1.5
	# One run for the three that came together.
	[ "$(ls runs | grep -vc subjects)" -eq 1 ]
	grep -qx 'MAIL_COUNT=3' runs/0
	grep -qx 'MAIL_FOLDER=imap:INBOX' runs/0
	grep -qx 'MAIL_SUBJECT=batch-three' runs/0
	grep -qE '^MAIL_UIDS=[0-9]+ [0-9]+ [0-9]+$' runs/0
	# The last UID of MAIL_UIDS is MAIL_UID, as printed.
	uid=$(sed -n 's/^MAIL_UID=//p' runs/0)
	grep -qE "^MAIL_UIDS=.* $uid\$" runs/0
	grep -q "uid:$uid  Sender  batch-three" "$OUT"
	# MAIL_SUBJECTS: one line a message, the nasty one shown safe.
	[ "$(wc -l <runs/0.subjects)" -eq 3 ]
	sed -n 1p runs/0.subjects | grep -qx batch-one
	sed -n 3p runs/0.subjects | grep -qx batch-three
	sed -n 2p runs/0.subjects | grep -qF 'red^[[31m line2 <U+202E>evil'
	# No control byte, no bidi override, nothing but UTF-8 anywhere in
	# the environment it got, nor in the printed line.
	for f in runs/0 runs/0.subjects "$OUT"; do
		! LC_ALL=C grep -qP '[\x00-\x08\x0b-\x1f\x7f]' "$f" || false
		! grep -qF "$(printf '\342\200\256')" "$f" || false
		iconv -f UTF-8 -t UTF-8 "$f" >/dev/null
	done
	grep -qF 'red^[[31m line2 <U+202E>evil' "$OUT"
	# Each later arrival: a run of its own, MAIL_COUNT=1.
	deliver alone-later
	wait_for "$OUT" alone-later 3
	wait_for runs/1 'MAIL_SUBJECT=alone-later' 3
	grep -qx 'MAIL_COUNT=1' runs/1
	grep -qx 'MAIL_SUBJECTS=alone-later' runs/1
	watch_stop
	[ "$WSTATUS" -eq 0 ]
}

@test "watch --exec-timeout: a command that hangs is killed and noted; watching goes on" {
	cd "$BATS_TEST_TMPDIR"
	watch_start --exec 'echo "$MAIL_SUBJECT" >>ran.log; exec sleep 300' --exec-timeout 1
	deliver hang-one
	wait_for "$ERR" 'still running after 1 s.*killed' 4
	deliver hang-two
	wait_for "$OUT" hang-two 4
	wait_for ran.log hang-two 4
	[ "$(count "$OUT" hang-one)" -eq 1 ]
	watch_stop
	[ "$WSTATUS" -eq 0 ]
	run --separate-stderr mail -C "$CONF" watch --exec-timeout soon
	[ "$status" -eq 64 ]
	[[ $stderr == *--exec-timeout* ]]
}

@test "watch (fake server dropping every new session at once): the backoff grows 1, 2, 4 s instead of a reconnect a second" {
	fake_idle_start byeloop
	watch_start
	echo drop-them-all >>"$FAKE_BASE.msgs"
	wait_for "$ERR" 'BYE shutting down.*connecting again in 1 s' 4
	# Each later connection logs in and is told BYE at once: that is no
	# success, so the waits grow.
	wait_for "$ERR" 'too busy.*connecting again in 2 s' 4
	wait_for "$ERR" 'too busy.*connecting again in 4 s' 6
	# Connections 1 (the first), then after 1, 2 and 4 s: 2, 3, 4.
	sleep 1
	! grep -qE '^6 ' "$FAKE_BASE.log" || false
	[ "$(count "$ERR" 'connecting again in 1 s')" -eq 1 ]
	[ ! -s "$OUT" ]
	watch_stop
	[ "$WSTATUS" -eq 0 ]
}

@test "watch: a watched folder deleted on the server, then created again: a note, the other folders go on, and what it holds when back is reported once (NOTIFY, IDLE, polled)" {
	# NOTIFY; IDLE on a connection each; both polled (LIST-STATUS) on one.
	for nn in "" --no-notify polled; do
		mail_reset
		if [[ $nn == polled ]]; then
			write_config "$CONF" pop3= timeout=5 watch-connections=1
			nn=--no-notify
		fi
		deliver old-work Work
		: >"$OUT"
		watch_start --interval 1 $nn INBOX Work
		doveadm -c "$(dovecot_conf)" mailbox delete -u "$MAIL_TEST_USER1" Work 3>&- 9>&-
		wait_for "$ERR" "Work.*watching imap:Work for it to come back" 5
		deliver inbox-meanwhile
		wait_for "$OUT" '^imap:INBOX  uid:[0-9]+  Sender  inbox-meanwhile$' 3
		# Created again and delivered to before the watcher looks: the
		# message is new all the same.
		deliver recreated-one Work
		wait_for "$ERR" 'imap:Work is there again' 5
		wait_for "$OUT" '^imap:Work  uid:1  Sender  recreated-one$' 3
		deliver recreated-two Work
		wait_for "$OUT" '^imap:Work  uid:2  Sender  recreated-two$' 3
		sleep 1.5
		[ "$(wc -l <"$OUT")" -eq 3 ]
		! grep -q old-work "$OUT" || false
		[ "$(count "$ERR" 'for it to come back')" -eq 1 ]
		kill -0 "$WPID"
		watch_stop
		[ "$WSTATUS" -eq 0 ]
	done
}

@test "watch --json: a subject with ESC, a bidi override and a byte that is not UTF-8 is escaped, valid UTF-8 JSON" {
	nasty="=?utf-8?b?$(printf 'j\033]0;title\007 \342\200\256x \377y' | base64 -w0)?="
	watch_start --json
	deliver "$nasty"
	wait_for "$OUT" '"subject"' 3
	! LC_ALL=C grep -qP '[\x00-\x1f\x7f]' "$OUT" || false
	! grep -qF "$(printf '\342\200\256')" "$OUT" || false
	iconv -f UTF-8 -t UTF-8 "$OUT" >/dev/null
	run jq -r .subject "$OUT"
	[ "$status" -eq 0 ]
	[[ $output == $'j\e]0;title\a \u202ex '* ]]
	watch_stop
	[ "$WSTATUS" -eq 0 ]
}

@test "watch --exec: SIGTERM or SIGINT while the command runs ends both at once, status 0" {
	cd "$BATS_TEST_TMPDIR"
	for sig in TERM INT; do
		rm -f pid
		watch_start --exec 'echo $$ >pid.tmp; mv pid.tmp pid; exec sleep 300'
		deliver "stop-while-running-$sig"
		wait_for pid '^[0-9]+$' 4
		t0=$SECONDS
		kill -$sig "$WPID"
		WSTATUS=0
		wait "$WPID" || WSTATUS=$?
		WPID=
		[ "$WSTATUS" -eq 0 ]
		# Not the 60 s of --exec-timeout, nor the 300 of the command.
		[ $((SECONDS - t0)) -le 5 ]
		sleep 0.3
		! kill -0 "$(cat pid)" 2>/dev/null || false
		! grep -q 'warning' "$ERR" || false
	done
}
