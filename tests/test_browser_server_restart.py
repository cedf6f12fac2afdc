"""A real client across a server's death (issue 13, item 1, the browser's view).

JupyterLab is open in headless Chromium with a notebook that ran a cell; the Jupyter
server is killed (SIGKILL, as the OOM killer would), `jssh watch` starts it again with
the same token, and the same page, never reloaded, runs a new cell. The old kernel
died with the server, and JupyterLab shows the notebook with "No Kernel": the user
picks one (the toolbar's kernel name, then Select, as anyone would), and the cell
runs in the new kernel. The page's login still holds: the server signs its cookie
with the secret in its runtime dir. How long it took is printed, not asserted. The
fixtures and page helpers are test_browser.py's.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from lab import Laptop, wait_until
from test_browser import (
    ARTIFACTS,
    chromium,
    dismiss_connection_errors,
    kernel_connected,
    run_a_cell,
    run_cell,
)
from test_server_restart import add_own_host, kill_server
from test_watchdog import Watcher, serves

pytestmark = pytest.mark.browser
__all__ = ["chromium"]  # the fixture, shared with test_browser.py


def test_an_open_notebook_runs_a_new_cell_after_the_server_is_killed(
    laptop: Laptop, chromium: Any
) -> None:
    name = add_own_host(laptop)
    up = laptop.jssh("up", name, "--no-open", timeout=120)
    assert up.ok, up
    url = up.stdout.strip().splitlines()[-1]
    watchdog = Watcher(laptop)
    page = chromium.new_page()
    page.set_default_timeout(60_000)
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{time.monotonic():.3f} {m.type}: {m.text}"))
    # The server is gone for a few seconds: a poll in that window gets JupyterLab's
    # "Server Connection Error" dialog, which the user dismisses.
    dismissed = dismiss_connection_errors(page)
    try:
        watchdog.wait_for(rf"{name}: watchdog started: master pid \d+; following it", timeout=20)
        run_a_cell(page, url)
        page.evaluate("window.jsshNoReload = 'still here'")  # a reload would wipe it out

        old, died = kill_server(laptop, name)
        watchdog.wait_for(rf"{name}: restarted Jupyter: pid (?!{old}\b)\d+, same token", timeout=30)
        wait_until(lambda: serves(url), timeout=30, what="the same URL to answer again")
        back = time.monotonic()
        # The page finds its kernel gone from the new server, and says so.
        toolbar_kernel = page.locator(".jp-NotebookPanel:visible .jp-Toolbar-kernelName")
        toolbar_kernel.get_by_text("No Kernel").wait_for()
        noticed = time.monotonic()
        toolbar_kernel.click()
        page.locator(".jp-Dialog").get_by_role("button", name="Select").click()
        wait_until(lambda: kernel_connected(url), timeout=60, what="the new kernel's websocket")
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()
        run_cell(page, "print(6*7 + 1)", 1, timeout=60)
        ran = time.monotonic()
        output = page.locator(".jp-OutputArea-output").nth(1).inner_text().strip()
        assert output == "43"
        assert page.evaluate("window.jsshNoReload") == "still here"
        print(
            f"\nserver killed: the URL answered again {back - died:.2f} s later; the page"
            f" showed 'No Kernel' {noticed - died:.2f} s and ran a new cell in a kernel"
            f" picked there {ran - died:.2f} s after the kill; the connection-error"
            f" dialog was dismissed {len(dismissed)} time(s)"
        )
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-server-restart-failure.png"))
        raise
    finally:
        print("\n".join(line for line in console if "ernel" in line or "ebSocket" in line))
        print(f"--- jssh watch said ---\n{watchdog.output()}")
        watchdog.stop()
    # --force: the new kernel ran a moment ago, and `down` would ask first.
    assert laptop.jssh("down", name, "--force").ok
