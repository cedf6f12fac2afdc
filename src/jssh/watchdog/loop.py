"""The watchdog's loop: one thread that sleeps in `select` until a source (sources.py)
has something, turns it into events for the hosts it concerns, hands each to the
state machine (machine.py) and carries out what comes back (execute.py; the blocking
parts on worker threads, worker.py, whose answers return here as events).

The one periodic job is the look at every followed master, every CHECK_INTERVAL s while
one is followed: a read of /proc per master, because a stopped master (SIGSTOP)
produces no event anywhere and cannot notice anything itself. The same looks show a
sleep: one that comes much later than CHECK_INTERVAL after the last, on a clock that
goes on while the laptop is suspended, means nothing here ran meanwhile (see
policy.ASLEEP_AFTER).
"""

from __future__ import annotations

import os
import queue
import random
import selectors
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from jssh import fsutil, watchstatus
from jssh.durations import format_duration
from jssh.errors import ConfigError, JsshError
from jssh.hosts import HostRecord
from jssh.paths import Paths
from jssh.ssh import Ssh
from jssh.watchdog import events as ev
from jssh.watchdog import machine, worker
from jssh.watchdog.configwatch import BlockRefreshed, ConfigWatch, refresh_block
from jssh.watchdog.execute import Executor, Reaped, Slot, WatchReaped
from jssh.watchdog.journal import Journal
from jssh.watchdog.model import Host
from jssh.watchdog.netpath import local_addresses, route_to
from jssh.watchdog.policy import ASLEEP_AFTER, CONNECT_TIMEOUT
from jssh.watchdog.sources import FileWatch, Look, WakePipe, look_at, network_socket, read_network
from jssh.watchdog.states import Cause, HostState, Timer

CHECK_INTERVAL = 2.0  # the periodic look at followed masters (see the module docstring)
NUDGE_SETTLE = 0.05  # netlink events come in bursts: act once per burst
FILE_RETRY = 5.0  # watching files failed (a watched dir removed): start again this later
# Goes on while the laptop sleeps (BOOTTIME on Linux; macOS's MONOTONIC counts sleep),
# unlike time.monotonic(), whose deadlines simply resume after a suspend.
AWAKE_CLOCK = getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC)


