"""One host's lifecycle as a pure function: `handle(host, event, now) -> (host, effects)`.

No I/O, no clock, no psutil: the host is a frozen value, `now` is given, and what
should happen comes back as effects for the loop to run (effects.py). So a test can
drive every fault through it in microseconds with a fake clock.

Every change of `Host.state` goes through `model.change`, which refuses a transition
that `model.ALLOWED` does not list. The decisions about failures (retry or give up, how
soon) are the policy's (policy.py), made on failure kinds, never on message words.
"""

from __future__ import annotations

from dataclasses import replace

from jssh.failures import SshFailure
from jssh.states import JOB_GONE
from jssh.watchdog import effects as fx
from jssh.watchdog import events as ev
from jssh.watchdog import policy, server
from jssh.watchdog.model import Attempt, Host, Outcome, Pending, Probing, change
from jssh.watchdog.states import (
    Cause,
    Fault,
    HostState,
    Master,
    Purpose,
    ServerPhase,
    Setback,
    Timer,
    Verdict,
)

S = HostState
Effects = list[fx.Effect]
Step = tuple[Host, Effects]


def _report(h: Host, what: str, did: str, *, quiet: bool = False) -> fx.Report:
    return fx.Report(what, did, h.state, h.master_pid, quiet, h.server.phase)


# -- the entry point ---------------------------------------------------------------------------
def handle(h: Host, event: ev.Event, now: float) -> Step:
    """The host after EVENT at time NOW, and what the loop should do about it."""
    if isinstance(event, ev.PeerFound):
        if h.state is S.CONNECTED:  # what a network change is checked against
            h = replace(h, path=event.path, path_route=event.route)
        return replace(h, probe_addr=event.address), []
    if isinstance(event, ev.PathLooked):
        return _path_looked(h, event)
    if isinstance(event, ev.NetworkChanged):
        return _network_changed(replace(h, nudged_at=now), now)
    if isinstance(event, ev.Woke):
        return _woke(h, now)
    if isinstance(event, ev.MasterVerified):
        return _verified(h, event)
    if isinstance(event, ev.MarkerChanged):
        return _marker_changed(h)
    if isinstance(event, ev.AttemptExited):
        return _attempt_exited(h, event, now)
    if isinstance(event, ev.MasterKilled):
        return _killed(h, event, now)
    if isinstance(event, ev.JobReported):
        return _job_reported(h, event)
    if isinstance(event, ev.ServerWatched):
        return server.watched(h, event, now)
    if isinstance(event, ev.ServerRestarted):
        return server.restarted(h, event, now)
    if h.state.retrying and not h.wanted:
        return _bring_down(h)  # `jssh down` ran while it was on its way back
    if isinstance(event, ev.Consider):
        return _consider(h, event.cause) if h.state is S.IDLE else (h, [])
    if isinstance(event, ev.SocketAppeared):
        adoptable = h.state in (S.WAITING, S.NEEDS_USER, S.DOWN) or (
            h.state is S.JOB_ENDED and h.pending is None
        )
        if h.wanted and adoptable:
            return _check(h, Purpose.ADOPT, resume=h.state)
        return h, []
    if isinstance(event, ev.SocketDeleted):
        if h.state is S.CONNECTED:
            return replace(h, verify_socket_at=now + policy.VERIFY_SOCKET_DELAY), []
        return h, []
    if isinstance(event, ev.SocketLooked):
        h = replace(h, verify_socket_at=None)
        if h.state is S.CONNECTED and h.master_pid is not None and not event.present:
            pid = h.master_pid
            what, did = f"master pid {pid} lost its control socket", "stopped it"
            note = fx.Note(what, f"{did}; its exit brings a respawn")
            return h, [fx.TerminateMaster(pid), note]
        return h, []
    if isinstance(event, ev.MasterExited | ev.MasterLooked):
        if h.state is not S.CONNECTED or event.pid != h.master_pid:
            return h, []  # a master followed before, or one being killed on purpose
        if isinstance(event, ev.MasterExited):
            return _master_exited(h, event, now)
        if not event.stopped:
            return replace(h, stopped_checks=0), []
        if h.stopped_checks + 1 < policy.STOPPED_CHECKS:
            return replace(h, stopped_checks=h.stopped_checks + 1), []
        return _kill(h, event.pid, Fault.STOPPED, None)
    if isinstance(event, ev.SpawnFailed):
        if h.state is not S.STARTING:
            return h, []
        what = f"{Setback.COULD_NOT_START.value}: {event.reason}"
        return _retry_later(h, now, Setback.COULD_NOT_START, what, reachability=False)
    if isinstance(event, ev.LockBusy):
        if h.state is S.STARTING or h.checking(Purpose.SLURM_STEP):
            return change(h, S.WAITING, retry_at=now + policy.LOCK_RETRY), []
        if h.state is S.CONNECTED and h.server.phase is ServerPhase.RESTARTING:
            return server.lock_busy(h, now)
        return h, []
    if isinstance(event, ev.ProbeAnswered):
        return _probe_answered(h, event.reachable, now)
    if isinstance(event, ev.Due):
        return _due(h, event.timer, now)
    if isinstance(event, ev.MasterChecked):
        return _master_checked(h, event, now)
    if isinstance(event, ev.SlurmChecked):
        return _slurm_checked(h, event, now)
    raise TypeError(f"not an event: {event!r}")


