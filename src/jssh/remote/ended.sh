# ended.sh: `jssh status` for a host with an idle timeout whose server is not running:
# did it shut itself down after its idle timeout? (Read-only: it starts nothing.)
#
# Pieces: helpers host idle
#
# Parameters:
#   FILE          the server's log in D: jupyter.log (a workstation), job.log (Slurm)
#
# Replies:
#   and IDLE (idle.sh)
#
# Exit codes:
#   0             always, once D exists
#   and 5 (ERROR, from host.sh)
#
# shellcheck disable=SC2034,SC2154  # alone, a file's shared variables look unset or
# unused: the loader's whole scripts are checked too (tests/unit/test_remote_scripts.py)

idle_end "$D/$FILE"
exit 0
