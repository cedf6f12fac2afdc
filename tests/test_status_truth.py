"""`jssh status` tells the truth about the URL, and `jssh logs` works without a tunnel.

"answers" means Jupyter answered over HTTP, not that the master accepted a TCP
connection; a host the user brought up that does not serve makes `status` exit 9.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from lab import Laptop, wait_until
from lab.client import up
from lab.util import Result

NAME = "workstation"


@pytest.fixture
def served(laptop: Laptop) -> tuple[Laptop, str]:
    assert laptop.jssh("add", NAME).ok
    return laptop, up(laptop)


def _status(laptop: Laptop) -> tuple[Result, dict[str, object]]:
    result = laptop.jssh("status", NAME, "--json")
    (entry,) = json.loads(result.stdout)
    return result, entry


def test_a_serving_host_reads_as_serving_and_status_exits_0(served: tuple[Laptop, str]) -> None:
    laptop, url = served
    result, entry = _status(laptop)
    assert result.returncode == 0, result
    assert entry["serving"] is True
    assert entry["local_port_answers"] is True
    assert entry["url"] == url


def test_a_dead_server_behind_a_live_tunnel_is_not_called_answering(
    served: tuple[Laptop, str],
) -> None:
    laptop, _ = served
    _, entry = _status(laptop)
    server = entry["server"]
    assert isinstance(server, dict)
    os.kill(int(server["pid"]), signal.SIGKILL)  # the lab's remote runs on this machine
    wait_until(lambda: _status(laptop)[1]["server"]["state"] == "stopped",  # type: ignore[index]
               timeout=15, what="the server to be seen gone")  # fmt: skip
    result, entry = _status(laptop)
    assert result.returncode == 9, result
    assert entry["master"]["running"] is True  # type: ignore[index]
    assert entry["local_port_answers"] is False
    assert entry["serving"] is False
    table = laptop.jssh("status", NAME)
    assert table.returncode == 9
    assert "no answer" in table.stdout
    assert "the server is not running" in table.stderr


def test_a_dead_servers_pid_taken_by_another_process_reads_as_stopped(
    served: tuple[Laptop, str],
) -> None:
    laptop, url = served
    _, entry = _status(laptop)
    os.kill(int(entry["server"]["pid"]), signal.SIGKILL)  # type: ignore[index]
    wait_until(lambda: _status(laptop)[1]["server"]["state"] == "stopped",  # type: ignore[index]
               timeout=15, what="the server to be seen gone")  # fmt: skip
    # After a crash or a reboot the pid goes to whatever the account starts next (pids
    # wrap at 32768 here): the stale pid file now names a process that is not Jupyter.
    other = subprocess.Popen(["sleep", "300"], user=laptop.workstation.user)
    try:
        pid_file = laptop.workstation.remote_home / ".jssh" / NAME / "server.pid"
        kept = pid_file.read_text().splitlines()[1:]
        pid_file.write_text("\n".join([str(other.pid), *kept]) + "\n")

        _, entry = _status(laptop)
        assert entry["server"]["state"] == "stopped"  # type: ignore[index]
        assert up(laptop) == url  # a new server, same token, and the other process lives
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_after_down_the_server_reads_stopped_and_status_is_content(
    served: tuple[Laptop, str],
) -> None:
    laptop, _ = served
    assert laptop.jssh("down", NAME).ok
    result, entry = _status(laptop)
    assert result.returncode == 0, result
    assert entry["server"]["state"] == "stopped"  # type: ignore[index]
    assert entry["wanted_up"] is False


def test_logs_need_no_tunnel(served: tuple[Laptop, str]) -> None:
    laptop, _ = served
    assert laptop.jssh("down", NAME, "--keep-server").ok
    logs = laptop.jssh("logs", NAME, "-n", "50")
    assert logs.ok, logs
    assert "jssh: starting Jupyter for workstation" in logs.stdout
    # `down --keep-server` means "I don't want the tunnel": nothing for status to flag.
    assert laptop.jssh("status", NAME, "--json").returncode == 0
