"""Plain-text views of statuses for the terminal: tables and one-line summaries."""

from __future__ import annotations

from collections.abc import Sequence

from jssh.hosts import HostRecord
from jssh.states import HostStatus


def status_table(states: Sequence[HostStatus]) -> str:
    """`jssh status`: one row per host (a SLURM JOB column when any host has a job)."""
    rows: list[tuple[str, ...]] = [("NAME", "TUNNEL", "LOCAL PORT", "SERVER", "UPTIME", "URL")]
    for s in states:
        rows.append(
            (
                s.name,
                f"up (pid {s.master_pid})" if s.master_pid else "down",
                f"{s.local_port} ({'answers' if s.port_answers else 'closed'})",
                f"{s.server} (pid {s.server_pid}, {s.mode})" if s.server_pid else str(s.server),
                duration(s.server_uptime_s),
                s.url or "-",
            )
        )
    if any(s.job for s in states):  # Slurm hosts: a column for the job, before the URL
        rows = [(*row[:-1], "SLURM JOB" if i == 0 else job_cell(states[i - 1]), row[-1])
                for i, row in enumerate(rows)]  # fmt: skip
    return table(rows)


def watchdog_line(name: str, last: dict[str, object]) -> str:
    """`NAME: watchdog at TIME: what happened; what it did`."""
    running = "" if last.get("watchdog_running") else " (the watchdog is not running now)"
    return (
        f"{name}: watchdog at {last.get('time')}: {last.get('event')};"
        f" {last.get('action')}{running}"
    )


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
    if record.slurm is not None:
        node = f" (job's node: {record.slurm_node})" if record.slurm_node else ""
        rows.append(("slurm", f"sbatch {record.slurm}{node}"))
    rows.append(("control path", record.control_path))
    rows.append(("from ssh -G", f"{len(record.ssh_options)} settings carried into the block"))
    width = max(len(label) for label, _ in rows)
    return "\n".join([record.name] + [f"  {label.ljust(width)}  {value}" for label, value in rows])
