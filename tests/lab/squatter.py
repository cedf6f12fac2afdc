"""A port squatter: another local account listening on a tunnel's port.

It accepts every connection, records every byte it receives into a log, and answers
200 to anything, the worst case for a client that would send it a secret.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from .account import ensure_account
from .procs import LAB_ID_VAR, new_lab_id, terminate
from .util import IS_ROOT, LabError, port_is_free, short_tempdir

__all__ = ["SQUATTER_ACCOUNT", "Squatter"]

SQUATTER_ACCOUNT = "jsshsquat"

_LISTENER = r"""
import socket, sys
port, log = int(sys.argv[1]), sys.argv[2]
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(16)
open(log, "ab").close()
while True:
    conn, _ = server.accept()
    conn.settimeout(2)
    received = b""
    try:
        while b"\r\n\r\n" not in received:
            chunk = conn.recv(65536)
            if not chunk:
                break
            received += chunk
    except OSError:
        pass
    with open(log, "ab") as out:
        out.write(b"--- connection\n" + received + b"\n")
    try:
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}")
    except OSError:
        pass
    conn.close()
"""


class Squatter:
    """`python3` listening on 127.0.0.1:PORT as the account `jsshsquat` (root only)."""

    def __init__(self, port: int) -> None:
        if not IS_ROOT:
            raise LabError("a squatter under another account needs root")
        self.port = port
        self.account = ensure_account(SQUATTER_ACCOUNT)
        self.dir = short_tempdir()
        entry = pwd.getpwnam(self.account)
        os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self.log = self.dir / "received.log"
        script = self.dir / "listener.py"
        script.write_text(_LISTENER)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), LAB_ID_VAR: new_lab_id("sq")}
        # Debian's own python3: a venv under root's home is not executable by the account.
        python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
        self.proc = subprocess.Popen(
            ["runuser", "-u", self.account, "--", python, str(script), str(port), str(self.log)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while not self.log.exists() or port_is_free(port):
            if self.proc.poll() is not None:
                raise LabError(f"the squatter did not start: {self.proc.stderr.read()!r}")  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                raise LabError(f"the squatter does not listen on {port}")
            time.sleep(0.02)

    def received(self) -> bytes:
        """Every byte any client sent it so far."""
        return self.log.read_bytes()

    def connections(self) -> int:
        return self.received().count(b"--- connection\n")

    def close(self) -> None:
        import psutil

        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
            terminate([psutil.Process(self.proc.pid), *children])
        except psutil.NoSuchProcess:
            pass
        self.proc.wait(timeout=10)
        if self.proc.stderr:
            self.proc.stderr.close()

    def __enter__(self) -> Squatter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