# -- looking, following, starting ---------------------------------------------------------------
def _marker_changed(h: Host) -> Step:
    if not h.wanted:
        return _bring_down(h)
    left_alone = (S.DOWN, S.NEEDS_USER, S.JOB_ENDED)
    if h.state is S.IDLE or h.state in left_alone:
        h = change(h, S.IDLE) if h.state is not S.IDLE else h
        return _consider(h, Cause.BROUGHT_UP)
    p = h.pending
    if h.checking(Purpose.ADOPT) and p is not None and p.resume in left_alone:
        # Brought up while a look for an appearing master is under way: the same look
        # now decides as a fresh one would, so none running means starting one.
        pending = Pending(p.ticket, Purpose.CONSIDER, cause=Cause.BROUGHT_UP)
        return replace(h, pending=pending, retry_at=None), []
    return h, []


def _consider(h: Host, cause: Cause) -> Step:
    if not h.wanted:
        return _bring_down(h)
    return _check(h, Purpose.CONSIDER, cause=cause)


def _check(h: Host, purpose: Purpose, **pending: object) -> Step:
    h, ticket = h.next_ticket()
    pend = Pending(ticket, purpose, **pending)  # type: ignore[arg-type]
    h = change(h, S.CHECKING, pending=pend, retry_at=h.retry_at)  # an adoption may find nothing
    return h, [fx.CheckMaster(ticket)]


def _master_checked(h: Host, answer: ev.MasterChecked, now: float) -> Step:
    p = h.pending
    if h.state is not S.CHECKING or p is None or p.ticket != answer.ticket:
        return h, []
    notes: Effects = []
    if answer.error is not None:
        notes = [fx.Note(f"cannot ask for its master: {answer.error}", "will retry")]
    if answer.silent is not None:
        h, effects = _kill(h, answer.silent, Fault.SILENT, p.outcome)
        return h, notes + effects
    if answer.pid is not None:
        word = p.cause.value if p.purpose is Purpose.CONSIDER and p.cause else "a master appeared"
        if p.purpose is Purpose.AFTER_ATTEMPT:
            word = "respawned"
        outage = p.purpose is Purpose.AFTER_ATTEMPT or bool(p.resume and p.resume.retrying)
        what = f"{word}: master pid {answer.pid}"
        h, effects = _follow(h, answer.pid, what, now, outage=outage)
        return h, notes + effects
    if p.purpose is Purpose.ADOPT:
        assert p.resume is not None
        return change(h, p.resume), notes
    if p.purpose is Purpose.CONSIDER:
        assert p.cause is not None
        h = replace(h, lost_at=now)
        h, effects = _try(h, now)
        report = _report(h, f"{p.cause.value}; no tunnel is up", "starting one")
        return h, [*notes, report, *effects]
    assert p.outcome is not None
    h, effects = _judge(h, p.outcome, now)
    return h, notes + effects


def _follow(h: Host, pid: int, what: str, now: float, *, outage: bool) -> Step:
    """Follow master PID; `outage`: the tunnel was down, so say how long it took."""
    back = ""
    if h.lost_at is not None and outage:
        back = f"; forward 127.0.0.1:{h.local_port} back after {now - h.lost_at:.1f} s"
    hand_back: Effects = [fx.HandBack()] if h.bridged else []  # the port goes to it now
    h = change(
        h, S.CONNECTED, master_pid=pid, failures=0, lost_at=None, stopped_checks=0,
        last_failure=None, job_asked_at=None, had_master=True,
    )  # fmt: skip
    h, effects = server.watch(h)  # and its Jupyter server (a workstation's)
    return h, [*hand_back, _report(h, what, f"following it{back}"), *effects]


