"""JupyterLab 3 on jupyter_server 1.x, as a cluster's module often provides it, serves on
a private unix socket through jssh, and `jssh doctor` says so (it used to claim a unix
socket needs jupyter_server 2)."""

from __future__ import annotations

import json

import pytest

from lab import Laptop
from lab.client import api, token_of, up
from lab.old_jupyter import ensure_old_jupyter_venv

pytestmark = pytest.mark.slow


def test_jupyterlab_3_on_jupyter_server_1_serves_on_a_unix_socket(laptop: Laptop) -> None:
    venv = ensure_old_jupyter_venv()
    socket = f"/tmp/jssh-old-{laptop.lab_id}/ws.sock"  # a path of its own: tests run in parallel
    assert laptop.jssh("add", "workstation", "--venv", str(venv), "--remote-socket", socket).ok
    doctor = laptop.jssh("doctor", "workstation", "--json")
    checks = {c["check"]: c for c in json.loads(doctor.stdout) if c["host"] == "workstation"}
    assert checks["jupyter"]["ok"], checks["jupyter"]
    assert "jupyter_server 1.24.0 (unix sockets: yes)" in checks["jupyter"]["detail"]

    url = up(laptop)
    assert api(url, "/api/status", token=token_of(url))[0] == 200
    code, body = api(url, "/api/kernelspecs", token=token_of(url))
    assert code == 200
    assert "python3" in json.loads(body)["kernelspecs"]
    listening = laptop.workstation.run_as_remote(["ss", "-lxH"]).stdout
    assert socket in listening  # on the unix socket, not a TCP port
    assert laptop.jssh("down", "workstation").ok
