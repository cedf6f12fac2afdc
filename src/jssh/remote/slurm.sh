# slurm.sh: what the Slurm scripts share, on a cluster's login node. The home is shared
# with the compute nodes, so D is the same directory on the job's node. Beside what
# host.sh keeps in D: job.sh (the batch script), job.log (the job's output, Jupyter's
# log included; job.log.1: the job before), sbatch.err, scancel.err.
#
# After: helpers host
#
# Parameters:
#   JOBNAME       the job's name: jssh-NAME (how a job of ours is found again)
#   JOBID         the job jssh saved for NAME; empty: none
#
# Provides:
#   ME            the remote user, for squeue -u
#   OUT           D/job.log, the job's output file
#   FMT           squeue's format: id|state|nodes|time left|reason|time used
#   need_slurm    need_slurm CMD: replies NOSLURM and exits 8 when CMD is not on PATH
#   out_tail      out_tail [N]: the last N (30) lines of OUT between LOGTAIL-BEGIN and
#                 LOGTAIL-END lines
#   report_jobs   JOB lines for JOBID, or for every job of ours named JOBNAME; then NODE
#                 for the first running one; for a JOBID squeue no longer lists, FINAL
#
# Replies:
#   NOSLURM cmd PATH=path   a Slurm command is not on the login node's PATH
#   SQUEUEFAIL text    squeue failed listing our jobs: its words
#   JOB id|state|nodes|time left|reason|time used   one per job (report_jobs)
#   NODE host     the first node of the running job, as a host name (report_jobs)
#   FINAL words   `scontrol show job -o` for a job squeue no longer lists; empty
#                 when Slurm forgot it too
#
# Exit codes:
#   8             NOSLURM
#   9             SQUEUEFAIL
#
# shellcheck disable=SC2034,SC2154  # alone, a file's shared variables look unset or
# unused: the loader's whole scripts are checked too (tests/unit/test_remote_scripts.py)

ME=$(id -un)
OUT="$D/job.log"
# One line per job: id|state|nodes|time left|reason|time used.
FMT='%i|%T|%N|%L|%r|%M'
need_slurm() {
  command -v "$1" >/dev/null 2>&1 && return 0
  say "NOSLURM $1 PATH=$PATH"
  exit 8
}
# shellcheck disable=SC2317  # not every script calls it
out_tail() { say "LOGTAIL-BEGIN"; tail -n "${1:-30}" "$OUT" 2>/dev/null; say "LOGTAIL-END"; }
# JOB lines for JOBID, or for every job of ours named JOBNAME; then, for a JOBID that
# squeue no longer lists, FINAL with what scontrol still knows (or nothing).
# shellcheck disable=SC2317  # not every script calls it
report_jobs() {
  if [ -n "$JOBID" ]; then
    L=$(squeue -h -j "$JOBID" -o "$FMT" 2>/dev/null)
  else
    L=$(squeue -h -u "$ME" -n "$JOBNAME" -o "$FMT" 2>&1) || { say "SQUEUEFAIL $L"; exit 9; }
  fi
  printf '%s\n' "$L" | sed -n 's/^./JOB &/p'
  for n in $(printf '%s\n' "$L" | awk -F'|' '$2 == "RUNNING" { print $3; exit }'); do
    say "NODE $(scontrol show hostnames "$n" 2>/dev/null | head -n 1)"
  done
  if [ -n "$JOBID" ] && [ -z "$L" ]; then
    say "FINAL $(scontrol show job -o "$JOBID" 2>/dev/null | head -n 1)"
  fi
}
