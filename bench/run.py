#!/usr/bin/env python3
"""jssh's benchmark: figures taken side by side, in one run, against the lab's real sshd.

    ./scripts/bench            # installs what is missing, then runs this with .venv
    python3 bench/run.py       # the same, when jssh and its dependencies are importable

It starts the test lab's "workstation" (a real sshd on 127.0.0.1, JupyterLab in a venv,
a private tmux) and three "laptops" (private ~/.ssh/config each): one for jssh, one for
the skilled user's hand-typed recipe, one for the peer jupyter-forward. Cases of one
group run interleaved, round after round, so a slow moment of the machine hits all of
them alike. Each row gives the median and the range (min–max) of its runs; the results
go to bench/RESULTS.md with the date and the machine.

The watchdog rows (`jssh watch`, issue 7) set a host up, kill its master (and autossh's
ssh, the peer), cut a netns workstation's link (root) and measure the watchdog's idle
cost for 1, 10 and 50 healthy hosts (see groups/watchdog.py, groups/cut.py, groups/idle.py).

Here: the options and the order of the groups. harness.py runs the rounds (Row, Case,
Group, the lock); world.py holds the lab the cases share; groups/ the cases, a module a
group; peers.py the hand recipe, jupyter-forward and autossh; report.py the table and
RESULTS.md. The workstation, laptops and process handling come from tests/lab (`lab`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the test lab, imported as `lab`
sys.path.insert(1, str(REPO / "src"))  # `from jssh import __version__` for the report

from groups.cli import cli_group  # noqa: E402
from groups.forwards import forwards_group  # noqa: E402
from groups.idle import idle_group  # noqa: E402
from groups.notebook import notebook_group  # noqa: E402
from groups.recovery import recovery_group  # noqa: E402
from groups.start import cold_group, warm_group  # noqa: E402
from groups.watchdog import watchdog_group  # noqa: E402
from harness import Group, bench_lock, run_group, say, set_verbose  # noqa: E402
from report import machine, markdown, print_table, table_rows  # noqa: E402
from world import Lab  # noqa: E402

RESULTS = REPO / "bench" / "RESULTS.md"
# Test runs on this machine hold this lock; the bench takes it too, so it neither
# measures a machine busy with a test suite nor collides with one on a remote socket.
DEFAULT_LOCK = Path("/tmp/jssh-tests.lock")


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each fast row (10)")
    parser.add_argument("--cold-runs", type=int, default=5, help="runs of each cold start (5)")
    parser.add_argument("--peer-runs", type=int, default=3, help="runs of jupyter-forward (3)")
    parser.add_argument("--no-peers", action="store_true", help="skip installing jupyter-forward")
    parser.add_argument("--no-watchdog", action="store_true", help="skip the watchdog rows")
    parser.add_argument("--cut-runs", type=int, default=3, help="link cuts for jssh (3)")
    parser.add_argument("--cut-seconds", type=float, default=25, help="length of a cut (25)")
    parser.add_argument(
        "--autossh-cut-runs", type=int, default=2, help="of those cuts, with autossh (2)"
    )
    parser.add_argument(
        "--autossh-cap", type=float, default=120, help="give up on autossh after (120 s)"
    )
    parser.add_argument("--server-kill-runs", type=int, default=5, help="server kills (5)")
    parser.add_argument("--move-runs", type=int, default=5, help="address moves (5)")
    parser.add_argument(
        "--autossh-move-runs", type=int, default=3, help="of those moves, with autossh (3)"
    )
    parser.add_argument("--idle-hosts", default="1,10,50", help="idle host counts (1,10,50)")
    parser.add_argument("--idle-window", type=float, default=20, help="idle window, s (20)")
    parser.add_argument("--idle-windows", type=int, default=3, help="idle windows per count (3)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="markdown results file")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--lock",
        type=Path,
        default=DEFAULT_LOCK,
        help=f"flock held while measuring ({DEFAULT_LOCK})",
    )
    parser.add_argument("--no-lock", action="store_true", help="don't take the lock")
    parser.add_argument("-v", "--verbose", action="store_true", help="print failures in full")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse(argv)
    set_verbose(options.verbose)

    with bench_lock(None if options.no_lock else options.lock):
        load_start = os.getloadavg()
        started = time.monotonic()
        say("starting the lab workstation (real sshd on 127.0.0.1) ...")
        lab = Lab()
        groups: list[Group] = []
        try:
            cold = cold_group(lab, options.cold_runs, options.peer_runs, not options.no_peers)
            groups.append(cold)
            run_group(cold)
            jssh_laptop = cold.cases[0].laptop  # type: ignore[attr-defined]
            warm = warm_group(jssh_laptop, options.runs)
            groups.append(warm)
            run_group(warm)
            forwards = forwards_group(lab, jssh_laptop, options.runs)  # NAME is up here
            groups.append(forwards)
            run_group(forwards)
            cli = cli_group(lab, jssh_laptop, options.runs)
            groups.append(cli)
            run_group(cli)
            if not options.no_watchdog:
                watchdog = watchdog_group(lab, options)
                groups.append(watchdog)
                run_group(watchdog)
                recovery = recovery_group(lab, options)
                groups.append(recovery)
                run_group(recovery, warmup=False)
                notebook = notebook_group(lab, options.runs)  # an open notebook across kill -9
                groups.append(notebook)
                run_group(notebook)
                idle = idle_group(lab, options)
                groups.append(idle)
                run_group(idle, warmup=False)
            info = machine()
        finally:
            say("\nstopping the lab ...")
            lab.close()
        load_end = os.getloadavg()
        elapsed = time.monotonic() - started

    rows = table_rows(groups, cold, warm)
    print_table(groups, rows)
    for group in groups:
        for row in group.rows():
            if row.missing:
                print(f"{row.label}: {row.missing}")
    if not options.no_write:
        text = markdown(info, groups, rows, options, (load_start, load_end), elapsed)
        options.output.write_text(text)
        print(f"\nwrote {options.output}")
    failed = [c.row for g in groups for c in g.cases if c.row.missing]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
