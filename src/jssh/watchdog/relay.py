"""The bridge: the watchdog keeps a host's local port accepting while its master is replaced.

Why: when JupyterLab's kernel websocket closes, the page retries at once; if that try
is refused, it asks the REST API whether the kernel lives, and when that is refused too
it waits a random 10-30 s before asking again (@jupyterlab/services, kernel/default.ts,
`_createSocket`). A master replaced in 0.3 s still cost the user that wait. A port that
accepts during the replacement turns the refused retry into one that waits a few
hundred milliseconds and then goes through.

How (the bridge exists only during the gap; see README, "An open notebook survives"):

1. While a master is followed, the watchdog holds a duplicate of its listening socket
   (take_listener) and never accepts on it. The moment the master is gone (its pidfd),
   or was killed because it could not work, that listener, still open, becomes the
   bridge's: nothing was refused meanwhile, the retries waited in its backlog. (Where
   no duplicate could be had, the bridge binds 127.0.0.1:PORT then, SO_REUSEADDR.) It
   accepts, and holds what it accepts.
2. The new master is started without the TCP forward (ClearAllForwardings).
3. Once it is followed, it is asked (in its mux protocol) for a forward from a unix
   socket in the host's 0700 state dir to Jupyter; the held connections, and any
   accepted until step 4, are relayed to that socket.
4. The port goes back to the master: the listener is closed and the master asked for
   127.0.0.1:PORT (and the extra forwards), in well under a millisecond. Connections
   already relayed go on until they close; new ones go to the master directly.

Everything runs on the watchdog's one selector: no thread and no process per
connection, and no timer; idle, a bridge costs nothing, and most of the time there is
none. Nothing binds beyond 127.0.0.1. `Flow` and `interest` are the pure part.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import selectors
import socket
from dataclasses import dataclass, field
from pathlib import Path

from jssh import fsutil, ports
from jssh.errors import JsshError
from jssh.hosts import Endpoint, HostRecord
from jssh.ssh.muxforward import End, ForwardRefused, open_forward

# Bytes buffered per direction before the relay stops reading from the sender.
BUFFER_LIMIT = 256 * 1024
CHUNK = 64 * 1024
# Connections held while no master is there; more are closed at once (a browser opens
# a handful; hundreds would be a program hammering the port).
MAX_HELD = 256
# Errors that mean "not now" on a non-blocking socket.
_AGAIN = (BlockingIOError, InterruptedError)
# The forward from the new master that the held connections are relayed to, in the
# host's 0700 state dir.
RELAY_SOCKET = "relay.sock"


@dataclass
class Flow:
    """The bytes going one way through a relayed connection, and its end."""

    buffered: bytearray = field(default_factory=bytearray)
    ended: bool = False  # the sender shut its side (read returned EOF)
    passed_on: bool = False  # the receiver was told (shutdown SHUT_WR)

    def wants_read(self) -> bool:
        """Read more from the sender: it has not ended, and there is room."""
        return not self.ended and len(self.buffered) < BUFFER_LIMIT

    def wants_write(self) -> bool:
        return bool(self.buffered)

    def must_pass_on_end(self) -> bool:
        """The sender ended and all it sent is delivered: tell the receiver now."""
        return self.ended and not self.buffered and not self.passed_on


def interest(outgoing: Flow, incoming: Flow) -> int:
    """The selector events one socket waits for: readable while what it sends has room,
    writable while bytes wait for it. 0: nothing to wait for (unregister it)."""
    events = selectors.EVENT_READ if outgoing.wants_read() else 0
    return events | (selectors.EVENT_WRITE if incoming.wants_write() else 0)


def finished(a_to_b: Flow, b_to_a: Flow) -> bool:
    """Both directions ended and were passed on: the connection is over."""
    return a_to_b.passed_on and b_to_a.passed_on


class Pair:
    """One relayed connection: the client's socket and ours to the master's forward."""

    def __init__(
        self, selector: selectors.BaseSelector, client: socket.socket, upstream: socket.socket
    ) -> None:
        self.selector = selector
        self.socks = (client, upstream)
        self.flows = (Flow(), Flow())  # client -> upstream, upstream -> client
        # By descriptor number, not socket object: the loop looks up every ready key
        # again, and a socket closed by an earlier callback of the same batch has none.
        self.registered: dict[int, int] = {}
        self.closed = False
        for sock in self.socks:
            sock.setblocking(False)
        self.step()

    def step(self) -> None:
        """Move what can move now, both ways, without blocking; then wait for the rest."""
        if self.closed:
            return
        try:
            for index in (0, 1):
                self._move(index)
        except OSError:
            self.close()  # a reset on either side ends the connection
            return
        if finished(*self.flows):
            self.close()
            return
        for index, sock in enumerate(self.socks):
            self._want(sock, interest(self.flows[index], self.flows[1 - index]))

    def _move(self, index: int) -> None:
        source, target = self.socks[index], self.socks[1 - index]
        flow = self.flows[index]
        while flow.wants_read():
            try:
                data = source.recv(CHUNK)
            except _AGAIN:
                break
            if not data:
                flow.ended = True
                break
            flow.buffered += data
        while flow.buffered:
            try:
                sent = target.send(flow.buffered)
            except _AGAIN:
                break
            del flow.buffered[:sent]
        if flow.must_pass_on_end():
            with contextlib.suppress(OSError):  # the receiver may be gone already
                target.shutdown(socket.SHUT_WR)
            flow.passed_on = True

    def _want(self, sock: socket.socket, events: int) -> None:
        fd = sock.fileno()
        now = self.registered.get(fd, 0)
        if events == now:
            return
        if events == 0:
            self.selector.unregister(fd)
            del self.registered[fd]
        elif now == 0:
            self.selector.register(fd, events, self.step)
            self.registered[fd] = events
        else:
            self.selector.modify(fd, events, self.step)
            self.registered[fd] = events

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for sock in self.socks:
            if sock.fileno() in self.registered:
                with contextlib.suppress(KeyError, ValueError):
                    self.selector.unregister(sock.fileno())
            sock.close()
        self.registered.clear()


class Bridge:
    """127.0.0.1:PORT held by the watchdog while a host's master is replaced."""

    def __init__(
        self, selector: selectors.BaseSelector, port: int, listener: socket.socket | None = None
    ) -> None:
        """Hold PORT: with LISTENER, the dead master's own listening socket (see
        take_listener), else a new one bound now."""
        self.selector = selector
        self.port = port
        self.held: list[socket.socket] = []
        self.pairs: list[Pair] = []
        self.target: Path | None = None
        self.relayed = 0
        self.inherited = listener is not None
        try:
            if listener is None:
                listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                # As ssh does: a connection of the dead master in TIME_WAIT must not stop us.
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind(("127.0.0.1", port))
                listener.listen(128)
            listener.setblocking(False)
            selector.register(listener.fileno(), selectors.EVENT_READ, self._accept)
        except OSError:
            if listener is not None:
                listener.close()
            raise
        self.listener: socket.socket | None = listener

    @property
    def listening(self) -> bool:
        return self.listener is not None

    def _accept(self) -> None:
        while self.listener is not None:
            try:
                client, _peer = self.listener.accept()
            except _AGAIN:
                return
            except OSError:
                return  # ECONNABORTED and the like: that client is gone
            if self.target is not None:
                self._relay(client)
            elif len(self.held) < MAX_HELD:
                self.held.append(client)
            else:
                client.close()

    def relay_to(self, target: Path) -> None:
        """The master's forward is on TARGET (a unix socket): relay what is held, and
        what is accepted from now on, there."""
        self.target = target
        held, self.held = self.held, []
        for client in held:
            self._relay(client)

    def _relay(self, client: socket.socket) -> None:
        assert self.target is not None
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # A unix socket connects at once or not at all (EAGAIN: its backlog is full).
            upstream.settimeout(1.0)
            upstream.connect(str(self.target))
        except OSError:
            upstream.close()
            client.close()  # the client sees a close and retries: better than a hang
            return
        self.relayed += 1
        self.pairs = [p for p in self.pairs if not p.closed]
        self.pairs.append(Pair(self.selector, client, upstream))

    def stop_listening(self) -> None:
        """Let go of the port (accepting what already waits in the backlog first), so
        the master can take it; the relays go on."""
        self._accept()
        listener, self.listener = self.listener, None
        if listener is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(listener.fileno())
            listener.close()

    def close(self) -> None:
        """Let go of everything: the port, what is held (the clients see a close), and
        the relays."""
        self.stop_listening()
        for client in self.held:
            client.close()
        self.held = []
        for pair in self.pairs:
            pair.close()
        self.pairs = []


