#!/usr/bin/env bats
# Search (issue 10 item 4): one query language for local and imap:
# folders.  The same varied messages (non-ASCII and RFC 2047 encoded
# names and subjects, an attachment, HTML, quoted-printable, dates in
# other time zones, sizes, flags) go into the harness's Dovecot, a local
# Maildir and a local mbox; every operator and several combinations must
# give the same messages on all three (the server's UID SEARCH / ESEARCH
# against mail_query_match).  Sizes are the folder's own (RFC822.SIZE
# counts CRLF line ends, a Maildir file LF ones, an mbox its Status:
# lines too): the size thresholds keep clear of those few bytes.

load helpers
bats_require_minimum_version 1.5.0   # run --separate-stderr

setup_file() {
	servers_start
}
teardown_file() { servers_stop; }

setup() {
	mail_reset
	isolate_home
	CONF=$BATS_TEST_TMPDIR/config
	write_config "$CONF" pop3=
	T=$BATS_TEST_TMPDIR
	export TZ=UTC
	MD=$MAIL_TEST_MAILDIR1
}
teardown() { fake_stop; }

# fill: the messages of gen into Dovecot's INBOX, $T/md and $T/mbox,
# each with its flags.
fill() {
	local f flags
	python3 "$BATS_TEST_DIRNAME/search-messages.py" "$T/m"
	mkdir -p "$T/md/cur" "$T/md/new" "$T/md/tmp"
	for f in "$T"/m/[0-9][0-9]; do
		flags=$(cat "$f.flags")
		maildir_add "$MD" "$f" "" "$flags" >/dev/null
		maildir_add "$T/md" "$f" "" "$flags" >/dev/null
	done
	python3 - "$T/m" "$T/mbox" <<-'PY'
	import glob, os, sys, time
	src, dst = sys.argv[1], sys.argv[2]
	with open(dst, 'w') as out:
	    for f in sorted(glob.glob(src + '/[0-9][0-9]')):
	        flags = open(f + '.flags').read()
	        text = open(f).read()
	        head, body = text.split('\n\n', 1)
	        st = 'RO' if 'S' in flags else 'O'
	        xs = ''.join(c for f2, c in (('R', 'A'), ('F', 'F'), ('D', 'T')) if f2 in flags)
	        out.write(time.strftime('From sender@example.org %a %b %e %H:%M:%S %Y\n', time.gmtime(os.path.getmtime(f))))
	        out.write(head + '\nStatus: ' + st + ('\nX-Status: ' + xs if xs else '') + '\n\n')
	        for line in body.splitlines(True):
	            out.write('>' + line if line.startswith('From ') else line)
	        out.write('\n')
	PY
}

# same QUERY...: the Message-IDs `mail ls` gives on imap:INBOX, the Maildir
# and the mbox are the same (printed as SEARCH_RESULT).
same() {
	local imap md mbox
	imap=$(mail -C "$CONF" ls -F '%i' imap:INBOX "$@" | sort) || { echo "imap: $*: failed"; return 1; }
	md=$(mail -C "$CONF" ls -F '%i' "$T/md" "$@" | sort) || { echo "maildir: $*: failed"; return 1; }
	mbox=$(mail -C "$CONF" ls -F '%i' "$T/mbox" "$@" | sort) || { echo "mbox: $*: failed"; return 1; }
	if [[ $imap != "$md" || $md != "$mbox" ]]; then
		printf 'query %s\n imap: %s\n maildir: %s\n mbox: %s\n' "$*" "$(echo $imap)" "$(echo $md)" "$(echo $mbox)"
		return 1
	fi
	SEARCH_RESULT=$(echo $imap | tr -d '<>' | sed 's/@example.test//g')
}

