"""`jssh up / status / down / logs` for a Slurm host, against a real single-node Slurm.

The lab's sshd is the cluster's login node and its compute node (`localhost`); the
cluster (munged, slurmctld, slurmd) runs for the session. What a user sees: a URL that
answers with the token, the same job on a second `up`, the job in `status`, no job
and a free port after `down`, and one clear line when Slurm says no.
"""

from __future__ import annotations

import os
import shlex
import stat
import time
from collections.abc import Callable
from urllib.parse import urlparse

import pexpect
import psutil
import pytest

from lab import Laptop, Sshd, port_is_free, wait_until
from lab.client import api, assert_one_clear_error, run_in_kernel, status_json, token_of
from lab.slurm import SlurmCluster

pytestmark = [pytest.mark.slurm, pytest.mark.root]

NAME = "cluster"


def add(laptop: Laptop, *extra: str, slurm: str = "--time=10") -> None:
    result = laptop.jssh_in_process("add", NAME, "--slurm", slurm, *extra)
    assert result.ok, result


def up(laptop: Laptop, *extra: str, timeout: float = 120) -> str:
    result = laptop.jssh("up", NAME, "--no-open", *extra, timeout=timeout)
    assert result.ok, result
    url = result.stdout.strip().splitlines()[-1]
    assert url.startswith("http://127.0.0.1:")
    return url


def local_port(url: str) -> int:
    port = urlparse(url).port
    assert port is not None, url
    return port


def our_jobs(cluster: SlurmCluster, laptop: Laptop) -> list[dict[str, str]]:
    return [j for j in cluster.jobs(laptop.workstation.user) if j["name"] == f"jssh-{NAME}"]


@pytest.fixture
def added(slurm_laptop: Laptop) -> Laptop:
    add(slurm_laptop)
    return slurm_laptop


def test_up_runs_jupyter_in_a_job_and_the_url_answers_with_the_token(
    added: Laptop, slurm_cluster: SlurmCluster
) -> None:
    started = time.monotonic()
    result = added.jssh("up", NAME, "--no-open", timeout=120)
    took = time.monotonic() - started
    assert result.ok, result
    url = result.stdout.strip().splitlines()[-1]
    assert url.startswith("http://127.0.0.1:8899/lab?token=")  # the first host's default port
    assert "submitted Slurm job" in result.stderr
    token = token_of(url)
    assert api(url, "/api/status", token=token)[0] == 200
    assert api(url, "/api/status")[0] == 403
    jobs = our_jobs(slurm_cluster, added)
    assert [(j["state"], j["node"]) for j in jobs] == [("RUNNING", "localhost")], jobs
    assert run_in_kernel(url, "6*7") == "42"
    print(
        f"\nslurm daemons to an idle node: {slurm_cluster.timings['daemons_to_idle_s']:.2f} s;"
        f" jssh up {NAME} (cold, with sbatch): {took:.2f} s"
    )


def test_a_second_up_reuses_the_same_job_and_token(
    added: Laptop, slurm_cluster: SlurmCluster
) -> None:
    first = up(added)
    job_ids = [j["id"] for j in our_jobs(slurm_cluster, added)]
    # Warm: the tunnel is up, nothing to do remotely.
    again = added.jssh("up", NAME, "--no-open")
    assert again.ok, again
    assert again.stdout.strip().splitlines()[-1] == first
    # Cold tunnel, running job: the same job is found with squeue and reused.
    down = added.jssh("down", NAME, "--keep-server")
    assert down.ok, down
    assert port_is_free(local_port(first))
    third = added.jssh("up", NAME, "--no-open", timeout=120)
    assert third.ok, third
    assert third.stdout.strip().splitlines()[-1] == first
    assert f"reusing Slurm job {job_ids[0]}" in third.stderr
    assert [j["id"] for j in our_jobs(slurm_cluster, added)] == job_ids
    assert api(first, "/api/status", token=token_of(first))[0] == 200


def test_status_shows_job_id_state_node_and_time_left(
    added: Laptop, slurm_cluster: SlurmCluster
) -> None:
    url = up(added)
    (job,) = our_jobs(slurm_cluster, added)
    state = status_json(added, NAME)
    assert state["job"]["id"] == job["id"]  # type: ignore[index]
    assert state["job"]["state"] == "RUNNING"  # type: ignore[index]
    assert state["job"]["node"] == "localhost"  # type: ignore[index]
    assert state["job"]["time_left"].startswith("9:")  # type: ignore[index, union-attr]
    assert state["server"]["state"] == "running"  # type: ignore[index]
    assert state["master"]["running"] is True  # type: ignore[index]
    assert state["url"] == url
    table = added.jssh("status")
    assert table.ok, table
    assert f"{job['id']} running on localhost" in table.stdout
    assert "left" in table.stdout


