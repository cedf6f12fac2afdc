#!/usr/bin/env python3
"""The watchdog's figures, against the lab's real sshd (run under the test lock).

    flock /tmp/jssh-tests.lock python3 bench/watchdog_bench.py [--runs 5] [--cut 25]
        [--idle 30] [--hosts 1,3,10,50] [--no-cut]

1. kill -9: `jssh up`, `jssh watch`, then SIGKILL the master, N times: the seconds
   until the URL answers 200 again, and whether the remote server is the same process.
2. cut (root: a netns workstation): a kernel is started, the link is cut for --cut
   seconds and plugged back in: the seconds from the plug-in, and from the moment a TCP
   connect gets through again, until the URL answers 200; and whether the kernel lives.
3. idle cost: the watchdog following 1/3/10/50 healthy hosts for --idle seconds: its
   CPU seconds (user+system, after it settled) and its RSS. The hosts all reach one
   sshd on 127.0.0.1, each spelled differently (127.0.0.1, 127.0.0.01, 127.0.0.001...:
   inet_aton reads them all as 127.0.0.1) so that each gets its own ControlPath %C
   and so its own master (sshd listens on at most 16 addresses). Each has its master
   up (plain `ssh -fN NAME-jupyter`) and its wanted marker, which is all the watchdog
   looks at; no Jupyter is needed for it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import psutil  # noqa: E402

from lab import (  # noqa: E402
    IS_ROOT,
    LabKeys,
    Laptop,
    NetnsWorkstation,
    Sshd,
    ensure_lab_account,
    ensure_lab_venv,
    wait_until,
)
from lab.client import api, token_of  # noqa: E402


def jssh(laptop: Laptop, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        laptop.jssh_argv(*args),
        env=laptop.env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"jssh {' '.join(args)} failed:\n{done.stderr}")
    return done


def status(laptop: Laptop, name: str = "workstation") -> dict[str, object]:
    return json.loads(jssh(laptop, "status", name, "--json").stdout)[0]  # type: ignore[no-any-return]


def serves(url: str) -> bool:
    try:
        return api(url, "/api/status", token=token_of(url))[0] == 200
    except OSError:
        return False


def until_serving(url: str, timeout: float = 30) -> float:
    start = time.monotonic()
    while not serves(url):
        if time.monotonic() - start > timeout:
            raise SystemExit(f"{url} did not answer within {timeout} s")
        time.sleep(0.005)
    return time.monotonic() - start


class Watch:
    def __init__(self, laptop: Laptop) -> None:
        self.log = laptop.root / "watch.stderr"
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                laptop.jssh_argv("watch"),
                env=laptop.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        wait_until(lambda: "watchdog: started" in self.text(), timeout=60, what="watchdog start")

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=15)


def summary(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):.3f} s "
        f"(min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"
    )


# -- 1. kill -9 -----------------------------------------------------------------------------
def bench_kill(keys: LabKeys, runs: int) -> None:
    ws = Sshd(account=ensure_lab_account(), venv=ensure_lab_venv(), keys=keys).start()
    laptop = Laptop(workstation=ws, keys=keys)
    try:
        jssh(laptop, "add", "workstation")
        url = jssh(laptop, "up", "workstation", "--no-open").stdout.strip().splitlines()[-1]
        server = status(laptop)["server"]["pid"]  # type: ignore[index]
        watch = Watch(laptop)
        times = []
        same = True
        for _ in range(runs):
            master = int(status(laptop)["master"]["pid"])  # type: ignore[index]
            os.kill(master, signal.SIGKILL)
            times.append(until_serving(url))
            same = same and status(laptop)["server"]["pid"] == server  # type: ignore[index]
            time.sleep(0.5)
        rc = watch.stop()
        print(f"kill -9 of the master -> forward serves again: {summary(times)}")
        print(f"  same remote server pid every time: {same}; watchdog exit on SIGTERM: {rc}")
    finally:
        laptop.close()
        ws.close()


# -- 2. cut and restore ----------------------------------------------------------------------
def bench_cut(keys: LabKeys, seconds: float) -> None:
    if not IS_ROOT:
        print("cut: skipped (needs root for a network namespace)")
        return
    ws = NetnsWorkstation(account=ensure_lab_account(), venv=ensure_lab_venv(), keys=keys)
    ws.start()
    laptop = Laptop(workstation=ws, keys=keys)
    try:
        jssh(laptop, "add", "workstation")
        url = jssh(laptop, "up", "workstation", "--no-open").stdout.strip().splitlines()[-1]
        token = token_of(url)
        code, body = api(url, "/api/kernels", token=token, method="POST", body="{}")
        assert code == 201, body
        kernel = json.loads(body)["id"]
        server = status(laptop)["server"]["pid"]  # type: ignore[index]
        watch = Watch(laptop)
        ws.cut()
        time.sleep(seconds)
        plugged = time.monotonic()
        ws.restore(wait_reachable=False)
        wait_until(ws._reachable, timeout=30, what="reachable", interval=0.005)
        reachable = time.monotonic()
        until_serving(url, timeout=60)
        done = time.monotonic()
        alive = api(url, f"/api/kernels/{kernel}", token=token)[0] == 200
        same = status(laptop)["server"]["pid"] == server  # type: ignore[index]
        rc = watch.stop()
        print(
            f"cut {seconds:.0f} s -> serves again {done - plugged:.2f} s after the plug-in,"
            f" {done - reachable:.2f} s after the first TCP connect got through"
        )
        print(f"  kernel from before the cut alive: {alive}; same server: {same}; exit {rc}")
        for line in watch.text().splitlines():
            print(f"    {line}")
    finally:
        laptop.close()
        ws.close()


# -- 3. idle cost ------------------------------------------------------------------------------
def bench_idle(keys: LabKeys, counts: list[int], seconds: float) -> None:
    ws = Sshd(account=ensure_lab_account(), venv=ensure_lab_venv(), keys=keys).start()
    try:
        for count in counts:
            laptop = Laptop(workstation=ws, keys=keys)
            try:
                cpu, rss, startup = idle_once(laptop, ws, count, seconds)
            finally:
                laptop.close()
            print(
                f"idle, {count:2d} healthy host(s), {seconds:.0f} s: CPU {cpu:.4f} s"
                f" ({cpu / seconds * 60:.3f} s/min), RSS {rss / 2**20:.1f} MiB;"
                f" start-up {startup:.2f} s CPU"
            )
    finally:
        ws.close()


def cpu_ns(pid: int) -> int:
    """CPU time of every thread of PID, in ns (/proc/PID/task/*/schedstat), where
    psutil's cpu_times() counts in 10 ms clock ticks: too coarse for an idle watchdog."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total


def idle_once(laptop: Laptop, ws: Sshd, count: int, seconds: float) -> tuple[float, int, float]:
    blocks = []
    known = []
    for k in range(count):
        address = "127.0.0." + "0" * k + "1"
        blocks.append(
            f"Host h{k}\n    HostName {address}\n    Port {ws.port}\n    User {ws.user}\n"
            f"    IdentityFile {laptop.identity}\n\n"
        )
        known.append(ws.known_hosts_line(address, ws.port))
    text = laptop.ssh_config.read_text()
    marker = "# Defaults for everything else"
    laptop.ssh_config.write_text(text.replace(marker, "".join(blocks) + marker))
    with open(laptop.known_hosts, "a") as f:
        f.write("\n".join(known) + "\n")
    for k in range(count):
        jssh(laptop, "add", f"h{k}", "--local-port", str(20000 + k))
        done = laptop.ssh("-fN", f"h{k}-jupyter", timeout=30)
        assert done.ok, str(done)
        wanted = laptop.state_dir / "hosts" / f"h{k}" / "wanted"
        wanted.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        wanted.write_text("")
    watch = Watch(laptop)
    wait_until(
        lambda: len(re.findall(r"following it", watch.text())) >= count,
        timeout=60,
        what="every host followed",
    )
    time.sleep(2)  # let the start-up settle
    proc = psutil.Process(watch.proc.pid)
    start = proc.cpu_times()
    startup = start.user + start.system
    start_ns = cpu_ns(proc.pid)
    peak = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        peak = max(peak, proc.memory_info().rss)
        time.sleep(1)
    cpu = (cpu_ns(proc.pid) - start_ns) / 1e9
    respawns = watch.text().count("respawn")
    watch.stop()
    if respawns:
        print(f"  note: {respawns} respawn lines while idle with {count} hosts")
    return cpu, peak, startup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="kill -9 repetitions")
    parser.add_argument("--cut", type=float, default=25, help="seconds the link is cut")
    parser.add_argument("--no-cut", action="store_true", help="skip the netns cut case")
    parser.add_argument("--idle", type=float, default=30, help="seconds of idle watching")
    parser.add_argument("--hosts", default="1,3,10,50", help="host counts for the idle cost")
    options = parser.parse_args()
    keys = LabKeys.create()
    try:
        bench_kill(keys, options.runs)
        if not options.no_cut:
            bench_cut(keys, options.cut)
        bench_idle(keys, [int(n) for n in options.hosts.split(",")], options.idle)
    finally:
        keys.remove()


if __name__ == "__main__":
    main()