@test "search: each operator gives the same messages on the server and locally" {
	fill
	mail -C "$CONF" ls imap:INBOX >/dev/null
	local fails=0 q
	while IFS= read -r q; do
		eval "set -- $q"
		same "$@" || fails=$((fails + 1))
	done <<-'Q'
	from:bob
	from:Builder
	from:"bob builder"
	from:example.org
	from:jürgen
	from:MÜLLER
	from:山田
	from:"Smith, John"
	to:bob
	to:dave
	to:René
	to:rene
	cc:carol
	cc:dave
	subject:report
	subject:QUARTERLY
	subject:grüße
	subject:GRÜSSE
	subject:議事録
	subject:"two words"
	subject:'"two words"'
	body:agenda
	body:STACKTRACE
	body:crème
	body:world
	body:invoice
	since:2025-12-01
	before:2025-12-01
	since:2025-11-11
	before:2025-11-11
	since:2025-12-06
	since:7d
	since:2w
	before:7d
	since:30d
	since:1d
	since:12h
	before:1d
	NOT since:1d
	NOT before:2025-12-02 NOT since:2025-12-06
	larger:1k
	larger:10k
	smaller:280
	smaller:1k
	larger:400
	larger:5G
	smaller:5G
	NOT larger:5G
	larger:4294967295 OR from:bob
	flag:unseen
	flag:flagged
	flag:unflagged
	flag:answered
	flag:unanswered
	flag:draft
	flag:draft OR flag:answered
	has:attachment
	NOT has:attachment
	bob
	carol
	report
	"two words"
	Jürgen
	from:bob subject:report
	from:bob AND subject:report
	from:bob OR from:carol
	NOT from:bob
	NOT flag:seen
	'(' from:bob OR from:carol ')' flag:seen
	'(from:bob' OR 'from:carol)' NOT flag:seen
	NOT '(' from:bob OR to:bob ')'
	has:attachment OR flag:draft
	NOT '(' has:attachment OR flag:flagged ')'
	'(' subject:report OR '(has:attachment' 'flag:seen))' NOT from:john
	from:example.org OR from:example.net OR from:example.com
	since:2025-12-01 NOT has:attachment OR body:agenda
	NOT NOT from:bob
	Q
	[ "$fails" -eq 0 ]
	# and they are the right ones (SEARCH_RESULT: the numbers of gen)
	same from:jürgen && [ "$SEARCH_RESULT" = m02 ]
	# above RFC 3501's 32-bit number: matched here (not sent as a key)
	same larger:5G && [ -z "$SEARCH_RESULT" ]
	same smaller:5G && [ "$(wc -w <<<"$SEARCH_RESULT")" -eq 12 ]
	same to:René && [ "$SEARCH_RESULT" = m08 ]
	same subject:議事録 && [ "$SEARCH_RESULT" = m03 ]
	same body:crème && [ "$SEARCH_RESULT" = m08 ]
	same bob && [ "$SEARCH_RESULT" = "m01 m06 m09" ]
	same has:attachment OR flag:draft && [ "$SEARCH_RESULT" = "m04 m06" ]
	# 23:30 -0800 on 10 Nov is 11 Nov in UTC, 09:00 +0900 on 11 Nov is its
	# first instant; the
	# message without a Date: counts by its arrival (now)
	same since:2025-11-11 before:2025-11-12 && [ "$SEARCH_RESULT" = "m02 m03" ]
	same before:2025-11-11 && [ "$SEARCH_RESULT" = m01 ]
	same since:1d && [ "$SEARCH_RESULT" = m12 ]
	same NOT since:2025-12-06 NOT before:2025-12-01 && [ "$SEARCH_RESULT" = "m04 m05 m06 m07 m08" ]
}


