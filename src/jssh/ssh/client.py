"""The only module that runs the `ssh` binary.

Every connection jssh makes is the system OpenSSH client, so the user's keys, agent,
ProxyJump, certificates and Kerberos keep working. This module builds argv lists (never
shell strings), shows them with `-v`, and turns ssh's failures into one-line errors.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from jssh import fsutil
from jssh.errors import ConfigError, JsshError, SshError, WaitTimeout
from jssh.exits import wait_for_exit
from jssh.failures import SshFailure
from jssh.ssh.classify import classify_failure, last_line

SSH = "ssh"


# Options for commands jssh runs *through* an existing master: never become a master
# yourself, never prompt, and don't ask for the block's LocalForward a second time.
def client_options(*, batch: bool = True) -> list[str]:
    """Options for a command through the master (or, with none, one direct connection):
    never become a master, ask for no forward, and, with `batch`, never prompt."""
    return [
        "-T",
        *(["-o", "BatchMode=yes"] if batch else []),
        "-o", "ControlMaster=no",
        "-o", "ClearAllForwardings=yes",
        # Only used when no master runs (`down` or `remove` after the tunnel died): an
        # unreachable host must fail in seconds, not after the kernel's SYN retries.
        "-o", "ConnectTimeout=10",
    ]  # fmt: skip


MUX_CLIENT_OPTIONS = tuple(client_options())

Settings = dict[str, list[str]]


@dataclass(frozen=True)
class Result:
    """What a finished ssh run left behind."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def __repr__(self) -> str:
        return f"<Result rc={self.returncode} argv={shlex.join(self.argv)!r}>"


