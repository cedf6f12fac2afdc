"""What `jssh status` prints, from plain statuses."""

from __future__ import annotations

from datetime import UTC, datetime

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
    assert header.split() == ["NAME", "TUNNEL", "PORT", "SERVER", "UPTIME", "URL"]
    assert row.split() == [
        "ws", "pid", "101", "8899", "answers", "running", "(tmux)", "1h02m",
        "http://127.0.0.1:8899/lab",
    ]  # fmt: skip


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
                mode=None,
            )
        ]
    ).splitlines()[1]
    assert row.split() == ["ws", "down", "8899", "no", "answer", "unknown", "-", "-"]


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


def test_the_watchdog_line_says_how_long_ago_and_whether_it_still_runs() -> None:
    now = datetime(2026, 11, 27, 12, 15, 0, tzinfo=UTC)
    last = {"time": "2026-11-27T12:00:00+0000", "event": "master exited", "action": "respawned"}
    line = render.watchdog_line("ws", last, now)
    assert line == (
        "ws: watchdog, 15 min ago: master exited; respawned (the watchdog is not running now)"
    )
    running = {**last, "watchdog_running": True, "time": "2026-11-27T12:14:58+0000"}
    assert render.watchdog_line("ws", running, now) == (
        "ws: watchdog, 2 s ago: master exited; respawned"
    )


def test_the_table_shows_no_token_and_fits_eighty_columns() -> None:
    table = render.status_table([_status(url="http://127.0.0.1:8899/lab?token=" + "x" * 43)])
    assert "token" not in table
    assert max(len(line) for line in table.splitlines()) <= 80
