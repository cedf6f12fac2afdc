"""The POSIX sh scripts jssh runs on the remote, through the master, on stdin.

One round trip does a whole job (find or start Jupyter and wait for it; stop it; report
on it), so a cold `up` costs a handful of round trips and a warm one none. Every value
that comes from Python is quoted with shlex.quote; the script quotes what it computes
with `shq`. The token travels inside the script, on stdin, and reaches Jupyter through
a 0600 file and the JUPYTER_TOKEN environment variable, never a command line.

Remote layout, per managed host NAME:
    ~/.jssh/NAME/           0700
        token               0600, the server's token
        run.sh              what tmux/nohup runs: sets the token, execs jupyter
        server.pid          the jupyter server's pid
        mode                tmux | nohup
        jupyter.log         the server's output (jupyter.log.1: the run before)
    /tmp/jssh-USER/NAME.sock   the server's unix socket, in a 0700 dir we own
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from jssh.hosts import HostRecord

REMOTE_DIR = ".jssh"

# Shell helpers every script starts with: strict, private, and a quoting function.
_HELPERS = r"""
set -u
umask 077
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
say() { printf '%s\n' "$*"; }
"""

_PRELUDE = (
    _HELPERS
    + r"""
D="$HOME/.jssh/$NAME"
LOG="$D/jupyter.log"
SESSION="jssh-$(printf '%s' "$NAME" | tr '.:' '__')"
# kill -0 succeeds on a zombie, and a killed server stays one until its new parent
# (init, which in a container may reap only every few seconds) collects it.
alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null &&
    ! ps -o stat= -p "$1" 2>/dev/null | grep -q '^Z'
}
server_pid() { cat "$D/server.pid" 2>/dev/null || true; }
tail_log() { say "LOGTAIL-BEGIN"; tail -n "${1:-25}" "$LOG" 2>/dev/null; say "LOGTAIL-END"; }
mkdir -p "$D" && chmod 700 "$HOME/.jssh" "$D" || { say "ERROR cannot create $D"; exit 5; }
"""
)

_LOCK = r"""
n=0
while ! mkdir "$D/lock" 2>/dev/null; do
  holder=$(cat "$D/lock/pid" 2>/dev/null || true)
  if [ -n "$holder" ] && ! kill -0 "$holder" 2>/dev/null; then rm -rf "$D/lock"; continue; fi
  n=$((n + 1))
  if [ "$n" -gt 600 ]; then say "BUSY another jssh is starting Jupyter for $NAME"; exit 6; fi
  sleep 0.1
done
echo $$ > "$D/lock/pid"
trap 'rm -rf "$D/lock"' EXIT
"""

# Finds jupyter the way the host was configured to (FINDER and its settings): leaves
# its path in J (empty when not found) and what was tried in TRIED. Shared by `up`,
# which starts what it finds, and `doctor`, which only reports on it.
_FIND = r"""
TRIED=""
J=""
case $FINDER in
  venv)
    V=$VENV
    case $V in "~") V=$HOME ;; "~/"*) V="$HOME/${V#"~/"}" ;; esac
    TRIED="$V/bin/jupyter"
    [ -x "$V/bin/jupyter" ] && J="$V/bin/jupyter" ;;
  conda)
    C=$(command -v conda 2>/dev/null || true)
    for c in "${CONDA_EXE:-}" "$HOME/miniforge3/bin/conda" "$HOME/miniconda3/bin/conda" \
             "$HOME/anaconda3/bin/conda" /opt/conda/bin/conda; do
      [ -z "$C" ] && [ -n "$c" ] && [ -x "$c" ] && C=$c
    done
    TRIED="conda env $CONDA_ENV (conda: ${C:-not found})"
    if [ -n "$C" ]; then
      J=$("$C" run -n "$CONDA_ENV" sh -c 'command -v jupyter' 2>/dev/null | tail -n 1)
    fi ;;
  command)
    TRIED="$CMD_FIRST"
    if command -v "$CMD_FIRST" >/dev/null 2>&1; then J=$CMD_FIRST; fi ;;
  login)
    LSH=${SHELL:-/bin/sh}
    TRIED="PATH of a login shell ($LSH -l)"
    J=$("$LSH" -l -c 'command -v jupyter' 2>/dev/null </dev/null | tail -n 1) ;;
  *)
    TRIED="PATH ($PATH) and ~/.local/bin"
    J=$(command -v jupyter 2>/dev/null || true)
    [ -z "$J" ] && [ -x "$HOME/.local/bin/jupyter" ] && J="$HOME/.local/bin/jupyter" ;;
