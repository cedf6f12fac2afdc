"""The watchdog's event sources and blocking jobs, where they can run without ssh:
netlink parsing, file classification, the reachability probe, the exit notifier,
the worker pool, the sshd address from `ssh -G`."""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from jssh.exits import exit_notifier
from jssh.paths import Paths
from jssh.watchdog import network_came_up
from jssh.watchdog.sources import (
    FileEvents,
    FileWatch,
    Probe,
    WakePipe,
    inotify_watching,
)
from jssh.watchdog.worker import Workers, probe_address


def _rtnl(kind: int, flags: int = 0) -> bytes:
    body = struct.pack("=BxHiII", 0, 1, 7, flags, 0xFFFFFFFF)
    return struct.pack("=LHHLL", 16 + len(body), kind, 0, 0, 0) + body


def test_only_links_coming_up_and_new_addresses_or_routes_nudge_the_retries() -> None:
    lower_up, running = 0x10000, 0x40
    assert network_came_up(_rtnl(16, lower_up | running | 1))  # RTM_NEWLINK, carrier on
    assert not network_came_up(_rtnl(16, 1))  # RTM_NEWLINK, carrier off: a cut
    assert not network_came_up(_rtnl(17))  # RTM_DELLINK
    assert network_came_up(_rtnl(20))  # RTM_NEWADDR
    assert network_came_up(_rtnl(24))  # RTM_NEWROUTE
    assert not network_came_up(_rtnl(21) + _rtnl(25))  # RTM_DELADDR, RTM_DELROUTE
    assert network_came_up(_rtnl(17) + _rtnl(16, lower_up))  # the second message counts
    assert not network_came_up(b"\x00" * 8)  # truncated: ignored


def test_file_changes_are_sorted_into_hosts_markers_and_control_sockets(tmp_path: Path) -> None:
    paths = Paths.build(ssh_config=tmp_path / "ssh" / "config", state_dir=tmp_path / "state")
    events = FileEvents()
    events.add(paths, 2, str(paths.hosts_file))
    events.add(paths, 1, str(paths.wanted_marker("ws")))
    events.add(paths, 3, str(paths.wanted_marker("hpc")))
    events.add(paths, 3, str(paths.control_dir / "abc"))
    events.add(paths, 1, str(paths.control_dir / "abc"))
    events.add(paths, 2, str(paths.control_dir / "def"))  # modified: no news
    events.add(paths, 1, str(paths.host_state_dir("ws") / "token"))  # not ours to watch
    assert events.hosts_file
    assert events.markers == {"ws", "hpc"}
    assert events.sockets == {str(paths.control_dir / "abc"): {"added", "deleted"}}


def _answer_once(server: socket.socket, data: bytes) -> threading.Thread:
    def serve() -> None:
        conn, _ = server.accept()
        conn.sendall(data)
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def _run(probe: Probe) -> bool:
    import selectors

    with selectors.DefaultSelector() as sel:
        sel.register(probe.sock, selectors.EVENT_WRITE)
        while True:
            assert sel.select(timeout=5), "the probe never became ready"
            answer = probe.step()
            if answer is not None:
                return answer
            sel.modify(probe.sock, selectors.EVENT_READ)


@pytest.mark.parametrize(("banner", "reachable"), [(b"SSH-2.0-OpenSSH_9.2\r\n", True),
                                                   (b"HTTP/1.1 400\r\n", False)])  # fmt: skip
def test_a_probe_counts_a_host_reachable_only_when_an_sshd_answers(
    banner: bytes, reachable: bool
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        thread = _answer_once(server, banner)
        probe = Probe((socket.AF_INET, server.getsockname()))
        try:
            assert not probe.failed
            assert _run(probe) is reachable
        finally:
            probe.close()
        thread.join(timeout=5)


def test_a_probe_of_a_closed_port_says_unreachable() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        address = server.getsockname()
    probe = Probe((socket.AF_INET, address))
    try:
        assert probe.failed or _run(probe) is False
    finally:
        probe.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pidfd: Linux")
def test_a_process_exit_makes_its_notifier_readable() -> None:
    import select

    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                            stdin=subprocess.PIPE)  # fmt: skip
    notifier = exit_notifier(proc.pid)
    assert notifier is not None
    try:
        assert select.select([notifier], [], [], 0)[0] == []
        assert proc.stdin is not None
        proc.stdin.close()
        assert select.select([notifier], [], [], 5)[0] == [notifier]
    finally:
        notifier.close()
        proc.wait()


def test_a_slow_job_does_not_hold_up_the_others() -> None:
    answers: list[tuple[str, object]] = []
    done = threading.Event()
    release = threading.Event()

    def deliver(key: str, answer: object) -> None:
        answers.append((key, answer))
        if key == "fast":
            done.set()

    workers: Workers[str] = Workers(deliver, size=2)
    workers.submit("slow", lambda: release.wait(10))  # a squeue that takes its time
    workers.submit("fast", lambda: "pid 7")
    assert done.wait(5), "the quick job waited for the slow one"
    release.set()
    assert answers[0] == ("fast", "pid 7")


def test_a_bug_in_a_job_reaches_the_loop_as_its_exception() -> None:
    got: list[object] = []
    seen = threading.Event()
    workers: Workers[None] = Workers(lambda key, answer: (got.append(answer), seen.set()))
    workers.submit(None, lambda: 1 / 0)
    assert seen.wait(5)
    assert isinstance(got[0], ZeroDivisionError)


def test_the_probe_goes_to_the_sshd_that_ssh_connects_to_directly() -> None:
    assert probe_address({"hostname": ["192.0.2.7"], "port": ["2222"]}) == (
        socket.AF_INET, ("192.0.2.7", 2222))  # fmt: skip
    assert probe_address({"hostname": ["2001:db8::1"]}) == (
        socket.AF_INET6, ("2001:db8::1", 22, 0, 0))  # fmt: skip
    # A name would need a DNS lookup (which can block); a jump host hides the sshd.
    assert probe_address({"hostname": ["ws.example.org"]}) is None
    assert probe_address({"hostname": ["192.0.2.7"], "proxyjump": ["bastion"]}) is None
    assert probe_address({"hostname": ["192.0.2.7"], "proxycommand": ["none"]}) is not None


def test_a_file_watch_is_ready_only_once_the_kernel_watches_its_directory(tmp_path: Path) -> None:
    watched, other = tmp_path / "watched", tmp_path / "other"
    watched.mkdir()
    other.mkdir()
    wake, stop = WakePipe(), threading.Event()
    try:
        files = FileWatch([watched], wake, stop, recursive=False)
        files.wait_ready()
        assert inotify_watching([watched]) is True
        assert inotify_watching([watched, other]) is False

        (watched / "config").write_text("Host a\n")  # seen at once: nothing was missed
        deadline = time.monotonic() + 10
        seen: set[str] = set()
        while str(watched / "config") not in seen and time.monotonic() < deadline:
            changed, errors = files.take_paths()
            assert errors == []
            seen |= changed
            time.sleep(0.05)
        assert str(watched / "config") in seen
    finally:
        stop.set()
        wake.close()
