"""The peers jssh is measured against: the skilled user's hand recipe and jupyter-forward
(cold start), autossh (the watchdog rows)."""

from __future__ import annotations

import contextlib
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time

import psutil
from harness import BenchError, Case, Row, checked, last_lines, poll_until, say
from world import Lab, http_status, poll_status

from lab import Laptop, Result, free_port, pid_alive, run, terminate

# The newest release, 2025.1.16, can't start Jupyter unless --conda-env is given: its
# _conda_activate_cmd() ends in `sys.exit(1)` ("Could not activate environment") on the
# path without conda. 2022.9.10 is the last release that runs against a plain venv.
JUPYTER_FORWARD_VERSION = "2022.9.10"


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

    def _ssh(self, *args: str, timeout: float = 30) -> Result:
        return self.laptop.ssh("-o", f"ControlPath={self.control}", *args, timeout=timeout)

    def reset(self) -> None:
        self._ssh("-O", "exit", "workstation")
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
        master = self._ssh(
            "-fN",
            "-o",
            "ControlMaster=yes",
            "-o",
            "ExitOnForwardFailure=yes",
            "-L",
            f"127.0.0.1:{self.local_port}:127.0.0.1:{self.remote_port}",
            "workstation",
            timeout=60,
        )
        checked(master, "the hand master failed")
        started = self._ssh(
            "workstation", f"nohup {jupyter} >hand-jupyter.log 2>&1 </dev/null &", timeout=60
        )
        checked(started, "starting Jupyter by hand failed")
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
            with contextlib.suppress(psutil.NoSuchProcess):
                proc = psutil.Process(self.proc.pid)
                terminate([proc, *proc.children(recursive=True)], grace=5)
            self.proc.wait()
        self.proc = None

    def teardown(self) -> None:
        self.reset()


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
        checked(run(argv, env=env, timeout=30, capture="file"), "autossh failed")
        poll_until(self.pidfile.exists, timeout=10, what="autossh's pid file", interval=0.02)
        self.pid = int(self.pidfile.read_text().split()[0])

    def alive(self) -> bool:
        return self.pid is not None and pid_alive(self.pid)

    def ssh_child(self) -> int:
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
        if self.pid is not None and pid_alive(self.pid):
            with contextlib.suppress(psutil.NoSuchProcess):
                # autossh ends its ssh on SIGTERM
                terminate([psutil.Process(self.pid)], grace=10)
        self.pid = None


def autossh_missing() -> str | None:
    if shutil.which("autossh") is None:
        return (
            "autossh is not installed (Debian package autossh: scripts/system-packages --autossh)"
        )
    return None
