"""A Jupyter server that dies comes back with the same URL (issue 13, item 1).

Against the real lab: sshd, tmux and Jupyter on this machine, `jssh watch` running as a
user runs it. The server is killed with SIGKILL (the remote runs here, so its pid from
`jssh status --json` is a local pid) and the URL the browser already has, with its
token, must answer 200 again, and a fresh kernel must run. Times are printed, not
asserted.

Other lab tests share the lab account: each host here has a name and a remote socket
of its own, so its remote state (~/.jssh/NAME, the tmux session) is its own too.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import pytest

from lab import Laptop, wait_until
from lab.client import run_in_kernel, status_json, token_of, up
from test_watchdog import Watcher, gone, serves, wait_serving, watch

pytestmark = pytest.mark.faults
__all__ = ["watch"]  # the fixture, shared with test_watchdog.py


def add_own_host(laptop: Laptop) -> str:
    """A host NAME of this laptop's own, with a remote socket no other test uses."""
    name = f"rs-{laptop.lab_id}"
    sock = f"/tmp/jssh-restart-{laptop.lab_id}/ws.sock"
    result = laptop.jssh("add", "workstation", "--name", name, "--remote-socket", sock)
    assert result.ok, result
    return name


def server_pid(laptop: Laptop, name: str) -> int:
    pid = status_json(laptop, name)["server"]["pid"]
    assert pid, f"{name}: no server pid in `jssh status --json`"
    return int(pid)


def kill_server(laptop: Laptop, name: str) -> tuple[int, float]:
    """SIGKILL NAME's server; its pid and when it was seen gone."""
    pid = server_pid(laptop, name)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: gone(pid), timeout=10, what=f"server pid {pid} to die")
    return pid, time.monotonic()


def test_a_killed_server_is_restarted_with_the_same_url(
    laptop: Laptop, watch: Callable[[Laptop], Watcher]
) -> None:
    name = add_own_host(laptop)
    url = up(laptop, name)
    watcher = watch(laptop)
    watcher.wait_for(rf"{name}: watchdog started: master pid \d+; following it")
    master = status_json(laptop, name)["master"]["pid"]

    old, died = kill_server(laptop, name)
    assert not serves(url)
    wait_until(lambda: serves(url), timeout=30, what=f"{url} to answer again")
    elapsed = time.monotonic() - died
    print(f"\nthe same URL answered 200 again {elapsed:.2f} s after the server was killed")

    restarted = watcher.wait_for(rf"{name}: restarted Jupyter: pid (\d+), same token")
    new = int(restarted.group(1))
    assert new != old
    assert server_pid(laptop, name) == new
    assert status_json(laptop, name)["master"]["pid"] == master  # the tunnel stayed up
    assert run_in_kernel(url, "1+1") == "2"  # a fresh kernel (the old ones are lost)
    assert laptop.jssh("url", name).stdout.strip() == url
    state = status_json(laptop, name)["watchdog"]
    assert state["state"] == "connected"
    assert state["server"] == "watching"

    # `down` stops it for good: the watchdog does not bring it back. (--force: the kernel
    # above ran a moment ago, and `down` would refuse to stop it without.)
    mark = watcher.mark()
    assert laptop.jssh("down", name, "--force").ok
    watcher.wait_for(rf"{name}: .*brought down|{name}: master pid \d+ exited", after=mark)
    assert "restarted Jupyter" not in watcher.output()[mark:]
    assert watcher.stop() == 0
    assert "restarted Jupyter" not in watcher.output()[mark:]


def test_up_after_the_server_died_keeps_the_url_and_new_token_renews_it(laptop: Laptop) -> None:
    # No watchdog: `up` itself starts the server again with the saved token, as after a
    # reboot of the workstation; only --new-token (or down/remove) changes it.
    name = add_own_host(laptop)
    url = up(laptop, name)
    kill_server(laptop, name)
    assert up(laptop, name) == url
    assert serves(url)

    result = laptop.jssh("up", name, "--no-open", "--new-token", timeout=120)
    assert result.ok, result
    fresh = result.stdout.strip().splitlines()[-1]
    assert token_of(fresh) != token_of(url)
    assert serves(fresh)
    assert not serves(url)
    assert laptop.jssh("down", name).ok