def _try(h: Host, now: float) -> Step:
    """Start the next respawn: a plain host's master at once; a Slurm host's after a
    look at which of its two masters is missing (and perhaps at its job)."""
    if not h.wanted:
        return _bring_down(h)
    if not h.slurm:
        return _spawn(h, Master.FORWARD, now)
    h, ticket = h.next_ticket()
    ask = policy.ask_job(h.failures, h.job_asked_at)
    pending = Pending(ticket, Purpose.SLURM_STEP)
    h = change(h, S.CHECKING, pending=pending, lost_at=h.lost_at or now)
    return h, [fx.CheckSlurm(ticket, ask_job=ask)]


def _spawn(h: Host, master: Master, now: float) -> Step:
    h, ticket = h.next_ticket()
    attempt = Attempt(ticket, master, started=now, deadline=now + policy.ATTEMPT_LIMIT)
    h = change(h, S.STARTING, attempt=attempt, lost_at=h.lost_at or now)
    return h, [fx.Spawn(ticket, master)]


def _slurm_checked(h: Host, answer: ev.SlurmChecked, now: float) -> Step:
    p = h.pending
    if not h.checking(Purpose.SLURM_STEP) or p is None or p.ticket != answer.ticket:
        return h, []
    if answer.asked_job:
        h = replace(h, job_asked_at=h.failures)
    if not answer.login_up:
        return _spawn(h, Master.LOGIN, now)
    if answer.node is not None:
        what = f"a master appeared: master pid {answer.node}"
        return _follow(h, answer.node, what, now, outage=True)
    if answer.silent is not None:
        return _kill(h, answer.silent, Fault.SILENT, None)
    if answer.job_alive is False:
        h, ticket = h.next_ticket()
        h = change(h, S.JOB_ENDED, pending=Pending(ticket), failures=0, lost_at=None)
        return h, [fx.EndJob(ticket)]
    return _spawn(h, Master.FORWARD, now)


# -- a respawn ends -----------------------------------------------------------------------------
def _attempt_exited(h: Host, done: ev.AttemptExited, now: float) -> Step:
    if h.attempt is None or h.attempt.ticket != done.ticket:
        # Brought down while it ran: undo what it opened. (Anything else: a leftover.)
        stop = h.state is S.DOWN and done.rc == 0
        return h, [fx.StopMaster(done.master)] if stop else []
    cancelled = h.attempt.cancelled
    if not h.wanted:
        h, effects = _bring_down(h)
        return h, ([fx.StopMaster(done.master)] if done.rc == 0 else []) + effects
    if done.rc == 0 and not cancelled and done.master is Master.LOGIN:
        note = fx.Note("the login node's master is back", "now the node's")
        h, effects = _try(h, now)
        return h, [note, *effects]
    outcome = Outcome(done.rc, done.failure if done.rc else None, done.reason, cancelled)
    return _check(h, Purpose.AFTER_ATTEMPT, outcome=outcome)


def _judge(h: Host, outcome: Outcome, now: float) -> Step:
    """No master after an attempt: decide on its failure kind (autossh's `ssh_wait`)."""
    if outcome.cancelled:  # the network changed under it, or the host answered: again now
        return _try(h, now)
    if outcome.rc == 0:
        what = f"respawn failed: {Setback.NO_MASTER.value}"
        return _retry_later(h, now, Setback.NO_MASTER, what, reachability=False)
    verdict = policy.verdict(outcome.failure)
    what = f"respawn failed: {outcome.reason}"
    if verdict is Verdict.GIVE_UP:
        h = change(h, S.NEEDS_USER)
        did = "BatchMode cannot answer a prompt, so the watchdog leaves it alone:"
        return h, [_report(h, what, f"{did} run `jssh up {h.name}` in a terminal")]
    key = outcome.failure or Setback.NO_MASTER
    return _retry_later(h, now, key, what, reachability=verdict is Verdict.RETRY_WHEN_REACHABLE)


