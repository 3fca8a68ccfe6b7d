#!/usr/bin/env bats
# mail check against the real servers of tests/servers (Dovecot, Postfix),
# and against a fake server for the faults a real one will not produce.

load helpers

setup_file() {
    servers_start
}

teardown_file() {
    servers_stop
}

setup() {
    isolate_home
    CONF="$BATS_TEST_TMPDIR/config"
}

@test "the harness itself: every endpoint, certificate, SASL mechanism (bearer tokens too) and delivery path works (tests/servers/selftest)" {
    run "$SERVERS_DIR/selftest" "$HELPERS_SERVERS_DIR"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"ok   IMAPS $MAIL_TEST_USER1 OAUTHBEARER"* ]]
    [[ "$output" != *FAIL* ]]
}

# A config with one server for account "t"; extra lines go in the section.
one_server() {
    local url=$1; shift
    {
        echo '[account "t"]'
        echo "    address = Alice <$MAIL_TEST_ADDR1>"
        echo "    ${url%%:*} = $url" | sed 's/ smtps = / smtp = /; s/ imaps = / imap = /; s/ pop3s = / pop3 = /'
        echo "    user = $MAIL_TEST_USER1"
        echo "    password-command = cat $BATS_TEST_TMPDIR/pw"
        echo "    timeout = 5"
        for l in "$@"; do echo "    $l"; done
    } > "$CONF"
    printf '%s\n' "$MAIL_TEST_PASS1" > "$BATS_TEST_TMPDIR/pw"
    chmod 600 "$CONF" "$BATS_TEST_TMPDIR/pw"
}

@test "check: every endpoint of the harness, STARTTLS and implicit TLS" {
    for url in "smtp://localhost:$MAIL_TEST_SUBMISSION_PORT" \
               "smtps://localhost:$MAIL_TEST_SUBMISSIONS_PORT" \
               "imap://localhost:$MAIL_TEST_IMAP_PORT" \
               "imaps://localhost:$MAIL_TEST_IMAPS_PORT" \
               "pop3://localhost:$MAIL_TEST_POP3_PORT" \
               "pop3s://localhost:$MAIL_TEST_POP3S_PORT"; do
        one_server "$url" "tls-ca-file = $MAIL_TEST_CA"
        run "$MAIL" -C "$CONF" check
        echo "$url: $output"
        [ "$status" -eq 0 ]
        [[ "$output" == *"tls:          TLSv1."* ]]
        [[ "$output" == *"sha256:       $MAIL_TEST_CERT_SHA256"* ]]
        [[ "$output" == *"login:        ok as alice with SCRAM-SHA-256"* ]]
    done
}

@test "check: the whole account in one run, JSON validated" {
    write_config "$CONF"
    run "$MAIL" -C "$CONF" check --json
    [ "$status" -eq 0 ]
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert isinstance(d, list) and len(d) >= 2, d
for s in d:
    assert s["ok"] is True, s
    assert s["error"] is None
    assert s["tls"]["version"].startswith("TLSv1."), s
    assert len(s["tls"]["sha256"]) == 64
    assert s["login"]["user"] == "alice"
    assert "SCRAM-SHA-256" in s["auth_mechanisms"], s
    assert s["protocol"] in ("smtp", "imap", "pop3")
'
}

@test "check: each SASL mechanism can be forced with auth =" {
    for mech in plain login cram-md5 scram-sha-1 scram-sha-256; do
        for url in "smtp://localhost:$MAIL_TEST_SUBMISSION_PORT" \
                   "imaps://localhost:$MAIL_TEST_IMAPS_PORT" \
                   "pop3s://localhost:$MAIL_TEST_POP3S_PORT"; do
            one_server "$url" "tls-ca-file = $MAIL_TEST_CA" "auth = $mech"
            run "$MAIL" -C "$CONF" check
            echo "$mech $url: $output"
            [ "$status" -eq 0 ]
            upper=$(echo "$mech" | tr a-z A-Z)
            [[ "$output" == *"with $upper"* ]]
        done
    done
}

