#!/usr/bin/env bats
# OAuth 2.0: mail auth (the redirect flow with PKCE and the device grant)
# against tests/servers/fake-idp, then logins with OAUTHBEARER and XOAUTH2
# at the harness's real Dovecot (oauth2 passdb asking the fake identity
# provider's introspection endpoint) and Postfix (SASL through Dovecot).

load helpers

setup_file() {
	servers_start
}

teardown_file() {
	servers_stop
}

setup() {
	isolate_home
	CONF=$BATS_TEST_TMPDIR/config
	TOKENS=$XDG_DATA_HOME/mail/oauth2/o
	# A browser that follows the authorization URL to the loopback
	# redirect, as a user's browser would after the login.
	BROWSER_SCRIPT=$BATS_TEST_TMPDIR/browser
	cat >"$BROWSER_SCRIPT" <<-EOF
		#!/bin/sh
		exec curl -s -o /dev/null --cacert "$MAIL_TEST_CA" -L "\$1"
	EOF
	chmod 755 "$BROWSER_SCRIPT"
	export BROWSER=$BROWSER_SCRIPT
	idp_control '{"expires_in": 3600, "reject_next_introspection": 0, "bad_state": false, "device": "grant"}'
	mail_reset
}

# oauth_config [KEY=VALUE...]: account "o" logging in with OAuth 2.0.
oauth_config() {
	local -a lines=(
		"address = Alice <$MAIL_TEST_ADDR1>"
		"imap = imaps://localhost:$MAIL_TEST_IMAPS_PORT"
		"smtp = smtp://localhost:$MAIL_TEST_SUBMISSION_PORT"
		"user = $MAIL_TEST_USER1"
		"tls-ca-file = $MAIL_TEST_CA"
		"timeout = 10"
		"store = $HOME/Mail/o"
		"auth = oauth2"
		"oauth2-provider = custom"
		"oauth2-client-id = $MAIL_TEST_IDP_CLIENT_ID"
		"oauth2-client-secret = $MAIL_TEST_IDP_CLIENT_SECRET"
		"oauth2-authorize-url = $MAIL_TEST_IDP_URL/authorize"
		"oauth2-token-url = $MAIL_TEST_IDP_URL/token"
		"oauth2-device-url = $MAIL_TEST_IDP_URL/device"
		"oauth2-scope = mail"
	)
	local kv key l
	for kv in "$@"; do
		key=${kv%%=*}
		for l in "${!lines[@]}"; do
			[[ ${lines[$l]%% =*} == "$key" ]] && unset 'lines[l]'
		done
		[[ -n ${kv#*=} ]] && lines+=("$key = ${kv#*=}")
	done
	{
		echo '[account "o"]'
		printf '    %s\n' "${lines[@]}"
	} >"$CONF"
	chmod 600 "$CONF"
}

# idp_control JSON: settings of the fake identity provider.
idp_control() {
	curl -sf --cacert "$MAIL_TEST_CA" -H 'Content-Type: application/json' \
		-d "$1" "$MAIL_TEST_IDP_URL/control" >/dev/null
}

# idp_stat NAME: one counter of the fake identity provider.
idp_stat() {
	curl -sf --cacert "$MAIL_TEST_CA" "$MAIL_TEST_IDP_URL/stats" |
		python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"
}

# token FIELD: a field of the token file.
token() {
	python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['$1'])" "$TOKENS"
}

# authorize: the first authorization by the redirect flow.
authorize() {
	run mail -C "$CONF" auth
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "auth: the redirect flow with PKCE; check logs in to IMAP and SMTP with OAUTHBEARER" {
	oauth_config
	run mail -C "$CONF" auth
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"$MAIL_TEST_IDP_URL/authorize?response_type=code"* ]]
	[[ $output == *"code_challenge_method=S256"* ]]
	[[ $output == *"redirect_uri=http%3A%2F%2F127.0.0.1%3A"* ]]
	[[ $output == *"account 'o' is authorized"* ]]
	[ "$(stat -c %a "$TOKENS")" = 600 ]
	[ "$(stat -c %a "$(dirname "$TOKENS")")" = 700 ]
	[[ $(token refresh_token) == rt-* ]]
	[[ $(token access_token) == at-* ]]
	run mail -C "$CONF" check
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"smtp localhost:$MAIL_TEST_SUBMISSION_PORT"*"login:        ok as alice with OAUTHBEARER"* ]]
	[[ $output == *"imap localhost:$MAIL_TEST_IMAPS_PORT"*"login:        ok as alice with OAUTHBEARER"* ]]
	# 3600 s from the token's issue, in whole seconds: 60 when check
	# comes within the same second, else 59
	[[ $output == *"oauth2:       access token valid until "*"(in 59 min)"* ||
	   $output == *"oauth2:       access token valid until "*"(in 60 min)"* ]]
	# (Dovecot's log process may write the line after check is done.)
	wait_for "$MAIL_TEST_DOVECOT_LOG" 'user=<alice>, method=OAUTHBEARER' 10
}

