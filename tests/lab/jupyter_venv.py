"""The lab's Jupyter venv: built once, cached, shared by every test run.

Stdlib only, so a CI script can prebuild it with
``python3 tests/lab/jupyter_venv.py`` before pytest starts.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["BASE_PYTHON", "REQUIREMENTS", "ensure_lab_venv", "lab_cache_dir"]

# Debian's own interpreter, never the pyenv one: a venv's bin/python is a
# symlink to its base interpreter, and pyenv's lives under root's 0700 home,
# where the lab account cannot execute it.
BASE_PYTHON = Path("/usr/bin/python3")

# jupyterlab brings jupyter_server 2 (which has --sock) and ipykernel.
REQUIREMENTS: tuple[str, ...] = ("jupyterlab",)

# What the lab takes out of a stock JupyterLab, because every test that runs `jssh up`
# pays for it in CPU at the server's start, and neither jssh nor a test uses it:
# - rfc3987-syntax: jsonschema imports it for its "iri" format check, and it compiles a
#   grammar when imported: 0.8 s of the 1.6 s of CPU a server start took here. No
#   Jupyter schema checks an "iri"; jsonschema leaves the format out when it is missing.
# - the jupyter_lsp server extension: it looks for language servers at every start
#   (`npm prefix -g` and more).
# Applied to an existing venv in place, so a run that is using it is not disturbed.
TUNING: dict[str, list[str]] = {
    "uninstalled": ["rfc3987-syntax"],
    "server_extensions_off": ["jupyter_lsp"],
}
# Sorts after the extensions' own files in jupyter_server_config.d, so it has the last word.
TUNING_CONFIG = Path("etc", "jupyter", "jupyter_server_config.d", "zz-jssh-lab.json")

# Written last: a venv without it (a build that died half-way) is rebuilt.
MARKER_NAME = ".jssh-lab-ready"


def lab_cache_dir() -> Path:
    """Where the venv is cached: world-readable /var/cache as root, ~/.cache otherwise.

    JSSH_LAB_CACHE_DIR overrides it (e.g. a CI cache dir); as root, every dir
    above it must be traversable by the lab account.
    """
    override = os.environ.get("JSSH_LAB_CACHE_DIR")
    if override:
        return Path(override)
    if os.geteuid() == 0:
        return Path("/var/cache/jssh-lab")
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "jssh-lab"


def _wanted_marker() -> dict[str, object]:
    # What the marker must say; changing REQUIREMENTS or the base python rebuilds.
    return {
        "requirements": list(REQUIREMENTS),
        "base_python": str(BASE_PYTHON),
        "base_version": subprocess.run(
            [str(BASE_PYTHON), "-c", "import sys; print(sys.version.split()[0])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip(),
    }


def _marker(venv: Path) -> dict[str, object]:
    try:
        found = json.loads((venv / MARKER_NAME).read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _is_ready(venv: Path, wanted: dict[str, object]) -> bool:
    marker = _marker(venv)
    return all(marker.get(key) == value for key, value in wanted.items())


def _is_tuned(venv: Path) -> bool:
    return _marker(venv).get("tuning") == TUNING


def _tune(venv: Path, out: int | None) -> None:
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "uninstall", "--yes", *TUNING["uninstalled"]],
        check=True,
        stdout=out,
    )
    config = venv / TUNING_CONFIG
    config.parent.mkdir(parents=True, exist_ok=True)
    off = dict.fromkeys(TUNING["server_extensions_off"], False)
    config.write_text(json.dumps({"ServerApp": {"jpserver_extensions": off}}, indent=2) + "\n")
    os.chmod(config, 0o644)


def make_world_readable(root: Path) -> None:
    # The lab account (not root) runs this venv: every dir must be traversable
    # and every file readable, whatever umask the build ran under.
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                continue
            mode = os.stat(path).st_mode
            os.chmod(path, (mode | 0o444 | (0o111 if mode & 0o100 else 0)) & 0o7755)


def ensure_lab_venv(*, quiet: bool = True) -> Path:
    """Return the path of a venv with jupyterlab, building it if it is missing."""
    cache = lab_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chmod(cache, 0o755)
    venv = cache / "venv"
    wanted = _wanted_marker()
    if _is_ready(venv, wanted) and _is_tuned(venv):  # the fast path: no lock needed to read
        return venv
    out = subprocess.DEVNULL if quiet else None
    with open(cache / "venv.lock", "w") as lock:
        # Two pytest runs starting at once: the second waits, then finds it built.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _is_ready(venv, wanted):
            _build(venv, out)
        if not _is_tuned(venv):
            try:
                _tune(venv, out)
            except subprocess.CalledProcessError as exc:
                raise RuntimeError(f"tuning the lab venv at {venv} failed: {exc}") from exc
        (venv / MARKER_NAME).write_text(json.dumps({**wanted, "tuning": TUNING}))
        os.chmod(venv / MARKER_NAME, 0o644)
    return venv


def _build(venv: Path, out: int | None) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    try:
        subprocess.run([str(BASE_PYTHON), "-m", "venv", str(venv)], check=True, stdout=out)
        subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--no-input",
                "--progress-bar",
                "off",
                *REQUIREMENTS,
            ],
            check=True,
            stdout=out,
        )
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"building the lab venv at {venv} failed: {exc}") from exc
    make_world_readable(venv)


if __name__ == "__main__":
    print(ensure_lab_venv(quiet="-v" not in sys.argv[1:]))
