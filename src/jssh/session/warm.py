"""The warm check: is this host already serving, with our token, through our tunnel?

One function, used by the full `up` and by the fast path that runs before typer
loads, so the two can never disagree. It costs no ssh at all: the token from a
local file, the tunnel's owner proven from the kernel, one HTTP request.
Kept cheap to import (no remote, no ssh client) for the fast path's sake.
"""

from __future__ import annotations

from jssh import probe
from jssh.hosts import HostRecord
from jssh.paths import Paths
from jssh.session.owner import TunnelOwner


def serving_url(
    record: HostRecord, token: str | None, *, timeout: float = 5.0, paths: Paths | None = None
) -> str | None:
    """RECORD's URL when its server answers TOKEN with 200 through our own tunnel (with
    PATHS, our watchdog's bridge counts as ours, see TunnelOwner).

    Raises ForeignListener (exit 6) when another process holds the port: nothing is sent.
    """
    if not token:
        return None
    status = probe.http_status(
        record.local_port,
        token=token,
        owner_proven=TunnelOwner.of(record, paths).proven,
        timeout=timeout,
    )
    return record.url(token) if status == 200 else None
