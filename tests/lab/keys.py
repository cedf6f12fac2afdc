"""Key material shared by every workstation and laptop of one test session."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .util import short_tempdir

__all__ = ["LabKeys"]


@dataclass(frozen=True)
class LabKeys:
    """A host key for the sshds and a passphrase-less user key for the laptops.

    One pair per session is enough: every workstation has its own port, so a
    shared host key never makes known_hosts ambiguous, and key generation is
    the slowest part of starting an sshd otherwise.
    """

    dir: Path
    host_key: Path
    user_key: Path

    @classmethod
    def create(cls, directory: Path | None = None) -> LabKeys:
        d = directory or short_tempdir()
        host_key, user_key = d / "ssh_host_ed25519_key", d / "id_ed25519"
        for path, comment in ((host_key, "jssh-lab-host"), (user_key, "jssh-lab-user")):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                check=True,
                capture_output=True,
            )
        return cls(dir=d, host_key=host_key, user_key=user_key)

    @property
    def host_key_pub(self) -> str:
        """'ssh-ed25519 AAAA... comment' for known_hosts lines."""
        return Path(f"{self.host_key}.pub").read_text().strip()

    @property
    def user_key_pub(self) -> str:
        return Path(f"{self.user_key}.pub").read_text().strip()

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
