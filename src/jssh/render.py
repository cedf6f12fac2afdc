"""Plain-text views of statuses for the terminal: tables and one-line summaries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from jssh.durations import format_duration
from jssh.hosts import HostRecord
from jssh.states import HostStatus


def status_table(states: Sequence[HostStatus]) -> str:
    """`jssh status`: one row per host (a SLURM JOB column when any host has a job).

    Narrow enough for 80 columns: pids and the token are in `status --json` and
    `jssh url NAME`, not here."""
    rows: list[tuple[str, ...]] = [("NAME", "TUNNEL", "PORT", "SERVER", "UPTIME", "URL")]
    for s in states:
        rows.append(
            (
                s.name,
                f"pid {s.master_pid}" if s.master_pid else "down",
                f"{s.local_port} {'answers' if s.port_answers else 'no answer'}",
                server_cell(s),
                duration(s.server_uptime_s),
                without_token(s.url) if s.url else "-",
            )
        )
    if any(s.job for s in states):  # Slurm hosts: a column for the job, before the URL
        rows = [(*row[:-1], "SLURM JOB" if i == 0 else job_cell(states[i - 1]), row[-1])
                for i, row in enumerate(rows)]  # fmt: skip
    return table(rows)


def server_cell(s: HostStatus) -> str:
    """`running (tmux)`; `stopped (idle)` once it stopped itself after its idle timeout."""
    if s.stopped_idle:
        return "stopped (idle)"
    return f"{s.server} ({s.mode})" if s.mode else str(s.server)


def idle_line(s: HostStatus) -> str | None:
    """`NAME: idle 2m05s of 30m, then Jupyter stops itself` for a host with an idle
    timeout (below the table, which stays within 80 columns)."""
    if not s.idle_timeout_s:
        return None
    timeout = format_duration(s.idle_timeout_s)
    if s.stopped_idle:
        return None  # the detail line says when, and what brings it back
    if s.idle_s is not None:
        return f"{s.name}: idle {format_duration(s.idle_s)} of {timeout}, then Jupyter stops itself"
    return f"{s.name}: Jupyter stops itself after {timeout} idle"


def watchdog_line(name: str, last: dict[str, object], now: datetime | None = None) -> str:
    """`NAME: watchdog, 3 min ago: what happened; what it did`."""
    running = "" if last.get("watchdog_running") else " (the watchdog is not running now)"
    return (
        f"{name}: watchdog, {_when(last.get('time'), now)}: {last.get('event')};"
        f" {last.get('action')}{running}"
    )


def forward_lines(state: HostStatus) -> list[str]:
    """`NAME: forward 127.0.0.1:6006 -> 127.0.0.1:6006: answers`, one per extra forward."""
    return [f"{state.name}: forward {f.forward.describe()}: {f.describe()}" for f in state.forwards]


def without_token(url: str) -> str:
    """The URL for a table: no secret on the screen (`jssh url NAME` prints it whole)."""
    return url.split("?", 1)[0]


def _when(stamp: object, now: datetime | None) -> str:
    """How long ago an ISO-8601 time was, as a person says it."""
    try:
        then = datetime.strptime(str(stamp), "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return f"at {stamp}"
    seconds = int(((now or datetime.now(then.tzinfo)) - then).total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"at {then:%Y-%m-%d %H:%M}"


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def job_cell(state: HostStatus) -> str:
    job = state.job
    if job is None:
        return "-"
    if job.state == "RUNNING":
        return f"{job.job_id} running on {job.node}, {job.time_left or '?'} left"
    return f"{job.job_id} {job.state.lower()}" + (f" ({job.reason})" if job.reason else "")


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def host_summary(record: HostRecord) -> str:
    """`jssh show NAME`: the record as a person reads it."""
    options = {k.lower(): v for k, v in reversed(record.ssh_options)}
    where = options.get("hostname", record.target)
    if options.get("user"):
        where = f"{options['user']}@{where}"
    if options.get("port") and options["port"] != "22":
        where = f"{where}:{options['port']}"
    launch = record.launch
    rows = [
        ("ssh alias", f"{record.alias} (plain `ssh {record.alias}` works too)"),
        ("host", f"{record.target} -> {where}"),
        ("local port", f"127.0.0.1:{record.local_port}"),
        ("remote", record.endpoint.describe()),
        ("jupyter", f"{launch.app}, found through {launch.describe_finder()}"),
    ]
    if launch.notebook_dir:
        rows.append(("notebook dir", launch.notebook_dir))
    if launch.extra_args:
        rows.append(("jupyter args", " ".join(launch.extra_args)))
    if launch.idle_timeout:
        rows.append(("idle timeout", f"{format_duration(launch.idle_timeout)}: Jupyter then stops"
                     " itself (and a Slurm job ends)"))  # fmt: skip
    if record.slurm is not None:
        node = f" (job's node: {record.slurm_node})" if record.slurm_node else ""
        rows.append(("slurm", f"sbatch {record.slurm}{node}"))
    for forward in record.forwards:  # the services beside Jupyter (`jssh forward`)
        rows.append(("forward", forward.describe()))
    rows.append(("control path", record.control_path))
    rows.append(("from ssh -G", f"{len(record.ssh_options)} settings carried into the block"))
    width = max(len(label) for label, _ in rows)
    return "\n".join([record.name] + [f"  {label.ljust(width)}  {value}" for label, value in rows])