def test_a_server_that_keeps_dying_is_given_up_with_one_line(
    laptop: Laptop, watch: Callable[[Laptop], Watcher]
) -> None:
    name = add_own_host(laptop)
    url = up(laptop, name)
    watcher = watch(laptop)
    watcher.wait_for(rf"{name}: watchdog started: master pid \d+; following it")
    # From now on what starts Jupyter exits at once (a module gone, a broken config).
    sock = f"/tmp/jssh-restart-{laptop.lab_id}/ws.sock"
    result = laptop.jssh(
        "add", "workstation", "--name", name, "--remote-socket", sock, "--command", "false"
    )
    assert result.ok, result
    watcher.wait_for(rf"{name}: host \(re\)configured: master pid \d+; following it")
    mark = watcher.mark()
    started = time.monotonic()

    kill_server(laptop, name)
    watcher.wait_for(rf"{name}: .*it keeps dying; gave up after \d+ restarts", timeout=60)
    print(f"\ngiven up {time.monotonic() - started:.1f} s after the kill")
    log = watcher.output()[mark:]
    assert log.count("gave up") == 1
    state = status_json(laptop, name)["watchdog"]
    assert state["server"] == "gave-up"
    assert "gave up" in state["action"]
    assert not serves(url)
    assert "gave up" in laptop.jssh("status", name).stdout
    assert watcher.stop() == 0
    assert laptop.jssh("down", name).ok


def test_a_server_found_gone_when_the_master_connects_is_started_again(
    laptop: Laptop, watch: Callable[[Laptop], Watcher]
) -> None:
    # As after a reboot of the workstation, or a crash while no watchdog ran: when the
    # watchdog (re)connects, its watch finds no server, and it starts one, same URL.
    name = add_own_host(laptop)
    url = up(laptop, name)
    kill_server(laptop, name)
    started = time.monotonic()
    watcher = watch(laptop)
    watcher.wait_for(rf"{name}: no Jupyter server runs; restarting it with the same token")
    wait_until(lambda: serves(url), timeout=30, what=f"{url} to answer again")
    print(
        f"\nthe same URL answered 200 {time.monotonic() - started:.2f} s after `jssh watch` began"
    )
    watcher.wait_for(rf"{name}: restarted Jupyter: pid \d+, same token")
    assert watcher.stop() == 0
    assert laptop.jssh("down", name).ok


def test_after_a_simulated_reboot_the_same_url_answers_once_sshd_is_back(
    laptop: Laptop, watch: Callable[[Laptop], Watcher]
) -> None:
    # A reboot, as the laptop sees it: sshd goes away with every login's processes (the
    # tunnel's session, tmux, Jupyter); then sshd answers again, and nothing else runs.
    name = add_own_host(laptop)
    url = up(laptop, name)
    old_server = server_pid(laptop, name)
    watcher = watch(laptop)
    watcher.wait_for(rf"{name}: watchdog started: master pid \d+; following it")
    ws = laptop.workstation
    mark = watcher.mark()
    ws.stop()
    ws.kill_sessions()
    ws.kill_remote_processes()
    assert gone(old_server)
    watcher.wait_for(rf"{name}: master pid \d+ exited", after=mark)
    assert not serves(url)

    ws.start()
    took = wait_serving(url, timeout=60)
    print(f"\nthe same URL answered 200 {took:.2f} s after sshd was back")
    watcher.wait_for(rf"{name}: restarted Jupyter: pid \d+, same token", after=mark)
    assert run_in_kernel(url, "1+1") == "2"
    assert watcher.stop() == 0
