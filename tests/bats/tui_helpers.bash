# tui_helpers.bash - driving the reader (mail tui) in tmux, for the tui
# bats files (0700-tui, 0710-tui-compose): keys in with send-keys, the
# screen out with capture-pane.  Every wait polls the screen; no fixed
# sleeps.  A file sets SOCK (the tmux socket) in its setup and kills the
# server in its teardown.  Optional: TUI_ARGS (an array of arguments put
# before the caller's, as -C CONF), TUI_WAIT (seconds a wait lasts, 5),
# EDITOR (given to the reader with VISUAL empty), NO_COLOR.

# tui_setup: a test's start (call it from setup): skipped without tmux; a
# home of its own; no COLUMNS or NO_COLOR from the caller; T the test's
# directory and SOCK the tmux socket in it.
tui_setup() {
	command -v tmux >/dev/null || skip "tmux is not installed"
	isolate_home
	unset COLUMNS NO_COLOR
	T="$BATS_TEST_TMPDIR"
	SOCK="$T/tmux.sock"
}

# tui_start ARGS...: `mail [TUI_ARGS...] ARGS...` in a detached 80x24 tmux
# session, in a UTF-8 locale; after it exits the pane shows
# "EXITED <status>".
tui_start() {
    local q i
    q=$(printf '%q ' "$MAIL" ${TUI_ARGS[@]+"${TUI_ARGS[@]}"} "$@")
    # After `tmux kill-server` the old server may still hold the socket
    # for a moment; a new session then fails with "server exited
    # unexpectedly": wait until no server answers on it.
    for ((i = 0; i < 40; i++)); do
        tmux -S "$SOCK" has-session 2>/dev/null || break
        sleep 0.05
    done
    for ((i = 0; i < 20; i++)); do
        tui_new_session "$q" && return 0
        sleep 0.1
    done
    tui_new_session "$q"
}

tui_new_session() {
    local q=$1
    tmux -S "$SOCK" -f /dev/null new-session -d -s t -x 80 -y 24 \
        "env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=screen HOME='$HOME' \
XDG_CONFIG_HOME='$XDG_CONFIG_HOME' XDG_STATE_HOME='$XDG_STATE_HOME' \
XDG_CACHE_HOME='$XDG_CACHE_HOME' XDG_DATA_HOME='$XDG_DATA_HOME' \
${NO_COLOR:+NO_COLOR=$NO_COLOR} ${EDITOR:+EDITOR=$EDITOR VISUAL=} \
$q; echo EXITED \$?; sleep 600"
}

screen() {
    tmux -S "$SOCK" capture-pane -p -t t
}

keys() {
    tmux -S "$SOCK" send-keys -t t "$@"
}

# How many 50 ms polls a wait makes.
tui_polls() {
    echo $(( ${TUI_WAIT:-5} * 20 ))
}

# wait_screen TEXT: until the screen shows TEXT (fixed string).
wait_screen() {
    local i n
    n=$(tui_polls)
    for ((i = 0; i < n; i++)); do
        screen | grep -qF -- "$1" && return 0
        sleep 0.05
    done
    echo "screen never showed: $1"
    screen
    return 1
}

# wait_gone TEXT: until the screen no longer shows TEXT.
wait_gone() {
    local i n
    n=$(tui_polls)
    for ((i = 0; i < n; i++)); do
        screen | grep -qF -- "$1" || return 0
        sleep 0.05
    done
    echo "screen still shows: $1"
    screen
    return 1
}

# The status line (above the message line, the last of the screen).
status_line() {
    screen | tail -n 2 | head -n 1
}

# wait_status TEXT: until the status line shows TEXT.
wait_status() {
    local i n
    n=$(tui_polls)
    for ((i = 0; i < n; i++)); do
        [[ "$(status_line)" == *"$1"* ]] && return 0
        sleep 0.05
    done
    echo "status line never showed: $1"
    screen
    return 1
}

# quit_tui: q until the reader exits (the pager's q goes back to the
# index first), then its exit status must be 0.
quit_tui() {
    local i j
    for ((i = 0; i < 3; i++)); do
        keys q
        for ((j = 0; j < 20; j++)); do
            screen | grep -qF "EXITED" && break 2
            sleep 0.05
        done
    done
    wait_screen "EXITED 0"
}
