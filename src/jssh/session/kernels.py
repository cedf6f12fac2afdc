"""Before `down` or `remove` stops a server: which kernels run on it, and whether
someone used them lately (issue 13, item 5). Another laptop's `down` must not stop the
kernels the first laptop works with without a word.

The server itself is asked (GET /api/kernels): through our own tunnel when one runs
(the token goes only to a listener proven to be our master), else by kernels.sh over
ssh, which asks the server's socket on the remote with the token read there (for a
Slurm job, in a step of the job on its compute node). Only the judgement is here;
nothing is stopped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from jssh import probe, remote
from jssh.errors import JsshError, KernelsInUse
from jssh.hosts import HostRecord
from jssh.session.owner import ForeignListener
from jssh.session.slurm_jobs import parse_jobs
from jssh.session.tunnel import Tunnel
from jssh.ssh import Ssh

RECENT_S = 3600.0  # kernels active within the last hour are someone's work
SHOWN = 3  # notebooks named in the line, at most


@dataclass(frozen=True)
class KernelActivity:
    """The kernels of one server: how many, how many busy now, the latest activity, and
    the notebooks open with them (GET /api/sessions), for the user to recognise."""

    count: int
    busy: int = 0
    last_active: datetime | None = None
    notebooks: tuple[str, ...] = ()

    def recent(self, now: datetime) -> bool:
        """Some kernel computes now, or was active within the last hour."""
        if self.busy:
            return True
        return self.last_active is not None and (now - self.last_active).total_seconds() < RECENT_S

    def describe(self, now: datetime) -> str:
        """'2 kernels run there (a.ipynb, b.ipynb), 1 busy now, the last active 4 min ago'"""
        words = "1 kernel runs there" if self.count == 1 else f"{self.count} kernels run there"
        if self.notebooks:
            shown = ", ".join(self.notebooks[:SHOWN])
            words += f" ({shown}{', …' if len(self.notebooks) > SHOWN else ''})"
        if self.busy:
            words += f", {self.busy} busy now"
        if self.last_active is not None:
            words += f", the last active {ago(now - self.last_active)}"
        return words


def ago(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min ago"


def parse_time(text: str) -> datetime | None:
    """Jupyter's ISO 8601 time ('2026-11-27T14:35:45.641000Z'), None when unreadable."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def summarize(kernels: list[tuple[str, str]]) -> KernelActivity:
    """From (execution_state, last_activity) of each kernel."""
    times = [t for t in (parse_time(last) for _state, last in kernels) if t is not None]
    busy = sum(1 for state, _last in kernels if state == "busy")
    return KernelActivity(len(kernels), busy, max(times) if times else None)


def from_api(body: bytes) -> KernelActivity | None:
    """The answer of GET /api/kernels; None when it is not a list of kernels."""
    try:
        kernels = json.loads(body)
    except ValueError:
        return None
    if not isinstance(kernels, list) or not all(isinstance(k, dict) for k in kernels):
        return None
    return summarize(
        [(str(k.get("execution_state") or ""), str(k.get("last_activity") or "")) for k in kernels]
    )


def notebooks_from_api(body: bytes) -> tuple[str, ...]:
    """The paths open in sessions, from GET /api/sessions (none when unreadable)."""
    try:
        sessions = json.loads(body)
    except ValueError:
        return ()
    if not isinstance(sessions, list):
        return ()
    paths = (" ".join(str(s.get("path") or "").split()) for s in sessions if isinstance(s, dict))
    return tuple(p for p in paths if p)


def from_reply(reply: remote.Reply) -> KernelActivity | None:
    """kernels.sh's reply: no kernels when no server runs; None when it could not ask."""
    if reply.has(remote.ReplyKey.NOTRUNNING):
        return KernelActivity(0)
    if not reply.has(remote.ReplyKey.KERNELS):
        return None
    pairs = [line.partition(" ") for line in reply.values(remote.ReplyKey.KERNEL)]
    found = summarize([(state, last) for state, _, last in pairs])
    return replace(found, notebooks=tuple(reply.values(remote.ReplyKey.NOTEBOOK)))


