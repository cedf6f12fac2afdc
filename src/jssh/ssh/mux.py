"""Ask a running ssh control master for its pid, over its own control socket.

`ssh -O check` costs a process start (~15 ms); the master answers the same question
in well under a millisecond when asked directly in the mux protocol (OpenSSH's
PROTOCOL.mux: HELLO both ways, then ALIVE_CHECK -> ALIVE carrying the master's pid).

The socket's SO_PEERCRED is no substitute: a ControlPersist master binds its socket
and then forks into the background, so the kernel reports the pid of the parent that
has since exited (measured with OpenSSH 9.2). SO_PEERCRED's uid is still right, and
is checked: a master we talk to must run as us.
"""

from __future__ import annotations

import os
import socket
import struct
from enum import Enum
from pathlib import Path

MUX_MSG_HELLO = 0x00000001
_MUX_C_ALIVE_CHECK = 0x10000004
_MUX_S_ALIVE = 0x80000005
MUX_VERSION = 4
_REQUEST_ID = 1
MAX_PACKET = 256 * 1024


class MasterAnswer(Enum):
    """What the control socket said, when it gave no pid."""

    NONE = "no master listens on the control socket"
    SILENT = "the master does not answer (stopped or hung)"
    FOREIGN = "the control socket belongs to another user"


def master_pid(control_path: str | Path, *, timeout: float = 1.0) -> int | MasterAnswer:
    """The pid of the master listening on CONTROL_PATH, or why there is none."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(os.fspath(control_path))
        except TimeoutError:
            return MasterAnswer.SILENT
        except OSError:
            return MasterAnswer.NONE  # no socket, or a stale one (ECONNREFUSED)
        if _peer_uid(sock) not in (None, os.getuid()):
            return MasterAnswer.FOREIGN
        try:
            hello = read_packet(sock)
            if hello is None or u32(hello, 0) != MUX_MSG_HELLO:
                return MasterAnswer.SILENT
            sock.sendall(packet(struct.pack(">II", MUX_MSG_HELLO, MUX_VERSION)))
            sock.sendall(packet(struct.pack(">II", _MUX_C_ALIVE_CHECK, _REQUEST_ID)))
            alive = read_packet(sock)
        except OSError:  # includes the timeout of a stopped master
            return MasterAnswer.SILENT
    if alive is None or len(alive) < 12 or u32(alive, 0) != _MUX_S_ALIVE:
        return MasterAnswer.SILENT
    return u32(alive, 8)


def _peer_uid(sock: socket.socket) -> int | None:
    """The uid on the other end (Linux); None where the platform has no SO_PEERCRED
    (macOS), where the control socket's 0700 directory is the guarantee."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


# -- the protocol's framing: a 4-byte big-endian length, then the payload (shared with
# jssh.ssh.muxforward) ---------------------------------------------------------------------
def packet(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def read_packet(sock: socket.socket) -> bytes | None:
    head = read_exactly(sock, 4)
    if head is None:
        return None
    length = u32(head, 0)
    if length > MAX_PACKET:
        return None
    return read_exactly(sock, length)


def read_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def u32(data: bytes, offset: int) -> int:
    return int(struct.unpack_from(">I", data, offset)[0])
