"""Waiting for an ssh that must end in time (a master's start): its status when it ends,
TimeoutExpired when it does not, with or without pidfds. How soon the wait wakes is
measured in bench/ (the cold `up`), not here."""

from __future__ import annotations

import os
import subprocess

import psutil
import pytest

from jssh.exits import wait_for_exit
from lab.util import wait_until


@pytest.fixture(params=["pidfd", "no pidfd"])
def kernel(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "no pidfd":

        def refused(pid: int) -> int:
            raise OSError(38, "Function not implemented")

        monkeypatch.setattr(os, "pidfd_open", refused)
    return str(request.param)


def _start(script: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sh", "-c", script])


def test_the_status_of_a_process_that_ends_in_time(kernel: str) -> None:
    proc = _start("sleep 0.2; exit 3")
    assert wait_for_exit(proc, timeout=30) == 3
    assert proc.returncode == 3


def test_a_process_that_ended_before_the_wait_gives_its_status(kernel: str) -> None:
    proc = _start("exit 5")
    wait_until(
        lambda: psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE,
        timeout=10,
        what="the child to be a zombie",
    )
    assert wait_for_exit(proc, timeout=30) == 5


def test_a_process_still_running_at_the_timeout_raises_and_keeps_running(kernel: str) -> None:
    proc = _start("sleep 30")
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            wait_for_exit(proc, timeout=0.2)
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()
