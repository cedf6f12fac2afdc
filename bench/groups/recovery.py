"""Issue 13's recoveries under `jssh watch`: a Jupyter server killed (the watchdog starts
it again with the same token), and the laptop's address moved to another link (the
master whose connection used the old address is replaced at once), with autossh as the
peer for the move.

Run alone: `python3 bench/groups/recovery.py` (root, for the network namespace) prints
this group's rows as the markdown table bench/RESULTS.md holds; ./scripts/bench runs it
with the others.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # run alone: the imports bench/run.py would have set up
    _REPO = Path(__file__).resolve().parents[2]
    sys.path[:0] = [str(_REPO / "bench"), str(_REPO / "tests"), str(_REPO / "src")]

from harness import BenchError, Case, Group, NoFigure, Row, poll_until
from peers import Autossh, autossh_missing
from world import Lab, Served, Watch, jssh_status, serves

from lab import Laptop, pid_alive, run


class ServerKilled(Case):
    label = "the same URL after `kill -9` of the Jupyter server, until it answers (goal ≤ 5 s)"
    note = (
        "`jssh watch` running; from the SIGKILL until HTTP 200 with the same token on the"
        " same local port (the watchdog starts the server again through the master); a fresh"
        " `jssh watch` before each run, as a server killed again within 30 s of its restart"
        " counts as a crash loop and is backed off (1, 2, 4 s)"
    )
    warmup = False  # each run starts a JupyterLab: the setup's `jssh up` warmed things up

    def __init__(self, runs: int, lab: Lab) -> None:
        super().__init__(runs)
        self.lab = lab
        self.peer_row = Row(
            "peer: autossh after `kill -9` of the Jupyter server",
            0,
            missing="never: autossh keeps only the tunnel; nothing starts the server again",
        )
        self.extra_rows = [self.peer_row]
        self.host: Served | None = None
        self.watch: Watch | None = None
        self.server = 0
        self.same_master = True
        self.master = 0

    def setup(self) -> None:
        self.host = Served.up(self.lab.laptop(), "wdsrv")
        self.watch = Watch(self.host.laptop)
        self.master = self.host.master_pid()

    def reset(self) -> None:
        host = self.host
        assert host is not None
        poll_until(lambda: serves(host.port, host.token), timeout=60, what="jssh", interval=0.05)
        if self.watch is not None:
            self.watch.stop()
        self.watch = Watch(host.laptop)
        poll_until(
            lambda: jssh_status(host.laptop, host.name)["watchdog"].get("server") == "watching",
            timeout=30,
            what="the watchdog to watch the server",
            interval=0.05,
        )
        pid = host.server_pid()
        if not isinstance(pid, int):
            raise BenchError(f"{host.name}: no server pid in `jssh status`")
        self.server = pid

    def measure(self) -> float:
        host = self.host
        assert host is not None
        start = time.monotonic()
        os.kill(self.server, signal.SIGKILL)
        poll_until(lambda: not pid_alive(self.server), timeout=10, what="death", interval=0.001)
        done = poll_until(
            lambda: serves(host.port, host.token), timeout=60, what="the URL", interval=0.005
        )
        return done - start

    def after(self) -> None:
        assert self.host is not None
        self.same_master = self.same_master and self.host.master_pid() == self.master

    def teardown(self) -> None:
        if self.row.samples:
            self.row.note += (
                "; the tunnel's master stayed the same" if self.same_master else "; master CHANGED"
            )
        if self.watch is not None:
            self.watch.stop()
        if self.host is not None:
            with contextlib.suppress(Exception):
                self.host.laptop.jssh_process("down", self.host.name, "--force", timeout=60)


class AddressMoved(Case):
    label = "back after the laptop's address moved to another link, until the forward serves"
    note = (
        "netns workstation behind two veth pairs (root); `jssh watch` running; the old"
        " address deleted, the new one and its route added; from the last `ip` call"
    )
    warmup = False

    def __init__(self, runs: int, lab: Lab, *, peer_runs: int, peer_cap: float) -> None:
        super().__init__(runs)
        self.lab = lab
        self.peer_runs = peer_runs
        self.peer_cap = peer_cap
        self.peer_row = Row(
            "peer: autossh after the same address moves, until its forward serves",
            peer_runs,
            note="`autossh -M 0 … -o ServerAliveInterval=5 -o ServerAliveCountMax=3`, alongside;"
            f" capped at {peer_cap:.0f} s",
        )
        self.extra_rows = [self.peer_row]
        self.ws: Any = None
        self.links: list[tuple[str, str, str]] = []  # (laptop dev, laptop addr, ns addr)
        self.on = 0  # which link the laptop's address is on now
        self.laptop: Laptop | None = None
        self.host: Served | None = None
        self.watch: Watch | None = None
        self.peer: Autossh | None = None
        self.runs_done = 0
        self.over_cap = 0
        self.same_server = True
        self.server: object = None

    def setup(self) -> None:
        from lab import IS_ROOT, NetnsWorkstation
        from lab.netns import SecondLink

        if not IS_ROOT:
            why = "cannot run here: moving an address needs root (a network namespace)"
            self.peer_row.missing = why
            raise NoFigure(why)
        self.ws = NetnsWorkstation(account=self.lab.ws.user, venv=self.lab.venv, keys=self.lab.keys)
        self.ws.start()
        second = SecondLink(self.ws)
        ws = self.ws
        self.links = [
            (ws.host_dev, f"{ws.host_addr}/{ws.subnet.prefixlen}", ""),
            (second.host_dev, f"{second.host_addr}/{second.subnet.prefixlen}", second.ns_addr),
        ]
        self.laptop = Laptop(workstation=self.ws, keys=self.lab.keys)
        self.host = Served.up(self.laptop, "wdmove")
        self.server = self.host.server_pid()
        self.watch = Watch(self.laptop)
        missing = autossh_missing()
        if missing:
            self.peer_row.missing = f"cannot run here: {missing}"
        elif self.peer_runs > 0:
            self.peer = Autossh(self.laptop, self.host.remote_target())
        else:
            self.peer_row.missing = "skipped (no autossh runs)"

    def _move(self) -> None:
        """The laptop's address from the link it is on to the other: delete, add, route
        (to the first link the /30 itself routes the workstation's address)."""
        old_dev, old_addr, old_via = self.links[self.on]
        self.on = 1 - self.on
        dev, addr, via = self.links[self.on]
        sshd = self.ws.ns_addr
        if old_via:
            _ip("route", "del", f"{sshd}/32", "via", old_via, "dev", old_dev)
        _ip("addr", "del", old_addr, "dev", old_dev)
        _ip("addr", "add", addr, "dev", dev)
        if via:
            _ip("route", "add", f"{sshd}/32", "via", via, "dev", dev)

    def _tracks_peer(self) -> bool:
        return self.peer is not None and self.runs_done < self.peer_runs

    def reset(self) -> None:
        host = self.host
        assert host is not None
        poll_until(lambda: serves(host.port, host.token), timeout=60, what="jssh", interval=0.05)
        if self._tracks_peer():
            assert self.peer is not None
            self.peer.stop()  # a fresh autossh each run, connected over the current link
            self.peer.start()
            peer = self.peer
            poll_until(
                lambda: serves(peer.port, host.token), timeout=30, what="autossh", interval=0.05
            )

    def measure(self) -> float:
        host = self.host
        assert host is not None
        track = self._tracks_peer()
        self._move()
        start = time.monotonic()
        found: dict[str, float] = {}

        def first_200(key: str, port: int, cap: float) -> None:
            with contextlib.suppress(BenchError):
                found[key] = (
                    poll_until(
                        lambda: serves(port, host.token), timeout=cap, what="", interval=0.005
                    )
                    - start
                )

        threads = [threading.Thread(target=first_200, args=("jssh", host.port, 60.0))]
        if track:
            assert self.peer is not None
            threads.append(
                threading.Thread(target=first_200, args=("peer", self.peer.port, self.peer_cap))
            )
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.runs_done += 1
        if track:
            if "peer" in found:
                self.peer_row.samples.append(found["peer"])
            else:
                self.over_cap += 1
        if "jssh" not in found:
            raise BenchError("the jssh forward did not serve within 60 s of the move")
        return found["jssh"]

    def after(self) -> None:
        assert self.host is not None
        self.same_server = self.same_server and self.host.server_pid() == self.server
        if self.peer is not None and not self._tracks_peer():
            self.peer.stop()

    def teardown(self) -> None:
        if self.row.samples:
            self.row.note += (
                f"; {len(self.row.samples)} moves, back and forth; the same Jupyter server"
                " after every one"
                if self.same_server
                else "; the remote server CHANGED"
            )
        if self.over_cap:
            if self.peer_row.samples:
                self.peer_row.note += f"; {self.over_cap} run(s) > {self.peer_cap:.0f} s cap"
            else:
                self.peer_row.missing = f"> {self.peer_cap:.0f} s (cap), {self.over_cap} run(s)"
        if self.peer is not None:
            self.peer.stop()
        if self.watch is not None:
            self.watch.stop()
        if self.laptop is not None:
            if self.host is not None:
                self.host.down()
            self.laptop.close()
        if self.ws is not None:
            self.ws.close()  # its namespace, and both veth pairs with it
            self.ws = None


def _ip(*args: str) -> None:
    done = run(["ip", *args], timeout=30)
    if not done.ok:
        raise BenchError(f"ip {' '.join(args)}: {done}")


def recovery_group(lab: Lab, options: argparse.Namespace) -> Group:
    """The server killed (the lab's workstation) and the address moved (netns)."""
    return Group(
        "Watchdog: the server killed, the laptop's address moved",
        [
            ServerKilled(options.server_kill_runs, lab),
            AddressMoved(
                options.move_runs, lab, peer_runs=options.autossh_move_runs, peer_cap=60.0
            ),
        ],
    )


def main() -> int:
    """This group alone: its rows, as the table in bench/RESULTS.md."""
    from harness import bench_lock, run_group

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-kill-runs", type=int, default=5)
    parser.add_argument("--move-runs", type=int, default=5)
    parser.add_argument("--autossh-move-runs", type=int, default=3)
    options = parser.parse_args()
    with bench_lock(Path("/tmp/jssh-tests.lock")):
        lab = Lab()
        try:
            group = recovery_group(lab, options)
            run_group(group, warmup=False)
        finally:
            lab.close()
    print(f"\n## {group.title}\n")
    print("| row | median | range (min – max) | runs | how |\n| --- | --- | --- | --- | --- |")
    for row in group.rows():
        median, spread, n = row.cells()
        print(f"| {row.label} | {median} | {spread} | {n} | {row.note} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
