"""The "workstation": the system's sshd on a private config, one per test."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

import psutil

from .account import chown_to
from .keys import LabKeys
from .nonode import without_node
from .procs import (
    LAB_ID_VAR,
    describe,
    kill_lab_processes,
    lab_processes,
    new_lab_id,
    terminate,
    wait_gone,
)
from .util import IS_ROOT, LabError, Result, free_port, run, short_tempdir, wait_until

__all__ = ["SSHD", "Sshd"]

# sshd re-executes itself for every connection and insists on an absolute path.
SSHD = "/usr/sbin/sshd"

# Marks sshd's own processes. Not usable to *find* them (sshd overwrites its
# environ with its process title), but harmless and handy when reading `ps e`.
ROLE_VAR = "JSSH_LAB_ROLE"


class Sshd:
    """One sshd playing a remote workstation, with its own remote HOME, tmux and Jupyter dirs.

    Create it, then `start()`; `close()` stops everything it (and anything
    logged in through it) started and removes its temp dir. Usable as a
    context manager.
    """

    def __init__(
        self,
        *,
        account: str,
        venv: Path,
        keys: LabKeys,
        host: str = "127.0.0.1",
        port: int | None = None,
        extra_env: Mapping[str, str] | None = None,
        extra_config: Sequence[str] = (),
        lab_id: str | None = None,
    ) -> None:
        self.lab_id = lab_id or new_lab_id("ws")
        self.user = account
        self.keys = keys
        self.venv = venv
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.extra_config = list(extra_config)
        self.proc: subprocess.Popen[bytes] | None = None
        self._closed = False

        # 0755: the lab account must traverse it to read authorized_keys and
        # reach the dirs below that SetEnv points it at.
        self.root = short_tempdir()
        os.chmod(self.root, 0o755)
        self.config_path = self.root / "sshd_config"
        self.log_path = self.root / "sshd.log"
        self.pid_path = self.root / "sshd.pid"
        self.authorized_keys = self.root / "authorized_keys"
        self.remote_home = self.root / "home"
        self.tmux_tmpdir = self.root / "tmux"
        self.runtime_dir = self.root / "jrt"

        path = f"{venv}/bin:/usr/local/bin:/usr/bin:/bin"
        self.env: dict[str, str] = {
            "PATH": path,
            "HOME": str(self.remote_home),
            "TMUX_TMPDIR": str(self.tmux_tmpdir),
            "JUPYTER_RUNTIME_DIR": str(self.runtime_dir),
            LAB_ID_VAR: self.lab_id,
            **(extra_env or {}),
        }
        self._prepare()

    # -- setup -------------------------------------------------------------

    def _prepare(self) -> None:
        self.authorized_keys.write_text(self.keys.user_key_pub + "\n")
        # sshd reads authorized_keys as the user being authenticated.
        os.chmod(self.authorized_keys, 0o644)
        for d, mode in (
            (self.remote_home, 0o755),
            (self.tmux_tmpdir, 0o700),
            (self.runtime_dir, 0o700),
        ):
            d.mkdir(mode=mode)
            os.chmod(d, mode)
            chown_to(d, self.user)
        home_files = {
            # sshd chdirs to the *passwd* home before running the command;
            # SetEnv moved HOME here, so start here too, as on a real machine
            # where the two agree. Debian's bash sources ~/.bashrc for commands
            # run by sshd, before the command.
            ".bashrc": "# jssh lab: begin where $HOME is (sshd started us in the passwd home)\n"
            'cd "$HOME" 2>/dev/null || true\n',
            # Login shells run /etc/profile, which resets PATH on Debian; put
            # the venv back as a user's own ~/.profile would.
            ".profile": f"# jssh lab: the workstation user keeps jupyter on PATH\n"
            f"PATH={shlex.quote(self.env['PATH'])}; export PATH\n"
            '[ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"\n',
        }
        for name, text in home_files.items():
            f = self.remote_home / name
            f.write_text(text)
            chown_to(f, self.user)
        self.config_path.write_text(self.render_config())

    def render_config(self) -> str:
        setenv = " ".join(f'"{k}={v}"' for k, v in self.env.items())
        lines = [
            f"# jssh test lab workstation {self.lab_id}",
            f"ListenAddress {self.host}",
            f"Port {self.port}",
            f"HostKey {self.keys.host_key}",
            f"PidFile {self.pid_path}",
            f"AuthorizedKeysFile {self.authorized_keys}",
            # Only the lab account; never root or a real user.
            f"AllowUsers {self.user}",
            "StrictModes no",
            "UsePAM no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "AllowTcpForwarding yes",
            "AllowStreamLocalForwarding yes",
            # A forward to a remote unix socket left over from a killed master
            # must not block the respawned one.
            "StreamLocalBindUnlink yes",
            # Tests open many channels and reconnect in bursts.
            "MaxSessions 50",
            "MaxStartups 50",
            "PrintMotd no",
            "PrintLastLog no",
            "Subsystem sftp internal-sftp",
            "LogLevel VERBOSE",
            # Applied after sshd sets HOME/PATH, so it overrides them: each
            # workstation gets its own remote HOME, tmux socket dir and Jupyter
            # runtime dir, and never meets the machine's real ones.
            f"SetEnv {setenv}",
            *self.extra_config,
        ]
        return "\n".join(lines) + "\n"

    def _exec_prefix(self) -> list[str]:
        """argv prefix that puts a command where this sshd runs (netns adds to it)."""
        return list(without_node())

    def _daemon_env(self) -> dict[str, str]:
        # A small, known environment for sshd itself (its sessions get SetEnv's).
        return {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            LAB_ID_VAR: self.lab_id,
            ROLE_VAR: "sshd",
        }

    # -- lifecycle ---------------------------------------------------------

    def check_config(self) -> None:
        """`sshd -t`: a config mistake becomes a readable LabError, not a dead port."""
        r = run([SSHD, "-t", "-f", str(self.config_path)], timeout=30)
        if not r.ok:
            raise LabError(
                f"sshd -t rejected {self.config_path}:\n{r.stderr}{r.stdout}"
                f"--- config ---\n{self.config_path.read_text()}"
            )

    def start(self, *, timeout: float = 15.0) -> Sshd:
        """Start the listener (on the same port as before) and wait for its banner."""
        if self._closed:
            raise LabError("this workstation was closed")
        if self.running:
            return self
        if IS_ROOT:
            # sshd started as root wants its privilege-separation dir.
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self.check_config()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [*self._exec_prefix(), SSHD, "-D", "-e", "-f", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=self._daemon_env(),
                # Own session: a Ctrl-C in the terminal running pytest reaches
                # pytest (which tears down), not sshd directly.
                start_new_session=True,
            )
        self._wait_for_banner(timeout)
        return self

    def _wait_for_banner(self, timeout: float) -> None:
        proc = self.proc
        assert proc is not None

        def banner() -> bool:
            if proc.poll() is not None:
                raise LabError(
                    f"sshd exited with {proc.returncode} before listening on "
                    f"{self.host}:{self.port}\n--- {self.log_path} ---\n{self.log()}"
                )
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as s:
                    data = b""
                    while b"\n" not in data and len(data) < 256:
                        chunk = s.recv(256)
                        if not chunk:
                            break
                        data += chunk
                    return data.startswith(b"SSH-2.0")
            except OSError:
                return False

        try:
            wait_until(banner, timeout=timeout, what=f"sshd banner on {self.host}:{self.port}")
        except LabError as exc:
            raise LabError(f"{exc}\n--- {self.log_path} ---\n{self.log()}") from None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def listener_pid(self) -> int | None:
        return self.proc.pid if self.running and self.proc else None

    def stop(self) -> None:
        """Stop the listener only. Established connections live in their own
        processes and carry on, as when a real sshd is restarted."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self) -> None:
        """stop() then start() on the same port."""
        self.stop()
        self.start()

    def connection_processes(self) -> list[psutil.Process]:
        """The per-connection sshd processes ([priv] and user@notty) of this workstation.

        Found by their sockets: each holds a TCP socket whose local end is our
        host:port and that is not the listener. Survives a restart (the old
        children are no longer the new listener's). Only sshds in our own network
        namespace count: another xdist worker's loopback may use the same port.
        """
        listener = self.listener_pid
        ours = _netns_of("self")
        found = []
        # Per process, not psutil.net_connections(): that reports a socket
        # shared by [priv] and its child under one pid only.
        for proc in psutil.process_iter(["name"]):
            if proc.info["name"] != "sshd" or proc.pid == listener:
                continue
            if _netns_of(str(proc.pid)) != ours:
                continue
            try:
                conns = proc.net_connections("tcp")
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            if any(
                c.status != psutil.CONN_LISTEN
                and c.laddr
                and c.laddr.ip == self.host
                and c.laddr.port == self.port
                for c in conns
            ):
                found.append(proc)
        return found

    def kill_sessions(self) -> list[psutil.Process]:
        """SIGKILL every established connection's sshd: the laptop sees the
        connection drop, as if the remote went away. Remote user processes
        (tmux, Jupyter) are left running; see kill_remote_processes()."""
        procs = self.connection_processes()
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        wait_gone(procs, timeout=3)
        return procs

    def remote_processes(self) -> list[psutil.Process]:
        """Processes started by logins to this workstation (shells, tmux, Jupyter)."""
        return [p for p in lab_processes(self.lab_id) if not _is_sshd(p)]

    def kill_remote_processes(self) -> list[psutil.Process]:
        return terminate(self.remote_processes())

    def close(self) -> None:
        """Stop sshd, every connection, every process with our lab id; remove the temp dir."""
        if self._closed:
            return
        self._closed = True
        self.stop()
        terminate(self.connection_processes())
        kill_lab_processes(self.lab_id)
        self._teardown_extra()
        shutil.rmtree(self.root, ignore_errors=True)

    def _teardown_extra(self) -> None:
        """Hook for subclasses (the netns workstation deletes its namespace)."""

    def __enter__(self) -> Sshd:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- looking at it -----------------------------------------------------

    def log(self, since: int = 0) -> str:
        """sshd's log so far (LogLevel VERBOSE), from byte `since` (a log_size() taken
        earlier) on: put it in assertion messages."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(since)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def known_hosts_line(self, host: str | None = None, port: int | None = None) -> str:
        """The known_hosts entry for this workstation as reached at host:port."""
        host = host or self.host
        port = port if port is not None else self.port
        name = host if port == 22 else f"[{host}]:{port}"
        return f"{name} {self.keys.host_key_pub}"

    def remote_argv(self, argv: Sequence[str]) -> list[str]:
        """argv that runs `argv` as the lab account with this workstation's environment."""
        env = {
            **self.env,
            "USER": self.user,
            "LOGNAME": self.user,
            "SHELL": "/bin/bash",
            "LANG": "C.UTF-8",
        }
        assignments = [f"{k}={v}" for k, v in env.items()]
        if IS_ROOT:
            return [
                *self._exec_prefix(),
                "runuser",
                "-u",
                self.user,
                "--",
                "env",
                "-i",
                *assignments,
                *argv,
            ]
        return [*self._exec_prefix(), "env", "-i", *assignments, *argv]

    def run_as_remote(
        self,
        argv: Sequence[str],
        *,
        timeout: float = 30.0,
        input: str | None = None,
        check: bool = False,
    ) -> Result:
        """Run a command on the "workstation" side, without ssh: for checking remote state
        (`tmux ls`, `ss -ltnx`, files in the runtime dir)."""
        return run(
            self.remote_argv(argv), timeout=timeout, input=input, check=check, cwd=self.remote_home
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.lab_id} {self.user}@{self.host}:{self.port}>"

    def describe_processes(self) -> str:
        return describe([*self.connection_processes(), *self.remote_processes()])


def _netns_of(pid: str) -> int | None:
    """The inode of /proc/PID/ns/net (PID may be "self"), or None when it cannot be read."""
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def _is_sshd(proc: psutil.Process) -> bool:
    try:
        return proc.name() == "sshd"
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
