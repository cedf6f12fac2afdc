"""Extra forwards (`jssh forward`): what one costs `jssh status`, and a live add.

`jssh status NAME` is timed with and without one extra forward to a service that
answers (`python3 -m http.server` on the workstation), interleaved, on the same running
host: the difference is what probing the forward costs. The forward is added and
removed between runs, untimed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess

from harness import BenchError, Case, Group, checked, poll_until
from world import NAME, Lab

from lab import Laptop, free_port, port_is_free


class Service:
    """A TensorBoard stand-in on the workstation's 127.0.0.1, and the forward to it."""

    def __init__(self, lab: Lab, laptop: Laptop) -> None:
        self.lab, self.laptop = lab, laptop
        self.remote = free_port()
        self.local = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.proc is not None:
            return
        argv = ["python3", "-m", "http.server", str(self.remote), "--bind", "127.0.0.1"]
        self.proc = subprocess.Popen(
            self.lab.ws.remote_argv(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # runuser forks: the server is its child
        )
        poll_until(
            lambda: not port_is_free(self.remote), timeout=10, what="http.server", interval=0.02
        )

    def forwarded(self, wanted: bool) -> None:
        spec = f"{self.local}:{self.remote}"
        args = ["forward", NAME, spec] if wanted else ["forward", NAME, "--remove", spec]
        result = self.laptop.jssh_process(*args, timeout=30)
        if wanted:
            checked(result, "jssh forward failed")

    def stop(self) -> None:
        self.forwarded(False)
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None


class Status(Case):
    def __init__(self, runs: int, service: Service, *, with_forward: bool) -> None:
        self.label = (
            "`jssh status NAME`, one extra forward that answers"
            if with_forward
            else "`jssh status NAME`, no extra forward (baseline)"
        )
        self.note = "the forward is probed through the master, in the status script's round trip"
        super().__init__(runs)
        self.service = service
        self.with_forward = with_forward

    def setup(self) -> None:
        self.service.start()

    def reset(self) -> None:
        self.service.forwarded(self.with_forward)

    def measure(self) -> float:
        result = checked(self.service.laptop.jssh_process("status", NAME, "--json", timeout=60))
        answers = [f["answers"] for f in json.loads(result.stdout)[0]["forwards"]]
        if answers != ([True] if self.with_forward else []):
            raise BenchError(f"unexpected forwards in status: {result.stdout}")
        return result.duration

    def teardown(self) -> None:
        self.service.stop()


class LiveAdd(Case):
    label = "`jssh forward NAME LOCAL:REMOTE` on the running tunnel"
    note = "saved, written into the block, and given to the live master"

    def __init__(self, runs: int, service: Service) -> None:
        super().__init__(runs)
        self.service = service

    def setup(self) -> None:
        self.service.start()

    def reset(self) -> None:
        self.service.forwarded(False)

    def measure(self) -> float:
        spec = f"{self.service.local}:{self.service.remote}"
        result = checked(self.service.laptop.jssh_process("forward", NAME, spec, timeout=30))
        if "(now)" not in result.stdout:
            raise BenchError(f"the forward was not given to the master: {result}")
        return result.duration

    def teardown(self) -> None:
        self.service.stop()


def forwards_group(lab: Lab, laptop: Laptop, runs: int) -> Group:
    """LAPTOP has NAME up (the warm group's)."""
    service = Service(lab, laptop)
    return Group(
        "Extra forwards (`jssh forward`)",
        [
            Status(runs, service, with_forward=False),
            Status(runs, service, with_forward=True),
            LiveAdd(runs, service),
        ],
    )
