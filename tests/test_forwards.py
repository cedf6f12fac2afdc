"""Extra forwards against the real lab: a TensorBoard-like HTTP server on the workstation
(`python3 -m http.server` on its 127.0.0.1, and one on a unix socket), reached through
the host's own master; added and removed on a live master; back after a `kill -9` with
the watchdog running; gone with `remove`.

The lab's laptop and workstation share one loopback, so each forward's local port is
not its remote port: an answer on the local port came through the tunnel.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from lab import Laptop, Sshd, free_port, port_is_free, wait_until
from lab.client import api, assert_one_clear_error, status_json, token_of, up
from test_watchdog import Watcher

NAME = "workstation"

# An HTTP server on a unix socket, as some services offer (and as a private one should).
_UNIX_HTTP = """
import http.server, os, socketserver, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    def address_string(self):
        return "unix"
class Server(socketserver.UnixStreamServer):
    pass
path = sys.argv[1]
os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
Server(path, Handler).serve_forever()
"""


class Service:
    """A TensorBoard stand-in on the workstation, started as its account, with a page
    that says which one it is."""

    def __init__(self, ws: Sshd, name: str, argv: list[str]) -> None:
        self.root = ws.remote_home / f"svc-{name}"
        subprocess.run(ws.remote_argv(["mkdir", "-p", str(self.root)]), check=True)
        subprocess.run(
            ws.remote_argv(["sh", "-c", f'echo "{name} says hello" > "$1/index.html"', "sh",
                            str(self.root)]),
            check=True,
        )  # fmt: skip
        self.proc = subprocess.Popen(
            ws.remote_argv(argv),
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # runuser forks: the service is its child
        )

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


Services = Callable[[Sshd, str, list[str]], Service]


@pytest.fixture
def services() -> Iterator[Services]:
    started: list[Service] = []

    def start(ws: Sshd, name: str, argv: list[str]) -> Service:
        service = Service(ws, name, argv)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


def http_service(services: Services, ws: Sshd, name: str) -> int:
    """`python3 -m http.server` on the workstation's 127.0.0.1; its port, once it listens."""
    port = free_port()
    services(ws, name, ["python3", "-m", "http.server", str(port), "--bind", "127.0.0.1"])
    wait_until(lambda: not port_is_free(port), timeout=10, what=f"http.server on {port}")
    return port


def socket_service(services: Services, ws: Sshd, name: str) -> str:
    path = str(ws.remote_home / "run" / f"{name}.sock")
    services(ws, name, ["python3", "-c", _UNIX_HTTP, path])
    wait_until(lambda: os.path.exists(path), timeout=10, what=f"{name} on {path}")
    return path


