#!/usr/bin/env bats
# mail fetch --idle (issue 10): fetch, then wait for new mail with the
# watch engine and fetch each arrival into the store, against the
# harness's Dovecot; the same crash safety as a plain fetch.

load helpers
bats_require_minimum_version 1.5.0

setup_file() { servers_start; }
teardown_file() { servers_stop; }

setup() {
	watch_setup
	IPID=
}

teardown() {
	if [[ -n $IPID ]] && kill -0 "$IPID" 2>/dev/null; then
		kill -KILL "$IPID" 2>/dev/null || true
		wait "$IPID" 2>/dev/null || true
	fi
	# A test that stopped Dovecot starts it again.
	dovecot_up
}

# deliver SUBJECT [FOLDER]: a new message in alice's mailbox on the
# server, saved through Dovecot (dovecot_save: what its NOTIFY hears).
deliver() {
	local f
	f=$(mktemp "$BATS_TEST_TMPDIR/m.XXXXXX")
	printf 'From: Sender <s@example.test>\nTo: alice@example.test\nSubject: %s\nMessage-ID: <%s.%s.%s@example.test>\n\nbody of %s\n' \
		"$1" "$1" "$RANDOM" "$RANDOM" "$1" >"$f"
	dovecot_save "$f" "${2:-}"
}

count() { grep -cE -- "$2" "$1" || true; }

# open_conns: connections of the -vv trace in ERR still open (logins
# without their LOGOUT): the watch's, once no fetch run is under way.
open_conns() {
	echo $(($(count "$ERR" '^imap> A[0-9]+ (LOGIN|AUTHENTICATE)') -
		$(count "$ERR" '^imap> A[0-9]+ LOGOUT$')))
}

# conns_settle N: open_conns is N and stays so for a second, within
# 10 s. An arrival during the run that follows the watch's start is
# stored by that run and still starts one of its own, which a slow
# machine (ASan under CI's load) may still be in after a fixed pause;
# the watch's own connections stay, a run's go.
conns_settle() {
	local i n same=0
	for ((i = 0; i < 100; i++)); do
		n=$(open_conns)
		if ((n == $1)); then
			((++same >= 10)) && return 0
		else
			same=0
		fi
		sleep 0.1
	done
	echo "open connections: $n, not $1; stderr:" >&2
	cat "$ERR" >&2
	return 1
}

