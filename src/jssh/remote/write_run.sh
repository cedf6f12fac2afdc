# write_run.sh: write_run writes the token to D/token (0600) and D/run.sh, which execs
# the jupyter that find_jupyter found, with this host's arguments. Shared by `up` (tmux
# or nohup runs run.sh) and the Slurm batch job. With LOG empty, run.sh keeps the
# output it was given (the job's output file).
#
# After: helpers host find
#
# Parameters:
#   NAME          for run.sh's comment and first log line
#   FINDER        as for find.sh: login and command change how run.sh execs jupyter
#   CMD_WORDS     for command: the whole command, each word shell-quoted
#   TOKEN         the new server's token: it goes to D/token, never a command line
#   JUPYTER_ARGS  jupyter's own words (app, where to listen), each shell-quoted
#   EXTRA_ARGS    the user's `--jupyter-arg` words, each shell-quoted
#   NOTEBOOK_DIR  the server's root_dir (a leading ~ is the remote home); empty: none
#
# Provides:
#   write_run     writes D/token and D/run.sh, moves LOG to LOG.1; starts nothing
#
# Replies:
#   WARN text     the remote account is root: Jupyter runs with --allow-root
#
# shellcheck disable=SC2034,SC2154  # alone, a file's shared variables look unset or
# unused: the loader's whole scripts are checked too (tests/unit/test_remote_scripts.py)

write_run() {
  ARGS="$JUPYTER_ARGS"
  if [ -n "$NOTEBOOK_DIR" ]; then
    ND=$NOTEBOOK_DIR
    # shellcheck disable=SC2088  # the ~ a user typed, expanded here by hand
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
      # shellcheck disable=SC2154  # val is set by the eval above
      [ -n "$isset" ] && say "$var=$(shq "$val"); export $var"
    done
    say "echo \"jssh: starting Jupyter for $NAME at \$(date)\""
    say "{ echo \$\$; ps -o lstart= -p \$\$; } > $(shq "$D/server.pid")"
    if [ "$FINDER" = login ]; then
      say "exec $(shq "$LSH") -l -c $(shq "exec $(shq "$J") $ARGS")"
    elif [ "$FINDER" = command ]; then
      say "exec $CMD_WORDS $ARGS"
    else
      say "exec $(shq "$J") $ARGS"
    fi
  } > "$D/run.sh"
}
