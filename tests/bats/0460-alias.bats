#!/usr/bin/env bats
# mail alias and the address book: the aliases file changed in place,
# the addresses of mail sent through the harness's Postfix collected, an
# address-command given the query as one argument, completion in the To
# and Cc prompts of `mail send` (driven in tmux), and mutt's and
# neomutt's own use of `mail alias -q` as their query_command.

load helpers

use_servers

setup() {
    CONF="$BATS_TEST_TMPDIR/config"
    send_setup "$CONF"
    T="$BATS_TEST_TMPDIR"
    A="$XDG_CONFIG_HOME/mail/aliases"
    ADDRS="$XDG_STATE_HOME/mail/addresses"
    mkdir -p "$XDG_CONFIG_HOME/mail"
}

teardown() {
    [ -n "${SOCK:-}" ] && tmux -S "$SOCK" kill-server 2>/dev/null
    true
}

@test "alias: set, list, show, replace and remove; comments, other lines and the mode kept" {
    printf '# my aliases\nset sort=date\nalias carol Carol <carol@example.org>\n' > "$A"
    chmod 640 "$A"
    run "$MAIL" alias bob 'Bob Example <bob@example.org>'
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    run "$MAIL" alias team bob carol dave@example.org
    [ "$status" -eq 0 ]
    run "$MAIL" alias
    [ "$status" -eq 0 ]
    [ "$output" = $'carol\tCarol <carol@example.org>\nbob\tBob Example <bob@example.org>\nteam\tbob, carol, dave@example.org' ]
    # the expansion, aliases in it expanded
    run "$MAIL" alias team
    [ "$status" -eq 0 ]
    [ "$output" = "Bob Example <bob@example.org>, Carol <carol@example.org>, dave@example.org" ]
    # replaced in its place, not added twice
    run "$MAIL" alias BOB 'Robert <rob@example.org>'
    [ "$status" -eq 0 ]
    [ "$(grep -ci '^alias bob ' "$A")" -eq 1 ]
    grep -qx 'alias bob Robert <rob@example.org>' "$A"
    [ "$(head -n 2 "$A")" = $'# my aliases\nset sort=date' ]
    [ "$(stat -c %a "$A")" = 640 ]
    run "$MAIL" alias --json
    [ "$status" -eq 0 ]
    python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d[1]=={"name":"bob","value":"Robert <rob@example.org>"}, d' "$output"
    run "$MAIL" alias -d carol
    [ "$status" -eq 0 ]
    ! grep -q '^alias carol' "$A" || false
    grep -q '^# my aliases$' "$A"
    run "$MAIL" alias -d carol
    [ "$status" -eq 66 ]
    [[ "$output" == "mail: no alias 'carol' in "* ]]
    run "$MAIL" alias carol
    [ "$status" -eq 66 ]
    [ "$output" = "mail: no alias 'carol'" ]
    # no lock or temporary file left (the lock is the directory's)
    [ "$(ls "$XDG_CONFIG_HOME/mail" | grep -c '^aliases\.')" -eq 0 ]
}

@test "alias: bad names and bad addresses exit 64 and change nothing" {
    printf 'alias bob bob@example.org\n' > "$A"
    cp "$A" "$T/before"
    for n in 'a b' $'a\tb' $'x\e[31m' 'a@b' 'a,b' '<a>' $'a\xe2\x80\xaeb'; do
        run "$MAIL" alias "$n" x@example.org
        [ "$status" -eq 64 ] || { echo "name '$n': $status $output"; false; }
        [[ "$output" == "mail: bad alias name"* ]]
        [ "${#lines[@]}" -eq 1 ]
    done
    run "$MAIL" alias ok 'bob@example.org NOTIFY=NEVER'
    [ "$status" -eq 64 ]
    run "$MAIL" alias ok $'a@example.org\nalias evil e@example.org'
    [ "$status" -eq 64 ]
    run "$MAIL" alias ok '<a@example.org'
    [ "$status" -eq 64 ]
    run "$MAIL" alias -d
    [ "$status" -eq 64 ]
    cmp "$A" "$T/before"
}

@test "alias: the listing and queries are terminal-safe" {
    printf 'alias evil Evil\e]0;pwned\a \e[2J <evil@example.org>\n' > "$A"
    run "$MAIL" alias
    [ "$status" -eq 0 ]
    [[ "$output" != *$'\e'* && "$output" != *$'\a'* ]]
    [[ "$output" == *'^[]0;pwned^G ^[[2J'* ]]
    run "$MAIL" alias -q pwned
    [[ "$output" != *$'\e'* && "$output" != *$'\a'* ]]
    run "$MAIL" alias --json -q pwned
    python3 -c 'import json,sys; json.loads(sys.argv[1])' "$output"
}

