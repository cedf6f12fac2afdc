"""Long-lived clients across a master's replacement: the watchdog's bridge (watchdog/relay.py).

A Jupyter client that keeps a kernel channel open (VS Code's "Existing Jupyter Server",
a jupyter_client script, JupyterLab itself) sees its websocket close when the master
dies, and retries at once. JupyterLab's rule (@jupyterlab/services, kernel/default.ts)
is what these clients do: if that retry is refused it asks the REST API, and if that is
refused too it waits a random 10-30 s. Here the client makes that one immediate retry
and nothing else, so a refused retry fails the test: with the bridge it is held until
the new master is followed, then relayed, and the same kernel answers.

Plain `ssh NAME-jupyter` must keep working beside all this: the new master gets its
forward through the mux protocol, recorded as the block's own, so a plain ssh's
request for the same forward is a duplicate the master accepts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from lab import Laptop, wait_until
from lab.client import KernelChannel, api, status_json, token_of, up
from test_watchdog import Watcher

pytestmark = pytest.mark.faults


def plain_ssh(laptop: Laptop, *args: str) -> subprocess.CompletedProcess[str]:
    """`ssh NAME-jupyter` as a user types it: no jssh option, only the test's -F."""
    return subprocess.run(
        laptop.ssh_argv("-o", "BatchMode=yes", *args), env=laptop.env, capture_output=True,
        text=True, timeout=30, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_a_kernel_client_gets_its_channel_back_at_once_and_plain_ssh_still_works(
    laptop: Laptop,
) -> None:
    assert laptop.jssh_in_process("add", "workstation").ok
    url = up(laptop)
    watchdog = Watcher(laptop)
    try:
        watchdog.wait_for(
            r"workstation: watchdog started: master pid \d+; following it", timeout=20
        )
        status, body = api(url, "/api/kernels", token=token_of(url), method="POST", body="{}")
        assert status == 201, body
        kernel_id = json.loads(body)["id"]
        channel = KernelChannel(url, kernel_id)
        kernel_pid = channel.run("import os; runs = 0; os.getpid()")
        for fault in range(1, 4):
            master = int(status_json(laptop)["master"]["pid"])
            os.kill(master, signal.SIGKILL)
            wait_until(channel.closed, timeout=10, what="the client to see its channel close")
            channel.close()
            lost = time.monotonic()
            # One immediate retry, as JupyterLab makes: refused, it would wait 10-30 s.
            channel = KernelChannel(url, kernel_id)
            back = time.monotonic()
            assert channel.run("runs += 1; runs, os.getpid()") == f"({fault}, {kernel_pid})"
            print(f"fault {fault}: the channel back {back - lost:.2f} s after it closed")
        # A master that hangs (SIGSTOP) is killed by the watchdog itself, a few seconds
        # later: the same immediate retry is held, not refused.
        os.kill(int(status_json(laptop)["master"]["pid"]), signal.SIGSTOP)
        wait_until(channel.closed, timeout=30, what="the watchdog to kill the stopped master")
        channel.close()
        channel = KernelChannel(url, kernel_id)
        assert channel.run("runs += 1; runs, os.getpid()") == f"(4, {kernel_pid})"
        watchdog.wait_for(r"is stopped \(SIGSTOP\).*killed it; respawning now", timeout=20)
        channel.close()

        # The master the watchdog brought back has the block's forward as its own: a
        # plain ssh asks for it again, gets "already there", and runs its command.
        watchdog.wait_for(r"127\.0\.0\.1:\d+ handed back to the new master", timeout=20)
        plain = plain_ssh(laptop, "workstation-jupyter", "echo", "plain ssh works")
        assert plain.returncode == 0, plain
        assert plain.stdout.strip() == "plain ssh works"
    finally:
        print(f"--- jssh watch said ---\n{watchdog.output()}")
        watchdog.stop()
    # And without jssh: no watchdog, no master; plain ssh opens the tunnel itself.
    assert laptop.jssh("down", "workstation", "--keep-server").ok
    alone = plain_ssh(laptop, "-fN", "workstation-jupyter")
    assert alone.returncode == 0, alone
    try:
        wait_until(lambda: api(url, "/api/status", token=token_of(url))[0] == 200,
                   timeout=20, what="Jupyter through plain ssh's own forward")  # fmt: skip
    finally:
        plain_ssh(laptop, "-O", "exit", "workstation-jupyter")
    assert laptop.jssh("down", "workstation", "--force").ok
