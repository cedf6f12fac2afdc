"""The watchdog after a link cut: a netns workstation (root) whose link is cut and
restored, `jssh watch` and autossh both following it."""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time
from typing import Any

from harness import BenchError, Case, NoFigure, Row, checked, poll_until
from peers import Autossh, autossh_missing
from world import Lab, Served, Watch, serves

from lab import Laptop
from lab.client import api


class CutRestore(Case):
    label = "back after a 25 s link cut, from the restore until the forward serves"
    note = "netns workstation (root); `jssh watch` running; the link cut on the namespace side"
    warmup = False  # each run is a 25 s cut; the setup's cold `jssh up` warmed things up

    def __init__(
        self, runs: int, lab: Lab, *, seconds: float, peer_runs: int, peer_cap: float
    ) -> None:
        self.label = self.label.replace("25 s", f"{seconds:g} s")
        super().__init__(runs)
        self.row.note += f"; {runs} runs (each is a {seconds:g} s cut)"
        self.lab = lab
        self.seconds = seconds
        self.peer_runs = peer_runs
        self.peer_cap = peer_cap
        self.handshake_row = Row(
            "one plain ssh handshake to the same host (`ssh -o ControlMaster=no … true`)",
            runs * 3,
            note="three after each restore, no multiplexing: what a respawn must pay",
        )
        self.peer_row = Row(
            f"peer: autossh back after a {seconds:g} s link cut, from the restore",
            peer_runs,
            note=f"the same cuts (it runs alongside); capped at {peer_cap:.0f} s",
        )
        self.reach_row = Row(
            "the same cuts: until a TCP connect to its sshd gets through again",
            runs,
            note="from the restore, polled every 5 ms: the link itself (stale ARP) coming back",
        )
        self.extra_rows = [self.reach_row, self.handshake_row, self.peer_row]
        self.kernel = ""
        self.kernel_alive = True
        self.ws: Any = None
        self.laptop: Laptop | None = None
        self.host: Served | None = None
        self.watch: Watch | None = None
        self.peer: Autossh | None = None
        self.runs_done = 0
        self.over_cap = 0
        self.peer_restarts: list[int] = []  # autossh's ssh restarts in each measured cut

    def setup(self) -> None:
        from lab import IS_ROOT, NetnsWorkstation

        if not IS_ROOT:
            why = "cannot run here: a link cut needs root (a network namespace)"
            self.peer_row.missing = why
            raise NoFigure(why)
        self.ws = NetnsWorkstation(account=self.lab.ws.user, venv=self.lab.venv, keys=self.lab.keys)
        self.ws.start()
        self.laptop = Laptop(workstation=self.ws, keys=self.lab.keys)
        self.host = Served.up(self.laptop, "wdcut")
        self.kernel = self._start_kernel()
        self.watch = Watch(self.laptop)
        missing = autossh_missing()
        if missing:
            self.peer_row.missing = f"cannot run here: {missing}"
        elif self.peer_runs > 0:
            self.peer = Autossh(self.laptop, self.host.remote_target())
        else:
            self.peer_row.missing = "skipped (--autossh-cut-runs 0)"

    def _api(self, path: str, method: str = "GET", body: str | None = None) -> tuple[int, bytes]:
        assert self.host is not None
        url = f"http://127.0.0.1:{self.host.port}/"
        return api(url, path, token=self.host.token, method=method, body=body)

    def _start_kernel(self) -> str:
        """A kernel started before the cuts: the row says whether it outlives them."""
        status, body = self._api("/api/kernels", method="POST", body="{}")
        if status != 201:
            raise BenchError(f"could not start a kernel: HTTP {status}")
        return str(json.loads(body)["id"])

    def _kernel_alive(self) -> bool:
        try:
            return self._api(f"/api/kernels/{self.kernel}")[0] == 200
        except (OSError, http.client.HTTPException):
            return False

    def _peer_restarts(self) -> int:
        if self.peer is None:
            return 0
        with contextlib.suppress(OSError):
            return self.peer.logfile.read_text(errors="replace").count("restarting ssh")
        return 0

    def _tracks_peer(self) -> bool:
        return self.peer is not None and self.runs_done < self.peer_runs

    def reset(self) -> None:
        host = self.host
        assert host is not None
        poll_until(
            lambda: serves(host.port, host.token), timeout=60, what="jssh forward", interval=0.05
        )
        if self._tracks_peer():
            assert self.peer is not None
            # A fresh autossh each run: one still in its connect backoff from the last
            # cut (over the cap) would not start this run from the same state.
            self.peer.stop()
            self.peer.start()
            peer = self.peer
            poll_until(
                lambda: serves(peer.port, host.token), timeout=30, what="autossh", interval=0.05
            )

    def measure(self) -> float:
        host = self.host
        assert host is not None
        assert self.ws is not None
        track = self._tracks_peer()
        restarts_before = self._peer_restarts()
        self.ws.cut()
        time.sleep(self.seconds)  # the cut itself: what is measured is what follows it
        self.ws.restore(wait_reachable=False)
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

        def reachable() -> None:
            with contextlib.suppress(BenchError):
                found["tcp"] = (
                    poll_until(self.ws._reachable, timeout=60, what="", interval=0.005) - start
                )

        threads = [
            threading.Thread(target=first_200, args=("jssh", host.port, 90.0)),
            threading.Thread(target=reachable),
        ]
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
            self.peer_restarts.append(self._peer_restarts() - restarts_before)
            if "peer" in found:
                self.peer_row.samples.append(found["peer"])
            else:
                self.over_cap += 1
        if "tcp" in found:
            self.reach_row.samples.append(found["tcp"])
        if "jssh" not in found:
            raise BenchError("the jssh forward did not serve within 90 s of the restore")
        self.kernel_alive = self.kernel_alive and self._kernel_alive()
        return found["jssh"]

    def after(self) -> None:
        assert self.laptop is not None
        if self.peer is not None and not self._tracks_peer():
            self.peer.stop()  # not measured any more: keep it out of the following cuts
        for _ in range(3):
            handshake = self.laptop.ssh(
                "-o", "ControlMaster=no", "-o", "ControlPath=none", "workstation", "true",
                timeout=120,
            )  # fmt: skip
            self.handshake_row.samples.append(checked(handshake).duration)

    def teardown(self) -> None:
        if self.row.samples:
            self.row.note += (
                "; the kernel started before the first cut was alive after every one"
                if self.kernel_alive
                else "; the kernel started before the cuts was LOST"
            )
        if self.peer_restarts:
            self.peer_row.note += (
                "; its log shows its ssh restarted "
                + ", ".join(map(str, self.peer_restarts))
                + " time(s) in each cut (a connect to the cut link fails fast: No route to host)"
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
            self.ws.close()
            self.ws = None
