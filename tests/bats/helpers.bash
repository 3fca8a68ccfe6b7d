# tests/bats/helpers.bash: shared helpers for the bats suites.
#
#   load helpers
#
#   setup_file()    { servers_start; }      # real Dovecot + Postfix
#   teardown_file() { servers_stop; }
#   setup()         { write_config "$BATS_TEST_TMPDIR/config"; }
#   teardown()      { fake_stop; }
#
#   @test "send" {
#       run mail -C "$BATS_TEST_TMPDIR/config" send -s hi "$MAIL_TEST_ADDR2" <<<"body"
#       [ "$status" -eq 0 ]
#       mail_wait "$MAIL_TEST_MAILDIR2" 1
#   }
#
# Loading this file also points HOME and the XDG directories at a private
# temporary directory (see isolate_home), so that no test ever reads or
# writes the real home directory.
#
# Variables (after servers_start; see tests/servers/start for the full list):
#   MAIL_TEST_HOST (127.0.0.1), MAIL_TEST_HOSTNAME (localhost; the
#   certificates are valid for localhost, 127.0.0.1 and ::1), MAIL_TEST_CA,
#   MAIL_TEST_{SUBMISSION,SUBMISSIONS,IMAP,IMAPS,POP3,POP3S}_PORT,
#   MAIL_TEST_IMAPS_{EXPIRED,WRONGHOST,SELFSIGNED}_PORT,
#   MAIL_TEST_{CERT,EXPIRED_CERT,WRONGHOST_CERT,SELFSIGNED_CERT,CA}_SHA256,
#   MAIL_TEST_{USER,PASS,ADDR,MAILDIR}{1,2} (alice, bob), MAIL_TEST_SINK_*
#   (receives everything relayed to other domains), MAIL_TEST_DOMAIN,
#   MAIL_TEST_POSTFIX_LOG, MAIL_TEST_DOVECOT_LOG.

HELPERS_TOP=$(cd -- "$BATS_TEST_DIRNAME/../.." && pwd)
SERVERS_DIR=$HELPERS_TOP/tests/servers

# ---------------------------------------------------------------------------
# The program under test: $MAIL (meson's test() sets it), else the default
# build directory.
# ---------------------------------------------------------------------------
MAIL=${MAIL:-$HELPERS_TOP/build/cmd/mail}
export MAIL

# mail_bin: prints the path of the program under test.
mail_bin() {
	printf '%s\n' "$MAIL"
}

# mail ARGS...: runs the program under test (shadows any system `mail`).
mail() {
	"$MAIL" "$@"
}

# ---------------------------------------------------------------------------
# A private home.
# ---------------------------------------------------------------------------

# isolate_home [DIR]: HOME, XDG_CONFIG_HOME, XDG_STATE_HOME, XDG_CACHE_HOME,
# XDG_DATA_HOME and XDG_RUNTIME_DIR below DIR (default: the test's, else
# the file's temporary directory).  Done on load; call it again to reset.
# shellcheck disable=SC2120 # optional argument
isolate_home() {
	local dir=${1:-${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-}}}
	[[ -n $dir ]] || dir=$(mktemp -d)
	export HOME=$dir/home
	export XDG_CONFIG_HOME=$HOME/.config
	export XDG_STATE_HOME=$HOME/.local/state
	export XDG_CACHE_HOME=$HOME/.cache
	export XDG_DATA_HOME=$HOME/.local/share
	export XDG_RUNTIME_DIR=$dir/run
	mkdir -p "$XDG_CONFIG_HOME" "$XDG_STATE_HOME" "$XDG_CACHE_HOME" "$XDG_DATA_HOME"
	mkdir -p "$XDG_RUNTIME_DIR"
	chmod 700 "$XDG_RUNTIME_DIR"
	# No editor may pop up, no personal mail settings leak in.
	unset MAILRC VISUAL EDITOR
}
# shellcheck disable=SC2119
isolate_home

# ---------------------------------------------------------------------------
# Real servers.
# ---------------------------------------------------------------------------

