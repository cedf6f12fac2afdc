"""The "laptop": a private home with a realistic ~/.ssh/config, and runners for ssh and jssh."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING

import pexpect
import psutil

from .keys import LabKeys
from .procs import LAB_ID_VAR, kill_lab_processes, lab_processes, new_lab_id
from .util import LabError, Result, run, short_tempdir

if TYPE_CHECKING:
    from .sshd import Sshd

__all__ = ["SRC_DIR", "Laptop", "render_user_ssh_config"]

# The project's src/ dir: put on PYTHONPATH so `python -m jssh` runs the
# working tree even when the package is not pip-installed.
SRC_DIR = Path(__file__).resolve().parents[2] / "src"

# Variables from the developer's own session that must not leak into jssh's:
# an agent socket, a tmux it might think it runs in, their Jupyter dirs, and a
# PYTHONDONTWRITEBYTECODE that would make every jssh compile itself again (as a
# user's installed jssh never does).
_SCRUB_PREFIXES = ("JSSH_", "JUPYTER", "SSH_", "TMUX", "XDG_", "PYTHONDONTWRITEBYTECODE")


# The commands jssh() runs inside the test's own process. A new Python for each costs
# 0.2-0.4 s of CPU, the suite's largest single cost (measured with process accounting),
# and proves nothing more: what they start that outlives them (an `up`'s master) gets
# /dev/null and a log file, not the caller's fds. The process itself is proven where it
# is the point: `up` through pipes (test_up), the fast paths (test_warm_path, Tab),
# prompts on a pty (jssh_pty). `watch`, `service`, `logs` (which can follow), `--help`
# and anything fed on stdin run as real processes; jssh_process() runs any command so.
IN_PROCESS = frozenset(
    {"add", "remove", "up", "down", "status", "list", "show", "url", "forward", "doctor"}
)
_GLOBAL_WITH_VALUE = ("--ssh-config", "--state-dir")


def _command(args: tuple[str, ...]) -> str | None:
    """The command word of a jssh command line, past the global options."""
    rest = list(args)
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option in _GLOBAL_WITH_VALUE and rest:
            rest.pop(0)
    return rest[0] if rest else None


def _read(file: IO[bytes]) -> str:
    file.seek(0)
    return file.read().decode(errors="replace")


def render_user_ssh_config(
    *, alias: str, hostname: str, port: int, user: str, identity: Path, home: Path
) -> str:
    """A personal ssh config as a user would have it, including a `Host *` with
    ControlMaster settings that jssh must override for its own hosts."""
    ssh = home / ".ssh"
    return f"""\
# Personal ssh config (lab)
# Written by hand over the years; jssh must leave everything here alone.

Host {alias}
    HostName {hostname}
    Port {port}
    User {user}
    # the key made for this machine
    IdentityFile {identity}

# an old box, kept for reference
Host unrelated.example.org
    User nobody
    Port 2222

# Defaults for everything else. First value wins in ssh, so these only apply
# where nothing above (or an Include before this block) set the keyword.
Host *
    IdentitiesOnly yes
    IdentityAgent none
    UserKnownHostsFile {ssh}/known_hosts
    StrictHostKeyChecking yes
    ControlMaster no
    ControlPath {ssh}/user-cm-%C
    ControlPersist no
    ServerAliveInterval 60
