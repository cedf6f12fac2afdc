"""A connected workstation's Jupyter server, as pure functions of the host: the part of
`machine.handle` that keeps the server itself running, not just the tunnel to it.

While a master is followed, one watch runs through it (watch.sh, a mux client): it
blocks on the remote until the server's pid is gone, then answers and exits, and that
exit is the event. A dead server is started again as `jssh up` would, with the saved
token, so the URL already open in a browser keeps working. A server that keeps dying
soon after each restart is given up after policy.SERVER_TRIES, with a capped backoff
between the restarts; a watch then waits for a server `jssh up` starts. A server that
shut itself down after its idle timeout (`jssh add --idle-timeout`) did what it was told:
it is reported once and not restarted, and a watch waits likewise for `jssh up`. The
watch tells the two apart by Jupyter's own last words in its log (watch.sh's IDLE). A
Slurm host's server is never watched: its death ends the job, which the machine reports
once.

Every decision is made on the typed answers (ServerEnd, RestartResult), never on words.
"""

from __future__ import annotations

from dataclasses import replace

from jssh.durations import format_duration
from jssh.watchdog import effects as fx
from jssh.watchdog import events as ev
from jssh.watchdog import policy
from jssh.watchdog.model import Host
from jssh.watchdog.states import HostState, RestartResult, ServerEnd, ServerPhase

S = HostState
P = ServerPhase
Step = tuple[Host, list[fx.Effect]]


def _with(h: Host, **fields: object) -> Host:
    return replace(h, server=replace(h.server, **fields))  # type: ignore[arg-type]


def _report(h: Host, what: str, did: str) -> fx.Report:
    return fx.Report(what, did, h.state, h.master_pid, server=h.server.phase)


def watch(h: Host) -> Step:
    """Start watching the server of a host whose master is now followed."""
    if h.slurm or not h.own_server or h.state is not S.CONNECTED:
        return h, []
    h, ticket = h.next_ticket()
    gave_up, idle = h.server.gave_up, h.server.stopped_idle
    phase = P.GAVE_UP if gave_up else P.IDLE_STOPPED if idle else P.WATCHING
    h = _with(h, phase=phase, ticket=ticket, at=None)
    return h, [fx.WatchServer(ticket, until_start=gave_up or idle)]


def _current(h: Host, ticket: int, *phases: ServerPhase) -> bool:
    return h.state is S.CONNECTED and h.server.ticket == ticket and h.server.phase in phases


def watched(h: Host, answer: ev.ServerWatched, now: float) -> Step:
    """A watch ended: the server exited, none ran, one appeared, or the watch was lost."""
    if not _current(h, answer.ticket, P.WATCHING, P.GAVE_UP, P.IDLE_STOPPED):
        return h, []
    if answer.end is ServerEnd.LOST:
        return _with(h, phase=P.REWATCH, ticket=None, at=now + policy.WATCH_RETRY), []
    if answer.end is ServerEnd.APPEARED:
        h = _with(h, gave_up=False, stopped_idle=False, tries=0, started_at=None, died_at=None)
        h, effects = watch(h)
        what = f"a Jupyter server runs again (pid {answer.pid or '?'})"
        return h, [_report(h, what, "watching it; it is restarted if it dies"), *effects]
    if h.server.gave_up or h.server.stopped_idle:  # (a watch for a start never answers so)
        return watch(h)
    if not h.wanted:  # `jssh down` stops it: the marker went first
        return _with(h, phase=P.NONE, ticket=None), []
    if answer.idle_s is not None:
        return _stopped_idle(h, answer)
    use_tmux = h.server.use_tmux if answer.mode not in ("tmux", "nohup") else answer.mode == "tmux"
    h = _with(h, use_tmux=use_tmux, died_at=now)
    if answer.end is ServerEnd.GONE:
        what = f"Jupyter server pid {answer.pid or '?'} exited"
    else:
        what = "no Jupyter server runs"
    return _again(h, now, what)