Lines = list[tuple[str, str]]  # for the watchdog's log: what happened, what was done


def holds(bridge: Bridge | None) -> bool:
    """BRIDGE exists and holds its port (it is not merely finishing its relays)."""
    return bridge is not None and bridge.listening


def open_bridge(
    selector: selectors.BaseSelector,
    port: int,
    state_dir: Path,
    listener: socket.socket | None,
    previous: Bridge | None,
) -> tuple[Bridge | None, Lines]:
    """Step 1 (see above), with the dead master's LISTENER when we took it. None, and
    why, when the port can't be held (someone else took it the moment our master let
    go): the new master then starts as before. The PREVIOUS bridge's relays (through
    the master that just died: they end now) stay in the new one's care."""
    try:
        fsutil.ensure_private_dir(state_dir)  # where the relay's socket will be
        bridge = Bridge(selector, port, listener)
        if previous is not None:
            bridge.pairs += [pair for pair in previous.pairs if not pair.closed]
        return bridge, []
    except (OSError, JsshError) as exc:
        what = f"cannot hold 127.0.0.1:{port} while the master is replaced: {exc}"
        return None, [(what, "the new master takes it as before")]


def hand_back(bridge: Bridge, control_path: str, record: HostRecord, state_dir: Path) -> Lines:
    """Steps 3 and 4 (see above) with the master behind CONTROL_PATH, now followed.
    Nothing raises: what went wrong is in the lines, and the loop goes on."""
    lines: Lines = []
    jupyter = remote_end(record.endpoint)
    relay_socket = state_dir / RELAY_SOCKET
    with contextlib.suppress(FileNotFoundError):
        relay_socket.unlink()  # an earlier master's: ssh would not bind over it
    try:
        open_forward(control_path, End.unix(str(relay_socket)), jupyter)
    except ForwardRefused as exc:
        lines.append(
            (f"cannot relay the held connections: {exc}", "they are closed; clients retry")
        )
    else:
        bridge.relay_to(relay_socket)
    bridge.stop_listening()
    if bridge.target is None:
        bridge.close()
    forwards = [(record.local_port, jupyter)] + [
        (
            f.local_port,
            End.unix(f.remote_socket)
            if f.remote_socket
            else End.tcp("127.0.0.1", f.remote_port or 0),
        )
        for f in record.forwards
    ]
    for port, target in forwards:
        try:
            open_forward(control_path, End.tcp("127.0.0.1", port), target)
        except ForwardRefused as exc:
            lines.append(
                (f"the new master could not take 127.0.0.1:{port}: {exc}", "left to jssh up")
            )
    done = f"relayed {bridge.relayed} connection(s) held meanwhile"
    return [(f"127.0.0.1:{record.local_port} handed back to the new master", done), *lines]


