"""A process's exit as a descriptor that becomes readable, and a wait built on it.

The watchdog follows masters that are not its children, and the ssh processes it
starts, through these descriptors in its event loop; `wait_for_exit` gives the same
prompt wake-up to a plain blocking wait (a master's start in `jssh up`).
"""

from __future__ import annotations

import os
import select
import selectors
import subprocess
import sys
from typing import Protocol


class Fileno(Protocol):
    def fileno(self) -> int: ...
    def close(self) -> None: ...


class Fd:
    """A raw descriptor with the file-object face selectors want."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def exit_notifier(pid: int) -> Fileno | None:
    """A descriptor that becomes readable when `pid` exits, or None where there is none
    (the process is gone already, or the system has no such thing)."""
    if hasattr(os, "pidfd_open"):
        try:
            return Fd(os.pidfd_open(pid))
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


def wait_for_exit(proc: subprocess.Popen[bytes], timeout: float) -> int:
    """`proc.wait(timeout)`, woken the moment the process ends.

    subprocess waits with a timeout by polling, with sleeps that grow to 50 ms: a cold
    `up` paid ~25 ms on average after its master had started. The exit notifier wakes
    at the exit itself; where there is none, it is subprocess's own wait.
    Raises subprocess.TimeoutExpired as proc.wait does."""
    notifier = exit_notifier(proc.pid)
    if notifier is None:
        return proc.wait(timeout=timeout)
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(notifier, selectors.EVENT_READ)
            if not selector.select(timeout):
                raise subprocess.TimeoutExpired(proc.args, timeout)
    finally:
        notifier.close()
    return proc.wait()
