"""A real client: headless Chromium opens the URL `jssh up` printed and uses JupyterLab.

Debian's chromium, driven by Playwright for Python with `executable_path` (no browser
download). Through the tunnel it waits for JupyterLab's UI, opens a new notebook, runs
a cell and reads its output from the page, then saves a screenshot under artifacts/
at the repo root. It skips only when chromium is not installed (`scripts/system-packages
--browser` installs it), and says so.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from lab import Laptop, wait_until
from lab.client import status_json
from test_watchdog import Watcher, serves

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
# --no-sandbox: chromium's sandbox refuses to run as root (CI runs as root).
# The rest keep a headless run quiet and offline: no GPU, no QUIC, no first-run UI,
# no background fetches, component updates or sync.
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


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Any]:
    """A fresh headless Chromium profile (Playwright BrowserContext)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(
            "Debian's chromium is not installed and could not be "
            "(`scripts/system-packages --browser` installs it)"
        )
    # Imported here: only this test needs Playwright (the `test` extra has it).
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 800},
        )
        try:
            yield context
        finally:
            context.close()


def test_jupyterlab_opens_through_the_tunnel_and_runs_a_cell(laptop: Laptop, chromium: Any) -> None:
    started = time.monotonic()
    assert laptop.jssh_in_process("add", "workstation").ok
    up = laptop.jssh("up", "workstation", "--no-open", timeout=120)
    assert up.ok, up
    url = up.stdout.strip().splitlines()[-1]
    assert url.startswith("http://127.0.0.1:")

    page = chromium.new_page()
    page.set_default_timeout(60_000)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        run_a_cell(page, url)
    except Exception:
        # What the page showed when it went wrong, and what the server said.
        page.screenshot(path=str(ARTIFACTS / "browser-jupyterlab-failure.png"))
        print(laptop.jssh("logs", "workstation", "-n", "60").stdout)
        raise
    shot = ARTIFACTS / "browser-jupyterlab.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot} ({time.monotonic() - started:.1f} s from add to output)")

    down = laptop.jssh("down", "workstation", "--force")  # its kernel was busy just now
    assert down.ok, down


def kernel_connected(url: str) -> bool:
    """True when the server has a kernel, idle, with a websocket connected to it."""
    parsed = urlparse(url)
    token = parse_qs(parsed.query)["token"][0]
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    try:
        conn.request("GET", "/api/kernels", headers={"Authorization": f"token {token}"})
        response = conn.getresponse()
        kernels = json.loads(response.read())
    except (OSError, ValueError):
        return False
    finally:
        conn.close()
    # jupyter_server answers 500 to a listing that races a kernel's start
    # ("last_activity ... not the NoneType None"): ask again.
    if response.status != 200 or not isinstance(kernels, list):
        return False
    return any(k["execution_state"] == "idle" and k["connections"] >= 1 for k in kernels)


def dismiss_connection_errors(page: Any) -> list[float]:
    """Close JupyterLab's "Server Connection Error" dialog whenever it shows.

    A request that fails while the server or tunnel is down makes JupyterLab put up this
    modal dialog ("JupyterLab will continue trying to reconnect"), which takes the page's
    clicks until someone dismisses it; a user reads it and closes it. Whether it
    shows at all depends on when the page polled. The list returned gets the time of
    each dismissal, for the test to report.
    """
    dismissed: list[float] = []
    dialog = page.locator(".jp-Dialog", has_text="Server Connection Error")

    def dismiss(found: Any) -> None:
        dismissed.append(time.monotonic())
        # "Close" in JupyterLab 4, "Dismiss" in 3: the dialog's one button either way.
        found.get_by_role("button", name=re.compile(r"^(Close|Dismiss)$")).click()

    page.add_locator_handler(dialog, dismiss)
    return dismissed


