"""The watchdog's bridge (watchdog/relay.py): when the port is held and handed back
(the state machine, with a fake clock), how a relayed connection moves its bytes (the
pure flow rules, then real sockets in process), and the mux request that opens a forward.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
from dataclasses import replace
from pathlib import Path

from jssh.failures import SshFailure
from jssh.ssh import muxforward
from jssh.ssh.muxforward import End
from jssh.watchdog import effects as fx
from jssh.watchdog import events as ev
from jssh.watchdog.machine import handle
from jssh.watchdog.model import Host
from jssh.watchdog.relay import BUFFER_LIMIT, Bridge, Flow, finished, interest
from jssh.watchdog.states import Cause, HostState


# -- when: the machine ------------------------------------------------------------------------
class Drive:
    """One host through its machine, with a fake clock."""

    def __init__(self, **fields: object) -> None:
        self.host = Host("ws", local_port=8899, seed=7, **fields)  # type: ignore[arg-type]
        self.now = 1000.0
        self.effects: list[fx.Effect] = []

    def send(self, event: ev.Event, *, wanted: bool = True) -> list[fx.Effect]:
        self.host, effects = handle(replace(self.host, wanted=wanted), event, self.now)
        self.effects += effects
        return effects

    def ticket(self, kind: type[fx.CheckMaster | fx.Spawn | fx.KillMaster]) -> int:
        return [e for e in self.effects if isinstance(e, kind)][-1].ticket

    def connected(self, pid: int = 100) -> None:
        self.send(ev.Consider(Cause.STARTED))
        self.send(ev.MasterChecked(self.ticket(fx.CheckMaster), pid=pid))

    def respawn(
        self, rc: int, pid: int | None, failure: SshFailure | None = None
    ) -> list[fx.Effect]:
        spawn = [e for e in self.effects if isinstance(e, fx.Spawn)][-1]
        self.send(ev.AttemptExited(spawn.ticket, spawn.master, rc, failure))
        return self.send(ev.MasterChecked(self.ticket(fx.CheckMaster), pid=pid))


def test_a_dead_masters_port_is_held_before_the_respawn_starts() -> None:
    drive = Drive()
    drive.connected()
    effects = drive.send(ev.MasterExited(100))
    kinds = [type(e) for e in effects]
    assert fx.OpenBridge in kinds
    assert fx.Spawn in kinds
    assert kinds.index(fx.OpenBridge) < kinds.index(fx.Spawn)  # the spawn starts without it
    assert drive.host.bridged


def test_the_port_is_handed_back_to_the_new_master_before_anything_else() -> None:
    drive = Drive()
    drive.connected()
    drive.send(ev.MasterExited(100))
    effects = drive.respawn(0, 200)
    assert drive.host.state is HostState.CONNECTED
    assert isinstance(effects[0], fx.HandBack)
    assert not drive.host.bridged
    assert [e for e in drive.effects if isinstance(e, fx.HandBack)] == [fx.HandBack()]


def test_the_port_stays_held_through_failed_respawns_until_one_succeeds() -> None:
    drive = Drive()
    drive.connected()
    drive.send(ev.MasterExited(100))
    drive.respawn(255, None, SshFailure.REFUSED)
    assert drive.host.state is HostState.WAITING
    assert drive.host.bridged  # a page's retry waits in the bridge through the outage
    assert drive.send(ev.Due(drive.host.timers().popitem()[0])) != []
    assert not any(isinstance(e, fx.HandBack) for e in drive.effects)
    effects = drive.respawn(0, 300)
    assert isinstance(effects[0], fx.HandBack)


def test_a_host_brought_down_lets_the_port_go() -> None:
    drive = Drive()
    drive.connected()
    drive.send(ev.MasterExited(100))
    drive.respawn(255, None, SshFailure.REFUSED)
    drive.send(ev.MarkerChanged(), wanted=False)
    assert drive.host.state is HostState.DOWN
    assert not drive.host.bridged  # the executor closes the bridge when settling


def test_a_respawn_that_needs_the_user_lets_the_port_go() -> None:
    drive = Drive()
    drive.connected()
    drive.send(ev.MasterExited(100))
    drive.respawn(255, None, SshFailure.AUTH)
    assert drive.host.state is HostState.NEEDS_USER
    assert not drive.host.bridged


def test_a_master_stopped_by_jssh_down_is_not_bridged() -> None:
    drive = Drive()
    drive.connected()
    effects = drive.send(ev.MasterExited(100), wanted=False)
    assert not any(isinstance(e, fx.OpenBridge) for e in effects)
    assert not drive.host.bridged


def test_a_master_killed_by_the_watchdog_is_bridged_once_it_is_gone() -> None:
    drive = Drive()
    drive.connected()
    drive.send(ev.MasterLooked(100, stopped=True))
    kill = drive.send(ev.MasterLooked(100, stopped=True))
    assert not any(isinstance(e, fx.OpenBridge) for e in kill)  # it still holds the port
    effects = drive.send(ev.MasterKilled(drive.ticket(fx.KillMaster)))
    kinds = [type(e) for e in effects]
    assert kinds.index(fx.OpenBridge) < kinds.index(fx.Spawn)


def test_a_master_adopted_when_the_watchdog_starts_needs_no_hand_back() -> None:
    drive = Drive()
    drive.connected()
    assert not any(isinstance(e, fx.HandBack | fx.OpenBridge) for e in drive.effects)


# -- how: the flow rules ----------------------------------------------------------------------
def test_a_socket_waits_to_read_while_its_flow_has_room_and_to_write_while_bytes_wait() -> None:
    quiet, full = Flow(), Flow(bytearray(b"x" * BUFFER_LIMIT))
    assert interest(quiet, quiet) == selectors.EVENT_READ
    assert interest(full, quiet) == 0  # back-pressure: no reading, and no busy loop
    assert interest(quiet, full) == selectors.EVENT_READ | selectors.EVENT_WRITE


def test_an_ended_sender_is_passed_on_only_once_its_bytes_are_delivered() -> None:
    flow = Flow(bytearray(b"tail"), ended=True)
    assert not flow.wants_read()
    assert not flow.must_pass_on_end()
    flow.buffered.clear()
    assert flow.must_pass_on_end()
    flow.passed_on = True
    assert not flow.must_pass_on_end()


def test_a_connection_is_over_when_both_ends_were_passed_on() -> None:
    done, open_ = Flow(ended=True, passed_on=True), Flow()
    assert not finished(done, open_)
    assert finished(done, Flow(ended=True, passed_on=True))


def test_an_ended_flow_asks_for_nothing() -> None:
    assert interest(Flow(ended=True, passed_on=True), Flow()) == 0


# -- how: real sockets, in process ------------------------------------------------------------
def _echo_server(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    return server


def _run(selector: selectors.BaseSelector, until: object, rounds: int = 200) -> None:
    for _ in range(rounds):
        if callable(until) and until():
            return
        for key, _mask in selector.select(0.05):
            if selector.get_map().get(key.fileobj) is key:
                key.data()


def test_a_held_connection_is_relayed_once_the_master_is_there(tmp_path: Path) -> None:
    selector = selectors.DefaultSelector()
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    bridge = Bridge(selector, port)
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    client.sendall(b"sent while no master was there")  # waits in the bridge
    _run(selector, lambda: bool(bridge.held))
    assert len(bridge.held) == 1
    server = _echo_server(tmp_path / "relay.sock")
    bridge.relay_to(tmp_path / "relay.sock")
    bridge.stop_listening()
    received = bytearray()
    client.setblocking(False)

    def echoed() -> bool:
        with contextlib.suppress(BlockingIOError):
            received.extend(client.recv(65536))
        return bytes(received) == b"SENT WHILE NO MASTER WAS THERE"

    _run(selector, echoed)
    assert bytes(received) == b"SENT WHILE NO MASTER WAS THERE"
    assert bridge.relayed == 1
    # The port is free again for the master, while the relay goes on.
    retaken = socket.socket()
    retaken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    retaken.bind(("127.0.0.1", port))
    retaken.close()
    client.close()
    _run(selector, lambda: all(p.closed for p in bridge.pairs))
    assert all(p.closed for p in bridge.pairs)
    bridge.close()
    server.close()
    selector.close()


def test_the_bridge_binds_loopback_only() -> None:
    selector = selectors.DefaultSelector()
    bridge = Bridge(selector, 0)
    assert bridge.listener is not None
    assert bridge.listener.getsockname()[0] == "127.0.0.1"
    bridge.close()
    selector.close()


# -- the mux request ----------------------------------------------------------------------------
def test_an_open_forward_request_is_what_openssh_reads() -> None:
    packet = muxforward.open_forward_request(End.tcp("127.0.0.1", 8899), End.unix("/tmp/j.sock"))
    (length,) = struct.unpack_from(">I", packet, 0)
    body = packet[4:]
    assert len(body) == length
    kind, rid, ftype = struct.unpack_from(">III", body, 0)
    assert (kind, rid, ftype) == (0x10000006, 1, 1)  # MUX_C_OPEN_FWD, MUX_FWD_LOCAL
    rest = body[12:]
    assert rest == (
        struct.pack(">I", 9) + b"127.0.0.1" + struct.pack(">I", 8899)
        + struct.pack(">I", 11) + b"/tmp/j.sock" + struct.pack(">I", 0xFFFFFFFE)
    )  # fmt: skip


def test_the_masters_answers_are_read_as_ok_or_why_not() -> None:
    ok = struct.pack(">II", 0x80000001, 1)
    failure = struct.pack(">III", 0x80000003, 1, 22) + b"Port forwarding failed"
    assert muxforward.reply_error(ok) is None
    assert muxforward.reply_error(failure) == "Port forwarding failed"
    assert muxforward.reply_error(None) == "the master closed its control socket"
