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
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from lab import Laptop, wait_until

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

    down = laptop.jssh("down", "workstation")
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
