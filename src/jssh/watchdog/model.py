"""The host as the state machine sees it: frozen values, and the one guarded way to
change its state.

`Host.state` changes only through `change`, which refuses a transition that ALLOWED
does not list (supervisor guards its process states the same way, in `change_state`
and `_assertInState`) and drops what does not belong to the new state: an attempt
exists only while STARTING, a deadline to retry only while WAITING, a followed master
only while CONNECTED, an answer awaited from off the loop only where one was asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from jssh.failures import SshFailure
from jssh.watchdog.events import Address, Route, TcpPath
from jssh.watchdog.states import (
    Cause,
    Fault,
    HostState,
    Master,
    Purpose,
    ServerPhase,
    Setback,
    Timer,
)

S = HostState
ALLOWED: dict[HostState, frozenset[HostState]] = {
    S.IDLE: frozenset({S.CHECKING, S.DOWN}),
    S.CHECKING: frozenset(
        {S.CHECKING, S.CONNECTED, S.KILLING, S.STARTING, S.WAITING, S.NEEDS_USER, S.JOB_ENDED}
        | {S.DOWN}
    ),
    S.CONNECTED: frozenset({S.CHECKING, S.KILLING, S.STARTING, S.DOWN}),
    S.KILLING: frozenset({S.CHECKING, S.STARTING, S.WAITING, S.NEEDS_USER, S.DOWN}),
    S.STARTING: frozenset({S.CHECKING, S.WAITING, S.DOWN}),
    S.WAITING: frozenset({S.CHECKING, S.STARTING, S.DOWN}),
    S.NEEDS_USER: frozenset({S.IDLE, S.CHECKING, S.DOWN}),
    S.JOB_ENDED: frozenset({S.IDLE, S.CHECKING}),
    S.DOWN: frozenset({S.IDLE, S.CHECKING}),
}


class InvalidTransition(RuntimeError):
    """A bug: the machine tried a transition that ALLOWED does not list."""


@dataclass(frozen=True)
class Attempt:
    """A respawn's ssh in flight (STARTING)."""

    ticket: int
    master: Master
    started: float
    deadline: float
    cancelled: bool = False  # terminated on purpose: its failure says nothing


@dataclass(frozen=True)
class Outcome:
    """How a respawn's ssh ended, kept while the master is looked for afterwards."""

    rc: int
    failure: SshFailure | None
    reason: str
    cancelled: bool


@dataclass(frozen=True)
class Pending:
    """A job off the loop whose answer the host waits for (CHECKING, KILLING, JOB_ENDED).
    An answer with another ticket is stale and ignored."""

    ticket: int
    purpose: Purpose | None = None  # CHECKING: what the look is for
    cause: Cause | None = None  # Purpose.CONSIDER: why the host is looked at
    outcome: Outcome | None = None  # after an attempt: what its ssh said
    resume: HostState | None = None  # Purpose.ADOPT: where to go back when none runs
    pid: int | None = None  # KILLING: the master being killed, and why
    fault: Fault | None = None


@dataclass(frozen=True)
class Probing:
    """Reachability probes of the host's sshd while it is down."""

    next_at: float
    failed: bool = False  # one failed in this outage: an answer now means "it came back"
    last_failure: float = 0.0
    in_flight: bool = False


@dataclass(frozen=True)
class Server:
    """What the watchdog does about a connected workstation's Jupyter server. Only the
    phase and its ticket and deadline depend on the master: the count of restarts in a
    row, and giving up, outlive a master's replacement (a `jssh down` resets them)."""

    phase: ServerPhase = ServerPhase.NONE
    ticket: int | None = None  # the watch's or the restart's in flight
    at: float | None = None  # BACKOFF, REWATCH: when to act
    tries: int = 0  # restarts in a row, each dying soon after (or failing)
    gave_up: bool = False
    stopped_idle: bool = False  # it shut itself down after its idle timeout: not restarted
    started_at: float | None = None  # when the last restart started one
    died_at: float | None = None  # when the server was last seen gone
    use_tmux: bool = True