def _stopped_idle(h: Host, answer: ev.ServerWatched) -> Step:
    """The server shut itself down after its idle timeout: as asked, so no restart."""
    h = _with(h, stopped_idle=True, tries=0, started_at=None)
    h, effects = watch(h)
    pid = f" pid {answer.pid}" if answer.pid else ""
    what = f"Jupyter server{pid} stopped after {format_duration(answer.idle_s or 0)} idle"
    did = f"not restarting it (its idle timeout); `jssh up {h.name}` starts it again (same URL)"
    return h, [_report(h, what, did), *effects]


def _again(h: Host, now: float, what: str, *, died: bool = True) -> Step:
    """The server is gone (or a restart failed): restart it, later, or give up."""
    s = h.server
    tries = s.tries if policy.server_crashed(s.started_at, now) or s.phase is P.RESTARTING else 0
    tries += 1
    if tries > policy.SERVER_TRIES:
        h = _with(h, tries=0, gave_up=True, started_at=None)
        h, effects = watch(h)
        did = (
            f"gave up after {policy.SERVER_TRIES} restarts in a row: see `jssh logs {h.name}`;"
            f" once fixed, `jssh up {h.name}` starts it (same URL) and the watchdog follows it"
        )
        return h, [_report(h, f"{what}; it keeps dying", did), *effects]
    delay = policy.server_backoff(tries)
    h = _with(h, tries=tries, started_at=None)
    if delay <= 0:
        h, effects = restart(h)
        return h, [_report(h, what, "restarting it with the same token (same URL)"), *effects]
    h = _with(h, phase=P.BACKOFF, ticket=None, at=now + delay)
    did = f"restart {tries} of {policy.SERVER_TRIES} in {delay:.1f} s (same URL)"
    return h, [_report(h, f"{what} again soon after a restart" if died else what, did)]


def restart(h: Host) -> Step:
    h, ticket = h.next_ticket()
    h = _with(h, phase=P.RESTARTING, ticket=ticket, at=None)
    return h, [fx.RestartServer(ticket, use_tmux=h.server.use_tmux)]


def restarted(h: Host, answer: ev.ServerRestarted, now: float) -> Step:
    """A restart ended: follow the new server, try again later, or give up."""
    if not _current(h, answer.ticket, P.RESTARTING):
        return h, []
    if not h.wanted:
        return _with(h, phase=P.NONE, ticket=None), []
    result = answer.result
    if result is RestartResult.BUSY:  # another jssh works on it: look again soon
        return _with(h, phase=P.BACKOFF, ticket=None, at=now + policy.LOCK_RETRY), []
    if result is RestartResult.NO_TOKEN:
        h = _with(h, tries=0, gave_up=True, started_at=None)
        h, effects = watch(h)
        what = "the Jupyter server is gone and jssh has no saved token for it"
        did = f"not restarting it (the URL would change): run `jssh up {h.name}`"
        return h, [_report(h, what, did), *effects]
    if result in (RestartResult.STARTED, RestartResult.RUNNING):
        died = h.server.died_at
        started = result is RestartResult.STARTED
        h = _with(h, started_at=now if started else None, tries=h.server.tries if started else 0)
        h, effects = watch(h)
        if started:
            what = f"restarted Jupyter: pid {answer.pid or '?'}, same token"
            after = f" {now - died:.1f} s after it died" if died is not None else ""
            did = f"the URL answers again{after}; its kernels were lost"
        else:
            what, did = f"a Jupyter server runs (pid {answer.pid or '?'})", "watching it"
        return h, [_report(h, what, did), *effects]
    why = "ssh through the master failed" if result is RestartResult.UNREACHABLE else "it failed"
    return _again(h, now, f"restarting Jupyter failed ({answer.reason or why})", died=False)


def lock_busy(h: Host, now: float) -> Step:
    """`jssh up` or `jssh down` holds the host lock: the restart waits for it."""
    return _with(h, phase=P.BACKOFF, ticket=None, at=now + policy.LOCK_RETRY), []


def due(h: Host) -> Step:
    """The backoff is over (restart), or a lost watch is to start again."""
    phase = h.server.phase
    h = _with(h, at=None)
    if h.state is not S.CONNECTED or not h.wanted:
        return h, []
    if phase is P.BACKOFF:
        return restart(h)
    if phase is P.REWATCH:
        return watch(h)
    return h, []
