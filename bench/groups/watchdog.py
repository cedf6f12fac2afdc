"""The watchdog (`jssh watch`, issue 7): respawn after kill -9 of the master, against
autossh after kill -9 of its ssh, and the link cut (groups/cut.py)."""

from __future__ import annotations

import argparse
import os
import signal
import time

from harness import Case, Group, NoFigure, poll_until
from peers import Autossh, autossh_missing
from world import Lab, Served, Watch, serves

from groups.cut import CutRestore
from lab import pid_alive


class WatchedHost:
    """One jssh host under `jssh watch` on the lab's workstation, and the autossh peer
    forwarding to the same Jupyter server; shared by the two kill -9 cases."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.host: Served | None = None
        self.watch: Watch | None = None
        self.autossh: Autossh | None = None

    def start(self) -> Served:
        if self.host is None:
            self.host = Served.up(self.lab.laptop(), "wdkill")
            self.watch = Watch(self.host.laptop)
        return self.host

    def close(self) -> None:
        if self.autossh is not None:
            self.autossh.stop()
        if self.watch is not None:
            self.watch.stop()
            self.watch = None
        if self.host is not None:
            self.host.down()
            self.host = None


def _kill_and_wait(pid: int, what: str) -> None:
    """SIGKILL PID and wait (polling every ms) until it is gone or a zombie."""
    os.kill(pid, signal.SIGKILL)
    poll_until(lambda: not pid_alive(pid), timeout=10, what=what, interval=0.001)


class KillMaster(Case):
    label = "respawn after `kill -9` of the master, until the forward serves (goal ≤ 1 s)"
    note = "`jssh watch` running; from the SIGKILL until HTTP 200 with the token on the local port"

    def __init__(self, runs: int, shared: WatchedHost) -> None:
        super().__init__(runs)
        self.shared = shared
        self.master = 0
        self.server: object = None
        self.same_server = True

    def setup(self) -> None:
        host = self.shared.start()
        self.server = host.server_pid()

    def reset(self) -> None:
        host = self.shared.start()
        poll_until(
            lambda: serves(host.port, host.token), timeout=30, what="jssh forward", interval=0.05
        )
        self.master = host.master_pid()

    def measure(self) -> float:
        host = self.shared.start()
        start = time.monotonic()
        _kill_and_wait(self.master, "the master to die")
        done = poll_until(
            lambda: serves(host.port, host.token),
            timeout=30,
            what="the forward after kill -9",
            interval=0.005,
        )
        return done - start

    def after(self) -> None:
        self.same_server = self.same_server and self.shared.start().server_pid() == self.server

    def teardown(self) -> None:
        if self.row.samples:
            self.row.note += (
                "; the same remote Jupyter server every run"
                if self.same_server
                else "; the remote server CHANGED"
            )
        self.shared.close()


class KillAutossh(Case):
    label = "peer: autossh, after `kill -9` of its ssh, until the forward serves"
    note = (
        "`autossh -M 0 -f -N -o ServerAliveInterval=5 -o ServerAliveCountMax=3"
        " -o ExitOnForwardFailure=yes -L …` to the same Jupyter server; SIGKILL its ssh child"
    )
    cap = 30.0

    def __init__(self, runs: int, shared: WatchedHost) -> None:
        super().__init__(runs)
        self.shared = shared
        self.child = 0

    def setup(self) -> None:
        missing = autossh_missing()
        if missing:
            raise NoFigure(f"cannot run here: {missing}")
        host = self.shared.start()
        self.shared.autossh = Autossh(host.laptop, host.remote_target())

    def reset(self) -> None:
        host, peer = self.shared.start(), self.shared.autossh
        assert peer is not None
        if not peer.alive():  # it may have given up after the last kill: start it again
            peer.start()
        poll_until(
            lambda: serves(peer.port, host.token), timeout=30, what="autossh forward", interval=0.05
        )
        self.child = peer.ssh_child()

    def measure(self) -> float:
        host, peer = self.shared.start(), self.shared.autossh
        assert peer is not None
        start = time.monotonic()
        _kill_and_wait(self.child, "autossh's ssh to die")
        while time.monotonic() - start < self.cap:
            if serves(peer.port, host.token):
                return time.monotonic() - start
            if not peer.alive():
                raise NoFigure(
                    "never: autossh exits when its ssh dies of SIGKILL (its log: "
                    f"{peer.log_tail() or '?'})"
                )
            time.sleep(0.005)
        raise NoFigure(f"> {self.cap:.0f} s (cap)")


def watchdog_group(lab: Lab, options: argparse.Namespace) -> Group:
    """kill -9 (jssh and autossh on the lab's workstation) and the link cut (netns)."""
    shared = WatchedHost(lab)
    return Group(
        "Watchdog: kill -9 and a link cut",
        [
            KillMaster(options.runs, shared),
            KillAutossh(options.peer_runs, shared),
            CutRestore(
                options.cut_runs,
                lab,
                seconds=options.cut_seconds,
                peer_runs=options.autossh_cut_runs,
                peer_cap=options.autossh_cap,
            ),
        ],
    )
