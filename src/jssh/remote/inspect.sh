# inspect.sh: `jssh doctor`. Finds jupyter as `up` would, and reports which
# jupyter_server it is (unix sockets need >= 2) and whether tmux is there. Read-only:
# writes nothing, starts nothing, takes no lock.
#
# Pieces: helpers find
#
# Parameters:
#   FINDER        as for find.sh: login and command change how jupyter is run
#   CMD_WORDS     for command: the whole command, each word shell-quoted
#
# Replies:
#   FOUND path    where jupyter is; then SERVERVERSION or NOSERVER
#   NOTFOUND what jupyter was not found; what was tried
#   SERVERVERSION version   what `jupyter server --version` says
#   NOSERVER why  `jupyter server --version` failed: its last line, or `exit N`
#   TMUX version  tmux is on PATH: what `tmux -V` says
#   NOTMUX path   no tmux on PATH (the PATH it searched)
#
# Exit codes:
#   0             always (the replies say what was found)
#
# shellcheck disable=SC2034,SC2154  # alone, a file's shared variables look unset or
# unused: the loader's whole scripts are checked too (tests/unit/test_remote_scripts.py)

find_jupyter

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
