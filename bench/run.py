#!/usr/bin/env python3
"""jssh's benchmark: figures taken side by side, in one run, against the lab's real sshd.

    ./scripts/bench            # installs what is missing, then runs this with .venv
    python3 bench/run.py       # the same, when jssh and its dependencies are importable

It starts the test lab's "workstation" (a real sshd on 127.0.0.1, JupyterLab in a venv,
a private tmux) and three "laptops" (private ~/.ssh/config each): one for jssh, one for
the skilled user's hand-typed recipe, one for the peer jupyter-forward. Cases of one
group run interleaved, round after round, so a slow moment of the machine hits all of
them alike. Each row gives the median and the range (min–max) of its runs; the results
go to bench/RESULTS.md with the date and the machine.

The watchdog rows (`jssh watch`, issue 7) set a host up, kill its master (and autossh's
ssh, the peer), cut a netns workstation's link (root) and measure the watchdog's idle
cost for 1, 10 and 50 healthy hosts (see `watchdog_group` and `idle_group`).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import http.client
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(1, str(REPO / "src"))  # `from jssh import __version__` for the report

from lab import (  # noqa: E402
    LabKeys,
    Laptop,
    Result,
    Sshd,
    ensure_lab_account,
    ensure_lab_venv,
    free_port,
    run,
    short_tempdir,
)

RESULTS = REPO / "bench" / "RESULTS.md"
# Test runs on this machine hold this lock; the bench takes it too, so it neither
# measures a machine busy with a test suite nor collides with one on a remote socket.
DEFAULT_LOCK = Path("/tmp/jssh-tests.lock")
NAME = "bench"  # the managed host's name: its own socket path, apart from the tests' one
# The newest release, 2025.1.16, can't start Jupyter unless --conda-env is given: its
# _conda_activate_cmd() ends in `sys.exit(1)` ("Could not activate environment") on the
# path without conda. 2022.9.10 is the last release that runs against a plain venv.
JUPYTER_FORWARD_VERSION = "2022.9.10"


class BenchError(RuntimeError):
    """A case could not be measured; the row says why instead of a figure."""


# -- rows and cases ----------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: samples in seconds, or why there are none."""

    label: str
    runs: int
    samples: list[float] = field(default_factory=list)
    note: str = ""
    missing: str | None = None  # "could not run: ...", "never: ...", "> 120 s (cap)"
    unit: str = "s"

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    def cells(self) -> tuple[str, str, str]:
        if not self.samples:
            return "—", self.missing or "no samples", "0"
        lo, hi = min(self.samples), max(self.samples)
        return (
            fmt(self.median, self.unit),
            f"{fmt(lo, self.unit)} – {fmt(hi, self.unit)}",
            str(len(self.samples)),
        )


class Case:
    """Something timed several times. `reset` (untimed) puts the world in the state the
    case starts from; `measure` returns seconds. Cases of a group are interleaved."""

    label = ""
    note = ""
    warmup = True  # one untimed run first (False where a run is long: a cut, a window)

    def __init__(self, runs: int) -> None:
        self.row = Row(self.label, runs, note=self.note)
        self.extra_rows: list[Row] = []  # further figures one measure() takes

    def rows(self) -> list[Row]:
        return [self.row, *self.extra_rows]

    def setup(self) -> None:
        """Once, before the warm-up run."""

    def reset(self) -> None:
        """Before every run, untimed."""

    def measure(self) -> float:
        raise NotImplementedError

    def after(self) -> None:
        """After every run, untimed (stop what must not idle through the other cases)."""

    def teardown(self) -> None:
        """Once, at the end of the group (also after a failure)."""


def fmt(seconds: float | None, unit: str = "s") -> str:
    if seconds is None:
        return "—"
    if unit != "s":
        return f"{seconds:.3g} {unit}"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def timed(
    argv: Sequence[str], *, env: dict[str, str], timeout: float = 120, capture: str = "pipe"
) -> float:
    """Run argv to completion; its wall time in seconds. A failure is a BenchError."""
    result = run(argv, env=env, timeout=timeout, capture="file" if capture == "file" else "pipe")
    if not result.ok:
        raise BenchError(f"failed: {result}")
    return result.duration


def poll_status(port: int, token: str | None, *, timeout: float, interval: float = 0.05) -> None:
    """Poll GET /api/status on 127.0.0.1:port until HTTP 200 (with the token)."""
    deadline = time.monotonic() + timeout
    while True:
        if http_status(port, token) == 200:
            return
        if time.monotonic() > deadline:
            raise BenchError(f"nothing answered 200 on 127.0.0.1:{port} within {timeout:g} s")
        time.sleep(interval)


def http_status(port: int, token: str | None, *, timeout: float = 5) -> int | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Authorization": f"token {token}"} if token else {}
        conn.request("GET", "/api/status", headers=headers)
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


# -- the lab -----------------------------------------------------------------------------


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
                laptop.jssh("down", NAME, timeout=60)
            laptop.close()
        self.ws.close()
        self.keys.remove()
        shutil.rmtree(self.tmp, ignore_errors=True)


def jssh(laptop: Laptop, *args: str) -> list[str]:
    return laptop.jssh_argv(*args)


# -- cold start: nothing running ----------------------------------------------------------


class ColdJssh(Case):
    label = "cold `jssh up` (no master, no server)"
    note = "until jssh exits with the URL; it has checked HTTP 200 itself"

    def __init__(self, runs: int, lab: Lab) -> None:
        super().__init__(runs)
        self.lab = lab
        self.laptop = lab.laptop()

    def setup(self) -> None:
        port = free_port()
        timed(
            jssh(self.laptop, "add", "workstation", "--name", NAME, "--local-port", str(port)),
            env=self.laptop.env,
        )

    def reset(self) -> None:
        timed(jssh(self.laptop, "down", NAME), env=self.laptop.env)
        self.lab.kill_remote()

    def measure(self) -> float:
        result = run(jssh(self.laptop, "up", NAME, "--no-open"), env=self.laptop.env, timeout=180)
        if not result.ok:
            raise BenchError(f"jssh up failed: {result}")
        if "started Jupyter" not in result.stderr:
            raise BenchError(f"jssh up was not cold (it reused a server): {result}")
        return result.duration

    def teardown(self) -> None:
        run(jssh(self.laptop, "down", NAME), env=self.laptop.env, timeout=60)


