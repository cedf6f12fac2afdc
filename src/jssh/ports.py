"""Local ports: is one free, and if not, who holds it."""

from __future__ import annotations

import contextlib
import os
import socket
from dataclasses import dataclass
from pathlib import Path

FIRST_LOCAL_PORT = 8899


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when we could listen on host:port right now.

    SO_REUSEADDR matters: without it a port in TIME_WAIT just after `jssh down` looks
    taken, although ssh (which sets it too) could bind it.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def answers(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """True when something accepts a TCP connection on host:port."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def first_free(start: int = FIRST_LOCAL_PORT, avoid: set[int] | None = None) -> int:
    avoid = avoid or set()
    for port in range(start, 65536):
        if port not in avoid and is_free(port):
            return port
    raise OSError("no free local port")


@dataclass(frozen=True)
class Holder:
    """A process listening on a local port, as far as we may see it."""

    pid: int
    name: str
    user: str | None

    def describe(self) -> str:
        owner = f", user {self.user}" if self.user else ""
        return f"{self.name} (pid {self.pid}{owner})"


_PROC_NET_TCP = Path("/proc/net/tcp")
_TCP_LISTEN = "0A"
_LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp prints it (little-endian)


def listener_inodes(port: int) -> set[int] | None:
    """Socket inodes listening on 127.0.0.1:PORT or *:PORT; None without /proc (macOS)."""
    try:
        lines = _PROC_NET_TCP.read_text().splitlines()[1:]
    except OSError:
        return None
    wanted = {f"{_LOOPBACK_HEX}:{port:04X}", f"00000000:{port:04X}"}
    inodes: set[int] = set()
    for line in lines:
        fields = line.split()
        if len(fields) > 9 and fields[3] == _TCP_LISTEN and fields[1] in wanted:
            inodes.add(int(fields[9]))
    return inodes


def listens_on(pid: int, port: int) -> bool:
    """True when process PID holds a socket listening on 127.0.0.1:PORT.

    On Linux this reads only /proc/net/tcp and PID's own fd links (well under a
    millisecond); elsewhere it asks psutil about that one process.
    """
    inodes = listener_inodes(port)
    if inodes is None:
        return _listens_on_psutil(pid, port)
    if not inodes:
        return False
    targets = {f"socket:[{inode}]" for inode in inodes}
    fd_dir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(f"{fd_dir}/{fd}") in targets:
                return True
    return False


def _listens_on_psutil(pid: int, port: int) -> bool:
    import psutil

    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(
        c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port for c in connections
    )


def who_holds(port: int) -> Holder | None:
    """The process listening on PORT with its user, when we may know it."""
    found = holder(port)
    if found is None:
        return None
    import psutil

    pid, name = found
    try:
        user: str | None = psutil.Process(pid).username()
    except (psutil.Error, KeyError):
        user = None
    return Holder(pid, name, user)


def holder(port: int) -> tuple[int, str] | None:
    """(pid, process name) of whoever listens on `port`, when we may know it."""
    import psutil  # imported here: only error paths and doctor need it

    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            if conn.pid is None:
                return None
            try:
                return conn.pid, psutil.Process(conn.pid).name()
            except psutil.Error:
                return conn.pid, "?"
    return None


def describe_holder(port: int) -> str:
    """`python3 (pid 4242, user alice)` for a busy-port message: the user matters when
    it is another account's program (a squatter), which only they can stop."""
    found = who_holds(port)
    return found.describe() if found is not None else "another program"
