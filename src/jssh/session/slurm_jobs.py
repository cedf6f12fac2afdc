"""Slurm's words, read: squeue lines, scontrol fields, the job states that still
count, and the errors a job can end `up` with. Pure: no ssh, no files.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, replace

from jssh import remote
from jssh.errors import JsshError, RemoteError, UsageError, WaitTimeout
from jssh.hosts import HostRecord
from jssh.session.replies import reply_error
from jssh.ssh import last_line
from jssh.states import JobInfo

# Slurm states in which the job still is, or will be, running Jupyter.
ACTIVE_STATES = frozenset(
    {"PENDING", "CONFIGURING", "RUNNING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD",
     "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "RESV_DEL_HOLD"}
)  # fmt: skip
# A node name as squeue prints it, before it goes into an ssh config as a HostName.
NODE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,252}$")


class QueueTimeout(WaitTimeout):
    """The job is still queued when `--wait` runs out (it stays queued)."""


class JobEnded(RemoteError):
    """The job ended (failed, was cancelled, ran out of time) before Jupyter answered."""


@dataclass(frozen=True)
class Jobs:
    """What a query script said: the jobs squeue listed, and the final word on one."""

    jobs: list[JobInfo]
    final: dict[str, str] | None  # scontrol's key=value for a job squeue no longer lists
    node: str | None

    def first(self) -> JobInfo | None:
        return self.jobs[0] if self.jobs else None


def parse_jobs(stdout: str) -> Jobs:
    """The JOB, NODE and FINAL lines of the query script."""
    jobs: list[JobInfo] = []
    final: dict[str, str] | None = None
    node: str | None = None
    for line in stdout.splitlines():
        key, _, value = line.partition(" ")
        if key == "JOB":
            jobs.append(job_from(value))
        elif key == "FINAL":
            final = scontrol_fields(value)
        elif key == "NODE" and value and node is None:
            node = value
    if node and jobs and jobs[0].state == "RUNNING":
        jobs[0] = replace(jobs[0], node=node)
    return Jobs(jobs, final, node)


def sbatch_words(record: HostRecord) -> list[str]:
    """The user's `--slurm` arguments as words (checked before anything runs)."""
    try:
        return shlex.split(record.slurm or "")
    except ValueError as exc:
        raise UsageError(
            f"the sbatch arguments of {record.name} ({record.slurm!r}) can't be split into"
            f" words: {exc}",
            hint=f"fix them: `jssh add {record.target} --name {record.name} --slurm '...'`",
        ) from None


def job_from(line: str) -> JobInfo:
    fields = (line.split("|") + [""] * 6)[:6]
    job_id, state, nodes, left, reason, used = (f.strip() for f in fields)
    return JobInfo(
        job_id=job_id,
        state=state or "UNKNOWN",
        node=nodes or None,
        time_left=left or None,
        reason=reason if reason and reason != "None" else None,
        elapsed=used or None,
    )


def scontrol_fields(text: str) -> dict[str, str]:
    """`scontrol show job -o`'s Key=Value words (values here have no spaces)."""
    fields: dict[str, str] = {}
    for word in text.split():
        key, sep, value = word.partition("=")
        if sep and key not in fields:
            fields[key] = value
    return fields


def clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def login_node_failure(record: HostRecord, reply: remote.Reply, stderr: str) -> JsshError:
    """The error for what a script on the login node answered, Slurm's own cases first."""
    name = record.name
    if reply.get("SBATCHFAIL") is not None:
        # Slurm's own words: its first error line, without the "sbatch: error: ".
        words = [
            re.sub(r"^sbatch:\s*(error:\s*)?", "", line.strip())
            for line in reply.log_tail.splitlines()
            if line.strip() and "error" in line.lower()
        ] or [last_line(reply.log_tail)]
        return RemoteError(
            f"sbatch refused the job for {name}: {words[0]}",
            hint=f"fix the sbatch arguments ({record.slurm!r}): `jssh add {record.target}"
            f" --name {name} --slurm '...'`",
            details=reply.log_tail.rstrip() if len(words) > 1 else None,
        )
    if reply.get("NOSLURM") is not None:
        found = reply.get("NOSLURM") or ""
        command, _, path = found.partition(" ")
        return RemoteError(
            f"{command} was not found on {name}'s login node ({path})",
            hint="is it a Slurm cluster? If the Slurm commands come from a module,"
            " load it in your shell's startup file there",
        )
    if reply.get("SQUEUEFAIL") is not None:
        return RemoteError(f"squeue failed on {name}: {reply.get('SQUEUEFAIL')}")
    return reply_error(record, reply, stderr, side="the login node")