def _retry_later(
    h: Host, now: float, key: SshFailure | Setback, what: str, *, reachability: bool
) -> Step:
    failures = h.failures + 1
    delay = policy.backoff(failures, seed=h.seed, nudged=policy.nudged(h.nudged_at, now))
    probe = reachability and h.probe_addr is not None
    probing = h.probing
    if probe and probing is None:
        probing = Probing(next_at=now)
    repeated = key == h.last_failure
    h = change(
        h, S.WAITING, failures=failures, retry_at=now + delay, probing=probing, last_failure=key
    )
    did = f"next attempt in {delay:.1f} s" + (" or as soon as it answers" if probe else "")
    did += " or when the network changes" if h.net_events else ""
    quiet = not policy.worth_logging(failures, repeated=repeated)
    return h, [_report(h, what + (f" (attempt {failures})" if repeated else ""), did, quiet=quiet)]


# -- masters that die, or must be killed --------------------------------------------------------
def _master_exited(h: Host, gone: ev.MasterExited, now: float) -> Step:
    what = f"master pid {gone.pid} exited" + (f" ({gone.last_words})" if gone.last_words else "")
    h = replace(h, lost_at=now, failures=0)
    if not h.wanted:
        h = change(h, S.DOWN)
        return h, [_report(h, what, "the host was brought down: leaving it alone")]
    h, effects = _bridge(*_try(h, now))
    return h, [_report(h, what, "respawning it now"), *effects]


def _kill(h: Host, pid: int, fault: Fault, outcome: Outcome | None) -> Step:
    h, ticket = h.next_ticket()
    h = change(h, S.KILLING, pending=Pending(ticket, pid=pid, fault=fault, outcome=outcome))
    return h, [fx.KillMaster(ticket, pid)]


def _killed(h: Host, answer: ev.MasterKilled, now: float) -> Step:
    p = h.pending
    if h.state is not S.KILLING or p is None or p.ticket != answer.ticket:
        return h, []
    assert p.fault is not None
    what = f"master pid {p.pid} {p.fault.value}"
    h = replace(h, failures=0, lost_at=now)
    if not h.wanted:
        h = change(h, S.DOWN)
        return h, [_report(h, what, "killed it; the host is down")]
    report = _report(h, what, "killed it; respawning now")
    h, effects = _bridge(*(_judge(h, p.outcome, now) if p.outcome else _try(h, now)))
    return h, [report, *effects]


def _bridge(h: Host, effects: Effects) -> Step:
    """A master that held the local port is gone and the host is on its way back: the
    watchdog holds the port until the new master takes it (relay.py), so that a page's
    retry waits instead of being refused. First, so the respawn starts without it."""
    if not h.state.retrying or not h.local_port:
        return h, effects
    return replace(h, bridged=True), [fx.OpenBridge(), *effects]


def _bring_down(h: Host) -> Step:
    """The user wants it down: stop everything under way and leave it alone. Its master,
    if one runs, is `jssh down`'s to stop."""
    if h.state in (S.DOWN, S.JOB_ENDED):
        return h, []
    was_watched = h.state is not S.IDLE
    effects: Effects = [fx.CancelAttempt(h.attempt.ticket)] if h.attempt is not None else []
    h = change(h, S.DOWN, failures=0)
    if was_watched:
        effects.append(_report(h, "brought down by the user", "leaving it alone"))
    return h, effects


def _job_reported(h: Host, answer: ev.JobReported) -> Step:
    p = h.pending
    if h.state is not S.JOB_ENDED or p is None or p.ticket != answer.ticket:
        return h, []
    h = replace(h, pending=None)
    which = f"Slurm job {answer.job_id}" if answer.job_id else "its Slurm job"
    how = f" ({answer.job_state})" if answer.job_id and answer.job_state != JOB_GONE else ""
    when = " while the tunnel was up" if h.had_master else ""
    did = f"run `jssh up {h.name}` to start a new one (closed its connections; not retrying)"
    return h, [fx.ForgetWanted(), _report(h, f"{which} ended{how}{when}", did)]


# -- the network and the probes -----------------------------------------------------------------
def _network_changed(h: Host, now: float) -> Step:
    """Every host on its way back is tried now: an attempt that began before the change
    may sit in the kernel's SYN backoff, and a backoff may be long."""
    return _retry_now(h, now, "the network changed")


def _retry_now(h: Host, now: float, why: str) -> Step:
    if not h.state.retrying or not h.wanted:
        return h, []
    h, effects = _restart_attempt(h, before=now, now=now)
    if h.probe_addr is not None:  # and probe fast: the link may need a moment
        h = replace(h, probing=replace(h.probing or Probing(now), next_at=now))
    return h, [fx.Note(why, "retrying now"), *effects]


