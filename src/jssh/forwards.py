"""Extra forwards: services beside Jupyter (TensorBoard, MLflow, Dash…) reached through
the same master.

A forward is kept with its host in hosts.json and written into the managed block as a
`LocalForward 127.0.0.1:LOCAL TARGET` line, so the master (and a plain `ssh
NAME-jupyter`, and the watchdog's respawn, which all read the block) carries it. The
remote side is a port on the remote's own loopback, or a unix socket path there.

A leaf: plain types and the parsing of what the user typed (`6006`, `16006:6006`,
`/run/user/1000/tb.sock`, `16006:/path.sock`). Picking a free local port is the
caller's: it needs the machine, and this module needs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jssh.errors import UsageError

# Not `from typing import ...`: the warm `up` imports this module, and typing costs it
# ~4 ms (jssh.entry). mypy reads TYPE_CHECKING = False as typing's own.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeGuard

# A unix socket path as the block writes it: absolute, no spaces or quotes (they would
# need quoting rules of their own), and short enough for any socket limit.
_SOCKET_RE = re.compile(r"/[^\s\"'\\]{1,99}")
_PORT_RE = re.compile(r"[0-9]{1,5}")
# A remote socket has no port number to mirror: its local port is the first free from here.
FIRST_SOCKET_FORWARD_PORT = 9000


@dataclass(frozen=True)
class Forward:
    """127.0.0.1:LOCAL on this machine -> 127.0.0.1:REMOTE_PORT, or a unix socket, on the
    remote."""

    local_port: int
    remote_port: int | None = None
    remote_socket: str | None = None

    @property
    def target(self) -> str:
        """The remote half, as LocalForward and `ssh -O forward -L` take it."""
        if self.remote_socket is not None:
            return self.remote_socket
        return f"127.0.0.1:{self.remote_port}"

    def listen(self) -> str:
        return f"127.0.0.1:{self.local_port}"

    def spec(self) -> str:
        """The `-L` argument of `ssh -O forward` / `ssh -O cancel`."""
        return f"{self.listen()}:{self.target}"

    def describe(self) -> str:
        """`127.0.0.1:6006 -> 127.0.0.1:6006` (or `-> /path.sock`), for people."""
        return f"{self.listen()} -> {self.target}"

    def same_remote(self, wanted: ForwardSpec) -> bool:
        return (self.remote_port, self.remote_socket) == (wanted.remote_port, wanted.remote_socket)

    def to_json(self) -> dict[str, object]:
        return {
            "local_port": self.local_port,
            "remote_port": self.remote_port,
            "remote_socket": self.remote_socket,
        }


@dataclass(frozen=True)
class ForwardSpec:
    """What the user typed: the remote side, and the local port when given."""

    text: str
    local_port: int | None
    remote_port: int | None = None
    remote_socket: str | None = None

    def with_local(self, port: int) -> Forward:
        return Forward(port, self.remote_port, self.remote_socket)

    @property
    def preferred_local(self) -> int | None:
        """The local port to try first: the one given, else the remote port's own."""
        return self.local_port if self.local_port is not None else self.remote_port


def parse_spec(text: str, option: str = "--forward") -> ForwardSpec:
    """`REMOTE` or `LOCAL:REMOTE`, REMOTE a port or an absolute unix socket path.

    UsageError (one line, naming OPTION) for anything else."""
    local_text, sep, remote_text = text.partition(":")
    if not sep:
        local_text, remote_text = "", text
    if sep and not _PORT_RE.fullmatch(local_text):
        raise _unknown_form(text, option)
    local = _port(local_text, text, option, "local") if sep else None
    if _PORT_RE.fullmatch(remote_text):
        return ForwardSpec(text, local, remote_port=_port(remote_text, text, option, "remote"))
    if remote_text.startswith("/"):
        if not _SOCKET_RE.fullmatch(remote_text):
            raise UsageError(
                f"{option} {text!r}: a remote socket path must be absolute, under 100 bytes,"
                " without spaces or quotes"
            )
        return ForwardSpec(text, local, remote_socket=remote_text)
    raise _unknown_form(text, option)


def _unknown_form(text: str, option: str) -> UsageError:
    return UsageError(
        f"{option} {text!r} is not PORT, LOCAL:PORT, /SOCKET or LOCAL:/SOCKET",
        hint="e.g. 6006 (TensorBoard), 16006:6006, /run/user/1000/app.sock",
    )


def _port(word: str, text: str, option: str, side: str) -> int:
    if not _PORT_RE.fullmatch(word) or not 0 < int(word) < 65536:
        raise UsageError(f"{option} {text!r}: the {side} port must be 1-65535, not {word!r}")
    return int(word)


def find(forwards: list[Forward], text: str) -> Forward | None:
    """The forward TEXT names (for `jssh forward NAME --remove TEXT`): its local port, its
    remote port or socket, or LOCAL:REMOTE exactly. The local port wins: it is unique."""
    if _PORT_RE.fullmatch(text):
        port = int(text)
        by_local = [f for f in forwards if f.local_port == port]
        by_remote = [f for f in forwards if f.remote_port == port]
        matches = by_local or by_remote
        return matches[0] if matches else None
    wanted = parse_spec(text)
    for forward in forwards:
        if forward.same_remote(wanted) and wanted.local_port in (None, forward.local_port):
            return forward
    return None


def forwards_from_json(value: object, what: str = "forwards") -> list[Forward]:
    """The forwards in hosts.json; ValueError naming the first entry that is wrong."""
    if not isinstance(value, list):
        raise ValueError(f"{what} is not a list")
    found: list[Forward] = []
    for i, entry in enumerate(value):
        where = f"{what}[{i}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} is not an object")
        local, port, socket = (entry.get(k) for k in ("local_port", "remote_port", "remote_socket"))
        if not _is_port(local):
            raise ValueError(f"{where}.local_port is not a port (1-65535): {local!r}")
        if (port is None) == (socket is None):
            raise ValueError(f"{where} must have either a remote_port or a remote_socket")
        if port is not None:
            if not _is_port(port):
                raise ValueError(f"{where}.remote_port is not a port (1-65535): {port!r}")
            found.append(Forward(local, remote_port=port))
        elif isinstance(socket, str) and _SOCKET_RE.fullmatch(socket):
            found.append(Forward(local, remote_socket=socket))
        else:
            raise ValueError(f"{where}.remote_socket is not an absolute path without spaces")
    return found


def _is_port(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536


@dataclass(frozen=True)
class ForwardState:
    """One extra forward as `status` saw it: whether our master listens on its local port,
    and whether a connection there reached a service on the remote."""

    forward: Forward
    listening: bool
    answers: bool
    detail: str | None = None  # why not, in a few words

    def describe(self) -> str:
        if self.answers:
            return "answers"
        return f"no answer ({self.detail})" if self.detail else "no answer"

    def to_json(self) -> dict[str, object]:
        return {
            "local_port": self.forward.local_port,
            "remote": self.forward.target,
            "listening": self.listening,
            "answers": self.answers,
            "detail": self.detail,
        }
