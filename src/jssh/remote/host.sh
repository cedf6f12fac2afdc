# host.sh: where NAME's remote state lives, and the functions that read it. Makes
# ~/.jssh/NAME (0700) if it is missing.
#
# After: helpers
#
# Parameters:
#   NAME          the managed host's name (the `jssh add --name`)
#
# Provides:
#   D             ~/.jssh/NAME: token, run.sh, server.pid, mode, jupyter.log, lock
#   LOG           D/jupyter.log, the server's output (LOG.1: the run before)
#   SESSION       the tmux session's name: jssh-NAME with . and : made _
#   alive         alive PID: PID runs and is not a zombie
#   server_pid    prints the pid in D/server.pid (nothing when there is none, or when
#                 that pid now belongs to a process started at another time)
#   tail_log      tail_log [N]: the last N (25) lines of LOG between LOGTAIL-BEGIN and
#                 LOGTAIL-END lines, which parse_reply keeps apart from the replies
#
# Replies:
#   ERROR text    D can't be made or made private
#
# Exit codes:
#   5             ERROR
#
# shellcheck disable=SC2034,SC2154  # alone, a file's shared variables look unset or
# unused: the loader's whole scripts are checked too (tests/unit/test_remote_scripts.py)

D="$HOME/.jssh/$NAME"
LOG="$D/jupyter.log"
# shellcheck disable=SC2034  # for ensure.sh and stop.sh
SESSION="jssh-$(printf '%s' "$NAME" | tr '.:' '__')"
# kill -0 succeeds on a zombie, and a killed server stays one until its new parent
# (init, which in a container may reap only every few seconds) collects it. The state
# comes from /proc with shell builtins where there is one: ensure.sh asks ten times a
# second while a server starts, and ps | grep costs three processes a time. It follows
# the command name, which is in parentheses and may itself hold ") ".
# shellcheck disable=SC2317  # not every script calls it
alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
  if [ -d /proc/self ]; then
    read -r _stat <"/proc/$1/stat" 2>/dev/null || return 1
    case ${_stat##*") "} in Z*) return 1 ;; esac
    return 0
  fi
  ! ps -o stat= -p "$1" 2>/dev/null | grep -q '^Z'
}
# D/server.pid holds the pid, then the start time `ps -o lstart=` gave for it then. A
# pid alone lies once the server is gone: after a crash or a reboot any process of this
# account may get it again (pids wrap at 32768 on many machines), and the server would
# read as running. A file of the pid alone (an older jssh) is taken as it is. Read with
# builtins (IFS= keeps the start time's spaces as ps wrote them): ensure.sh asks ten
# times a second until the new server has written the file.
# shellcheck disable=SC2317  # not every script calls it
server_pid() {
  _pid='' _started=''
  if [ -r "$D/server.pid" ]; then
    { IFS= read -r _pid; IFS= read -r _started; } <"$D/server.pid" || :
  fi
  if [ -n "$_pid" ] && [ -n "$_started" ] &&
     [ "$(ps -o lstart= -p "$_pid" 2>/dev/null)" != "$_started" ]; then
    return 0
  fi
  [ -z "$_pid" ] || printf '%s\n' "$_pid"
}
# shellcheck disable=SC2317  # not every script calls it
tail_log() { say "LOGTAIL-BEGIN"; tail -n "${1:-25}" "$LOG" 2>/dev/null; say "LOGTAIL-END"; }
# shellcheck disable=SC2015  # either one failing is the error
mkdir -p "$D" && chmod 700 "$HOME/.jssh" "$D" || { say "ERROR cannot create $D"; exit 5; }
