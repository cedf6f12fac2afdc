"""A userspace TCP relay that can play a dead network link, no root needed."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .laptop import Laptop
    from .sshd import Sshd

__all__ = ["RelayLab", "TcpRelay"]


class _Conn:
    """One relayed connection: the accepted client socket and its upstream."""

    def __init__(self, client: socket.socket) -> None:
        self.client = client
        self.upstream: socket.socket | None = None
        self.dead = False
        # Set when the connection lived through a blackhole: restore(reset_held=True)
        # resets exactly these.
        self.held = False
        # Set by forget_connections(): what it carries is dropped, silently, for good.
        self.forgotten = False
        self.lock = threading.Lock()
        self.pumps_left = 2

    def sockets(self) -> list[socket.socket]:
        return [s for s in (self.client, self.upstream) if s is not None]

    def abort(self, *, rst: bool) -> None:
        """Close both ends now. rst=True sends a TCP RST instead of a FIN."""
        with self.lock:
            if self.dead:
                return
            self.dead = True
        for s in self.sockets():
            try:
                if rst:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                # SHUT_RD wakes a pump thread blocked in recv() on this socket
                # without sending anything; the close then sends FIN or RST.
                s.shutdown(socket.SHUT_RD)
            except OSError:
                pass
            s.close()


class TcpRelay:
    """Relay 127.0.0.1:<port> to target_host:target_port, one thread pair per connection.

    blackhole(): like a dead link. Nothing is forwarded either way and nothing is
    closed; bytes already read are held, the rest waits in the kernel buffers.
    New connections are accepted (our kernel completes the TCP handshake, a
    real dead link would not) but get no banner, so `ssh -o ConnectTimeout=N`
    fails the same way, "Connection timed out during banner exchange".

    forget_connections(): a NAT or firewall that forgot the connections open now (its
    state timed out while the laptop slept): what they carry is dropped, and nothing
    is closed or reset, while new connections work.

    restore(): forwarding resumes. By default held connections resume intact,
    as TCP does after a short outage (retransmission bridges it). With
    reset_held=True they are reset instead, as after a long outage or when a
    NAT/firewall dropped the connection's state: the peers see "Connection
    reset" on their next read or write. Connections made after restore() are
    always fine.
    """

    def __init__(
        self, target_host: str, target_port: int, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.target = (target_host, target_port)
        # create_server sets SO_REUSEADDR: a relay restarted on the same port works.
        self._listener = socket.create_server((host, port))
        self.host: str = self._listener.getsockname()[0]
        self.port: int = self._listener.getsockname()[1]
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self._conns: set[_Conn] = set()
        self._closed = False
        self.accepted = 0  # connections accepted so far: shows a reconnect happened
        # Bytes that arrived while blackholed and wait for restore(): shows that
        # something tried to cross the cut link.
        self.held_bytes = 0
        self._threads: list[threading.Thread] = []
        self._spawn(self._accept_loop, f"relay-accept-{self.port}")

    # -- public ------------------------------------------------------------

    @property
    def blackholed(self) -> bool:
        return not self._open.is_set()

    @property
    def active(self) -> int:
        """Connections currently open through the relay."""
        with self._lock:
            return sum(1 for c in self._conns if not c.dead)

    def blackhole(self) -> None:
        """Cut the link: stop forwarding, close nothing."""
        with self._lock:
            self._open.clear()
            for conn in self._conns:
                conn.held = True

    def restore(self, *, reset_held: bool = False) -> None:
        """Bring the link back; optionally reset the connections that lived through the cut."""
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            if conn.held and reset_held:
                conn.abort(rst=True)
            conn.held = False
        self._open.set()

    def forget_connections(self) -> None:
        """The connections open now go silent for good; new ones are relayed as ever."""
        with self._lock:
            for conn in self._conns:
                conn.forgotten = True

    def reset_all(self) -> None:
        """Reset every current connection now (a middlebox forgetting them all)."""
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            conn.abort(rst=True)

    def close(self) -> None:
        """Stop listening, close every connection, join the threads."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):
            # Wakes the accept() blocked in the accept thread.
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            conn.abort(rst=False)
        self._open.set()  # release pumps waiting for a restore
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self) -> TcpRelay:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "blackholed" if self.blackholed else "open"
        return f"<TcpRelay {self.host}:{self.port} -> {self.target[0]}:{self.target[1]} {state}>"

    # -- internals ---------------------------------------------------------

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        # Daemon threads: a test that forgets close() must not hang interpreter exit.
        t = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads = [x for x in self._threads if x.is_alive()]
            self._threads.append(t)
        t.start()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # listener closed
            conn = _Conn(client)
            with self._lock:
                if self._closed:
                    client.close()
                    return
                self.accepted += 1
                conn.held = not self._open.is_set()
                self._conns.add(conn)
            self._spawn(self._serve, f"relay-conn-{self.port}", conn)

    def _gate(self, conn: _Conn) -> bool:
        """Wait while blackholed; False when the connection is gone meanwhile."""
        self._open.wait()
        return not conn.dead and not self._closed

    def _serve(self, conn: _Conn) -> None:
        # During a blackhole even the upstream connect waits: a new client gets
        # a handshake from our kernel and then silence.
        if not self._gate(conn):
            self._forget(conn)
            return
        try:
            upstream = socket.create_connection(self.target, timeout=10)
            upstream.settimeout(None)
        except OSError:
            # Nothing listens upstream: the client sees a reset, as it would
            # connecting to a closed port directly.
            conn.abort(rst=True)
            self._forget(conn)
            return
        with conn.lock:
            conn.upstream = upstream
            dead = conn.dead
        if dead:
            upstream.close()
            self._forget(conn)
            return
        self._spawn(self._pump, f"relay-up-{self.port}", conn, upstream, conn.client)
        self._pump(conn, conn.client, upstream)

    def _pump(self, conn: _Conn, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                try:
                    data = src.recv(65536)
                except OSError:
                    conn.abort(rst=True)  # a reset on one side resets the other
                    break
                if data and conn.forgotten:
                    continue  # dropped on the floor: no answer, no reset
                if data and self.blackholed:
                    with self._lock:
                        self.held_bytes += len(data)
                if not self._gate(conn):
                    break
                if not data:
                    # Half-close: pass the FIN on, keep the other direction going.
                    with contextlib.suppress(OSError):
                        dst.shutdown(socket.SHUT_WR)
                    break
                try:
                    dst.sendall(data)
                except OSError:
                    conn.abort(rst=True)
                    break
        finally:
            with conn.lock:
                conn.pumps_left -= 1
                last = conn.pumps_left == 0
            if last:
                conn.abort(rst=False)
                self._forget(conn)

    def _forget(self, conn: _Conn) -> None:
        with self._lock:
            self._conns.discard(conn)


@dataclass(frozen=True)
class RelayLab:
    """A workstation reached through a TcpRelay, and a laptop whose `workstation`
    host points at the relay's port."""

    workstation: Sshd
    relay: TcpRelay
    laptop: Laptop
