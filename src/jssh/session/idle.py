"""`status` for a host with an idle timeout (`jssh add --idle-timeout`): how long its
server has been idle, or that it stopped itself after its timeout rather than dying.

Only asked when the host has a timeout, so other hosts' `status` costs nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass

from jssh import remote
from jssh.durations import format_duration
from jssh.errors import JsshError
from jssh.session.lifecycle import HostParts
from jssh.states import ServerState


@dataclass(frozen=True)
class IdleState:
    idle_s: int | None = None  # seconds since Jupyter's last activity (it runs)
    stopped: bool = False  # it shut itself down after its idle timeout
    detail: str | None = None  # the line `status` prints about it


def idle_state(
    parts: HostParts, server: ServerState, serving: bool, token: str | None, *, asked: bool
) -> IdleState:
    """Ask Jupyter (through our own tunnel) how long it has been idle when it serves; ask
    the remote (ended.sh, one mux round trip) why it stopped when it does not run.
    `asked`: the remote could be asked at all (a master runs, and `status` asks it)."""
    record = parts.record
    timeout = record.launch.idle_timeout
    if not timeout:
        return IdleState()
    if server is ServerState.RUNNING and serving:
        return IdleState(idle_s=parts.tunnel.idle_seconds(token))
    if server is not ServerState.STOPPED or not asked:
        return IdleState()
    try:
        result = parts.ssh.run_script(record.alias, remote.ended_script(record), timeout=20)
    except JsshError:
        return IdleState()
    reply = remote.parse_reply(result.stdout, result.returncode)
    seconds = reply.value(remote.ReplyKey.IDLE)
    if seconds is None or not seconds.isdigit():
        return IdleState()
    detail = (
        f"the server stopped after {format_duration(int(seconds))} idle (its idle timeout is"
        f" {format_duration(timeout)}); `jssh up {record.name}` starts it again"
    )
    return IdleState(stopped=True, detail=detail)
