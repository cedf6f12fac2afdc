"""What the state machine asks for: the outputs of `machine.handle`.

Plain frozen dataclasses. Those in `OffLoop` may block (they run ssh, squeue, or
wait for a process to die) and run on worker threads (worker.py); their answer comes
back as an event carrying the same ticket. The rest are quick and run on the loop
(execute.py).

What a host *holds* (a pidfd on the followed master, the host lock, a probe socket)
is not an effect: it follows the host's state, and the loop makes it so after every
event (execute.Slot.settle).
"""

from __future__ import annotations

from dataclasses import dataclass

from jssh.watchdog.events import Address
from jssh.watchdog.states import HostState, Master, ServerPhase


# -- on the loop ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Report:
    """A log line, and the host's watchdog.json for `jssh status` (state, master)."""

    what: str
    did: str
    state: HostState
    master_pid: int | None = None
    quiet: bool = False  # a repeated failure: only watchdog.json, not the log
    server: ServerPhase = ServerPhase.NONE  # what is done about its Jupyter server


@dataclass(frozen=True)
class Note:
    """A log line only."""

    what: str
    did: str


@dataclass(frozen=True)
class Spawn:
    """Start a BatchMode master (taking the host lock first) and follow its ssh; its
    exit comes back as AttemptExited with the same ticket."""

    ticket: int
    master: Master


@dataclass(frozen=True)
class CancelAttempt:
    """Terminate the respawn's ssh: it began before the network came back and may sit
    in the kernel's SYN backoff. Its exit comes back as AttemptExited."""

    ticket: int


@dataclass(frozen=True)
class KillAttempt:
    """Kill the respawn's ssh: it ran past ATTEMPT_LIMIT (stuck after the connect)."""

    ticket: int


@dataclass(frozen=True)
class StartProbe:
    """One TCP connect to the host's sshd, waiting for its banner (ProbeAnswered)."""

    address: Address


@dataclass(frozen=True)
class TerminateMaster:
    """SIGTERM a followed master that lost its control socket; its exit brings a respawn."""

    pid: int


@dataclass(frozen=True)
class ForgetWanted:
    """The host's job ended: remove its wanted marker (a restarted watchdog must not ask
    Slurm again) and its token (there is no URL for a job that is gone)."""


@dataclass(frozen=True)
class WatchServer:
    """Start a watch of the server through the master (watch.sh, a mux client): its
    exit comes back as ServerWatched with the same ticket. `until_start`: wait for a
    server to appear (after giving up) rather than for this one to exit. A watch the
    host no longer names is stopped by `settle`."""

    ticket: int
    until_start: bool = False


@dataclass(frozen=True)
class OpenBridge:
    """The followed master is gone and a new one is about to start: hold the local port
    (accepting, relaying nothing yet) until it is back (relay.py). Before the Spawn."""


@dataclass(frozen=True)
class HandBack:
    """The new master is followed: relay what the bridge holds through it, and give the
    port back to it (relay.hand_back)."""


# -- off the loop -------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckMaster:
    """`ssh -O check` the master that holds the forward -> MasterChecked."""

    ticket: int


@dataclass(frozen=True)
class VerifyMaster:
    """Run `true` on the remote through the master that holds the forward, bounded by
    policy.VERIFY_WAIT -> MasterVerified. Unlike `ssh -O check`, it needs the far end."""

    ticket: int


@dataclass(frozen=True)
class CheckSlurm:
    """A Slurm host: is the login node's master up, the node's, and (ask_job) the job?
    -> SlurmChecked. Runs under the host lock."""

    ticket: int
    ask_job: bool


@dataclass(frozen=True)
class KillMaster:
    """SIGKILL a master that cannot work and wait (briefly) until it has let go of its
    socket and port -> MasterKilled."""

    ticket: int
    pid: int


@dataclass(frozen=True)
class StopMaster:
    """`ssh -O exit` a master a respawn opened after the host was brought down."""

    master: Master


@dataclass(frozen=True)
class EndJob:
    """Ask Slurm how the job ended, close both masters -> JobReported. Runs under the
    host lock."""

    ticket: int


@dataclass(frozen=True)
class RestartServer:
    """Start the server again as `jssh up` would, with the saved token (so the same
    URL), under tmux unless it ran under nohup -> ServerRestarted. Runs under the host
    lock."""

    ticket: int
    use_tmux: bool = True


OffLoop = CheckMaster | VerifyMaster | CheckSlurm | KillMaster | StopMaster | EndJob | RestartServer
OnLoop = (
    Report | Note | Spawn | CancelAttempt | KillAttempt
    | StartProbe | TerminateMaster | ForgetWanted | WatchServer | OpenBridge | HandBack
)  # fmt: skip
Effect = OnLoop | OffLoop
