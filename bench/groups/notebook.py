"""An open notebook across a kill -9 of the master (issue 17): what the user sees, beside
what the port does, in the same runs.

JupyterLab is open in Debian's chromium (driven by Playwright, `executable_path`) on a
notebook through the tunnel, `jssh watch` runs. Each run kills the master, waits for
the forward to serve again (that time is the second row), types a cell at once and
times its output (the first row). Before the watchdog's bridge (watchdog/relay.py) the
cell waited 16-33 s for JupyterLab's reconnect backoff.

    python3 bench/groups/notebook.py [--runs N]    # this group alone, printed only
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # run alone: the paths bench/run.py sets up
    _REPO = Path(__file__).resolve().parents[2]
    sys.path[:0] = [str(_REPO / "bench"), str(_REPO / "tests"), str(_REPO / "src")]

from harness import BenchError, Case, Group, Row, poll_until, run_group
from world import Lab, Served, Watch, serves

from groups.watchdog import _kill_and_wait

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As tests/test_browser.py: headless, root-safe, offline.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class NotebookAfterKill(Case):
    label = "open notebook runs a cell again after kill -9 of the master"
    note = (
        "Debian chromium (Playwright), JupyterLab open on a notebook, `jssh watch` running;"
        " from the SIGKILL until the cell's output shows, the cell typed as soon as the"
        " forward serves; the same kernel every run"
    )

    def __init__(self, runs: int, lab: Lab) -> None:
        super().__init__(runs)
        self.lab = lab
        self.forward = Row(
            "the same kills: until the forward serves", runs,
            note="from the SIGKILL until HTTP 200 with the token on the local port (5 ms polls)",
        )  # fmt: skip
        self.extra_rows.append(self.forward)
        self.host: Served | None = None
        self.watch: Watch | None = None
        self.playwright: Any = None
        self.browser: Any = None
        self.page: Any = None
        self.cells = 0
        self.master = 0

    def setup(self) -> None:
        if not os.access(CHROMIUM, os.X_OK):
            raise BenchError(
                "Debian's chromium is not installed (scripts/system-packages --browser)"
            )
        from playwright.sync_api import sync_playwright

        self.host = Served.up(self.lab.laptop(), "nbkill")
        self.watch = Watch(self.host.laptop)
        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        self.page = self.browser.new_page(viewport={"width": 1280, "height": 800})
        self.page.set_default_timeout(60_000)
        self.page.goto(f"http://127.0.0.1:{self.host.port}/lab?token={self.host.token}")
        card = self.page.locator('.jp-LauncherCard[data-category="Notebook"]').first
        card.click()
        self.page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()
        self._cell("runs = 0; print(runs)")

    def _cell(self, code: str) -> None:
        notebook = self.page.locator(".jp-NotebookPanel:visible")
        notebook.locator(".jp-Cell .cm-content").last.click()
        self.page.keyboard.type(code)
        self.page.keyboard.press("Shift+Enter")
        output = notebook.locator(".jp-OutputArea-output").nth(self.cells)
        output.wait_for()
        if output.inner_text().strip() != str(self.cells):
            raise BenchError(f"the cell printed {output.inner_text()!r}: not the same kernel")
        self.cells += 1

    def reset(self) -> None:
        assert self.host is not None
        poll_until(lambda: serves(self.host.port, self.host.token), timeout=30,  # type: ignore[union-attr]
                   what="the forward", interval=0.05)  # fmt: skip
        self.page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()
        self.master = self.host.master_pid()

    def measure(self) -> float:
        host = self.host
        assert host is not None
        start = time.monotonic()
        _kill_and_wait(self.master, "the master to die")
        back = poll_until(lambda: serves(host.port, host.token), timeout=30,
                          what="the forward after kill -9", interval=0.005)  # fmt: skip
        self.forward.samples.append(back - start)
        self._cell("runs += 1; print(runs)")
        return time.monotonic() - start

    def teardown(self) -> None:
        if self.browser is not None:
            self.browser.close()
        if self.playwright is not None:
            self.playwright.stop()
        self.browser = self.playwright = None
        if self.watch is not None:
            self.watch.stop()
            self.watch = None
        if self.host is not None:
            self.host.laptop.jssh_process("down", self.host.name, "--force", timeout=60)
            self.host = None


def notebook_group(lab: Lab, runs: int) -> Group:
    return Group("An open notebook across kill -9 of the master", [NotebookAfterKill(runs, lab)])


def main() -> int:
    parser = argparse.ArgumentParser(description="the open-notebook rows alone")
    parser.add_argument("--runs", type=int, default=10)
    options = parser.parse_args()
    lab = Lab()
    try:
        group = notebook_group(lab, options.runs)
        run_group(group)
    finally:
        lab.close()
    print("\n| row | median | range (min – max) | runs | how |\n| --- | --- | --- | --- | --- |")
    for row in group.rows():
        median, spread, n = row.cells()
        print(f"| {row.label} | {median} | {spread} | {n} | {row.note} |")
    return 1 if any(row.missing for row in group.rows()) else 0


if __name__ == "__main__":
    sys.exit(main())
