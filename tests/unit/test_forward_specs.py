"""Extra forwards, in process: what `--forward` accepts, how hosts.json keeps them (older
files without them still load), the block's LocalForward lines byte for byte, and the
URLs of `jssh open` / `jssh url --path` / `jssh url --server`."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from jssh.commands.forwarding import assign
from jssh.config.sshconfig import render_managed
from jssh.errors import BusyError, UsageError
from jssh.forwards import Forward, ForwardSpec, find, parse_spec
from jssh.hosts import Endpoint, HostRecord, Launch, Registry
from jssh.session.browser import path_url, server_url
from jssh.session.forwards import Probes

SOURCE = "/home/u/.ssh/jssh/hosts.json"
TB = Forward(6006, remote_port=6006)
DASH = Forward(9000, remote_socket="/run/user/1000/dash.sock")


def record(**changes: Any) -> HostRecord:
    values: dict[str, Any] = {
        "name": "ws", "target": "ws", "local_port": 8899,
        "endpoint": Endpoint(socket="/tmp/jssh-u/ws.sock"),
        "ssh_options": [("HostName", "127.0.0.1"), ("User", "u")],
        "control_path": "/home/u/.ssh/jssh/cm/ws",
    }  # fmt: skip
    values.update(changes)
    return HostRecord(**values)


# -- what --forward accepts ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "local", "port", "path"),
    [
        ("6006", None, 6006, None),
        ("16006:6006", 16006, 6006, None),
        ("/run/user/1000/tb.sock", None, None, "/run/user/1000/tb.sock"),
        ("9001:/tmp/d/app.sock", 9001, None, "/tmp/d/app.sock"),
    ],
)
def test_a_forward_is_a_remote_port_or_socket_with_an_optional_local_port(
    text: str, local: int | None, port: int | None, path: str | None
) -> None:
    assert parse_spec(text) == ForwardSpec(text, local, port, path)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("0", "the remote port must be 1-65535, not '0'"),
        ("70000", "the remote port must be 1-65535"),
        ("0:6006", "the local port must be 1-65535, not '0'"),
        ("x:6006", "is not PORT, LOCAL:PORT, /SOCKET or LOCAL:/SOCKET"),
        ("localhost:6006:6006", "is not PORT, LOCAL:PORT, /SOCKET or LOCAL:/SOCKET"),
        ("tb.sock", "is not PORT, LOCAL:PORT, /SOCKET or LOCAL:/SOCKET"),
        ("/tmp/my app.sock", "a remote socket path must be absolute, under 100 bytes"),
        ("", "is not PORT"),
    ],
)
def test_anything_else_is_one_line_naming_the_option(text: str, said: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_spec(text)
    assert caught.value.message.startswith(f"--forward {text!r}")
    assert said in caught.value.message
    assert "\n" not in caught.value.message


def test_remove_finds_a_forward_by_local_port_then_remote_port_then_path() -> None:
    moved = Forward(16006, remote_port=6006)
    assert find([moved, DASH], "16006") == moved
    assert find([moved, DASH], "6006") == moved
    assert find([moved, DASH], "/run/user/1000/dash.sock") == DASH
    assert find([moved, DASH], "9000") == DASH
    assert find([moved, DASH], "16006:6006") == moved
    assert find([moved, DASH], "1:6006") is None
    assert find([moved, DASH], "8050") is None


# -- choosing the local port -------------------------------------------------------------


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port some other program listens on (this test, here)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_remote_port_alone_takes_the_same_local_port_or_the_next_free(held_port: int) -> None:
    ws = record()
    (same,) = assign(ws, [parse_spec("6106")], set(), [])
    assert same == Forward(6106, remote_port=6106)
    (moved,) = assign(ws, [parse_spec(str(held_port))], set(), [])
    assert moved.remote_port == held_port
    assert moved.local_port > held_port
    # Ports other managed hosts claim, and Jupyter's own, are skipped too.
    (skipped,) = assign(ws, [parse_spec("8899")], {8900}, [])
    assert skipped.local_port == 8901


def test_a_local_port_another_program_holds_is_refused_with_its_name(held_port: int) -> None:
    with pytest.raises(BusyError) as caught:
        assign(record(), [parse_spec(f"{held_port}:6006")], set(), [])
    message = caught.value.message
    assert message.startswith(f"local port {held_port} is taken by ")
    assert "(pid " in message
    assert "the forward to 127.0.0.1:6006 on ws can't listen" in message


def test_a_local_port_of_another_managed_host_is_refused() -> None:
    with pytest.raises(UsageError, match="local port 8900 is already used"):
        assign(record(), [parse_spec("8900:6006")], {8900}, [])


def test_a_forward_the_host_has_keeps_its_port_even_while_its_master_holds_it(
    held_port: int,
) -> None:
    kept = Forward(held_port, remote_port=6006)
    assert assign(record(), [parse_spec("6006")], set(), [kept]) == [kept]


# -- hosts.json ------------------------------------------------------------------------


def test_forwards_round_trip_through_hosts_json() -> None:
    text = Registry(hosts={"ws": record(forwards=[TB, DASH])}).dumps()
    entry = json.loads(text)["hosts"]["ws"]
    assert entry["forwards"] == [
        {"local_port": 6006, "remote_port": 6006, "remote_socket": None},
        {"local_port": 9000, "remote_port": None, "remote_socket": "/run/user/1000/dash.sock"},
    ]
    assert Registry.loads(text, SOURCE).hosts["ws"].forwards == [TB, DASH]


def test_a_hosts_json_from_before_forwards_still_loads() -> None:
    data = json.loads(Registry(hosts={"ws": record()}).dumps())
    del data["hosts"]["ws"]["forwards"]
    registry = Registry.loads(json.dumps(data), SOURCE)
    assert registry.hosts["ws"] == record()
    assert not registry.problems


@pytest.mark.parametrize(
    ("forwards", "said"),
    [
        ("6006", "forwards is not a list"),
        ([{"local_port": 6006}], "forwards[0] must have either a remote_port or a remote_socket"),
        ([{"local_port": 0, "remote_port": 1}], "forwards[0].local_port is not a port"),
        (
            [{"local_port": 1, "remote_socket": "/a\nHost *"}],
            "forwards[0].remote_socket is not an absolute path",
        ),
    ],
)
def test_a_damaged_forward_keeps_the_host_apart_and_says_which(forwards: object, said: str) -> None:
    data = json.loads(Registry(hosts={"ws": record()}).dumps())
    data["hosts"]["ws"]["forwards"] = forwards
    registry = Registry.loads(json.dumps(data), SOURCE)
    assert "ws" in registry.damaged
    assert said in registry.damaged["ws"].problem


# -- the managed block ------------------------------------------------------------------

HEADER = (
    "# Managed by jssh. Each block comes from `jssh add`; change it with `jssh add`\n"
    "# or `jssh remove`, not by hand (jssh rewrites this file from hosts.json).\n"
    "\n"
    "# ws: `jssh up ws` (from ws)\n"
)
OWN = (
    "  ControlMaster auto\n"
    "  ControlPath /home/u/.ssh/jssh/cm/ws\n"
    "  ControlPersist yes\n"
    "  ServerAliveInterval 5\n"
    "  ServerAliveCountMax 3\n"
    "  ExitOnForwardFailure yes\n"
)


def test_the_block_forwards_each_service_on_127_0_0_1_after_jupyter() -> None:
    assert render_managed([record(forwards=[TB, DASH])]) == (
        HEADER + "Host ws-jupyter\n"
        "  HostName 127.0.0.1\n"
        "  User u\n" + OWN + "  LocalForward 127.0.0.1:8899 /tmp/jssh-u/ws.sock\n"
        "  LocalForward 127.0.0.1:6006 127.0.0.1:6006\n"
        "  LocalForward 127.0.0.1:9000 /run/user/1000/dash.sock\n"
    )


def test_a_slurm_hosts_forwards_go_to_the_compute_node_not_the_login_node() -> None:
    hpc = record(forwards=[TB], slurm="-p gpu", slurm_node="node7")
    assert render_managed([hpc]) == (
        HEADER + "Host ws-jupyter\n"
        "  HostName 127.0.0.1\n"
        "  User u\n" + OWN + "\n\n"
        "Host ws-jupyter-node\n"
        "  HostName node7\n"
        "  ProxyJump ws-jupyter\n"
        "  User u\n"
        + OWN.replace("cm/ws\n", "cm/ws@node\n")
        + "  LocalForward 127.0.0.1:8899 /tmp/jssh-u/ws.sock\n"
        "  LocalForward 127.0.0.1:6006 127.0.0.1:6006\n"
    )


# -- URLs ------------------------------------------------------------------------------


def test_the_server_url_is_the_root_with_the_token_for_jupyter_clients() -> None:
    assert server_url(record(), "T0K") == "http://127.0.0.1:8899/?token=T0K"


@pytest.mark.parametrize(
    ("path", "url"),
    [
        ("", "http://127.0.0.1:8899/lab/tree?token=T"),
        ("runs/exp 1.ipynb", "http://127.0.0.1:8899/lab/tree/runs/exp%201.ipynb?token=T"),
        ("./data/", "http://127.0.0.1:8899/lab/tree/data?token=T"),
        ("é#?.ipynb", "http://127.0.0.1:8899/lab/tree/%C3%A9%23%3F.ipynb?token=T"),
    ],
)
def test_a_path_opens_in_jupyterlab_quoted(path: str, url: str) -> None:
    assert path_url(record(), "T", path) == url


def test_the_notebook_app_opens_notebooks_and_folders_on_its_own_pages() -> None:
    classic = record(launch=Launch(app="notebook"))
    assert (
        path_url(classic, "T", "a/b.ipynb") == "http://127.0.0.1:8899/notebooks/a/b.ipynb?token=T"
    )
    assert path_url(classic, "T", "a") == "http://127.0.0.1:8899/tree/a?token=T"


@pytest.mark.parametrize("path", ["/etc/passwd", "../other", "a/../../b"])
def test_a_path_outside_the_notebook_dir_is_refused(path: str) -> None:
    with pytest.raises(UsageError, match="is not a path inside the notebook dir"):
        path_url(record(), "T", path)


def test_record_without_forwards_renders_as_before() -> None:
    assert render_managed([record()]) == render_managed([replace(record(), forwards=[])])
    assert "6006" not in render_managed([record()])


# -- whether a forward answers (status) ----------------------------------------------------


@pytest.fixture
def listener() -> Iterator[Callable[[bool], int]]:
    """A listening port in this process standing in for the master's: it closes what it
    accepts at once (the remote refused the channel), or keeps it (a service reached)."""
    made: list[socket.socket] = []
    kept: list[socket.socket] = []

    def start(refuse: bool) -> int:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        made.append(sock)

        def serve() -> None:
            with contextlib.suppress(OSError):
                while True:
                    conn, _ = sock.accept()
                    if refuse:
                        conn.close()
                    else:
                        kept.append(conn)

        threading.Thread(target=serve, daemon=True).start()
        return int(sock.getsockname()[1])

    yield start
    for sock in made + kept:
        sock.close()


def test_status_tells_a_refused_channel_from_a_service_reached(
    listener: Callable[[bool], int],
) -> None:
    refused, served = listener(True), listener(False)
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    unheld = free.getsockname()[1]
    free.close()
    ws = record(forwards=[Forward(refused, 1), Forward(served, 2), Forward(unheld, 3)])
    states = Probes(ws, os.getpid()).finish(round_trip=False)  # this process is "the master"
    assert [(s.listening, s.answers, s.detail) for s in states] == [
        (True, False, "nothing answers on the remote side"),
        (True, True, None),
        (False, False, "not on ws's master"),
    ]
    assert [s.describe() for s in states] == [
        "no answer (nothing answers on the remote side)",
        "answers",
        "no answer (not on ws's master)",
    ]
    assert Probes(ws, None).finish(round_trip=True)[1].detail == "no tunnel"
