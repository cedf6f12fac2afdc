# slurm_query.sh: `jssh status` and `up`'s wait in the queue. What Slurm says about
# JOBID, or about every job of ours named JOBNAME. Read-only; takes no lock.
#
# Pieces: helpers host slurm
#
# Replies:
#   and JOB, NODE, FINAL (report_jobs), NOSLURM, SQUEUEFAIL (slurm.sh), ERROR (host.sh)
#
# Exit codes:
#   0             the JOB/NODE/FINAL lines say what Slurm knows (maybe nothing)
#   and 5 (host.sh), 8, 9 (slurm.sh)
#
# shellcheck disable=SC2034,SC2154  # alone, a file's shared variables look unset or
# unused: the loader's whole scripts are checked too (tests/unit/test_remote_scripts.py)

need_slurm squeue
report_jobs
