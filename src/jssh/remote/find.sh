# find.sh: find_jupyter finds jupyter the way the host was told to (`jssh add --venv,
# --conda, --login-shell, --command`, else PATH). Shared by `up`, which starts what it
# finds, `doctor`, which only reports on it, and the Slurm submit script.
#
# After: helpers
#
# Parameters:
#   FINDER        venv | conda | command | login | path
#   VENV          for venv: the venv's directory (a leading ~ is the remote home)
#   CONDA_ENV     for conda: the environment's name
#   CMD_FIRST     for command: the command's first word, looked up on PATH
#
# Provides:
#   find_jupyter  sets J, TRIED and (for login) LSH; replies nothing
#   J             jupyter's path; empty when it was not found
#   TRIED         what was tried, for the NOTFOUND reply
#   LSH           for login: the login shell that found J, and must run it
#
# shellcheck disable=SC2034,SC2154  # alone, a file's shared variables look unset or
# unused: the loader's whole scripts are checked too (tests/unit/test_remote_scripts.py)

find_jupyter() {
  TRIED=""
  J=""
  case $FINDER in
    venv)
      V=$VENV
      # shellcheck disable=SC2088  # the ~ a user typed, expanded here by hand
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
}
