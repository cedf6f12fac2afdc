# slurm_submit.sh: `jssh up` on a Slurm host. Reuses a job of ours that is pending or
# running; else finds jupyter, writes run.sh and job.sh (which makes the socket's
# directory on the node and execs run.sh) and submits job.sh with sbatch: the user's
# arguments first, jssh's own last, so its --job-name and --output win.
#
# Pieces: helpers host lock slurm find write_run
#
# Parameters:
#   NAME          for job.sh's comment
#   JOBNAME       as for slurm.sh: the new job's --job-name
#   SOCK          the socket Jupyter is to listen on, on the node; empty: TCP
#   SBATCH_WORDS  the user's sbatch arguments, each shell-quoted
#
# Replies:
#   EXISTING id   a job of ours is pending or running: nothing submitted; then TOKEN
#   TOKEN token   that job's token (empty when D/token is gone)
#   SUBMITTED id  sbatch accepted the new job
#   SBATCHFAIL rc sbatch refused it; then its stderr between LOGTAIL-BEGIN/-END
#   NOTFOUND what jupyter was not found; what was tried
#   SQUEUEFAIL text   squeue failed listing our jobs: its words
#   and ERROR (host.sh), BUSY (lock.sh), NOSLURM (slurm.sh), WARN (write_run.sh)
#
# Exit codes:
#   0             EXISTING or SUBMITTED
#   3             NOTFOUND
#   9             SQUEUEFAIL
#   10            SBATCHFAIL
#   and 5 (host.sh), 6 (lock.sh), 8 (slurm.sh)
#
# job.sh, on the node, exits 5 when the socket's directory there is a link or not
# ours (the job then ends; slurm_wait_ready says ENDED).
#
# shellcheck disable=SC2034,SC2154  # alone, a file's shared variables look unset or
# unused: the loader's whole scripts are checked too (tests/unit/test_remote_scripts.py)

need_slurm sbatch
need_slurm squeue
L=$(squeue -h -u "$ME" -n "$JOBNAME" -o '%i %T' 2>&1) || { say "SQUEUEFAIL $L"; exit 9; }
LIVE='^(PENDING|CONFIGURING|RUNNING|SUSPENDED|REQUEUED|RESIZING)$'
EXISTING=$(printf '%s\n' "$L" | awk -v live="$LIVE" '$2 ~ live { print $1; exit }')
if [ -n "$EXISTING" ]; then
  say "EXISTING $EXISTING"
  say "TOKEN $(cat "$D/token" 2>/dev/null || true)"
  exit 0
fi
# run.sh keeps the output it is given: the job's output file.
LOG=""

find_jupyter
if [ -z "$J" ]; then say "NOTFOUND $TRIED"; exit 3; fi
write_run

{
  say "#!/bin/sh"
  say "# Written by jssh for $NAME: Slurm runs this on the compute node; it starts Jupyter."
  say "D=$(shq "$D")"
  say "SOCK=$(shq "$SOCK")"
  cat <<'JSSH_JOB_BODY'
umask 077
echo "jssh: Slurm job ${SLURM_JOB_ID:-?} on $(hostname) at $(date)"
if [ -n "$SOCK" ]; then
  SD=${SOCK%/*}
  [ -d "$SD" ] || mkdir -m 700 "$SD" 2>/dev/null
  if [ -L "$SD" ] || [ ! -O "$SD" ]; then
    echo "jssh: error: the socket directory $SD on $(hostname) is not yours;" \
         "jssh will not put Jupyter's socket there. Pick a path under your home:" \
         "jssh add HOST --name NAME --remote-socket $D/jupyter.sock"
    exit 5
  fi
  chmod 700 "$SD"
  rm -f "$SOCK"
fi
exec sh "$D/run.sh"
JSSH_JOB_BODY
} > "$D/job.sh"
[ -f "$OUT" ] && mv -f "$OUT" "$OUT.1"
eval "set -- $SBATCH_WORDS"
# The user's arguments first, jssh's last: ours win, so the job keeps the name
# and output file that reuse and `jssh logs` rely on.
JOB=$(sbatch --parsable "$@" --job-name="$JOBNAME" --output="$OUT" "$D/job.sh" 2>"$D/sbatch.err")
RC=$?
if [ "$RC" != 0 ] || [ -z "$JOB" ]; then
  say "SBATCHFAIL $RC"
  say "LOGTAIL-BEGIN"; cat "$D/sbatch.err"; say "LOGTAIL-END"
  exit 10
fi
say "SUBMITTED ${JOB%%;*}"