esac
"""

# Writes the token file and run.sh, which execs the jupyter that _FIND found with this
# host's arguments. Shared by `up` (tmux or nohup runs it) and the Slurm batch job;
# with LOG empty, run.sh keeps the output it was given (the job's output file).
_WRITE_RUN = r"""
ARGS="$JUPYTER_ARGS"
if [ -n "$NOTEBOOK_DIR" ]; then
  ND=$NOTEBOOK_DIR
  case $ND in "~") ND=$HOME ;; "~/"*) ND="$HOME/${ND#"~/"}" ;; esac
  ARGS="$ARGS --ServerApp.root_dir=$(shq "$ND")"
fi
if [ "$(id -u)" = 0 ]; then
  ARGS="$ARGS --allow-root"
  say "WARN the remote account is root: Jupyter runs with --allow-root"
fi
ARGS="$ARGS $EXTRA_ARGS"

printf '%s\n' "$TOKEN" > "$D/token"
[ -f "$LOG" ] && mv -f "$LOG" "$LOG.1"
{
  say "#!/bin/sh"
  say "# Written by jssh for $NAME: tmux, nohup or a Slurm job runs this; it execs Jupyter."
  say "cd \"\$HOME\" || exit 1"
  [ -n "$LOG" ] && say "exec >>$(shq "$LOG") 2>&1"
  say "JUPYTER_TOKEN=\$(cat $(shq "$D/token")); export JUPYTER_TOKEN"
  for var in PATH JUPYTER_RUNTIME_DIR JUPYTER_CONFIG_DIR JUPYTER_DATA_DIR JUPYTER_PATH \
             VIRTUAL_ENV CONDA_PREFIX XDG_RUNTIME_DIR LANG LC_ALL SLURM_CONF; do
    eval "val=\${$var-}"
    eval "isset=\${$var+x}"
    [ -n "$isset" ] && say "$var=$(shq "$val"); export $var"
  done
  say "echo \"jssh: starting Jupyter for $NAME at \$(date)\""
  say "echo \$\$ > $(shq "$D/server.pid")"
  if [ "$FINDER" = login ]; then
    say "exec $(shq "$LSH") -l -c $(shq "exec $(shq "$J") $ARGS")"
  elif [ "$FINDER" = command ]; then
    say "exec $CMD_WORDS $ARGS"
  else
    say "exec $(shq "$J") $ARGS"
  fi
} > "$D/run.sh"
"""

_ENSURE = (
    r"""
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

"""
    + _FIND
    + r"""
if [ -z "$J" ]; then
  say "NOTFOUND $TRIED"
  exit 3
fi

"""
    + _WRITE_RUN
    + r"""
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

# Wait, bounded, for the server to listen; say at once if it dies instead.
i=0
PID=""
while :; do
  [ -z "$PID" ] && PID=$(server_pid)
  if [ -n "$PID" ] && ! alive "$PID"; then
    say "DIED $PID"
    tail_log 30
    rm -f "$D/server.pid"
    exit 4
  fi
  if [ -n "$PID" ]; then
    if [ -n "$SOCK" ] && [ -S "$SOCK" ]; then break; fi
    if grep -q "is running at" "$LOG" 2>/dev/null; then break; fi
  fi
  i=$((i + 1))
  if [ "$i" -gt "$WAIT_TENTHS" ]; then
    say "TIMEOUT ${PID:-none}"
    tail_log 30
    exit 7
  fi
  sleep 0.1
done
say "STARTED $PID"
say "MODE $MODE"
"""
)

# Reports what _FIND found, which jupyter_server it is (unix sockets need >= 2), and
# tmux; read-only. Replies: FOUND path | NOTFOUND tried; SERVERVERSION v | NOSERVER why;
# TMUX version | NOTMUX path.
_INSPECT = r"""
if [ -z "$J" ]; then
  say "NOTFOUND $TRIED"
else
  say "FOUND $J"
  case $FINDER in
    command) V=$(eval "$CMD_WORDS server --version" 2>&1 </dev/null); RC=$? ;;
    login) V=$("$LSH" -l -c "$(shq "$J") server --version" 2>&1 </dev/null); RC=$? ;;
    *) V=$("$J" server --version 2>&1 </dev/null); RC=$? ;;
  esac
  V=$(printf '%s\n' "$V" | sed '/^[[:space:]]*$/d' | tail -n 1)
  if [ "$RC" = 0 ]; then say "SERVERVERSION $V"; else say "NOSERVER ${V:-exit $RC}"; fi
fi
if command -v tmux >/dev/null 2>&1; then
  say "TMUX $(tmux -V 2>&1 | head -n 1)"
else
  say "NOTMUX $PATH"
