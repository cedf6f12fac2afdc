"""A tiny HTTP client for asking Jupyter one question through the local forward.

Deliberately not http.client: that pulls in the email package and ssl, which costs
more than the whole warm `jssh up` is allowed to. One request, one status line.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable


def http_status(
    port: int,
    path: str = "/api/status",
    *,
    token: str | None = None,
    owner_proven: Callable[[], bool] | None = None,
    method: str = "GET",
    timeout: float = 5.0,
    host: str = "127.0.0.1",
) -> int | None:
    """The HTTP status code for one request, or None when nothing answers properly.

    A request with a token needs `owner_proven` (see jssh.session.owner): it runs after the
    connection is made and before a byte is sent, so the token reaches only a listener
    proven to be our own master; when it says no, nothing is sent and this returns None.
    """
    if token and owner_proven is None:
        raise ValueError("a token goes only to a listener proven to be our tunnel")
    lines = [f"{method} {path} HTTP/1.0", f"Host: {host}:{port}", "Content-Length: 0"]
    if token:
        lines.append(f"Authorization: token {token}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if owner_proven is not None and not owner_proven():
                return None
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


def http_get(
    port: int,
    path: str,
    *,
    token: str,
    owner_proven: Callable[[], bool],
    timeout: float = 5.0,
    host: str = "127.0.0.1",
    limit: int = 65536,
) -> tuple[int, dict[str, str], bytes] | None:
    """(status, headers with lowercase names, body) of one GET with the token, sent only
    once `owner_proven` says the listener is our own master (as http_status); None when
    nothing answers properly or it is not ours. HTTP/1.0: the server closes when done."""
    lines = [f"GET {path} HTTP/1.0", f"Host: {host}:{port}", f"Authorization: token {token}"]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    data = b""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if not owner_proven():
                return None
            sock.sendall(request)
            while len(data) < limit:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    words = status_line.split()
    if len(words) < 2 or not words[0].startswith("HTTP/") or not words[1].isdigit():
        return None
    headers = {}
    for line in header_lines:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return int(words[1]), headers, body
