"""Carrying out the state machine's effects, and holding what each host holds.

The quick effects (a log line, starting a BatchMode ssh, a signal, a probe's connect)
run here, on the loop. The blocking ones go to the workers (worker.py), and their
answers come back as events.

What a host holds follows its state, not the events: after every event the loop calls
`settle`, which follows the master the state names (a pidfd, for its exit), holds the
host lock while the state needs it (`Host.holds_lock`) or a respawn's ssh still runs,
and closes a probe the state no longer waits for.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import selectors
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from jssh import fsutil, remote
from jssh.errors import JsshError
from jssh.exits import Fileno, exit_notifier
from jssh.hosts import HostRecord
from jssh.paths import Paths
from jssh.ssh import MUX_CLIENT_OPTIONS, BatchStart, Ssh, remote_command
from jssh.watchdog import effects as fx
from jssh.watchdog import events as ev
from jssh.watchdog import relay, worker
from jssh.watchdog.model import Host
from jssh.watchdog.netpath import master_path, route_to
from jssh.watchdog.sources import Probe, last_words, master_peer
from jssh.watchdog.states import HostState, Master, ServerEnd, ServerPhase

if TYPE_CHECKING:
    import psutil

    from jssh.watchdog.journal import Journal


@dataclass
class Running:
    """A respawn's ssh, until its exit is seen."""

    start: BatchStart
    master: Master
    notifier: Fileno | None


@dataclass
class Watch:
    """A watch of the server (watch.sh through the master), until its exit is seen. Its
    stdin stays open: closing it ends the remote side (see watch.sh)."""

    ticket: int
    proc: subprocess.Popen[bytes]
    notifier: Fileno | None


@dataclass(frozen=True)
class WatchReaped:
    """Where no exit notifier exists, a thread waited for a watch's ssh to exit."""

    ticket: int


@dataclass(frozen=True)
class Reaped:
    """Where no exit notifier exists, a worker waited for the attempt's ssh to exit."""

    ticket: int


class Slot:
    """One watched host: its record, its machine state, and what it holds on the loop."""

    def __init__(self, record: HostRecord, control_path: str, host: Host) -> None:
        self.record = record
        self.control_path = control_path
        self.host = host
        self.followed: int | None = None  # the pid of the master followed
        self.master: psutil.Process | None = None
        self.master_exit: Fileno | None = None
        self.master_log_size = 0
        self.attempts: dict[int, Running] = {}  # by the Spawn's ticket
        self.lock_fd: int | None = None
        self.probe: Probe | None = None
        self.watch: Watch | None = None
        self.bridge: relay.Bridge | None = None  # the local port, held while a master is replaced
        self.standby: socket.socket | None = None  # the followed master's listener (relay.py)

    @property
    def name(self) -> str:
        return self.record.name

    def alias(self, master: Master) -> str:
        return worker.forward_alias(self.record) if master is Master.FORWARD else self.record.alias

    def log_path(self, paths: Paths, master: Master) -> Path:
        if master is Master.FORWARD and worker.is_slurm(self.record):
            return paths.node_master_log(self.name)
        return paths.master_log(self.name)


Post = Callable[[Slot, ev.Event], None]


