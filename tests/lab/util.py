"""Small helpers shared by the lab: temp dirs, ports, polling, running commands."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal, TypeVar

__all__ = [
    "IS_ROOT",
    "LabError",
    "LabTimeout",
    "Result",
    "free_port",
    "port_is_free",
    "python_imports",
    "run",
    "short_tempdir",
    "wait_until",
]

T = TypeVar("T")

IS_ROOT = os.geteuid() == 0


class LabError(RuntimeError):
    """The lab itself could not be set up (not a failure of the code under test)."""


class LabTimeout(LabError):
    """A bounded wait ran out."""


def short_tempdir() -> Path:
    """A fresh private dir directly under /tmp.

    Short on purpose: ssh ControlPath sockets live below these dirs and a unix
    socket path must stay under ~86 bytes once ssh appends its random suffix.
    """
    return Path(tempfile.mkdtemp(prefix="jl-", dir="/tmp"))


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on `host`.

    SO_REUSEADDR so a port in TIME_WAIT from an earlier test is not reported
    as taken (the listener we start sets it too).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when a listener could bind host:port now (SO_REUSEADDR, as ssh sets it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def wait_until(
    predicate: Callable[[], T | bool | None],
    *,
    timeout: float,
    what: str,
    interval: float = 0.02,
) -> T:
    """Poll `predicate` until it returns something truthy, and return that.

    Raises LabTimeout naming `what` when `timeout` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            raise LabTimeout(f"timed out after {timeout:g}s waiting for {what}")
        # Back off gently so a long wait does not burn a core we share with sshd.
        time.sleep(interval)
        interval = min(interval * 1.5, 0.25)


class Result(subprocess.CompletedProcess[str]):
    """A finished command: CompletedProcess plus `.ok`, `.duration` and a readable str.

    `assert r.ok, r` prints the command, exit code, stdout and stderr.
    """

    def __init__(
        self, args: Sequence[str], returncode: int, stdout: str, stderr: str, duration: float
    ) -> None:
        super().__init__(list(args), returncode, stdout, stderr)
        self.duration = duration

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def __str__(self) -> str:
        argv = " ".join(self.args)
        return (
            f"$ {argv}\n[exit {self.returncode} after {self.duration:.2f}s]\n"
            f"--- stdout ---\n{self.stdout}--- stderr ---\n{self.stderr}"
        )


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float = 30.0,
    cwd: str | os.PathLike[str] | None = None,
    check: bool = False,
    capture: Literal["pipe", "file"] = "pipe",
) -> Result:
    """Run a command to completion and return a Result.

    capture="file" sends stdout/stderr to temp files instead of pipes: needed
    for `ssh -f`, whose backgrounded master keeps the inherited stderr open, so
    reading a pipe until EOF would wait for the master to die.
    """
    argv = [os.fspath(a) for a in argv]
    start = time.monotonic()
    if capture == "pipe":
        try:
            cp = subprocess.run(
                argv,
                env=None if env is None else dict(env),
                input=input,
                text=True,
                capture_output=True,
                timeout=timeout,
                cwd=cwd,
                stdin=None if input is not None else subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise LabTimeout(
                f"{argv!r} did not finish within {timeout:g}s (if it started a background "
                f"process, does that process still hold stdout/stderr?)\n"
                f"stdout so far: {_text(exc.stdout)!r}\nstderr so far: {_text(exc.stderr)!r}"
            ) from exc
        result = Result(argv, cp.returncode, cp.stdout, cp.stderr, time.monotonic() - start)
    else:
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(
                argv,
                env=None if env is None else dict(env),
                text=True,
                cwd=cwd,
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
            try:
                if input is not None:
                    proc.communicate(input, timeout=timeout)
                else:
                    proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired as exc:
                proc.kill()
                proc.wait()
                out.seek(0)
                err.seek(0)
                raise LabTimeout(
                    f"{argv!r} did not finish within {timeout:g}s\n"
                    f"stdout so far: {out.read()!r}\nstderr so far: {err.read()!r}"
                ) from exc
            out.seek(0)
            err.seek(0)
            result = Result(argv, proc.returncode, out.read(), err.read(), time.monotonic() - start)
    if check and not result.ok:
        raise LabError(f"command failed:\n{result}")
    return result


def python_imports(args: Sequence[str], env: Mapping[str, str]) -> tuple[Result, set[str]]:
    """`python -X importtime ARGS` with ENV, on this interpreter: its Result, and every
    module the run imported (importtime reports them on stderr)."""
    result = run([sys.executable, "-X", "importtime", *args], env=env, timeout=60)
    modules = {
        line.split("|")[-1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    return result, modules


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data