@dataclass(frozen=True)
class Asked:
    """What asking the server gave: its kernels (None: it could not be asked), and
    whether the host answered at all (`reached`)."""

    found: KernelActivity | None
    reached: bool = True


def ask(
    ssh: Ssh, record: HostRecord, tunnel: Tunnel, token: str | None, *, job_id: str | None = None
) -> Asked:
    """The server's kernels, through our tunnel when one runs, else over ssh: on the
    workstation, or inside a Slurm job (JOB_ID, else the job of ours squeue finds). No
    python there, an old server, no running job: not asked; ssh failed: not reached."""
    if token and tunnel.master_pid() is not None:
        kernels = _get(record, tunnel, token, "/api/kernels")
        found = from_api(kernels) if kernels is not None else None
        if found is not None:
            sessions = _get(record, tunnel, token, "/api/sessions") if found.count else None
            return Asked(replace(found, notebooks=notebooks_from_api(sessions or b"")))
    if record.slurm:
        return _ask_in_job(ssh, record, job_id)
    return _ask_over_ssh(ssh, record)


def _ask_over_ssh(ssh: Ssh, record: HostRecord, wrapper: tuple[str, ...] = ()) -> Asked:
    """kernels.sh on the remote, read by a shell there that WRAPPER (a command and its
    words, as `srun …`) runs, when given."""
    script = remote.kernels_script(record)
    try:
        result = ssh.run(record.alias, [*wrapper, "sh", "-s"], input_text=script, timeout=30)
    except JsshError:
        return Asked(None, reached=False)
    if result.returncode == 255:
        return Asked(None, reached=False)
    return Asked(from_reply(remote.parse_reply(result.stdout, result.returncode)))


def _ask_in_job(ssh: Ssh, record: HostRecord, job_id: str | None) -> Asked:
    """A Slurm job's server listens on its compute node, which the login node cannot
    ask. A step in the job itself can: `srun --overlap` runs kernels.sh there, beside
    Jupyter, sharing the job's resources. A laptop without the job's id (a second one)
    finds it by name, as `down` does. A Slurm too old for --overlap: not asked."""
    try:
        query = ssh.run_script(record.alias, remote.slurm_query_script(record, job_id), timeout=30)
    except JsshError:
        return Asked(None, reached=False)
    if query.returncode != 0:
        return Asked(None, reached=query.returncode != 255)
    job = parse_jobs(query.stdout).first()
    if job is None:  # no job of ours: no server, no kernels
        return Asked(KernelActivity(0))
    if job.state != "RUNNING":  # queued, suspended, ...: nothing there to ask
        return Asked(None)
    step = ("srun", f"--jobid={job.job_id}", "--overlap", "--nodes=1", "--ntasks=1", "--quiet")
    return _ask_over_ssh(ssh, record, step)


def _get(record: HostRecord, tunnel: Tunnel, token: str, path: str) -> bytes | None:
    """The body of one GET through our own tunnel (the token only to a listener proven
    to be our master); None when it did not answer 200."""
    try:
        answer = probe.http_get(
            record.local_port, path, token=token, owner_proven=tunnel.owner.proven, timeout=10.0
        )
    except ForeignListener:
        return None
    return answer[2] if answer is not None and answer[0] == 200 else None


def refuse_if_in_use(
    ssh: Ssh, record: HostRecord, tunnel: Tunnel, token: str | None, *, job_id: str | None = None
) -> bool:
    """Raise KernelsInUse when the server's kernels were active within the last hour.
    A server that can't be asked is stopped as before (`down` must work on a host that
    is gone or broken). Returns whether the host answered: False spares `down` a second
    wait for an unreachable host (ConnectTimeout)."""
    asked = ask(ssh, record, tunnel, token, job_id=job_id)
    found, now = asked.found, datetime.now(UTC)
    if found is not None and found.count and found.recent(now):
        raise KernelsInUse(
            f"{record.name}: not stopped: {found.describe(now)}",
            hint="someone may be working there: --force stops the server and its kernels anyway",
        )
    return asked.reached
