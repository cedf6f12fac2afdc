"""What the remote scripts' answers mean, for every kind of host.

The answers every script can give (jupyter missing, another jssh busy, a socket
directory that isn't ours, a lost connection) map to one error each, here, once;
each backend handles its own answers first.
"""

from __future__ import annotations

from jssh import remote
from jssh.errors import BusyError, JsshError, RemoteError, SshError
from jssh.hosts import HostRecord
from jssh.ssh import last_line


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


def parse_int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


def parse_uptime(text: str | None) -> int | None:
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
