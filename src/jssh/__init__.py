"""jssh: JupyterLab on a remote workstation or cluster, through the system OpenSSH."""

from __future__ import annotations

__version__ = "0.1.0"