class HandRecipe(Case):
    label = "hand recipe: `ssh -fN -L` master + `nohup jupyter lab &` + poll"
    note = "ssh -fN (ControlMaster=yes), ssh through it to start Jupyter, poll 200 every 50 ms"

    def __init__(self, runs: int, lab: Lab) -> None:
        super().__init__(runs)
        self.lab = lab
        self.laptop = lab.laptop()
        self.control = self.laptop.root / "hand-cm"
        self.local_port = free_port()
        self.remote_port = free_port()
        self.token = "bench-hand-token-0123456789"

    def _ssh(self, *args: str) -> list[str]:
        return self.laptop.ssh_argv("-o", f"ControlPath={self.control}", *args)

    def reset(self) -> None:
        run(self._ssh("-O", "exit", "workstation"), env=self.laptop.env, capture="file")
        self.lab.kill_remote()

    def measure(self) -> float:
        jupyter = shlex.join(
            [
                "jupyter",
                "lab",
                "--no-browser",
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.remote_port),
                "--port-retries",
                "0",
                f"--IdentityProvider.token={self.token}",
            ]
        )
        start = time.monotonic()
        master = run(
            self._ssh(
                "-fN",
                "-o",
                "ControlMaster=yes",
                "-o",
                "ExitOnForwardFailure=yes",
                "-L",
                f"127.0.0.1:{self.local_port}:127.0.0.1:{self.remote_port}",
                "workstation",
            ),
            env=self.laptop.env,
            capture="file",
            timeout=60,
        )
        if not master.ok:
            raise BenchError(f"the hand master failed: {master}")
        started = run(
            self._ssh("workstation", f"nohup {jupyter} >hand-jupyter.log 2>&1 </dev/null &"),
            env=self.laptop.env,
            capture="file",
            timeout=60,
        )
        if not started.ok:
            raise BenchError(f"starting Jupyter by hand failed: {started}")
        poll_status(self.local_port, self.token, timeout=120)
        return time.monotonic() - start

    def teardown(self) -> None:
        self.reset()