# servers_start: for setup_file.  Starts tests/servers/start in a fresh
# state directory (or in $MAIL_TEST_SERVERS_DIR if set) on a free block of
# ports (or on $MAIL_TEST_PORT_BASE if set), then exports the variables of
# its env file.  Each bats file gets its own servers and empty mailboxes;
# starting takes a few seconds.
servers_start() {
	local dir=${MAIL_TEST_SERVERS_DIR:-}
	if [[ -z $dir ]]; then
		# Short (Unix socket paths) and searchable by the server users,
		# unlike BATS_*TMPDIR (mode 0700).
		dir=$(mktemp -d /tmp/mail-srv.XXXXXX) || return 1
		chmod 755 "$dir"
		HELPERS_OWN_SERVERS_DIR=$dir
	fi
	MAIL_TEST_PORT_BASE=${MAIL_TEST_PORT_BASE:-auto} \
		"$SERVERS_DIR/start" "$dir" 3>&- || return 1
	# shellcheck source=/dev/null
	. "$dir/env"
	HELPERS_SERVERS_DIR=$dir
	export HELPERS_SERVERS_DIR HELPERS_OWN_SERVERS_DIR
}

# servers_stop: for teardown_file.  Stops the servers; removes the state
# directory servers_start made (set MAIL_TEST_KEEP=1 to keep it and its
# logs for a look).
servers_stop() {
	[[ -n ${HELPERS_SERVERS_DIR:-} ]] || return 0
	"$SERVERS_DIR/stop" "$HELPERS_SERVERS_DIR" 3>&- || true
	if [[ -n ${HELPERS_OWN_SERVERS_DIR:-} && ${MAIL_TEST_KEEP:-0} != 1 ]]; then
		rm -rf -- "$HELPERS_OWN_SERVERS_DIR"
	fi
	unset HELPERS_SERVERS_DIR HELPERS_OWN_SERVERS_DIR
}

# maildir_count MAILDIR [FOLDER]: prints the number of messages in new/ and
# cur/ of MAILDIR (or of its sub-folder .FOLDER).
maildir_count() {
	local d=$1
	[[ -n ${2:-} ]] && d=$d/.$2
	find "$d/new" "$d/cur" -maxdepth 1 -type f 2>/dev/null | wc -l
}

# mail_wait MAILDIR [COUNT] [SECONDS]: waits until MAILDIR holds at least
# COUNT (default 1) messages; Postfix delivers after it has answered the
# client, so a test must wait before looking.  Fails after SECONDS
# (default 10), showing the end of the Postfix log.
mail_wait() {
	local dir=$1 want=${2:-1} secs=${3:-10} i
	for ((i = 0; i < secs * 20; i++)); do
		(($(maildir_count "$dir") >= want)) && return 0
		sleep 0.05
	done
	echo "mail_wait: $dir has $(maildir_count "$dir") message(s), wanted $want" >&2
	tail -n 20 "${MAIL_TEST_POSTFIX_LOG:-/dev/null}" >&2
	return 1
}

