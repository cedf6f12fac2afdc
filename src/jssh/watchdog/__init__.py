"""`jssh watch`: keep every tunnel the user brought `up` connected, until stopped.

One thread runs an event loop (`selectors`) and sleeps until something happens:

- a master exits: a pidfd per master (Linux; a kqueue NOTE_EXIT elsewhere) says so at
  once, without polling, although the master is not our child;
- a respawn's ssh finishes: the same, for the ssh processes we start;
- the network changes: an AF_NETLINK route socket (Linux) reports links, addresses and
  routes appearing, and every host waiting to reconnect is tried at once, so the first
  attempt after the network returns is not held back by a long backoff;
- a host that is down becomes reachable: while a host is down, one TCP connect a
  second to its sshd (a new SYN each time, never the kernel's SYN backoff, GUIDE §3)
  notices the moment it answers again, even when nothing changed on this machine;
- a file changes: a watchfiles thread sees hosts.json (hosts added or removed), the
  control sockets (a master appears, or loses its socket) and the wanted markers
  (`jssh up` / `jssh down`), and wakes the loop through a pipe;
- SIGTERM or SIGINT (stop cleanly), SIGHUP (reload everything), through the same pipe.

The one periodic job is `_check_masters`, every CHECK_INTERVAL seconds while a master
is followed: it reads each master's state from /proc (a few microseconds each), because
a stopped master (SIGSTOP) produces no event anywhere, and cannot notice anything itself.

Respawns are the block's own ssh in BatchMode with a short ConnectTimeout: they never
wait on a prompt. A host that needs a password is logged, shown in `jssh status`, and
left alone until the user runs `jssh up` again.

A Slurm host has two masters: the login node's (`NAME-jupyter`) and the compute node's
(`NAME-jupyter-node`, jumped through the first), which holds the forward. The node's
master is the one followed: it dies with the login node's master too. A respawn brings
back the login node's master first, then asks squeue (through it) whether the job still
runs, and only then the node's master. That one remote call is made only when a master
died (or a respawn is retried), never periodically. A job that ended is reported once,
its masters are closed, and the host is left alone until the user runs `jssh up`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import ipaddress
import json
import os
import queue
import random
import select
import selectors
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from jssh import fsutil, watchstatus
from jssh.errors import ConfigError, JsshError, WaitTimeout
from jssh.paths import Paths
from jssh.ssh import BatchStart, Ssh

if TYPE_CHECKING:
    import psutil

    from jssh.hosts import HostRecord

__all__ = ["Watchdog"]

# A respawn's ssh gives up connecting after this many seconds. Short, so an attempt
# that began while the link was down is not left sitting in the kernel's SYN backoff;
# the probe and the network nudge start a fresh one the moment the host answers.
CONNECT_TIMEOUT = 5
# ConnectTimeout covers the TCP connect and the banner only: an attempt stuck later
# (key exchange over a link that died mid-way) is killed after this long.
ATTEMPT_LIMIT = 60.0
# Backoff between failed respawns while a host stays unreachable: doubling from
# BACKOFF_FIRST up to BACKOFF_CAP, each delay jittered by +-JITTER.
BACKOFF_FIRST = 0.5
BACKOFF_CAP = 30.0
JITTER = 0.2
# After a network change, failures are retried quickly for a while: the first connect
# after a link comes back can still fail (a stale ARP entry answers "No route to host").
NUDGE_WINDOW = 10.0
NUDGE_RETRY = 0.25
NUDGE_SETTLE = 0.05  # netlink events come in bursts: act once per burst
# One TCP connect a second to a down host's sshd (see the module docstring); five a
# second for NUDGE_WINDOW after a network change, when the link is likely coming back
# and its first packets can still be lost while the neighbour entry is re-resolved.
PROBE_INTERVAL = 1.0
PROBE_FAST = 0.2
# See `_check_masters`. A master seen stopped on two checks in a row is replaced.
CHECK_INTERVAL = 2.0
STOPPED_CHECKS = 2
# `ssh -O check` answers in milliseconds; a master that does not is stopped or hung.
MUX_TIMEOUT = 2.0
# When `jssh up` or `jssh down` holds a host's lock, look again this much later.
LOCK_RETRY = 2.0
# watchfiles' Rust side sleeps `step` ms between looks at its queue of inotify events
# (that is how its stop_event works); 250 ms keeps that to four cheap wake-ups a second.
# Nothing urgent waits on it: master exits come through pidfds.
FILE_STEP_MS = 250
FILE_DEBOUNCE_MS = 1000
LOG_ROTATE_BYTES = 1 << 20

# Linux rtnetlink (linux/rtnetlink.h, linux/if.h).
_RTMGRP_LINK = 0x1
_RTMGRP_IPV4_IFADDR = 0x10
_RTMGRP_IPV4_ROUTE = 0x40
_RTMGRP_IPV6_IFADDR = 0x100
_RTMGRP_IPV6_ROUTE = 0x400
_RTM_NEWLINK = 16
_RTM_NEWADDR = 20
_RTM_NEWROUTE = 24
_IFF_LOWER_UP = 0x10000
_NLMSG_HEADER = struct.Struct("=LHHLL")
_IFINFOMSG = struct.Struct("=BxHiII")


class _Fileno(Protocol):
    def fileno(self) -> int: ...
    def close(self) -> None: ...


# -- process exit notification ------------------------------------------------------------
def _exit_notifier(pid: int) -> _Fileno | None:
    """A descriptor that becomes readable when `pid` exits, or None where there is none.

    Linux: a pidfd. BSD/macOS: a kqueue holding one NOTE_EXIT filter (its descriptor is
    readable while an event is pending). Elsewhere `_check_masters` notices, later.
    """
    if hasattr(os, "pidfd_open"):
        try:
            return _Fd(os.pidfd_open(pid))
        except OSError:
            return None
    if sys.platform != "linux" and hasattr(select, "kqueue"):  # untested here: Linux only
        try:
            kq = select.kqueue()
            event = select.kevent(
                pid,
                filter=select.KQ_FILTER_PROC,
                flags=select.KQ_EV_ADD | select.KQ_EV_ONESHOT,
                fflags=select.KQ_NOTE_EXIT,
            )
            kq.control([event], 0, 0)
        except OSError:
            return None
        return kq
    return None


class _Fd:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _network_socket() -> socket.socket | None:
    """A socket that becomes readable when links, addresses or routes change."""
    try:
        if sys.platform.startswith("linux"):
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
            groups = (
                _RTMGRP_LINK
                | _RTMGRP_IPV4_IFADDR
                | _RTMGRP_IPV4_ROUTE
                | _RTMGRP_IPV6_IFADDR
                | _RTMGRP_IPV6_ROUTE
            )
            sock.bind((0, groups))
        else:  # BSD/macOS: the routing socket sees interface and address changes
            sock = socket.socket(socket.AF_ROUTE, socket.SOCK_RAW, 0)  # type: ignore[attr-defined,unused-ignore]
    except (OSError, AttributeError):
        return None
    sock.setblocking(False)
    return sock


def _network_came_up(data: bytes) -> bool:
    """True when a batch of rtnetlink messages has a link up, an address or a route added.

    Links going down are not a reason to retry anything; they would only cost attempts.
    """
    offset = 0
    while offset + _NLMSG_HEADER.size <= len(data):
        length, kind, _flags, _seq, _pid = _NLMSG_HEADER.unpack_from(data, offset)
        if length < _NLMSG_HEADER.size:
            break
        body = offset + _NLMSG_HEADER.size
        if kind in (_RTM_NEWADDR, _RTM_NEWROUTE):
            return True
        if kind == _RTM_NEWLINK and body + _IFINFOMSG.size <= len(data):
            flags = _IFINFOMSG.unpack_from(data, body)[3]
            if flags & _IFF_LOWER_UP:
                return True
        offset += (length + 3) & ~3
    return False


# -- per-host state -------------------------------------------------------------------------
CONNECTED = "connected"
RETRYING = "retrying"
NEEDS_USER = "needs-user"
JOB_ENDED = "job-ended"  # a Slurm host's job ended: nothing to reconnect to
DOWN = "down"  # the user brought it down (no wanted marker): left alone
IDLE = "idle"  # not looked at yet


@dataclass
class _Probe:
    sock: socket.socket
    connected: bool = False


@dataclass
class _Host:
    record: HostRecord
    control_path: str
    # (family, address) of the host's sshd for the reachability probe; None when the
    # host is reached through a ProxyJump/ProxyCommand, or its address is unknown.
    probe_addr: tuple[int, tuple[Any, ...]] | None
    state: str = IDLE
    master: psutil.Process | None = None
    master_exit: _Fileno | None = None
    master_log_size: int = 0
    attempt: BatchStart | None = None
    attempt_alias: str = ""  # which master the attempt starts (a Slurm host has two)
    attempt_exit: _Fileno | None = None
    attempt_started: float = 0.0
    attempt_deadline: float = 0.0
    attempt_cancelled: bool = False
    lock_fd: int | None = None
    failures: int = 0
    next_try: float | None = None
    lost_at: float | None = None
    stopped_checks: int = 0
    verify_socket_at: float | None = None
    probe: _Probe | None = None
    probing: bool = False
    probe_failed: bool = False
    next_probe: float | None = None
    last_probe_failure: float = 0.0
    last_failure: str = ""
    # Slurm: the node attempt number at which squeue was last asked, in this outage.
    job_asked_at: int | None = None
    had_master: bool = False  # a master was followed: the tunnel was up at some point

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def slurm(self) -> bool:
        """A Slurm host with a job's node: its forward is on the node's master."""
        return bool(self.record.slurm and self.record.slurm_node)

    @property
    def alias(self) -> str:
        """The alias of the master that holds the forward (the one followed)."""
        return self.record.node_alias if self.slurm else self.record.alias


@dataclass
class _FileEvents:
    """What the watchfiles thread saw since the loop last looked."""

    hosts_file: bool = False
    markers: set[str] = field(default_factory=set)
    sockets: dict[str, set[str]] = field(default_factory=dict)  # path -> {"added", "deleted"}


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
        self._echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
        self.hosts: dict[str, _Host] = {}
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._stop_signal: signal.Signals | None = None
        self._reload = False
        self._changes: queue.SimpleQueue[tuple[int, str] | BaseException] = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        self._net: socket.socket | None = None
        self._nudge_at: float | None = None
        self._last_nudge = -NUDGE_WINDOW
        self._next_check: float | None = None
        self._file_thread: threading.Thread | None = None
        self._file_restart_at: float | None = None
        self._log_file: Any = None

    # -- logging ----------------------------------------------------------------------
    def _log(self, who: str, what: str, did: str | None = None) -> None:
        """One line per event: time, host, what happened; what the watchdog did."""
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now))
        stamp += f".{int(now * 1000) % 1000:03d}{time.strftime('%z', time.localtime(now))}"
        line = f"{stamp} {who}: {what}" + (f"; {did}" if did else "")
        self._echo(line)
        if self._log_file is not None:
            with contextlib.suppress(OSError):
                self._log_file.write(line + "\n")
                self._log_file.flush()
                if self._log_file.tell() > LOG_ROTATE_BYTES:  # keep one old log, not more
                    self._log_file.close()
                    self._log_file = None
                    self._open_log()

    def _event(self, host: _Host, what: str, did: str, *, quiet: bool = False) -> None:
        """Log an event for HOST (unless quiet) and record it for `jssh status`."""
        if not quiet:
            self._log(host.name, what, did)
        status = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "event": what,
            "action": did,
            "state": host.state,
            "watchdog_pid": os.getpid(),
            "master_pid": host.master.pid if host.master else None,
        }
        path = self.paths.watchdog_status(host.name)
        if not path.parent.exists():
            return  # removed meanwhile (`jssh remove` deletes the dir): nothing to tell
        with contextlib.suppress(JsshError):
            fsutil.atomic_write(path, json.dumps(status, indent=2) + "\n")

    def _open_log(self) -> None:
        path = self.paths.watchdog_log
        with contextlib.suppress(OSError):
            if path.stat().st_size > LOG_ROTATE_BYTES:
                path.replace(path.with_name(path.name + ".1"))
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, fsutil.PRIVATE_FILE)
        self._log_file = os.fdopen(fd, "a", encoding="utf-8")

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> int:
        """Watch until SIGTERM or SIGINT; returns 0 after a clean stop."""
        lock_fd = watchstatus.acquire_lock(self.paths)
        previous: dict[int, Any] = {}
        old_wakeup = -1
        try:
            self._open_log()
            for fd in (self._wake_r, self._wake_w):
                os.set_blocking(fd, False)
            old_wakeup = signal.set_wakeup_fd(self._wake_w)
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                previous[signum] = signal.signal(signum, self._on_signal)
            self._selector.register(self._wake_r, selectors.EVENT_READ, self._on_wake)
            self._net = _network_socket()
            if self._net is not None:
                self._selector.register(self._net, selectors.EVENT_READ, self._on_network)
            self._start_file_watch()
            self._load_hosts(initial=True)
            wanted = sorted(h.name for h in self.hosts.values() if self._wanted(h))
            self._log(
                "watchdog",
                f"started (pid {os.getpid()}), {len(self.hosts)} managed host(s),"
                f" {len(wanted)} brought up: {', '.join(wanted) or 'none'}",
                "watching" + ("" if self._net else " (no network-change events on this system)"),
            )
            while self._stop_signal is None:
                self._run_once()
            self._log(
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

    def _on_signal(self, signum: int, frame: object) -> None:
        if signum == signal.SIGHUP:
            self._reload = True
        else:
            self._stop_signal = signal.Signals(signum)

    def _run_once(self) -> None:
        timeout = self._next_deadline()
        wait = None if timeout is None else max(0.0, timeout - time.monotonic())
        for key, mask in self._selector.select(wait):
            # An earlier callback of this batch may have closed and replaced this one's
            # descriptor (a master replaced): only call keys that are still registered.
            if self._selector.get_map().get(key.fileobj) is key:
                key.data(key, mask)
        if self._reload:
            self._reload = False
            self._log("watchdog", "SIGHUP", "reloading hosts and looking at every one again")
            self._load_hosts(initial=True, why="reloaded on SIGHUP")
        self._run_timers(time.monotonic())

    def _next_deadline(self) -> float | None:
        times: list[float] = []
        for host in self.hosts.values():
            times += [t for t in (host.next_try, host.next_probe, host.verify_socket_at) if t]
            if host.attempt is not None:
                times.append(host.attempt_deadline)
        times += [t for t in (self._nudge_at, self._next_check, self._file_restart_at) if t]
        return min(times) if times else None

    def _run_timers(self, now: float) -> None:
        if self._nudge_at is not None and now >= self._nudge_at:
            self._nudge_at = None
            self._network_nudge(now)
        if self._next_check is not None and now >= self._next_check:
            self._next_check = None
            self._check_masters()
        if self._file_restart_at is not None and now >= self._file_restart_at:
            self._file_restart_at = None
            self._start_file_watch()
        for host in list(self.hosts.values()):
            if host.attempt is not None and now >= host.attempt_deadline:
                host.attempt_deadline = now + ATTEMPT_LIMIT
                with contextlib.suppress(OSError):
                    host.attempt.proc.kill()  # `_attempt_done` follows through its exit fd
            if host.verify_socket_at is not None and now >= host.verify_socket_at:
                host.verify_socket_at = None
                self._verify_socket(host)
            if host.next_probe is not None and now >= host.next_probe:
                self._probe_tick(host, now)
            if host.next_try is not None and now >= host.next_try:
                host.next_try = None
                self._try(host)
        if self._next_check is None and any(h.master for h in self.hosts.values()):
            self._next_check = time.monotonic() + CHECK_INTERVAL

    def _shutdown(self) -> None:
        self._stop.set()
        for host in self.hosts.values():
            self._stop_probe(host)
            if host.attempt is not None:
                with contextlib.suppress(OSError):
                    host.attempt.proc.terminate()
                with contextlib.suppress(Exception):
                    host.attempt.proc.wait(timeout=2)
            self._drop_fds(host)
        if self._file_thread is not None:
            self._file_thread.join(timeout=5)
        if self._net is not None:
            self._net.close()
        self._selector.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self._log_file is not None:
            with contextlib.suppress(OSError):
                self._log_file.close()

    # -- wake-ups: signals and the file watcher ------------------------------------------------
    def _on_wake(self, key: selectors.SelectorKey, mask: int) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self._wake_r, 512):
                pass
        events = _FileEvents()
        while True:
            try:
                item = self._changes.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, BaseException):
                self._log(
                    "watchdog",
                    f"watching files failed: {item}",
                    "will try again in 5 s (exits and network changes are still seen)",
                )
                self._file_restart_at = time.monotonic() + 5
                continue
            self._classify_change(item, events)
        self._apply_file_events(events)

    def _classify_change(self, change: tuple[int, str], events: _FileEvents) -> None:
        kind, path = change
        if path == str(self.paths.hosts_file):
            events.hosts_file = True
            return
        p = Path(path)
        hosts_dir = self.paths.state_dir / "hosts"
        if p.name == "wanted" and p.parent.parent == hosts_dir:
            events.markers.add(p.parent.name)
            return
        if p.parent == self.paths.control_dir:
            # watchfiles: 1 added, 2 modified, 3 deleted
            word = {1: "added", 3: "deleted"}.get(kind)
            if word:
                events.sockets.setdefault(path, set()).add(word)

    def _apply_file_events(self, events: _FileEvents) -> None:
        if events.hosts_file:
            self._load_hosts()
        for name in sorted(events.markers):
            host = self.hosts.get(name)
            if host is not None:
                if self._wanted(host) and host.state in (DOWN, NEEDS_USER, JOB_ENDED, IDLE):
                    host.state = IDLE
                    self._consider(host, "brought up")
                elif not self._wanted(host):
                    self._consider(host, "brought down")
        if not events.sockets:
            return
        by_path = {h.control_path: h for h in self.hosts.values()}
        for path, kinds in events.sockets.items():
            host = by_path.get(path)
            if host is None:
                continue
            if host.state == CONNECTED and "deleted" in kinds:
                # Check a moment later, by state rather than by event: a master that
                # exits removes its socket and a respawn makes a new one at once.
                host.verify_socket_at = time.monotonic() + 0.5
            elif (
                "added" in kinds
                and host.state != CONNECTED
                and host.attempt is None
                and self._wanted(host)
            ):
                self._consider(host, "a master appeared", adopt_only=True)

    def _start_file_watch(self) -> None:
        dirs = [self.paths.managed_dir, self.paths.control_dir, self.paths.state_dir / "hosts"]
        try:
            if not self.paths.ssh_config.parent.exists():
                fsutil.ensure_private_dir(self.paths.ssh_config.parent)
            for directory in dirs:
                fsutil.ensure_private_dir(directory)
        except ConfigError as exc:
            self._log("watchdog", f"cannot watch files: {exc.message}", "will try again in 5 s")
            self._file_restart_at = time.monotonic() + 5
            return
        # The control dir usually lives in the managed dir; watch it once.
        roots = [d for d in dirs if not any(d != o and d.is_relative_to(o) for o in dirs)]
        self._file_thread = threading.Thread(
            target=self._watch_files, args=(roots,), name="jssh-watch-files", daemon=True
        )
        self._file_thread.start()

    def _watch_files(self, roots: list[Path]) -> None:
        from watchfiles import watch  # imported here: only `jssh watch` needs it

        try:
            for changes in watch(
                *roots,
                watch_filter=None,
                debounce=FILE_DEBOUNCE_MS,
                step=FILE_STEP_MS,
                stop_event=self._stop,
                rust_timeout=0,
                raise_interrupt=False,
                force_polling=False,
            ):
                for kind, path in changes:
                    self._changes.put((int(kind), path))
                self._wake()
        except Exception as exc:  # e.g. a watched dir removed: reported, then retried
            if not self._stop.is_set():
                self._changes.put(exc)
                self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"f")

    # -- hosts ------------------------------------------------------------------------------------
    def _wanted(self, host: _Host) -> bool:
        # A stat on every decision, not a cached flag: `jssh down` removes the marker
        # just before it stops the master, and the master's exit reaches us first.
        return self.paths.wanted_marker(host.name).exists()

    def _load_hosts(self, *, initial: bool = False, why: str = "watchdog started") -> None:
        from jssh.config.store import Store

        try:
            registry = Store(self.paths).load()
        except JsshError as exc:
            self._log("watchdog", f"cannot read the managed hosts: {exc.message}", "kept the old")
            return
        for name in sorted(set(self.hosts) - set(registry.hosts)):
            host = self.hosts.pop(name)
            self._forget(host)
            self._log(name, "removed from the managed hosts", "no longer watched")
        for name, record in sorted(registry.hosts.items()):
            old = self.hosts.get(name)
            if old is not None and old.record == record and not initial:
                continue
            host = _Host(record=record, control_path="", probe_addr=None)
            try:
                settings = self.ssh.resolve(record.alias)
                # A Slurm host's forward is on its node's master: follow that one's socket.
                node = self.ssh.resolve(host.alias) if host.slurm else settings
            except JsshError as exc:
                self._log(name, f"ssh cannot resolve {host.alias}: {exc.message}", "skipped")
                continue
            host.control_path = _first(node, "controlpath") or ""
            host.probe_addr = _probe_address(settings)  # the login node's sshd for Slurm
            if old is not None:
                self._forget(old)
                host.state = IDLE
            elif not initial:
                self._log(name, "added to the managed hosts", "watching it")
            self.hosts[name] = host
            self._consider(host, why if initial else "host (re)configured")

    def _forget(self, host: _Host) -> None:
        """Stop looking after HOST (its master, if any, is left running)."""
        self._cancel_attempt(host)
        self._stop_probe(host)
        self._drop_fds(host)
        host.master = None
        host.next_try = host.verify_socket_at = None

    def _drop_fds(self, host: _Host, *, attempt_only: bool = False) -> None:
        for attr in ("attempt_exit",) if attempt_only else ("master_exit", "attempt_exit"):
            notifier = getattr(host, attr)
            if notifier is not None:
                with contextlib.suppress(KeyError, ValueError):
                    self._selector.unregister(notifier)
                notifier.close()
                setattr(host, attr, None)
        if host.lock_fd is not None:
            os.close(host.lock_fd)
            host.lock_fd = None

    def _consider(self, host: _Host, why: str, *, adopt_only: bool = False) -> None:
        """Look at HOST now and do what it needs."""
        if not self._wanted(host):
            if host.state not in (DOWN, JOB_ENDED):
                was_watched = host.state != IDLE
                self._cancel_attempt(host)
                self._stop_probe(host)
                self._unfollow(host)
                host.state, host.next_try, host.failures = DOWN, None, 0
                if was_watched:
                    self._event(host, "brought down by the user", "leaving it alone")
            return
        if host.state == CONNECTED or host.attempt is not None:
            return
        if host.state in (NEEDS_USER, JOB_ENDED) and not adopt_only and why != "brought up":
            return
        pid = self._live_master(host)
        if pid is not None:
            word = "a master appeared" if adopt_only or host.state != IDLE else why
            self._follow(host, pid, f"{word}: master pid {pid}")
            return
        if adopt_only:
            return
        if host.state in (IDLE, DOWN):
            host.lost_at = time.monotonic()
            host.state = RETRYING
            self._event(host, f"{why}; no tunnel is up", "starting one")
        self._try(host)

    def _live_master(self, host: _Host) -> int | None:
        """The master's pid from `ssh -O check`; a stopped master is killed here."""
        try:
            return self.ssh.master_pid(host.alias, timeout=MUX_TIMEOUT)
        except WaitTimeout:
            # Connected to the socket but no answer: a stopped or hung master.
            victim = _master_by_title(host.control_path)
            if victim is not None:
                self._kill_master(host, victim, "does not answer on its control socket")
            return None
        except JsshError as exc:
            self._log(host.name, f"cannot ask for its master: {exc.message}", "will retry")
            return None

    # -- following a master ----------------------------------------------------------------------
    def _follow(self, host: _Host, pid: int, what: str) -> None:
        import psutil

        self._unfollow(host)
        try:
            host.master = psutil.Process(pid)
        except psutil.Error:
            self._try(host)
            return
        host.master_exit = _exit_notifier(pid)
        if host.master_exit is not None:
            self._selector.register(
                host.master_exit, selectors.EVENT_READ, lambda k, m, h=host: self._master_gone(h)
            )
        with contextlib.suppress(OSError):
            host.master_log_size = self._master_log(host).stat().st_size
        address = _master_peer(host.master, host.record.local_port)
        if address is not None:
            host.probe_addr = address
        back = (
            f"; forward 127.0.0.1:{host.record.local_port} back after"
            f" {time.monotonic() - host.lost_at:.1f} s"
            if host.lost_at is not None and host.state == RETRYING
            else ""
        )
        host.state, host.failures, host.next_try, host.lost_at = CONNECTED, 0, None, None
        host.stopped_checks, host.last_failure = 0, ""
        host.job_asked_at, host.had_master = None, True
        self._stop_probe(host)
        self._event(host, what, f"following it{back}")
        if self._next_check is None:
            self._next_check = time.monotonic() + CHECK_INTERVAL

    def _unfollow(self, host: _Host) -> None:
        if host.master_exit is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(host.master_exit)
            host.master_exit.close()
            host.master_exit = None
        host.master = None

    def _master_gone(self, host: _Host) -> None:
        master = host.master
        pid = master.pid if master else None
        self._unfollow(host)
        if host.state != CONNECTED:
            return
        why = self._last_words(host)
        what = f"master pid {pid} exited" + (f" ({why})" if why else "")
        host.lost_at = time.monotonic()
        if not self._wanted(host):
            host.state = DOWN
            self._event(host, what, "the host was brought down: leaving it alone")
            return
        host.state, host.failures = RETRYING, 0
        self._event(host, what, "respawning it now")
        self._try(host)

    def _last_words(self, host: _Host) -> str | None:
        """The master's last log line, when it wrote one since we started following it."""
        path = self._master_log(host)
        try:
            with open(path, "rb") as log:
                log.seek(host.master_log_size)
                lines = [ln.strip() for ln in log.read().decode(errors="replace").splitlines()]
        except OSError:
            return None
        lines = [ln for ln in lines if ln]
        return lines[-1] if lines else None

    def _check_masters(self) -> None:
        """The one periodic job: a stopped master (SIGSTOP) gives no event anywhere.

        Runs every CHECK_INTERVAL s only while masters are followed; per master it is
        one read of /proc/PID/stat. Where there is no exit notifier it also notices
        masters that exited.
        """
        import psutil

        for host in list(self.hosts.values()):
            master = host.master
            if master is None or host.state != CONNECTED:
                continue
            try:
                status = master.status()
            except psutil.Error:
                status = psutil.STATUS_DEAD
            if status in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
                self._master_gone(host)
            elif status == psutil.STATUS_STOPPED:
                host.stopped_checks += 1
                if host.stopped_checks >= STOPPED_CHECKS:
                    self._kill_master(
                        host, master, "is stopped (SIGSTOP): it cannot keep the tunnel"
                    )
                    self._try(host)
            else:
                host.stopped_checks = 0

    def _kill_master(self, host: _Host, master: psutil.Process, why: str) -> None:
        """Kill a master that cannot work (the user's own ssh, started by jssh) and
        wait, briefly, until it has let go of its socket and port. The caller respawns."""
        import psutil

        with contextlib.suppress(psutil.Error):
            master.kill()  # SIGKILL: a stopped process would not act on SIGTERM
        # Not master.wait(): the master is not our child, and its zombie can linger
        # until init reaps it. A zombie has closed its sockets already: enough.
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                if master.status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
                    break
            except psutil.Error:
                break
            time.sleep(0.01)
        self._unfollow(host)
        host.state, host.failures, host.lost_at = RETRYING, 0, time.monotonic()
        wanted = self._wanted(host)
        if not wanted:
            host.state = DOWN
        self._event(
            host,
            f"master pid {master.pid} {why}",
            "killed it; respawning now" if wanted else "killed it; the host is down",
        )

    def _verify_socket(self, host: _Host) -> None:
        master = host.master
        if master is None or host.state != CONNECTED or os.path.exists(host.control_path):
            return
        import psutil

        with contextlib.suppress(psutil.Error):
            if master.is_running():
                master.terminate()
                self._log(
                    host.name,
                    f"master pid {master.pid} lost its control socket",
                    "stopped it; its exit brings a respawn",
                )

    # -- respawning ----------------------------------------------------------------------------
    def _try(self, host: _Host) -> None:
        """Start a respawn attempt for HOST now, unless one runs or it is not wanted."""
        host.next_try = None
        if host.attempt is not None or host.state in (CONNECTED, NEEDS_USER, JOB_ENDED):
            return
        if not self._wanted(host):
            self._consider(host, "brought down")
            return
        lock = self._host_lock(host)
        if lock is None:
            host.next_try = time.monotonic() + LOCK_RETRY  # `jssh up`/`down` works on it
            return
        alias, log_path = host.alias, self._master_log(host)
        if host.slurm:
            step = self._slurm_step(host)
            if step is None:
                os.close(lock)
                return
            alias, log_path = step
        try:
            fsutil.ensure_private_dir(self.paths.control_dir)
            attempt = self.ssh.spawn_master(
                alias, log_path=log_path, connect_timeout=self.connect_timeout
            )
        except (JsshError, OSError) as exc:
            os.close(lock)
            self._retry_later(host, f"could not start ssh: {exc}")
            return
        host.lock_fd = lock
        host.attempt, host.attempt_cancelled, host.attempt_alias = attempt, False, alias
        host.attempt_started = time.monotonic()
        host.attempt_deadline = host.attempt_started + ATTEMPT_LIMIT
        if host.state != RETRYING:
            host.state = RETRYING
            host.lost_at = host.lost_at or host.attempt_started
        host.attempt_exit = _exit_notifier(attempt.proc.pid)
        if host.attempt_exit is None:  # no notifier: wait here (ConnectTimeout bounds it)
            with contextlib.suppress(Exception):
                attempt.proc.wait(timeout=ATTEMPT_LIMIT)
            self._attempt_done(host)
            return
        self._selector.register(
            host.attempt_exit, selectors.EVENT_READ, lambda k, m, h=host: self._attempt_done(h)
        )

    def _master_log(self, host: _Host) -> Path:
        """The log of the master that holds the forward."""
        if host.slurm:
            return self.paths.node_master_log(host.name)
        return self.paths.master_log(host.name)

    def _slurm_step(self, host: _Host) -> tuple[str, Path] | None:
        """Which master a Slurm host's respawn starts: the login node's first, then the
        node's once the job is known to run. None: nothing to start (a master appeared,
        or the job ended)."""
        from jssh.session.slurm import job_alive  # only Slurm hosts need it

        record = host.record
        try:
            login = self.ssh.master_pid(record.alias, timeout=MUX_TIMEOUT)
        except JsshError:
            login = None  # hung or unknown: a new attempt (bounded by ATTEMPT_LIMIT) tells
        if login is None:
            return record.alias, self.paths.master_log(host.name)
        pid = self._live_master(host)
        if pid is not None:
            self._follow(host, pid, f"a master appeared: master pid {pid}")
            return None
        # One squeue through the login node's master before the node's respawn, on the
        # first attempt of an outage and then on attempts 1, 2, 4, 8, ...: a job can end
        # during a long outage, but asking on every retry would cost a remote call each.
        # It blocks the loop for the length of one squeue (milliseconds through a live
        # master; run_script's timeout bounds it).
        tries = host.failures
        if host.job_asked_at is None or ((tries & (tries - 1)) == 0 and tries != host.job_asked_at):
            host.job_asked_at = tries
            if job_alive(self.paths, self.ssh, record) is False:
                self._job_ended(host)
                return None
        return record.node_alias, self.paths.node_master_log(host.name)

    def _job_ended(self, host: _Host) -> None:
        """A Slurm host's job is gone: say so once, close its masters, leave it alone."""
        from jssh.session.slurm import SlurmJupyter
        from jssh.states import JOB_GONE

        name, record = host.name, host.record
        job = None
        with contextlib.suppress(JsshError):
            job = SlurmJupyter(self.paths, self.ssh, record).status().job
        which = f"Slurm job {job.job_id}" if job else "its Slurm job"
        how = f" ({job.state})" if job and job.state != JOB_GONE else ""
        when = " while the tunnel was up" if host.had_master else ""
        for alias in (record.node_alias, record.alias):
            with contextlib.suppress(JsshError):
                self.ssh.stop_master(alias)
        self._stop_probe(host)
        host.state, host.next_try, host.failures, host.lost_at = JOB_ENDED, None, 0, None
        # No longer up: `jssh up` (a new job) is what brings it back, and a restarted
        # watchdog must not ask again. Its marker event finds the host JOB_ENDED: quiet.
        with contextlib.suppress(OSError):
            self.paths.wanted_marker(name).unlink()
        with contextlib.suppress(OSError):  # the job's token: no URL for a job that is gone
            self.paths.token_file(name).unlink()
        self._event(
            host,
            f"{which} ended{how}{when}",
            f"run `jssh up {name}` to start a new one (closed its connections; not retrying)",
        )

    def _host_lock(self, host: _Host) -> int | None:
        """The host's lock (the one `jssh up` takes), without waiting; None when held."""
        path = self.paths.host_state_dir(host.name) / ".lock"
        try:
            fsutil.ensure_private_dir(path.parent)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, fsutil.PRIVATE_FILE)
        except (OSError, JsshError):
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd

    def _attempt_done(self, host: _Host) -> None:
        attempt = host.attempt
        if attempt is None:
            return
        rc = attempt.proc.wait()
        cancelled = host.attempt_cancelled
        host.attempt = None
        self._drop_fds(host, attempt_only=True)  # the attempt's exit fd and the host lock
        if host.state == CONNECTED:
            return
        if not self._wanted(host):
            # `jssh down` ran while this respawn was under way: undo what it opened.
            if rc == 0:
                with contextlib.suppress(JsshError):
                    self.ssh.stop_master(host.attempt_alias or host.alias)
            self._consider(host, "brought down")
            return
        if rc == 0 and not cancelled and host.attempt_alias != host.alias:
            # A Slurm host's login node is back: now its node (`_slurm_step`).
            self._log(host.name, "the login node's master is back", "now the node's")
            self._try(host)
            return
        pid = self._live_master(host)
        if pid is not None:
            self._follow(host, pid, f"respawned: master pid {pid}")
            return
        if cancelled:  # the network changed under it, or the host answered: go again now
            self._try(host)
            return
        error = attempt.failure()
        reason = error.message if rc != 0 else "ssh exited but no master runs"
        kind = error.kind if rc != 0 else None
        if kind is not None and kind.needs_user:
            host.state = NEEDS_USER
            self._stop_probe(host)
            self._event(
                host,
                f"respawn failed: {reason}",
                "BatchMode cannot answer a prompt, so the watchdog leaves it alone:"
                f" run `jssh up {host.name}` in a terminal",
            )
            return
        self._retry_later(
            host, f"respawn failed: {reason}", reachability=kind is not None and kind.network
        )

    def _retry_later(self, host: _Host, what: str, *, reachability: bool = False) -> None:
        host.failures += 1
        delay = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** (host.failures - 1))
        delay *= random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 - jitter, not crypto
        if time.monotonic() - self._last_nudge < NUDGE_WINDOW:
            delay = min(delay, NUDGE_RETRY)
        host.next_try = time.monotonic() + delay
        probe = reachability and host.probe_addr is not None
        if probe and not host.probing:
            host.probing, host.probe_failed = True, False
            host.next_probe = time.monotonic()
        # A host down for a day must not fill the log: the same failure again is logged
        # on attempts 1, 2, 4, 8, ... (`jssh status` always has the latest).
        repeated = what == host.last_failure
        host.last_failure = what
        quiet = repeated and (host.failures & (host.failures - 1)) != 0
        self._event(
            host,
            what + (f" (attempt {host.failures})" if repeated else ""),
            f"next attempt in {delay:.1f} s"
            + (" or as soon as it answers" if probe else "")
            + (" or when the network changes" if self._net else ""),
            quiet=quiet,
        )

    def _cancel_attempt(self, host: _Host) -> None:
        if host.attempt is not None:
            host.attempt_cancelled = True
            with contextlib.suppress(OSError):
                host.attempt.proc.terminate()

    # -- the network -----------------------------------------------------------------------------
    def _on_network(self, key: selectors.SelectorKey, mask: int) -> None:
        assert self._net is not None
        came_up = False
        while True:
            try:
                data = self._net.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # ENOBUFS after a burst: treat as "something changed"
                came_up = True
                continue
            if not data:
                break
            came_up = came_up or not sys.platform.startswith("linux") or _network_came_up(data)
        if came_up and self._nudge_at is None:
            self._nudge_at = time.monotonic() + NUDGE_SETTLE

    def _network_nudge(self, now: float) -> None:
        """The network changed: every host waiting to reconnect is tried now."""
        self._last_nudge = now
        waiting = [h for h in self.hosts.values() if h.state == RETRYING and self._wanted(h)]
        for host in waiting:
            self._log(host.name, "the network changed", "retrying now")
            self._restart_attempt(host, before=now)
            if host.probe_addr is not None:  # and probe fast: the link may need a moment
                if not host.probing:
                    host.probing, host.probe_failed = True, False
                host.next_probe = now

    def _restart_attempt(self, host: _Host, *, before: float) -> None:
        if host.attempt is not None:
            # Begun before the change: it may sit in the kernel's SYN backoff. Start over.
            if host.attempt_started < before:
                self._cancel_attempt(host)
        else:
            host.next_try = time.monotonic()

    def _probe_tick(self, host: _Host, now: float) -> None:
        """One reachability probe per PROBE_INTERVAL while the host is down."""
        if host.probe is not None:  # no banner within the interval: not reachable yet
            self._end_probe(host, reachable=False)
        if not host.probing or host.probe_addr is None or host.state != RETRYING:
            self._stop_probe(host)
            return
        fast = now - self._last_nudge < NUDGE_WINDOW
        host.next_probe = now + (PROBE_FAST if fast else PROBE_INTERVAL)
        family, address = host.probe_addr
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            return
        sock.setblocking(False)
        code = sock.connect_ex(address)
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            host.probe_failed, host.last_probe_failure = True, now
            return
        host.probe = _Probe(sock)
        self._selector.register(
            sock, selectors.EVENT_WRITE, lambda k, m, h=host: self._probe_event(h)
        )

    def _probe_event(self, host: _Host) -> None:
        probe = host.probe
        if probe is None:
            return
        if not probe.connected:
            if probe.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                self._end_probe(host, reachable=False)
                return
            probe.connected = True
            self._selector.modify(
                probe.sock, selectors.EVENT_READ, lambda k, m, h=host: self._probe_event(h)
            )
            return
        try:
            banner = probe.sock.recv(64)
        except OSError:
            banner = b""
        self._end_probe(host, reachable=banner.startswith(b"SSH-"))

    def _end_probe(self, host: _Host, *, reachable: bool) -> None:
        probe = host.probe
        host.probe = None
        if probe is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(probe.sock)
            probe.sock.close()
        if not reachable:
            host.probe_failed, host.last_probe_failure = True, time.monotonic()
            return
        if not host.probe_failed:
            # Reachable all along: ssh fails for another reason; the backoff rules.
            self._stop_probe(host)
            return
        self._stop_probe(host)
        self._log(host.name, "its sshd answers again", "retrying now")
        self._restart_attempt(host, before=host.last_probe_failure)

    def _stop_probe(self, host: _Host) -> None:
        if host.probe is not None:
            probe, host.probe = host.probe, None
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(probe.sock)
            probe.sock.close()
        host.probing, host.next_probe = False, None


