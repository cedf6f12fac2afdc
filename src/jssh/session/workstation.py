"""A workstation backend: Jupyter detached under tmux (nohup without tmux) on the host
itself, on a private unix socket, reached through the host's own master.

The cold `up` is: the master (prompts go to the user), one remote script that finds
or starts the server and waits for it, one HTTP check through the forward.
"""

from __future__ import annotations

from dataclasses import dataclass

from jssh import remote, watchstatus
from jssh.errors import BusyError, JsshError, RemoteError, WaitTimeout
from jssh.session import forwards
from jssh.session.idle import idle_state
from jssh.session.lifecycle import HostParts
from jssh.session.replies import parse_int, parse_uptime, reply_error
from jssh.ssh import last_line
from jssh.states import HostStatus, ServerState, UpResult


@dataclass(frozen=True)
class ServerStart:
    """How a restart with the saved token went (for `jssh watch`): `answer` is ensure.sh's
    typed reply (RUNNING, STARTED, DIED, TIMEOUT, NOTFOUND, BUSY, SOCKDIR, ERROR), None
    when ssh itself failed or (`no_token`) there was no token to start it with."""

    answer: remote.ReplyKey | None
    pid: int | None = None
    no_token: bool = False
    detail: str = ""  # for the log only


_FAILED = {
    remote.ReplyKey.DIED: "it exited as it started",
    remote.ReplyKey.TIMEOUT: "it did not listen in time",
    remote.ReplyKey.NOTFOUND: "jupyter was not found",
    remote.ReplyKey.SOCKDIR: "its socket's directory is not private",
    remote.ReplyKey.ERROR: "its remote directory can't be made private",
    remote.ReplyKey.BUSY: "another jssh works on it",
}


