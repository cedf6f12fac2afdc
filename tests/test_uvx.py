"""The recipe's own command works as written (issue 16, item 5): a workstation with uv
and no jupyter on its PATH, `jssh add ws --command 'uvx --from=jupyterlab jupyter-lab'`,
and the URL `jssh up` prints runs code. uv installs JupyterLab from a local wheel
directory (tests/lab/uv_wheels.py), offline, as the workstation user's uv.toml says.

Before, jssh put `lab` after the command (`jupyter-lab lab ...`), and Jupyter exited
at once: "No such file or directory: ~/lab".
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable

import pytest

from lab import Laptop, Sshd
from lab.account import chown_to
from lab.client import api, run_in_kernel, token_of, up
from lab.uv_wheels import ensure_uv_lab, uv_config

pytestmark = pytest.mark.slow

RECIPE = "uvx --from=jupyterlab jupyter-lab"


def uv_workstation(make_workstation: Callable[..., Sshd]) -> Sshd:
    """A workstation whose PATH has uv and uvx, and no jupyter."""
    uv = ensure_uv_lab()
    ws = make_workstation(extra_env={"PATH": f"{uv.uv_bin}:/usr/bin:/bin"})
    config = ws.remote_home / ".config" / "uv"
    config.mkdir(parents=True)
    (config / "uv.toml").write_text(uv_config(uv.wheels))
    for path in (config.parent, config, config / "uv.toml"):
        chown_to(path, ws.user)
    return ws


def test_the_recipes_uvx_command_serves_a_url_that_runs_code(
    make_workstation: Callable[..., Sshd], make_laptop: Callable[..., Laptop]
) -> None:
    ws = uv_workstation(make_workstation)
    on_path = ws.run_as_remote(["sh", "-c", "command -v uvx; command -v jupyter jupyter-lab"])
    assert on_path.stdout.strip().endswith("/uvx"), on_path  # uvx, and no jupyter at all
    laptop = make_laptop(ws)
    added = laptop.jssh("add", "workstation", "--command", RECIPE)
    assert added.ok, added
    # doctor finds it, and asks the jupyter of that environment for its server's version.
    doctor = laptop.jssh("doctor", "workstation", "--json", timeout=180)
    checks = {c["check"]: c for c in json.loads(doctor.stdout) if c["host"] == "workstation"}
    assert checks["jupyter"]["ok"], checks["jupyter"]
    assert "(unix sockets: yes)" in checks["jupyter"]["detail"]

    url = up(laptop, timeout=180)  # the first uvx installs JupyterLab from the wheels
    assert url.startswith("http://127.0.0.1:8899/lab?token=")
    assert api(url, "/api/status", token=token_of(url))[0] == 200
    assert run_in_kernel(url, "1+1") == "2"
    # Jupyter runs as the recipe says, with jssh's words after it and no app of its own.
    run_sh = (ws.remote_home / ".jssh" / "workstation" / "run.sh").read_text()
    assert f"exec {RECIPE} --no-browser --sock " in run_sh, run_sh
    assert shlex.quote(token_of(url)) not in run_sh
