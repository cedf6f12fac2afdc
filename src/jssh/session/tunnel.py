"""The way to a host's Jupyter: its control master(s) and the local forward they hold.

Everything that talks to the local port goes through here, and every request that
carries the token is sent only after the port's listener is proven to be our own
master (jssh.session.owner).
"""

from __future__ import annotations

import time
from pathlib import Path

from jssh import fsutil, ports, probe
from jssh.errors import BusyError, ConfigError, JsshError, RemoteError, SshError, WaitTimeout
from jssh.failures import SshFailure
from jssh.hosts import HostRecord
from jssh.paths import Paths
from jssh.progress import Progress, Silent
from jssh.session import forwards
from jssh.session.owner import ForeignListener, TunnelOwner
from jssh.ssh import Ssh, classify_failure


class Tunnel:
    """RECORD's masters and its forward on 127.0.0.1:LOCAL_PORT."""

    def __init__(
        self, paths: Paths, ssh: Ssh, record: HostRecord, progress: Progress | None = None
    ) -> None:
        self.paths = paths
        self.ssh = ssh
        self.record = record
        self.owner = TunnelOwner.of(record, paths)
        self.progress: Progress = progress or Silent()

    # -- masters -------------------------------------------------------------------
    def master_pid(self, alias: str | None = None) -> int | None:
        return self.ssh.master_pid(alias or self.record.alias)

    def stop(self, alias: str | None = None) -> bool:
        """`ssh -O exit`; True when a master was there to stop."""
        return self.ssh.stop_master(alias or self.record.alias)

    def open_login(self, *, interactive: bool) -> bool:
        """Make sure the host's own master runs; True when this call started it."""
        if self.master_pid() is not None:
            return False
        self.start_master(interactive=interactive)
        return True

    def start_master(
        self, *, interactive: bool, alias: str | None = None, log_path: Path | None = None
    ) -> None:
        """Start the master for ALIAS (default: NAME-jupyter), once the port is free."""
        port = self.record.local_port
        if not ports.is_free(port) and self.owner.watchdog_holds():  # its bridge (relay.py)
            raise BusyError(
                f"jssh watch holds 127.0.0.1:{port} while it brings {self.record.name}'s"
                " tunnel back; it starts the master itself",
                hint=f"`jssh status {self.record.name}` says how it goes; an open notebook"
                " reconnects by itself once the tunnel is back",
            )
        if not ports.is_free(port):
            raise BusyError(
                f"local port {port} is taken by {ports.describe_holder(port)},"
                f" so the tunnel for {self.record.name} can't listen there",
                hint=f"stop that program, or move jssh: `jssh add {self.record.target}"
                f" --name {self.record.name} --local-port N`",
            )
        forwards.check_free(self.record, self.record.forwards)  # the block asks for them too
        fsutil.ensure_private_dir(self.paths.control_dir)
        if interactive:
            self.progress.clear()  # ssh may prompt on this terminal: the line must go
        try:
            self.ssh.start_master(
                alias or self.record.alias,
                interactive=interactive,
                log_path=log_path or self.paths.master_log(self.record.name),
            )
        except SshError:
            self._explain_missing_block()
            raise
        except BusyError as exc:
            if exc.kind is SshFailure.PORT_BUSY:
                self._explain_inherited_forward()
            raise

    def _explain_inherited_forward(self) -> None:
        """Our own port was free a moment ago, so a busy port is most likely one that the
        user's config adds to NAME-jupyter (a `LocalForward` under `Host *`): moving
        jssh's port can't help, the fix is in their config. Name it, with its line."""
        from jssh.config.resolve import inherited_forwards

        try:
            inherited = inherited_forwards(self.paths, self.ssh, self.record)
        except JsshError:
            return
        if inherited:
            raise BusyError(
                f"{self.record.alias}'s master could not open a forward that your ssh"
                f" config adds to it: `{inherited[0].setting}` ({inherited[0].where})",
                hint=inherited[0].fix,
                kind=SshFailure.PORT_BUSY,
            )

    def _explain_missing_block(self) -> None:
        """When ssh fails, first rule out that it never saw jssh's block at all: an
        Include line moved below a Host/Match line is silently conditional, and ssh then
        reports some unrelated-looking failure ("cannot resolve NAME-jupyter")."""
        from jssh.config.store import Store

        store = Store(self.paths)
        try:
            problems = store.include_problems(store.read_user_config())
        except JsshError:
            return
        if problems:
            raise ConfigError(
                f"{problems[0]}, so ssh does not see the block for {self.record.alias}",
                hint=f"move the Include line above the first Host/Match line in"
                f" {self.paths.ssh_config} (`jssh doctor` shows where it is)",
            )

    def ensure_forward(self) -> None:
        """Ask a running master for its forward again when nothing listens on the port
        (a duplicate request is harmless)."""
        if not ports.answers(self.record.local_port):
            target = self.record.endpoint.forward_target()
            self.ssh.add_forward(self.record.alias, f"127.0.0.1:{self.record.local_port}:{target}")
        for forward in self.record.forwards:  # and the extra ones (`jssh forward`)
            if not ports.answers(forward.local_port):
                forwards.add_live(self.ssh, self.record, forward)

    # -- Jupyter through the forward ----------------------------------------------------
    def http_status(
        self,
        token: str | None,
        path: str = "/api/status",
        *,
        method: str = "GET",
        timeout: float = 5.0,
    ) -> int | None:
        """The HTTP status of one request through the forward; None when nothing answers.
        The token goes only to our own master (ForeignListener otherwise)."""
        return probe.http_status(
            self.record.local_port,
            path,
            token=token,
            owner_proven=self.owner.proven,
            method=method,
            timeout=timeout,
        )

    def answer(self, token: str | None) -> tuple[bool, bool, str | None]:
        """(Jupyter answers HTTP on the port, it accepts our token, why not) for `status`.

        A port that accepts TCP is not enough: with the server gone, the master still
        accepts, and the channel fails behind it."""
        try:
            code = (
                self.http_status(token, timeout=3.0)
                if token
                else probe.http_status(self.record.local_port, timeout=3.0)
            )
        except ForeignListener as exc:
            return False, False, exc.message
        return code is not None, code == 200, None

    def idle_seconds(self, token: str | None) -> int | None:
        """How long Jupyter has been idle, by its own /api/status (`last_activity`; asking
        does not count as activity), against the `Date` of the same answer, so that the
        two clocks are the remote's. None when it can't be told. The token goes only to
        our own master, like every other request."""
        if not token:
            return None
        import json
        from datetime import datetime
        from email.utils import parsedate_to_datetime

        try:
            answer = probe.http_get(
                self.record.local_port, "/api/status", token=token,
                owner_proven=self.owner.proven, timeout=3.0,
            )  # fmt: skip
        except ForeignListener:
            return None
        if answer is None or answer[0] != 200:
            return None
        _, headers, body = answer
        try:
            last = datetime.fromisoformat(str(json.loads(body)["last_activity"]))
            now = parsedate_to_datetime(headers["date"]) if "date" in headers else None
            seconds = ((now or datetime.now(last.tzinfo)) - last).total_seconds()
        except (ValueError, KeyError, TypeError):
            return None
        return max(0, int(seconds))

    def wait_for_http(self, token: str, *, wait: float) -> None:
        """Poll the server through the forward until it answers 200 (bounded)."""
        name, port = self.record.name, self.record.local_port
        deadline = time.monotonic() + wait
        delay = 0.02
        last = "no answer"
        while True:
            code = self.http_status(token)
            if code == 200:
                return
            if code == 403:
                raise RemoteError(
                    f"the server for {name} refuses jssh's token",
                    hint=f"restart it: `jssh down {name}` then `jssh up {name}`",
                )
            if code is not None:
                last = f"HTTP {code}"
            if time.monotonic() >= deadline:
                raise WaitTimeout(
                    f"Jupyter on {name} does not answer through the tunnel on port {port} ({last})",
                    hint=f"see `jssh logs {name}` and `jssh status {name}`",
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    def shutdown_server(self, token: str) -> bool:
        """Ask Jupyter to shut down cleanly (kernels too); True when it agreed."""
        try:
            status = self.http_status(token, "/api/shutdown", method="POST", timeout=10)
        except ForeignListener:
            return False  # the remote stop script still stops the server
        return status in (200, 204)

    # -- the server's log, with or without a tunnel ------------------------------------
    def show_log(self, remote_argv: list[str], *, follow: bool) -> int:
        """Print the remote log: what a user reads when `up` failed, so it goes through
        the master when one runs, else one plain connection (prompting on a terminal).
        Without --follow the output is captured, so a failure is one clear line."""
        import sys

        alias = self.record.alias
        if follow:
            return self.ssh.run_attached(alias, remote_argv, interactive=sys.stdin.isatty())
        result = self.ssh.probe(alias, remote_argv, connect_timeout=10, timeout=60)
        if result.returncode == 255:
            raise classify_failure(alias, result.stderr, interactive=False)
        sys.stdout.write(result.stdout)
        return result.returncode
