"""The watchdog's idle cost: CPU per minute, start-up CPU and RSS of `jssh watch`
following 1, 10, 50 healthy hosts (--idle-hosts)."""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path

from harness import Case, Group, Row, checked, poll_until
from world import Lab, Watch, jssh_ok

from lab import Laptop, free_port


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread of PID (/proc/PID/task/*/schedstat, in ns): psutil's
    cpu_times() counts 10 ms clock ticks, too coarse for an idle watchdog."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


class IdleCost(Case):
    """`jssh watch` following HOSTS healthy hosts; each run is one window of WINDOW s."""

    warmup = False

    def __init__(self, runs: int, lab: Lab, hosts: int, window: float) -> None:
        self.label = f"watchdog idle, {hosts} healthy host(s): CPU per minute"
        self.note = (
            f"after start-up; {window:g} s windows; CPU of all its threads"
            " (/proc/PID/task/*/schedstat)"
        )
        super().__init__(runs)
        self.row.unit = "s/min"
        self.lab = lab
        self.hosts = hosts
        self.window = window
        self.startup_row = Row(
            f"watchdog start-up, {hosts} host(s): CPU until every host is followed",
            1,
            note="from exec to the last `following it`, + 2 s to settle; Python start-up included",
        )
        self.rss_row = Row(
            f"watchdog RSS, {hosts} host(s)", runs, unit="MiB", note="peak in each window"
        )
        self.extra_rows = [self.startup_row, self.rss_row]
        self.laptop: Laptop | None = None
        self.watch: Watch | None = None

    def setup(self) -> None:
        import psutil

        laptop = self.laptop = self.lab.laptop()
        # Each host is its own managed name, so its own ControlPath (<cm dir>/NAME) and
        # master, all to the lab's sshd. Masters up by plain `ssh -fN` and the wanted
        # marker set: all the watchdog looks at; no Jupyter is needed for its idle cost.
        for k in range(self.hosts):
            name = f"idle{k}"
            jssh_ok(laptop, "add", "workstation", "--name", name, "--local-port", str(free_port()))
            checked(laptop.ssh("-fN", f"{name}-jupyter", timeout=30), f"master for {name}")
            wanted = laptop.state_dir / "hosts" / name / "wanted"
            wanted.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            wanted.write_text("")
        watch = self.watch = Watch(laptop)
        poll_until(
            lambda: watch.text().count("following it") >= self.hosts,
            timeout=120,
            what="the watchdog following every host",
            interval=0.1,
        )
        time.sleep(2)  # let the start-up settle (threads, first checks)
        self.startup_row.samples.append(cpu_seconds(watch.proc.pid))
        self.proc = psutil.Process(watch.proc.pid)

    def measure(self) -> float:
        assert self.watch is not None
        pid = self.watch.proc.pid
        before = cpu_seconds(pid)
        start = time.monotonic()
        peak = 0
        while time.monotonic() - start < self.window:  # RSS sampled once a second
            peak = max(peak, self.proc.memory_info().rss)
            time.sleep(1)
        used = cpu_seconds(pid) - before
        elapsed = time.monotonic() - start
        self.rss_row.samples.append(peak / 2**20)
        return used / elapsed * 60

    def teardown(self) -> None:
        if self.watch is not None:
            respawns = self.watch.text().count("respawn")
            if respawns:
                self.row.note += f"; {respawns} `respawn` lines in its log while idle"
            self.watch.stop()
        if self.laptop is not None:
            self.laptop.close()  # its masters too (lab id)


def idle_group(lab: Lab, options: argparse.Namespace) -> Group:
    """Run on its own, after the cut: a netns link going down or up is a network event
    every watchdog on the machine wakes for, which would count as idle CPU."""
    counts = [int(n) for n in options.idle_hosts.split(",")]
    return Group(
        "Watchdog idle cost (healthy hosts)",
        [IdleCost(options.idle_windows, lab, n, options.idle_window) for n in counts],
    )