class Ssh:
    """Runs ssh with the user's config; `config` is None when it is ssh's default."""

    def __init__(
        self,
        config: Path | None = None,
        *,
        verbose: bool = False,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.verbose = verbose
        self._echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))

    # -- argv --------------------------------------------------------------------
    def argv(self, *args: str, config: Path | None = None) -> list[str]:
        """`ssh [-F CONFIG] ARGS...`: -F whenever the config is not ssh's default."""
        chosen = config or self.config
        return [SSH, *(["-F", str(chosen)] if chosen else []), *args]

    def _show(self, argv: Sequence[str]) -> None:
        if self.verbose:
            self._echo("+ " + shlex.join(argv))

    def _run(
        self, argv: list[str], *, input_text: str | None = None, timeout: float | None = 30
    ) -> Result:
        self._show(argv)
        try:
            proc = subprocess.run(
                argv,
                input=input_text,
                stdin=None if input_text is not None else subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError:
            raise SshError(
                "the ssh client was not found on PATH",
                kind=SshFailure.NO_CLIENT,
                hint="install OpenSSH's client (Debian: apt-get install openssh-client)",
            ) from None
        except subprocess.TimeoutExpired:
            raise WaitTimeout(
                f"ssh did not finish within {timeout:.0f} s: {shlex.join(argv)}"
            ) from None
        return Result(argv, proc.returncode, proc.stdout, proc.stderr)

    # -- configuration -------------------------------------------------------------
    def resolve(
        self, host: str, extra: Sequence[str] = (), *, config: Path | None = None
    ) -> Settings:
        """`ssh -G`: the fully resolved settings for HOST, keyword -> values."""
        result = self._run(self.argv("-G", *extra, "--", host, config=config), timeout=15)
        if not result.ok:
            # ssh names the bad line first and ends with a generic "terminating" line.
            lines = [line for line in result.stderr.splitlines() if re.search(r"line \d+", line)]
            reason = lines[0].strip() if lines else last_line(result.stderr)
            raise ConfigError(
                f"ssh could not read its configuration for {host!r}: {reason}",
                kind=SshFailure.CONFIG,
                hint="fix the ssh config file named in that message, then run jssh again",
            )
        return parse_settings(result.stdout)

    def version(self) -> str:
        result = self._run([SSH, "-V"], timeout=10)
        return (result.stderr or result.stdout).strip()

    # -- control master ------------------------------------------------------------
    def master_pid(self, alias: str, *, timeout: float = 10) -> int | None:
        """The pid of the live master for ALIAS, or None (`ssh -O check`).

        A stopped (SIGSTOP) master accepts the mux connection and never answers: the
        wait then ends with WaitTimeout after `timeout` seconds.
        """
        result = self._run(self.argv("-O", "check", "--", alias), timeout=timeout)
        match = re.search(r"Master running \(pid=(\d+)\)", result.stderr + result.stdout)
        return int(match.group(1)) if result.ok and match else None

    def stop_master(self, alias: str) -> bool:
        """`ssh -O exit`; True when a master was there to stop."""
        return self._run(self.argv("-O", "exit", "--", alias), timeout=10).ok

    def add_forward(self, alias: str, forward: str) -> None:
        """Ask a live master for its forward again (a duplicate request is fine)."""
        result = self._run(self.argv("-O", "forward", "-L", forward, "--", alias), timeout=10)
        if not result.ok:
            raise classify_failure(alias, result.stderr)

    def start_master(
        self,
        alias: str,
        *,
        interactive: bool,
        log_path: Path,
        connect_timeout: int = 15,
        stop_waiting: float = 300,
    ) -> None:
        """Start the control master for ALIAS (its LocalForward comes from the block).

        With `interactive`, ssh runs on a pty driven by pexpect and every prompt
        (password, passphrase, OTP, new host key) reaches the user, who answers it.
        Otherwise ssh runs in BatchMode and fails at once where it would have asked.
        """
        options = ["-N", "-o", "ControlMaster=auto", "-o", f"ConnectTimeout={connect_timeout}"]
        if not interactive:
            options += ["-o", "BatchMode=yes"]
        argv = self.argv(*options, "--", alias)
        if interactive:
            rc, transcript = _drive_on_pty(argv, self._show, timeout=stop_waiting)
        else:
            rc, transcript = self._start_batch(argv, log_path, timeout=stop_waiting)
        if rc != 0:
            raise classify_failure(alias, transcript, interactive=interactive)

    def spawn_master(
        self, alias: str, *, log_path: Path, connect_timeout: int, forwards: bool = True
    ) -> BatchStart:
        """Start a BatchMode master for ALIAS and return at once (for the watchdog's
        event loop). ssh exits 0 once the master holds its forward and has gone to the
        background (ControlPersist); on failure `BatchStart.failure()` says why.
        Without `forwards` it opens none (the watchdog holds the port meanwhile, and
        hands it over through the mux protocol: watchdog/relay.py)."""
        options = ["-N", "-o", "ControlMaster=auto", "-o", f"ConnectTimeout={connect_timeout}"]
        if not forwards:
            options += ["-o", "ClearAllForwardings=yes"]  # first value wins over the block's
        # -E: a backgrounded master sends its stderr to /dev/null; with -E its last
        # words ("Timeout, server not responding") still reach the log.
        options += ["-o", "BatchMode=yes", "-E", str(log_path)]
        argv = self.argv(*options, "--", alias)
        proc, start = self._spawn_batch(argv, log_path)
        return BatchStart(alias, proc, log_path, start)

    def _spawn_batch(self, argv: list[str], log_path: Path) -> tuple[subprocess.Popen[bytes], int]:
        self._show(argv)
        fsutil.ensure_private_dir(log_path.parent)
        start = log_path.stat().st_size if log_path.exists() else 0
        # stderr goes to a file, not a pipe: a ProxyJump child inherits it and would
        # keep a pipe open for as long as the master lives.
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
        return proc, start

    def _start_batch(self, argv: list[str], log_path: Path, timeout: float) -> tuple[int, str]:
        proc, start = self._spawn_batch(argv, log_path)
        try:
            rc = wait_for_exit(proc, timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc = 255
        return rc, _read_from(log_path, start)

    # -- commands through the master -------------------------------------------------
    def run(
        self,
        alias: str,
        remote_argv: Sequence[str],
        *,
        input_text: str | None = None,
        timeout: float | None = 60,
    ) -> Result:
        """Run a command on the remote through the master. Every word is quoted."""
        argv = self.argv(*MUX_CLIENT_OPTIONS, "--", alias, remote_command(remote_argv))
        return self._run(argv, input_text=input_text, timeout=timeout)

    def run_script(self, alias: str, script: str, *, timeout: float | None = 60) -> Result:
        """Run a POSIX sh script on the remote. It travels on stdin, so nothing in it
        (a token, say) ever appears on a command line on either machine."""
        return self.run(alias, ["sh", "-s"], input_text=script, timeout=timeout)

    def probe(
        self,
        alias: str,
        remote_argv: Sequence[str] = ("true",),
        *,
        input_text: str | None = None,
        connect_timeout: int = 5,
        timeout: float = 30,
    ) -> Result:
        """Run a command as `run` does, but fit for a host whose master may be down
        (for `doctor`): through the master when one runs, else one direct connection
        that gives up after `connect_timeout` s. It never prompts, never becomes a
        master and asks for no forward, so it leaves nothing running behind."""
        argv = self.argv(
            *MUX_CLIENT_OPTIONS,
            "-o", f"ConnectTimeout={connect_timeout}",
            "--", alias, remote_command(remote_argv),
        )  # fmt: skip
        return self._run(argv, input_text=input_text, timeout=timeout)

    def run_attached(
        self, alias: str, remote_argv: Sequence[str], *, interactive: bool = False
    ) -> int:
        """Run a remote command with the user's terminal (for `logs --follow`): through
        the master when one runs, else one direct connection, which may prompt on the
        user's terminal when `interactive`."""
        options = client_options(batch=not interactive)
        argv = self.argv(*options, "--", alias, remote_command(remote_argv))
        self._show(argv)
        with _interrupt_noted() as interrupted:
            code = subprocess.call(argv)
        # Ctrl-C reaches ssh too, which then exits 255 like a lost connection: the
        # user's own interrupt is a normal end, told apart by having seen it here.
        return 130 if interrupted.is_set() else code


@dataclass
class BatchStart:
    """A BatchMode master start in flight: the ssh process and where its words go."""

    alias: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    log_offset: int

    def transcript(self) -> str:
        """What ssh printed during this start (its stderr, from the master log)."""
        return _read_from(self.log_path, self.log_offset)

    def failure(self) -> JsshError:
        """The start failed: one clear error from what ssh printed."""
        return classify_failure(self.alias, self.transcript(), interactive=False)


@contextlib.contextmanager
def _interrupt_noted() -> Iterator[threading.Event]:
    """Note a SIGINT (the Event is set) instead of raising KeyboardInterrupt, for a child
    that gets the same signal from the terminal and ends itself. Only the main thread
    can set a handler; elsewhere KeyboardInterrupt never arrives anyway."""
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield interrupted
        return

    def note(signum: int, frame: object) -> None:
        interrupted.set()

    previous = signal.signal(signal.SIGINT, note)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)


def _read_from(path: Path, offset: int) -> str:
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")
    except OSError:
        return ""


def remote_command(words: Sequence[str]) -> str:
    """ssh joins its remote words with spaces for the remote shell: quote each one."""
    return " ".join(shlex.quote(word) for word in words)


def parse_settings(text: str) -> Settings:
    settings: Settings = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if key:
            settings.setdefault(key.lower(), []).append(value.strip())
    return settings


def _drive_on_pty(
    argv: list[str], show: Callable[[Sequence[str]], None], *, timeout: float
) -> tuple[int, str]:
    """Run ssh on a pty, relaying every byte both ways until ssh itself exits.

    pexpect's own interact() waits for EOF, which never comes when a ProxyJump child
    keeps the pty open; so this loop watches the ssh process instead. The user's
    terminal is put in raw mode so ssh controls echo (passwords stay invisible).
    SIGHUP is ignored in ssh and its children: when this pty closes, a jump host's
    ssh must not die with it.
    """
    import pexpect  # imported here: only an interactive start needs it

    show(argv)
    try:
        child = pexpect.spawn(argv[0], argv[1:], timeout=None, ignore_sighup=True, echo=False)
    except pexpect.ExceptionPexpect as exc:
        raise SshError(f"could not start ssh: {exc}") from None
    transcript: list[bytes] = []
    stdin_fd = sys.stdin.fileno() if sys.stdin.isatty() else None
    out = sys.stderr.buffer
    deadline = time.monotonic() + timeout
    with _raw_terminal(stdin_fd):
        while child.isalive():
            if time.monotonic() > deadline:
                child.terminate(force=True)
                raise WaitTimeout(f"ssh did not finish logging in within {timeout:.0f} s")
            fds = [child.child_fd] + ([stdin_fd] if stdin_fd is not None else [])
            with contextlib.suppress(InterruptedError):
                ready, _, _ = select.select(fds, [], [], 0.1)
                if child.child_fd in ready:
                    try:
                        data = os.read(child.child_fd, 4096)
                    except OSError:
                        data = b""
                    if data:
                        transcript.append(data)
                        out.write(data)
                        out.flush()
                if stdin_fd is not None and stdin_fd in ready:
                    data = os.read(stdin_fd, 1024)
                    if b"\x03" in data:  # Ctrl-C in raw mode arrives as a byte
                        child.terminate(force=True)
                        raise KeyboardInterrupt
                    if data:
                        os.write(child.child_fd, data)
        # Whatever ssh printed just before exiting (its error, typically).
        with contextlib.suppress(OSError):
            while select.select([child.child_fd], [], [], 0)[0]:
                data = os.read(child.child_fd, 4096)
                if not data:
                    break
                transcript.append(data)
                out.write(data)
    out.flush()
    child.close(force=False)
    rc = child.exitstatus if child.exitstatus is not None else 255
    return rc, b"".join(transcript).decode(errors="replace")


@contextlib.contextmanager
def _raw_terminal(fd: int | None) -> Iterator[None]:
    if fd is None:
        yield
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSAFLUSH, saved)
