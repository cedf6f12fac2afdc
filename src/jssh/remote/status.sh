# status.sh: `jssh status`. Is NAME's server running, since when, with which token.
#
# Pieces: helpers host
#
# Replies:
#   RUNNING pid   it runs; then MODE, UPTIME and TOKEN
#   MODE how      tmux | nohup (unknown: no D/mode)
#   UPTIME time   seconds (`ps -o etimes`), or [[dd-]hh:]mm:ss where ps lacks etimes
#   TOKEN token   its token (empty when D/token is gone)
#   STOPPED       no server runs
#   and ERROR (host.sh)
#
# Exit codes:
#   0             RUNNING or STOPPED
#   and 5 (ERROR, from host.sh)
#
# shellcheck disable=SC2034,SC2154  # alone, a file's shared variables look unset or
# unused: the loader's whole scripts are checked too (tests/unit/test_remote_scripts.py)

PID=$(server_pid)
if alive "$PID"; then
  say "RUNNING $PID"
  say "MODE $(cat "$D/mode" 2>/dev/null || echo unknown)"
  up=$(ps -o etimes= -p "$PID" 2>/dev/null | tr -d ' ')
  [ -z "$up" ] && up=$(ps -o etime= -p "$PID" 2>/dev/null | tr -d ' ')
  say "UPTIME $up"
  say "TOKEN $(cat "$D/token" 2>/dev/null || true)"
else
  say "STOPPED"
fi