@test "address-command: the query is one argument, shell metacharacters and all; its output is not trusted" {
    cat > "$T/q.sh" <<'SH'
#!/bin/sh
printf '%s\n' "$#" "$@" > "$(dirname "$0")/args"
echo "searching the card directory"
printf 'card@example.org\tCard Person\tpersonal\n'
printf 'esc@example.org\tE\033]0;x\007vil\342\200\256\tinfo\033[2J\n'
printf 'no tab here card2@example.org\n'
printf 'not an address\tNobody\n'
head -c 100000 /dev/zero | tr '\0' a; printf '@example.org\tHuge\n'
SH
    chmod +x "$T/q.sh"
    write_config "$CONF" "address-command=$T/q.sh --flag"
    cd "$T"
    q='x'"'"'"; $(touch pwned) `touch pwned2` %s ;touch pwned3'
    run "$MAIL" -C "$CONF" alias -q "$q"
    echo "$output"
    [ "$status" -eq 0 ]
    [ ! -e "$T/pwned" ]
    [ ! -e "$T/pwned2" ]
    [ ! -e "$T/pwned3" ]
    [ "$(cat "$T/args")" = "2
--flag
$q" ]
    [ "${lines[1]}" = $'card@example.org\tCard Person\tpersonal' ]
    [ "${lines[2]}" = $'esc@example.org\tE ]0;x vil\tinfo [2J' ]
    [ "${#lines[@]}" -eq 3 ]
    # mutt's %s, where the user put it
    write_config "$CONF" "address-command=$T/q.sh '%s' --flag"
    run "$MAIL" -C "$CONF" alias -q "$q"
    [ "$status" -eq 0 ]
    [ "$(cat "$T/args")" = "2
$q
--flag" ]
    [ ! -e "$T/pwned" ]
    # a failing command is said; the rest still comes
    printf 'alias card Card Alias <card@example.org>\n' > "$A"
    write_config "$CONF" "address-command=exit 3; :"
    run "$MAIL" -C "$CONF" alias -q card
    [ "$status" -eq 75 ]
    [[ "$output" == *"mail: address-command exited with status 3"* ]]
    [[ "$output" == *$'card@example.org\tCard Alias\talias card'* ]]
}

@test "send collects To, Cc and Bcc after a real delivery through Postfix, once per address, the latest name" {
    run "$MAIL" -C "$CONF" send -s one -c "Alice Cc <$MAIL_TEST_ADDR1>" \
        "Bob Example <$MAIL_TEST_ADDR2>" <<<"hi"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 1
    run "$MAIL" -C "$CONF" alias -q example.test
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *$'\n'"$MAIL_TEST_ADDR2"$'\tBob Example\tsent 1'* ]]
    [[ "$output" == *$'\n'"$MAIL_TEST_ADDR1"$'\tAlice Cc\tsent 1'* ]]
    # again: Bcc, the domain in capitals, a new name
    bob_upper="${MAIL_TEST_ADDR2%@*}@$(tr a-z A-Z <<<"${MAIL_TEST_ADDR2#*@}")"
    run "$MAIL" -C "$CONF" send -s two -b "Robert <$bob_upper>" "$MAIL_TEST_ADDR1" <<<"hi"
    [ "$status" -eq 0 ]
    mail_wait "$MAIL_TEST_MAILDIR2" 2
    run "$MAIL" -C "$CONF" alias --json -q example
    echo "$output"
    python3 - "$output" "$MAIL_TEST_ADDR2" "$MAIL_TEST_ADDR1" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
assert len(d) == 2, d
bob = [e for e in d if e["address"].lower() == sys.argv[2]][0]
assert bob["name"] == "Robert" and bob["count"] == 2 and bob["source"] == "sent", bob
alice = [e for e in d if e["address"] == sys.argv[3]][0]
assert alice["name"] == "Alice Cc" and alice["count"] == 2, alice
PY
    [ "$(wc -l < "$ADDRS")" -eq 2 ]
    # a message that did not go is not collected
    write_config "$T/down" "smtp=smtp://127.0.0.1:1"
    run "$MAIL" -C "$T/down" send -s three nobody@example.test <<<"hi"
    [ "$status" -eq 75 ]
    ! grep -q nobody "$ADDRS" || false
}

# tmux_start CMD...: CMD in a detached 100x24 tmux session with this
# test's HOME and XDG directories; after it exits the pane shows
# "EXITED <status>".
tmux_start() {
    local q
    q=$(printf '%q ' "$@")
    SOCK="$T/tmux.sock"
    tmux -S "$SOCK" -f /dev/null new-session -d -s t -x 100 -y 24 \
        "env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=screen HOME='$HOME' \
XDG_CONFIG_HOME='$XDG_CONFIG_HOME' XDG_STATE_HOME='$XDG_STATE_HOME' \
XDG_CACHE_HOME='$XDG_CACHE_HOME' XDG_DATA_HOME='$XDG_DATA_HOME' \
VISUAL='$T/ed.sh' INPUTRC=/dev/null $q; echo EXITED \$?; sleep 600"
}

screen() {
    tmux -S "$SOCK" capture-pane -p -t t
}

# wait_screen TEXT: until the screen shows TEXT (fixed string), 5 s at most.
wait_screen() {
    local i
    for ((i = 0; i < 100; i++)); do
        screen | grep -qF -- "$1" && return 0
        sleep 0.05
    done
    echo "screen never showed: $1"
    screen
    return 1
}

@test "mail send on a terminal: To and Cc complete from the collected addresses and the aliases; the send is collected" {
    command -v tmux >/dev/null || skip "tmux is not installed"
    printf 'alias team Alice A <%s>\n' "$MAIL_TEST_ADDR1" > "$A"
    mkdir -p "$(dirname "$ADDRS")"
    printf '1700000000\t3\t%s\tBobby Example\n' "$MAIL_TEST_ADDR2" > "$ADDRS"
    printf '#!/bin/sh\necho "typed in the editor" >> "$1"\n' > "$T/ed.sh"
    chmod +x "$T/ed.sh"
    tmux_start "$MAIL" -C "$CONF" send -s completed
    wait_screen "To:"
    tmux -S "$SOCK" send-keys -t t 'bobby' Tab
    wait_screen "To: Bobby Example <$MAIL_TEST_ADDR2>,"
    tmux -S "$SOCK" send-keys -t t Enter
    wait_screen "Cc:"
    tmux -S "$SOCK" send-keys -t t 'TEA' Tab
    wait_screen "Cc: team,"
    tmux -S "$SOCK" send-keys -t t Enter
    wait_screen "(s)end, (e)dit again, (a)bort?"
    tmux -S "$SOCK" send-keys -t t s Enter
    wait_screen "EXITED 0"
    judge_newest "$MAIL_TEST_MAILDIR2"
    [[ "$output" == *"to=Bobby Example <$MAIL_TEST_ADDR2>"* ]]
    [[ "$output" == *"cc=Alice A <$MAIL_TEST_ADDR1>"* ]]
    [[ "$output" == *"text=typed in the editor"* ]]
    mail_wait "$MAIL_TEST_MAILDIR1" 1
    grep -q $'\t4\t'"$MAIL_TEST_ADDR2"$'\tBobby Example$' "$ADDRS"
    grep -q $'\t1\t'"$MAIL_TEST_ADDR1"$'\tAlice A$' "$ADDRS"
}

@test "mutt and neomutt use 'mail alias -q %s' as their query_command" {
    command -v tmux >/dev/null || skip "tmux is not installed"
    peers=
    for m in mutt neomutt; do
        command -v $m >/dev/null && peers="$peers $m"
    done
    [ -n "$peers" ] || skip "neither mutt nor neomutt is installed (scripts/install-deps --test installs mutt)"
    printf 'alias rob Robert Roe <rob@example.org>\nalias bob Bob Example <bob@example.org>\n' > "$A"
    mkdir -p "$T/Mail"
    cat > "$T/muttrc" <<RC
set query_command = "$MAIL alias -q %s"
set folder = $T/Mail
set spoolfile = /dev/null
set record = ""
set editor = true
RC
    for m in $peers; do
        tmux_start $m -n -F "$T/muttrc" -s x
        wait_screen "To:"
        # one entry: completed in place
        tmux -S "$SOCK" send-keys -t t 'robert' C-t
        wait_screen "To: Robert Roe <rob@example.org>" || { echo "$m"; false; }
        tmux -S "$SOCK" send-keys -t t C-u 'ob' C-t
        # several: mutt's query menu, each with its name and info
        wait_screen "alias bob" || { echo "$m"; false; }
        screen | grep -F "Bob Example" | grep -qF "bob@example.org"
        screen | grep -qF "alias rob"
        tmux -S "$SOCK" kill-server
    done
    [[ $peers == " mutt neomutt" ]] || skip "only$peers is installed: tested with it"
}

@test "alias and send leave no lock file beside the aliases or the collected addresses; concurrent changes still lose nothing" {
    run "$MAIL" alias bob 'Bob Example <bob@example.org>'
    [ "$status" -eq 0 ]
    run "$MAIL" -C "$CONF" send -s locks "$MAIL_TEST_ADDR2" <<<"hi"
    [ "$status" -eq 0 ]
    [ -s "$ADDRS" ]
    [ -s "$A" ]
    run find "$XDG_CONFIG_HOME" "$XDG_STATE_HOME" -name '*.lock'
    echo "$output"
    [ -z "$output" ]
    # the lock (the directory's) still serialises writers: twenty at
    # once, every alias kept
    for i in $(seq 1 20); do
        "$MAIL" alias "n$i" "N$i <n$i@example.org>" &
    done
    wait
    for i in $(seq 1 20); do
        grep -qx "alias n$i N$i <n$i@example.org>" "$A" || { echo "n$i lost"; cat "$A"; false; }
    done
    grep -qx 'alias bob Bob Example <bob@example.org>' "$A"
    run find "$XDG_CONFIG_HOME" "$XDG_STATE_HOME" -name '*.lock'
    [ -z "$output" ]
}
