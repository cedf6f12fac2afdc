"""Local ports: is one free, and if not, who holds it."""

from __future__ import annotations

import contextlib
import socket

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
    found = holder(port)
    if found is None:
        return "another program"
    pid, name = found
    return f"{name} (pid {pid})"
