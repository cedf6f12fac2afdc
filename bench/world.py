"""What the cases share: the lab workstation and its laptops, a managed host brought up
by `jssh up`, `jssh watch`, and HTTP checks through a forward."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

import psutil
from harness import BenchError, checked, last_lines, poll_until

from lab import (
    LabKeys,
    Laptop,
    Result,
    Sshd,
    ensure_lab_account,
    ensure_lab_venv,
    free_port,
    short_tempdir,
    terminate,
)
from lab.client import token_of

NAME = "bench"  # the managed host's name: its own socket path, apart from the tests' one


class Lab:
    """The workstation and the laptops every case uses."""

    def __init__(self) -> None:
        self.keys = LabKeys.create()
        self.venv = ensure_lab_venv()
        self.ws = Sshd(account=ensure_lab_account(), venv=self.venv, keys=self.keys).start()
        self.laptops: list[Laptop] = []
        self.tmp = short_tempdir()

    def laptop(self) -> Laptop:
        laptop = Laptop(workstation=self.ws, keys=self.keys)
        self.laptops.append(laptop)
        return laptop

    def kill_remote(self) -> None:
        """Stop every process logins left on the workstation (servers, tmux, shells)."""
        self.ws.kill_remote_processes()

    def close(self) -> None:
        for laptop in self.laptops:
            with contextlib.suppress(Exception):
                laptop.jssh_process("down", NAME, timeout=60)
            laptop.close()
        self.ws.close()
        self.keys.remove()
        shutil.rmtree(self.tmp, ignore_errors=True)


# -- HTTP through a forward ----------------------------------------------------------------


def http_status(port: int, token: str | None, *, timeout: float = 5) -> int | None:
    """GET /api/status on 127.0.0.1:PORT (with the token): its HTTP status, None when
    nothing answers. The timeout is the caller's: a dead link must not hold up a poll."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Authorization": f"token {token}"} if token else {}
        conn.request("GET", "/api/status", headers=headers)
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def poll_status(port: int, token: str | None, *, timeout: float, interval: float = 0.05) -> None:
    """Poll GET /api/status on 127.0.0.1:port until HTTP 200 (with the token)."""
    poll_until(
        lambda: http_status(port, token) == 200,
        timeout=timeout,
        what=f"nothing answered 200 on 127.0.0.1:{port}",
        interval=interval,
    )


def serves(port: int, token: str) -> bool:
    # A short HTTP timeout: a forward whose link is dead must not hold up the poll.
    return http_status(port, token, timeout=1) == 200


# -- jssh on a laptop ----------------------------------------------------------------------


def jssh_ok(laptop: Laptop, *args: str, timeout: float = 120) -> Result:
    return checked(laptop.jssh_process(*args, timeout=timeout), f"jssh {' '.join(args)} failed")


def jssh_status(laptop: Laptop, name: str) -> dict[str, Any]:
    entries = json.loads(jssh_ok(laptop, "status", name, "--json").stdout)
    return entries[0]  # type: ignore[no-any-return]


@dataclass
class Served:
    """A managed host brought up by `jssh up`: its forward's port and token."""

    laptop: Laptop
    name: str
    port: int
    token: str

    @classmethod
    def up(cls, laptop: Laptop, name: str) -> Served:
        port = free_port()
        jssh_ok(laptop, "add", "workstation", "--name", name, "--local-port", str(port))
        url = jssh_ok(laptop, "up", name, "--no-open", timeout=180).stdout.strip().splitlines()[-1]
        return cls(laptop, name, port, token_of(url))

    def remote_target(self) -> str:
        """Where the managed block's LocalForward points (a remote unix socket)."""
        config = self.laptop.ssh("-G", f"{self.name}-jupyter")
        match = re.search(r"^localforward \S+ (\S+)$", config.stdout, re.M)
        if not match:
            raise BenchError(f"no LocalForward in `ssh -G {self.name}-jupyter`: {config}")
        return match.group(1)

    def master_pid(self) -> int:
        pid = jssh_status(self.laptop, self.name)["master"]["pid"]
        if not isinstance(pid, int):
            raise BenchError(f"{self.name}: no master running")
        return pid

    def server_pid(self) -> object:
        return jssh_status(self.laptop, self.name)["server"]["pid"]

    def down(self) -> None:
        self.laptop.jssh_process("down", self.name, timeout=60)


class Watch:
    """`jssh watch` for one laptop, its stderr (the event log) in a file."""

    def __init__(self, laptop: Laptop) -> None:
        self.log = laptop.root / "watch.stderr"
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                laptop.jssh_argv("watch"),
                env=laptop.env,  # carries the lab id: the laptop's teardown ends it too
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        poll_until(
            lambda: "watchdog: started" in self.text() or self.proc.poll() is not None,
            timeout=60,
            what="`jssh watch` to start",
            interval=0.05,
        )
        if self.proc.poll() is not None:
            raise BenchError(
                f"jssh watch exited ({self.proc.returncode}): {last_lines(self.text())}"
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            terminate([psutil.Process(self.proc.pid)], grace=15)
        self.proc.wait()
