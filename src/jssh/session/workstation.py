"""Remote Jupyter for one managed host: up, down, status, url, logs.

`up` is built so that the warm case costs no remote command at all: with a master
running, a local token and a server answering through the forward, the URL is
rebuilt locally. The cold case is: start the master (prompts go to the user), one
remote script that finds or starts the server and waits for it, one HTTP check.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

from jssh import fsutil, ports, probe, remote, watchstatus
from jssh.errors import BusyError, ConfigError, JsshError, RemoteError, SshError, WaitTimeout
from jssh.hosts import HostRecord
from jssh.paths import Paths
from jssh.session.owner import ForeignListener, TunnelOwner
from jssh.ssh import Ssh, last_line
from jssh.states import HostStatus, ServerState, UpResult

DEFAULT_WAIT = 90.0  # seconds for a server to come up; JupyterLab's first start is slow


class Jupyter:
    """Jupyter on one managed host, reached through that host's control master."""

    def __init__(
        self, paths: Paths, ssh: Ssh, record: HostRecord, say: Callable[[str], None] | None = None
    ) -> None:
        self.paths = paths
        self.ssh = ssh
        self.record = record
        self.say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        self.owner = TunnelOwner.of(record)

    # -- up --------------------------------------------------------------------------
    def up(
        self, *, interactive: bool, wait: float = DEFAULT_WAIT, use_tmux: bool = True
    ) -> UpResult:
        record = self.record
        state_dir = self.paths.host_state_dir(record.name)
        fsutil.ensure_private_dir(state_dir, private_from=self.paths.state_dir)
        with fsutil.exclusive_lock(state_dir / ".lock", f"{record.name}'s tunnel", timeout=wait):
            token = self._local_token()
            # Warm path: our token gets a 200 through the local port, so a master with
            # its forward and our server are all there. No ssh, no remote command.
            if token and self._api_status(token) == 200:
                self._want(True)
                return UpResult(record.url(token), reused=True, server_pid=None, mode=None)
            master = self.ssh.master_pid(record.alias)
            started_master = False
            if master is None:
                self._start_master(interactive)
                started_master = True
            elif not ports.answers(record.local_port):
                self.ssh.add_forward(record.alias, self._forward_spec())
            try:
                result = self._ensure_server(token, wait=wait, use_tmux=use_tmux)
            except BaseException:
                if started_master:  # leave nothing half-done behind
                    self.ssh.stop_master(record.alias)
                raise
            self._want(True)
            return result

    def _start_master(
        self, interactive: bool, alias: str | None = None, log_path: Path | None = None
    ) -> None:
        """Start the master for `alias` (default: NAME-jupyter), once the port is free."""
        port = self.record.local_port
        if not ports.is_free(port):
            raise BusyError(
                f"local port {port} is taken by {ports.describe_holder(port)},"
                f" so the tunnel for {self.record.name} can't listen there",
                hint=f"stop that program, or move jssh: `jssh add {self.record.target}"
                f" --name {self.record.name} --local-port N`",
            )
        fsutil.ensure_private_dir(self.paths.control_dir)
        try:
            self.ssh.start_master(
                alias or self.record.alias,
                interactive=interactive,
                log_path=log_path or self.paths.master_log(self.record.name),
            )
        except SshError:
            self._explain_missing_block()
            raise

    def _explain_missing_block(self) -> None:
        """When ssh fails, first rule out that it never saw jssh's block at all: an
        Include line moved below a Host/Match line is silently conditional, and ssh then
        reports some unrelated-looking failure ("cannot resolve NAME-jupyter")."""
        from jssh.config.sshconfig import include_problems
        from jssh.config.store import Store

        try:
            problems = include_problems(
                Store(self.paths).read_user_config(), self.paths.managed_config
            )
        except JsshError:
            return
        if problems:
            raise ConfigError(
                f"{problems[0]}, so ssh does not see the block for {self.record.alias}",
                hint=f"move the Include line above the first Host/Match line in"
                f" {self.paths.ssh_config} (`jssh doctor` shows where it is)",
            )

    def _forward_spec(self) -> str:
        return f"127.0.0.1:{self.record.local_port}:{self.record.endpoint.forward_target()}"

    def _ensure_server(self, token: str | None, *, wait: float, use_tmux: bool) -> UpResult:
        import secrets

        record = self.record
        new_token = secrets.token_urlsafe(32)
        script = remote.ensure_script(record, new_token, wait_seconds=wait, use_tmux=use_tmux)
        result = self.ssh.run_script(record.alias, script, timeout=wait + 30)
        reply = remote.parse_reply(result.stdout, result.returncode)
        warnings = tuple(v for k, v in reply.fields.items() if k == "WARN")
        for warning in warnings:
            self.say(f"warning: {warning}")
        self._raise_for(reply, result.stderr)
        if reply.get("RUNNING"):
            remote_token = reply.get("TOKEN") or token
            if not remote_token:
                raise RemoteError(
                    f"a Jupyter server for {record.name} runs, but its token is unknown",
                    hint=f"restart it: `jssh down {record.name}` then `jssh up {record.name}`",
                )
            self._save_token(remote_token)
            self._wait_for_http(remote_token, wait=min(wait, 15))
            pid = _int(reply.get("RUNNING"))
            return UpResult(record.url(remote_token), True, pid, reply.get("MODE"), warnings)
        pid = _int(reply.get("STARTED"))
        self._save_token(new_token)
        self._wait_for_http(new_token, wait=min(wait, 30))
        return UpResult(record.url(new_token), False, pid, reply.get("MODE"), warnings)

    def _raise_for(self, reply: remote.Reply, stderr: str) -> None:
        name = self.record.name
        if reply.get("RUNNING") or reply.get("STARTED"):
            return
        if reply.get("DIED") is not None:
            tail = reply.log_tail
            if "already in use" in tail and self.record.endpoint.port:
                raise BusyError(
                    f"remote port {self.record.endpoint.port} is already in use on {name}",
                    hint=f"pick another: `jssh add {self.record.target} --name {name}"
                    " --remote-port N`, or use the default unix socket",
                    details=tail,
                )
            raise RemoteError(
                f"Jupyter on {name} exited right after starting; the end of its log:",
                details=tail or "(the log is empty)",
            )
        if reply.get("TIMEOUT") is not None:
            raise WaitTimeout(
                f"Jupyter on {name} did not start listening in time; the end of its log:",
                details=reply.log_tail or "(the log is empty)",
                hint=f"see `jssh logs {name}`; a first JupyterLab start can be slow:"
                " try again with a longer --timeout",
            )
        raise reply_error(self.record, reply, stderr, side="the remote side")

    def _wait_for_http(self, token: str, *, wait: float) -> None:
        """Poll the server through the forward until it answers 200 (bounded)."""
        deadline = time.monotonic() + wait
        delay = 0.02
        last = "no answer"
        while True:
            code = self._api_status(token)
            if code == 200:
                return
            if code == 403:
                name = self.record.name
                raise RemoteError(
                    f"the server for {name} refuses jssh's token",
                    hint=f"restart it: `jssh down {name}` then `jssh up {name}`",
                )
            if code is not None:
                last = f"HTTP {code}"
            if time.monotonic() >= deadline:
                raise WaitTimeout(
                    f"Jupyter on {self.record.name} does not answer through the tunnel"
                    f" on port {self.record.local_port} ({last})",
                    hint=f"see `jssh logs {self.record.name}` and `jssh status {self.record.name}`",
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    def _api_status(self, token: str | None, timeout: float = 5.0) -> int | None:
        """HTTP status of GET /api/status through the forward; None when nothing answers.
        The token goes only to our own master (ForeignListener otherwise)."""
        return probe.http_status(
            self.record.local_port, token=token, owner_proven=self.owner.proven, timeout=timeout
        )

    # -- down --------------------------------------------------------------------------
    def down(self, *, keep_server: bool) -> list[str]:
        """Stop the server (unless kept) and the master. Returns what was done."""
        record = self.record
        done: list[str] = []
        self._want(False)
        master = self.ssh.master_pid(record.alias)
        if not keep_server:
            token = self._local_token()
            if master and token and self._shutdown_via_api(token):
                done.append("asked Jupyter to shut down (kernels closed cleanly)")
            try:
                result = self.ssh.run_script(record.alias, remote.stop_script(record), timeout=60)
            except JsshError:
                result = None
            if result is None or result.returncode == 255:
                done.append(f"could not reach {record.name} to stop the server")
            else:
                reply = remote.parse_reply(result.stdout, result.returncode)
                stopped = reply.get("STOPPED") or reply.get("KILLED")
                if stopped:
                    done.append(f"stopped the Jupyter server (pid {stopped})")
                elif not done:
                    done.append("no Jupyter server was running")
            with contextlib.suppress(FileNotFoundError):
                self.paths.token_file(record.name).unlink()
        if master is not None and self.ssh.stop_master(record.alias):
            done.append(f"closed the tunnel (master pid {master})")
        elif master is None:
            done.append("no tunnel was open")
        return done

    def _shutdown_via_api(self, token: str) -> bool:
        try:
            status = probe.http_status(
                self.record.local_port,
                "/api/shutdown",
                token=token,
                owner_proven=self.owner.proven,
                method="POST",
                timeout=10,
            )
        except ForeignListener:
            return False  # the remote stop script still stops the server
        return status in (200, 204)

    # -- status / url / logs -----------------------------------------------------------
    def status(self, *, ask_remote: bool = True) -> HostStatus:
        record = self.record
        master = self.ssh.master_pid(record.alias)
        answers = ports.answers(record.local_port)
        token = self._local_token()
        server, pid, uptime, mode, detail = ServerState.UNKNOWN, None, None, None, None
        if master is not None and ask_remote:
            try:
                result = self.ssh.run_script(record.alias, remote.status_script(record), timeout=20)
                reply = remote.parse_reply(result.stdout, result.returncode)
                if reply.get("RUNNING"):
                    server, pid = ServerState.RUNNING, _int(reply.get("RUNNING"))
                    uptime, mode = _uptime(reply.get("UPTIME")), reply.get("MODE")
                    token = reply.get("TOKEN") or token
                elif reply.get("STOPPED") is not None:
                    server = ServerState.STOPPED
                else:
                    detail = last_line(result.stderr)
            except JsshError as exc:
                detail = exc.message
        elif master is None:
            detail = "no tunnel: the server can't be asked (run `jssh up`)"
        return HostStatus(
            name=record.name,
            alias=record.alias,
            master_pid=master,
            local_port=record.local_port,
            port_answers=answers,
            server=server,
            server_pid=pid,
            server_uptime_s=uptime,
            mode=mode,
            url=record.url(token) if token and server != ServerState.STOPPED else None,
            wanted=self.paths.wanted_marker(record.name).exists(),
            detail=detail,
            watchdog=_watchdog_action(self.paths, record.name),
        )

    def url(self) -> str:
        token = self._local_token()
        if not token:
            raise RemoteError(
                f"jssh has no token for {self.record.name} yet",
                hint=f"run `jssh up {self.record.name}` first",
            )
        return self.record.url(token)

    def logs(self, *, lines: int, follow: bool) -> int:
        if self.ssh.master_pid(self.record.alias) is None:
            raise SshError(
                f"no tunnel to {self.record.name}", hint=f"run `jssh up {self.record.name}` first"
            )
        return self.ssh.run_attached(
            self.record.alias, remote.log_command(self.record, lines, follow)
        )

    # -- local state ---------------------------------------------------------------------
    def _local_token(self) -> str | None:
        try:
            token = self.paths.token_file(self.record.name).read_text().strip()
        except (OSError, UnicodeDecodeError):  # a damaged token file: `up` fetches it again
            return None
        return token or None

    def _save_token(self, token: str) -> None:
        path = self.paths.token_file(self.record.name)
        fsutil.ensure_private_dir(path.parent, private_from=self.paths.state_dir)
        fsutil.atomic_write(path, token + "\n")

    def _want(self, wanted: bool) -> None:
        marker = self.paths.wanted_marker(self.record.name)
        if wanted:
            if marker.exists():
                return
            fsutil.ensure_private_dir(marker.parent, private_from=self.paths.state_dir)
            fsutil.atomic_write(marker, "")
        else:
            with contextlib.suppress(FileNotFoundError):
                marker.unlink()


def reply_error(record: HostRecord, reply: remote.Reply, stderr: str, *, side: str) -> JsshError:
    """The error for the answers every remote script can give (jupyter missing, another
    jssh busy, a refusal, a lost connection), once the caller handled its own."""
    name = record.name
    if reply.get("NOTFOUND") is not None:
        return RemoteError(
            f"jupyter was not found on {name}; tried {reply.get('NOTFOUND')}",
            hint=f"install JupyterLab there, or tell jssh where it is: "
            f"`jssh add {record.target} --name {name} --venv PATH`"
            " (or --conda ENV, --login-shell, --command CMD)",
        )
    if reply.get("SOCKDIR") is not None:
        home = reply.get("HOME") or "$HOME"
        return RemoteError(
            f"on {name}, the socket directory {reply.get('SOCKDIR')} belongs to someone else"
            " (or is a link); jssh will not put Jupyter's socket there",
            hint=f"use a path under your home there: `jssh add {record.target} --name {name}"
            f" --remote-socket {home}/.jssh/{name}/jupyter.sock`",
        )
    if reply.get("BUSY") is not None:
        return BusyError(str(reply.get("BUSY")))
    if reply.get("ERROR") is not None:
        return RemoteError(f"{name}: {reply.get('ERROR')}")
    if reply.returncode == 255:
        return SshError(
            f"lost the connection to {record.alias}: {last_line(stderr)}",
            hint=f"check `jssh status {name}`, then run `jssh up {name}` again",
        )
    return RemoteError(f"{side} of {name} failed (exit {reply.returncode}): {last_line(stderr)}")


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


def _uptime(text: str | None) -> int | None:
    """Seconds from `ps -o etimes` or `[[dd-]hh:]mm:ss` from `ps -o etime`."""
    if not text:
        return None
    if text.isdigit():
        return int(text)
    days, _, rest = text.rpartition("-")
    parts = [int(p) for p in rest.split(":") if p.isdigit()]
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds + (int(days) * 86400 if days.isdigit() else 0)


def _watchdog_action(paths: Paths, name: str) -> dict[str, object] | None:
    return watchstatus.last_action(paths, name)
