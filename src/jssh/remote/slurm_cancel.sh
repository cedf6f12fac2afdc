# slurm_cancel.sh: `jssh down` on a Slurm host. Cancels every job of ours named JOBNAME,
# and JOBID, waits (up to 20 s) until squeue stops listing them, removes the token.
#
# Pieces: helpers host lock slurm
#
# Parameters:
#   JOBNAME       as for slurm.sh
#   JOBID         as for slurm.sh
#
# Replies:
#   CANCELLED ids the jobs scancel was asked to cancel, space-separated
#   LEFT jobs     `id state` of those squeue still lists after 20 s
#   NOJOB         there was nothing to cancel
#   and ERROR (host.sh), BUSY (lock.sh), NOSLURM (slurm.sh)
#
# Exit codes:
#   0             CANCELLED or NOJOB
#   and 5 (host.sh), 6 (lock.sh), 8 (slurm.sh)
#
# shellcheck disable=SC2034,SC2154  # alone, a file's shared variables look unset or
# unused: the loader's whole scripts are checked too (tests/unit/test_remote_scripts.py)

need_slurm scancel
IDS=$(squeue -h -u "$ME" -n "$JOBNAME" -o '%i' 2>/dev/null | tr '\n' ' ')
if [ -n "$JOBID" ]; then
  case " $IDS " in *" $JOBID "*) ;; *) IDS="$IDS $JOBID" ;; esac
fi
# shellcheck disable=SC2086  # split on purpose: job ids are digits, one word each
IDS=$(printf '%s\n' $IDS | sort -u | tr '\n' ' ')
if [ -n "${IDS% }" ]; then
  # shellcheck disable=SC2086  # job ids are digits: one word each
  scancel $IDS 2>"$D/scancel.err" || true
  i=0
  while [ -n "$(squeue -h -u "$ME" -n "$JOBNAME" -o '%i' 2>/dev/null)" ] && [ "$i" -lt 200 ]; do
    sleep 0.1; i=$((i + 1))
  done
  LEFT=$(squeue -h -u "$ME" -n "$JOBNAME" -o '%i %T' 2>/dev/null | tr '\n' ' ')
  say "CANCELLED ${IDS% }"
  [ -n "$LEFT" ] && say "LEFT $LEFT"
else
  say "NOJOB"
fi
rm -f "$D/token"
exit 0