# maildir_files MAILDIR: prints the paths of the messages in new/ and cur/,
# oldest first.
maildir_files() {
	ls -1tr -d "$1"/new/* "$1"/cur/* 2>/dev/null || true
}

# maildir_add MAILDIR FILE [FOLDER] [FLAGS]: puts the message FILE into
# MAILDIR (or its sub-folder .FOLDER, created if needed) as Dovecot would,
# owned by the mail user so that Dovecot can manage it.  With FLAGS (e.g.
# "S" for seen) it goes to cur/, else to new/.  Prints the new path.
maildir_add() {
	local md=$1 file=$2 folder=${3:-} flags=${4:-} d name owner
	owner=$(stat -c %u:%g "$md")
	d=$md
	if [[ -n $folder ]]; then
		d=$md/.$folder
		install -d -o "${owner%:*}" -g "${owner#*:}" -m 700 "$d" "$d/cur" "$d/new" "$d/tmp"
	fi
	name=$(date +%s).M${RANDOM}${RANDOM}P$$.helpers
	install -o "${owner%:*}" -g "${owner#*:}" -m 600 "$file" "$d/tmp/$name"
	if [[ -n $flags ]]; then
		mv "$d/tmp/$name" "$d/cur/$name:2,$flags"
		printf '%s\n' "$d/cur/$name:2,$flags"
	else
		mv "$d/tmp/$name" "$d/new/$name"
		printf '%s\n' "$d/new/$name"
	fi
}

# mail_reset: empties the Maildirs of every test user (between tests that
# count messages).  No IMAP/POP3 session may be open.
mail_reset() {
	local md owner
	for md in "$MAIL_TEST_MAILDIR1" "$MAIL_TEST_MAILDIR2" "$MAIL_TEST_SINK_MAILDIR"; do
		[[ -d $md ]] || continue
		owner=$(stat -c %u:%g "$md")
		find "$md" -mindepth 1 -delete
		install -d -o "${owner%:*}" -g "${owner#*:}" -m 700 "$md/cur" "$md/new" "$md/tmp"
	done
}

# ---------------------------------------------------------------------------
# The configuration file.
# ---------------------------------------------------------------------------

# write_config FILE [KEY=VALUE]...: writes a mail configuration with one
# account "test" for alice on the harness: IMAPS, POP3S and submission with
# STARTTLS on localhost, the harness CA, the password from a mode-0600 file
# through password-command, a local Maildir store under HOME.  Each
# KEY=VALUE replaces (or adds) a key of the account; KEY= with nothing
# after the = removes it.  The file is made mode 0600.
write_config() {
	local file=$1 passfile kv key
	shift
	mkdir -p "$(dirname -- "$file")"
	passfile=$(dirname -- "$file")/alice.pass
	(umask 077 && printf '%s\n' "$MAIL_TEST_PASS1" >"$passfile")
	local -a keys=(address imap pop3 smtp user password-command tls-ca-file store default)
	local -A val=(
		[address]="Alice Example <$MAIL_TEST_ADDR1>"
		[imap]="imaps://localhost:$MAIL_TEST_IMAPS_PORT"
		[pop3]="pop3s://localhost:$MAIL_TEST_POP3S_PORT"
		[smtp]="smtp://localhost:$MAIL_TEST_SUBMISSION_PORT"
		[user]="$MAIL_TEST_USER1"
		[password-command]="cat $passfile"
		[tls-ca-file]="$MAIL_TEST_CA"
		[store]="$HOME/Mail/test"
		[default]=true
	)
	for kv in "$@"; do
		key=${kv%%=*}
		[[ -v val[$key] ]] || keys+=("$key")
		val[$key]=${kv#*=}
	done
	{
		echo '[account "test"]'
		for key in "${keys[@]}"; do
			[[ -n ${val[$key]} ]] && printf '    %s = %s\n' "$key" "${val[$key]}"
		done
	} >"$file"
	chmod 600 "$file"
}

# ---------------------------------------------------------------------------
# Fake servers (tests/servers/fake-server) for faults real servers never
# produce.
# ---------------------------------------------------------------------------

# fake_spawn PORTFILE COMMAND [ARG]...: runs a scripted server in the
# background (stopped by fake_stop) and waits up to 5 s for it to write
# its port into PORTFILE; 1, with a message, when it dies or never does.
# Sets FAKE_PID.
fake_spawn() {
	local portfile=$1 i
	shift
	# 3>&-: bats waits for every process holding its fd 3.
	"$@" 3>&- &
	FAKE_PID=$!
	FAKE_PIDS="${FAKE_PIDS:-} $FAKE_PID"
	for ((i = 0; i < 200; i++)); do
		[[ -s $portfile ]] && return 0
		kill -0 "$FAKE_PID" 2>/dev/null || break
		sleep 0.025
	done
	[[ -s $portfile ]] && return 0
	echo "fake_spawn: ${1##*/} did not start (no port in $portfile)" >&2
	return 1
}