class JupyterForward(Case):
    label = "peer: `jupyter-forward` (PyPI; paramiko/fabric), until it prints the URL"
    note = (
        "until the URL it prints answers 200 through its forward (it prints it after a"
        " fixed 3 s sleep)"
    )

    def __init__(self, runs: int, lab: Lab) -> None:
        super().__init__(runs)
        self.forward_row = Row(
            "peer: `jupyter-forward`, until its forward first answers",
            runs,
            note="any HTTP answer through its forward, before its 3 s sleep ends",
        )
        self.extra_rows = [self.forward_row]
        self.lab = lab
        self.laptop = lab.laptop()
        self.local_port = free_port()
        self.proc: subprocess.Popen[str] | None = None
        self.binary = lab.tmp / "jupyter-forward-venv" / "bin" / "jupyter-forward"

    def setup(self) -> None:
        venv = self.binary.parents[1]
        say(f"  installing jupyter-forward from PyPI into {venv} ...")
        done = run([sys.executable, "-m", "venv", str(venv)], timeout=120)
        if done.ok:
            done = run(
                [
                    str(venv / "bin" / "pip"),
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    f"jupyter-forward=={JUPYTER_FORWARD_VERSION}",
                ],
                timeout=600,
            )
        if not done.ok:
            raise BenchError(f"could not install jupyter-forward: {last_lines(done.stderr)}")
        version = run([str(venv / "bin" / "pip"), "show", "jupyter-forward"], timeout=60).stdout
        match = re.search(r"^Version: (\S+)", version, re.M)
        self.row.note += f"; jupyter-forward {match.group(1) if match else '?'}"

    def _env(self) -> dict[str, str]:
        # It reads ~/.ssh/config and known_hosts from $HOME (paramiko), the laptop's here.
        # BROWSER=true: it opens a browser at the end; with none configured Python's
        # webbrowser may start a console browser on our terminal.
        return {**self.laptop.env, "BROWSER": "true", "PYTHONUNBUFFERED": "1", "TERM": "dumb"}

    def reset(self) -> None:
        self._stop()
        self.lab.kill_remote()

    def measure(self) -> float:
        lines: list[str] = []
        token: list[str] = []
        start = time.monotonic()
        self.proc = subprocess.Popen(
            [str(self.binary), "workstation", "--port", str(self.local_port)],
            env=self._env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # our own group: stopped by its pid afterwards
        )
        reader = threading.Thread(target=self._read, args=(self.proc, lines, token), daemon=True)
        reader.start()
        deadline = start + 180
        forward_at: float | None = None
        while True:
            if forward_at is None and http_status(self.local_port, None) is not None:
                forward_at = time.monotonic() - start  # its forward answers (403: no token)
            if token and http_status(self.local_port, token[0]) == 200:
                if forward_at is not None:
                    self.forward_row.samples.append(forward_at)
                return time.monotonic() - start
            if self.proc.poll() is not None:
                reader.join(timeout=2)
                raise BenchError(
                    f"jupyter-forward exited ({self.proc.returncode}):\n" + "\n".join(lines[-15:])
                )
            if time.monotonic() > deadline:
                raise BenchError("jupyter-forward: no answer in 180 s:\n" + "\n".join(lines[-15:]))
            time.sleep(0.05)

    @staticmethod
    def _read(proc: subprocess.Popen[str], lines: list[str], token: list[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip())
            found = re.search(r"Jupyter Lab URL: \S*[?&]token=([0-9a-f]+)", line)
            if found:
                token.append(found.group(1))

    def after(self) -> None:
        self.reset()

    def _stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def teardown(self) -> None:
        self.reset()


# -- warm: everything running -------------------------------------------------------------


class WarmJssh(Case):
    label = "warm `jssh up` (master and server running)"
    note = "the whole call, Python start-up included"

    def __init__(self, runs: int, laptop: Laptop) -> None:
        super().__init__(runs)
        self.laptop = laptop

    def setup(self) -> None:
        result = run(jssh(self.laptop, "up", NAME, "--no-open"), env=self.laptop.env, timeout=180)
        if not result.ok:
            raise BenchError(f"jssh up failed: {result}")

    def measure(self) -> float:
        result = run(jssh(self.laptop, "up", NAME, "--no-open"), env=self.laptop.env, timeout=60)
        if not result.ok or "reusing" not in result.stderr:
            raise BenchError(f"warm jssh up did not reuse the server: {result}")
        return result.duration


class MuxTrue(Case):
    label = f"`ssh {NAME}-jupyter true` (multiplexed)"
    note = "one round trip through the running master"

    def __init__(self, runs: int, laptop: Laptop) -> None:
        super().__init__(runs)
        self.laptop = laptop

    def measure(self) -> float:
        return timed(
            self.laptop.ssh_argv(f"{NAME}-jupyter", "true"), env=self.laptop.env, capture="file"
        )


class JsshCommand(Case):
    """`jssh ARGS` with an optional extra environment (for the completion call)."""

    def __init__(
        self,
        runs: int,
        laptop: Laptop,
        label: str,
        args: Sequence[str],
        env: dict[str, str] | None = None,
        note: str = "",
        check: Callable[[Result], bool] | None = None,
    ) -> None:
        self.label = label
        self.note = note
        super().__init__(runs)
        self.laptop = laptop
        self.args = list(args)
        self.env = {**laptop.env, **(env or {})}
        self.check = check

    def measure(self) -> float:
        result = run(jssh(self.laptop, *self.args), env=self.env, timeout=60)
        if not result.ok or (self.check and not self.check(result)):
            raise BenchError(f"unexpected result: {result}")
        return result.duration


class AddToBigConfig(Case):
    label = "`jssh add` with a user config of 1,000 hosts"
    note = "a fresh add each run, removed again untimed"

    def __init__(self, runs: int, lab: Lab, hosts: int = 1000) -> None:
        super().__init__(runs)
        self.laptop = lab.laptop()
        self.hosts = hosts

    def setup(self) -> None:
        blocks = [
            f"\nHost node{i:04d} node{i:04d}.cluster.example.org\n"
            f"    HostName 10.{i // 250}.{i % 250}.{(i * 7) % 250 + 1}\n"
            f"    User user{i % 17}\n"
            f"    Port {2200 + i % 50}\n"
            for i in range(self.hosts)
        ]
        text = self.laptop.ssh_config.read_text()
        # Before the `Host *` block, as a user's config usually grows.
        head, star, tail = text.partition("\n# Defaults for everything else.")
        self.laptop.ssh_config.write_text(head + "".join(blocks) + star + tail)
        count = self.laptop.ssh_config.read_text().count("\nHost ")
        self.row.note += f"; the user config has {count} Host blocks"

    def reset(self) -> None:
        run(jssh(self.laptop, "remove", NAME), env=self.laptop.env, timeout=60)

    def measure(self) -> float:
        result = run(jssh(self.laptop, "add", "workstation", "--name", NAME), env=self.laptop.env)
        if not result.ok or "added" not in result.stdout:
            raise BenchError(f"jssh add failed: {result}")
        return result.duration


# -- the watchdog (issue 7): kill -9, a link cut, idle cost --------------------------------


class NoFigure(BenchError):
    """The case ran and the finding is that there is no figure (a peer that never comes
    back): the row shows this message as it is, not as a failure of the bench."""


def poll_until(check: Callable[[], bool], *, timeout: float, what: str, interval: float) -> float:
    """Poll CHECK until true; the monotonic time it first was. BenchError after TIMEOUT."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return time.monotonic()
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: not within {timeout:g} s")
        time.sleep(interval)


def serves(port: int, token: str) -> bool:
    # A short HTTP timeout: a forward whose link is dead must not hold up the poll.
    return http_status(port, token, timeout=1) == 200


def dead(pid: int) -> bool:
    """PID is gone or a zombie: either way its sockets are closed."""
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def jssh_ok(laptop: Laptop, *args: str, timeout: float = 120) -> Result:
    result = run(jssh(laptop, *args), env=laptop.env, timeout=timeout)
    if not result.ok:
        raise BenchError(f"jssh {' '.join(args)} failed: {result}")
    return result


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
        return cls(laptop, name, port, parse_qs(urlparse(url).query)["token"][0])

    def remote_target(self) -> str:
        """Where the managed block's LocalForward points (a remote unix socket)."""
        config = run(self.laptop.ssh_argv("-G", f"{self.name}-jupyter"), env=self.laptop.env)
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
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Autossh:
    """The peer: `autossh -M 0 -f -N ... -L 127.0.0.1:PORT:TARGET workstation` on LAPTOP."""

    def __init__(self, laptop: Laptop, target: str) -> None:
        self.laptop = laptop
        self.target = target
        self.port = free_port()
        self.pid: int | None = None
        self.logfile = laptop.root / "autossh.log"
        self.pidfile = laptop.root / "autossh.pid"

    def start(self) -> None:
        self.pidfile.unlink(missing_ok=True)
        env = {
            **self.laptop.env,  # the lab id: the laptop's teardown ends autossh and its ssh
            "AUTOSSH_LOGFILE": str(self.logfile),
            "AUTOSSH_PIDFILE": str(self.pidfile),
        }
        argv = [
            "autossh",
            "-M",
            "0",
            "-f",
            "-N",
            "-F",
            str(self.laptop.ssh_config),
            "-o",
            "ServerAliveInterval=5",
            "-o",
            "ServerAliveCountMax=3",
            "-o",
            "ExitOnForwardFailure=yes",
            "-L",
            f"127.0.0.1:{self.port}:{self.target}",
            "workstation",
        ]
        started = run(argv, env=env, timeout=30, capture="file")
        if not started.ok:
            raise BenchError(f"autossh failed: {started}")
        poll_until(self.pidfile.exists, timeout=10, what="autossh's pid file", interval=0.02)
        self.pid = int(self.pidfile.read_text().split()[0])

    def alive(self) -> bool:
        return self.pid is not None and not dead(self.pid)

    def ssh_child(self) -> int:
        import psutil

        assert self.pid is not None
        children = [p for p in psutil.Process(self.pid).children() if p.name() == "ssh"]
        if not children:
            raise BenchError("autossh has no ssh child")
        return children[0].pid

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return last_lines(self.logfile.read_text(errors="replace"), 2)
        return ""

    def stop(self) -> None:
        if self.pid is not None and not dead(self.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)  # autossh ends its ssh on SIGTERM
            with contextlib.suppress(BenchError):
                poll_until(lambda: dead(self.pid or 0), timeout=10, what="", interval=0.05)
        self.pid = None


def autossh_missing() -> str | None:
    if shutil.which("autossh") is None:
        return (
            "autossh is not installed (Debian package autossh: scripts/system-packages --autossh)"
        )
    return None


class WatchedHost:
    """One jssh host under `jssh watch` on the lab's workstation, and the autossh peer
    forwarding to the same Jupyter server; shared by the two kill -9 cases."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.host: Served | None = None
        self.watch: Watch | None = None
        self.autossh: Autossh | None = None

    def start(self) -> Served:
        if self.host is None:
            self.host = Served.up(self.lab.laptop(), "wdkill")
            self.watch = Watch(self.host.laptop)
        return self.host

    def close(self) -> None:
        if self.autossh is not None:
            self.autossh.stop()
        if self.watch is not None:
            self.watch.stop()
            self.watch = None
        if self.host is not None:
            run(jssh(self.host.laptop, "down", self.host.name), env=self.host.laptop.env)
            self.host = None


class KillMaster(Case):
    label = "respawn after `kill -9` of the master, until the forward serves (goal ≤ 1 s)"
    note = "`jssh watch` running; from the SIGKILL until HTTP 200 with the token on the local port"

    def __init__(self, runs: int, shared: WatchedHost) -> None:
        super().__init__(runs)
        self.shared = shared
        self.master = 0
        self.server: object = None
        self.same_server = True

    def setup(self) -> None:
        host = self.shared.start()
        self.server = host.server_pid()

    def reset(self) -> None:
        host = self.shared.start()
        poll_until(
            lambda: serves(host.port, host.token), timeout=30, what="jssh forward", interval=0.05
        )
        self.master = host.master_pid()

    def measure(self) -> float:
        host = self.shared.start()
        start = time.monotonic()
        os.kill(self.master, signal.SIGKILL)
        poll_until(lambda: dead(self.master), timeout=10, what="the master to die", interval=0.001)
        done = poll_until(
            lambda: serves(host.port, host.token),
            timeout=30,
            what="the forward after kill -9",
            interval=0.005,
        )
        return done - start

    def after(self) -> None:
        self.same_server = self.same_server and self.shared.start().server_pid() == self.server

    def teardown(self) -> None:
        if self.row.samples:
            self.row.note += (
                "; the same remote Jupyter server every run"
                if self.same_server
                else "; the remote server CHANGED"
            )
        self.shared.close()


class KillAutossh(Case):
    label = "peer: autossh, after `kill -9` of its ssh, until the forward serves"
    note = (
        "`autossh -M 0 -f -N -o ServerAliveInterval=5 -o ServerAliveCountMax=3"
        " -o ExitOnForwardFailure=yes -L …` to the same Jupyter server; SIGKILL its ssh child"
    )
    cap = 30.0

    def __init__(self, runs: int, shared: WatchedHost) -> None:
        super().__init__(runs)
        self.shared = shared
        self.child = 0

    def setup(self) -> None:
        missing = autossh_missing()
        if missing:
            raise NoFigure(f"cannot run here: {missing}")
        host = self.shared.start()
        self.shared.autossh = Autossh(host.laptop, host.remote_target())

    def reset(self) -> None:
        host, peer = self.shared.start(), self.shared.autossh
        assert peer is not None
        if not peer.alive():  # it may have given up after the last kill: start it again
            peer.start()
        poll_until(
            lambda: serves(peer.port, host.token), timeout=30, what="autossh forward", interval=0.05
        )
        self.child = peer.ssh_child()

    def measure(self) -> float:
        host, peer = self.shared.start(), self.shared.autossh
        assert peer is not None
        start = time.monotonic()
        os.kill(self.child, signal.SIGKILL)
        poll_until(
            lambda: dead(self.child), timeout=10, what="autossh's ssh to die", interval=0.001
        )
        while time.monotonic() - start < self.cap:
            if serves(peer.port, host.token):
                return time.monotonic() - start
            if not peer.alive():
                raise NoFigure(
                    "never: autossh exits when its ssh dies of SIGKILL (its log: "
                    f"{peer.log_tail() or '?'})"
                )
            time.sleep(0.005)
        raise NoFigure(f"> {self.cap:.0f} s (cap)")


class CutRestore(Case):
    label = "back after a 25 s link cut, from the restore until the forward serves"
    note = "netns workstation (root); `jssh watch` running; the link cut on the namespace side"
    warmup = False  # each run is a 25 s cut; the setup's cold `jssh up` warmed things up

    def __init__(
        self, runs: int, lab: Lab, *, seconds: float, peer_runs: int, peer_cap: float
    ) -> None:
        self.label = self.label.replace("25 s", f"{seconds:g} s")
        super().__init__(runs)
        self.row.note += f"; {runs} runs (each is a {seconds:g} s cut)"
        self.lab = lab
        self.seconds = seconds
        self.peer_runs = peer_runs
        self.peer_cap = peer_cap
        self.handshake_row = Row(
            "one plain ssh handshake to the same host (`ssh -o ControlMaster=no … true`)",
            runs * 3,
            note="three after each restore, no multiplexing: what a respawn must pay",
        )
        self.peer_row = Row(
            f"peer: autossh back after a {seconds:g} s link cut, from the restore",
            peer_runs,
            note=f"the same cuts (it runs alongside); capped at {peer_cap:.0f} s",
        )
        self.reach_row = Row(
            "the same cuts: until a TCP connect to its sshd gets through again",
            runs,
            note="from the restore, polled every 5 ms: the link itself (stale ARP) coming back",
        )
        self.extra_rows = [self.reach_row, self.handshake_row, self.peer_row]
        self.kernel = ""
        self.kernel_alive = True
        self.ws: Any = None
        self.laptop: Laptop | None = None
        self.host: Served | None = None
        self.watch: Watch | None = None
        self.peer: Autossh | None = None
        self.runs_done = 0
        self.over_cap = 0
        self.peer_restarts: list[int] = []  # autossh's ssh restarts in each measured cut

    def setup(self) -> None:
        from lab import IS_ROOT, NetnsWorkstation

        if not IS_ROOT:
            why = "cannot run here: a link cut needs root (a network namespace)"
            self.peer_row.missing = why
            raise NoFigure(why)
        self.ws = NetnsWorkstation(account=self.lab.ws.user, venv=self.lab.venv, keys=self.lab.keys)
        self.ws.start()
        self.laptop = Laptop(workstation=self.ws, keys=self.lab.keys)
        self.host = Served.up(self.laptop, "wdcut")
        self.kernel = self._start_kernel()
        self.watch = Watch(self.laptop)
        missing = autossh_missing()
        if missing:
            self.peer_row.missing = f"cannot run here: {missing}"
        elif self.peer_runs > 0:
            self.peer = Autossh(self.laptop, self.host.remote_target())
        else:
            self.peer_row.missing = "skipped (--autossh-cut-runs 0)"

    def _start_kernel(self) -> str:
        """A kernel started before the cuts: the row says whether it outlives them."""
        assert self.host is not None
        conn = http.client.HTTPConnection("127.0.0.1", self.host.port, timeout=30)
        try:
            headers = {"Authorization": f"token {self.host.token}"}
            conn.request("POST", "/api/kernels", body="{}", headers=headers)
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        if response.status != 201:
            raise BenchError(f"could not start a kernel: HTTP {response.status}")
        return str(json.loads(body)["id"])

    def _kernel_alive(self) -> bool:
        assert self.host is not None
        conn = http.client.HTTPConnection("127.0.0.1", self.host.port, timeout=10)
        try:
            conn.request(
                "GET",
                f"/api/kernels/{self.kernel}",
                headers={"Authorization": f"token {self.host.token}"},
            )
            return conn.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    def _peer_restarts(self) -> int:
        if self.peer is None:
            return 0
        with contextlib.suppress(OSError):
            return self.peer.logfile.read_text(errors="replace").count("restarting ssh")
        return 0

    def _tracks_peer(self) -> bool:
        return self.peer is not None and self.runs_done < self.peer_runs

    def reset(self) -> None:
        host = self.host
        assert host is not None
        poll_until(
            lambda: serves(host.port, host.token), timeout=60, what="jssh forward", interval=0.05
        )
        if self._tracks_peer():
            assert self.peer is not None
            # A fresh autossh each run: one still in its connect backoff from the last
            # cut (over the cap) would not start this run from the same state.
            self.peer.stop()
            self.peer.start()
            peer = self.peer
            poll_until(
                lambda: serves(peer.port, host.token), timeout=30, what="autossh", interval=0.05
            )

    def measure(self) -> float:
        host = self.host
        assert host is not None
        assert self.ws is not None
        track = self._tracks_peer()
        restarts_before = self._peer_restarts()
        self.ws.cut()
        time.sleep(self.seconds)  # the cut itself: what is measured is what follows it
        self.ws.restore(wait_reachable=False)
        start = time.monotonic()
        found: dict[str, float] = {}

        def first_200(key: str, port: int, cap: float) -> None:
            with contextlib.suppress(BenchError):
                found[key] = (
                    poll_until(
                        lambda: serves(port, host.token), timeout=cap, what="", interval=0.005
                    )
                    - start
                )

        def reachable() -> None:
            with contextlib.suppress(BenchError):
                found["tcp"] = (
                    poll_until(self.ws._reachable, timeout=60, what="", interval=0.005) - start
                )

        threads = [
            threading.Thread(target=first_200, args=("jssh", host.port, 90.0)),
            threading.Thread(target=reachable),
        ]
        if track:
            assert self.peer is not None
            threads.append(
                threading.Thread(target=first_200, args=("peer", self.peer.port, self.peer_cap))
            )
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.runs_done += 1
        if track:
            self.peer_restarts.append(self._peer_restarts() - restarts_before)
            if "peer" in found:
                self.peer_row.samples.append(found["peer"])
            else:
                self.over_cap += 1
        if "tcp" in found:
            self.reach_row.samples.append(found["tcp"])
        if "jssh" not in found:
            raise BenchError("the jssh forward did not serve within 90 s of the restore")
        self.kernel_alive = self.kernel_alive and self._kernel_alive()
        return found["jssh"]

    def after(self) -> None:
        assert self.laptop is not None
        if self.peer is not None and not self._tracks_peer():
            self.peer.stop()  # not measured any more: keep it out of the following cuts
        for _ in range(3):
            self.handshake_row.samples.append(
                timed(
                    self.laptop.ssh_argv(
                        "-o", "ControlMaster=no", "-o", "ControlPath=none", "workstation", "true"
                    ),
                    env=self.laptop.env,
                    capture="file",
                )
            )

    def teardown(self) -> None:
        if self.row.samples:
            self.row.note += (
                "; the kernel started before the first cut was alive after every one"
                if self.kernel_alive
                else "; the kernel started before the cuts was LOST"
            )
        if self.peer_restarts:
            self.peer_row.note += (
                "; its log shows its ssh restarted "
                + ", ".join(map(str, self.peer_restarts))
                + " time(s) in each cut (a connect to the cut link fails fast: No route to host)"
            )
        if self.over_cap:
            if self.peer_row.samples:
                self.peer_row.note += f"; {self.over_cap} run(s) > {self.peer_cap:.0f} s cap"
            else:
                self.peer_row.missing = f"> {self.peer_cap:.0f} s (cap), {self.over_cap} run(s)"
        if self.peer is not None:
            self.peer.stop()
        if self.watch is not None:
            self.watch.stop()
        if self.laptop is not None:
            if self.host is not None:
                run(jssh(self.laptop, "down", self.host.name), env=self.laptop.env, timeout=60)
            self.laptop.close()
        if self.ws is not None:
            self.ws.close()
            self.ws = None


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread of PID (/proc/PID/task/*/schedstat, in ns): psutil's
    cpu_times() counts 10 ms clock ticks, too coarse for an idle watchdog."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


class IdleCost(Case):
    """`jssh watch` following HOSTS healthy hosts; each run is one window of WINDOW s."""

    warmup = False

    def __init__(self, runs: int, lab: Lab, hosts: int, window: float) -> None:
        self.label = f"watchdog idle, {hosts} healthy host(s): CPU per minute"
        self.note = (
            f"after start-up; {window:g} s windows; CPU of all its threads"
            " (/proc/PID/task/*/schedstat)"
        )
        super().__init__(runs)
        self.row.unit = "s/min"
        self.lab = lab
        self.hosts = hosts
        self.window = window
        self.startup_row = Row(
            f"watchdog start-up, {hosts} host(s): CPU until every host is followed",
            1,
            note="from exec to the last `following it`, + 2 s to settle; Python start-up included",
        )
        self.rss_row = Row(
            f"watchdog RSS, {hosts} host(s)", runs, unit="MiB", note="peak in each window"
        )
        self.extra_rows = [self.startup_row, self.rss_row]
        self.laptop: Laptop | None = None
        self.watch: Watch | None = None

    def setup(self) -> None:
        import psutil

        laptop = self.laptop = self.lab.laptop()
        # Each host is its own managed name, so its own ControlPath (<cm dir>/NAME) and
        # master, all to the lab's sshd. Masters up by plain `ssh -fN` and the wanted
        # marker set: all the watchdog looks at; no Jupyter is needed for its idle cost.
        for k in range(self.hosts):
            name = f"idle{k}"
            jssh_ok(laptop, "add", "workstation", "--name", name, "--local-port", str(free_port()))
            master = laptop.ssh("-fN", f"{name}-jupyter", timeout=30)
            if not master.ok:
                raise BenchError(f"master for {name}: {master}")
            wanted = laptop.state_dir / "hosts" / name / "wanted"
            wanted.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            wanted.write_text("")
        watch = self.watch = Watch(laptop)
        poll_until(
            lambda: watch.text().count("following it") >= self.hosts,
            timeout=120,
            what="the watchdog following every host",
            interval=0.1,
        )
        time.sleep(2)  # let the start-up settle (threads, first checks)
        self.startup_row.samples.append(cpu_seconds(watch.proc.pid))
        self.proc = psutil.Process(watch.proc.pid)

    def measure(self) -> float:
        assert self.watch is not None
        pid = self.watch.proc.pid
        before = cpu_seconds(pid)
        start = time.monotonic()
        peak = 0
        while time.monotonic() - start < self.window:  # RSS sampled once a second
            peak = max(peak, self.proc.memory_info().rss)
            time.sleep(1)
        used = cpu_seconds(pid) - before
        elapsed = time.monotonic() - start
        self.rss_row.samples.append(peak / 2**20)
        return used / elapsed * 60

    def teardown(self) -> None:
        if self.watch is not None:
            respawns = self.watch.text().count("respawn")
            if respawns:
                self.row.note += f"; {respawns} `respawn` lines in its log while idle"
            self.watch.stop()
        if self.laptop is not None:
            self.laptop.close()  # its masters too (lab id)


# -- groups ------------------------------------------------------------------------------


@dataclass
class Group:
    title: str
    cases: list[Case]
    pending: list[Row] = field(default_factory=list)


def cold_group(lab: Lab, runs: int, peer_runs: int, peers: bool) -> Group:
    cases: list[Case] = [ColdJssh(runs, lab), HandRecipe(runs, lab)]
    pending: list[Row] = []
    if peers:
        cases.append(JupyterForward(peer_runs, lab))
    else:
        pending.append(Row(JupyterForward.label, 0, missing="skipped (--no-peers)"))
    return Group("Cold start: nothing running on either side", cases, pending)


def warm_group(laptop: Laptop, runs: int) -> Group:
    return Group(
        "Warm: master and server running",
        [
            WarmJssh(runs, laptop),
            MuxTrue(runs, laptop),
            JsshCommand(
                runs,
                laptop,
                "`jssh --version` (start-up floor)",
                ["--version"],
                note="Python + typer (+ pydantic) and jssh's imports",
            ),
        ],
    )


def cli_group(lab: Lab, laptop: Laptop, runs: int) -> Group:
    completion = {
        "_JSSH_COMPLETE": "complete_bash",
        "COMP_WORDS": f"jssh up {NAME[:2]}",
        "COMP_CWORD": "2",
    }
    return Group(
        "Everyday commands",
        [
            JsshCommand(runs, laptop, "`jssh --help`", ["--help"]),
            JsshCommand(
                runs,
                laptop,
                "one Tab completion (`jssh up be<Tab>`)",
                [],
                env=completion,
                note="what bash runs at each Tab",
                check=lambda r: NAME in r.stdout,
            ),
            AddToBigConfig(max(3, runs // 2), lab),
        ],
    )


def watchdog_group(lab: Lab, options: argparse.Namespace) -> Group:
    """kill -9 (jssh and autossh on the lab's workstation) and the link cut (netns)."""
    shared = WatchedHost(lab)
    return Group(
        "Watchdog: kill -9 and a link cut",
        [
            KillMaster(options.runs, shared),
            KillAutossh(options.peer_runs, shared),
            CutRestore(
                options.cut_runs,
                lab,
                seconds=options.cut_seconds,
                peer_runs=options.autossh_cut_runs,
                peer_cap=options.autossh_cap,
            ),
        ],
    )


def idle_group(lab: Lab, options: argparse.Namespace) -> Group:
    """Run on its own, after the cut: a netns link going down or up is a network event
    every watchdog on the machine wakes for, which would count as idle CPU."""
    counts = [int(n) for n in options.idle_hosts.split(",")]
    return Group(
        "Watchdog idle cost (healthy hosts)",
        [IdleCost(options.idle_windows, lab, n, options.idle_window) for n in counts],
    )


def run_group(group: Group, *, warmup: bool = True) -> None:
    """Set every case up, one untimed warm-up run each, then interleaved timed rounds."""
    say(f"\n== {group.title}")
    live: list[Case] = []
    try:
        for case in group.cases:
            try:
                case.setup()
                if warmup and case.warmup:
                    case.reset()
                    case.measure()
                    case.after()
                    for row in case.extra_rows:  # the warm-up's figures don't count
                        row.samples.clear()
                live.append(case)
            except (BenchError, OSError) as exc:
                case.row.missing = (
                    first_line(exc)
                    if isinstance(exc, NoFigure)
                    else f"could not run: {first_line(exc)}"
                )
                say(f"  {case.label}: {case.row.missing}")
                detail(exc)
                with contextlib.suppress(Exception):
                    case.teardown()
        rounds = max((c.row.runs for c in live), default=0)
        for i in range(rounds):
            # Rotate the order each round: no case always runs right after the same one.
            order = live[i % len(live) :] + live[: i % len(live)] if live else []
            for case in order:
                if len(case.row.samples) >= case.row.runs or case.row.missing:
                    continue
                try:
                    case.reset()
                    seconds = case.measure()
                except (BenchError, OSError) as exc:
                    case.row.missing = (
                        first_line(exc)
                        if isinstance(exc, NoFigure)
                        else f"failed in run {i + 1}: {first_line(exc)}"
                    )
                    say(f"  {case.label}: {case.row.missing}")
                    detail(exc)
                    continue
                case.row.samples.append(seconds)
                case.after()
                say(f"  [{i + 1}/{rounds}] {case.label}: {fmt(seconds, case.row.unit)}")
    finally:
        for case in group.cases:
            with contextlib.suppress(Exception):
                case.teardown()


# -- report ------------------------------------------------------------------------------


def machine() -> list[tuple[str, str]]:
    def cpu_model() -> str:
        with contextlib.suppress(OSError):
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        return platform.processor() or "?"

    ssh_v = run(["ssh", "-V"], timeout=10)
    venv_py = str(ensure_lab_venv() / "bin" / "python")
    versions = run(
        [
            venv_py,
            "-c",
            "import jupyter_server, jupyterlab; "
            "print(jupyter_server.__version__, jupyterlab.__version__)",
        ],
        timeout=60,
    ).stdout.split()
    typer_version = run(
        [sys.executable, "-c", "import importlib.metadata as m; print(m.version('typer'))"]
    ).stdout.strip()
    git = run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], timeout=10)
    from jssh import __version__

    return [
        ("date", time.strftime("%Y-%m-%d %H:%M %Z")),
        ("cpu", cpu_model()),
        ("cores", str(os.cpu_count())),
        ("kernel", f"{platform.system()} {platform.release()}"),
        ("ssh -V", (ssh_v.stderr or ssh_v.stdout).strip()),
        ("python (laptop, runs jssh)", f"{platform.python_version()} ({sys.executable})"),
        ("typer", typer_version or "?"),
        ("jupyter_server / jupyterlab (workstation)", " / ".join(versions) or "?"),
        ("jssh", f"{__version__} (git {git.stdout.strip() or '?'})"),
    ]


