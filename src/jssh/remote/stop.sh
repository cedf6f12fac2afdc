# stop.sh: `jssh down`. Stops NAME's server (TERM, then KILL after 10 s), its tmux
# session, and removes its pid file, token and socket.
#
# Pieces: helpers host lock
#
# Parameters:
#   SOCK          the server's unix socket, removed; empty: it listened on TCP
#
# Replies:
#   STOPPED pid   the server exited on TERM
#   KILLED pid    it had to be killed
#   NOTRUNNING    no server ran
#   and ERROR (host.sh), BUSY (lock.sh)
#
# Exit codes:
#   0             always, once it holds the lock
#   and 5 (ERROR, from host.sh), 6 (BUSY, from lock.sh)
#
# shellcheck disable=SC2034,SC2154  # alone, a file's shared variables look unset or
# unused: the loader's whole scripts are checked too (tests/unit/test_remote_scripts.py)

PID=$(server_pid)
if alive "$PID"; then
  kill -TERM "$PID" 2>/dev/null
  i=0
  while alive "$PID" && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  if alive "$PID"; then
    kill -KILL "$PID" 2>/dev/null
    say "KILLED $PID"
  else
    say "STOPPED $PID"
  fi
else
  say "NOTRUNNING"
fi
tmux kill-session -t "=$SESSION" >/dev/null 2>&1 || true
rm -f "$D/server.pid" "$D/token"
[ -n "$SOCK" ] && rm -f "$SOCK"
exit 0