# fake_start MODE: starts a fake server in the background and waits for
# it to listen.  Sets and exports FAKE_PORT, FAKE_HOST (127.0.0.1), FAKE_LOG
# (every line the client sent, "CONN LINE") and FAKE_PID, and prints the
# port.  Call it directly, not in $(...), or the variables are lost.
# Several may run at once; fake_stop stops them all.
fake_start() {
	local mode=$1 dir portfile
	dir=${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-/tmp}}
	portfile=$(mktemp -u "$dir/fake-$mode.XXXXXX")
	fake_spawn "$portfile" "$SERVERS_DIR/fake-server" "$mode" "$portfile" || return 1
	FAKE_PORT=$(<"$portfile")
	FAKE_HOST=127.0.0.1
	FAKE_LOG=$portfile.log
	export FAKE_PORT FAKE_HOST FAKE_LOG FAKE_PID FAKE_PIDS
	printf '%s\n' "$FAKE_PORT"
}

# fake_stop: stops every fake server this test (or file) started.
fake_stop() {
	local pid
	for pid in ${FAKE_PIDS:-}; do
		# (wait reports the SIGTERM: 143.)
		{ kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; } || true
	done
	FAKE_PIDS=
	return 0
}

# fake_smtp_start MODE: tests/servers/fake-smtp in MODE (STARTTLS with the
# harness's certificate) in the background, stopped by fake_stop.  Sets
# FAULT_DIR, FAULT_PORT and FAULT_LOG (the client's lines); the messages it
# took are FAULT_DIR/port.msg.N.
fake_smtp_start() {
	FAULT_DIR=$BATS_TEST_TMPDIR/fault-$1
	mkdir -p "$FAULT_DIR"
	fake_spawn "$FAULT_DIR/port" "$SERVERS_DIR/fake-smtp" "$1" "$FAULT_DIR/port" \
		"$MAIL_TEST_DIR/tls/server.pem" "$MAIL_TEST_DIR/tls/server.key" || return 1
	FAULT_PORT=$(<"$FAULT_DIR/port")
	FAULT_LOG=$FAULT_DIR/port.log
}

# fake_folder_start MODE: tests/servers/fake-imap-folder MODE in the
# background, and the account in CONF pointed at it; sets FAKE_PORT and
# FAKE_LOG (fake_stop stops it).  (0800-imap-folders, 0860-imap-copy.)
fake_folder_start() {
	local portfile
	portfile=$(mktemp -u "$BATS_TEST_TMPDIR/fake-folder.XXXXXX")
	fake_spawn "$portfile" "$SERVERS_DIR/fake-imap-folder" "$1" "$portfile" || return 1
	FAKE_PORT=$(<"$portfile")
	FAKE_LOG=$portfile.log
	write_config "$CONF" pop3= smtp= "imap=imap://127.0.0.1:$FAKE_PORT" \
		tls=none-i-know tls-ca-file= user=u "password-command=echo secret"
}

# ---------------------------------------------------------------------------
# Sending suites (0400-send, 0410-sendmail, 0420-send-interop): the
# message is sent through the harness's Postfix and read back from
# Dovecot's Maildirs.
# ---------------------------------------------------------------------------

# send_setup [CONFIG]: a fresh home, the harness's account written to
# CONFIG (timeout 5 s; without CONFIG the default config file of the new
# home), the test mailboxes emptied.
send_setup() {
	isolate_home
	write_config "${1:-$XDG_CONFIG_HOME/mail/config}" "timeout=5"
	mail_reset
}

# use_servers: in a bats file, after `load helpers`: its setup_file
# starts the harness's servers (servers_start), its teardown_file stops
# them.
use_servers() {
	setup_file() { servers_start; }
	teardown_file() { servers_stop; }
}