def ratio(a: Row, b: Row) -> float | None:
    if a.median is None or not b.median:
        return None
    return a.median / b.median


def goals(rows: dict[str, Row]) -> list[tuple[str, str, str, str]]:
    """(comparison, figure, goal, verdict) lines derived from the medians."""
    out: list[tuple[str, str, str, str]] = []

    def verdict(value: float | None, limit: float) -> str:
        if value is None:
            return "no figure"
        return "met" if value <= limit else "NOT met"

    cold = ratio(rows["cold"], rows["hand"])
    out.append(
        (
            "cold `jssh up` ÷ hand recipe",
            f"{cold:.2f}×" if cold else "—",
            "≤ 1.25×",
            verdict(cold, 1.25),
        )
    )
    if "jf" in rows:
        peer = ratio(rows["jf"], rows["hand"])
        out.append(
            (
                "jupyter-forward ÷ hand recipe",
                f"{peer:.2f}×" if peer else "—",
                "(peer; ~3.3× expected)",
                "—",
            )
        )
    warm, version, mux = rows["warm"].median, rows["version"].median, rows["mux"].median
    if warm is not None and version is not None and mux:
        controlled = warm - version
        out.append(
            ("warm `jssh up` − `jssh --version` (what jssh controls)", fmt(controlled), "—", "—")
        )
        out.append(
            (
                "that ÷ one multiplexed round trip",
                f"{controlled / mux:.1f}×",
                "≤ 5×",
                verdict(controlled / mux, 5),
            )
        )
        out.append(
            (
                "whole warm `jssh up` ÷ one multiplexed round trip",
                f"{warm / mux:.1f}×",
                "(reported)",
                "—",
            )
        )
    return out + watchdog_goals(rows)


