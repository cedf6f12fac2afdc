# watch.sh: `jssh watch`. Blocks until NAME's server exits (or, UNTIL=start, until one
# runs), then answers and exits: the watchdog takes the exit of its ssh as the event.
# It also ends when its stdin closes (the watchdog stopped the watch, or its master
# went), so that no loop is left behind on the remote.
#
# Pieces: helpers host idle
#
# Parameters:
#   UNTIL         exit: wait for the running server to exit; start: for one to run
#
# Replies:
#   WATCHING pid  (exit) the server it waits for
#   GONE pid      (exit) that server exited; then MODE, and IDLE when it shut itself
#                 down after its idle timeout
#   NOTRUNNING    (exit) no server runs now; then MODE, and IDLE likewise
#   APPEARED pid  (start) a server runs
#   MODE how      how the last server ran: tmux | nohup (unknown: no D/mode)
#   and ERROR (host.sh), IDLE (idle.sh)
#
# Exit codes:
#   0             NOTRUNNING, or its stdin closed
#   and 5 (ERROR, from host.sh); killed by TERM after GONE or APPEARED
#
# shellcheck disable=SC2034,SC2154  # alone, a file's shared variables look unset or
# unused: the loader's whole scripts are checked too (tests/unit/test_remote_scripts.py)

# kill -0 and ps each half second: nothing on the remote tells of another process's exit.
nap() { sleep 0.5 2>/dev/null || sleep 1; }
MODE=$(cat "$D/mode" 2>/dev/null || echo unknown)
PID=$(server_pid)
if [ "$UNTIL" = start ]; then
  (
    while ! alive "$(server_pid)"; do nap; done
    say "APPEARED $(server_pid)"
    kill $$
  ) &
elif alive "$PID"; then
  say "WATCHING $PID"
  (
    while alive "$PID"; do nap; done
    say "GONE $PID"
    say "MODE $(cat "$D/mode" 2>/dev/null || echo "$MODE")"
    idle_end "$LOG"
    kill $$
  ) &
else
  say "NOTRUNNING"
  say "MODE $MODE"
  idle_end "$LOG"
  exit 0
fi
WATCHER=$!
# Until the watchdog's side closes: then stop watching, and leave nothing running. One
# group, so that a shell reading its script from stdin line by line (bash) has read all
# of it before `read` takes what follows on stdin.
{
  while read -r _; do :; done
  kill "$WATCHER" 2>/dev/null
  exit 0
}
