"""A tiny HTTP client for asking Jupyter one question through the local forward.

Deliberately not http.client: that pulls in the email package and ssl, which costs
more than the whole warm `jssh up` is allowed to. One request, one status line.
"""

from __future__ import annotations

import contextlib
import socket


def http_status(
    port: int,
    path: str = "/api/status",
    *,
    token: str | None = None,
    method: str = "GET",
    timeout: float = 5.0,
    host: str = "127.0.0.1",
) -> int | None:
    """The HTTP status code for one request, or None when nothing answers properly."""
    lines = [f"{method} {path} HTTP/1.0", f"Host: {host}:{port}", "Content-Length: 0"]
    if token:
        lines.append(f"Authorization: token {token}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(request)
            head = b""
            while b"\r\n" not in head and len(head) < 1024:
                chunk = sock.recv(1024)
                if not chunk:
                    break
                head += chunk
    except OSError:
        return None
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) >= 2 and status_line[0].startswith(b"HTTP/"):
        with contextlib.suppress(ValueError):
            return int(status_line[1])
    return None
