"""What the watchdog tells: one line per event on stderr and in watch.log (rotated at
LOG_ROTATE_BYTES, one old log kept), and per host, what it last did, in watchdog.json
(read by `jssh status` through jssh.watchstatus.last_action)."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from typing import TextIO

from jssh import fsutil
from jssh.errors import JsshError
from jssh.paths import Paths
from jssh.watchdog.effects import Report

LOG_ROTATE_BYTES = 1 << 20


class Journal:
    def __init__(self, paths: Paths, echo: Callable[[str], None]) -> None:
        self.paths = paths
        self._echo = echo
        self._file: TextIO | None = None

    def open(self) -> None:
        path = self.paths.watchdog_log
        with contextlib.suppress(OSError):
            if path.stat().st_size > LOG_ROTATE_BYTES:
                path.replace(path.with_name(path.name + ".1"))
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, fsutil.PRIVATE_FILE)
        self._file = os.fdopen(fd, "a", encoding="utf-8")

    def close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    def log(self, who: str, what: str, did: str | None = None) -> None:
        """One line per event: time, host, what happened; what the watchdog did."""
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now))
        stamp += f".{int(now * 1000) % 1000:03d}{time.strftime('%z', time.localtime(now))}"
        line = f"{stamp} {who}: {what}" + (f"; {did}" if did else "")
        self._echo(line)
        if self._file is None:
            return
        with contextlib.suppress(OSError):
            self._file.write(line + "\n")
            self._file.flush()
            if self._file.tell() > LOG_ROTATE_BYTES:  # keep one old log, not more
                self.close()
                self.open()

    def report(self, name: str, report: Report) -> None:
        """Log an event for host NAME (unless quiet) and record it for `jssh status`."""
        if not report.quiet:
            self.log(name, report.what, report.did)
        status = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "event": report.what,
            "action": report.did,
            "state": report.state.shown,
            "watchdog_pid": os.getpid(),
            "master_pid": report.master_pid,
            "server": report.server.value,
        }
        path = self.paths.watchdog_status(name)
        if not path.parent.exists():
            return  # removed meanwhile (`jssh remove` deletes the dir): nothing to tell
        with contextlib.suppress(JsshError):
            fsutil.atomic_write(path, json.dumps(status, indent=2) + "\n")
