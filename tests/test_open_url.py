"""`jssh open NAME [PATH]`, `jssh url NAME --path PATH` and `jssh url NAME --server`
against the real lab: the browser gets a private page, never the token; the page opens
JupyterLab at PATH; a Jupyter client that is not a browser (the REST API and a kernel's
websocket, as VS Code's "Existing Jupyter Server" uses them) runs `1+1` through the
server URL."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

from lab import Laptop, wait_until
from lab.client import api, assert_one_clear_error, run_in_kernel, token_of
from test_token import _recording_browser

NAME = "workstation"


def test_open_brings_the_host_up_and_shows_the_notebook_without_the_token_on_any_argv(
    laptop: Laptop, tmp_path: Path
) -> None:
    assert laptop.jssh("add", NAME).ok
    notebook = "runs/exp 1.ipynb"
    browser, record = _recording_browser(tmp_path)
    result = subprocess.run(
        laptop.jssh_argv("open", NAME, notebook),
        env=dict(laptop.env, BROWSER=str(browser)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip().splitlines()[-1]
    token = token_of(url)
    assert urlparse(url).path == "/lab/tree/runs/exp%201.ipynb"
    assert f"{NAME}: opened {url.split('?')[0]} in your browser" in result.stderr

    wait_until(record.exists, timeout=10, what="the browser to start")
    seen = json.loads(record.read_text())
    (given,) = seen["argv"][1:]
    assert given.startswith("file://"), given
    assert token not in given
    assert all(token not in value for value in seen["env"].values())
    page = Path(urlparse(given).path)
    assert stat.S_IMODE(page.stat().st_mode) == 0o600
    assert f'content="0;url={url}"' in page.read_text().replace("&amp;", "&")
    assert api(url, urlparse(url).path, token=token)[0] == 200  # JupyterLab's page there

    # The same URL without opening anything, and no remote contacted for it.
    printed = laptop.jssh("url", NAME, "--path", notebook)
    assert printed.ok, printed
    assert printed.stdout.strip() == url

    # The server's own URL, for VS Code and other Jupyter clients: they take it whole.
    server = laptop.jssh("url", NAME, "--server").stdout.strip()
    port = urlparse(url).port
    assert server == f"http://127.0.0.1:{port}/?token={token}"
    base = server.split("?")[0]
    assert api(server, urlparse(urljoin(base, "api/kernelspecs")).path, token=token)[0] == 200
    assert run_in_kernel(server, "1+1") == "2"


@pytest.mark.shared_workstation
def test_a_path_outside_the_notebook_dir_is_one_line_before_anything_starts(
    laptop: Laptop,
) -> None:
    assert laptop.jssh_in_process("add", NAME).ok
    refused = laptop.jssh_in_process("open", NAME, "../elsewhere.ipynb")
    assert_one_clear_error(refused, 2, "'../elsewhere.ipynb' is not a path inside the notebook dir")
    assert not laptop.ssh("-O", "check", f"{NAME}-jupyter").ok  # nothing was started
    both = laptop.jssh_in_process("url", NAME, "--server", "--path", "a.ipynb")
    assert_one_clear_error(both, 2, "give either --path or --server, not both")
