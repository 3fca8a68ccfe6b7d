#!/usr/bin/env bats
# The end of the SMTP data phase against tests/servers/fake-smtp-dot, a
# server that takes the whole message and then closes, stalls or answers
# late: faults that Postfix does not produce on demand.  (The 10-minute
# wait for a server that stalls after the dot is not run here: the close
# takes the same path, no reply after the final dot, and test_smtp's
# test_stall_after_dot drives the library against a stalling server with
# mail_smtp_data.dot_timeout lowered to 2 seconds.)

bats_require_minimum_version 1.5.0

load helpers

setup() {
    isolate_home
    CONF=$BATS_TEST_TMPDIR/config
    DOT_PIDS=
}

teardown() {
    local pid
    for pid in ${DOT_PIDS:-}; do
        kill "$pid" 2>/dev/null || true
    done
    fake_stop
}

# dot_start MODE [SECONDS]: starts tests/servers/fake-smtp-dot, sets
# DOT_PORT, DOT_LOG and DOT_BASE (messages are $DOT_BASE.msg.N), and writes
# a config for it: no TLS, AUTH accepted, timeout = 1 second.
dot_start() {
    local i mode=$1
    shift
    DOT_BASE=$BATS_TEST_TMPDIR/dot
    "$SERVERS_DIR/fake-smtp-dot" "$mode" "$DOT_BASE" "$@" 3>&- &
    DOT_PIDS="$DOT_PIDS $!"
    for ((i = 0; i < 400; i++)); do
        [[ -s $DOT_BASE ]] && break
        sleep 0.025
    done
    DOT_PORT=$(<"$DOT_BASE")
    DOT_LOG=$DOT_BASE.log
    dot_config "smtp://127.0.0.1:$DOT_PORT"
}

dot_config() {
    printf 'secret\n' > "$BATS_TEST_TMPDIR/pass"
    cat > "$CONF" <<CONF
[account "test"]
    address = Alice <alice@example.test>
    smtp = $1
    tls = none-i-know
    user = alice
    password-command = cat $BATS_TEST_TMPDIR/pass
    timeout = 1
    default = true
CONF
    chmod 600 "$CONF"
}

@test "smtp: the connection closes after the final dot: outcome unknown, said, sent once" {
    dot_start close
    run --separate-stderr "$MAIL" -C "$CONF" send -s gone bob@example.test <<<"body"
    echo "status=$status stderr=$stderr"
    [ "$status" -eq 75 ]
    # (The library's message starts with HOST:PORT, test_smtp checks it;
    # mail send words it its own way around the same sentence.)
    [[ "$stderr" == *"no reply after the end of the message: it may or may not have been delivered"* ]]
    # The server has the message, once: no silent second attempt.
    [ "$(grep -c '<message>' "$DOT_LOG")" -eq 1 ]
    [ "$(grep -c ' DATA$' "$DOT_LOG")" -eq 1 ]
}

@test "smtp: the reply to the final dot may take longer than the account's timeout" {
    # timeout = 1; the server answers the dot after 3 seconds, as one that
    # runs content filters may (RFC 5321 4.5.3.2.6: wait 10 minutes).
    dot_start slow 3
    run --separate-stderr "$MAIL" -C "$CONF" send -s slow bob@example.test <<<"body"
    echo "status=$status stderr=$stderr"
    [ "$status" -eq 0 ]
    [ "$(grep -c '<message>' "$DOT_LOG")" -eq 1 ]
}

@test "smtp: the greeting still waits only the account's timeout" {
    fake_start silent
    dot_config "smtp://127.0.0.1:$FAKE_PORT"
    SECONDS=0
    run --separate-stderr "$MAIL" -C "$CONF" send -s x bob@example.test <<<"body"
    echo "status=$status stderr=$stderr"
    [ "$status" -eq 75 ]
    [[ "$stderr" == *"timed out after 1 s"* ]]
    [ "$SECONDS" -lt 10 ]
}

@test "smtp: no bare CR or LF reaches the server (smuggling shapes in the body)" {
    dot_start ok
    printf 'To: bob@example.test\nSubject: shapes\n\none\n.\ntwo\r.\rthree\r\n.\rfour\n.\r\nfive\n' \
        > "$BATS_TEST_TMPDIR/msg"
    run --separate-stderr "$MAIL" -C "$CONF" send -t < "$BATS_TEST_TMPDIR/msg"
    echo "status=$status stderr=$stderr"
    [ "$status" -eq 0 ]
    python3 - "$DOT_BASE.msg.1" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
assert not re.search(rb"\r(?!\n)|(?<!\r)\n", data), repr(data)
# Every line that starts with a dot was stuffed: no "\r\n.\r\n" inside.
assert b"\r\n.\r\n" not in data, repr(data)
PY
}