@test "auth --device: authorization_pending twice, then the tokens; XOAUTH2 and POP3 too" {
	oauth_config "auth=xoauth2" "imap=" "pop3=pop3s://localhost:$MAIL_TEST_POP3S_PORT"
	before=$(idp_stat device_code)
	run mail -C "$CONF" auth --device
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"visit https://localhost/device"* ]]
	[[ $output == *"enter the code WDJB-MJHT"* ]]
	[ "$(($(idp_stat device_code) - before))" -eq 3 ]
	[[ $(token refresh_token) == rt-* ]]
	run mail -C "$CONF" check
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"pop3 localhost:$MAIL_TEST_POP3S_PORT"*"login:        ok as alice with XOAUTH2"* ]]
	[[ $output == *"smtp localhost:"*"login:        ok as alice with XOAUTH2"* ]]
}

@test "auth --device: access_denied and expired_token say so (77)" {
	oauth_config
	idp_control '{"device": "deny"}'
	run mail -C "$CONF" auth --device
	echo "$output"
	[ "$status" -eq 77 ]
	[[ $output == *"access_denied"*"run mail auth again"* ]]
	idp_control '{"device": "expire"}'
	run mail -C "$CONF" auth --device
	echo "$output"
	[ "$status" -eq 77 ]
	[[ $output == *"expired_token"* ]]
	[ ! -e "$TOKENS" ]
}

@test "auth --device: slow_down makes the polls 5 s further apart, then the tokens" {
	oauth_config
	idp_control '{"device": "slow"}'
	before=$(idp_stat device_code)
	start=$SECONDS
	run mail -C "$CONF" auth --device
	echo "$output"
	[ "$status" -eq 0 ]
	# slow_down, authorization_pending, then the grant: two waits of
	# 1 + 5 s after the slow_down (RFC 8628 3.5), not two of 1 s
	[ "$(($(idp_stat device_code) - before))" -eq 3 ]
	[ $((SECONDS - start)) -ge 11 ]
	[[ $(token refresh_token) == rt-* ]]
}

@test "fetch and send log in with the token (IMAP, SMTP through Postfix)" {
	oauth_config
	authorize
	printf 'From: bob@example.test\nTo: alice@example.test\nSubject: via oauth\n\nhello\n' >"$BATS_TEST_TMPDIR/m.eml"
	maildir_add "$MAIL_TEST_MAILDIR1" "$BATS_TEST_TMPDIR/m.eml" >/dev/null
	run mail -C "$CONF" fetch
	echo "$output"
	[ "$status" -eq 0 ]
	grep -rq "Subject: via oauth" "$HOME/Mail/o"
	run mail -C "$CONF" send -s "sent with a token" "$MAIL_TEST_ADDR2" <<<"body"
	echo "$output"
	[ "$status" -eq 0 ]
	mail_wait "$MAIL_TEST_MAILDIR2" 1
	# (Postfix's postlogd writes the log apart from the delivery.)
	wait_for "$MAIL_TEST_POSTFIX_LOG" 'sasl_method=OAUTHBEARER, sasl_username=alice' 10
}

