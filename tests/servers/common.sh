# shellcheck shell=bash disable=SC2034
# Shared definitions for tests/servers/start and tests/servers/stop.
# Sourced, not executed.  Everything here is specific to one STATEDIR, so
# several harness instances (different STATEDIRs and port bases) can coexist.

# The system's python3 (a pyenv or similar shim in PATH can take 0.2 s to
# start).
PYTHON=/usr/bin/python3
[[ -x $PYTHON ]] || PYTHON=python3

# Dovecot instances: "main" serves IMAP, POP3, LMTP and the auth socket for
# Postfix; the others serve one implicit-TLS IMAP port each with a bad
# certificate.  Dovecot 2.3 picks certificates by local IP or SNI, never by
# port, so the only way to have every endpoint on 127.0.0.1 (and therefore
# reachable as "localhost") is one small instance per certificate.
DOVECOT_INSTANCES=(main expired wronghost selfsigned)

# Fixed offsets from the port base.
declare -A PORT_OFFSET=(
	[submission]=0 [submissions]=1 [imap]=2 [imaps]=3 [pop3]=4 [pop3s]=5
	[imaps_expired]=6 [imaps_wronghost]=7 [imaps_selfsigned]=8 [idp]=9
)
PORT_SPAN=10	# ports reserved per harness instance (BASE .. BASE+9)

# die MESSAGE...: print to stderr and exit 1.
die() {
	printf 'tests/servers: %s\n' "$*" >&2
	exit 1
}

# resolve_statedir [ARG]: sets STATEDIR (absolute path, no trailing slash).
resolve_statedir() {
	STATEDIR=${1:-${MAIL_TEST_SERVERS_DIR:-/tmp/mail-test-servers-$(id -u)}}
	mkdir -p -- "$STATEDIR"
	STATEDIR=$(cd -- "$STATEDIR" && pwd -P)
	# Dovecot names its processes "dovecot-INSTANCE_NAME/service"; a tag
	# derived from STATEDIR makes ours recognisable (see instance_pids).
	DOVECOT_TAG=mt$(printf '%s' "$STATEDIR" | cksum | cut -d' ' -f1)
}

# dovecot_dir INSTANCE: directory of a Dovecot instance.
dovecot_dir() {
	if [[ $1 == main ]]; then
		printf '%s/dovecot' "$STATEDIR"
	else
		printf '%s/dovecot-%s' "$STATEDIR" "$1"
	fi
}

# pid_alive PID: true if PID is a live (non-zombie) process.
pid_alive() {
	local state
	[[ -n $1 && -r /proc/$1/stat ]] || return 1
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $state && $state != Z ]]
}

# pid_cmdline PID: the process's command line, NULs as spaces.
pid_cmdline() {
	tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" || true
}

# dovecot_master_pid INSTANCE: prints the pid of this instance's running
# Dovecot master, or nothing.  A pid file left by a killed master, or one
# whose pid has been reused by another program, yields nothing.
dovecot_master_pid() {
	local d pid
	d=$(dovecot_dir "$1")
	pid=$(cat 2>/dev/null "$d/run/master.pid") || return 0
	if pid_alive "$pid" && [[ $(pid_cmdline "$pid") == *"$d/dovecot.conf"* ]]; then
		printf '%s\n' "$pid"
	fi
}

# postfix_master_pid: pid of this instance's running Postfix master, or
# nothing.  Postfix passes MAIL_CONFIG (our configuration directory) to the
# master and every daemon; that tells our processes from anybody else's.
postfix_master_pid() {
	local pid
	pid=$(tr -d " " 2>/dev/null <"$STATEDIR/postfix/queue/pid/master.pid") || return 0
	if pid_alive "$pid" && pid_has_env "$pid" "MAIL_CONFIG=$STATEDIR/postfix/conf"; then
		printf '%s\n' "$pid"
	fi
}

# pid_has_env PID VAR=VALUE: true if the process has exactly that variable.
pid_has_env() {
	tr '\0' '\n' 2>/dev/null <"/proc/$1/environ" | grep -qxF -- "$2"
}

