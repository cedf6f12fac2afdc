"""`jssh up` across a real network cut: the workstation lives in its own network
namespace, and its link is pulled and plugged back in (root only)."""

from __future__ import annotations

import json

import psutil
import pytest

from lab import Laptop, NetnsWorkstation
from lab.client import api, status_json, token_of, up
from lab.procs import wait_gone

pytestmark = [pytest.mark.root, pytest.mark.faults]


def test_server_and_kernels_survive_a_cut_that_takes_the_tunnel_down(
    netns_workstation: NetnsWorkstation, netns_laptop: Laptop
) -> None:
    laptop = netns_laptop
    assert laptop.jssh_in_process("add", "workstation").ok
    url = up(laptop)
    token = token_of(url)
    status, body = api(url, "/api/kernels", token=token, method="POST", body="{}")
    assert status == 201, body
    kernel_id = json.loads(body)["id"]
    server_pid = status_json(laptop)["server"]["pid"]  # type: ignore[index]
    master_pid = status_json(laptop)["master"]["pid"]  # type: ignore[index]

    netns_workstation.cut()
    # The laptop's side of the tunnel dies while the link is down (a closed lid, a
    # killed ssh); the server and its kernel must not notice.
    master = psutil.Process(master_pid)
    master.kill()
    assert not wait_gone([master], timeout=10)
    netns_workstation.restore()

    assert up(laptop) == url  # same token: the same server
    assert status_json(laptop)["server"]["pid"] == server_pid  # type: ignore[index]
    status, body = api(url, "/api/kernels", token=token)
    assert status == 200
    assert kernel_id in [k["id"] for k in json.loads(body)]