@test "an access token near its expiry is refreshed silently; the rotated refresh token is saved" {
	oauth_config
	idp_control '{"expires_in": 30}'
	authorize
	old_rt=$(token refresh_token)
	old_at=$(token access_token)
	idp_control '{"expires_in": 3600}'
	before=$(idp_stat refresh_token)
	run mail -C "$CONF" check
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(($(idp_stat refresh_token) - before))" -eq 1 ]
	[ "$(token refresh_token)" != "$old_rt" ]
	[ "$(token access_token)" != "$old_at" ]
	[ "$(stat -c %a "$TOKENS")" = 600 ]
	# the new one is cached: no refresh the next time
	run mail -C "$CONF" check
	[ "$status" -eq 0 ]
	[ "$(($(idp_stat refresh_token) - before))" -eq 1 ]
	# the old refresh token was revoked by the rotation: only the saved
	# one could have worked
	[[ $output == *"ok as alice with OAUTHBEARER"* ]]
}

@test "a revoked refresh token: 77 and 'run mail auth again'" {
	oauth_config
	authorize
	idp_control '{"revoke_refresh": true, "expire_access": true}'
	python3 - "$TOKENS" <<-'EOF'
		import json, sys
		d = json.load(open(sys.argv[1])); d["expires_at"] = 1
		open(sys.argv[1], "w").write(json.dumps(d))
	EOF
	run mail -C "$CONF" check
	echo "$output"
	[ "$status" -eq 77 ]
	[[ $output == *"invalid_grant"*"run mail auth again"* ]]
	run mail -C "$CONF" fetch
	echo "$output"
	[ "$status" -eq 77 ]
	[[ $output == *"run mail auth again"* ]]
	# send says the same, not "no password available", and does not
	# queue the message for a run that would fail the same way
	run mail -C "$CONF" send -s "after revoke" "$MAIL_TEST_ADDR2" <<<"body"
	echo "$output"
	[ "$status" -eq 77 ]
	[[ $output == *"run mail auth again"* ]]
	[[ $output != *"no password available"* ]]
}

@test "a server that refuses the access token once: refreshed and logged in" {
	oauth_config "smtp="
	authorize
	before=$(idp_stat refresh_token)
	idp_control '{"reject_next_introspection": 1}'
	run mail -C "$CONF" check
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"ok as alice with OAUTHBEARER"* ]]
	[ "$(($(idp_stat refresh_token) - before))" -eq 1 ]
}

@test "a redirect with another state is refused, and its code is not used" {
	oauth_config
	idp_control '{"bad_state": true}'
	before=$(idp_stat authorization_code)
	run mail -C "$CONF" auth
	echo "$output"
	[ "$status" -eq 77 ]
	[[ $output == *"another state than mail sent"* ]]
	[ "$(idp_stat authorization_code)" -eq "$before" ]
	[ ! -e "$TOKENS" ]
}

@test "a code obtained with another PKCE challenge is refused by the token endpoint" {
	oauth_config
	# An attacker's browser: gets a code for its own challenge and hands it
	# to mail's redirect with mail's state (code injection).
	cat >"$BROWSER_SCRIPT" <<-EOF
		#!/bin/sh
		url=\$1
		state=\$(printf '%s' "\$url" | sed 's/.*[?&]state=\([^&]*\).*/\1/')
		redirect=\$(printf '%s' "\$url" | sed 's/.*[?&]redirect_uri=\([^&]*\).*/\1/')
		evil=\$(printf '%s' "\$url" | sed 's/code_challenge=[^&]*/code_challenge=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/')
		loc=\$(curl -s -o /dev/null -w '%{redirect_url}' --cacert "$MAIL_TEST_CA" "\$evil")
		code=\$(printf '%s' "\$loc" | sed 's/.*[?&]code=\([^&]*\).*/\1/')
		ru=\$(printf '%s' "\$redirect" | sed 's/%3A/:/g; s/%2F/\//g')
		exec curl -s -o /dev/null "\${ru}?code=\$code&state=\$state"
	EOF
	run mail -C "$CONF" auth
	echo "$output"
	[ "$status" -eq 77 ]
	[[ $output == *"invalid_grant (PKCE verification failed)"* ]]
	[ ! -e "$TOKENS" ]
}

@test "a token file readable by others is refused (78)" {
	oauth_config
	authorize
	chmod 644 "$TOKENS"
	run mail -C "$CONF" check
	echo "$output"
	[ "$status" -eq 78 ]
	[[ $output == *"$TOKENS: refusing a token file that others can read"*"chmod 600"* ]]
	[[ $output != *"rt-"* && $output != *"at-"* ]]
}