def remote_end(endpoint: Endpoint) -> End:
    """Where Jupyter listens on the remote, as a forward's connect end."""
    if endpoint.socket:
        return End.unix(endpoint.socket)
    return End.tcp("127.0.0.1", endpoint.port or 0)


# pidfd_getfd(2), Linux >= 5.6: the same number on every architecture jssh runs on.
_SYS_PIDFD_GETFD = 438


def take_listener(pid: int, port: int) -> socket.socket | None:
    """A duplicate of master PID's listening socket on 127.0.0.1:PORT, or None.

    Why: a master killed with -9 closes its connections and its listener in the same
    instant, and the browser's retry comes within a millisecond, before the watchdog
    could bind the port. While we hold a duplicate, the dead master's listener stays
    open: the retry waits in its backlog, not refused, until the bridge accepts it. The
    watchdog never accepts on it while the master lives. pidfd_getfd needs ptrace
    rights over the master (same user; with Yama's ptrace_scope >= 1, not given for a
    master that is not the watchdog's descendant): without them, None, and the bridge
    binds the port the moment the master is gone, racing the retry.
    """
    inodes = ports.listener_inodes(port)
    if not inodes or not hasattr(os, "pidfd_open"):
        return None
    links = {f"socket:[{inode}]" for inode in inodes}
    fd_dir = f"/proc/{pid}/fd"
    try:
        target = next(int(n) for n in os.listdir(fd_dir) if _link(f"{fd_dir}/{n}") in links)
        pidfd = os.pidfd_open(pid)
    except (OSError, StopIteration, ValueError):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = int(libc.syscall(_SYS_PIDFD_GETFD, pidfd, target, 0))
    except (OSError, AttributeError):
        return None
    finally:
        os.close(pidfd)
    return socket.socket(fileno=fd) if fd >= 0 else None


def _link(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""
