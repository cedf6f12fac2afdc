"""Where the watchdog's events come from, all without polling:

- a process exits: a pidfd (Linux; a kqueue NOTE_EXIT elsewhere) becomes readable, for
  masters that are not our children as well as for the ssh processes we start
  (jssh.exits, which the CLI's waits share);
- the network changes: an AF_NETLINK route socket (Linux; a routing socket on BSD)
  reports links, addresses and routes, and `network_news` says whether a batch of
  messages is worth a retry, and whether a followed master's path may be gone;
- a host becomes reachable: a probe, one TCP connect to its sshd, sees its banner;
- a file changes: a watchfiles thread reports hosts.json, the control sockets and the
  wanted markers, and wakes the loop through the wake pipe (as signals do);
- a followed master is stopped: the periodic look at /proc (`look_at`), since a SIGSTOP
  produces no event anywhere.

These only notice things. What to do about them is the state machine's business.
"""

from __future__ import annotations

import contextlib
import errno
import os
import queue
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from jssh.paths import Paths
from jssh.watchdog.events import Address
from jssh.watchdog.netpath import ssh_connection

if TYPE_CHECKING:
    import psutil

# watchfiles' Rust side sleeps `step` ms between looks at its queue of inotify events
# (that is how its stop_event works); 250 ms keeps that to four cheap wake-ups a second.
# Nothing urgent waits on it: master exits come through pidfds.
FILE_STEP_MS = 250
FILE_DEBOUNCE_MS = 1000

# Linux rtnetlink (linux/rtnetlink.h, linux/if.h).
_RTMGRP_LINK = 0x1
_RTMGRP_IPV4_IFADDR = 0x10
_RTMGRP_IPV4_ROUTE = 0x40
_RTMGRP_IPV6_IFADDR = 0x100
_RTMGRP_IPV6_ROUTE = 0x400
_RTM_NEWLINK = 16
_RTM_DELLINK = 17
_RTM_NEWADDR = 20
_RTM_DELADDR = 21
_RTM_NEWROUTE = 24
_RTM_DELROUTE = 25
_IFF_LOWER_UP = 0x10000
_NLMSG_HEADER = struct.Struct("=LHHLL")
_IFINFOMSG = struct.Struct("=BxHiII")


# -- the network ----------------------------------------------------------------------------
def network_socket() -> socket.socket | None:
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


@dataclass(frozen=True)
class NetworkNews:
    """What a batch of network messages says. `came_up`: a link came up, or an address
    or a route was added (worth retrying a host on its way back). `paths_changed`: an
    address or a route was added or deleted, or a link went (a followed master's
    connection may have lost its path: worth checking, see netpath.py)."""

    came_up: bool = False
    paths_changed: bool = False

    def __or__(self, other: NetworkNews) -> NetworkNews:
        return NetworkNews(self.came_up or other.came_up, self.paths_changed or other.paths_changed)


EVERYTHING = NetworkNews(came_up=True, paths_changed=True)


def network_news(data: bytes) -> NetworkNews:
    """Classify a batch of rtnetlink messages.

    Links going down are not a reason to retry anything (they would only cost
    attempts), but they may take a master's path with them.
    """
    came_up = paths_changed = False
    offset = 0
    while offset + _NLMSG_HEADER.size <= len(data):
        length, kind, _flags, _seq, _pid = _NLMSG_HEADER.unpack_from(data, offset)
        if length < _NLMSG_HEADER.size:
            break
        body = offset + _NLMSG_HEADER.size
        if kind in (_RTM_NEWADDR, _RTM_NEWROUTE):
            came_up = paths_changed = True
        elif kind in (_RTM_DELADDR, _RTM_DELROUTE, _RTM_DELLINK):
            paths_changed = True
        elif kind == _RTM_NEWLINK and body + _IFINFOMSG.size <= len(data):
            flags = _IFINFOMSG.unpack_from(data, body)[3]
            if flags & _IFF_LOWER_UP:
                came_up = True
            else:
                paths_changed = True
        offset += (length + 3) & ~3
    return NetworkNews(came_up, paths_changed)


def network_came_up(data: bytes) -> bool:
    """True when a batch of rtnetlink messages has a link up, an address or a route added."""
    return network_news(data).came_up


def read_network(sock: socket.socket) -> NetworkNews:
    """Drain the network socket: what the messages said, together."""
    news = NetworkNews()
    while True:
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return news
        except OSError:  # ENOBUFS after a burst: messages were lost, assume anything
            news = EVERYTHING
            continue
        if not data:
            return news
        if not sys.platform.startswith("linux"):  # a BSD routing socket: not parsed
            news = EVERYTHING
        else:
            news = news | network_news(data)


class Probe:
    """One TCP connect to a down host's sshd, a new SYN each time (never the kernel's SYN
    backoff, GUIDE §3): reachable once it sends its banner. Non-blocking: the loop calls
    `step` whenever the socket is ready, until it returns an answer."""

    def __init__(self, address: Address) -> None:
        family, sockaddr = address
        self.connected = False
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.failed = self.sock.connect_ex(sockaddr) not in (0, errno.EINPROGRESS)

    def step(self) -> bool | None:
        """None: not yet (now wait for it to be readable); else whether it answered."""
        if not self.connected:
            if self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                return False
            self.connected = True
            return None
        try:
            banner = self.sock.recv(64)
        except OSError:
            banner = b""
        return banner.startswith(b"SSH-")

    def close(self) -> None:
        self.sock.close()


