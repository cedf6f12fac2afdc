"""Plain types that several layers share: what `up` returned, what `status` found.

A leaf: it imports only other leaves, so every layer may import it and none of them
imports another feature module just for a type (supervisor keeps its `states.py` a
leaf for the same reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from jssh.forwards import ForwardState

JOB_GONE = "GONE"  # a job's state once Slurm no longer knows it


class ServerState(StrEnum):
    """The remote Jupyter server as `status` saw it."""

    RUNNING = "running"
    STOPPED = "stopped"
    QUEUED = "queued"  # a Slurm job still waits for its allocation
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class UpResult:
    url: str
    reused: bool
    server_pid: int | None
    mode: str | None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobInfo:
    """A Slurm host's job, as `squeue` (or `scontrol` once it ended) describes it."""

    job_id: str
    state: str  # PENDING, RUNNING, ... or JOB_GONE when Slurm no longer knows it
    node: str | None = None
    time_left: str | None = None  # as Slurm prints it: 3:59:12, 1-00:00:00, UNLIMITED
    reason: str | None = None
    elapsed: str | None = None  # time used, as Slurm prints it

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.job_id,
            "state": self.state,
            "node": self.node,
            "time_left": self.time_left,
            "reason": self.reason,
            "elapsed": self.elapsed,
        }


@dataclass(frozen=True)
class HostStatus:
    name: str
    alias: str
    master_pid: int | None
    local_port: int
    port_answers: bool
    server: ServerState
    server_pid: int | None
    server_uptime_s: int | None
    mode: str | None
    url: str | None
    wanted: bool
    detail: str | None = None
    # `jssh add --idle-timeout`: after that many idle seconds Jupyter stops itself (None:
    # never); how long it has been idle (its /api/status, through our own tunnel); and
    # whether a server not running now stopped that way rather than died.
    idle_timeout_s: int | None = None
    idle_s: int | None = None
    stopped_idle: bool = False
    job: JobInfo | None = None  # Slurm hosts only
    # What `jssh watch` last did for this host (the watchdog's status file), or None.
    watchdog: dict[str, object] | None = None
    # Jupyter answered our token with 200 through our own tunnel: the URL works.
    serving: bool = False
    # The extra forwards (`jssh forward`), each with whether it answers.
    forwards: tuple[ForwardState, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "alias": self.alias,
            "master": {"running": self.master_pid is not None, "pid": self.master_pid},
            "local_port": self.local_port,
            "local_port_answers": self.port_answers,
            "server": {
                "state": self.server.value,
                "pid": self.server_pid,
                "uptime_seconds": self.server_uptime_s,
                "mode": self.mode,
                "idle_timeout_seconds": self.idle_timeout_s,
                "idle_seconds": self.idle_s,
                "stopped_idle": self.stopped_idle,
            },
            "url": self.url,
            "serving": self.serving,
            "wanted_up": self.wanted,
            "detail": self.detail,
            "job": self.job.to_json() if self.job else None,
            "watchdog": self.watchdog,
            "forwards": [f.to_json() for f in self.forwards],
        }
