"""One host's local state: its token, whether the user wants it up, its Slurm job.

All of it lives in the host's private (0700) state directory; every file is 0600.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from jssh import fsutil
from jssh.paths import Paths


class HostFiles:
    """The files jssh keeps on this machine for the managed host NAME."""

    def __init__(self, paths: Paths, name: str) -> None:
        self.paths = paths
        self.name = name

    @property
    def directory(self) -> Path:
        return self.paths.host_state_dir(self.name)

    def ensure_directory(self) -> Path:
        """The host's state dir, created (and its parents up to the state dir) 0700."""
        fsutil.ensure_private_dir(self.directory, private_from=self.paths.state_dir)
        return self.directory

    # -- the token -------------------------------------------------------------------
    def token(self) -> str | None:
        try:
            token = self.paths.token_file(self.name).read_text().strip()
        except (OSError, UnicodeDecodeError):  # a damaged token file: `up` fetches it again
            return None
        return token or None

    def save_token(self, token: str) -> None:
        self.ensure_directory()
        fsutil.atomic_write(self.paths.token_file(self.name), token + "\n")

    def forget_token(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.paths.token_file(self.name).unlink()

    # -- wanted up: what the watchdog keeps alive ---------------------------------------
    @property
    def wanted(self) -> bool:
        return self.paths.wanted_marker(self.name).exists()

    def want(self, wanted: bool) -> None:
        marker = self.paths.wanted_marker(self.name)
        if not wanted:
            with contextlib.suppress(FileNotFoundError):
                marker.unlink()
        elif not marker.exists():
            self.ensure_directory()
            fsutil.atomic_write(marker, "")

    # -- a Slurm host's job -------------------------------------------------------------
    def saved_job(self) -> dict[str, str]:
        """The job jssh last used for this host: {"job_id": ..., "node": ...} or {}."""
        try:
            data = json.loads(self.paths.slurm_job_file(self.name).read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: str(v) for k, v in data.items() if v is not None}

    def save_job(self, job_id: str, node: str | None) -> None:
        self.ensure_directory()
        payload = json.dumps({"job_id": job_id, "node": node}) + "\n"
        fsutil.atomic_write(self.paths.slurm_job_file(self.name), payload)

    def forget_job(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.paths.slurm_job_file(self.name).unlink()
