"""The report: the machine, the table on the terminal, the goals derived from the
medians, and bench/RESULTS.md."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import sys
import time
from pathlib import Path

from groups.watchdog import KillMaster
from harness import Group, Row, fmt
from peers import JUPYTER_FORWARD_VERSION

from lab import ensure_lab_venv, run

REPO = Path(__file__).resolve().parents[1]


def machine() -> list[tuple[str, str]]:
    def cpu_model() -> str:
        with contextlib.suppress(OSError):
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        return platform.processor() or "?"

    ssh_v = run(["ssh", "-V"], timeout=10)
    venv_py = str(ensure_lab_venv() / "bin" / "python")
    versions = run(
        [
            venv_py,
            "-c",
            "import jupyter_server, jupyterlab; "
            "print(jupyter_server.__version__, jupyterlab.__version__)",
        ],
        timeout=60,
    ).stdout.split()
    typer_version = run(
        [sys.executable, "-c", "import importlib.metadata as m; print(m.version('typer'))"]
    ).stdout.strip()
    git = run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], timeout=10)
    from jssh import __version__

    return [
        ("date", time.strftime("%Y-%m-%d %H:%M %Z")),
        ("cpu", cpu_model()),
        ("cores", str(os.cpu_count())),
        ("kernel", f"{platform.system()} {platform.release()}"),
        ("ssh -V", (ssh_v.stderr or ssh_v.stdout).strip()),
        ("python (laptop, runs jssh)", f"{platform.python_version()} ({sys.executable})"),
        ("typer", typer_version or "?"),
        ("jupyter_server / jupyterlab (workstation)", " / ".join(versions) or "?"),
        ("jssh", f"{__version__} (git {git.stdout.strip() or '?'})"),
    ]


def ratio(a: Row, b: Row) -> float | None:
    if a.median is None or not b.median:
        return None
    return a.median / b.median


def goals(rows: dict[str, Row]) -> list[tuple[str, str, str, str]]:
    """(comparison, figure, goal, verdict) lines derived from the medians."""
    out: list[tuple[str, str, str, str]] = []

    def verdict(value: float | None, limit: float) -> str:
        if value is None:
            return "no figure"
        return "met" if value <= limit else "NOT met"

    cold = ratio(rows["cold"], rows["hand"])
    out.append(
        (
            "cold `jssh up` ÷ hand recipe",
            f"{cold:.2f}×" if cold else "—",
            "≤ 1.25×",
            verdict(cold, 1.25),
        )
    )
    if "jf" in rows:
        peer = ratio(rows["jf"], rows["hand"])
        out.append(
            (
                "jupyter-forward ÷ hand recipe",
                f"{peer:.2f}×" if peer else "—",
                "(peer; ~3.3× expected)",
                "—",
            )
        )
    warm, version, mux = rows["warm"].median, rows["version"].median, rows["mux"].median
    if warm is not None and version is not None and mux:
        controlled = warm - version
        out.append(
            ("warm `jssh up` − `jssh --version` (what jssh controls)", fmt(controlled), "—", "—")
        )
        out.append(
            (
                "that ÷ one multiplexed round trip",
                f"{controlled / mux:.1f}×",
                "≤ 5×",
                verdict(controlled / mux, 5),
            )
        )
        out.append(
            (
                "whole warm `jssh up` ÷ one multiplexed round trip",
                f"{warm / mux:.1f}×",
                "(reported)",
                "—",
            )
        )
    return out + watchdog_goals(rows)


def watchdog_goals(rows: dict[str, Row]) -> list[tuple[str, str, str, str]]:
    out: list[tuple[str, str, str, str]] = []
    kill = rows.get(KillMaster.label)
    if kill is not None and kill.median is not None:
        worst = max(kill.samples)
        out.append(
            ("respawn after kill -9 (median)", fmt(kill.median), "≤ 1 s", _met(kill.median <= 1))
        )
        out.append(("respawn after kill -9 (slowest run)", fmt(worst), "≤ 1 s", _met(worst <= 1)))
    cut = next((r for k, r in rows.items() if k.startswith("back after a ")), None)
    shake = next((r for k, r in rows.items() if k.startswith("one plain ssh handshake")), None)
    if cut is not None and shake is not None and cut.median is not None and shake.median:
        beyond = cut.median - shake.median
        out.append(
            (
                "back after the cut − one plain ssh handshake",
                f"{fmt(cut.median)} − {fmt(shake.median)} = {fmt(beyond)}",
                "≤ 1 s",
                _met(beyond <= 1),
            )
        )
    idle = {
        int(m.group(1)): r
        for k, r in rows.items()
        if (m := re.match(r"watchdog idle, (\d+) healthy", k)) and r.median is not None
    }
    rss = {
        int(m.group(1)): r
        for k, r in rows.items()
        if (m := re.match(r"watchdog RSS, (\d+) host", k)) and r.median is not None
    }
    if len(idle) > 1:
        few, many = min(idle), max(idle)
        growth = (idle[many].median or 0) / (idle[few].median or 1e-9)
        out.append(
            (
                f"idle CPU, {many} hosts ÷ {few} host(s)",
                f"{growth:.1f}×",
                f"≤ {many // few}× (no faster than the hosts)",
                _met(growth <= many / few),
            )
        )
    if len(rss) > 1:
        few, many = min(rss), max(rss)
        low, high = rss[few].median or 0, rss[many].median or 0
        out.append(
            (
                f"RSS, {many} hosts ÷ {few} host(s)",
                f"{high / low:.2f}× (+{(high - low) / (many - few) * 1024:.0f} KiB a host)",
                f"≤ {many // few}× (no faster than the hosts)",
                _met(high / low <= many / few),
            )
        )
    return out


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def markdown(
    info: list[tuple[str, str]],
    groups: list[Group],
    rows: dict[str, Row],
    options: argparse.Namespace,
    load: tuple[tuple[float, ...], tuple[float, ...]],
    elapsed: float,
) -> str:
    lines = [
        "# jssh benchmark results",
        "",
        "Written by `./scripts/bench` (bench/run.py). Every row was taken in the same run,",
        "against the test lab's real sshd on 127.0.0.1 (JupyterLab in a venv, a private tmux).",
        "Cases of a group run interleaved, round after round, after one untimed warm-up run",
        "each; a row gives the median and the range (min – max) of its runs.",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *(f"| {k} | {v} |" for k, v in info),
        f"| load average (1 min) at start / end | {load[0][0]:.2f} / {load[1][0]:.2f} |",
        f"| bench wall time | {elapsed:.0f} s |",
        "",
    ]
    for group in groups:
        lines += [
            f"## {group.title}",
            "",
            "| row | median | range (min – max) | runs | how |",
            "| --- | --- | --- | --- | --- |",
        ]
        for row in group.rows():
            median, spread, n = row.cells()
            lines.append(f"| {row.label} | {median} | {spread} | {n} | {row.note} |")
        lines.append("")
    lines += ["## Goals", "", "| comparison | figure | goal | |", "| --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in goals(rows)]
    lines += [
        "",
        "## Notes",
        "",
        f"- Runs: {options.runs} per row for the fast rows, {options.cold_runs} for the cold"
        f" starts (each starts a JupyterLab), {options.peer_runs} for jupyter-forward (slowest),"
        f" {max(3, options.runs // 2)} for the 1,000-host `jssh add`.",
        "- jssh runs as `python -m jssh` with the interpreter above, as the lab runs it;"
        " the `jssh` console script costs the same.",
        "- The hand recipe is what a skilled user types: `ssh -fN -o ControlMaster=yes"
        " -o ControlPath=… -L 127.0.0.1:L:127.0.0.1:R workstation`, then `ssh -o"
        " ControlPath=… workstation 'nohup jupyter lab --no-browser --ip 127.0.0.1 --port R"
        " --IdentityProvider.token=… &'`, then a poll of /api/status every 50 ms (in-process,"
        " no curl) until HTTP 200 with the token. Its token sits on a command line and its"
        " server listens on TCP: jssh does neither, and it finds a running server again.",
        f"- jupyter-forward {JUPYTER_FORWARD_VERSION} (PyPI; installed into a venv of its own"
        " under the bench's temp dir): its newest release, 2025.1.16, exits with \"Could not"
        ' activate environment" whenever --conda-env is not given, so the bench uses the last'
        " release that runs against a plain venv. It logs in with paramiko (not the system"
        " ssh), reads the laptop's ~/.ssh/config through $HOME, runs each step through"
        " `bash -lc` on a pty, binds Jupyter to `hostname -f` (127.0.0.1 here), sleeps 3 s"
        " once its forward is up, prints the URL and keeps running (`tail -f` of the log).",
        f"- Watchdog: the kill -9 rows take {options.runs} runs for jssh and at most"
        f" {options.peer_runs} for autossh; the cut row {options.cut_runs} runs of a"
        f" {options.cut_seconds:g} s cut (slow), autossh measured on the first"
        f" {options.autossh_cut_runs} of the same cuts, alongside jssh, each run with a fresh"
        " autossh. autossh is Debian's package (`autossh -M 0 -f -N -o ServerAliveInterval=5"
        " -o ServerAliveCountMax=3 -o ExitOnForwardFailure=yes -L 127.0.0.1:P:SOCKET"
        ' workstation`), forwarding to the same Jupyter server as jssh. "Serves" is HTTP'
        " 200 from /api/status with the token through the local port, polled every 5 ms."
        f" Idle cost: {options.idle_windows} windows of {options.idle_window:g} s per host"
        " count, each host its own managed name, master and wanted marker, all to the lab's"
        " sshd.",
        "- The cut downs the namespace's end of the veth: a connect from the laptop during the"
        ' cut fails within ~3 s ("No route to host": ARP gets no answer) instead of'
        " waiting in the kernel's SYN backoff, so autossh's ssh, restarted every few seconds,"
        " is back about as soon as jssh. GUIDE §3's ~73 s for autossh was a cut where packets"
        " vanish silently (a connect sits in SYN backoff); this bench does not reproduce that"
        " kind of cut. From the restore, the link itself takes most of the time (see the TCP"
        " connect row); jssh adds about one handshake to it.",
        "",
    ]
    return "\n".join(lines)


def print_table(groups: list[Group], rows: dict[str, Row]) -> None:
    table: list[tuple[str, ...]] = [("row", "median", "range (min – max)", "runs")]
    for group in groups:
        table.append((f"[{group.title}]", "", "", ""))
        for row in group.rows():
            median, spread, n = row.cells()
            table.append((f"  {row.label}", median, spread, n))
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    print()
    for r in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    print()
    for comparison, figure, goal, verdict in goals(rows):
        print(f"{comparison}: {figure}  goal {goal}  {verdict}")


def table_rows(groups: list[Group], cold: Group, warm: Group) -> dict[str, Row]:
    """Every case's rows by label, and under the short names the goals compare: cold,
    hand, jf (the cold start group), warm, mux, version (the warm group)."""
    rows = {row.label: row for g in groups for c in g.cases for row in c.rows()}
    rows.update(cold=cold.cases[0].row, hand=cold.cases[1].row)
    rows.update(warm=warm.cases[0].row, mux=warm.cases[1].row, version=warm.cases[2].row)
    if len(cold.cases) > 2:
        rows["jf"] = cold.cases[2].row
    return rows