@test "search: a syntax error is exit 64 naming the word, before any connection" {
	# the account's server is a closed port: a query that parses would
	# fail with 69 (cannot connect), one that does not never gets there
	write_config "$CONF" pop3= imap=imap://127.0.0.1:1
	mkdir -p "$T/md/cur" "$T/md/new" "$T/md/tmp"
	run --separate-stderr mail -C "$CONF" ls imap:INBOX from:a
	[ "$status" -eq 69 ]
	local f k
	local -a words bad=("(from:a" "from:a OR" "NOT" "from:a )" "foo:bar"
		'subject:"abc' "OR from:a" "from:a AND" "()" "since:2025-02-30"
		"before:2025-13-01" "since:7x" "before:" "larger:10q" "smaller:1.5k"
		"flag:purple" "has:pdf")
	local -a want=("expected ')'" "expected a term after 'OR'"
		"expected a term after 'NOT'" "unexpected ')'" "unknown field 'foo:'"
		"unterminated quote" "'OR' needs a term before it"
		"expected a term after 'AND'" "empty parentheses"
		"since: takes a date" "before: takes a date" "since: takes a date"
		"before: takes a date" "larger: takes a size" "smaller: takes a size"
		"flag: takes" "has: takes")
	for f in imap:INBOX "$T/md"; do
		for k in "${!bad[@]}"; do
			read -ra words <<<"${bad[k]}"
			run --separate-stderr mail -C "$CONF" ls "$f" "${words[@]}"
			[ "$status" -eq 64 ] || { echo "$f ${bad[k]}: $status $stderr"; false; }
			[ "$(wc -l <<<"$stderr")" -eq 1 ]
			[[ $stderr == *"query: "*"${want[k]}"*"(word "[0-9]*")"* ]] ||
				{ echo "$f ${bad[k]}: $stderr"; false; }
			[ -z "$output" ]
		done
	done
}

@test "search: a server without ESEARCH, 50,000 hits, SEARCH in pieces among other responses" {
	fake_folder_start search
	mail -C "$CONF" ls imap:INBOX >/dev/null
	run --separate-stderr mail -C "$CONF" ls -F '%s' imap:INBOX NOT from:nobody
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[ "$(wc -l <<<"$output")" -eq 49950 ]
	[ "$(sed -n '1p;999p;1000p;49950p' <<<"$output" | tr '\n' ' ')" = "m1 m999 m1001 m49999 " ]
	# no RETURN (ALL) without ESEARCH; in chunks of 10,000 listed messages
	! grep -q 'RETURN' "$FAKE_LOG" || false
	grep -q ' UID SEARCH UID 1:10000 NOT FROM "nobody"$' "$FAKE_LOG"
	grep -q ' UID SEARCH UID 40001:50000 NOT FROM "nobody"$' "$FAKE_LOG"
	[ "$(grep -c ' UID SEARCH ' "$FAKE_LOG")" -eq 5 ]
}

@test "search: a size above 4 GiB is no SEARCH key (RFC 3501's numbers are 32 bits): matched on the listing's sizes" {
	fake_folder_start search
	mail -C "$CONF" ls imap:INBOX >/dev/null
	run --separate-stderr mail -C "$CONF" ls -F '%s' imap:INBOX larger:5G
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[ -z "$output" ]
	run --separate-stderr mail -C "$CONF" ls -F '%s' imap:INBOX smaller:5G NOT from:nobody
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[ "$(wc -l <<<"$output")" -eq 49950 ]
	# (the size is matched here; the server still runs the rest)
	grep -q ' UID SEARCH UID 1:10000 ALL NOT FROM "nobody"$' "$FAKE_LOG"
	! grep -qE 'LARGER|SMALLER' "$FAKE_LOG" || false
}

@test "search: ESEARCH: RETURN (ALL), only the command's own answer (its TAG), none found" {
	fake_folder_start esearch
	run --separate-stderr mail -C "$CONF" ls -F '%s' imap:INBOX from:s
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[ "$output" = "$(printf 'four\neight')" ]
	grep -q ' UID SEARCH RETURN (ALL) FROM "s"$' "$FAKE_LOG"
	run --separate-stderr mail -C "$CONF" ls -F '%s' imap:INBOX subject:nothing
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "search: non-ASCII on a server with LITERAL- (not LITERAL+): CHARSET UTF-8 and a literal, run by the server" {
	fake_folder_start literalminus
	run --separate-stderr mail -C "$CONF" ls -F '%s' imap:INBOX from:jürgen
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[ "$output" = eight ]
	grep -qF ' UID SEARCH RETURN (ALL) CHARSET UTF-8 FROM {7+}' "$FAKE_LOG"
	grep -q 'jürgen' "$FAKE_LOG"
}
