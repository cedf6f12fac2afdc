"""A host's extra forwards on its running master: add, cancel, and whether each answers.

The block carries them (jssh.config.sshconfig), so every master started from it by
`up` or a plain `ssh NAME-jupyter` listens on them from the start, and the watchdog
gives a respawned master each of them (watchdog/relay.py). This module changes the
forwards of a master that already runs, one forward at a time in the master's own mux
protocol (no reconnect, Jupyter's forward untouched), and looks at them for `status`.

A Slurm host's forwards are on the compute node's master (`NAME-jupyter-node`), beside
Jupyter's: the services run in the job, on the node.
"""

from __future__ import annotations

import select
import socket
from concurrent.futures import ThreadPoolExecutor

from jssh import ports
from jssh.errors import BusyError, SshError
from jssh.forwards import Forward, ForwardState
from jssh.hosts import HostRecord
from jssh.ssh import Ssh
from jssh.ssh.muxforward import End, ForwardRefused, close_forward, open_forward

# How long a connection through the master may stay silent and still count as
# answering. The master accepts every connection at once and only then asks the remote
# for the channel: when nothing listens there, it closes ours one round trip later.
CHANNEL_WAIT = 0.5


def forward_alias(record: HostRecord) -> str:
    """The ssh alias of the master that holds RECORD's forwards."""
    return record.node_alias if record.slurm else record.alias


def busy_error(record: HostRecord, forward: Forward) -> BusyError:
    """The one line for a local port another program holds (as for Jupyter's port)."""
    port = forward.local_port
    return BusyError(
        f"local port {port} is taken by {ports.describe_holder(port)}, so the forward to"
        f" {forward.target} on {record.name} can't listen there",
        hint=f"stop that program, or pick another local port: `jssh forward {record.name}"
        f" {_other_port(port)}:{forward.target.removeprefix('127.0.0.1:')}`",
    )


def _other_port(port: int) -> int:
    return port + 10000 if port < 55536 else port - 10000


def check_free(record: HostRecord, forwards: list[Forward]) -> None:
    """BusyError for the first of FORWARDS whose local port another program holds."""
    for forward in forwards:
        if not ports.is_free(forward.local_port):
            raise busy_error(record, forward)


def add_live(ssh: Ssh, record: HostRecord, forward: Forward) -> bool:
    """Give the running master FORWARD; False when no master runs. A port another
    program holds is refused first, with its name.

    Spoken in the master's own mux protocol (jssh.ssh.muxforward): `ssh -O forward -L`
    would send every LocalForward of the block along with it."""
    master = ssh.master_pid(forward_alias(record))
    if master is None:
        return False
    if not ports.listens_on(master, forward.local_port):
        check_free(record, [forward])
        try:
            open_forward(record.tunnel_control_path, *_ends(forward))
        except ForwardRefused as exc:
            raise SshError(
                f"{record.name}'s tunnel could not forward {forward.describe()}: {exc}"
            ) from None
    return True


def cancel_live(record: HostRecord, forward: Forward) -> bool:
    """Take FORWARD, and only it, off the running master; True when it had it.
    (`ssh -O cancel -L` would cancel every LocalForward of the block, Jupyter's too.)"""
    try:
        close_forward(record.tunnel_control_path, *_ends(forward))
    except ForwardRefused:
        return False
    return True


def _ends(forward: Forward) -> tuple[End, End]:
    remote = (
        End.unix(forward.remote_socket)
        if forward.remote_socket is not None
        else End.tcp("127.0.0.1", forward.remote_port or 0)
    )
    return End.tcp("127.0.0.1", forward.local_port), remote


def states(record: HostRecord, master: int | None) -> tuple[ForwardState, ...]:
    """Each extra forward as `status` shows it, all probed at once."""
    if not record.forwards:
        return ()
    with ThreadPoolExecutor(max_workers=min(8, len(record.forwards))) as pool:
        return tuple(pool.map(lambda f: _state(record, f, master), record.forwards))


def _state(record: HostRecord, forward: Forward, master: int | None) -> ForwardState:
    port = forward.local_port
    if master is None:
        return ForwardState(forward, listening=False, answers=False, detail="no tunnel")
    if not ports.listens_on(master, port):
        if ports.is_free(port):
            return ForwardState(forward, False, False, f"not on {record.name}'s master")
        return ForwardState(forward, False, False, f"taken by {ports.describe_holder(port)}")
    answers = channel_opens(port)
    detail = None if answers else "nothing answers on the remote side"
    return ForwardState(forward, listening=True, answers=answers, detail=detail)


def channel_opens(port: int, wait: float = CHANNEL_WAIT) -> bool:
    """Does a connection to our master's 127.0.0.1:PORT reach a service on the remote?

    Nothing is sent: the service may be anything, and never gets a token. The master
    closes the connection when the remote refuses the channel; one that stays open (or
    that the service speaks on first) reached it."""
    try:
        conn = socket.create_connection(("127.0.0.1", port), timeout=2.0)
    except OSError:
        return False
    with conn:
        try:
            readable, _, _ = select.select([conn], [], [], wait)
            if not readable:
                return True
            return conn.recv(1, socket.MSG_PEEK) != b""
        except OSError:
            return False
