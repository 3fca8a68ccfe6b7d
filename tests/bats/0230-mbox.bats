#!/usr/bin/env bats
# The mbox driver against other programs: listing numbers after another
# program rewrote the file (python's mailbox module), rewriting in place
# (same inode, a waiting fcntl appender, a symlink) and kill -9 in the
# middle of a rewrite.  MAIL_MBOX_KILLS (default 6) sets the number of
# kills.

load helpers

setup() {
	isolate_home
	unset COLUMNS NO_COLOR
	T="$BATS_TEST_TMPDIR"
	D=
}

teardown() {
	[ -z "$D" ] || rm -rf "$D"
}

# mkmbox FILE N [BODY_LINES]: N messages of the same size ("message 01"..),
# Message-ID <mNN@example.org>.
mkmbox() {
	python3 - "$1" "$2" "${3:-1}" <<'PY'
import sys
path, n, lines = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
body = ''.join('line %06d of the body of a message, long enough.\n' % i
               for i in range(lines))
with open(path, 'w') as f:
    for i in range(1, n + 1):
        f.write('From sender@example.org Mon Jan  5 10:00:00 2026\n'
                'From: Sender <sender@example.org>\n'
                'Subject: message %04d\n'
                'Message-ID: <m%04d@example.org>\n\n%s\n' % (i, i, body))
PY
}

# ids FILE: the Message-IDs in file order, as python's mailbox reads them.
ids() {
	python3 - "$1" <<'PY'
import mailbox, sys
for m in mailbox.mbox(sys.argv[1]):
    print(m['Message-ID'])
PY
}

# pyexpunge FILE N: python's mailbox removes the Nth message (from 1).
pyexpunge() {
	python3 - "$1" "$2" <<'PY'
import mailbox, sys
mb = mailbox.mbox(sys.argv[1])
mb.lock()
mb.remove(list(mb.keys())[int(sys.argv[2]) - 1])
mb.flush()
mb.unlock()
PY
}

# pyflags FILE MSGID: the flags python's mailbox reads for that message.
pyflags() {
	python3 - "$1" "$2" <<'PY'
import mailbox, sys
for m in mailbox.mbox(sys.argv[1]):
    if m['Message-ID'] == sys.argv[2]:
        print(''.join(sorted(m.get_flags())))
PY
}

@test "mbox: a foreign expunge; read, flag and rm by number act on the listed message" {
	mkmbox "$T/box" 6
	"$MAIL" ls "$T/box" > /dev/null
	pyexpunge "$T/box" 3
	# 4 is now where 5 was: still 4 is shown, not 5.
	run "$MAIL" read -f "$T/box" 4
	[ "$status" -eq 0 ]
	[[ "$output" == *"message 0004"* ]]
	[[ "$output" != *"message 0005"* ]]
	# 3 is gone: refused, nothing else shown.
	run "$MAIL" read -f "$T/box" 3
	[ "$status" -eq 66 ]
	[[ "$output" == *"the folder changed: run mail ls again"* ]]
	[[ "$output" != *"message 00"* ]]
	run "$MAIL" flag -f "$T/box" 5 +flagged
	[ "$status" -eq 0 ]
	[ "$(pyflags "$T/box" '<m0005@example.org>')" = F ]
	[ "$(pyflags "$T/box" '<m0006@example.org>')" = "" ]
	run "$MAIL" rm --expunge -f "$T/box" 4
	[ "$status" -eq 0 ]
	[ "$(ids "$T/box" | tr '\n' ' ')" = "<m0001@example.org> <m0002@example.org> <m0005@example.org> <m0006@example.org> " ]
	run "$MAIL" rm --expunge -f "$T/box" 3
	[ "$status" -eq 66 ]
	[ "$(ids "$T/box" | wc -l)" -eq 4 ]
}

@test "mbox: a message another program changed is refused, never taken for another" {
	mkmbox "$T/box" 4
	"$MAIL" ls "$T/box" > /dev/null
	# python rewrites message 2 with another subject (same length) and
	# swaps nothing else: 2 no longer is what was listed.
	python3 - "$T/box" <<'PY'
import mailbox, sys
mb = mailbox.mbox(sys.argv[1])
mb.lock()
k = list(mb.keys())[1]
m = mb[k]
m.replace_header('Subject', 'changed 0002')
mb[k] = m
mb.flush()
mb.unlock()
PY
	for cmd in "read -f $T/box 2" "flag -f $T/box 2 +seen" "rm --expunge -f $T/box 2"; do
		run "$MAIL" $cmd
		[ "$status" -eq 66 ]
		[[ "$output" == *"the folder changed: run mail ls again"* ]]
	done
	[ "$(ids "$T/box" | wc -l)" -eq 4 ]
	[ "$(pyflags "$T/box" '<m0002@example.org>')" = "" ]
	# The others are still there by their numbers.
	run "$MAIL" read -f "$T/box" 3
	[ "$status" -eq 0 ]
	[[ "$output" == *"message 0003"* ]]
}