# sendmail_setup: send_setup with the default config file (sendmail
# callers give no -C) and a link named sendmail to $MAIL in the test's
# bin/, as cron and scripts call it; its path in SENDMAIL.
sendmail_setup() {
	send_setup
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	ln -s "$MAIL" "$BATS_TEST_TMPDIR/bin/sendmail"
	SENDMAIL=$BATS_TEST_TMPDIR/bin/sendmail
}

# maildir_last DIR: the path of the newest message of a Maildir.
maildir_last() {
	maildir_files "$1" | tail -n 1
}

# file_sha256 FILE: the SHA-256 of a file, in hex.
file_sha256() {
	sha256sum -- "$1" | cut -d' ' -f1
}

# message_judge FILE [whole]: python3's email package's view of a
# delivered message, one item a line: its header fields (name=value,
# decoded; from_name= for each From address), multipart= and defects=,
# then for each leaf part "part=TYPE name=FILENAME sha256=..." and
# "text=..." for inline text.  whole: also fail when the header shows
# quoted-printable (a whole message wrapped into a new one).
message_judge() {
	python3 - "$1" "${2:-}" <<'PY'
import email, email.policy, hashlib, sys
raw = open(sys.argv[1], 'rb').read()
m = email.message_from_bytes(raw, policy=email.policy.default)
for k in ("subject", "from", "to", "cc", "bcc", "message-id", "date",
          "content-type", "x-mailer", "in-reply-to"):
    print("%s=%s" % (k, m[k]))
if m["from"] is not None:
    for a in m["from"].addresses:
        print("from_name=" + a.display_name)
print("multipart=%s" % m.is_multipart())
print("defects=%d" % len(m.defects))
for p in m.walk():
    if p.is_multipart():
        continue
    data = p.get_payload(decode=True)
    print("part=%s name=%s sha256=%s" % (p.get_content_type(),
          p.get_filename(), hashlib.sha256(data).hexdigest()))
    if p.get_content_maintype() == "text" and not p.get_filename():
        print("text=" + data.decode(p.get_content_charset() or "ascii"))
if sys.argv[2] == "whole":
    assert b"=3D" not in raw.split(b"\n\n", 1)[0]
PY
}

# judge_newest DIR [whole]: waits for a message in the Maildir DIR, sets f
# to the newest one's path, shows it, runs message_judge on it (its lines
# in $output, shown too) and fails when the judge does.
judge_newest() {
	mail_wait "$1" 1
	f=$(maildir_last "$1")
	cat "$f"
	run message_judge "$f" "${2:-}"
	echo "$output"
	[ "$status" -eq 0 ]
}

# ---------------------------------------------------------------------------
# Watching suites (0530-fetch-idle, 0830-watch, 0850-compress): `mail
# watch` and `mail fetch --idle` against the harness's Dovecot and
# tests/servers/fake-imap-idle.
# ---------------------------------------------------------------------------

# watch_setup: in setup(): fresh test mailboxes and home, the harness's
# account in CONF (no POP3, timeout 5 s); MD is alice's Maildir on the
# server, STORE her local store, OUT and ERR the output files of a mail
# run in the background.
watch_setup() {
	mail_reset
	isolate_home
	CONF=$BATS_TEST_TMPDIR/config
	STORE=$HOME/Mail/test
	write_config "$CONF" pop3= timeout=5
	MD=$MAIL_TEST_MAILDIR1
	OUT=$BATS_TEST_TMPDIR/out
	ERR=$BATS_TEST_TMPDIR/err
}

# dovecot_conf: the harness Dovecot's config file.
dovecot_conf() { printf '%s\n' "$(dirname -- "$MAIL_TEST_DOVECOT_LOG")/dovecot.conf"; }

# dovecot_save FILE [FOLDER]: the message in FILE into alice's FOLDER
# (default INBOX, created when missing) through doveadm save, as Dovecot's
# LMTP would store it: Dovecot's NOTIFY learns of a message from its own
# indexes, and a file dropped into the Maildir behind its back is not
# reported until something looks there.
dovecot_save() {
	local conf
	conf=$(dovecot_conf)
	if [[ -n ${2:-} ]]; then
		doveadm -c "$conf" mailbox create -u "$MAIL_TEST_USER1" "$2" 3>&- 9>&- 2>/dev/null || true
	fi
	doveadm -c "$conf" save -u "$MAIL_TEST_USER1" -m "${2:-INBOX}" <"$1" 3>&- 9>&-
}