# instance_pids: every live process that belongs to this STATEDIR: Dovecot
# masters (command line "dovecot -c STATEDIR/dovecot*/dovecot.conf"), their
# children (process titles "dovecot-$DOVECOT_TAG-INSTANCE/service", from
# instance_name) and Postfix processes (MAIL_CONFIG=STATEDIR/postfix/conf
# in the environment).  Used to clean up after a crash, when orphans of a
# killed master may still hold ports or sockets.  The patterns are regular
# expressions that do not match themselves, so grep never finds its own
# command line.
instance_pids() {
	local dir_re
	# shellcheck disable=SC2016 # a sed script, not an expansion
	dir_re=$(printf '%s' "$STATEDIR" | sed 's/[][\.*^$(){}+?|]/\\&/g')
	{
		# (grep fails when nothing matches, or a process vanished.)
		grep -lzxE -e "dovecot-$DOVECOT_TAG-[a-z]+/.*" \
			-e "$dir_re/dovecot(-[a-z]+)?/dovecot[.]conf" /proc/[0-9]*/cmdline || true
		grep -lzxE "MAIL_CONFIG=$dir_re/postfix/con[f]" /proc/[0-9]*/environ || true
	} 2>/dev/null | sed -n 's|^/proc/\([0-9]*\)/.*|\1|p' | sort -u
}

# ports_free PORT...: true if all the ports are free on 127.0.0.1 (and on
# ::1 when USE_IPV6=1), i.e. we could bind them; prints the busy ones.
ports_free() {
	"$PYTHON" - "${USE_IPV6:-0}" "$@" <<'EOF'
import socket, sys
v6 = sys.argv[1] == "1"
addrs = [(socket.AF_INET, "127.0.0.1")] + ([(socket.AF_INET6, "::1")] if v6 else [])
busy = []
for port in map(int, sys.argv[2:]):
    for fam, host in addrs:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            busy.append(str(port))
            break
        finally:
            s.close()
print(" ".join(sorted(busy, key=int)))
sys.exit(1 if busy else 0)
EOF
}

# port_open PORT: true if something accepts connections on 127.0.0.1:PORT.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# idp_pid: pid of this STATEDIR's running fake identity provider
# (tests/servers/fake-idp), or nothing.
idp_pid() {
	local pid
	pid=$(cat 2>/dev/null "$STATEDIR/idp/pid") || return 0
	if pid_alive "$pid" && [[ $(pid_cmdline "$pid") == *fake-idp*"$STATEDIR/idp/"* ]]; then
		printf '%s\n' "$pid"
	fi
}

# stop_all: stop every server of this STATEDIR and wait (bounded) for all
# of its processes to go away.  Never fails.
stop_all() {
	local inst pid pids i
	pid=$(idp_pid)
	if [[ -n $pid ]]; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			pid_alive "$pid" || break
			sleep 0.05
		done
		pid_alive "$pid" && { kill -KILL "$pid" 2>/dev/null || true; }
	fi
	rm -f -- "$STATEDIR/idp/pid"
	# Postfix first: it depends on Dovecot's auth and LMTP sockets.
	pid=$(postfix_master_pid)
	[[ -n $pid ]] && { kill -TERM "$pid" 2>/dev/null || true; }
	for inst in "${DOVECOT_INSTANCES[@]}"; do
		pid=$(dovecot_master_pid "$inst")
		[[ -n $pid ]] && { kill -TERM "$pid" 2>/dev/null || true; }
	done
	# Masters terminate their children; orphans of a killed master exit
	# on their own once they notice.  Wait up to 10 s (SIGTERM to the
	# stragglers after 6 s), then SIGKILL.
	for ((i = 0; i < 200; i++)); do
		pids=$(instance_pids)
		[[ -z $pids ]] && break
		# shellcheck disable=SC2086 # a list of pids
		((i == 120)) && { kill -TERM $pids 2>/dev/null || true; }
		sleep 0.05
	done
	pids=$(instance_pids)
	if [[ -n $pids ]]; then
		# shellcheck disable=SC2086
		kill -KILL $pids 2>/dev/null || true
		sleep 0.2
	fi
	# Stale pid files and sockets would otherwise confuse the next start.
	for inst in "${DOVECOT_INSTANCES[@]}"; do
		rm -f -- "$(dovecot_dir "$inst")/run/master.pid"
	done
	rm -f -- "$STATEDIR"/sock/* 2>/dev/null
	return 0
}
