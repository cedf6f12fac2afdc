"""A second lab venv with an old Jupyter: JupyterLab 3 on jupyter_server 1.x, what a
cluster's `module load` often gives. Built once and cached beside the main one.

Stdlib only, like jupyter_venv.py: ``python3 tests/lab/old_jupyter.py`` prebuilds it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .jupyter_venv import BASE_PYTHON, lab_cache_dir, make_world_readable

__all__ = ["OLD_REQUIREMENTS", "ensure_old_jupyter_venv"]

# jupyter_server 1.24.0 is the last 1.x; JupyterLab 3.6 runs on it. Unix sockets
# arrived in jupyter_server 1.9, so this one must serve on one.
OLD_REQUIREMENTS: tuple[str, ...] = ("jupyterlab==3.6.8", "jupyter_server==1.24.0")
_MARKER = ".jssh-lab-ready"


def ensure_old_jupyter_venv() -> Path:
    """The path of a venv with JupyterLab 3 on jupyter_server 1.24, built if missing."""
    cache = lab_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    venv = cache / "venv-jupyter-server-1"
    wanted = json.dumps({"requirements": list(OLD_REQUIREMENTS), "base": str(BASE_PYTHON)})
    marker = venv / _MARKER
    if marker.exists() and marker.read_text() == wanted:
        return venv
    with open(cache / "venv-jupyter-server-1.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and marker.read_text() == wanted:
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([str(BASE_PYTHON), "-m", "venv", str(venv)], check=True)
        pip = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-input",
             "--progress-bar", "off", *OLD_REQUIREMENTS],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if pip.returncode != 0:
            raise RuntimeError(f"building {venv} failed:\n{pip.stderr[-2000:]}")
        make_world_readable(venv)  # the lab account runs it, not root
        marker.write_text(wanted)
        os.chmod(marker, 0o644)
    return venv


if __name__ == "__main__":
    print(ensure_old_jupyter_venv(), file=sys.stdout)