# -- files, signals and the wake pipe ---------------------------------------------------------
class WakePipe:
    """One pipe that wakes the loop: signals (set_wakeup_fd), the file watcher, workers."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        for fd in (self.read_fd, self.write_fd):
            os.set_blocking(fd, False)

    def wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self.write_fd, b"w")

    def drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self.read_fd, 512):
                pass

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


@dataclass
class FileEvents:
    """What the file watcher saw since the loop last looked."""

    hosts_file: bool = False
    markers: set[str] = field(default_factory=set)  # host names
    sockets: dict[str, set[str]] = field(default_factory=dict)  # path -> {"added", "deleted"}

    def add(self, paths: Paths, kind: int, path: str) -> None:
        if path == str(paths.hosts_file):
            self.hosts_file = True
            return
        p = Path(path)
        if p.name == "wanted" and p.parent.parent == paths.state_dir / "hosts":
            self.markers.add(p.parent.name)
        elif p.parent == paths.control_dir:
            # watchfiles: 1 added, 2 modified, 3 deleted
            word = {1: "added", 3: "deleted"}.get(kind)
            if word:
                self.sockets.setdefault(path, set()).add(word)


def inotify_watching(dirs: list[Path]) -> bool | None:
    """Does an inotify instance of this process watch each of DIRS yet? (Read from
    /proc/self/fdinfo, where each watch shows its inode.) None without /proc."""
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return None
    watched: set[int] = set()
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/self/fdinfo/{fd}") as info:
                for line in info:
                    if line.startswith("inotify wd:"):
                        fields = dict(f.split(":", 1) for f in line.split()[1:] if ":" in f)
                        watched.add(int(fields.get("ino", "-1"), 16))
    try:
        return all(d.stat().st_ino in watched for d in dirs)
    except OSError:
        return True  # a root went away: nothing to wait for


class FileWatch:
    """A watchfiles thread over ROOTS; what it sees (or why it stopped) goes into
    `changes`, and the wake pipe tells the loop to look."""

    def __init__(
        self, roots: list[Path], wake: WakePipe, stop: threading.Event, *, recursive: bool = True
    ) -> None:
        self.roots, self.wake, self.stop = roots, wake, stop
        self.recursive = recursive
        self.changes: queue.SimpleQueue[tuple[int, str] | BaseException] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._watch, name="jssh-watch-files", daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        from watchfiles import watch  # imported here: only `jssh watch` needs it

        try:
            for changes in watch(
                *self.roots,
                watch_filter=None,
                debounce=FILE_DEBOUNCE_MS,
                step=FILE_STEP_MS,
                stop_event=self.stop,
                rust_timeout=0,
                raise_interrupt=False,
                force_polling=False,
                recursive=self.recursive,
            ):
                for kind, path in changes:
                    self.changes.put((int(kind), path))
                self.wake.wake()
        except Exception as exc:  # e.g. a watched dir removed: reported, then retried
            if not self.stop.is_set():
                self.changes.put(exc)
                self.wake.wake()

    def wait_ready(self, timeout: float = 2.0) -> None:
        """Return once the kernel reports changes in every root to this process (bounded).
        The thread sets its watches up some time after it starts, under load a second
        or more; a change in between would be missed, though the log already said
        "watching"."""
        deadline = time.monotonic() + timeout
        while inotify_watching(self.roots) is False and time.monotonic() < deadline:
            if not self.thread.is_alive():
                return
            time.sleep(0.01)

    def take_paths(self) -> tuple[set[str], list[BaseException]]:
        """The paths that changed since the last look, whatever the change."""
        changes, errors = self._drain()
        return {path for _kind, path in changes}, errors

    def take(self, paths: Paths) -> tuple[FileEvents, list[BaseException]]:
        events = FileEvents()
        changes, errors = self._drain()
        for kind, path in changes:
            events.add(paths, kind, path)
        return events, errors

    def _drain(self) -> tuple[list[tuple[int, str]], list[BaseException]]:
        """Everything queued since the last look: (kind, path) changes, and errors."""
        changes, errors = list[tuple[int, str]](), list[BaseException]()
        while True:
            try:
                item = self.changes.get_nowait()
            except queue.Empty:
                return changes, errors
            if isinstance(item, BaseException):
                errors.append(item)
            else:
                changes.append(item)


# -- a followed master -------------------------------------------------------------------------
class Look(Enum):
    RUNNING = "running"
    STOPPED = "stopped"
    GONE = "gone"


def look_at(master: psutil.Process) -> Look:
    """One read of /proc/PID/stat: a few microseconds."""
    import psutil

    try:
        status = master.status()
    except psutil.Error:
        return Look.GONE
    if status in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
        return Look.GONE
    return Look.STOPPED if status == psutil.STATUS_STOPPED else Look.RUNNING


def master_peer(master: psutil.Process, local_port: int) -> Address | None:
    """The address the master's ssh connection goes to (its lowest established TCP fd)."""
    conn = ssh_connection(master, local_port)
    if conn is None:
        return None  # through a ProxyJump: the master talks to a pipe
    if conn.family == socket.AF_INET6:
        return socket.AF_INET6, (conn.raddr.ip, conn.raddr.port, 0, 0)
    return socket.AF_INET, (conn.raddr.ip, conn.raddr.port)


def last_words(path: Path, offset: int) -> str | None:
    """The master's last log line written past OFFSET (its last words), if any."""
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            lines = [ln.strip() for ln in log.read().decode(errors="replace").splitlines()]
    except OSError:
        return None
    lines = [ln for ln in lines if ln]
    return lines[-1] if lines else None
