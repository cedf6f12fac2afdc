"""What can happen to a host: the inputs of the state machine.

Plain frozen dataclasses. The sources (pidfds, netlink, files, timers, probes) and the
workers that run blocking jobs off the loop produce them; `machine.handle` consumes
them. An answer from a worker carries the ticket of the job it answers, so an answer
that arrives after the host moved on (brought down meanwhile, say) is recognised as
stale and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jssh.failures import SshFailure
from jssh.watchdog.states import Cause, Master, RestartResult, ServerEnd, Timer

# Where a host's sshd listens, as socket.connect wants it: (family, sockaddr).
Address = tuple[int, tuple[Any, ...]]


# -- from the files, the loop and the user ---------------------------------------------------
@dataclass(frozen=True)
class Consider:
    """Look at the host afresh (it was just loaded, reloaded or reconfigured)."""

    cause: Cause


@dataclass(frozen=True)
class MarkerChanged:
    """Its wanted marker appeared or went (`jssh up` / `jssh down`); see Host.wanted."""


@dataclass(frozen=True)
class SocketAppeared:
    """Its control socket appeared: someone (`jssh up`, plain ssh) started a master."""


@dataclass(frozen=True)
class SocketDeleted:
    """Its control socket went: the master exited, or someone deleted the socket."""


@dataclass(frozen=True)
class SocketLooked:
    """A second look at the control socket, VERIFY_SOCKET_DELAY after it was deleted."""

    present: bool


# -- from the followed master ---------------------------------------------------------------
@dataclass(frozen=True)
class MasterExited:
    """The followed master exited (its pidfd, or the periodic look found it gone)."""

    pid: int
    last_words: str | None = None  # its last log line, when it wrote one


@dataclass(frozen=True)
class MasterLooked:
    """The periodic look at a followed master's /proc state (a SIGSTOP sends no event)."""

    pid: int
    stopped: bool


@dataclass(frozen=True)
class Route:
    """Where a new connection to a peer would go now: the interface's index and the
    source address the kernel would pick."""

    dev: int
    source: str


@dataclass(frozen=True)
class TcpPath:
    """The two ends of a master's TCP connection (addresses only)."""

    local: str
    peer: str


@dataclass(frozen=True)
class PeerFound:
    """The address the followed master is connected to: a better probe target. `path`
    and `route`: its connection's ends and the route to its peer when it was followed,
    what a network change is checked against (PathLooked)."""

    address: Address
    path: TcpPath | None = None
    route: Route | None = None


@dataclass(frozen=True)
class PathLooked:
    """After an address or route went or changed: the master's path against the network
    now. `addresses`: this machine's addresses; `route`: to the master's peer (None:
    no usable route)."""

    pid: int
    addresses: frozenset[str]
    route: Route | None


# -- from a respawn's ssh ---------------------------------------------------------------------
@dataclass(frozen=True)
class AttemptExited:
    """A respawn's ssh exited. `failure` is ssh's classified failure when rc != 0;
    `reason` is its message, for the log only: nothing is decided on it."""

    ticket: int  # the Spawn's
    master: Master
    rc: int
    failure: SshFailure | None = None
    reason: str = ""


@dataclass(frozen=True)
class SpawnFailed:
    """ssh could not even be started (no binary, a directory that can't be made)."""

    reason: str


@dataclass(frozen=True)
class LockBusy:
    """`jssh up` or `jssh down` holds the host's lock: it is working on the host."""


# -- from the network ---------------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkChanged:
    """A link came up, or an address or a route was added (a burst counts once)."""


@dataclass(frozen=True)
class Woke:
    """The watchdog runs again after a while in which it did not (the loop logs how
    long): the laptop slept, or the watchdog was stopped. A connection may have died
    meanwhile without a word: a NAT or firewall forgot it, or the far sshd gave up."""


@dataclass(frozen=True)
class ProbeAnswered:
    """A reachability probe ended: its sshd sent a banner, or it did not."""

    reachable: bool


# -- from the clock -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Due:
    """One of the host's deadlines (machine.timers) has come."""

    timer: Timer


# -- answers from the workers (blocking jobs run off the loop) ------------------------------------
@dataclass(frozen=True)
class MasterChecked:
    """`ssh -O check` said: a live master's pid; or a master that accepts on its socket
    but does not answer (`silent`, its pid found by its process title); or neither."""

    ticket: int
    pid: int | None = None
    silent: int | None = None
    error: str | None = None  # the check itself failed: treated as "none runs"


@dataclass(frozen=True)
class MasterVerified:
    """A round trip through the master (a `true` run on the remote) answered within
    policy.VERIFY_WAIT, or not."""

    ticket: int
    answered: bool


@dataclass(frozen=True)
class SlurmChecked:
    """A Slurm host's masters, and (when asked) whether its job still queues or runs."""

    ticket: int
    login_up: bool
    node: int | None = None
    silent: int | None = None
    asked_job: bool = False
    job_alive: bool | None = None  # None: not asked, or Slurm could not be asked


@dataclass(frozen=True)
class MasterKilled:
    """A master that could not work was killed, and has let go of its socket and port."""

    ticket: int


@dataclass(frozen=True)
class JobReported:
    """The ended job as Slurm last described it (None: it could not be asked);
    its connections are closed."""

    ticket: int
    job_id: str | None = None
    job_state: str | None = None


# -- the workstation's Jupyter server -----------------------------------------------------------
@dataclass(frozen=True)
class ServerWatched:
    """A watch of the server through the master ended (its ssh exited): what it saw.
    `pid` is the server's; `mode` how it ran (tmux | nohup), so a restart runs it so."""

    ticket: int  # the WatchServer's
    end: ServerEnd
    pid: int | None = None
    mode: str | None = None
    # GONE or NONE: the server shut itself down after this many idle seconds (its
    # `--idle-timeout`, Jupyter's own words in its log), rather than dying.
    idle_s: int | None = None


@dataclass(frozen=True)
class ServerRestarted:
    """A restart with the saved token ended. `reason` is for the log only."""

    ticket: int  # the RestartServer's
    result: RestartResult
    pid: int | None = None
    reason: str = ""


Event = (
    Consider
    | MarkerChanged
    | SocketAppeared
    | SocketDeleted
    | SocketLooked
    | MasterExited
    | MasterLooked
    | PeerFound
    | PathLooked
    | AttemptExited
    | SpawnFailed
    | LockBusy
    | NetworkChanged
    | Woke
    | ProbeAnswered
    | Due
    | MasterChecked
    | MasterVerified
    | SlurmChecked
    | MasterKilled
    | JobReported
    | ServerWatched
    | ServerRestarted
)
