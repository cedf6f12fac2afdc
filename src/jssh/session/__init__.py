"""One host's Jupyter session: bring it up, take it down, report on it, for a
workstation or a Slurm cluster, over a tunnel whose owner is proven before the token
goes out.

    lifecycle   Session: up/down/status/url/logs written once, a Backend composed in
    workstation the backend for Jupyter under tmux/nohup on the host itself
    slurm       the backend for Jupyter in a batch job on a compute node
    tunnel      the masters and the local forward; HTTP through it
    forwards    the extra forwards on a running master (add, cancel, probe)
    owner       proves the port's listener is our own master
    warm        the warm check, shared with the fast path
    files       the host's local state (token, wanted marker, job)

This face stays light: the fast path imports `jssh.session.warm`, which runs this
file first, so the backends are imported only when a session is built.
"""

from __future__ import annotations

# Not `from typing import ...`: the warm `up` imports this module, and typing costs it
# ~4 ms (jssh.entry). mypy reads TYPE_CHECKING = False as typing's own.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from jssh.hosts import HostRecord
    from jssh.paths import Paths
    from jssh.progress import Progress
    from jssh.session.lifecycle import Say, Session
    from jssh.ssh import Ssh


def session_for(
    paths: Paths,
    ssh: Ssh,
    record: HostRecord,
    *,
    say: Say | None = None,
    progress: Progress | None = None,
    queue_wait: float | None = None,
) -> Session:
    """The session of RECORD, with the backend its kind of host needs."""
    from jssh.session.lifecycle import HostParts, Session, to_stderr

    parts = HostParts(paths, ssh, record, say or to_stderr, progress)
    if record.slurm:
        from jssh.session.slurm import SlurmBackend

        return Session(parts, SlurmBackend(parts, queue_wait=queue_wait))
    from jssh.session.workstation import WorkstationBackend

    return Session(parts, WorkstationBackend(parts))
