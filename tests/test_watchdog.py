"""`jssh watch` against the real lab: masters killed, stopped, cut off and refused.

The watchdog runs as a user would run it: `python -m jssh watch` with the laptop's
environment (so teardown finds it by lab id), stopped with SIGTERM, and it must then
exit 0. What is asserted is what the user sees: the URL answers again, through a new
master, from the same remote server; and what the log and `jssh status` say.

That nothing happens (no retry after an authentication failure, none for a host brought
down or whose Slurm job ended) is proved over hours of fake time by the state machine's
unit tests (tests/unit/test_watchdog_machine.py); here it is checked between two events,
the watchdog's report and the user's next step, without sleeping to see.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from jssh.watchdog import policy
from jssh.watchdog.loop import CHECK_INTERVAL
from lab import Laptop, NetnsWorkstation, RelayLab, Sshd, wait_until
from lab.client import api, assert_one_clear_error, status_json, token_of, up
from lab.slurm import SlurmCluster

pytestmark = pytest.mark.faults


class Watcher:
    """`jssh watch` in the background; its stderr (the event log) goes to a file."""

    def __init__(self, laptop: Laptop) -> None:
        self.laptop = laptop
        self.stderr_path = laptop.root / f"watch-{time.monotonic_ns()}.stderr"
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                laptop.jssh_argv("watch"),
                env=laptop.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait_for(self, pattern: str, *, timeout: float = 15, after: int = 0) -> re.Match[str]:
        """Wait for a log line matching `pattern` (in the output past offset `after`)."""

        def seen() -> re.Match[str] | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"jssh watch exited {self.proc.returncode}:\n{self.output()}")
            return re.search(pattern, self.output()[after:])

        try:
            return wait_until(seen, timeout=timeout, what=f"{pattern!r} in the watchdog log")
        except Exception as exc:
            raise AssertionError(f"{exc}\n--- jssh watch said ---\n{self.output()}") from None

    def mark(self) -> int:
        return len(self.output())

    def stop(self) -> int:
        """SIGTERM, as a service manager would; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=15)


@pytest.fixture
def watch() -> Iterator[Callable[[Laptop], Watcher]]:
    started: list[Watcher] = []

    def start(laptop: Laptop) -> Watcher:
        watcher = Watcher(laptop)
        started.append(watcher)
        watcher.wait_for(r"watchdog: started")
        return watcher

    yield start
    for watcher in started:
        print(f"--- jssh watch (pid {watcher.pid}) said ---\n{watcher.output()}")  # for -rP
        if watcher.proc.poll() is None:
            # SIGTERM, as a service manager stops it: the watchdog's own clean stop (and
            # its coverage data, which a SIGKILL would lose); SIGKILL only if it hangs.
            watcher.proc.terminate()
            try:
                watcher.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                watcher.proc.kill()
                watcher.proc.wait()


def bring_up(laptop: Laptop, name: str = "workstation", *add_args: str) -> str:
    result = laptop.jssh("add", *add_args, "--name", name, "workstation")
    assert result.ok, result
    return up(laptop, name)


def serves(url: str) -> bool:
    try:
        return api(url, "/api/status", token=token_of(url))[0] == 200
    except OSError:
        return False


def wait_serving(url: str, timeout: float) -> float:
    """Seconds until the URL answers 200 again (bounded)."""
    started = time.monotonic()
    wait_until(lambda: serves(url), timeout=timeout, what=f"{url} to answer again")
    return time.monotonic() - started


def master_of(laptop: Laptop, name: str = "workstation") -> int:
    pid = status_json(laptop, name)["master"]["pid"]
    assert pid, f"{name} has no master"
    return int(pid)


def server_of(laptop: Laptop, name: str = "workstation") -> int:
    return int(status_json(laptop, name)["server"]["pid"])


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


# -- the cases ---------------------------------------------------------------------------------


