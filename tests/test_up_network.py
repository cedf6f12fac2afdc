"""`jssh up` across a real network cut: the workstation lives in its own network
namespace, and its link is pulled and plugged back in (root only)."""

from __future__ import annotations

import json
import time

import psutil
import pytest

from lab import Laptop, NetnsWorkstation
from lab.client import api, status_json, token_of, up

pytestmark = [pytest.mark.root, pytest.mark.slow]


def test_server_and_kernels_survive_a_cut_that_kills_the_tunnel(
    netns_workstation: NetnsWorkstation, netns_laptop: Laptop
) -> None:
    laptop = netns_laptop
    assert laptop.jssh("add", "workstation").ok
    url = up(laptop)
    token = token_of(url)
    status, body = api(url, "/api/kernels", token=token, method="POST", body="{}")
    assert status == 201, body
    kernel_id = json.loads(body)["id"]
    server_pid = status_json(laptop)["server"]["pid"]  # type: ignore[index]
    master_pid = status_json(laptop)["master"]["pid"]  # type: ignore[index]

    netns_workstation.cut()
    # ServerAliveInterval 5 x CountMax 3: the master notices the dead link and exits.
    deadline = time.monotonic() + 40
    while psutil.pid_exists(master_pid) and time.monotonic() < deadline:  # type: ignore[arg-type]
        time.sleep(0.5)
    assert not psutil.pid_exists(master_pid), "the master did not notice the cut"  # type: ignore[arg-type]
    netns_workstation.restore()

    assert up(laptop) == url  # same token: the same server
    assert status_json(laptop)["server"]["pid"] == server_pid  # type: ignore[index]
    status, body = api(url, "/api/kernels", token=token)
    assert status == 200
    assert kernel_id in [k["id"] for k in json.loads(body)]
