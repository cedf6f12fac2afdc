"""The lab's workstations have no Node.js, as most machines that run a pip-installed
JupyterLab do not.

This machine has a node (for other things), and JupyterLab, when it finds one on PATH,
runs `node yarn.js config` twice at every server start to learn the npm registry:
measured here, a start to listening took 1.4 CPU-seconds with node and 0.65 without
(/usr/bin/time on `jupyter-lab --ServerApp.sock=...`, two runs each). The suite starts
Jupyter more than a hundred times on two cores. So the lab's sshd and slurmd, and with
them every Jupyter they start, run in a mount namespace of their own in which each node
on the workstation's PATH is /dev/null, which is not executable: JupyterLab then does
exactly what it does on a machine without node.

Root only (a mount namespace); elsewhere, or where unshare cannot make one, nothing is
hidden and the lab is only slower.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

from .util import IS_ROOT

__all__ = ["without_node"]

# The lab workstations' PATH, but for the Jupyter venv's bin (sshd.py).
_PATH_DIRS = ("/usr/local/bin", "/usr/bin", "/bin")
# Mounts /dev/null over $1, then runs the rest: one per node, all in one namespace.
_HIDE_ONE = 'mount --bind /dev/null "$1" && shift && exec "$@"'


@functools.cache
def without_node() -> tuple[str, ...]:
    """argv prefix that runs a command where no node on the workstations' PATH can run."""
    found = (os.path.join(d, "node") for d in _PATH_DIRS)
    nodes = sorted({os.path.realpath(p) for p in found if os.access(p, os.X_OK)})
    unshare = shutil.which("unshare")
    if not (IS_ROOT and nodes and unshare):
        return ()
    prefix = [unshare, "--mount", "--propagation", "private", "--"]
    for node in nodes:
        prefix += ["sh", "-c", _HIDE_ONE, "sh", node]
    probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=30)
    return tuple(prefix) if probe.returncode == 0 else ()
