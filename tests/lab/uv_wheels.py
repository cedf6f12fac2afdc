"""uv for the lab, and a local wheel directory that `uvx --from=jupyterlab jupyter-lab`
installs from with no network: the recipe's own command, as a workstation runs it.

Both are built once and cached beside the lab's Jupyter venv: a venv with uv (from
PyPI), and `uv-wheels/`, every wheel JupyterLab needs, at the versions of the lab's
Jupyter venv (so what uvx installs is what the other lab tests serve with). A
workstation then gets a uv.toml that points uv at that directory, offline, and no
jupyter on its PATH.

Stdlib only, like jupyter_venv.py: ``python3 tests/lab/uv_wheels.py`` prebuilds it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

try:
    from .jupyter_venv import BASE_PYTHON, ensure_lab_venv, lab_cache_dir, make_world_readable
except ImportError:  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from lab.jupyter_venv import BASE_PYTHON, ensure_lab_venv, lab_cache_dir, make_world_readable

__all__ = ["UvLab", "ensure_uv_lab", "uv_config"]

UV_REQUIREMENT = "uv"
_MARKER = ".jssh-lab-ready"


class UvLab:
    """Where uv and the wheels are: `uv_bin` goes on a workstation's PATH."""

    def __init__(self, venv: Path, wheels: Path) -> None:
        self.venv = venv
        self.wheels = wheels

    @property
    def uv_bin(self) -> Path:
        return self.venv / "bin"


def uv_config(wheels: Path) -> str:
    """A user's uv.toml (~/.config/uv/uv.toml) that installs from WHEELS alone: no index,
    no network, no Python downloads (the system python3 runs Jupyter)."""
    return (
        "# jssh lab: uv installs from a local wheel directory, never from the network\n"
        f"find-links = [{json.dumps(str(wheels))}]\n"
        "no-index = true\n"
        "offline = true\n"
        'python-downloads = "never"\n'
        'python-preference = "only-system"\n'
    )


def ensure_uv_lab() -> UvLab:
    """The cached uv venv and wheel directory, built if missing (a minute, once)."""
    jupyter = ensure_lab_venv()
    cache = lab_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    venv, wheels = cache / "venv-uv", cache / "uv-wheels"
    frozen = _freeze(jupyter)
    wanted = json.dumps({"uv": UV_REQUIREMENT, "base": str(BASE_PYTHON), "wheels": frozen})
    if _ready(venv, wheels, wanted):
        return UvLab(venv, wheels)
    with open(cache / "venv-uv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _ready(venv, wheels, wanted):
            _build(venv, wheels, jupyter, frozen)
            for path in (venv / _MARKER, wheels / _MARKER):
                path.write_text(wanted)
                os.chmod(path, 0o644)
    return UvLab(venv, wheels)


def _ready(venv: Path, wheels: Path, wanted: str) -> bool:
    try:
        return all((d / _MARKER).read_text() == wanted for d in (venv, wheels))
    except OSError:
        return False


def _freeze(venv: Path) -> list[str]:
    """The lab venv's packages as `name==version` (pip itself left out)."""
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "freeze", "--exclude-editable"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return sorted(line for line in out.splitlines() if "==" in line)


def _build(venv: Path, wheels: Path, jupyter: Path, frozen: list[str]) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    shutil.rmtree(wheels, ignore_errors=True)
    wheels.mkdir(parents=True)
    subprocess.run([str(BASE_PYTHON), "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    quiet = ["-q", "--no-input", "--progress-bar", "off", "--disable-pip-version-check"]
    _pip([*pip, "install", *quiet, UV_REQUIREMENT], "installing uv")
    # JupyterLab and everything it needs, as wheels, pinned to the lab venv's versions
    # (pip's cache serves what it has; the lab venv lacks what the lab tuned out of it,
    # rfc3987-syntax, which jupyterlab's dependencies still ask for).
    constraints = wheels / "constraints.txt"
    constraints.write_text("\n".join(frozen) + "\n")
    version = next((line for line in frozen if line.lower().startswith("jupyterlab==")), "")
    _pip(
        [*pip, "download", *quiet, "--only-binary", ":all:", "-d", str(wheels),
         "-c", str(constraints), version or "jupyterlab"],
        "downloading JupyterLab's wheels",
    )  # fmt: skip
    constraints.unlink()
    for root in (venv, wheels):  # the lab account uses them, not root
        make_world_readable(root)


def _pip(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{what} for the uv lab failed:\n{result.stderr[-2000:]}")


if __name__ == "__main__":
    lab = ensure_uv_lab()
    print(lab.venv, lab.wheels)
