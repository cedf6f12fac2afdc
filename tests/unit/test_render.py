"""What `jssh status` prints, from plain statuses."""

from __future__ import annotations

from jssh import render
from jssh.session.replies import parse_int, parse_uptime
from jssh.states import HostStatus, JobInfo, ServerState


def _status(**changes: object) -> HostStatus:
    values: dict[str, object] = {
        "name": "ws", "alias": "ws-jupyter", "master_pid": 101, "local_port": 8899,
        "port_answers": True, "server": ServerState.RUNNING, "server_pid": 202,
        "server_uptime_s": 3725, "mode": "tmux", "url": "http://127.0.0.1:8899/lab?token=t",
        "wanted": True,
    }  # fmt: skip
    values.update(changes)
    return HostStatus(**values)  # type: ignore[arg-type]


def test_a_running_host_is_one_row_under_the_header() -> None:
    header, row = render.status_table([_status()]).splitlines()
    assert header.split() == ["NAME", "TUNNEL", "LOCAL", "PORT", "SERVER", "UPTIME", "URL"]
    assert row.split()[:4] == ["ws", "up", "(pid", "101)"]
    assert "running (pid 202, tmux)" in row
    assert "1h02m" in row


def test_a_host_that_is_down_reads_as_down() -> None:
    row = render.status_table(
        [
            _status(
                master_pid=None,
                port_answers=False,
                server=ServerState.UNKNOWN,
                server_pid=None,
                server_uptime_s=None,
                url=None,
            )
        ]
    ).splitlines()[1]
    assert row.split() == ["ws", "down", "8899", "(closed)", "unknown", "-", "-"]


def test_slurm_hosts_get_a_job_column_before_the_url() -> None:
    job = JobInfo("42", "RUNNING", node="n1", time_left="3:59:00")
    table = render.status_table([_status(job=job), _status(name="cl", job=None)])
    header, with_job, without_job = table.splitlines()
    assert "SLURM JOB" in header
    assert header.index("SLURM JOB") < header.index("URL")
    assert "42 running on n1, 3:59:00 left" in with_job
    assert without_job.split()[-2] == "-"  # a workstation has no job
    pending = render.job_cell(_status(job=JobInfo("43", "PENDING", reason="Resources")))
    assert pending == "43 pending (Resources)"


def test_durations_read_as_minutes_or_hours() -> None:
    assert render.duration(None) == "-"
    assert render.duration(59) == "0m59s"
    assert render.duration(3600 * 5 + 60) == "5h01m"


def test_remote_uptimes_parse_from_either_ps_format() -> None:
    assert parse_uptime("3725") == 3725
    assert parse_uptime("01:02:05") == 3725
    assert parse_uptime("2-00:00:01") == 2 * 86400 + 1
    assert parse_uptime(None) is None
    assert parse_int("12") == 12
    assert parse_int("x") is None


def test_the_watchdog_line_says_when_it_is_not_running() -> None:
    last = {"time": "12:00:00", "event": "master exited", "action": "respawned"}
    line = render.watchdog_line("ws", last)
    assert line == (
        "ws: watchdog at 12:00:00: master exited; respawned (the watchdog is not running now)"
    )
    assert "not running" not in render.watchdog_line("ws", {**last, "watchdog_running": True})