"""


class Laptop:
    """A laptop user's side: home, ~/.ssh (config, known_hosts, key), jssh state dir.

    Every ssh gets `-F ssh_config`: ssh takes `~` from the passwd entry, not
    from $HOME, so the config file is the only way to keep it off the real ~/.ssh.
    """

    def __init__(
        self,
        *,
        workstation: Sshd,
        keys: LabKeys,
        hostname: str | None = None,
        port: int | None = None,
        alias: str = "workstation",
    ) -> None:
        self.lab_id = new_lab_id("lt")
        self.workstation = workstation
        self.alias = alias
        self.hostname = hostname or workstation.host
        self.port = port if port is not None else workstation.port
        self._ptys: list[pexpect.spawn] = []
        self._closed = False

        self.root = short_tempdir()
        self.home = self.root / "home"
        self.ssh_dir = self.home / ".ssh"
        self.ssh_config = self.ssh_dir / "config"
        self.known_hosts = self.ssh_dir / "known_hosts"
        self.identity = self.ssh_dir / "id_ed25519"
        self.state_dir = self.root / "state"
        self.runtime_dir = self.root / "run"

        self.home.mkdir(mode=0o755)
        self.ssh_dir.mkdir(mode=0o700)
        self.state_dir.mkdir(mode=0o700)
        self.runtime_dir.mkdir(mode=0o700)
        # ssh refuses a private key others can read; copy keeps the 0600.
        shutil.copy2(keys.user_key, self.identity)
        shutil.copy2(f"{keys.user_key}.pub", f"{self.identity}.pub")
        os.chmod(self.identity, 0o600)
        self.known_hosts.write_text(workstation.known_hosts_line(self.hostname, self.port) + "\n")
        self.ssh_config.write_text(
            render_user_ssh_config(
                alias=alias,
                hostname=self.hostname,
                port=self.port,
                user=workstation.user,
                identity=self.identity,
                home=self.home,
            )
        )
        # ssh rejects a config that others can write ("Bad owner or permissions").
        os.chmod(self.ssh_config, 0o600)
        self.env = self._make_env()

    def _make_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB_PREFIXES)}
        pythonpath = [str(SRC_DIR), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        env.update(
            {
                # For jssh's own paths (XDG defaults derive from HOME). ssh ignores
                # this HOME; it gets -F instead.
                "HOME": str(self.home),
                "XDG_CONFIG_HOME": str(self.home / ".config"),
                "XDG_STATE_HOME": str(self.home / ".local" / "state"),
                "XDG_CACHE_HOME": str(self.home / ".cache"),
                "XDG_DATA_HOME": str(self.home / ".local" / "share"),
                "XDG_RUNTIME_DIR": str(self.runtime_dir),
                "JSSH_SSH_CONFIG": str(self.ssh_config),
                "JSSH_STATE_DIR": str(self.state_dir),
                # Inherited by jssh, its ssh masters and its watchdog: teardown kills by it.
                LAB_ID_VAR: self.lab_id,
                "PYTHONPATH": os.pathsep.join(pythonpath),
                # Wide and plain, so a URL is never wrapped or coloured in captured output.
                "COLUMNS": "200",
                "NO_COLOR": "1",
            }
        )
        return env

    # -- running things ----------------------------------------------------

    def ssh_argv(self, *args: str) -> list[str]:
        return ["ssh", "-F", str(self.ssh_config), *args]

    def ssh(
        self, *args: str, timeout: float = 30.0, input: str | None = None, check: bool = False
    ) -> Result:
        """`ssh -F <config> *args` with the laptop env.

        Output goes through temp files, so `ssh -fN ...` returns as soon as the
        master backgrounds itself.
        """
        return run(
            self.ssh_argv(*args),
            env=self.env,
            timeout=timeout,
            input=input,
            check=check,
            capture="file",
        )

    def jssh_argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "jssh", *args]

    def jssh(
        self, *args: str, input: str | None = None, timeout: float = 60.0, check: bool = False
    ) -> Result:
        """Run `python -m jssh *args` as the laptop user would, capturing through pipes.

        Pipes on purpose: a jssh that leaves a background ssh holding its
        stdout/stderr would hang `$(jssh up)` in a user's script, and shows up
        here as a LabTimeout.
        """
        if input is None and _command(args) in IN_PROCESS:
            result = self.jssh_in_process(*args)
            if check and not result.ok:
                raise LabError(f"command failed:\n{result}")
            return result
        return self.jssh_process(*args, input=input, timeout=timeout, check=check)

    def jssh_process(
        self, *args: str, input: str | None = None, timeout: float = 60.0, check: bool = False
    ) -> Result:
        """`python -m jssh *args` in a process of its own, whatever the command."""
        return run(self.jssh_argv(*args), env=self.env, input=input, timeout=timeout, check=check)

    def jssh_in_process(self, *args: str) -> Result:
        """`jssh *args` through `jssh.cli.main` in this process, with the laptop's
        environment: the same Result as jssh(), without starting Python again.

        Both what Python prints and what the processes jssh starts write to fds 1 and 2
        (an ssh that says more than it should) end up in the Result, as they would
        through a process's pipes.
        """
        from jssh.cli import main

        out, err = io.StringIO(), io.StringIO()
        saved = dict(os.environ)
        started = time.monotonic()
        with tempfile.TemporaryFile() as fd_out, tempfile.TemporaryFile() as fd_err:
            kept = os.dup(1), os.dup(2)
            try:
                os.environ.clear()
                os.environ.update(self.env)
                os.dup2(fd_out.fileno(), 1)
                os.dup2(fd_err.fileno(), 2)
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    code = main(list(args))
            finally:
                os.dup2(kept[0], 1)
                os.dup2(kept[1], 2)
                os.close(kept[0])
                os.close(kept[1])
                os.environ.clear()
                os.environ.update(saved)
            stdout = out.getvalue() + _read(fd_out)
            stderr = err.getvalue() + _read(fd_err)
        argv = ["jssh.cli.main", *args]
        return Result(argv, code, stdout, stderr, time.monotonic() - started)

    def jssh_pty(
        self, *args: str, timeout: float = 30.0, dimensions: tuple[int, int] = (24, 200)
    ) -> pexpect.spawn:
        """jssh on a pseudo-terminal, for prompts and interactive output. Closed at teardown.

        The terminal says it is an xterm, whatever TERM the test run has (none in CI)."""
        child = pexpect.spawn(
            sys.executable,
            ["-m", "jssh", *args],
            env={**self.env, "TERM": "xterm"},
            encoding="utf-8",
            timeout=timeout,
            dimensions=dimensions,
            cwd=str(self.home),
        )
        self._ptys.append(child)
        return child

    # -- teardown ----------------------------------------------------------

    def processes(self) -> list[psutil.Process]:
        """Live processes started from this laptop (jssh, its ssh masters, watchdogs)."""
        return lab_processes(self.lab_id, mentioning=f"{self.root}/")

    def close(self) -> None:
        """Close ptys, stop every process with this laptop's lab id, remove the temp dir."""
        if self._closed:
            return
        self._closed = True
        for child in self._ptys:
            child.close(force=True)
        kill_lab_processes(self.lab_id, mentioning=f"{self.root}/")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Laptop:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Laptop {self.lab_id} {self.alias} -> {self.hostname}:{self.port}>"