# in_store SUBJECT [DIR]: how many messages of the local store have it.
in_store() {
	local d=${2:-$STORE}
	grep -lx "Subject: $1" "$d"/new/* "$d"/cur/* 2>/dev/null | wc -l
}

# wait_store SUBJECT SECONDS [DIR]: until the message is in the store.
wait_store() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		(($(in_store "$1" "${3:-}") > 0)) && return 0
		sleep 0.05
	done
	echo "no '$1' in the store after $2 s; stderr:" >&2
	cat "$ERR" >&2
	return 1
}

idle_start() {
	"$MAIL" -C "$CONF" fetch --idle "$@" >"$OUT" 2>"$ERR" 3>&- &
	IPID=$!
}

idle_stop() {
	# (A process that is gone already, a sanitizer's abort, is no reason
	# to skip the diagnostics below: its status and stderr say why.)
	kill -"${1:-TERM}" "$IPID" 2>/dev/null || true
	ISTATUS=0
	wait "$IPID" || ISTATUS=$?
	IPID=
	# Shown only if the test fails: a sanitizer's report ends up here.
	((ISTATUS == 0)) || { echo "exit $ISTATUS; stderr ends:" >&2; tail -n 30 "$ERR" >&2; }
}

@test "fetch --idle: what is there first, then each message delivered meanwhile, within seconds and once; SIGTERM ends it with 0, silently" {
	deliver before-start
	idle_start
	wait_store before-start 10
	deliver while-waiting
	wait_store while-waiting 5
	deliver and-another
	wait_store and-another 5
	sleep 1.5
	[ "$(in_store before-start)" -eq 1 ]
	[ "$(in_store while-waiting)" -eq 1 ]
	[ "$(in_store and-another)" -eq 1 ]
	[ "$(maildir_count "$STORE")" -eq 3 ]
	idle_stop TERM
	[ "$ISTATUS" -eq 0 ]
	# Not a terminal: nothing on either stream.
	[ ! -s "$OUT" ]
	[ ! -s "$ERR" ]
	# A plain fetch afterwards finds nothing new: the state has it all.
	run mail -C "$CONF" fetch
	[ "$status" -eq 0 ]
	[ "$(maildir_count "$STORE")" -eq 3 ]
}

@test "fetch --idle: SIGINT ends it with 0; killed with SIGKILL, the next fetch duplicates nothing and gets what came after" {
	idle_start
	sleep 1.5
	deliver first
	wait_store first 5
	idle_stop INT
	[ "$ISTATUS" -eq 0 ]
	idle_start
	sleep 1.5
	deliver second
	wait_store second 5
	idle_stop KILL
	deliver after-kill
	run mail -C "$CONF" fetch
	[ "$status" -eq 0 ]
	[ "$(in_store first)" -eq 1 ]
	[ "$(in_store second)" -eq 1 ]
	[ "$(in_store after-kill)" -eq 1 ]
	[ "$(maildir_count "$STORE")" -eq 3 ]
}

@test "fetch --idle --folder: a second folder is watched too and lands in its own local folder" {
	deliver old-work Work
	idle_start --folder INBOX --folder Work
	wait_store old-work 10 "$STORE/.Work"
	sleep 1
	deliver new-work Work
	wait_store new-work 5 "$STORE/.Work"
	deliver new-inbox
	wait_store new-inbox 5
	sleep 1
	[ "$(in_store new-work "$STORE/.Work")" -eq 1 ]
	[ "$(maildir_count "$STORE/.Work")" -eq 2 ]
	[ "$(maildir_count "$STORE")" -eq 1 ]
	idle_stop TERM
	[ "$ISTATUS" -eq 0 ]
}

@test "fetch --idle with --delete: removed on the server only once stored here" {
	idle_start --delete
	sleep 1.5
	deliver to-delete
	wait_store to-delete 5
	# Gone from the server (Dovecot's Maildir) after the run.
	for ((i = 0; i < 40; i++)); do
		(($(maildir_count "$MD") == 0)) && break
		sleep 0.1
	done
	[ "$(maildir_count "$MD")" -eq 0 ]
	[ "$(in_store to-delete)" -eq 1 ]
	idle_stop TERM
	[ "$ISTATUS" -eq 0 ]
}

@test "fetch --idle: POP3, --all or --catch-up is a usage error (64); a missing folder 66" {
	write_config "$CONF" imap= "pop3=pop3s://localhost:$MAIL_TEST_POP3S_PORT"
	run --separate-stderr mail -C "$CONF" fetch --idle
	[ "$status" -eq 64 ]
	[[ $stderr == *IMAP* ]]
	write_config "$CONF" pop3= timeout=5
	run --separate-stderr mail -C "$CONF" fetch --idle --all
	[ "$status" -eq 64 ]
	run --separate-stderr mail -C "$CONF" fetch --idle --catch-up
	[ "$status" -eq 64 ]
	run --separate-stderr mail -C "$CONF" fetch --keepalive 5
	[ "$status" -eq 64 ]
	run --separate-stderr timeout 20 "$MAIL" -C "$CONF" fetch --idle --folder NoSuchFolder
	[ "$status" -eq 66 ]
}

@test "fetch --idle (NOTIFY): INBOX and Work over ONE watch connection, each arrival in the store within seconds and once" {
	deliver old-work Work
	"$MAIL" -C "$CONF" -vv fetch --idle --folder INBOX --folder Work >"$OUT" 2>"$ERR" 3>&- &
	IPID=$!
	wait_store old-work 10 "$STORE/.Work"
	wait_for "$ERR" '^imap> A[0-9]+ NOTIFY SET \(mailboxes \("?INBOX"? "?Work"?\) \(MessageNew MessageExpunge\)\)$' 10
	sleep 1.5
	deliver notify-work Work
	wait_store notify-work 4 "$STORE/.Work"
	deliver notify-inbox
	wait_store notify-inbox 4
	deliver notify-work-2 Work
	wait_store notify-work-2 4 "$STORE/.Work"
	sleep 1.5
	[ "$(in_store notify-work "$STORE/.Work")" -eq 1 ]
	[ "$(in_store notify-inbox)" -eq 1 ]
	[ "$(maildir_count "$STORE/.Work")" -eq 3 ]
	[ "$(maildir_count "$STORE")" -eq 1 ]
	# One NOTIFY SET, and between the runs one connection stays open
	# for both folders (IDLE would keep two).
	[ "$(count "$ERR" '^imap> A[0-9]+ NOTIFY SET')" -eq 1 ]
	conns_settle 1
	! grep -q "$MAIL_TEST_PASS1" "$ERR" || false
	idle_stop TERM
	[ "$ISTATUS" -eq 0 ]
}

@test "fetch --idle --no-notify: IDLE on a connection per folder, no NOTIFY" {
	run --separate-stderr mail -C "$CONF" fetch --no-notify
	[ "$status" -eq 64 ]
	deliver old-work Work
	"$MAIL" -C "$CONF" -vv fetch --idle --no-notify --folder INBOX --folder Work >"$OUT" 2>"$ERR" 3>&- &
	IPID=$!
	wait_for "$ERR" '^imap< \+ idling' 10
	sleep 2
	deliver no-notify-work Work
	wait_store no-notify-work 5 "$STORE/.Work"
	sleep 1.5
	! grep -qE '^imap> A[0-9]+ NOTIFY' "$ERR" || false
	conns_settle 2
	idle_stop TERM
	[ "$ISTATUS" -eq 0 ]
}

# deleted_folder [--no-notify]: fetch --idle on INBOX and Work; Work is
# deleted on the server, then created again and delivered to.
deleted_folder() {
	deliver old-work Work
	"$MAIL" -C "$CONF" -vv fetch --idle --keepalive 2 "$@" --folder INBOX --folder Work >"$OUT" 2>"$ERR" 3>&- &
	IPID=$!
	wait_store old-work 10 "$STORE/.Work"
	wait_for "$ERR" '^imap< \+ idling' 10
	doveadm -c "$(dovecot_conf)" mailbox delete -u "$MAIL_TEST_USER1" Work 3>&- 9>&-
	wait_for "$ERR" '^mail: .*Work.*watching imap:Work for it to come back' 10
	deliver inbox-meanwhile
	wait_store inbox-meanwhile 8
	deliver recreated-one Work
	wait_for "$ERR" '^mail: imap:Work is there again' 10
	wait_store recreated-one 8 "$STORE/.Work"
	deliver recreated-two Work
	wait_store recreated-two 8 "$STORE/.Work"
	sleep 1.5
	kill -0 "$IPID"
	[ "$(count "$ERR" '^mail: .*for it to come back')" -eq 1 ]
	[ "$(count "$ERR" '^mail: .*there again')" -eq 1 ]
	[ "$(in_store inbox-meanwhile)" -eq 1 ]
	[ "$(in_store recreated-one "$STORE/.Work")" -eq 1 ]
	[ "$(in_store recreated-two "$STORE/.Work")" -eq 1 ]
	[ "$(maildir_count "$STORE/.Work")" -eq 3 ]
	[ "$(maildir_count "$STORE")" -eq 1 ]
	idle_stop TERM
	[ "$ISTATUS" -eq 0 ]
}

@test "fetch --idle (NOTIFY): a folder deleted on the server is said once and the others fetched; created again, all it then holds is fetched" {
	deleted_folder
}

@test "fetch --idle --no-notify: a folder deleted on the server is said once and the others fetched; created again, all it then holds is fetched" {
	deleted_folder --no-notify
}

@test "fetch --idle: a burst of 5 arrivals is one fetch run (at most 2 logins), each message once" {
	"$MAIL" -C "$CONF" -vv fetch --idle >"$OUT" 2>"$ERR" 3>&- &
	IPID=$!
	wait_for "$ERR" '^imap> A[0-9]+ NOTIFY SET' 10
	# The run that follows the watch's start is over: it has logged in
	# (the first run, the watch, then it) and out again. (A fixed 2.5 s
	# raced on a loaded machine: the run, which starts a second after
	# the watch is ready, could log in after "before" was counted.)
	for ((i = 0; i < 200; i++)); do
		(($(count "$ERR" '^imap> A[0-9]+ (LOGIN|AUTHENTICATE)') >= 3)) && break
		sleep 0.05
	done
	conns_settle 1
	before=$(count "$ERR" '^imap> A[0-9]+ (LOGIN|AUTHENTICATE)')
	[ "$before" -eq 3 ]
	# A burst: one message every 0.3 s (each would start a run of its
	# own without the gathering).
	for i in 1 2 3 4 5; do
		deliver "burst-$i"
		sleep 0.3
	done
	for i in 1 2 3 4 5; do
		wait_store "burst-$i" 6
	done
	sleep 2
	after=$(count "$ERR" '^imap> A[0-9]+ (LOGIN|AUTHENTICATE)')
	echo "logins for the burst: $((after - before))"
	[ $((after - before)) -ge 1 ]
	[ $((after - before)) -le 2 ]
	for i in 1 2 3 4 5; do
		[ "$(in_store "burst-$i")" -eq 1 ]
	done
	[ "$(maildir_count "$STORE")" -eq 5 ]
	idle_stop TERM
	[ "$ISTATUS" -eq 0 ]
}

@test "fetch --idle: across a Dovecot restart, what came meanwhile is fetched once" {
	idle_start
	sleep 2
	deliver before-restart
	wait_store before-restart 5
	dovecot_down
	f=$(mktemp "$BATS_TEST_TMPDIR/m.XXXXXX")
	printf 'From: Sender <s@example.test>\nTo: alice@example.test\nSubject: during-restart\nMessage-ID: <dr.%s@example.test>\n\nbody\n' "$RANDOM" >"$f"
	maildir_add "$MD" "$f" >/dev/null
	sleep 2
	dovecot_up
	wait_store during-restart 60
	deliver after-restart
	wait_store after-restart 10
	sleep 1.5
	[ "$(in_store before-restart)" -eq 1 ]
	[ "$(in_store during-restart)" -eq 1 ]
	[ "$(in_store after-restart)" -eq 1 ]
	[ "$(maildir_count "$STORE")" -eq 3 ]
	idle_stop TERM
	[ "$ISTATUS" -eq 0 ]
}
