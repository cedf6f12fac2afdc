"""A tiny HTTP client for asking Jupyter one question through the local forward.

Deliberately not http.client: that pulls in the email package and ssl, which costs
more than the whole warm `jssh up` is allowed to. One request, one status line.
"""

from __future__ import annotations

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
    # The status line is all this needs: stop reading once it is in.
    head = _exchange(
        host,
        port,
        lines,
        owner_proven=owner_proven,
        timeout=timeout,
        enough=lambda data: b"\r\n" in data,
        limit=1024,
    )
    if head is None:
        return None
    return _status(head.split(b"\r\n", 1)[0].decode("latin-1"))


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
    data = _exchange(
        host,
        port,
        lines,
        owner_proven=owner_proven,
        timeout=timeout,
        enough=lambda _data: False,
        limit=limit,
    )
    if data is None:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = _status(status_line)
    if status is None:
        return None
    headers = {}
    for line in header_lines:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return status, headers, body


def _exchange(
    host: str,
    port: int,
    lines: list[str],
    *,
    owner_proven: Callable[[], bool] | None,
    timeout: float,
    enough: Callable[[bytes], bool],
    limit: int,
) -> bytes | None:
    """Connect, prove the listener (before a byte is sent), send the request LINES, and
    read until the server closes, `enough` says so, or LIMIT bytes; None when the
    connection failed or the listener is not ours."""
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    data = b""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if owner_proven is not None and not owner_proven():
                return None
            sock.sendall(request)
            while not enough(data) and len(data) < limit:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None
    return data


def _status(status_line: str) -> int | None:
    """The code of an `HTTP/1.1 200 OK` line, None for anything else."""
    words = status_line.split()
    if len(words) >= 2 and words[0].startswith("HTTP/") and words[1].isdigit():
        return int(words[1])
    return None