@test "mbox: flag changes and expunge rewrite in place (same inode, no file left)" {
	mkmbox "$T/box" 5
	ino=$(stat -c %i "$T/box")
	"$MAIL" ls "$T/box" > /dev/null
	run "$MAIL" flag -f "$T/box" 2 +seen +flagged
	[ "$status" -eq 0 ]
	[ "$(stat -c %i "$T/box")" = "$ino" ]
	[[ "$(pyflags "$T/box" '<m0002@example.org>')" == F*R ]]
	run "$MAIL" rm --expunge -f "$T/box" 1 3
	[ "$status" -eq 0 ]
	[ "$(stat -c %i "$T/box")" = "$ino" ]
	[ "$(ids "$T/box" | tr '\n' ' ')" = "<m0002@example.org> <m0004@example.org> <m0005@example.org> " ]
	# Numbers still name the same messages after our own rewrite.
	run "$MAIL" read -f "$T/box" 4
	[ "$status" -eq 0 ]
	[[ "$output" == *"message 0004"* ]]
	[ "$(ls -A "$T" | tr '\n' ' ')" = "box home run " ]
}

@test "mbox: through a symlink the link stays and the target has the changes" {
	mkdir "$T/real"
	mkmbox "$T/real/box" 4
	ln -s "$T/real/box" "$T/link"
	ino=$(stat -c %i "$T/real/box")
	run "$MAIL" ls "$T/link"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	run "$MAIL" flag -f "$T/link" 1 +flagged
	[ "$status" -eq 0 ]
	run "$MAIL" rm --expunge -f "$T/link" 2
	[ "$status" -eq 0 ]
	[ -L "$T/link" ]
	[ "$(stat -c %i "$T/real/box")" = "$ino" ]
	[ "$(pyflags "$T/real/box" '<m0001@example.org>')" = F ]
	[ "$(ids "$T/real/box" | tr '\n' ' ')" = "<m0001@example.org> <m0003@example.org> <m0004@example.org> " ]
	# Mail delivered to the real file later is seen through the link.
	printf 'From mda@example.org Tue Jan  6 10:00:00 2026\nSubject: late\nMessage-ID: <late@example.org>\n\nlate\n\n' >> "$T/real/box"
	run "$MAIL" ls "$T/link"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[[ "$output" == *late* ]]
}

@test "mbox: an appender waiting for the fcntl lock during a sync loses nothing" {
	mkmbox "$T/box" 4000 120
	"$MAIL" ls "$T/box" > /dev/null
	for try in 1 2 3; do
		# The appender opens the file first (as an MDA does), waits until
		# mail holds its locks, then blocks on the fcntl lock only.
		python3 - "$T/box" "$try" > "$T/appender.out" 2>&1 <<'PY' &
import fcntl, os, sys, time
path, n = sys.argv[1], sys.argv[2]
f = open(path, 'ab')
open(path + '.ready', 'w').close()
deadline = time.time() + 20
while not os.path.exists(path + '.lock'):
    if time.time() > deadline:
        print('never saw the lock'); sys.exit(3)
    time.sleep(0.001)
try:
    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print('the lock was free: too late'); sys.exit(3)
except OSError:
    pass
fcntl.lockf(f, fcntl.LOCK_EX)
f.write(('From mda@example.org Tue Jan  6 10:00:00 2026\n'
         'Subject: appended\nMessage-ID: <appended-%s@example.org>\n\n'
         'appended\n\n' % n).encode())
f.flush()
os.fsync(f.fileno())
fcntl.lockf(f, fcntl.LOCK_UN)
print('appended')
PY
		apid=$!
		while [ ! -e "$T/box.ready" ]; do sleep 0.01; done
		rm -f "$T/box.ready"
		run "$MAIL" flag -f "$T/box" 1 +seen
		[ "$status" -eq 0 ]
		wait "$apid" && break
		cat "$T/appender.out" >&2
		"$MAIL" ls "$T/box" > /dev/null
		"$MAIL" flag -f "$T/box" 1 -seen
		"$MAIL" ls "$T/box" > /dev/null
	done
	grep -q appended "$T/appender.out"
	ids "$T/box" > "$T/ids"
	grep -qx "<appended-$try@example.org>" "$T/ids"
	[ "$(wc -l < "$T/ids")" -eq 4001 ]
	run "$MAIL" ls "$T/box"
	[ "${#lines[@]}" -eq 4001 ]
	[[ "${lines[4000]}" == *appended* ]]
}

