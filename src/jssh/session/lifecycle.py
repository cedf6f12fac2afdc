"""One lifecycle for every kind of host: up, down, status, url, logs, written once.

A `Session` is a host's tunnel and local files with a backend composed in: the
workstation backend runs Jupyter under tmux/nohup, the Slurm backend in a batch job.
What all hosts share (the per-host lock, the warm check that the fast path uses too,
the login master, leaving nothing half-done behind, the wanted marker) lives here;
what differs is the backend's.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Protocol

from jssh import fsutil
from jssh.config import resolve
from jssh.errors import RemoteError
from jssh.hosts import HostRecord
from jssh.paths import Paths
from jssh.progress import Progress, Silent
from jssh.session import browser, warm
from jssh.session.files import HostFiles
from jssh.session.owner import TunnelOwner
from jssh.session.tunnel import Tunnel
from jssh.ssh import Ssh
from jssh.states import HostStatus, UpResult

DEFAULT_WAIT = 90.0  # seconds for a server to come up; JupyterLab's first start is slow
Say = Callable[[str], None]


class Backend(Protocol):
    """Where and how a host's Jupyter runs."""

    def bring_up(self, *, interactive: bool, wait: float, use_tmux: bool) -> UpResult:
        """With the login master running: find or start the server, connect the forward
        to it, wait until it answers our token, and save that token."""
        ...

    def lock_timeout(self, wait: float) -> float:
        """How long `up` may wait for another `up` of this host to finish."""
        ...

    def keeps_login_after(self, failure: BaseException) -> bool:
        """After `bring_up` failed: keep a login master this `up` started? (A queued
        Slurm job still needs it for `status` and `down`.)"""
        ...

    def take_down(self, *, keep_server: bool) -> list[str]:
        """Stop the server (unless kept) and close the masters; what was done."""
        ...

    def status(self, *, ask_remote: bool = True) -> HostStatus: ...

    def logs(self, *, lines: int, follow: bool) -> int: ...


class HostParts:
    """What every backend of one host works with."""

    def __init__(
        self, paths: Paths, ssh: Ssh, record: HostRecord, say: Say, progress: Progress | None = None
    ) -> None:
        self.paths = paths
        self.ssh = ssh
        self.record = record
        self.say = say  # a line that stays: a warning, what was done
        self.progress: Progress = progress or Silent()  # the live step, when on a terminal
        self.files = HostFiles(paths, record.name)
        self.tunnel = Tunnel(paths, ssh, record, self.progress)


def to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Session:
    """up/down/status/url/logs of one managed host."""

    def __init__(self, parts: HostParts, backend: Backend) -> None:
        self.parts = parts
        self.backend = backend

    @property
    def record(self) -> HostRecord:
        return self.parts.record

    def up(
        self, *, interactive: bool, wait: float = DEFAULT_WAIT, use_tmux: bool = True
    ) -> UpResult:
        """Make sure the tunnel and the server run; the URL. Prompts reach the user when
        `interactive`; `wait` bounds the server's start."""
        parts, record = self.parts, self.parts.record
        directory = parts.files.ensure_directory()
        if (url := self._wait_for_the_watchdog(wait)) is not None:
            parts.files.want(True)
            return UpResult(url, reused=True, server_pid=None, mode=None)
        lock_timeout = self.backend.lock_timeout(wait)
        with fsutil.exclusive_lock(directory / ".lock", f"{record.name}'s tunnel", lock_timeout):
            # Warm: our token gets a 200 through our own master's forward, so the master,
            # its forward and our server are all there. No ssh, no remote command.
            url = warm.serving_url(record, parts.files.token(), paths=parts.paths)
            if url is not None:
                parts.files.want(True)
                return UpResult(url, reused=True, server_pid=None, mode=None)
            # Cold: HOST may resolve differently since `add` (an edit, a `Match exec`):
            # ask ssh again (~15 ms) and rewrite the block if it drifted.
            record, refreshed = resolve.refresh(parts.paths, parts.ssh, record)
            if refreshed:
                parts.record = record
                parts.say(refreshed)
            try:
                parts.progress.step(f"connecting to {record.name}…")
                started_login = parts.tunnel.open_login(interactive=interactive)
                try:
                    result = self.backend.bring_up(
                        interactive=interactive, wait=wait, use_tmux=use_tmux
                    )
                except BaseException as exc:
                    if started_login and not self.backend.keeps_login_after(exc):
                        parts.tunnel.stop()  # leave nothing half-done behind
                    raise
            finally:
                parts.progress.clear()
            parts.files.want(True)
            return result

    def _wait_for_the_watchdog(self, wait: float) -> str | None:
        """While the watchdog brings the tunnel back (a network change, a link down),
        its bridge holds a request until the new master carries it: the URL once that
        answers, within WAIT; None when the watchdog is not at it, or not done in time
        (then `up` goes on, and says the watchdog holds the port). Not under the host
        lock, which the watchdog takes to start the master."""
        parts = self.parts
        token, record = parts.files.token(), parts.record
        if not token or not TunnelOwner.of(record, parts.paths).bridged():
            return None
        parts.progress.step(f"jssh watch is bringing {record.name}'s tunnel back; waiting…")
        try:
            return warm.serving_url(record, token, paths=parts.paths, timeout=wait)
        finally:
            parts.progress.clear()

    def down(self, *, keep_server: bool, force: bool = True) -> list[str]:
        """Stop the server (unless kept) and the masters. Returns what was done. Unless
        FORCE, the server is asked first, and one whose kernels were active within the
        hour is left alone: KernelsInUse (another laptop may work there)."""
        parts, reached = self.parts, True
        if not (keep_server or force):
            from jssh.session.kernels import refuse_if_in_use  # only `down` needs it

            job_id = parts.files.saved_job().get("job_id") if parts.record.slurm else None
            token = parts.files.token()
            reached = refuse_if_in_use(parts.ssh, parts.record, parts.tunnel, token, job_id=job_id)
        self.parts.files.want(False)
        if reached:
            done = self.backend.take_down(keep_server=keep_server)
        else:  # ssh could not reach it just now: don't wait for it a second time
            done = [f"could not reach {parts.record.name} to stop the server"]
            done += self.backend.take_down(keep_server=True)
        if not keep_server:
            self.parts.files.forget_token()
        return done

    def status(self, *, ask_remote: bool = True) -> HostStatus:
        return self.backend.status(ask_remote=ask_remote)

    def url(self, path: str | None = None, *, server: bool = False) -> str:
        """The URL with its token: the app's page, the page at PATH (`jssh open`), or
        with `server` the server's own URL (for VS Code and other Jupyter clients)."""
        token = self.parts.files.token()
        if not token:
            raise RemoteError(
                f"jssh has no token for {self.record.name} yet",
                hint=f"run `jssh up {self.record.name}` first",
            )
        if server:
            return browser.server_url(self.record, token)
        if path is not None:
            return browser.path_url(self.record, token, path)
        return self.record.url(token)

    def logs(self, *, lines: int, follow: bool) -> int:
        return self.backend.logs(lines=lines, follow=follow)