class Watchdog:
    """Keeps the tunnels of every wanted host alive; `run()` returns on SIGTERM/SIGINT."""

    def __init__(
        self,
        paths: Paths,
        ssh: Ssh,
        *,
        echo: Callable[[str], None] | None = None,
        connect_timeout: int = CONNECT_TIMEOUT,
    ) -> None:
        self.paths = paths
        self.ssh = ssh
        self.connect_timeout = connect_timeout
        self.journal = Journal(paths, echo or _to_stderr)
        self.slots: dict[str, Slot] = {}
        self._records: dict[str, HostRecord] = {}  # the managed hosts as last read
        self._resolving: dict[str, HostRecord] = {}  # `ssh -G` under way for these
        self._causes: dict[str, Cause] = {}  # why each of those is being looked at
        self._inbox: deque[tuple[Slot, ev.Event]] = deque()
        self._answers: queue.SimpleQueue[tuple[Slot | None, object]] = queue.SimpleQueue()
        self._selector = selectors.DefaultSelector()
        self._wake = WakePipe()
        self._stop = threading.Event()
        self._stop_signal: signal.Signals | None = None
        self._reload = False
        self._net = network_socket()
        self._nudge_at: float | None = None
        self._path_check_at: float | None = None  # an address or route went: check paths
        self._next_check: float | None = None
        self._check_set_at = 0.0  # on AWAKE_CLOCK: when _next_check was set
        self._files: FileWatch | None = None
        self._file_restart_at: float | None = None
        self._config: ConfigWatch | None = None  # the user's own ssh config files
        self._workers: worker.Workers[Slot | None] = worker.Workers(self._answered)
        self._executor = Executor(
            paths=paths,
            ssh=ssh,
            selector=self._selector,
            journal=self.journal,
            workers=self._workers,
            post=self._post,
            connect_timeout=connect_timeout,
        )

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> int:
        """Watch until SIGTERM or SIGINT; returns 0 after a clean stop."""
        lock_fd = watchstatus.acquire_lock(self.paths)
        previous: dict[int, Any] = {}
        old_wakeup = -1
        try:
            self.journal.open()
            old_wakeup = signal.set_wakeup_fd(self._wake.write_fd)
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                previous[signum] = signal.signal(signum, self._on_signal)
            self._selector.register(self._wake.read_fd, selectors.EVENT_READ, self._on_wake)
            if self._net is not None:
                self._selector.register(self._net, selectors.EVENT_READ, self._on_network)
            self._start_file_watch()
            self._start_config_watch()
            for files in (self._files, self._config):  # before "watching": no change missed
                if files is not None:
                    files.wait_ready()
            self._load_hosts(Cause.STARTED)
            self._refresh_blocks()  # the user may have edited their config while we were away
            wanted = sorted(n for n in self._records if self.paths.wanted_marker(n).exists())
            self.journal.log(
                "watchdog",
                f"started (pid {os.getpid()}), {len(self._records)} managed host(s),"
                f" {len(wanted)} brought up: {', '.join(wanted) or 'none'}",
                "watching" + ("" if self._net else " (no network-change events on this system)"),
            )
            while self._stop_signal is None:
                self._run_once()
            self.journal.log(
                "watchdog",
                f"stopping on {self._stop_signal.name}",
                "tunnels stay up; respawns in flight cancelled",
            )
            return 0
        finally:
            self._shutdown()
            signal.set_wakeup_fd(old_wakeup)
            for number, handler in previous.items():
                signal.signal(number, handler)
            os.close(lock_fd)  # releases the flock: another watchdog may start now

    def _run_once(self) -> None:
        deadline = self._next_deadline()
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        for key, _mask in self._selector.select(wait):
            # An earlier callback of this batch may have closed and replaced this one's
            # descriptor (a master replaced): only call keys that are still registered.
            if self._selector.get_map().get(key.fileobj) is key:
                key.data()
        self._dispatch()
        if self._reload:
            self._reload = False
            self.journal.log("watchdog", "SIGHUP", "reloading hosts and looking at every one again")
            self._load_hosts(Cause.RELOADED)
        self._fire_timers(time.monotonic())
        self._dispatch()

    def _notice_sleep(self) -> None:
        """The periodic look comes much later than CHECK_INTERVAL after it was set, on a
        clock that counts a suspend: nothing here ran meanwhile."""
        late = time.clock_gettime(AWAKE_CLOCK) - self._check_set_at - CHECK_INTERVAL
        if late < ASLEEP_AFTER:
            return
        self.journal.log(
            "watchdog",
            f"woke {format_duration(round(late))} late"
            " (the laptop slept, or jssh watch was stopped)",
            "checking that every tunnel still carries",
        )
        self._inbox.extend((slot, ev.Woke()) for slot in self.slots.values())

    def _post(self, slot: Slot, event: ev.Event) -> None:
        self._inbox.append((slot, event))

    def _dispatch(self) -> None:
        """Hand every pending event to its host's machine and carry out the effects."""
        while self._inbox:
            slot, event = self._inbox.popleft()
            if self.slots.get(slot.name) is not slot:
                continue  # the host was removed or reloaded since
            # A stat on every event, not a cached flag (see Host.wanted).
            host = replace(slot.host, wanted=self.paths.wanted_marker(slot.name).exists())
            slot.host, effects = machine.handle(host, event, time.monotonic())
            self._executor.run(slot, effects)
            self._executor.settle(slot)

    def _next_deadline(self) -> float | None:
        times = [t for s in self.slots.values() for t in s.host.timers().values()]
        times += [t for t in (self._nudge_at, self._next_check, self._file_restart_at) if t]
        times += [self._path_check_at] if self._path_check_at is not None else []
        return min(times) if times else None

    def _fire_timers(self, now: float) -> None:
        if self._nudge_at is not None and now >= self._nudge_at:
            self._nudge_at = None
            self._inbox.extend((slot, ev.NetworkChanged()) for slot in self.slots.values())
        if self._path_check_at is not None and now >= self._path_check_at:
            self._path_check_at = None
            self._look_at_paths()
        if self._next_check is not None and now >= self._next_check:
            self._next_check = None
            self._notice_sleep()
            self._look_at_masters()
        if self._file_restart_at is not None and now >= self._file_restart_at:
            self._file_restart_at = None
            self._start_file_watch()
        for slot in self.slots.values():
            for timer, at in slot.host.timers().items():
                if at <= now:
                    self._inbox.append((slot, self._due(slot, timer)))
        if self._next_check is None and any(s.followed for s in self.slots.values()):
            self._next_check = now + CHECK_INTERVAL
            self._check_set_at = time.clock_gettime(AWAKE_CLOCK)

    def _due(self, slot: Slot, timer: Timer) -> ev.Event:
        if timer is Timer.VERIFY_SOCKET:  # the machine wants the fact, not the time
            return ev.SocketLooked(present=os.path.exists(slot.control_path))
        return ev.Due(timer)

    def _look_at_masters(self) -> None:
        """The one periodic job: a stopped master (SIGSTOP) gives no event anywhere.
        Where there is no exit notifier it also notices masters that exited."""
        for slot in self.slots.values():
            pid, master = slot.followed, slot.master
            if pid is None or master is None or slot.host.state is not HostState.CONNECTED:
                continue
            look = look_at(master)
            if look is Look.GONE:
                self._post(slot, self._executor.exit_of(slot, pid))
            elif look is Look.STOPPED or slot.host.stopped_checks:
                # (A master running as it was at the last look is no news: with many
                # hosts, handling that every CHECK_INTERVAL would be most of the cost.)
                self._post(slot, ev.MasterLooked(pid, stopped=look is Look.STOPPED))

    def _shutdown(self) -> None:
        self._stop.set()
        for slot in self.slots.values():
            self._executor.forget(slot, wait=2.0)
        if self._files is not None:
            self._files.thread.join(timeout=5)
        if self._config is not None:
            self._config.close()
        if self._net is not None:
            self._net.close()
        self._selector.close()
        self._wake.close()
        self.journal.close()

    # -- sources ------------------------------------------------------------------------------
    def _on_signal(self, signum: int, frame: object) -> None:
        if signum == signal.SIGHUP:
            self._reload = True
        else:
            self._stop_signal = signal.Signals(signum)

    def _on_network(self) -> None:
        assert self._net is not None
        news = read_network(self._net)
        if news.came_up and self._nudge_at is None:
            self._nudge_at = time.monotonic() + NUDGE_SETTLE
        if news.paths_changed and self._path_check_at is None:
            self._path_check_at = time.monotonic() + NUDGE_SETTLE

    def _look_at_paths(self) -> None:
        """An address or a route went or changed: each followed master's connection
        against the network now (the machine decides whether it is dead): the addresses
        once (getifaddrs) and one netlink request per master, no process."""
        followed = [
            (slot, slot.host.master_pid, slot.host.path)
            for slot in self.slots.values()
            if slot.host.state is HostState.CONNECTED and slot.host.path is not None
        ]
        addresses = local_addresses() if followed else frozenset[str]()
        for slot, pid, path in followed:
            if pid is not None and path is not None:
                self._post(slot, ev.PathLooked(pid, addresses, route_to(path.peer)))

    def _answered(self, slot: Slot | None, answer: object) -> None:
        """A worker's answer (on the worker's thread): queue it and wake the loop."""
        self._answers.put((slot, answer))
        self._wake.wake()

    def _on_wake(self) -> None:
        self._wake.drain()
        while True:
            try:
                slot, answer = self._answers.get_nowait()
            except queue.Empty:
                break
            if isinstance(answer, BaseException):
                raise answer  # a bug in a job: crash loudly, as a bug on the loop would
            if isinstance(answer, worker.Resolved | worker.Unresolved):
                self._resolved(answer)
            elif isinstance(answer, Reaped) and slot is not None:
                self._executor.attempt_done(slot, answer.ticket)
            elif isinstance(answer, WatchReaped) and slot is not None:
                self._executor.watch_done(slot, answer.ticket)
            elif isinstance(answer, BlockRefreshed):
                if answer.line:
                    self.journal.log(answer.name, answer.line, "your ssh config changed")
            elif slot is not None and answer is not None:
                self._post(slot, answer)  # type: ignore[arg-type]
        if self._files is not None:
            self._file_events()
        if self._config is not None:
            self._config_events()

    def _file_events(self) -> None:
        assert self._files is not None
        events, errors = self._files.take(self.paths)
        for exc in errors:
            self.journal.log(
                "watchdog",
                f"watching files failed: {exc}",
                "will try again in 5 s (exits and network changes are still seen)",
            )
            self._file_restart_at = time.monotonic() + FILE_RETRY
        if events.hosts_file:
            self._load_hosts(Cause.RECONFIGURED)
        for name in sorted(events.markers):
            if name in self.slots:
                self._post(self.slots[name], ev.MarkerChanged())
        by_path = {s.control_path: s for s in self.slots.values()}
        for path, kinds in events.sockets.items():
            slot = by_path.get(path)
            if slot is not None and "deleted" in kinds:
                self._post(slot, ev.SocketDeleted())
            if slot is not None and "added" in kinds:
                self._post(slot, ev.SocketAppeared())

    def _start_file_watch(self) -> None:
        dirs = [self.paths.managed_dir, self.paths.control_dir, self.paths.state_dir / "hosts"]
        try:
            if not self.paths.ssh_config.parent.exists():
                fsutil.ensure_private_dir(self.paths.ssh_config.parent)
            for directory in dirs:
                fsutil.ensure_private_dir(directory)
        except ConfigError as exc:
            what = f"cannot watch files: {exc.message}"
            self.journal.log("watchdog", what, "will try again in 5 s")
            self._file_restart_at = time.monotonic() + FILE_RETRY
            return
        # The control dir usually lives in the managed dir; watch it once.
        roots = [d for d in dirs if not any(d != o and d.is_relative_to(o) for o in dirs)]
        self._files = FileWatch(roots, self._wake, self._stop)

    def _start_config_watch(self) -> None:
        # Nothing here raises: a watch that fails (out of inotify watches) reports it
        # through changed(), which starts it again.
        self._config = ConfigWatch(self.paths, self._wake)

    def _config_events(self) -> None:
        """The user's ssh config changed: check every managed block against `ssh -G`
        (on the workers); a block that drifted is rewritten, and hosts.json with it."""
        assert self._config is not None
        changed, errors = self._config.changed()
        for exc in errors:
            what = f"watching your ssh config failed: {exc}"
            self.journal.log("watchdog", what, "blocks are refreshed at the next cold `up`")
        if changed:
            self._refresh_blocks()

    def _refresh_blocks(self) -> None:
        for record in self._records.values():
            self._workers.submit(None, partial(refresh_block, self.paths, self.ssh, record))

    # -- the hosts ------------------------------------------------------------------------------
    def _load_hosts(self, cause: Cause) -> None:
        """Read hosts.json; resolve (off the loop) every host that is new or changed, or
        every one on a (re)start. Each is looked at once its `ssh -G` answers."""
        from jssh.config.store import Store

        try:
            registry = Store(self.paths).load()
        except JsshError as exc:
            what = f"cannot read the managed hosts: {exc.message}"
            self.journal.log("watchdog", what, "kept the old")
            return
        self._records = dict(registry.hosts)
        for name in sorted(set(self.slots) - set(self._records)):
            self._executor.forget(self.slots.pop(name))
            self.journal.log(name, "removed from the managed hosts", "no longer watched")
        everything = cause is not Cause.RECONFIGURED
        for name, record in sorted(self._records.items()):
            old = self.slots.get(name)
            if old is not None and old.record == record and not everything:
                continue
            if self._resolving.get(name) == record and not everything:
                continue
            self._resolving[name] = record
            self._causes[name] = cause
            self._workers.submit(None, partial(worker.resolve, self.ssh, record))

    def _resolved(self, answer: worker.Resolved | worker.Unresolved) -> None:
        record = answer.record
        name = record.name
        if self._resolving.get(name) == record:
            del self._resolving[name]
        if self._records.get(name) != record:
            return  # changed or removed while ssh -G ran: a newer answer follows
        if isinstance(answer, worker.Unresolved):
            self.journal.log(name, answer.message, "skipped")
            return
        cause = self._causes.pop(name, Cause.RECONFIGURED)
        old = self.slots.get(name)
        if old is not None:
            self._executor.forget(old)
        elif cause is Cause.RECONFIGURED:
            self.journal.log(name, "added to the managed hosts", "watching it")
        host = Host(
            name,
            local_port=record.local_port,
            slurm=worker.is_slurm(record),
            own_server=not record.slurm,  # a Slurm job's server is the job's: never restarted
            probe_addr=answer.probe_addr,
            net_events=self._net is not None,
            seed=random.randrange(1 << 30),  # noqa: S311 - jitter, not crypto
        )
        slot = self.slots[name] = Slot(record, answer.control_path, host)
        self._post(slot, ev.Consider(cause))


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