def run_a_cell(page: Any, url: str) -> None:
    """Open JupyterLab at `url`, start a Python notebook, run print(6*7), read 42."""
    page.goto(url)
    # JupyterLab has rendered: the launcher's Notebook card for the Python kernel.
    card = page.locator('.jp-LauncherCard[data-category="Notebook"]').first
    card.wait_for(state="visible")
    card.click()

    notebook = page.locator(".jp-NotebookPanel:visible")
    notebook.wait_for()
    # Run the cell only once the page is really talking to the kernel: the server
    # counts the page's websocket, and the status bar shows the kernel idle. (A cell
    # run before that is silently not executed.)
    wait_until(lambda: kernel_connected(url), timeout=60, what="the page's kernel websocket")
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()
    editor = notebook.locator(".jp-Cell .cm-content").first
    editor.click()
    page.keyboard.type("print(6*7)")
    page.keyboard.press("Shift+Enter")

    output = notebook.locator(".jp-OutputArea-output").first
    output.wait_for()
    page.wait_for_function(
        "el => el.innerText.trim() === '42'", arg=output.element_handle(), timeout=60_000
    )
    assert output.inner_text().strip() == "42"


# -- an open notebook across faults the watchdog recovers from -----------------------------------
def test_an_open_notebook_runs_a_cell_again_after_its_master_is_killed(
    laptop: Laptop, chromium: Any
) -> None:
    assert laptop.jssh_in_process("add", "workstation").ok
    up = laptop.jssh("up", "workstation", "--no-open", timeout=120)
    assert up.ok, up
    url = up.stdout.strip().splitlines()[-1]
    watchdog = Watcher(laptop)
    page = chromium.new_page()
    page.set_default_timeout(60_000)
    # The page's own account of its reconnects, printed with the timings.
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{time.monotonic():.3f} {m.type}: {m.text}"))
    try:
        watchdog.wait_for(
            r"workstation: watchdog started: master pid \d+; following it", timeout=20
        )
        run_a_cell(page, url)
        # A mark that a reload would wipe out, and a count only this kernel knows.
        page.evaluate("window.jsshNoReload = 'still here'")
        run_cell(page, "import os; runs = 0; print(os.getpid())", 1)
        kernel_pid = page.locator(".jp-OutputArea-output").nth(1).inner_text().strip()
        for fault in range(1, 4):
            master = int(status_json(laptop)["master"]["pid"])
            killed = time.monotonic()
            print(f"{killed:.3f} kill -9 {master}")
            os.kill(master, signal.SIGKILL)
            watchdog.wait_for(rf"respawned: master pid (?!{master}\b)\d+", timeout=20)
            wait_until(lambda: serves(url), timeout=30, what="the forward to answer again")
            back = time.monotonic()
            # The same kernel (its pid, and a count it keeps), in the same page. Within
            # 10 s: JupyterLab's own backoff after a refused retry is a random 10-30 s.
            run_cell(page, "runs += 1; print(runs, os.getpid())", fault + 1, timeout=10)
            ran = time.monotonic()
            output = page.locator(".jp-OutputArea-output").nth(fault + 1).inner_text()
            assert output.split() == [str(fault), kernel_pid]
            assert page.evaluate("window.jsshNoReload") == "still here"
            print(
                f"fault {fault}: forward back {back - killed:.2f} s after kill -9,"
                f" the cell's output {ran - back:.2f} s after that"
            )
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "browser-kill-failure.png"))
        raise
    finally:
        print("\n".join(line for line in console if "onnect" in line or "ebSocket" in line))
        print(f"--- jssh watch said ---\n{watchdog.output()}")
        watchdog.stop()
    # --force: the kernel was busy a moment ago, and `down` would ask first.
    assert laptop.jssh("down", "workstation", "--force").ok


def run_cell(page: Any, code: str, index: int, timeout: float = 60) -> None:
    """Type CODE into the notebook's last cell, run it, and wait for output number INDEX."""
    notebook = page.locator(".jp-NotebookPanel:visible")
    notebook.locator(".jp-Cell .cm-content").last.click()
    page.keyboard.type(code)
    page.keyboard.press("Shift+Enter")
    notebook.locator(".jp-OutputArea-output").nth(index).wait_for(timeout=timeout * 1000)
