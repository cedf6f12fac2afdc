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

Rows that need the watchdog (`jssh watch`) are listed as pending until it exists: add
them as `Case` subclasses in a group (see `watchdog_group`).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import http.client
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
PENDING_WATCH = "pending: needs jssh watch"
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
    missing: str | None = None  # "pending: ..." or "could not run: ..."
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


def http_status(port: int, token: str | None) -> int | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
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


def watchdog_group() -> Group:
    """The rows of issue 7 that need `jssh watch`; each becomes a Case once it exists."""
    rows = [
        Row("respawn after `kill -9` of the master, until the forward serves (goal ≤ 1 s)", 0),
        Row("peer: autossh respawn after `kill -9` of its ssh", 0),
        Row("back after a 25 s link cut, from the restore (goal ≤ 1 s + one handshake)", 0),
        Row("peer: autossh back after a 25 s link cut", 0),
        Row("watchdog idle cost, 1 / 10 / 50 hosts (CPU s per minute, RSS)", 0),
    ]
    for row in rows:
        row.missing = PENDING_WATCH
    rows[1].note = rows[3].note = "autossh (Debian package) is measured with the watchdog rows"
    return Group("Watchdog (kill, cut, idle)", [], rows)


def run_group(group: Group, *, warmup: bool = True) -> None:
    """Set every case up, one untimed warm-up run each, then interleaved timed rounds."""
    say(f"\n== {group.title}")
    live: list[Case] = []
    try:
        for case in group.cases:
            try:
                case.setup()
                if warmup:
                    case.reset()
                    case.measure()
                    case.after()
                    for row in case.extra_rows:  # the warm-up's figures don't count
                        row.samples.clear()
                live.append(case)
            except (BenchError, OSError) as exc:
                case.row.missing = f"could not run: {first_line(exc)}"
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
                    case.row.missing = f"failed in run {i + 1}: {first_line(exc)}"
                    say(f"  {case.label}: {case.row.missing}")
                    detail(exc)
                    continue
                case.row.samples.append(seconds)
                case.after()
                say(f"  [{i + 1}/{rounds}] {case.label}: {fmt(seconds)}")
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
    return out


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
        "- Rows marked pending need the watchdog (`jssh watch`, issue 5); autossh (Debian) is"
        " the peer for the kill and cut rows.",
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
            groups.append(watchdog_group())
            info = machine()
        finally:
            say("\nstopping the lab ...")
            lab.close()
        load_end = os.getloadavg()
        elapsed = time.monotonic() - started

    rows = {
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
        for row in group.pending:
            if row.missing == PENDING_WATCH:
                print(f"{row.label}: {PENDING_WATCH}")
    if not options.no_write:
        text = markdown(info, groups, rows, options, (load_start, load_end), elapsed)
        options.output.write_text(text)
        print(f"\nwrote {options.output}")
    failed = [c.row for g in groups for c in g.cases if c.row.missing]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