def _woke(h: Host, now: float) -> Step:
    """After a sleep: a host on its way back is tried now, as after a network change;
    a connected master must show that its connection still carries (a round trip):
    one the network forgot meanwhile looks alive to ssh until ServerAlive gives up."""
    if h.state is not S.CONNECTED or h.master_pid is None:
        return _retry_now(h, now, "the laptop woke")
    h, ticket = h.next_ticket()  # a round trip still out from an earlier wake is ignored
    return replace(h, verifying=ticket), [fx.VerifyMaster(ticket)]


def _verified(h: Host, answer: ev.MasterVerified) -> Step:
    pid = h.master_pid
    if h.state is not S.CONNECTED or pid is None or h.verifying != answer.ticket:
        return h, []
    h = replace(h, verifying=None)
    return (h, []) if answer.answered else _kill(h, pid, Fault.ASLEEP, None)


def _restart_attempt(h: Host, *, before: float, now: float) -> Step:
    if h.attempt is not None:
        if h.attempt.started < before and not h.attempt.cancelled:
            cancelled = replace(h.attempt, cancelled=True)
            return replace(h, attempt=cancelled), [fx.CancelAttempt(cancelled.ticket)]
        return h, []
    if h.state is S.WAITING:
        return replace(h, retry_at=now), []
    return h, []  # a look is under way: it ends in an attempt anyway


def path_lost(h: Host, looked: ev.PathLooked) -> str | None:
    """Why the followed master's TCP connection can no longer work, by the network as it
    is now; None while its path stands. A connection keeps its source address and its
    packets follow the route to the peer: when that address is gone, or the route now
    leaves through another interface (a new default route, a link gone), the peer's
    answers no longer come back, and ssh learns it only from ServerAlive (~15 s).
    A new source on the same interface is no reason: an IPv6 temporary address, or a
    second DHCP lease, leaves the old address working where it was."""
    path, then, now = h.path, h.path_route, looked.route
    if path is None:
        return None
    if path.local not in looked.addresses:
        return f"its local address {path.local} is gone"
    if now is None:
        return f"there is no route to {path.peer} now"
    moved = now.dev != then.dev if then is not None else now.source != path.local
    if moved:
        return (
            f"the route to {path.peer} now leaves through another interface,"
            f" from {now.source}, not {path.local}"
        )
    return None


def _path_looked(h: Host, looked: ev.PathLooked) -> Step:
    if h.state is not S.CONNECTED or looked.pid != h.master_pid or not h.wanted:
        return h, []
    why = path_lost(h, looked)
    if why is None:
        return h, []
    note = fx.Note(f"the network changed: {why}", f"replacing master pid {looked.pid} now")
    h, effects = _kill(h, looked.pid, Fault.PATH_GONE, None)
    return h, [note, *effects]


def _probe_answered(h: Host, reachable: bool, now: float) -> Step:
    p = h.probing
    if p is None or not p.in_flight:
        return h, []
    if not reachable:
        return replace(h, probing=replace(p, in_flight=False, failed=True, last_failure=now)), []
    h = replace(h, probing=None)
    if not p.failed:
        return h, []  # reachable all along: ssh fails for another reason; the backoff rules
    h, effects = _restart_attempt(h, before=p.last_failure, now=now)
    return h, [fx.Note("its sshd answers again", "retrying now"), *effects]


def _due(h: Host, timer: Timer, now: float) -> Step:
    if timer is Timer.RETRY:
        if h.state is not S.WAITING:
            return h, []
        return _try(replace(h, retry_at=None), now)
    if timer is Timer.ATTEMPT_LIMIT:
        if h.attempt is None:
            return h, []
        later = replace(h.attempt, deadline=now + policy.ATTEMPT_LIMIT)
        return replace(h, attempt=later), [fx.KillAttempt(later.ticket)]
    if timer is Timer.VERIFY_SOCKET:  # the loop answers with SocketLooked instead
        return replace(h, verify_socket_at=None), []
    if timer is Timer.SERVER:
        return server.due(h)
    p = h.probing
    if p is None:
        return h, []
    if p.in_flight:  # no banner within the interval: not reachable yet
        p = replace(p, in_flight=False, failed=True, last_failure=now)
    address = h.probe_addr
    if not h.state.retrying or address is None:
        return replace(h, probing=None), []
    next_at = now + policy.probe_interval(nudged=policy.nudged(h.nudged_at, now))
    return replace(h, probing=replace(p, next_at=next_at, in_flight=True)), [fx.StartProbe(address)]