@test "tokens through oauth2-token-store-command and oauth2-token-command" {
	store=$BATS_TEST_TMPDIR/vault
	oauth_config "oauth2-token-store-command=umask 077; cat > $store" \
		"oauth2-token-command=cat $store"
	idp_control '{"expires_in": 30}'
	authorize
	[[ $(cat "$store") == rt-* ]]
	! grep -q refresh_token "$TOKENS" || false
	first=$(cat "$store")
	idp_control '{"expires_in": 3600}'
	run mail -C "$CONF" check
	echo "$output"
	[ "$status" -eq 0 ]
	# rotated: the command got the new one
	[[ $(cat "$store") == rt-* ]]
	[ "$(cat "$store")" != "$first" ]
}

@test "nothing secret in the -v trace" {
	oauth_config
	idp_control '{"expires_in": 30}'
	run mail -C "$CONF" -v auth --device
	echo "$output"
	[ "$status" -eq 0 ]
	trace=$output
	rt=$(token refresh_token)
	at=$(token access_token)
	idp_control '{"expires_in": 3600}'
	run mail -C "$CONF" -v check
	echo "$output"
	[ "$status" -eq 0 ]
	trace="$trace
$output"
	new_at=$(token access_token)
	new_rt=$(token refresh_token)
	[[ $trace == *"POST $MAIL_TEST_IDP_URL/token"* ]]
	[[ $trace == *"HTTP 200"* ]]
	for secret in "$rt" "$at" "$new_rt" "$new_at" "$MAIL_TEST_IDP_CLIENT_SECRET" \
		"$(printf 'n,a=alice,\001auth=Bearer %s' "$new_at" | base64 -w0)" \
		"$(printf 'user=alice\001auth=Bearer %s\001\001' "$new_at" | base64 -w0)"; do
		[[ $trace != *"$secret"* ]]
	done
	[[ $trace != *"dc-"* ]]
}

@test "fetch and send: a server that refuses the access token once, refreshed and retried" {
	oauth_config
	authorize
	printf 'From: bob@example.test\nTo: alice@example.test\nSubject: retried\n\nhello\n' >"$BATS_TEST_TMPDIR/m.eml"
	maildir_add "$MAIL_TEST_MAILDIR1" "$BATS_TEST_TMPDIR/m.eml" >/dev/null
	before=$(idp_stat refresh_token)
	idp_control '{"reject_next_introspection": 1}'
	run mail -C "$CONF" fetch
	echo "$output"
	[ "$status" -eq 0 ]
	grep -rq "Subject: retried" "$HOME/Mail/o"
	[ "$(($(idp_stat refresh_token) - before))" -eq 1 ]
	idp_control '{"reject_next_introspection": 1}'
	run mail -C "$CONF" send -s "retried" "$MAIL_TEST_ADDR2" <<<"body"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(($(idp_stat refresh_token) - before))" -eq 2 ]
	mail_wait "$MAIL_TEST_MAILDIR2" 1
}

@test "libcurl is loaded only for OAuth 2.0: not linked, and a missing one is one line (69) naming it" {
	# Not among the program's libraries: the 25 it brings (GnuTLS,
	# Kerberos, LDAP...) cost every command its loading.
	run ldd "$(mail_bin)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output != *libcurl* ]]
	oauth_config
	# A broken libcurl.so.4 found first: the request fails cleanly.
	mkdir -p "$BATS_TEST_TMPDIR/lib"
	printf 'not a library\n' >"$BATS_TEST_TMPDIR/lib/libcurl.so.4"
	LD_LIBRARY_PATH=$BATS_TEST_TMPDIR/lib run mail -C "$CONF" auth --device
	echo "$output"
	[ "$status" -eq 69 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == "mail: OAuth 2.0 needs libcurl (libcurl.so.4, Debian's libcurl4): "* ]]
	[ ! -e "$TOKENS" ]
	# The real one, loaded at the first request, still works.
	run mail -C "$CONF" auth --device
	[ "$status" -eq 0 ]
}
