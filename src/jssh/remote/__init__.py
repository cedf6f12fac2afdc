"""The POSIX sh scripts jssh runs on the remote, through the master, on stdin.

One round trip does a whole job (find or start Jupyter and wait for it; stop it; report
on it), so a cold `up` costs a handful of round trips and a warm one none. The scripts
are the `*.sh` files in this package; each says at its top what it reads, what it
answers and how it exits. loader.py fills them in (every value from Python is an
assignment quoted with shlex.quote, at the top); the scripts quote what they compute
with `shq`. The token travels inside the script, on stdin, and reaches Jupyter through
a 0600 file and the JUPYTER_TOKEN environment variable, never a command line.

Remote layout, per managed host NAME:
    ~/.jssh/NAME/           0700
        token               0600, the server's token
        run.sh              what tmux/nohup runs: sets the token, execs jupyter
        server.pid          the jupyter server's pid
        mode                tmux | nohup
        jupyter.log         the server's output (jupyter.log.1: the run before)
        lock/               while a script changes the above (lock.sh)
        job.sh, job.log     a Slurm host's batch script and its output (slurm.sh)
    /tmp/jssh-USER/NAME.sock   the server's unix socket, in a 0700 dir we own
"""

from __future__ import annotations

from jssh.remote.replies import ExitCode, Reply, ReplyKey, parse_reply
from jssh.remote.scripts import (
    SLURM_JOB_PREFIX,
    ended_script,
    ensure_script,
    inspect_script,
    jupyter_args,
    kernels_script,
    log_command,
    slurm_cancel_script,
    slurm_query_script,
    slurm_submit_script,
    slurm_wait_ready_script,
    status_script,
    stop_script,
    watch_script,
)

__all__ = [
    "SLURM_JOB_PREFIX",
    "ExitCode",
    "Reply",
    "ReplyKey",
    "ended_script",
    "ensure_script",
    "inspect_script",
    "jupyter_args",
    "kernels_script",
    "log_command",
    "parse_reply",
    "slurm_cancel_script",
    "slurm_query_script",
    "slurm_submit_script",
    "slurm_wait_ready_script",
    "status_script",
    "stop_script",
    "watch_script",
]