class Executor:
    def __init__(
        self,
        *,
        paths: Paths,
        ssh: Ssh,
        selector: selectors.BaseSelector,
        journal: Journal,
        workers: worker.Workers[Slot | None],
        post: Post,
        connect_timeout: int,
    ) -> None:
        self.paths, self.ssh, self.selector, self.journal = paths, ssh, selector, journal
        self.workers, self.post, self.connect_timeout = workers, post, connect_timeout

    def run(self, slot: Slot, effects: list[fx.Effect]) -> None:
        for effect in effects:
            self._run(slot, effect)

    def _run(self, slot: Slot, effect: fx.Effect) -> None:
        match effect:
            case fx.Report():
                self.journal.report(slot.name, effect)
            case fx.Note(what=what, did=did):
                self.journal.log(slot.name, what, did)
            case fx.Spawn(ticket=ticket, master=master):
                self._spawn(slot, ticket, master)
            case fx.CancelAttempt(ticket=ticket) | fx.KillAttempt(ticket=ticket):
                running = slot.attempts.get(ticket)
                if running is not None:
                    with contextlib.suppress(OSError):
                        if isinstance(effect, fx.KillAttempt):
                            running.start.proc.kill()
                        else:
                            running.start.proc.terminate()
            case fx.StartProbe(address=address):
                self._start_probe(slot, address)
            case fx.TerminateMaster(pid=pid):
                self._terminate_master(slot, pid)
            case fx.ForgetWanted():
                for path in (self.paths.wanted_marker(slot.name), self.paths.token_file(slot.name)):
                    with contextlib.suppress(OSError):
                        path.unlink()
            case fx.CheckMaster(ticket=ticket):
                alias = slot.alias(Master.FORWARD)
                job = partial(worker.check_master, self.ssh, alias, slot.control_path, ticket)
                self.workers.submit(slot, job)
            case fx.VerifyMaster(ticket=ticket):
                verify = partial(worker.verify_master, self.ssh, slot.alias(Master.FORWARD), ticket)
                self.workers.submit(slot, verify)
            case fx.CheckSlurm(ticket=ticket, ask_job=ask_job):
                if not self._take_lock(slot):
                    self.post(slot, ev.LockBusy())
                    return
                args = (self.paths, self.ssh, slot.record, slot.control_path, ticket)
                self.workers.submit(slot, partial(worker.check_slurm, *args, ask_job=ask_job))
            case fx.KillMaster(ticket=ticket, pid=pid):
                proc = slot.master if slot.master is not None and slot.master.pid == pid else None
                self.workers.submit(slot, partial(worker.kill_master, ticket, pid, proc))
            case fx.StopMaster(master=master):
                self.workers.submit(slot, partial(worker.stop_master, self.ssh, slot.alias(master)))
            case fx.EndJob(ticket=ticket):
                end = partial(worker.end_job, self.paths, self.ssh, slot.record, ticket)
                self.workers.submit(slot, end)
            case fx.WatchServer(ticket=ticket, until_start=until_start):
                self._watch_server(slot, ticket, until_start=until_start)
            case fx.OpenBridge() | fx.HandBack():
                self._bridge(slot, hand_back=isinstance(effect, fx.HandBack))
            case fx.RestartServer(ticket=ticket, use_tmux=use_tmux):
                if not self._take_lock(slot):
                    self.post(slot, ev.LockBusy())
                    return
                restart = partial(
                    worker.restart_server,
                    self.paths, self.ssh, slot.record, ticket, use_tmux=use_tmux,
                )  # fmt: skip
                self.workers.submit(slot, restart)

    # -- what a host holds -------------------------------------------------------------------
    def settle(self, slot: Slot) -> None:
        host = slot.host
        if slot.followed != host.master_pid:
            self._unfollow(slot)
            if host.master_pid is not None:
                self._follow(slot, host.master_pid)
        if slot.probe is not None and not (host.probing and host.probing.in_flight):
            self._close_probe(slot)
        watching = host.state is HostState.CONNECTED and host.server.phase in _WATCHING
        if slot.watch is not None and not (watching and host.server.ticket == slot.watch.ticket):
            self._stop_watch(slot)
        if slot.lock_fd is not None and not host.holds_lock and not slot.attempts:
            os.close(slot.lock_fd)
            slot.lock_fd = None
        if slot.bridge is not None and slot.bridge.listening and not host.bridged:
            slot.bridge.close()  # no longer on its way back: the port is nobody's
        if slot.standby is not None and not (host.state.retrying or host.master_pid):
            slot.standby.close()  # brought down: the master's listener goes with it
            slot.standby = None

    def forget(self, slot: Slot, *, wait: float = 0.0) -> None:
        """Stop looking after SLOT: respawns in flight are terminated (and waited for, up to
        WAIT seconds); the master, if one runs, is left running."""
        for running in slot.attempts.values():
            self._unregister(running.notifier)
            with contextlib.suppress(OSError):
                running.start.proc.terminate()
            if wait:
                with contextlib.suppress(Exception):
                    running.start.proc.wait(timeout=wait)
        slot.attempts.clear()
        self._stop_watch(slot)
        self._unfollow(slot)
        self._close_probe(slot)
        if slot.bridge is not None:
            slot.bridge.close()
        if slot.standby is not None:
            slot.standby.close()
            slot.standby = None
        if slot.lock_fd is not None:
            os.close(slot.lock_fd)
            slot.lock_fd = None

    def _take_lock(self, slot: Slot) -> bool:
        """The host's lock (the one `jssh up` takes), without waiting; False when held."""
        if slot.lock_fd is not None:
            return True
        path = self.paths.host_state_dir(slot.name) / ".lock"
        try:
            fsutil.ensure_private_dir(path.parent)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, fsutil.PRIVATE_FILE)
        except (OSError, JsshError):
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        slot.lock_fd = fd
        return True

    def _unregister(self, notifier: Fileno | None) -> None:
        if notifier is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(notifier)
            notifier.close()

    # -- the followed master -----------------------------------------------------------------
    def _follow(self, slot: Slot, pid: int) -> None:
        import psutil

        slot.followed = pid
        try:
            slot.master = psutil.Process(pid)
        except psutil.Error:
            self.post(slot, ev.MasterExited(pid))  # gone already
            return
        slot.master_exit = exit_notifier(pid)
        if slot.master_exit is not None:  # elsewhere the periodic look notices, later
            self.selector.register(
                slot.master_exit, selectors.EVENT_READ, partial(self._master_gone, slot, pid)
            )
        with contextlib.suppress(OSError):
            slot.master_log_size = slot.log_path(self.paths, Master.FORWARD).stat().st_size
        if slot.standby is not None:
            slot.standby.close()
        slot.standby = relay.take_listener(pid, slot.record.local_port)
        peer = master_peer(slot.master, slot.record.local_port)
        if peer is not None:  # and what a network change is checked against
            path = master_path(slot.master, slot.record.local_port)
            route = route_to(path.peer) if path is not None else None
            self.post(slot, ev.PeerFound(peer, path, route))

    def _unfollow(self, slot: Slot) -> None:
        self._unregister(slot.master_exit)
        slot.master_exit, slot.master, slot.followed = None, None, None

    def _master_gone(self, slot: Slot, pid: int) -> None:
        # A pidfd stays readable once its process exited: close it now, whatever the
        # machine makes of the exit.
        self._unregister(slot.master_exit)
        slot.master_exit = None
        self.post(slot, self.exit_of(slot, pid))

    def exit_of(self, slot: Slot, pid: int) -> ev.MasterExited:
        """The master's exit, with its last log line since it was followed."""
        log = slot.log_path(self.paths, Master.FORWARD)
        return ev.MasterExited(pid, last_words(log, slot.master_log_size))

    def _terminate_master(self, slot: Slot, pid: int) -> None:
        import psutil

        if slot.master is not None and slot.master.pid == pid:
            with contextlib.suppress(psutil.Error):
                if slot.master.is_running():
                    slot.master.terminate()

    # -- the bridge (relay.py) ------------------------------------------------------------------
    def _bridge(self, slot: Slot, *, hand_back: bool) -> None:
        state_dir = self.paths.host_state_dir(slot.name)
        if hand_back and relay.holds(slot.bridge):
            assert slot.bridge is not None
            lines = relay.hand_back(slot.bridge, slot.control_path, slot.record, state_dir)
        elif not hand_back and not relay.holds(slot.bridge):
            port, standby, slot.standby = slot.record.local_port, slot.standby, None
            args = (self.selector, port, state_dir, standby, slot.bridge)
            slot.bridge, lines = relay.open_bridge(*args)
        else:
            lines = []
        for what, did in lines:
            self.journal.log(slot.name, what, did)

    # -- respawns ------------------------------------------------------------------------------
    def _spawn(self, slot: Slot, ticket: int, master: Master) -> None:
        if not self._take_lock(slot):
            self.post(slot, ev.LockBusy())  # `jssh up`/`down` works on it
            return
        try:
            fsutil.ensure_private_dir(self.paths.control_dir)
            start = self.ssh.spawn_master(
                slot.alias(master),
                log_path=slot.log_path(self.paths, master),
                connect_timeout=self.connect_timeout,
                # While the bridge holds the port, the new master must not want it.
                forwards=master is not Master.FORWARD or not relay.holds(slot.bridge),
            )
        except (JsshError, OSError) as exc:
            self.post(slot, ev.SpawnFailed(str(exc)))
            return
        notifier = exit_notifier(start.proc.pid)
        slot.attempts[ticket] = Running(start, master, notifier)
        if notifier is None:  # no notifier: a worker waits (ConnectTimeout bounds it)
            self.workers.submit(slot, partial(_reap, start, ticket))
            return
        done = partial(self.attempt_done, slot, ticket)
        self.selector.register(notifier, selectors.EVENT_READ, done)

    def attempt_done(self, slot: Slot, ticket: int) -> None:
        running = slot.attempts.pop(ticket, None)
        if running is None:
            return
        self._unregister(running.notifier)
        rc = running.start.proc.wait()  # it exited: no wait
        failure = running.start.failure() if rc != 0 else None  # reads its log
        kind, reason = (failure.kind, failure.message) if failure else (None, "")
        self.post(slot, ev.AttemptExited(ticket, running.master, rc, kind, reason))

    # -- the server's watch ---------------------------------------------------------------------
    def _watch_server(self, slot: Slot, ticket: int, *, until_start: bool) -> None:
        """Start watch.sh through the master, as a mux client that never prompts; the
        exit of its ssh (a pidfd) is the event."""
        self._stop_watch(slot)
        script = remote.watch_script(slot.record, until_start=until_start)
        alias = slot.alias(Master.FORWARD)
        argv = self.ssh.argv(*MUX_CLIENT_OPTIONS, "--", alias, remote_command(["sh", "-s"]))
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C of `jssh watch` is the watchdog's to act on
            )
        except OSError:
            self.post(slot, ev.ServerWatched(ticket, ServerEnd.LOST))
            return
        assert proc.stdin is not None
        with contextlib.suppress(OSError):  # it exited already: its exit says so
            proc.stdin.write(script.encode())
            proc.stdin.flush()
        notifier = exit_notifier(proc.pid)
        slot.watch = Watch(ticket, proc, notifier)
        if notifier is None:
            self.workers.wait_apart(slot, partial(_reap_watch, proc, ticket))
            return
        done = partial(self.watch_done, slot, ticket)
        self.selector.register(notifier, selectors.EVENT_READ, done)

    def watch_done(self, slot: Slot, ticket: int) -> None:
        """The watch's ssh exited: what it answered becomes ServerWatched."""
        watch = slot.watch
        if watch is None or watch.ticket != ticket:
            return
        slot.watch = None
        self._unregister(watch.notifier)
        rc = watch.proc.wait()  # it exited: no wait
        out = b""
        if watch.proc.stdout is not None:
            os.set_blocking(watch.proc.stdout.fileno(), False)  # nothing else holds it, but
            with contextlib.suppress(OSError):
                out = watch.proc.stdout.read() or b""
        _close(watch.proc)
        reply = remote.parse_reply(out.decode(errors="replace"), rc)
        K = remote.ReplyKey
        for key, end in ((K.GONE, ServerEnd.GONE), (K.NOTRUNNING, ServerEnd.NONE),
                         (K.APPEARED, ServerEnd.APPEARED)):  # fmt: skip
            if reply.has(key):
                pid = reply.value(key)
                number = int(pid) if pid and pid.isdigit() else None
                idle = reply.value(K.IDLE)
                idle_s = int(idle) if idle and idle.isdigit() else None
                self.post(slot, ev.ServerWatched(ticket, end, number, reply.value(K.MODE), idle_s))
                return
        self.post(slot, ev.ServerWatched(ticket, ServerEnd.LOST))

    def _stop_watch(self, slot: Slot) -> None:
        watch, slot.watch = slot.watch, None
        if watch is None:
            return
        self._unregister(watch.notifier)
        _close(watch.proc)  # its stdin closed: the remote side ends too
        with contextlib.suppress(OSError):
            watch.proc.terminate()
        try:
            watch.proc.wait(timeout=1.0)  # a mux client exits at once on SIGTERM
        except subprocess.TimeoutExpired:
            watch.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                watch.proc.wait(timeout=1.0)

    # -- probes ---------------------------------------------------------------------------------
    def _start_probe(self, slot: Slot, address: ev.Address) -> None:
        self._close_probe(slot)  # still in flight: no banner within the interval
        try:
            probe = Probe(address)
        except OSError:
            self.post(slot, ev.ProbeAnswered(reachable=False))
            return
        if probe.failed:
            probe.close()
            self.post(slot, ev.ProbeAnswered(reachable=False))
            return
        slot.probe = probe
        self.selector.register(probe.sock, selectors.EVENT_WRITE, partial(self._probe, slot))

    def _probe(self, slot: Slot) -> None:
        probe = slot.probe
        if probe is None:
            return
        answer = probe.step()
        if answer is None:  # connected: now wait for its banner
            self.selector.modify(probe.sock, selectors.EVENT_READ, partial(self._probe, slot))
            return
        self._close_probe(slot)
        self.post(slot, ev.ProbeAnswered(reachable=answer))

    def _close_probe(self, slot: Slot) -> None:
        if slot.probe is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(slot.probe.sock)
            slot.probe.close()
            slot.probe = None


_WATCHING = (ServerPhase.WATCHING, ServerPhase.GAVE_UP, ServerPhase.IDLE_STOPPED)


def _close(proc: subprocess.Popen[bytes]) -> None:
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _reap_watch(proc: subprocess.Popen[bytes], ticket: int) -> WatchReaped:
    proc.wait()
    return WatchReaped(ticket)


def _reap(start: BatchStart, ticket: int) -> Reaped:
    start.proc.wait()
    return Reaped(ticket)