class WorkstationBackend:
    """Jupyter on the managed host itself."""

    def __init__(self, parts: HostParts) -> None:
        self.parts = parts
        self.paths, self.ssh, self.record = parts.paths, parts.ssh, parts.record
        self.files, self.tunnel, self.say = parts.files, parts.tunnel, parts.say

    # -- up --------------------------------------------------------------------------
    def lock_timeout(self, wait: float) -> float:
        return wait

    def keeps_login_after(self, failure: BaseException) -> bool:
        return False

    def bring_up(self, *, interactive: bool, wait: float, use_tmux: bool) -> UpResult:
        self.tunnel.ensure_forward()  # a master that outlived its forward gets it again
        how = "tmux or nohup" if use_tmux else "nohup"
        self.parts.progress.step(f"finding or starting Jupyter on {self.record.name} ({how})…")
        return self._ensure_server(self.files.token(), wait=wait, use_tmux=use_tmux)

    def _ensure_server(self, token: str | None, *, wait: float, use_tmux: bool) -> UpResult:
        import secrets

        record = self.record
        # The saved token, when there is one: a server started again (after a crash, a
        # reboot) keeps the URL a browser has open. `down` and `up --new-token` forget it.
        new_token = token or secrets.token_urlsafe(32)
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
            self.files.save_token(remote_token)
            self.parts.progress.step("waiting for Jupyter to answer through the tunnel…")
            self.tunnel.wait_for_http(remote_token, wait=min(wait, 15))
            pid = parse_int(reply.get("RUNNING"))
            return UpResult(record.url(remote_token), True, pid, reply.get("MODE"), warnings)
        pid = parse_int(reply.get("STARTED"))
        self.files.save_token(new_token)
        self.parts.progress.step("waiting for Jupyter to answer through the tunnel…")
        self.tunnel.wait_for_http(new_token, wait=min(wait, 30))
        return UpResult(record.url(new_token), False, pid, reply.get("MODE"), warnings)

    def restart(self, *, wait: float, use_tmux: bool) -> ServerStart:
        """Start the server again as `up` would, with the saved token, without asking
        anything of the tunnel (`jssh watch` restarts a server that died)."""
        token = self.files.token()
        if token is None:
            return ServerStart(None, no_token=True)
        script = remote.ensure_script(self.record, token, wait_seconds=wait, use_tmux=use_tmux)
        try:
            result = self.ssh.run_script(self.record.alias, script, timeout=wait + 30)
        except JsshError as exc:
            return ServerStart(None, detail=exc.message)
        reply = remote.parse_reply(result.stdout, result.returncode)
        K = remote.ReplyKey
        for key in (K.STARTED, K.RUNNING):
            if reply.has(key):
                remote_token = reply.value(K.TOKEN)
                if key is K.RUNNING and remote_token and remote_token != token:
                    self.files.save_token(remote_token)  # another jssh started this one
                return ServerStart(key, parse_int(reply.value(key)))
        failed = (K.DIED, K.TIMEOUT, K.NOTFOUND, K.SOCKDIR, K.ERROR, K.BUSY)
        found = [key for key in failed if reply.has(key)]
        if not found:
            return ServerStart(None, detail=last_line(result.stderr) or f"exit {result.returncode}")
        what = _FAILED.get(found[0], found[0].value)
        said = [line.strip() for line in reply.log_tail.splitlines()]
        said = [line for line in said if line and not line.startswith("jssh:")]  # run.sh's own
        return ServerStart(found[0], detail=f"{what}: {said[-1]}" if said else what)

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

    # -- down ------------------------------------------------------------------------
    def take_down(self, *, keep_server: bool) -> list[str]:
        record = self.record
        done: list[str] = []
        master = self.tunnel.master_pid()
        if not keep_server:
            token = self.files.token()
            if master and token and self.tunnel.shutdown_server(token):
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
        if master is not None and self.tunnel.stop():
            done.append(f"closed the tunnel (master pid {master})")
        elif master is None:
            done.append("no tunnel was open")
        return done

    # -- status / logs -------------------------------------------------------------------
    def status(self, *, ask_remote: bool = True) -> HostStatus:
        record = self.record
        master = self.tunnel.master_pid()
        probes = forwards.Probes(record, master)  # read once the status script is back
        token = self.files.token()
        answers, serving, foreign = self.tunnel.answer(token)
        server, pid, uptime, mode, detail = ServerState.UNKNOWN, None, None, None, foreign
        if master is not None and ask_remote:
            try:
                result = self.ssh.run_script(record.alias, remote.status_script(record), timeout=20)
                reply = remote.parse_reply(result.stdout, result.returncode)
                if reply.get("RUNNING"):
                    server, pid = ServerState.RUNNING, parse_int(reply.get("RUNNING"))
                    uptime, mode = parse_uptime(reply.get("UPTIME")), reply.get("MODE")
                    token = reply.get("TOKEN") or token
                elif reply.get("STOPPED") is not None:
                    server = ServerState.STOPPED
                else:
                    detail = last_line(result.stderr)
            except JsshError as exc:
                detail = exc.message
        elif master is None and token is None and not self.files.wanted:
            server = ServerState.STOPPED  # `down` stopped it and forgot its token
        elif master is None:
            detail = detail or "no tunnel: the server can't be asked (run `jssh up`)"
        if master is not None and server is ServerState.RUNNING and not answers:
            detail = "the server runs but does not answer through the tunnel"
        elif master is not None and server is ServerState.STOPPED and self.files.wanted:
            detail = f"the server is not running (run `jssh up {record.name}`)"
        asked = master is not None and ask_remote
        idle = idle_state(self.parts, server, serving, token, asked=asked)
        detail = idle.detail or detail
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
            wanted=self.files.wanted,
            detail=detail,
            watchdog=watchstatus.last_action(self.paths, record.name),
            serving=serving,
            idle_timeout_s=record.launch.idle_timeout,
            idle_s=idle.idle_s,
            stopped_idle=idle.stopped,
            forwards=probes.finish(round_trip=master is not None and ask_remote),
        )

    def logs(self, *, lines: int, follow: bool) -> int:
        return self.tunnel.show_log(remote.log_command(self.record, lines, follow), follow=follow)
