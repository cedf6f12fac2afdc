"""Idle jobs free their allocation (issue 16, item 4), against real Jupyter, tmux, sshd,
`jssh watch` and Slurm.

`jssh add --idle-timeout 3s` starts Jupyter with its own culling; jupyter_server looks
for idleness once a minute, so each server here stops itself about a minute after it
started (these tests wait on that, bounded, and assert no time). A workstation's server
that stopped so is left stopped by the watchdog, and `status` says so; a Slurm job
whose server stopped so has ended, freeing its allocation.

The workstation runs the lab's old Jupyter (JupyterLab 3 on jupyter_server 1.24), the
Slurm job the current one (jupyter_server 2): the arguments hold for both, and both
say in their log, in their own words, why they stopped.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from lab import Laptop, wait_until
from lab.client import assert_one_clear_error, status_json, up
from lab.old_jupyter import ensure_old_jupyter_venv
from lab.slurm import SlurmCluster
from test_watchdog import Watcher, serves, watch

pytestmark = pytest.mark.slow
__all__ = ["watch"]  # the fixture, shared with test_watchdog.py

# jupyter_server checks for idleness every 60 s: a server stops 60-120 s after its start.
STOPS_WITHIN = 150


def test_an_idle_workstation_server_stops_itself_and_stays_stopped_until_up(
    laptop: Laptop, watch: Callable[[Laptop], Watcher]
) -> None:
    venv = ensure_old_jupyter_venv()
    sock = f"/tmp/jssh-idle-{laptop.lab_id}/ws.sock"  # a path of its own: tests run in parallel
    added = laptop.jssh(
        "add", "workstation", "--venv", str(venv), "--remote-socket", sock, "--idle-timeout", "3s"
    )
    assert added.ok, added
    shown = laptop.jssh("show", "workstation")
    assert "idle timeout  3s: Jupyter then stops itself" in shown.stdout, shown
    url = up(laptop)
    server = status_json(laptop)["server"]
    assert server["idle_timeout_seconds"] == 3
    assert isinstance(server["idle_seconds"], int)  # Jupyter's own count, through the tunnel
    table = laptop.jssh("status", "workstation")
    assert "running (tmux)" in table.stdout, table
    assert re.search(r"workstation: idle [0-9hms]+ of 3s, then Jupyter stops itself", table.stdout)

    watcher = watch(laptop)
    watcher.wait_for(r"workstation: watchdog started: master pid \d+; following it")
    stopped = watcher.wait_for(
        r"workstation: Jupyter server pid \d+ stopped after [0-9hms]+ idle; not restarting"
        r" it \(its idle timeout\); `jssh up workstation` starts it again",
        timeout=STOPS_WITHIN,
    )
    assert not serves(url)

    state = status_json(laptop)
    assert state["server"]["state"] == "stopped"
    assert state["server"]["stopped_idle"] is True
    assert state["watchdog"]["server"] == "idle-stopped"
    assert state["master"]["running"]  # the tunnel stays up, for the next `up`
    table = laptop.jssh("status", "workstation")
    assert re.search(r"workstation +pid \d+ +8899 .*stopped \(idle\)", table.stdout), table
    assert re.search(r"workstation: the server stopped after [0-9hms]+ idle", table.stderr)

    # `jssh up` starts it again, with the same URL, and the watchdog follows it again.
    mark = watcher.mark()
    assert up(laptop) == url
    assert serves(url)
    watcher.wait_for(r"workstation: a Jupyter server runs again \(pid \d+\)", after=mark)
    log = watcher.output()
    assert "restarted Jupyter" not in log
    assert len(re.findall(r"stopped after \S+ idle", log[: stopped.end()])) == 1
    assert watcher.stop() == 0


@pytest.mark.slurm
@pytest.mark.root
def test_an_idle_slurm_job_ends_by_itself_and_status_says_why(
    slurm_laptop: Laptop, slurm_cluster: SlurmCluster
) -> None:
    added = slurm_laptop.jssh_in_process(
        "add", "cluster", "--slurm", "--time=10", "--idle-timeout", "3s"
    )
    assert added.ok, added
    up(slurm_laptop, "cluster")
    user = slurm_laptop.workstation.user

    def our_jobs() -> list[dict[str, str]]:
        return [j for j in slurm_cluster.jobs(user) if j["name"] == "jssh-cluster"]

    ((job_id, state),) = [(j["id"], j["state"]) for j in our_jobs()]
    assert state == "RUNNING"
    assert status_json(slurm_laptop, "cluster")["server"]["idle_timeout_seconds"] == 3

    wait_until(lambda: not our_jobs(), timeout=STOPS_WITHIN, what="the idle job to end")
    result = slurm_laptop.jssh("status", "cluster")
    assert result.returncode == 9, result  # brought up, and not serving now
    assert re.search(
        rf"cluster: Slurm job {job_id} ended: the server stopped after [0-9hms]+ idle \(its"
        r" idle timeout is 3s\); `jssh up cluster` starts it again",
        result.stderr,
    ), result
    state_json = status_json(slurm_laptop, "cluster")
    assert state_json["server"]["stopped_idle"] is True
    assert state_json["job"]["state"] == "COMPLETED"  # it ended by itself, not cancelled


def test_a_bad_idle_timeout_is_one_clear_line(laptop: Laptop) -> None:
    result = laptop.jssh("add", "workstation", "--idle-timeout", "5x")
    assert_one_clear_error(result, 2, "--idle-timeout '5x' is not a duration", "30m")
    assert not (laptop.ssh_dir / "jssh" / "hosts.json").exists()
