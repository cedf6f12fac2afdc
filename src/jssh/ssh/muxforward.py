"""Ask a live control master to open a local forward, in its own mux protocol.

`ssh -O forward -L SPEC ALIAS` costs a process start (~15 ms), and it also sends every
LocalForward of the block, not just SPEC. The watchdog's bridge (watchdog/relay.py)
needs one exact forward opened at one exact moment: while it hands the local port
back to a new master, nothing listens there, so that moment must be short. Spoken
directly (OpenSSH's PROTOCOL.mux: HELLO both ways, then OPEN_FWD -> OK or FAILURE) the
master answers in well under a millisecond.

A forward opened this way is recorded by the master as if it came from its config
(mux.c adds it to its local forwards), so a later plain `ssh NAME-jupyter`, whose
config asks for the same forward, gets "already there" and works as before.
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from jssh.ssh.mux import MUX_MSG_HELLO, MUX_VERSION, packet, read_packet, u32

MUX_C_OPEN_FWD = 0x10000006
MUX_C_CLOSE_FWD = 0x10000007
MUX_S_OK = 0x80000001
MUX_S_PERMISSION_DENIED = 0x80000002
MUX_S_FAILURE = 0x80000003
MUX_FWD_LOCAL = 1
# A unix-socket end of a forward, in place of a port (OpenSSH's PORT_STREAMLOCAL, -2).
PORT_STREAMLOCAL = 0xFFFFFFFE
REQUEST_ID = 1


@dataclass(frozen=True)
class End:
    """One end of a forward: a TCP host and port, or a unix socket's path."""

    host: str = ""
    port: int = 0
    path: str | None = None

    @classmethod
    def tcp(cls, host: str, port: int) -> End:
        return cls(host=host, port=port)

    @classmethod
    def unix(cls, path: str) -> End:
        return cls(path=path)

    def wire(self) -> bytes:
        """The end as OPEN_FWD carries it: a string, then a port (or PORT_STREAMLOCAL)."""
        if self.path is not None:
            return string(self.path.encode()) + struct.pack(">I", PORT_STREAMLOCAL)
        return string(self.host.encode()) + struct.pack(">I", self.port)


class ForwardRefused(Exception):
    """The master did not open the forward (the port is taken, or it has no mux)."""


def open_forward_request(listen: End, connect: End) -> bytes:
    """The OPEN_FWD packet (length-prefixed) for a local forward LISTEN -> CONNECT."""
    body = struct.pack(">III", MUX_C_OPEN_FWD, REQUEST_ID, MUX_FWD_LOCAL)
    return packet(body + listen.wire() + connect.wire())


def reply_error(reply: bytes | None) -> str | None:
    """None when REPLY is the master's OK to our request; else why it is not."""
    if reply is None or len(reply) < 8:
        return "the master closed its control socket"
    kind, rid = struct.unpack_from(">II", reply, 0)
    if kind == MUX_S_OK and rid == REQUEST_ID:
        return None
    if kind in (MUX_S_FAILURE, MUX_S_PERMISSION_DENIED) and len(reply) >= 12:
        (length,) = struct.unpack_from(">I", reply, 8)
        return reply[12 : 12 + length].decode(errors="replace") or "refused"
    return f"unexpected reply 0x{kind:08x}"


def open_forward(
    control_path: str | Path, listen: End, connect: End, *, timeout: float = 2.0
) -> None:
    """Have the master behind CONTROL_PATH listen on LISTEN and forward to CONNECT.
    Raises ForwardRefused with the master's reason."""
    _ask(control_path, open_forward_request(listen, connect), timeout)


def close_forward(
    control_path: str | Path, listen: End, connect: End, *, timeout: float = 2.0
) -> None:
    """Have the master stop forwarding LISTEN -> CONNECT, and only that: `ssh -O cancel
    -L SPEC ALIAS` cancels every LocalForward of the block as well (Jupyter's too).
    Raises ForwardRefused (no such forward, or no master)."""
    body = struct.pack(">III", MUX_C_CLOSE_FWD, REQUEST_ID, MUX_FWD_LOCAL)
    _ask(control_path, packet(body + listen.wire() + connect.wire()), timeout)


def _ask(control_path: str | Path, request: bytes, timeout: float) -> None:
    """HELLO both ways, then REQUEST; ForwardRefused unless the master says OK."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(os.fspath(control_path))
            hello = read_packet(sock)
            if hello is None or u32(hello, 0) != MUX_MSG_HELLO:
                raise ForwardRefused("the control socket does not speak the mux protocol")
            sock.sendall(packet(struct.pack(">II", MUX_MSG_HELLO, MUX_VERSION)))
            sock.sendall(request)
            why = reply_error(read_packet(sock))
        except OSError as exc:
            raise ForwardRefused(f"the master did not answer: {exc}") from None
    if why is not None:
        raise ForwardRefused(why)


def string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data