def test_a_killed_master_is_respawned_and_the_same_server_answers(
    laptop: Laptop, watch: Callable[[Laptop], Watcher]
) -> None:
    url = bring_up(laptop)
    server, master = server_of(laptop), master_of(laptop)
    watcher = watch(laptop)
    watcher.wait_for(rf"workstation: watchdog started: master pid {master}; following it")

    os.kill(master, signal.SIGKILL)
    elapsed = wait_serving(url, timeout=10)
    assert elapsed < 5, f"the forward took {elapsed:.1f} s to come back"
    watcher.wait_for(rf"workstation: master pid {master} exited; respawning it now")
    respawned = watcher.wait_for(r"workstation: respawned: master pid (\d+); following it")
    new_master = master_of(laptop)
    assert new_master == int(respawned.group(1)) != master
    assert server_of(laptop) == server  # the same Jupyter server, through a new master

    state = status_json(laptop)["watchdog"]
    assert state["state"] == "connected"
    assert state["master_pid"] == new_master
    assert state["watchdog_running"] is True
    table = laptop.jssh("status")
    assert re.search(r"workstation: watchdog, \d+ s ago: respawned: master pid", table.stdout)

    # A clean stop leaves the tunnel up: the watchdog looks after it, it does not own it.
    assert watcher.stop() == 0
    assert "watchdog: stopping on SIGTERM" in watcher.output()
    assert master_of(laptop) == new_master
    assert serves(url)
    log = (laptop.state_dir / "watch.log").read_text()
    assert "respawned: master pid" in log
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", ln) for ln in log.splitlines())
    assert "(the watchdog is not running now)" in laptop.jssh("status").stdout


def test_a_stopped_master_is_killed_and_replaced(
    laptop: Laptop, watch: Callable[[Laptop], Watcher]
) -> None:
    url = bring_up(laptop)
    server, master = server_of(laptop), master_of(laptop)
    watcher = watch(laptop)
    watcher.wait_for(r"following it")

    os.kill(master, signal.SIGSTOP)
    try:
        wait_serving(url, timeout=20)
        watcher.wait_for(rf"master pid {master} is stopped \(SIGSTOP\).*killed it; respawning")
    finally:
        if not gone(master):
            os.kill(master, signal.SIGCONT)
    assert gone(master)
    assert master_of(laptop) != master
    assert server_of(laptop) == server


def test_a_restarted_sshd_is_reconnected(
    laptop: Laptop, workstation: Sshd, watch: Callable[[Laptop], Watcher]
) -> None:
    url = bring_up(laptop)
    server, master = server_of(laptop), master_of(laptop)
    watcher = watch(laptop)
    watcher.wait_for(r"following it")

    workstation.restart()
    workstation.kill_sessions()  # the established connection goes, as after a reboot
    wait_serving(url, timeout=10)
    watcher.wait_for(rf"master pid {master} exited")
    watcher.wait_for(r"respawned: master pid")
    assert master_of(laptop) != master
    assert server_of(laptop) == server


