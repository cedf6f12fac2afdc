"""Who holds a local port, and whether it is our own master: read from the kernel.

These use real sockets in this process. The lab tests (tests/test_token.py) prove the
same against real ssh masters and a squatter under another account.
"""

from __future__ import annotations

import getpass
import os
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from jssh import ports
from jssh.session.owner import ForeignListener, TunnelOwner
from jssh.ssh import mux


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_the_process_listening_on_a_port_is_found_by_its_socket(listener: int) -> None:
    assert ports.listens_on(os.getpid(), listener)
    assert not ports.listens_on(os.getppid(), listener)
    inodes = ports.listener_inodes(listener)
    assert inodes, "a listening socket shows in /proc/net/tcp"


def test_a_free_port_has_no_listener() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening
    assert ports.listener_inodes(port) == set()
    assert not ports.listens_on(os.getpid(), port)


def test_the_holder_is_named_with_its_user(listener: int) -> None:
    holder = ports.who_holds(listener)
    assert holder is not None
    assert holder.pid == os.getpid()
    assert holder.describe().endswith(f"(pid {os.getpid()}, user {getpass.getuser()})")


class FakeMaster:
    """A control socket that speaks the mux protocol's ALIVE exchange, or stays silent."""

    def __init__(self, path: Path, *, answer_pid: int | None) -> None:
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(str(path))
        self.server.listen()
        self.answer_pid = answer_pid
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            if self.answer_pid is None:
                conn.recv(1)  # never says hello, as a SIGSTOPped master
                return
            conn.sendall(_packet(struct.pack(">II", 1, 4)))  # HELLO, version 4
            _read_packet(conn)  # the client's HELLO
            request = _read_packet(conn)  # ALIVE_CHECK with a request id
            request_id = struct.unpack(">II", request)[1]
            conn.sendall(_packet(struct.pack(">III", 0x80000005, request_id, self.answer_pid)))

    def close(self) -> None:
        self.server.close()


def _packet(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def _read_packet(conn: socket.socket) -> bytes:
    size = struct.unpack(">I", conn.recv(4))[0]
    return conn.recv(size)


def test_a_master_tells_its_pid_over_the_control_socket(tmp_path: Path) -> None:
    master = FakeMaster(tmp_path / "cm", answer_pid=4242)
    try:
        assert mux.master_pid(tmp_path / "cm") == 4242
    finally:
        master.close()


def test_no_control_socket_means_no_master(tmp_path: Path) -> None:
    assert mux.master_pid(tmp_path / "absent") is mux.MasterAnswer.NONE


def test_a_stale_control_socket_means_no_master(tmp_path: Path) -> None:
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(tmp_path / "cm"))
    stale.close()  # the file stays; nobody listens: ECONNREFUSED
    assert mux.master_pid(tmp_path / "cm") is mux.MasterAnswer.NONE


def test_a_silent_master_is_told_apart_from_no_master(tmp_path: Path) -> None:
    master = FakeMaster(tmp_path / "cm", answer_pid=None)
    try:
        assert mux.master_pid(tmp_path / "cm", timeout=0.2) is mux.MasterAnswer.SILENT
    finally:
        master.close()


def _owner(port: int, control_path: Path) -> TunnelOwner:
    return TunnelOwner(name="ws", port=port, control_path=str(control_path), fix="`jssh add …`")


def test_a_port_held_by_our_master_is_proven(tmp_path: Path, listener: int) -> None:
    # This process holds the port and "is" the master: the pid the socket tells.
    master = FakeMaster(tmp_path / "cm", answer_pid=os.getpid())
    try:
        assert _owner(listener, tmp_path / "cm").proven()
    finally:
        master.close()


def test_a_port_held_by_anyone_else_is_refused_with_the_holder_named(
    tmp_path: Path, listener: int
) -> None:
    master = FakeMaster(tmp_path / "cm", answer_pid=os.getppid())  # not the port's holder
    try:
        with pytest.raises(ForeignListener) as caught:
            _owner(listener, tmp_path / "cm").proven()
    finally:
        master.close()
    assert f"local port {listener} is held by" in caught.value.message
    assert f"pid {os.getpid()}" in caught.value.message
    assert "jssh sent it nothing" in caught.value.message


def test_a_listener_with_no_master_at_all_is_foreign(tmp_path: Path, listener: int) -> None:
    with pytest.raises(ForeignListener):
        _owner(listener, tmp_path / "no-master").proven()


def test_with_nobody_on_the_port_nothing_is_proven_and_nothing_raised(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert not _owner(port, tmp_path / "no-master").proven()