def page(port: int) -> str | None:
    """GET / on 127.0.0.1:PORT; None when nothing answers there."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/")
        return conn.getresponse().read().decode()
    except OSError:
        return None
    finally:
        conn.close()


def forwards_of(laptop: Laptop) -> dict[int, dict[str, object]]:
    return {int(f["local_port"]): f for f in status_json(laptop, NAME)["forwards"]}


def master_pid(laptop: Laptop, alias: str = f"{NAME}-jupyter") -> int | None:
    check = laptop.ssh("-O", "check", alias)
    if not check.ok:
        return None
    return int(check.stderr.split("pid=")[1].split(")")[0])


# -- the cases ---------------------------------------------------------------------------


@pytest.mark.shared_workstation
def test_plain_ssh_to_the_alias_carries_the_forwards_too(
    laptop: Laptop, workstation: Sshd, services: Services
) -> None:
    remote = http_service(services, workstation, "tensorboard")
    sock = socket_service(services, workstation, "dash")
    local, other = free_port(), free_port()
    added = laptop.jssh(
        "add", NAME, "--forward", f"{local}:{remote}", "--forward", f"{other}:{sock}"
    )
    assert added.ok, added
    assert f"{NAME}: also forwards 127.0.0.1:{local} -> 127.0.0.1:{remote}" in added.stdout
    assert f"{NAME}: also forwards 127.0.0.1:{other} -> {sock}" in added.stdout
    block = laptop.jssh("show", NAME).stdout
    assert f"  LocalForward 127.0.0.1:{local} 127.0.0.1:{remote}\n" in block
    assert f"  LocalForward 127.0.0.1:{other} {sock}\n" in block
    assert re.search(rf"^  forward +127\.0\.0\.1:{local} -> 127\.0\.0\.1:{remote}$", block, re.M)

    # No jssh: the user's own ssh, reading the managed block.
    assert laptop.ssh("-fN", f"{NAME}-jupyter").ok
    try:
        assert page(local) == "tensorboard says hello\n"
        assert page(other) == "dash says hello\n"
    finally:
        laptop.ssh("-O", "exit", f"{NAME}-jupyter")
    wait_until(lambda: port_is_free(local), timeout=10, what="the forward to close")


@pytest.mark.shared_workstation
def test_a_busy_local_port_is_one_line_naming_its_process(laptop: Laptop) -> None:
    assert laptop.jssh("add", NAME).ok
    later = free_port()
    assert laptop.jssh("forward", NAME, f"{later}:6006").ok  # not up: only saved
    with socket.socket() as squatter, socket.socket() as late_squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        busy = (f"(pid {os.getpid()}", "the forward to 127.0.0.1:6006 on workstation can't"
                " listen there")  # fmt: skip
        result = laptop.jssh("forward", NAME, f"{port}:6006")
        assert_one_clear_error(result, 6, f"local port {port} is taken by ", *busy)
        # Given alone, the remote port's own local port is skipped for the next free one.
        moved = laptop.jssh("forward", NAME, str(port))
        assert moved.ok, moved
        found = re.search(rf"forwards 127\.0\.0\.1:(\d+) -> 127\.0\.0\.1:{port} ", moved.stdout)
        assert found, moved
        assert int(found.group(1)) > port
        # `up` checks every port the block asks for before it starts anything.
        late_squatter.bind(("127.0.0.1", later))
        late_squatter.listen()
        refused = laptop.jssh("up", NAME, "--no-open")
        assert_one_clear_error(refused, 6, f"local port {later} is taken by ", *busy)
        assert f"`jssh forward {NAME} --remove {later}` and `jssh forward" in refused.stderr
        doctor = laptop.jssh("doctor", NAME, "--json", timeout=60)
        checks = [c for c in json.loads(doctor.stdout) if c["check"] == "forward-port"]
        taken, free = checks
        assert taken["ok"] is False
        assert taken["detail"].startswith(f"local port {later} is taken by ")
        assert f"(pid {os.getpid()}" in taken["detail"]
        move = rf"`jssh forward {NAME} --remove {later}` and `jssh forward {NAME} \d+:6006`$"
        assert re.search(move, taken["fix"]), taken
        assert free == {
            "check": "forward-port", "host": NAME, "ok": True, "fix": None,
            "detail": f"127.0.0.1:{found.group(1)} (forward to 127.0.0.1:{port}) is free for"
            " the tunnel",
        }  # fmt: skip
        assert doctor.returncode == 1
    assert not laptop.ssh("-O", "check", f"{NAME}-jupyter").ok  # nothing was started
    listed = laptop.jssh("forward", NAME)
    assert [line.split() for line in listed.stdout.splitlines()] == [
        ["LOCAL", "REMOTE"],
        [f"127.0.0.1:{later}", "127.0.0.1:6006"],
        [f"127.0.0.1:{found.group(1)}", f"127.0.0.1:{port}"],
    ]


def test_forwards_live_on_the_running_master_and_come_back_after_a_kill(
    laptop: Laptop, workstation: Sshd, services: Services, tmp_path: Path
) -> None:
    remote = http_service(services, workstation, "tensorboard")
    local = free_port()
    assert laptop.jssh("add", NAME, "--forward", f"{local}:{remote}").ok
    url = up(laptop)
    master = master_pid(laptop)
    assert page(local) == "tensorboard says hello\n"
    state = forwards_of(laptop)[local]
    assert state == {"local_port": local, "remote": f"127.0.0.1:{remote}", "listening": True,
                     "answers": True, "detail": None}  # fmt: skip
    table = laptop.jssh("status", NAME).stdout
    assert f"{NAME}: forward 127.0.0.1:{local} -> 127.0.0.1:{remote}: answers" in table

    # A second one on the running master: no reconnect, Jupyter's tunnel untouched.
    sock = socket_service(services, workstation, "mlflow")
    added = laptop.jssh("forward", NAME, sock)
    assert added.ok, added
    other = int(added.stdout.split("127.0.0.1:")[1].split(" ")[0])
    assert f"forwards 127.0.0.1:{other} -> {sock} (now)" in added.stdout
    assert page(other) == "mlflow says hello\n"
    assert master_pid(laptop) == master

    # A forward to where nothing serves: the master listens, and status says so.
    dead, nowhere = free_port(), free_port()
    assert laptop.jssh("forward", NAME, f"{dead}:{nowhere}").ok
    assert forwards_of(laptop)[dead]["listening"] is True
    assert forwards_of(laptop)[dead]["answers"] is False
    assert forwards_of(laptop)[dead]["detail"] == "nothing answers on the remote side"
    table = laptop.jssh("status", NAME).stdout
    assert f"forward 127.0.0.1:{dead} -> 127.0.0.1:{nowhere}: no answer (nothing answers" in table
    removed = laptop.jssh("forward", NAME, "--remove", str(nowhere))
    assert f"no longer forwards 127.0.0.1:{dead} -> 127.0.0.1:{nowhere}; port {dead} is free" in (
        removed.stdout
    )

    # The watchdog's respawn reads the block: every forward is back with the master.
    watcher = Watcher(laptop)
    try:
        watcher.wait_for(rf"{NAME}: watchdog started: master pid {master}; following it")
        os.kill(master, signal.SIGKILL)
        watcher.wait_for(rf"{NAME}: respawned: master pid (\d+); following it")
        assert page(local) == "tensorboard says hello\n"
        assert page(other) == "mlflow says hello\n"
        respawned = master_pid(laptop)
        assert respawned not in (None, master)
    finally:
        watcher.stop()
    assert json.loads(laptop.jssh("show", NAME, "--json").stdout)["forwards"] == [
        {"local_port": local, "remote_port": remote, "remote_socket": None},
        {"local_port": other, "remote_port": None, "remote_socket": sock},
    ]

    # --remove: the running master stops listening, the block loses the line.
    removed = laptop.jssh("forward", NAME, "--remove", str(local))
    assert removed.ok, removed
    assert port_is_free(local)
    assert f"127.0.0.1:{local}" not in laptop.jssh("show", NAME).stdout
    assert page(other) == "mlflow says hello\n"  # the others stay, and Jupyter's
    assert api(url, "/api/status", token=token_of(url))[0] == 200
    assert master_pid(laptop) == respawned

    # `add` again: without --forward it keeps them; with, the running master follows.
    assert laptop.jssh("add", NAME).ok
    assert f"127.0.0.1:{other} -> {sock}" in laptop.jssh("show", NAME).stdout
    again = laptop.jssh("add", NAME, "--forward", sock, "--forward", f"{local}:{remote}")
    assert again.ok, again
    assert f"the running tunnel forwards 127.0.0.1:{local} -> 127.0.0.1:{remote} now" in (
        again.stderr
    )
    assert f"also forwards 127.0.0.1:{other} -> {sock}" in again.stdout  # kept its port
    assert page(local) == "tensorboard says hello\n"
    assert master_pid(laptop) == respawned

    # remove: the host goes, and every port it held with it.
    assert laptop.jssh("remove", NAME).ok
    wait_until(lambda: port_is_free(other), timeout=10, what=f"port {other} freed")


@pytest.mark.slurm
@pytest.mark.root
def test_a_slurm_hosts_forwards_go_through_the_compute_nodes_master(
    slurm_laptop: Laptop, slurm_workstation: Sshd, services: Services
) -> None:
    laptop, name = slurm_laptop, "cluster"
    remote = http_service(services, slurm_workstation, "tensorboard")  # on the node
    local = free_port()
    added = laptop.jssh("add", name, "--slurm", "--time=10", "--forward", f"{local}:{remote}")
    assert added.ok, added
    assert laptop.jssh("up", name, "--no-open", timeout=120).ok
    assert page(local) == "tensorboard says hello\n"
    node = master_pid(laptop, f"{name}-jupyter-node")
    login = master_pid(laptop, f"{name}-jupyter")
    assert node is not None
    assert login is not None
    assert local in {c.laddr.port for c in psutil.Process(node).net_connections("tcp")}
    assert local not in {c.laddr.port for c in psutil.Process(login).net_connections("tcp")}
    block = laptop.jssh("show", name).stdout
    node_block = block.split(f"Host {name}-jupyter-node\n")[1]
    assert f"LocalForward 127.0.0.1:{local} 127.0.0.1:{remote}" in node_block

    # Added live: to the node's master too.
    sock = socket_service(services, slurm_workstation, "mlflow")
    live = laptop.jssh("forward", name, sock)
    assert "(now)" in live.stdout, live
    other = int(live.stdout.split("127.0.0.1:")[1].split(" ")[0])
    assert page(other) == "mlflow says hello\n"
    assert other in {c.laddr.port for c in psutil.Process(node).net_connections("tcp")}
    answers = {f["local_port"]: f["answers"] for f in status_json(laptop, name)["forwards"]}
    assert answers == {local: True, other: True}
    assert laptop.jssh("down", name).ok
    wait_until(lambda: port_is_free(local), timeout=10, what=f"port {local} freed")