fi
"""

_STATUS = r"""
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
"""

_STOP = r"""
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
"""


@dataclass(frozen=True)
class Reply:
    """The KEY value lines a remote script printed, plus its log tail if any."""

    fields: dict[str, str]
    log_tail: str
    returncode: int

    def get(self, key: str) -> str | None:
        return self.fields.get(key)


def parse_reply(stdout: str, returncode: int) -> Reply:
    fields: dict[str, str] = {}
    tail: list[str] = []
    in_tail = False
    for line in stdout.splitlines():
        if line == "LOGTAIL-BEGIN":
            in_tail = True
        elif line == "LOGTAIL-END":
            in_tail = False
        elif in_tail:
            tail.append(line)
        else:
            key, _, value = line.partition(" ")
            if key.isupper():
                fields.setdefault(key, value)
    return Reply(fields, "\n".join(tail), returncode)


def _assign(**values: str | int) -> str:
    return "".join(f"{key}={shlex.quote(str(value))}\n" for key, value in values.items())


def jupyter_args(record: HostRecord) -> list[str]:
    """What follows `jupyter`: the app, and where (only) it may listen."""
    args = [record.launch.app, "--no-browser"]
    if record.endpoint.socket:
        args += ["--sock", record.endpoint.socket, "--sock-mode", "0600"]
    else:
        args += ["--ip", "127.0.0.1", "--port", str(record.endpoint.port), "--port-retries", "0"]
    return args


def _common(record: HostRecord) -> str:
    return _assign(NAME=record.name, SOCK=record.endpoint.socket or "") + _PRELUDE


def _finder(record: HostRecord) -> str:
    """The variables _FIND reads: how this host was told to find jupyter."""
    launch = record.launch
    finder = (
        "command" if launch.command else "venv" if launch.venv else
        "conda" if launch.conda else "login" if launch.login_shell else "path"
    )  # fmt: skip
    command = launch.command or []
    return _assign(
        FINDER=finder,
        VENV=launch.venv or "",
        CONDA_ENV=launch.conda or "",
        CMD_FIRST=command[0] if command else "",
        CMD_WORDS=" ".join(shlex.quote(w) for w in command),
    )


def ensure_script(record: HostRecord, token: str, *, wait_seconds: float, use_tmux: bool) -> str:
    launch = record.launch
    return (
        _common(record)
        + _finder(record)
        + _assign(
            TOKEN=token,
            JUPYTER_ARGS=" ".join(shlex.quote(w) for w in jupyter_args(record)),
            EXTRA_ARGS=" ".join(shlex.quote(w) for w in launch.extra_args),
            NOTEBOOK_DIR=launch.notebook_dir or "",
            WAIT_TENTHS=max(1, int(wait_seconds * 10)),
            USE_TMUX=1 if use_tmux else 0,
        )
        + _LOCK
        + _ENSURE
    )


def inspect_script(record: HostRecord) -> str:
    """Find jupyter as `up` would, without starting or writing anything (for `doctor`)."""
    return _HELPERS + _finder(record) + _FIND + _INSPECT


def prelude(record: HostRecord, *, lock: bool) -> str:
    """The variables and helpers every script for NAME starts with, and the per-host
    lock when the script changes NAME's remote state (the Slurm scripts build on it)."""
    return _common(record) + (_LOCK if lock else "")


def prepare_run_script(record: HostRecord, token: str) -> str:
    """After prelude(): find jupyter as `up` does (reply NOTFOUND, exit 3, when
    missing), then write the token file and run.sh without starting them: a Slurm
    batch job runs run.sh on the node."""
    launch = record.launch
    return (
        _finder(record)
        + _assign(
            TOKEN=token,
            JUPYTER_ARGS=" ".join(shlex.quote(w) for w in jupyter_args(record)),
            EXTRA_ARGS=" ".join(shlex.quote(w) for w in launch.extra_args),
            NOTEBOOK_DIR=launch.notebook_dir or "",
        )
        + _FIND
        + 'if [ -z "$J" ]; then say "NOTFOUND $TRIED"; exit 3; fi\n'
        + _WRITE_RUN
    )


def status_script(record: HostRecord) -> str:
    return _common(record) + _STATUS


def stop_script(record: HostRecord) -> str:
    return _common(record) + _LOCK + _STOP


def log_command(record: HostRecord, lines: int, follow: bool) -> list[str]:
    """argv (quoted word by word by the caller) that prints the remote server log."""
    tail = 'exec tail -n "$1" ${2:+-F} -- "$HOME/.jssh/$3/jupyter.log"'
    return ["sh", "-c", tail, "sh", str(lines), "follow" if follow else "", record.name]
