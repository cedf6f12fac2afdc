"""The real watchdog loop, in process, with an Ssh stand-in instead of ssh: real
pidfds, file watching, workers and signals; no sshd. It shows what the lab cannot
show cheaply: a host whose `ssh -O check` hangs holds up no other host."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jssh.config.resolve import build, resolve
from jssh.config.store import Store
from jssh.hosts import Endpoint, HostRecord
from jssh.names import parse_target
from jssh.paths import Paths
from jssh.ssh import BatchStart
from jssh.watchdog import Watchdog

pytestmark = pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="pidfds: Linux")

SLOW_CHECK = 1.5


class FakeSsh:
    """Answers as ssh would for two hosts: `slow`, whose control socket takes SLOW_CHECK
    to answer, and `fast`, whose masters are `sleep` processes started here."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.masters: dict[str, subprocess.Popen[bytes]] = {}
        self.spawned: list[str] = []

    def _sleeper(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["sleep", "60"])

    def resolve(self, host: str, *args: object, **kw: object) -> dict[str, list[str]]:
        return {"controlpath": [str(self.tmp / "cm" / host)], "hostname": ["ws.example"]}

    def master_pid(self, alias: str, *, timeout: float = 10) -> int | None:
        if alias.startswith("slow"):
            time.sleep(SLOW_CHECK)  # a master that takes its time: a loaded machine
            alias = "slow"
        master = self.masters.get(alias.removesuffix("-jupyter"))
        return master.pid if master is not None and master.poll() is None else None

    def spawn_master(
        self, alias: str, *, log_path: Path, connect_timeout: int, forwards: bool = True
    ) -> BatchStart:
        self.spawned.append(alias)
        self.masters[alias.removesuffix("-jupyter")] = self._sleeper()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.touch()
        return BatchStart(alias, subprocess.Popen(["true"]), log_path, 0)  # ssh forked off

    def stop_master(self, alias: str) -> bool:
        return False

    def argv(self, *args: str) -> list[str]:
        """The server's watch: a server that runs (it reads its stdin until closed)."""
        return ["sh", "-c", "cat >/dev/null"]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[Paths, FakeSsh]]:
    paths = Paths.build(ssh_config=tmp_path / "ssh" / "config", state_dir=tmp_path / "state")
    ssh = FakeSsh(tmp_path)
    with Store(paths).transaction() as registry:  # as `jssh add` would
        for n, name in enumerate(("fast", "slow")):
            record = HostRecord(name=name, target="ws.example", local_port=8899 + n,
                                endpoint=Endpoint(port=8888), ssh_options=[],
                                control_path=str(tmp_path / "cm" / name))  # fmt: skip
            # The block `add` builds from what (this) ssh resolves: so it has not drifted.
            resolved = resolve(paths, ssh, parse_target(record.target))  # type: ignore[arg-type]
            registry.hosts[name] = build(paths, ssh, record, resolved, b"").record  # type: ignore[arg-type]
            paths.host_state_dir(name).mkdir(parents=True)
            paths.wanted_marker(name).touch()  # as `jssh up` would
            ssh.masters[name] = ssh._sleeper()
    yield paths, ssh
    for proc in ssh.masters.values():
        proc.kill()
        proc.wait()


def test_a_host_whose_check_hangs_holds_up_no_other(lab: tuple[Paths, FakeSsh]) -> None:
    paths, ssh = lab
    lines: list[tuple[float, str]] = []
    started = time.monotonic()

    def seen(pattern: str) -> float:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for at, line in list(lines):
                if pattern in line:
                    return at - started
            time.sleep(0.01)
        raise AssertionError(f"{pattern!r} never logged:\n" + "\n".join(ln for _, ln in lines))

    def user() -> None:
        try:
            first = ssh.masters["fast"].pid
            seen(f"fast: watchdog started: master pid {first}; following it")
            ssh.masters["fast"].kill()  # the master dies while slow's look still hangs
            seen("fast: respawned: master pid")
            seen("slow: watchdog started: master pid")
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=user)
    thread.start()
    rc = Watchdog(paths, ssh, echo=lambda line: lines.append((time.monotonic(), line))).run()  # type: ignore[arg-type]
    thread.join()
    assert rc == 0
    fast_followed = seen("fast: watchdog started")
    fast_back = seen("fast: respawned")
    slow_followed = seen("slow: watchdog started")
    assert fast_followed < 0.5 < SLOW_CHECK <= slow_followed, lines
    assert fast_back < SLOW_CHECK, "the respawn waited for the other host's check"
    assert ssh.spawned == ["fast-jupyter"]
    assert "watchdog: stopping on SIGTERM" in lines[-1][1]
    print("\n".join(line for _, line in lines), file=sys.stderr)
