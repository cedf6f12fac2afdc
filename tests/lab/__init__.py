"""The jssh test lab: real sshd "workstations", sandboxed "laptops", network faults.

Everything runs in short temp dirs under /tmp, every ssh gets `-F <config>`,
and every process the lab starts is stopped by pid at teardown (found by the
JSSH_LAB_ID in its environment). tests/conftest.py turns these into fixtures;
a typical test::

    def test_up_prints_a_url(laptop: Laptop) -> None:
        r = laptop.jssh("up", "workstation")
        assert r.ok, str(r)          # str(): pytest truncates a repr in messages
        ...
        ws = laptop.workstation      # the Sshd behind the `workstation` host
        assert ws.run_as_remote(["tmux", "ls"]).ok  # a tmux server is up there

Faults: Sshd.stop/start/restart/kill_sessions, TcpRelay.blackhole/restore,
NetnsWorkstation.cut/restore (root).
"""

from __future__ import annotations

from .account import LAB_ACCOUNT, ensure_lab_account
from .jupyter_venv import ensure_lab_venv
from .keys import LabKeys
from .laptop import SRC_DIR, Laptop, render_user_ssh_config
from .netns import LAB_RANGE, NetnsUnavailable, NetnsWorkstation, ensure_blackhole_route
from .procs import (
    LAB_ID_VAR,
    describe,
    issued_lab_ids,
    kill_lab_processes,
    lab_processes,
    new_lab_id,
    pid_alive,
    terminate,
    wait_gone,
)
from .relay import RelayLab, TcpRelay
from .sshd import SSHD, Sshd
from .util import (
    IS_ROOT,
    LabError,
    LabTimeout,
    Result,
    free_port,
    port_is_free,
    run,
    short_tempdir,
    wait_until,
)
from .worker import enter_private_network, worker_id

__all__ = [
    "IS_ROOT",
    "LAB_ACCOUNT",
    "LAB_ID_VAR",
    "LAB_RANGE",
    "SRC_DIR",
    "SSHD",
    "LabError",
    "LabKeys",
    "LabTimeout",
    "Laptop",
    "NetnsUnavailable",
    "NetnsWorkstation",
    "RelayLab",
    "Result",
    "Sshd",
    "TcpRelay",
    "describe",
    "ensure_blackhole_route",
    "ensure_lab_account",
    "ensure_lab_venv",
    "enter_private_network",
    "free_port",
    "issued_lab_ids",
    "kill_lab_processes",
    "lab_processes",
    "new_lab_id",
    "pid_alive",
    "port_is_free",
    "render_user_ssh_config",
    "run",
    "short_tempdir",
    "terminate",
    "wait_gone",
    "wait_until",
    "worker_id",
]