# -- helpers ------------------------------------------------------------------------------------
def _first(settings: dict[str, list[str]], key: str) -> str | None:
    values = settings.get(key)
    return values[0] if values else None


def _probe_address(settings: dict[str, list[str]]) -> tuple[int, tuple[Any, ...]] | None:
    """Where the host's sshd listens, when that is an IP address ssh connects to directly."""
    for key in ("proxyjump", "proxycommand"):
        value = _first(settings, key)
        if value and value.lower() != "none":
            return None
    try:
        ip = ipaddress.ip_address(_first(settings, "hostname") or "")
        port = int(_first(settings, "port") or "22")
    except ValueError:
        return None  # a name: resolving it here could block; the master's peer is used later
    if ip.version == 6:
        return socket.AF_INET6, (str(ip), port, 0, 0)
    return socket.AF_INET, (str(ip), port)


def _master_peer(master: psutil.Process, local_port: int) -> tuple[int, tuple[Any, ...]] | None:
    """The address the master's ssh connection goes to (its lowest established TCP fd)."""
    import psutil

    try:
        conns = master.net_connections("inet")
    except psutil.Error:
        return None
    candidates = [
        c
        for c in conns
        if c.status == psutil.CONN_ESTABLISHED and c.raddr and c.laddr.port != local_port
    ]
    if not candidates:
        return None  # through a ProxyJump: the master talks to a pipe
    conn = min(candidates, key=lambda c: c.fd)
    if conn.family == socket.AF_INET6:
        return socket.AF_INET6, (conn.raddr.ip, conn.raddr.port, 0, 0)
    return socket.AF_INET, (conn.raddr.ip, conn.raddr.port)


def _master_by_title(control_path: str) -> psutil.Process | None:
    """A backgrounded master's title is `ssh: <ControlPath> [mux]` (GUIDE §3)."""
    import psutil

    me = os.getuid()
    for proc in psutil.process_iter(["cmdline", "uids"]):
        try:
            if proc.info["uids"] is None or proc.info["uids"].real != me:
                continue
            title = " ".join(proc.info["cmdline"] or [])
        except (psutil.Error, AttributeError):
            continue
        if control_path in title and "[mux]" in title:
            return proc
    return None