def test_down_cancels_the_job_and_frees_the_port(
    added: Laptop, slurm_cluster: SlurmCluster
) -> None:
    url = up(added)
    (job,) = our_jobs(slurm_cluster, added)
    # A kernel in use: the job is someone's work, and `down` says so instead of cancelling.
    assert run_in_kernel(url, "1+1") == "2"
    refused = added.jssh("down", NAME)
    assert_one_clear_error(refused, 10, "not stopped: 1 kernel runs there", "--force")
    assert our_jobs(slurm_cluster, added) == [job]
    down = added.jssh("down", NAME, "--force")
    assert down.ok, down
    assert f"cancelled Slurm job {job['id']}" in down.stdout
    assert our_jobs(slurm_cluster, added) == []
    assert port_is_free(local_port(url))
    state = status_json(added, NAME)
    assert state["master"] == {"running": False, "pid": None}
    assert "Host cluster-jupyter-node" not in (added.ssh_dir / "jssh" / "config").read_text()


def test_down_from_a_second_laptop_asks_the_jobs_server_inside_the_job(
    added: Laptop, slurm_workstation: Sshd, make_laptop: Callable[..., Laptop],
    slurm_cluster: SlurmCluster,
) -> None:  # fmt: skip
    # The second laptop has no tunnel and no job id: it finds the job by name, and a
    # step in the job (srun --overlap) asks the server on the compute node.
    url = up(added)
    (job,) = our_jobs(slurm_cluster, added)
    assert run_in_kernel(url, "1+1") == "2"
    second = make_laptop(slurm_workstation, alias=NAME)
    add(second)
    refused = second.jssh("down", NAME)
    assert_one_clear_error(refused, 10, "not stopped: 1 kernel runs there", "--force")
    assert our_jobs(slurm_cluster, added) == [job]
    assert run_in_kernel(url, "2+2") == "4"  # the first laptop works on, undisturbed
    forced = second.jssh("down", NAME, "--force")
    assert forced.ok, forced
    assert our_jobs(slurm_cluster, added) == []


def test_a_job_cancelled_behind_our_back_is_reported_by_status(
    added: Laptop, slurm_cluster: SlurmCluster
) -> None:
    up(added)
    (job,) = our_jobs(slurm_cluster, added)
    slurm_cluster.client(["scancel", job["id"]])
    wait_until(lambda: not our_jobs(slurm_cluster, added), timeout=30, what="the job to end")
    result = added.jssh("status", NAME)
    assert result.returncode == 9, result  # brought up, and not serving now
    assert f"Slurm job {job['id']} ended (CANCELLED) while the tunnel was up" in result.stderr
    assert f"jssh up {NAME}" in result.stderr
    state = status_json(added, NAME)
    assert state["server"]["state"] == "stopped"  # type: ignore[index]
    assert state["job"]["state"] == "CANCELLED"  # type: ignore[index]


def test_logs_show_the_jobs_output(added: Laptop) -> None:
    up(added)
    result = added.jssh("logs", NAME, "-n", "200")
    assert result.ok, result
    assert "jssh: Slurm job" in result.stdout
    assert "is running at" in result.stdout


def test_the_server_listens_on_a_private_socket_and_the_token_is_on_no_command_line(
    added: Laptop,
) -> None:
    url = up(added)
    token = token_of(url)
    sock_path = f"/tmp/jssh-{added.workstation.user}/{NAME}.sock"
    assert stat.S_IMODE(os.stat(os.path.dirname(sock_path)).st_mode) == 0o700
    private = added.workstation.remote_home / ".jssh" / NAME
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    for name in ("token", "job.log", "job.sh", "run.sh"):
        assert stat.S_IMODE((private / name).stat().st_mode) & 0o077 == 0, name
    servers = [
        p
        for p in psutil.process_iter(["username"])
        if p.info["username"] == added.workstation.user
        and any(c.laddr == sock_path for c in _unix(p))
    ]
    assert len(servers) == 1
    assert [c for c in servers[0].net_connections(kind="inet") if c.status == "LISTEN"] == []
    for proc in psutil.process_iter(["cmdline"]):
        assert token not in " ".join(proc.info["cmdline"] or []), proc.pid


def _unix(proc: psutil.Process) -> list[object]:
    try:
        return list(proc.net_connections(kind="unix"))
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


# -- Slurm says no: one clear line ------------------------------------------------------