@test "check -v: the trace shows the dialogue but never the password" {
    for mech in plain login cram-md5 scram-sha-256; do
        one_server "imaps://localhost:$MAIL_TEST_IMAPS_PORT" \
            "tls-ca-file = $MAIL_TEST_CA" "auth = $mech"
        run "$MAIL" -C "$CONF" -v check
        [ "$status" -eq 0 ]
        [[ "$output" == *"imap> "*"AUTHENTICATE"* ]]
        [[ "$output" == *"<credentials hidden>"* ]]
        ! grep -qF "$MAIL_TEST_PASS1" <<<"$output" || false
        # Nor its base64 forms (PLAIN, LOGIN).
        b64=$(printf '%s' "$MAIL_TEST_PASS1" | base64)
        ! grep -qF "$b64" <<<"$output" || false
        b64=$(printf '\0%s\0%s' "$MAIL_TEST_USER1" "$MAIL_TEST_PASS1" | base64)
        ! grep -qF "$b64" <<<"$output" || false
    done
    # USER/PASS and IMAP LOGIN hide it too.
    for url in "pop3s://localhost:$MAIL_TEST_POP3S_PORT" \
               "smtps://localhost:$MAIL_TEST_SUBMISSIONS_PORT"; do
        one_server "$url" "tls-ca-file = $MAIL_TEST_CA" "auth = plain"
        run "$MAIL" -C "$CONF" -v check
        [ "$status" -eq 0 ]
        ! grep -qF "$MAIL_TEST_PASS1" <<<"$output" || false
    done
}

@test "check: wrong password exits 77 and names the server" {
    one_server "imaps://localhost:$MAIL_TEST_IMAPS_PORT" "tls-ca-file = $MAIL_TEST_CA"
    echo wrong-password > "$BATS_TEST_TMPDIR/pw"
    run "$MAIL" -C "$CONF" check
    echo "$output"
    [ "$status" -eq 77 ]
    [[ "$output" == *"mail: localhost:$MAIL_TEST_IMAPS_PORT: "* ]]
    ! grep -q wrong-password <<<"$output" || false
    for url in "smtp://localhost:$MAIL_TEST_SUBMISSION_PORT" \
               "pop3s://localhost:$MAIL_TEST_POP3S_PORT"; do
        one_server "$url" "tls-ca-file = $MAIL_TEST_CA"
        echo wrong-password > "$BATS_TEST_TMPDIR/pw"
        run "$MAIL" -C "$CONF" check
        echo "$output"
        [ "$status" -eq 77 ]
    done
}

@test "check: a CA we do not trust is refused, 69" {
    # No tls-ca-file: the system store does not know the test CA.
    one_server "imaps://localhost:$MAIL_TEST_IMAPS_PORT"
    run "$MAIL" -C "$CONF" check
    echo "$output"
    [ "$status" -eq 69 ]
    [[ "$output" == *"certificate verification failed"*"untrusted"* ]]
}

@test "check: an expired certificate is refused, 69" {
    one_server "imaps://localhost:$MAIL_TEST_IMAPS_EXPIRED_PORT" "tls-ca-file = $MAIL_TEST_CA"
    sed -i "s/localhost:/${MAIL_TEST_IMAPS_EXPIRED_HOST:-localhost}:/" "$CONF"
    run "$MAIL" -C "$CONF" check
    echo "$output"
    [ "$status" -eq 69 ]
    [[ "$output" == *"certificate has expired"* ]]
}

@test "check: a certificate for another host name is refused, 69" {
    one_server "imaps://localhost:$MAIL_TEST_IMAPS_WRONGHOST_PORT" "tls-ca-file = $MAIL_TEST_CA"
    sed -i "s/localhost:/${MAIL_TEST_IMAPS_WRONGHOST_HOST:-localhost}:/" "$CONF"
    run "$MAIL" -C "$CONF" check
    echo "$output"
    [ "$status" -eq 69 ]
    [[ "$output" == *"not valid for this host name"* ]]
}

@test "check: a self-signed certificate is refused, 69" {
    one_server "imaps://localhost:$MAIL_TEST_IMAPS_SELFSIGNED_PORT" "tls-ca-file = $MAIL_TEST_CA"
    sed -i "s/localhost:/${MAIL_TEST_IMAPS_SELFSIGNED_HOST:-localhost}:/" "$CONF"
    run "$MAIL" -C "$CONF" check
    echo "$output"
    [ "$status" -eq 69 ]
    [[ "$output" == *"certificate"* ]]
}