@pytest.mark.root  # the bridge dups the master's socket (pidfd_getfd)
def test_up_during_an_outage_waits_for_the_watchdog_and_prints_the_same_url(
    laptop: Laptop, workstation: Sshd, watch: Callable[[Laptop], Watcher]
) -> None:
    url = bring_up(laptop)
    master = master_of(laptop)
    watcher = watch(laptop)
    watcher.wait_for(rf"workstation: watchdog started: master pid {master}; following it")
    workstation.stop()  # the listener only: no new login for now, as with the Wi-Fi down
    os.kill(master, signal.SIGKILL)
    watcher.wait_for(r"workstation: respawn failed")

    # No time to wait: the one line that says who holds the port, and why.
    short = laptop.jssh("up", "workstation", "--no-open", "--timeout", "1")
    assert_one_clear_error(
        short, 6, "jssh watch holds 127.0.0.1:8899 while it brings workstation's tunnel back"
    )
    # Time to wait: `up` waits for the watchdog, not beside it, and gets the same URL.
    waiting = subprocess.Popen(
        laptop.jssh_argv("up", "workstation", "--no-open"), env=laptop.env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    began = time.monotonic()
    try:
        # An outage of some seconds, as a Wi-Fi change takes (jssh used to give up after 7).
        outage = 10.0
        wait_until(
            lambda: waiting.poll() is not None or time.monotonic() - began >= outage,
            timeout=outage + 5, what=f"{outage:.0f} s of outage",
        )  # fmt: skip
        assert waiting.poll() is None  # still waiting while the workstation is away
        workstation.start()
        stdout, stderr = waiting.communicate(timeout=60)
    finally:
        if waiting.poll() is None:
            waiting.kill()
    assert waiting.returncode == 0, stderr
    assert stdout.strip().splitlines()[-1] == url
    assert "reusing the running Jupyter server" in stderr, stderr
    watcher.wait_for(r"workstation: respawned: master pid \d+; following it")
    assert master_of(laptop) != master  # the watchdog's master: up started none of its own


def test_a_master_whose_control_socket_was_deleted_is_replaced(
    laptop: Laptop, watch: Callable[[Laptop], Watcher]
) -> None:
    url = bring_up(laptop)
    master = master_of(laptop)
    watcher = watch(laptop)
    watcher.wait_for(r"following it")
    (socket_path,) = [p for p in (laptop.ssh_dir / "jssh" / "cm").iterdir() if p.is_socket()]

    socket_path.unlink()  # the master runs on, but nothing can reach it any more
    watcher.wait_for(rf"master pid {master} lost its control socket")
    watcher.wait_for(r"respawned: master pid")
    wait_serving(url, timeout=10)
    assert gone(master)
    assert master_of(laptop) != master


def add_second_alias(laptop: Laptop, alias: str = "second") -> None:
    """Another ssh alias for the same workstation, spelled `localhost`: a different %C,
    so its master is its own (two aliases for one user@host:port share a ControlPath)."""
    ws = laptop.workstation
    block = (
        f"Host {alias}\n    HostName localhost\n    Port {ws.port}\n    User {ws.user}\n"
        f"    IdentityFile {laptop.identity}\n\n"
    )
    text = laptop.ssh_config.read_text()
    laptop.ssh_config.write_text(
        text.replace("# Defaults for everything else", block + "# Defaults for everything else")
    )
    with open(laptop.known_hosts, "a") as known:
        known.write(ws.known_hosts_line("localhost", ws.port) + "\n")


def test_a_host_added_while_watching_is_looked_after(
    laptop: Laptop, watch: Callable[[Laptop], Watcher]
) -> None:
    bring_up(laptop)
    first = master_of(laptop)
    watcher = watch(laptop)
    watcher.wait_for(r"workstation: .*following it")

    add_second_alias(laptop)
    assert laptop.jssh("add", "second").ok
    watcher.wait_for(r"second: added to the managed hosts")
    url = up(laptop, "second")
    master = master_of(laptop, "second")
    assert master != first
    watcher.wait_for(rf"second: brought up: master pid {master}; following it")
    os.kill(master, signal.SIGKILL)
    wait_serving(url, timeout=10)
    watcher.wait_for(r"second: respawned: master pid")
    assert master_of(laptop) == first  # the other host's tunnel was not touched


def test_a_second_watchdog_is_refused(laptop: Laptop, watch: Callable[[Laptop], Watcher]) -> None:
    watcher = watch(laptop)
    second = laptop.jssh("watch", timeout=20)
    assert second.returncode == 6, second
    assert f"jssh: error: a watchdog is already running (pid {watcher.pid})" in second.stderr
    assert "Traceback" not in second.stderr
    assert watcher.proc.poll() is None
    assert watcher.stop() == 0
    # Once it has stopped, the next one may start.
    assert watch(laptop).stop() == 0


def test_a_host_needing_a_password_is_left_alone_and_status_says_why(
    laptop: Laptop, watch: Callable[[Laptop], Watcher]
) -> None:
    bring_up(laptop)
    master = master_of(laptop)
    watcher = watch(laptop)
    watcher.wait_for(r"following it")
    # The key gets a passphrase and there is no agent: BatchMode can't log in any more.
    subprocess.run(
        ["ssh-keygen", "-q", "-p", "-P", "", "-N", "secret", "-f", str(laptop.identity)],
        check=True,
    )
    os.kill(master, signal.SIGKILL)
    left = watcher.wait_for(
        r"respawn failed: authentication to workstation-jupyter failed.*leaves it alone"
    )
    mark = left.end()

    # Brought up and not serving: status says so with its exit code, and says why.
    result = laptop.jssh("status", "workstation", "--json")
    assert result.returncode == 9, result
    (state,) = json.loads(result.stdout)
    assert state["master"]["running"] is False
    assert state["watchdog"]["state"] == "needs-user"
    assert "authentication" in state["watchdog"]["event"]
    assert "jssh up workstation" in state["watchdog"]["action"]
    table = laptop.jssh("status").stdout
    assert "workstation: watchdog, " in table
    assert "authentication" in table
    # It did not try again meanwhile (a BatchMode retry could lock the account).
    assert "workstation:" not in watcher.output()[mark:]
    assert len(re.findall(r"respawn failed", watcher.output())) == 1


def test_a_host_brought_down_is_left_alone(
    laptop: Laptop, watch: Callable[[Laptop], Watcher]
) -> None:
    bring_up(laptop)
    watcher = watch(laptop)
    watcher.wait_for(r"following it")

    down = laptop.jssh("down", "workstation", "--keep-server")
    assert down.ok, down
    left = watcher.wait_for(r"workstation: .*(brought down|was brought down).*leaving it alone")
    assert status_json(laptop)["master"]["running"] is False

    # Brought up again, it is followed again; and nothing happened in between.
    mark = watcher.mark()
    assert "workstation:" not in watcher.output()[left.end() : mark]
    up(laptop)
    watcher.wait_for(r"workstation: .*master pid \d+; following it", after=mark)
    assert "respawn" not in watcher.output()[left.end() :]


def test_after_the_laptop_sleeps_a_connection_the_network_forgot_is_replaced_at_once(
    relay_workstation: RelayLab, watch: Callable[[Laptop], Watcher]
) -> None:
    """The lid closes: nothing of the laptop runs (here: SIGSTOP of jssh watch and the
    master), and meanwhile a NAT forgets the master's connection. At resume, ssh would
    learn it only from ServerAlive, 15 s later; the watchdog sees that it woke late (on
    a clock that counts a suspend, so a real one reads the same) and asks the master
    for a round trip, which does not come back."""
    laptop, relay = relay_workstation.laptop, relay_workstation.relay
    url = bring_up(laptop)
    server, master = server_of(laptop), master_of(laptop)
    watcher = watch(laptop)
    watcher.wait_for(r"following it")
    time.sleep(CHECK_INTERVAL + 1)  # it has run a while: its periodic looks have begun

    asleep = [master, watcher.pid]
    for pid in asleep:
        os.kill(pid, signal.SIGSTOP)
    try:
        relay.forget_connections()
        time.sleep(policy.ASLEEP_AFTER + 4)  # the nap itself
    finally:
        for pid in asleep:
            os.kill(pid, signal.SIGCONT)
    woke = time.monotonic()
    watcher.wait_for(r"watchdog: woke \d+s late \(the laptop slept, or jssh watch was stopped\)")
    watcher.wait_for(rf"workstation: master pid {master} did not answer after the sleep")
    watcher.wait_for(r"workstation: respawned: master pid \d+; following it")
    wait_serving(url, timeout=10)
    print(f"\nafter the wake-up the URL answered again in {time.monotonic() - woke:.1f} s")
    assert server_of(laptop) == server  # the same Jupyter, through a new connection
    assert f"master pid {master} exited" not in watcher.output()  # not ServerAlive's doing


@pytest.mark.slow
def test_a_blackholed_link_is_noticed_and_the_tunnel_returns_when_it_clears(
    relay_workstation: RelayLab, watch: Callable[[Laptop], Watcher]
) -> None:
    laptop, relay = relay_workstation.laptop, relay_workstation.relay
    url = bring_up(laptop)
    server, master = server_of(laptop), master_of(laptop)
    watcher = watch(laptop)
    watcher.wait_for(r"following it")

    relay.blackhole()  # the master hangs: only ServerAliveInterval can tell
    cut = time.monotonic()
    watcher.wait_for(rf"master pid {master} exited", timeout=30)
    assert time.monotonic() - cut > 10  # ServerAliveInterval 5 x CountMax 3
    watcher.wait_for(r"respawn failed: .*timed out")
    relay.restore(reset_held=True)
    restored = time.monotonic()
    wait_serving(url, timeout=10)
    elapsed = time.monotonic() - restored
    assert elapsed < 3, f"back {elapsed:.1f} s after the link cleared"
    assert server_of(laptop) == server


@pytest.mark.root
@pytest.mark.slow
def test_after_a_cut_the_tunnel_is_back_within_seconds_of_the_restore(
    netns_workstation: NetnsWorkstation, netns_laptop: Laptop, watch: Callable[[Laptop], Watcher]
) -> None:
    laptop = netns_laptop
    url = bring_up(laptop)
    token = token_of(url)
    status, body = api(url, "/api/kernels", token=token, method="POST", body="{}")
    assert status == 201, body
    kernel = json.loads(body)["id"]
    server, master = server_of(laptop), master_of(laptop)
    watcher = watch(laptop)
    watcher.wait_for(r"following it")

    netns_workstation.cut()
    watcher.wait_for(rf"master pid {master} exited", timeout=30)  # ServerAlive: ~15-20 s
    watcher.wait_for(r"respawn failed")
    plugged = time.monotonic()
    # Returns once a TCP connect from here gets through: the moment the link allows it
    # (about a second after the carrier, while the kernel brings the veth pair back).
    netns_workstation.restore()
    reachable = time.monotonic()
    wait_serving(url, timeout=15)
    done = time.monotonic()
    assert done - plugged < 3, f"back {done - plugged:.1f} s after the link was plugged in"
    assert done - reachable < 1.5, f"back {done - reachable:.1f} s after it was reachable"
    assert server_of(laptop) == server
    status, body = api(url, f"/api/kernels/{kernel}", token=token)
    assert status == 200, body  # the kernel started before the cut is still there


def test_watch_log_and_status_files_are_private(
    laptop: Laptop, watch: Callable[[Laptop], Watcher]
) -> None:
    bring_up(laptop)
    watcher = watch(laptop)
    watcher.wait_for(r"following it")
    for path in (
        laptop.state_dir / "watch.log",
        laptop.state_dir / "watch.pid",
        laptop.state_dir / "hosts" / "workstation" / "watchdog.json",
    ):
        # The log line comes first; the status file is written just after it.
        wait_until(Path(path).exists, timeout=10, what=f"{path} to be written")
        assert Path(path).stat().st_mode & 0o777 == 0o600, path
    assert watcher.stop() == 0


# -- Slurm hosts: two masters, and a job that can end ---------------------------------------------

CLUSTER = "cluster"


def bring_up_slurm(laptop: Laptop) -> str:
    result = laptop.jssh("add", CLUSTER, "--slurm", "--time=10")
    assert result.ok, result
    return up(laptop, CLUSTER)


def login_master_of(laptop: Laptop) -> int | None:
    """The pid of the login node's master (`ssh -O check cluster-jupyter`), or None."""
    result = laptop.ssh("-O", "check", f"{CLUSTER}-jupyter")
    found = re.search(r"Master running \(pid=(\d+)\)", result.stderr + result.stdout)
    return int(found.group(1)) if result.ok and found else None


def cluster_jobs(cluster: SlurmCluster, laptop: Laptop) -> list[tuple[str, str]]:
    jobs = cluster.jobs(laptop.workstation.user)
    return [(j["id"], j["state"]) for j in jobs if j["name"] == f"jssh-{CLUSTER}"]


@pytest.mark.slurm
@pytest.mark.root
def test_a_slurm_hosts_killed_masters_are_respawned_and_the_same_job_serves(
    slurm_laptop: Laptop, slurm_cluster: SlurmCluster, watch: Callable[[Laptop], Watcher]
) -> None:
    laptop = slurm_laptop
    url = bring_up_slurm(laptop)
    jobs = cluster_jobs(slurm_cluster, laptop)
    assert [state for _, state in jobs] == ["RUNNING"]
    node_master = master_of(laptop, CLUSTER)  # status shows the node's: it holds the forward
    watcher = watch(laptop)
    watcher.wait_for(rf"{CLUSTER}: watchdog started: master pid {node_master}; following it")

    # The node's master dies; the login node's lives on: only the node's is respawned.
    login = login_master_of(laptop)
    os.kill(node_master, signal.SIGKILL)
    elapsed = wait_serving(url, timeout=15)
    watcher.wait_for(rf"{CLUSTER}: master pid {node_master} exited; respawning it now")
    respawned = watcher.wait_for(rf"{CLUSTER}: respawned: master pid (\d+); following it")
    node_master = int(respawned.group(1))
    assert master_of(laptop, CLUSTER) == node_master
    assert login_master_of(laptop) == login
    assert cluster_jobs(slurm_cluster, laptop) == jobs  # the same job, still running
    print(f"\nnode master killed: the forward served again after {elapsed:.2f} s")

    # The login node's master dies, and the node's with it (its ProxyJump went through
    # it): both come back, the login node's first.
    mark = watcher.mark()
    assert login is not None
    os.kill(login, signal.SIGKILL)
    watcher.wait_for(rf"{CLUSTER}: master pid {node_master} exited", after=mark)
    elapsed = wait_serving(url, timeout=20)
    watcher.wait_for(rf"{CLUSTER}: the login node's master is back; now the node's", after=mark)
    watcher.wait_for(rf"{CLUSTER}: respawned: master pid \d+; following it", after=mark)
    assert login_master_of(laptop) not in (None, login)
    assert cluster_jobs(slurm_cluster, laptop) == jobs
    assert serves(url)
    print(f"login master killed: the forward served again after {elapsed:.2f} s")
    assert watcher.stop() == 0


@pytest.mark.slurm
@pytest.mark.root
def test_a_slurm_job_cancelled_behind_our_back_is_reported_once_and_not_respawned(
    slurm_laptop: Laptop, slurm_cluster: SlurmCluster, watch: Callable[[Laptop], Watcher]
) -> None:
    laptop = slurm_laptop
    url = bring_up_slurm(laptop)
    ((job_id, _),) = cluster_jobs(slurm_cluster, laptop)
    node_master = master_of(laptop, CLUSTER)
    watcher = watch(laptop)
    watcher.wait_for(rf"{CLUSTER}: watchdog started: master pid {node_master}; following it")

    slurm_cluster.client(["scancel", job_id])
    wait_until(lambda: not cluster_jobs(slurm_cluster, laptop), timeout=30, what="the job gone")
    # On a cluster, pam_slurm_adopt ends the job's ssh sessions on the node with the job;
    # the lab's node has none, so end the node's master as it would.
    os.kill(node_master, signal.SIGKILL)
    ended = rf"Slurm job {job_id} ended \(CANCELLED\) while the tunnel was up;"
    ended += rf" run `jssh up {CLUSTER}` to start a new one"
    line = rf"{CLUSTER}: {ended}"
    reported = watcher.wait_for(line).end()
    # It leaves the host alone: both masters closed, and no respawn follows.
    wait_until(lambda: login_master_of(laptop) is None, timeout=10, what="the login master closed")
    assert not serves(url)

    state = status_json(laptop, CLUSTER)
    assert state["watchdog"]["state"] == "job-ended"
    assert state["master"] == {"running": False, "pid": None}
    table = laptop.jssh("status", CLUSTER)
    assert table.ok, table
    assert re.search(rf"{CLUSTER}: watchdog, [^:]+ ago: {ended}", table.stdout), table.stdout
    assert "token=" not in table.stdout  # no URL for a job that is gone

    # Nothing more was said about it until the user's next step.
    mark = watcher.mark()
    assert f"{CLUSTER}:" not in watcher.output()[reported:mark], watcher.output()[reported:mark]
    assert len(re.findall(line, watcher.output())) == 1

    # `jssh up` starts a new job, and the watchdog looks after the host again.
    new_url = up(laptop, CLUSTER)
    ((new_job, _),) = cluster_jobs(slurm_cluster, laptop)
    assert new_job != job_id
    watcher.wait_for(
        rf"{CLUSTER}: .*master pid {master_of(laptop, CLUSTER)}; following it", after=mark
    )
    assert serves(new_url)
    assert watcher.stop() == 0