def watchdog_goals(rows: dict[str, Row]) -> list[tuple[str, str, str, str]]:
    out: list[tuple[str, str, str, str]] = []
    kill = rows.get(KillMaster.label)
    if kill is not None and kill.median is not None:
        worst = max(kill.samples)
        out.append(
            ("respawn after kill -9 (median)", fmt(kill.median), "≤ 1 s", _met(kill.median <= 1))
        )
        out.append(("respawn after kill -9 (slowest run)", fmt(worst), "≤ 1 s", _met(worst <= 1)))
    cut = next((r for k, r in rows.items() if k.startswith("back after a ")), None)
    shake = next((r for k, r in rows.items() if k.startswith("one plain ssh handshake")), None)
    if cut is not None and shake is not None and cut.median is not None and shake.median:
        beyond = cut.median - shake.median
        out.append(
            (
                "back after the cut − one plain ssh handshake",
                f"{fmt(cut.median)} − {fmt(shake.median)} = {fmt(beyond)}",
                "≤ 1 s",
                _met(beyond <= 1),
            )
        )
    idle = {
        int(m.group(1)): r
        for k, r in rows.items()
        if (m := re.match(r"watchdog idle, (\d+) healthy", k)) and r.median is not None
    }
    rss = {
        int(m.group(1)): r
        for k, r in rows.items()
        if (m := re.match(r"watchdog RSS, (\d+) host", k)) and r.median is not None
    }
    if len(idle) > 1:
        few, many = min(idle), max(idle)
        growth = (idle[many].median or 0) / (idle[few].median or 1e-9)
        out.append(
            (
                f"idle CPU, {many} hosts ÷ {few} host(s)",
                f"{growth:.1f}×",
                f"≤ {many // few}× (no faster than the hosts)",
                _met(growth <= many / few),
            )
        )
    if len(rss) > 1:
        few, many = min(rss), max(rss)
        low, high = rss[few].median or 0, rss[many].median or 0
        out.append(
            (
                f"RSS, {many} hosts ÷ {few} host(s)",
                f"{high / low:.2f}× (+{(high - low) / (many - few) * 1024:.0f} KiB a host)",
                f"≤ {many // few}× (no faster than the hosts)",
                _met(high / low <= many / few),
            )
        )
    return out


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def markdown(
    info: list[tuple[str, str]],
    groups: list[Group],
    rows: dict[str, Row],
    options: argparse.Namespace,
    load: tuple[tuple[float, ...], tuple[float, ...]],
    elapsed: float,
) -> str:
    lines = [
        "# jssh benchmark results",
        "",
        "Written by `./scripts/bench` (bench/run.py). Every row was taken in the same run,",
        "against the test lab's real sshd on 127.0.0.1 (JupyterLab in a venv, a private tmux).",
        "Cases of a group run interleaved, round after round, after one untimed warm-up run",
        "each; a row gives the median and the range (min – max) of its runs.",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *(f"| {k} | {v} |" for k, v in info),
        f"| load average (1 min) at start / end | {load[0][0]:.2f} / {load[1][0]:.2f} |",
        f"| bench wall time | {elapsed:.0f} s |",
        "",
    ]
    for group in groups:
        lines += [
            f"## {group.title}",
            "",
            "| row | median | range (min – max) | runs | how |",
            "| --- | --- | --- | --- | --- |",
        ]
        for row in [r for c in group.cases for r in c.rows()] + group.pending:
            median, spread, n = row.cells()
            lines.append(f"| {row.label} | {median} | {spread} | {n} | {row.note} |")
        lines.append("")
    lines += ["## Goals", "", "| comparison | figure | goal | |", "| --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in goals(rows)]
    lines += [
        "",
        "## Notes",
        "",
        f"- Runs: {options.runs} per row for the fast rows, {options.cold_runs} for the cold"
        f" starts (each starts a JupyterLab), {options.peer_runs} for jupyter-forward (slowest),"
        f" {max(3, options.runs // 2)} for the 1,000-host `jssh add`.",
        "- jssh runs as `python -m jssh` with the interpreter above, as the lab runs it;"
        " the `jssh` console script costs the same.",
        "- The hand recipe is what a skilled user types: `ssh -fN -o ControlMaster=yes"
        " -o ControlPath=… -L 127.0.0.1:L:127.0.0.1:R workstation`, then `ssh -o"
        " ControlPath=… workstation 'nohup jupyter lab --no-browser --ip 127.0.0.1 --port R"
        " --IdentityProvider.token=… &'`, then a poll of /api/status every 50 ms (in-process,"
        " no curl) until HTTP 200 with the token. Its token sits on a command line and its"
        " server listens on TCP: jssh does neither, and it finds a running server again.",
        f"- jupyter-forward {JUPYTER_FORWARD_VERSION} (PyPI; installed into a venv of its own"
        " under the bench's temp dir): its newest release, 2025.1.16, exits with \"Could not"
        ' activate environment" whenever --conda-env is not given, so the bench uses the last'
        " release that runs against a plain venv. It logs in with paramiko (not the system"
        " ssh), reads the laptop's ~/.ssh/config through $HOME, runs each step through"
        " `bash -lc` on a pty, binds Jupyter to `hostname -f` (127.0.0.1 here), sleeps 3 s"
        " once its forward is up, prints the URL and keeps running (`tail -f` of the log).",
        f"- Watchdog: the kill -9 rows take {options.runs} runs for jssh and at most"
        f" {options.peer_runs} for autossh; the cut row {options.cut_runs} runs of a"
        f" {options.cut_seconds:g} s cut (slow), autossh measured on the first"
        f" {options.autossh_cut_runs} of the same cuts, alongside jssh, each run with a fresh"
        " autossh. autossh is Debian's package (`autossh -M 0 -f -N -o ServerAliveInterval=5"
        " -o ServerAliveCountMax=3 -o ExitOnForwardFailure=yes -L 127.0.0.1:P:SOCKET"
        ' workstation`), forwarding to the same Jupyter server as jssh. "Serves" is HTTP'
        " 200 from /api/status with the token through the local port, polled every 5 ms."
        f" Idle cost: {options.idle_windows} windows of {options.idle_window:g} s per host"
        " count, each host its own managed name, master and wanted marker, all to the lab's"
        " sshd.",
        "- The cut downs the namespace's end of the veth: a connect from the laptop during the"
        ' cut fails within ~3 s ("No route to host": ARP gets no answer) instead of'
        " waiting in the kernel's SYN backoff, so autossh's ssh, restarted every few seconds,"
        " is back about as soon as jssh. GUIDE §3's ~73 s for autossh was a cut where packets"
        " vanish silently (a connect sits in SYN backoff); this bench does not reproduce that"
        " kind of cut. From the restore, the link itself takes most of the time (see the TCP"
        " connect row); jssh adds about one handshake to it.",
        "",
    ]
    return "\n".join(lines)


def print_table(groups: list[Group], rows: dict[str, Row]) -> None:
    table: list[tuple[str, ...]] = [("row", "median", "range (min – max)", "runs")]
    for group in groups:
        table.append((f"[{group.title}]", "", "", ""))
        for row in [r for c in group.cases for r in c.rows()] + group.pending:
            median, spread, n = row.cells()
            table.append((f"  {row.label}", median, spread, n))
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    print()
    for r in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    print()
    for comparison, figure, goal, verdict in goals(rows):
        print(f"{comparison}: {figure}  goal {goal}  {verdict}")


# -- main --------------------------------------------------------------------------------


def say(line: str) -> None:
    print(line, flush=True)


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def last_lines(text: str, n: int = 3) -> str:
    return " / ".join(text.strip().splitlines()[-n:])


_VERBOSE = False


def detail(exc: BaseException) -> None:
    if _VERBOSE:
        print(str(exc), file=sys.stderr)


@contextlib.contextmanager
def bench_lock(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for {path} (a test run holds it) ...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each fast row (10)")
    parser.add_argument("--cold-runs", type=int, default=5, help="runs of each cold start (5)")
    parser.add_argument("--peer-runs", type=int, default=3, help="runs of jupyter-forward (3)")
    parser.add_argument("--no-peers", action="store_true", help="skip installing jupyter-forward")
    parser.add_argument("--no-watchdog", action="store_true", help="skip the watchdog rows")
    parser.add_argument("--cut-runs", type=int, default=3, help="link cuts for jssh (3)")
    parser.add_argument("--cut-seconds", type=float, default=25, help="length of a cut (25)")
    parser.add_argument(
        "--autossh-cut-runs", type=int, default=2, help="of those cuts, with autossh (2)"
    )
    parser.add_argument(
        "--autossh-cap", type=float, default=120, help="give up on autossh after (120 s)"
    )
    parser.add_argument("--idle-hosts", default="1,10,50", help="idle host counts (1,10,50)")
    parser.add_argument("--idle-window", type=float, default=20, help="idle window, s (20)")
    parser.add_argument("--idle-windows", type=int, default=3, help="idle windows per count (3)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="markdown results file")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--lock",
        type=Path,
        default=DEFAULT_LOCK,
        help=f"flock held while measuring ({DEFAULT_LOCK})",
    )
    parser.add_argument("--no-lock", action="store_true", help="don't take the lock")
    parser.add_argument("-v", "--verbose", action="store_true", help="print failures in full")
    options = parser.parse_args(argv)
    global _VERBOSE
    _VERBOSE = options.verbose

    with bench_lock(None if options.no_lock else options.lock):
        load_start = os.getloadavg()
        started = time.monotonic()
        say("starting the lab workstation (real sshd on 127.0.0.1) ...")
        lab = Lab()
        groups: list[Group] = []
        try:
            cold = cold_group(lab, options.cold_runs, options.peer_runs, not options.no_peers)
            groups.append(cold)
            run_group(cold)
            jssh_laptop = cold.cases[0].laptop  # type: ignore[attr-defined]
            warm = warm_group(jssh_laptop, options.runs)
            groups.append(warm)
            run_group(warm)
            cli = cli_group(lab, jssh_laptop, options.runs)
            groups.append(cli)
            run_group(cli)
            if not options.no_watchdog:
                watchdog = watchdog_group(lab, options)
                groups.append(watchdog)
                run_group(watchdog)
                idle = idle_group(lab, options)
                groups.append(idle)
                run_group(idle, warmup=False)
            info = machine()
        finally:
            say("\nstopping the lab ...")
            lab.close()
        load_end = os.getloadavg()
        elapsed = time.monotonic() - started

    rows = {
        **{row.label: row for g in groups for c in g.cases for row in c.rows()},
        "cold": cold.cases[0].row,
        "hand": cold.cases[1].row,
        "warm": warm.cases[0].row,
        "mux": warm.cases[1].row,
        "version": warm.cases[2].row,
    }
    if len(cold.cases) > 2:
        rows["jf"] = cold.cases[2].row
    print_table(groups, rows)
    for group in groups:
        for row in [r for c in group.cases for r in c.rows()] + group.pending:
            if row.missing:
                print(f"{row.label}: {row.missing}")
    if not options.no_write:
        text = markdown(info, groups, rows, options, (load_start, load_end), elapsed)
        options.output.write_text(text)
        print(f"\nwrote {options.output}")
    failed = [c.row for g in groups for c in g.cases if c.row.missing]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