@test "check: a pinned fingerprint is trusted without a CA; a wrong pin is not" {
    one_server "imaps://localhost:$MAIL_TEST_IMAPS_PORT" "tls-fingerprint = sha256:$MAIL_TEST_CERT_SHA256"
    run "$MAIL" -C "$CONF" check
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"verified by:  fingerprint"* ]]
    one_server "imaps://localhost:$MAIL_TEST_IMAPS_PORT" "tls-fingerprint = sha256:$(printf '%064d' 0)"
    run "$MAIL" -C "$CONF" check
    echo "$output"
    [ "$status" -eq 69 ]
    [[ "$output" == *"does not match tls-fingerprint"* ]]
}

@test "check: IPv4 address as host name is verified against the certificate" {
    one_server "imaps://127.0.0.1:$MAIL_TEST_IMAPS_PORT" "tls-ca-file = $MAIL_TEST_CA"
    run "$MAIL" -C "$CONF" check
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "check: SMTP server without STARTTLS is refused before any AUTH, 69" {
    fake_start smtp-no-starttls
    one_server "smtp://127.0.0.1:$FAKE_PORT" "tls-ca-file = $MAIL_TEST_CA"
    run "$MAIL" -C "$CONF" check
    echo "$output"
    [ "$status" -eq 69 ]
    [[ "$output" == *"STARTTLS not offered by the server"* ]]
    ! grep -qi '^AUTH' "$FAKE_LOG" || false
    fake_stop
}

@test "check: IMAP and POP3 servers without STARTTLS/STLS are refused, 69" {
    fake_start imap-no-starttls
    one_server "imap://127.0.0.1:$FAKE_PORT" "tls-ca-file = $MAIL_TEST_CA"
    run "$MAIL" -C "$CONF" check
    echo "$output"
    [ "$status" -eq 69 ]
    [[ "$output" == *"STARTTLS not offered"* ]]
    ! grep -qiE 'LOGIN|AUTHENTICATE' "$FAKE_LOG" || false
    fake_stop
    fake_start pop3-no-stls
    one_server "pop3://127.0.0.1:$FAKE_PORT" "tls-ca-file = $MAIL_TEST_CA"
    run "$MAIL" -C "$CONF" check
    echo "$output"
    [ "$status" -eq 69 ]
    [[ "$output" == *"STLS"*"not offered"* ]]
    ! grep -qiE '^(USER|PASS|AUTH)' "$FAKE_LOG" || false
    fake_stop
}

@test "check: a closed port exits 69" {
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    one_server "imaps://127.0.0.1:$port" "tls-ca-file = $MAIL_TEST_CA"
    run "$MAIL" -C "$CONF" check
    echo "$output"
    [ "$status" -eq 69 ]
    [[ "$output" == *"127.0.0.1:$port: cannot connect: Connection refused"* ]]
}

@test "check: an unknown host exits 68" {
    one_server "imaps://no-such-host.invalid" "tls-ca-file = $MAIL_TEST_CA"
    run "$MAIL" -C "$CONF" check
    echo "$output"
    [ "$status" -eq 68 ]
    [[ "$output" == *"no-such-host.invalid:993: host not found"* ]]
}

@test "check: a server that never answers times out, 75" {
    fake_start silent
    one_server "imaps://127.0.0.1:$FAKE_PORT" "tls-ca-file = $MAIL_TEST_CA" "timeout = 2"
    sed -i '/timeout = 5/d' "$CONF"
    start=$(date +%s)
    run "$MAIL" -C "$CONF" check
    end=$(date +%s)
    echo "$output"
    [ "$status" -eq 75 ]
    [[ "$output" == *"timed out after 2 s"* ]]
    [ $((end - start)) -lt 10 ]
    fake_stop
}

@test "check: a malformed greeting exits 76" {
    fake_start garbage
    for url in "smtp://127.0.0.1:$FAKE_PORT" "imap://127.0.0.1:$FAKE_PORT" \
               "pop3://127.0.0.1:$FAKE_PORT"; do
        one_server "$url" "tls-ca-file = $MAIL_TEST_CA"
        run "$MAIL" -C "$CONF" check
        echo "$output"
        [ "$status" -eq 76 ]
        [[ "$output" != *$'\x01'* ]]
    done
    fake_stop
}

@test "check: a 421 greeting is a temporary failure, 75" {
    fake_start smtp-tempfail-greeting
    one_server "smtp://127.0.0.1:$FAKE_PORT" "tls-ca-file = $MAIL_TEST_CA"
    run "$MAIL" -C "$CONF" check
    echo "$output"
    [ "$status" -eq 75 ]
    [[ "$output" == *"421"* ]]
    fake_stop
}

@test "check: malformed config lines exit 78 naming file and line" {
    printf '[account "t"]\n    imap = imaps://localhost\n    bogus-key = 1\n' > "$CONF"
    run "$MAIL" -C "$CONF" check
    echo "$output"
    [ "$status" -eq 78 ]
    [[ "$output" == *"$CONF:3:"*"bogus-key"* ]]
    printf '[account "t"]\n    imap = http://localhost\n' > "$CONF"
    run "$MAIL" -C "$CONF" check
    [ "$status" -eq 78 ]
    [[ "$output" == *"$CONF:2:"* ]]
    printf '[account "t"\n' > "$CONF"
    run "$MAIL" -C "$CONF" check
    [ "$status" -eq 78 ]
    [[ "$output" == *"$CONF:1:"* ]]
    printf 'imap = imaps://x\n' > "$CONF"
    run "$MAIL" -C "$CONF" check
    [ "$status" -eq 78 ]
    [[ "$output" == *"$CONF:1:"* ]]
    run "$MAIL" -C "$BATS_TEST_TMPDIR/none" check
    [ "$status" -eq 78 ]
    run "$MAIL" -C "$CONF" -a nosuch check
    [ "$status" -eq 78 ]
}

@test "check: a literal password needs a private config file" {
    one_server "imaps://localhost:$MAIL_TEST_IMAPS_PORT" "tls-ca-file = $MAIL_TEST_CA"
    sed -i '/password-command/d' "$CONF"
    echo "    password = $MAIL_TEST_PASS1" >> "$CONF"
    chmod 644 "$CONF"
    run "$MAIL" -C "$CONF" check
    echo "$output"
    [ "$status" -eq 78 ]
    [[ "$output" == *"chmod 600"* ]]
    ! grep -qF "$MAIL_TEST_PASS1" <<<"$output" || false
    chmod 600 "$CONF"
    run "$MAIL" -C "$CONF" check
    [ "$status" -eq 0 ]
}

@test "check: no config file, servers and user on the command line, password from ~/.netrc" {
    printf 'machine localhost login %s password %s\n' "$MAIL_TEST_USER1" "$MAIL_TEST_PASS1" > "$HOME/.netrc"
    chmod 600 "$HOME/.netrc"
    # The CA must come from somewhere: pin the certificate instead.
    run "$MAIL" --imap "imaps://localhost:$MAIL_TEST_IMAPS_PORT" --user "$MAIL_TEST_USER1" check
    echo "$output"
    # Without a CA file the test CA is unknown: refused, as it must be.
    [ "$status" -eq 69 ]
    SSL_CERT_FILE="$MAIL_TEST_CA" run "$MAIL" --imap "imaps://localhost:$MAIL_TEST_IMAPS_PORT" \
        --smtp "smtp://localhost:$MAIL_TEST_SUBMISSION_PORT" --user "$MAIL_TEST_USER1" check
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"login:        ok as alice"* ]]
}

@test "check: password-command failures are reported, 77 or 78" {
    one_server "imaps://localhost:$MAIL_TEST_IMAPS_PORT" "tls-ca-file = $MAIL_TEST_CA"
    sed -i 's|password-command = .*|password-command = exit 3|' "$CONF"
    run "$MAIL" -C "$CONF" check
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"password-command"*"3"* ]]
    sed -i 's|password-command = .*|password-command = true|' "$CONF"
    run "$MAIL" -C "$CONF" check
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"printed nothing"* ]]
}
