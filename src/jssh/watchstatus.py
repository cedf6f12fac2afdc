"""What the watchdog leaves for others to read: its pid file (held under a flock while
it runs) and, per host, what it last did.

Apart from the watchdog itself so that `status`, `doctor` and `service` can read
these without importing the watchdog and its event loop.
"""

from __future__ import annotations

import fcntl
import json
import os

from jssh import fsutil
from jssh.errors import BusyError
from jssh.paths import Paths

# Not `from typing import ...`: the warm `up` imports this module, and typing costs it
# ~4 ms (jssh.entry). mypy reads TYPE_CHECKING = False as typing's own.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def acquire_lock(paths: Paths) -> int:
    """Take the watchdog's flock (held until the process ends) and write our pid into it."""
    fsutil.ensure_private_dir(paths.state_dir)
    fd = os.open(paths.watchdog_pid, os.O_RDWR | os.O_CREAT, fsutil.PRIVATE_FILE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = fsutil.read_pid(fd)
        os.close(fd)
        raise BusyError(
            f"a watchdog is already running{f' (pid {holder})' if holder else ''}"
            f" for {paths.state_dir}",
            hint="one watchdog looks after every host; stop that one first"
            f"{f' (kill {holder})' if holder else ''} if you want to start another",
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def running_pid(paths: Paths) -> int | None:
    """The pid of the running watchdog for these paths, or None (its flock tells)."""
    try:
        fd = os.open(paths.watchdog_pid, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return fsutil.read_pid(fd) or -1
        return None
    finally:
        os.close(fd)  # also drops the shared lock, if we got it


def last_action(paths: Paths, name: str) -> dict[str, Any] | None:
    """What the watchdog last did for NAME (for `jssh status`), or None."""
    try:
        data = json.loads(paths.watchdog_status(name).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    running = running_pid(paths)
    data["watchdog_running"] = running is not None and running == data.get("watchdog_pid")
    return data