@test "mbox: kill -9 during a sync loses nothing and duplicates nothing" {
	mkmbox "$T/box" 3000 150
	kills=${MAIL_MBOX_KILLS:-6}
	undone=0
	# How long one whole sync takes here: the kills land within that.
	"$MAIL" ls "$T/box" > /dev/null
	t0=$(date +%s%N)
	"$MAIL" flag -f "$T/box" 4 +seen
	span=$((($(date +%s%N) - t0) / 1000000))
	((span > 20)) || span=20
	for ((i = 1; i <= kills; i++)); do
		"$MAIL" ls "$T/box" > /dev/null
		ids "$T/box" > "$T/before"
		if ((i % 2)); then
			"$MAIL" rm --expunge -f "$T/box" 1 &
		else
			"$MAIL" flag -f "$T/box" 1-3 +flagged &
		fi
		pid=$!
		delay=$(awk -v r="$RANDOM" -v s="$span" 'BEGIN { printf "%.3f", (r % s) / 1000 }')
		sleep "$delay"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" || true
		if ls -A "$T" | grep -q mail-sync; then
			undone=$((undone + 1))
		fi
		# The next use puts an unfinished rewrite back first.
		run "$MAIL" ls "$T/box"
		if [ "$status" -ne 0 ]; then
			echo "iteration $i (kill after ${delay}s): $output" >&2
			false
		fi
		ids "$T/box" > "$T/after"
		[ "$(sort "$T/after" | uniq -d | wc -l)" -eq 0 ]
		if ! cmp -s "$T/before" "$T/after" &&
			! cmp -s <(tail -n +2 "$T/before") "$T/after"; then
			echo "iteration $i (kill after ${delay}s): messages lost" >&2
			diff "$T/before" "$T/after" | head >&2
			false
		fi
		[ "${#lines[@]}" -eq "$(wc -l < "$T/after")" ]
		[ -z "$(ls -A "$T" | grep mail-sync)" ]
	done
	echo "# $undone of $kills kills (within ${span} ms) left a rewrite to undo" >&3
	# Every message still whole: the same body as when it was made.
	python3 - "$T/box" <<'PY'
import mailbox, sys
want = ''.join('line %06d of the body of a message, long enough.\n' % i
               for i in range(150)) + '\n'
for m in mailbox.mbox(sys.argv[1]):
    assert m.get_payload().rstrip('\n') == want.rstrip('\n'), m['Message-ID']
PY
}

@test "mbox: a user who cannot create files in the spool directory can sync" {
	# /var/mail as root:mail 0775 with the user's own mbox: no temporary
	# file or dot-lock can be made beside it; the backup goes to
	# $XDG_STATE_HOME/mail.
	[ "$(id -u)" -eq 0 ] && command -v setpriv > /dev/null ||
		skip "needs root and setpriv to run as nobody"
	D=$(mktemp -d /tmp/mail-spool-XXXXXX)
	chmod 755 "$D"
	mkdir -m 755 "$D/spool" "$D/home"
	chown nobody "$D/home"
	mkmbox "$D/spool/box" 5
	chown nobody "$D/spool/box"
	ino=$(stat -c %i "$D/spool/box")
	as_nobody() {
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
			env HOME="$D/home" XDG_STATE_HOME="$D/home/state" \
			XDG_CACHE_HOME="$D/home/cache" "$MAIL" "$@"
	}
	run as_nobody ls "$D/spool/box"
	[ "$status" -eq 0 ]
	run as_nobody flag -f "$D/spool/box" 1 +flagged
	[ "$status" -eq 0 ]
	run as_nobody rm --expunge -f "$D/spool/box" 2
	[ "$status" -eq 0 ]
	[ "$(stat -c %i "$D/spool/box")" = "$ino" ]
	[ "$(pyflags "$D/spool/box" '<m0001@example.org>')" = F ]
	[ "$(ids "$D/spool/box" | wc -l)" -eq 4 ]
	[ "$(ls -A "$D/spool")" = box ]
	[ -z "$(ls -A "$D/home/state/mail" | grep mbox-sync)" ]
}
