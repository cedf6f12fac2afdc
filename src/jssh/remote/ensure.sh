# ensure.sh: `jssh up`. Finds NAME's running Jupyter server, or starts one (detached,
# under tmux, else nohup) and waits, bounded, until it listens.
#
# Pieces: helpers host lock find write_run
#
# Parameters:
#   SOCK          the unix socket Jupyter is to listen on; empty: it listens on TCP
#   WAIT_TENTHS   how long to wait for a new server to listen, in tenths of a second
#   USE_TMUX      1: in a tmux session when tmux works, else under nohup; 0: nohup
#
# Replies:
#   RUNNING pid   a server was running already; then MODE and TOKEN
#   STARTED pid   a new server listens; then MODE
#   MODE how      tmux | nohup (unknown: no D/mode)
#   TOKEN token   the running server's token (empty when D/token is gone)
#   SOCKDIR dir   the socket's directory is a link or not ours: nothing started; then HOME
#   HOME dir      the remote $HOME, for the hint that goes with SOCKDIR
#   NOTFOUND what jupyter was not found; what was tried
#   DIED pid      the new server exited before it listened; then its log's tail
#   TIMEOUT pid   it did not listen within WAIT_TENTHS (pid `none`: it never started);
#                 then its log's tail. It may still come up.
#   and ERROR (host.sh), BUSY (lock.sh), WARN (write_run.sh)
#
# Exit codes:
#   0             RUNNING or STARTED
#   3             NOTFOUND
#   4             DIED
#   5             SOCKDIR (or ERROR, from host.sh)
#   7             TIMEOUT
#   and 6 (BUSY, from lock.sh)
#
# shellcheck disable=SC2034,SC2154  # alone, a file's shared variables look unset or
# unused: the loader's whole scripts are checked too (tests/unit/test_remote_scripts.py)

PID=$(server_pid)
if alive "$PID"; then
  say "RUNNING $PID"
  say "MODE $(cat "$D/mode" 2>/dev/null || echo unknown)"
  say "TOKEN $(cat "$D/token" 2>/dev/null || true)"
  exit 0
fi
# Nothing runs: clear what a dead server left, including its tmux session.
tmux kill-session -t "=$SESSION" >/dev/null 2>&1 || true
rm -f "$D/server.pid"

if [ -n "$SOCK" ]; then
  SD=${SOCK%/*}
  [ -d "$SD" ] || mkdir -m 700 "$SD" 2>/dev/null
  if [ -L "$SD" ] || [ ! -O "$SD" ]; then
    say "SOCKDIR $SD"
    say "HOME $HOME"
    exit 5
  fi
  chmod 700 "$SD"
  rm -f "$SOCK"
fi

find_jupyter

if [ -z "$J" ]; then
  say "NOTFOUND $TRIED"
  exit 3
fi

write_run

# shellcheck disable=SC2209  # the word nohup, not its output
MODE=nohup
if [ "$USE_TMUX" = 1 ] && command -v tmux >/dev/null 2>&1 &&
   tmux new-session -d -s "$SESSION" -c "$D" "exec sh $(shq "$D/run.sh")" >"$D/tmux.err" 2>&1; then
  MODE=tmux
else
  if command -v setsid >/dev/null 2>&1; then
    nohup setsid sh "$D/run.sh" </dev/null >/dev/null 2>&1 &
  else
    nohup sh "$D/run.sh" </dev/null >/dev/null 2>&1 &
  fi
fi
echo "$MODE" > "$D/mode"

# Wait, bounded, for the server to listen; say at once if it dies instead. Every 50 ms,
# as `up` waits on it: each check is a shell builtin but the grep of the log, which a
# server on a port needs each time and one on a socket only as a fallback (every 0.2 s).
i=0
PID=""
while :; do
  # Not server_pid: the file is the new server's (the old one's was removed above), and
  # one that exited before this first look has no start time left to match. It is dead,
  # not yet to come, and must say DIED now rather than TIMEOUT after the whole wait.
  if [ -z "$PID" ] && [ -r "$D/server.pid" ]; then
    IFS= read -r PID <"$D/server.pid" || PID=""
  fi
  if [ -n "$PID" ] && ! alive "$PID"; then
    say "DIED $PID"
    tail_log 30
    rm -f "$D/server.pid"
    exit 4
  fi
  if [ -n "$PID" ]; then
    if [ -n "$SOCK" ] && [ -S "$SOCK" ]; then break; fi
    if { [ -z "$SOCK" ] || [ $((i % 4)) -eq 0 ]; } &&
       grep -q "is running at" "$LOG" 2>/dev/null; then break; fi
  fi
  i=$((i + 1))
  if [ "$i" -gt $((WAIT_TENTHS * 2)) ]; then
    say "TIMEOUT ${PID:-none}"
    tail_log 30
    exit 7
  fi
  sleep 0.05
done
say "STARTED $PID"
say "MODE $MODE"
