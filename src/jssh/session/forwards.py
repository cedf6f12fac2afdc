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
import time

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
# After a reply through the same master, what a refusal may still need to arrive.
ROUND_TRIP_GRACE = 0.05


def forward_alias(record: HostRecord) -> str:
    """The ssh alias of the master that holds RECORD's forwards."""
    return record.node_alias if record.slurm else record.alias


def busy_error(record: HostRecord, forward: Forward) -> BusyError:
    """The one line for a local port another program holds (as for Jupyter's port)."""
    port, name = forward.local_port, record.name
    moved = f"jssh forward {name} {_other_port(port)}:{forward.target.removeprefix('127.0.0.1:')}"
    if forward in record.forwards:  # saved already: it must go before it can move
        moved = f"jssh forward {name} --remove {port}` and `{moved}"
    return BusyError(
        f"local port {port} is taken by {ports.describe_holder(port)}, so the forward to"
        f" {forward.target} on {name} can't listen there",
        hint=f"stop that program, or use another local port: `{moved}`",
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


class Probes:
    """The extra forwards' probes, begun before `status` asks the remote anything and
    read after: a connection through our master that the master has not closed by then
    reached a service (see `finish`). Nothing is sent on them, and never the token."""

    def __init__(self, record: HostRecord, master: int | None) -> None:
        self.started = time.monotonic()
        self.found: list[ForwardState | None] = []
        self.open: dict[int, socket.socket] = {}  # index in `found` -> its connection
        for i, forward in enumerate(record.forwards):
            state = _without_probe(record, forward, master)
            if state is None:
                conn = _connect(forward.local_port)
                if conn is None:
                    state = ForwardState(forward, True, False, "the master refused the connection")
                else:
                    self.open[i] = conn
            self.found.append(state)
        self.forwards = record.forwards

    def finish(self, *, round_trip: bool) -> tuple[ForwardState, ...]:
        """The states. The master closes a connection one round trip after the remote
        refused its channel. With `round_trip`, a request through the same master
        (the status script) has come back since: a refusal is here by now, and a short
        grace is enough; otherwise wait up to CHANNEL_WAIT from the start."""
        deadline = (
            time.monotonic() + ROUND_TRIP_GRACE if round_trip else self.started + CHANNEL_WAIT
        )
        closed: set[int] = set()
        pending = dict(self.open)
        while pending and (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select(list(pending.values()), [], [], left)
            for i, conn in list(pending.items()):
                if conn in readable:
                    del pending[i]
                    if _closed(conn):
                        closed.add(i)
        for conn in self.open.values():
            conn.close()
        return tuple(
            found or ForwardState(forward, True, i not in closed, _why(i in closed))
            for i, (forward, found) in enumerate(zip(self.forwards, self.found, strict=True))
        )


def _why(closed: bool) -> str | None:
    return "nothing answers on the remote side" if closed else None


def _without_probe(record: HostRecord, forward: Forward, master: int | None) -> ForwardState | None:
    """The state when no probe is needed (no master, or the port is not its); else None."""
    port = forward.local_port
    if master is None:
        return ForwardState(forward, listening=False, answers=False, detail="no tunnel")
    if not ports.listens_on(master, port):
        if ports.is_free(port):
            return ForwardState(forward, False, False, f"not on {record.name}'s master")
        return ForwardState(forward, False, False, f"taken by {ports.describe_holder(port)}")
    return None


def _connect(port: int) -> socket.socket | None:
    """A connection to our master's listener: the kernel completes it, the master accepts
    it and asks the remote for the channel. None when it fails."""
    try:
        return socket.create_connection(("127.0.0.1", port), timeout=2.0)
    except OSError:
        return None


def _closed(conn: socket.socket) -> bool:
    """Has the master closed CONN (EOF or reset), rather than the service spoken first?"""
    try:
        return conn.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True
