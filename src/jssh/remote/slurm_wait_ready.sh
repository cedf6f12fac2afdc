# slurm_wait_ready.sh: once job JOBID runs, wait on the login node (shared home) until
# its output says Jupyter listens, or the job stops running; bounded.
#
# Pieces: helpers host lock slurm
#
# Parameters:
#   JOBID         the running job (as for slurm.sh)
#   WAIT_TENTHS   how long to wait, in tenths of a second
#
# Replies:
#   READY         Jupyter listens
#   ENDED state   the job is no longer running (state `gone`: squeue forgot it); then
#                 FINAL and the tail of its output
#   TIMEOUT       Jupyter did not listen in time (the job runs on); then the output's tail
#   FINAL words   as for slurm.sh
#   and ERROR (host.sh), BUSY (lock.sh)
#
# Exit codes:
#   0             READY
#   4             ENDED
#   7             TIMEOUT
#   and 5 (host.sh), 6 (lock.sh)
#
# shellcheck disable=SC2034,SC2154  # alone, a file's shared variables look unset or
# unused: the loader's whole scripts are checked too (tests/unit/test_remote_scripts.py)

i=0
while :; do
  if grep -q "is running at" "$OUT" 2>/dev/null; then say "READY"; exit 0; fi
  if [ $((i % 5)) = 0 ]; then
    S=$(squeue -h -j "$JOBID" -o '%T' 2>/dev/null | head -n 1)
    case $S in
      RUNNING|CONFIGURING) ;;
      *) say "ENDED ${S:-gone}"
         say "FINAL $(scontrol show job -o "$JOBID" 2>/dev/null | head -n 1)"
         sleep 0.5  # the output file may still be being flushed
         out_tail 30; exit 4 ;;
    esac
  fi
  i=$((i + 1))
  if [ "$i" -gt "$WAIT_TENTHS" ]; then say "TIMEOUT"; out_tail 30; exit 7; fi
  sleep 0.1
done