# dovecot_mark: the number of lines in Dovecot's log so far, for
# dovecot_bytes_after.
dovecot_mark() { wc -l <"$MAIL_TEST_DOVECOT_LOG"; }

# dovecot_bytes_after in|out N: the most bytes a session sent to (in) or
# got from (out) Dovecot, among the IMAP sessions that logged in after
# line N of its log, once each of them has said it disconnected (up to
# 10 s): Dovecot writes that line after the client may have exited, so
# the log's last "Logged out" line, just after a client's end, can be an
# earlier session's (whose small count would pass any check).  Prints
# nothing, so that a check of the number fails, when none logged in.
dovecot_bytes_after() {
	local what=$1 from=$(($2 + 1)) log=$MAIL_TEST_DOVECOT_LOG i id ids done
	for ((i = 0; i < 200; i++)); do
		ids=$(tail -n +"$from" "$log" |
			sed -n 's/.*imap-login: .*Login: .*session=<\([^>]*\)>.*/\1/p')
		done=1
		for id in $ids; do
			grep -qF "<$id>: Info: Disconnected" "$log" || done=0
		done
		[[ -n $ids ]] && ((done)) && break
		sleep 0.05
	done
	[[ -n $ids ]] || { echo "dovecot_bytes_after: no login after line $2" >&2; return 0; }
	for id in $ids; do
		grep -F "<$id>: Info: Disconnected" "$log" | grep -o " $what=[0-9]*" | cut -d= -f2
	done | sort -n | tail -n 1
}

# dovecot_up, dovecot_down: start and stop the harness's Dovecot (a
# restart in the middle of a test), waiting for its IMAPS port.
dovecot_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

dovecot_up() {
	local i
	dovecot_port_open "$MAIL_TEST_IMAPS_PORT" && return 0
	dovecot -c "$(dovecot_conf)" 3>&- 9>&-
	rm -f "$(dirname -- "$(dovecot_conf)")/run/anvil-auth-penalty"
	for ((i = 0; i < 100; i++)); do
		dovecot_port_open "$MAIL_TEST_IMAPS_PORT" && return 0
		sleep 0.1
	done
	return 1
}

dovecot_down() {
	local i
	doveadm -c "$(dovecot_conf)" stop 3>&- 9>&- || dovecot -c "$(dovecot_conf)" stop
	for ((i = 0; i < 100; i++)); do
		dovecot_port_open "$MAIL_TEST_IMAPS_PORT" || return 0
		sleep 0.1
	done
	return 1
}

# wait_for FILE REGEX SECONDS: until FILE has a line matching REGEX (else
# FILE and $ERR are shown and it fails).
wait_for() {
	local i n=$(($3 * 20))
	for ((i = 0; i < n; i++)); do
		grep -qE -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "no '$2' in $1 after $3 s; it holds:" >&2
	cat "$1" >&2 || true
	echo "stderr:" >&2
	cat "${ERR:-/dev/null}" >&2 || true
	return 1
}

# fake_idle_start MODE: tests/servers/fake-imap-idle MODE in the
# background (stopped by fake_stop), the account in CONF pointed at it;
# FAKE_BASE.msgs delivers, FAKE_BASE.log holds the client's lines.
fake_idle_start() {
	FAKE_BASE=$(mktemp -u "$BATS_TEST_TMPDIR/fake-idle.XXXXXX")
	fake_spawn "$FAKE_BASE" "$SERVERS_DIR/fake-imap-idle" "$1" "$FAKE_BASE" || return 1
	write_config "$CONF" pop3= smtp= "imap=imap://127.0.0.1:$(<"$FAKE_BASE")" \
		tls=none-i-know tls-ca-file= user=u "password-command=echo secret"
}