@dataclass(frozen=True)
class Host:
    """Everything the machine knows about one host. The loop sets `wanted` from the
    marker file before every event: `jssh down` removes the marker just before it
    stops the master, and the master's exit reaches the watchdog first."""

    name: str
    local_port: int = 0
    slurm: bool = False  # a Slurm host with a job's node: two masters
    own_server: bool = True  # a workstation: its server is jssh's to restart (not a job's)
    probe_addr: Address | None = None
    net_events: bool = False  # the loop hears of network changes on this system
    seed: int = 0  # for the backoff's jitter
    wanted: bool = True
    state: HostState = HostState.IDLE
    master_pid: int | None = None
    attempt: Attempt | None = None
    pending: Pending | None = None
    probing: Probing | None = None
    failures: int = 0
    retry_at: float | None = None
    lost_at: float | None = None  # when the tunnel went, for "back after X s"
    last_failure: SshFailure | Setback | None = None
    stopped_checks: int = 0
    verify_socket_at: float | None = None
    verifying: int | None = None  # CONNECTED, after a sleep: the round trip's ticket
    nudged_at: float | None = None
    job_asked_at: int | None = None  # Slurm: `failures` when squeue was last asked
    had_master: bool = False  # the tunnel was up at some point
    bridged: bool = False  # the watchdog holds the local port until a new master takes it
    path: TcpPath | None = None  # CONNECTED: the master's TCP connection, when it has one
    path_route: Route | None = None  # and the route to its peer when it was followed
    server: Server = Server()
    tickets: int = field(default=0, repr=False)

    def checking(self, purpose: Purpose) -> bool:
        """A look for a master (or a Slurm step) for PURPOSE is under way."""
        pending = self.pending
        return self.state is S.CHECKING and pending is not None and pending.purpose is purpose

    def timers(self) -> dict[Timer, float]:
        """The host's deadlines now: the loop sends `Due(timer)` once each has come
        (for VERIFY_SOCKET it looks at the socket and sends SocketLooked instead)."""
        found = {
            Timer.RETRY: self.retry_at if self.state is S.WAITING else None,
            Timer.PROBE: self.probing.next_at if self.probing else None,
            Timer.ATTEMPT_LIMIT: self.attempt.deadline if self.attempt else None,
            Timer.VERIFY_SOCKET: self.verify_socket_at if self.state is S.CONNECTED else None,
            Timer.SERVER: self.server.at if self.state is S.CONNECTED else None,
        }
        return {timer: at for timer, at in found.items() if at is not None}

    @property
    def holds_lock(self) -> bool:
        """The host lock (the one `jssh up` takes) is held in this state: while a respawn
        or a server's restart runs, and while a Slurm host's job is looked at or its end
        dealt with."""
        if self.state is S.STARTING or self.checking(Purpose.SLURM_STEP):
            return True
        if self.state is S.CONNECTED and self.server.phase is ServerPhase.RESTARTING:
            return True
        return self.state is S.JOB_ENDED and self.pending is not None

    def next_ticket(self) -> tuple[Host, int]:
        return replace(self, tickets=self.tickets + 1), self.tickets + 1


def change(h: Host, to: HostState, **fields: object) -> Host:
    """H in state TO, with FIELDS: the only way the state changes."""
    if to not in ALLOWED[h.state]:
        raise InvalidTransition(f"{h.name}: {h.state.name} -> {to.name} is not allowed")
    fields.setdefault("attempt", h.attempt if to is S.STARTING else None)
    fields.setdefault("retry_at", h.retry_at if to is S.WAITING else None)
    fields.setdefault("master_pid", h.master_pid if to is S.CONNECTED else None)
    fields.setdefault("verify_socket_at", h.verify_socket_at if to is S.CONNECTED else None)
    fields.setdefault("verifying", h.verifying if to is S.CONNECTED else None)
    fields.setdefault("path", h.path if to is S.CONNECTED else None)
    fields.setdefault("path_route", h.path_route if to is S.CONNECTED else None)
    fields.setdefault("pending", None)  # a job off the loop is always a new one, with a ticket
    if not to.retrying:
        fields["probing"] = None  # probes are for a host on its way back only
        fields.setdefault("bridged", False)  # the bridge is for a host on its way back only
    if to is S.DOWN:
        fields.setdefault("server", Server())  # brought down: the next `up` starts afresh
    elif to is not S.CONNECTED:  # no master, no watch: the count and a give-up stay
        fields.setdefault("server", replace(h.server, phase=ServerPhase.NONE, ticket=None, at=None))
    return replace(h, state=to, **fields)  # type: ignore[arg-type]