def test_rejected_sbatch_arguments_show_slurms_words(
    slurm_laptop: Laptop, slurm_cluster: SlurmCluster
) -> None:
    add(slurm_laptop, slurm="--partition nosuchpartition")
    result = slurm_laptop.jssh("up", NAME, "--no-open")
    assert_one_clear_error(result, 5, "sbatch refused the job", "invalid partition specified")
    assert our_jobs(slurm_cluster, slurm_laptop) == []
    assert status_json(slurm_laptop, NAME)["master"] == {"running": False, "pid": None}


def test_a_job_that_cannot_start_in_time_stays_queued_and_says_how_to_cancel(
    slurm_laptop: Laptop, slurm_cluster: SlurmCluster
) -> None:
    add(slurm_laptop, slurm="--begin=now+1hour")
    result = slurm_laptop.jssh("up", NAME, "--no-open", "--wait", "3", timeout=20)
    (job,) = our_jobs(slurm_cluster, slurm_laptop)
    assert job["state"] == "PENDING"
    assert_one_clear_error(
        result, 7, f"Slurm job {job['id']}", "did not start within 3 s", "stays queued",
        f"jssh down {NAME}", f"scancel {job['id']}",
    )  # fmt: skip
    assert "(BeginTime)" in result.stderr  # the progress line said why it waits
    # It is still ours: status shows it, and down cancels it.
    assert status_json(slurm_laptop, NAME)["job"]["state"] == "PENDING"  # type: ignore[index]
    down = slurm_laptop.jssh("down", NAME)
    assert down.ok, down
    assert our_jobs(slurm_cluster, slurm_laptop) == []


def test_sbatch_arguments_reach_slurm_word_for_word(
    slurm_laptop: Laptop, slurm_cluster: SlurmCluster
) -> None:
    canary = f"/tmp/jssh-canary-{os.getpid()}"
    comment = f'it\'s a b; touch {canary} $(touch {canary}) "q"'
    add(slurm_laptop, slurm=f"--begin=now+1hour --comment={shlex.quote(comment)}")
    result = slurm_laptop.jssh("up", NAME, "--no-open", "--wait", "1")
    assert result.returncode == 7, result
    (job,) = our_jobs(slurm_cluster, slurm_laptop)
    shown = slurm_cluster.client(["squeue", "-h", "-j", job["id"], "-o", "%k"])
    assert shown.stdout.rstrip("\n") == comment
    assert not os.path.exists(canary)


def test_remove_cancels_the_job(added: Laptop, slurm_cluster: SlurmCluster) -> None:
    url = up(added)
    result = added.jssh("remove", NAME)
    assert result.ok, result
    assert "cancelled Slurm job" in result.stderr
    assert our_jobs(slurm_cluster, added) == []
    assert port_is_free(local_port(url))


def test_a_job_that_fails_at_start_shows_the_end_of_its_output(
    slurm_laptop: Laptop, slurm_cluster: SlurmCluster
) -> None:
    add(slurm_laptop, "--jupyter-arg=--ServerApp.port=notaport")
    result = slurm_laptop.jssh("up", NAME, "--no-open")
    assert_one_clear_error(result, 5, "ended as it started")
    assert "notaport" in result.stderr  # the job's output, indented below the error
    assert our_jobs(slurm_cluster, slurm_laptop) == []


def test_an_unknown_node_host_key_is_one_clear_error_and_the_job_is_kept(
    slurm_workstation: Sshd, make_laptop: Callable[..., Laptop], slurm_cluster: SlurmCluster
) -> None:
    laptop = make_laptop(slurm_workstation, alias=NAME)  # knows the login node's key only
    add(laptop)
    result = laptop.jssh("up", NAME, "--no-open")
    assert_one_clear_error(
        result, 4, "the tunnel to node localhost", "host key of cluster-jupyter-node",
        "the job keeps running", f"jssh down {NAME}",
    )  # fmt: skip
    assert [j["state"] for j in our_jobs(slurm_cluster, laptop)] == ["RUNNING"]
    # The way to the job stays open: status shows it, down cancels it.
    assert status_json(laptop, NAME)["job"]["state"] == "RUNNING"  # type: ignore[index]
    down = laptop.jssh("down", NAME)
    assert down.ok, down
    assert our_jobs(slurm_cluster, laptop) == []


def test_the_pending_progress_line_updates_in_place_on_a_terminal(slurm_laptop: Laptop) -> None:
    add(slurm_laptop, slurm="--begin=now+1hour")
    child = slurm_laptop.jssh_pty("up", NAME, "--no-open", "--wait", "2.5")
    # Each redraw goes back to the line's start and erases it (then a spinner, the text).
    redraw = r"\r\x1b\[2?K(?:\S )?"
    child.expect(redraw + NAME + r": Slurm job \d+ pending \(BeginTime\), waited 0:0\d")
    child.expect("stays queued")
    child.expect(pexpect.EOF)
