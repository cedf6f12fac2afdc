"""Every path jssh reads or writes, derived from --ssh-config and --state-dir.

Nothing else in jssh builds a path by hand: tests sandbox jssh completely by pointing
these two options at temp dirs.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from pathlib import Path

MANAGED_DIR_NAME = "jssh"


def passwd_home() -> Path:
    """The home ssh itself uses for `~`: the passwd entry, not $HOME."""
    return Path(pwd.getpwuid(os.getuid()).pw_dir)


def default_ssh_config() -> Path:
    return passwd_home() / ".ssh" / "config"


def default_state_dir() -> Path:
    # Imported here: platformdirs is only needed when no --state-dir is given.
    import platformdirs

    return platformdirs.user_state_path("jssh")


@dataclass(frozen=True)
class Paths:
    """Where jssh keeps things. `ssh_config` is the user's main ssh config."""

    ssh_config: Path
    state_dir: Path
    control_dir_override: Path | None = None

    @classmethod
    def build(
        cls,
        ssh_config: Path | None = None,
        state_dir: Path | None = None,
        control_dir: Path | None = None,
    ) -> Paths:
        config = Path(ssh_config).expanduser().absolute() if ssh_config else default_ssh_config()
        state = Path(state_dir).expanduser().absolute() if state_dir else default_state_dir()
        env_control = os.environ.get("JSSH_CONTROL_DIR")
        if control_dir is None and env_control:
            control_dir = Path(env_control)
        return cls(config, state, control_dir.expanduser().absolute() if control_dir else None)

    @property
    def ssh_config_is_default(self) -> bool:
        """True when ssh would read this config anyway, so no `-F` is needed."""
        return self.ssh_config == default_ssh_config()

    # -- the managed side of ~/.ssh ------------------------------------------------
    @property
    def managed_dir(self) -> Path:
        return self.ssh_config.parent / MANAGED_DIR_NAME

    @property
    def managed_config(self) -> Path:
        return self.managed_dir / "config"

    @property
    def hosts_file(self) -> Path:
        """jssh's own record of every managed host: the one place `show` prints."""
        return self.managed_dir / "hosts.json"

    @property
    def lock_file(self) -> Path:
        return self.managed_dir / ".lock"

    @property
    def backup_dir(self) -> Path:
        return self.managed_dir / "backup"

    @property
    def control_dir(self) -> Path:
        return self.control_dir_override or self.managed_dir / "cm"

    # -- local state ----------------------------------------------------------------
    def host_state_dir(self, name: str) -> Path:
        return self.state_dir / "hosts" / name

    def token_file(self, name: str) -> Path:
        return self.host_state_dir(name) / "token"

    def open_page(self, name: str) -> Path:
        """The 0600 page that redirects a browser to the URL with its token."""
        return self.host_state_dir(name) / "open.html"

    def wanted_marker(self, name: str) -> Path:
        """Exists while the user wants NAME up: the watchdog keeps only those alive."""
        return self.host_state_dir(name) / "wanted"

    def master_log(self, name: str) -> Path:
        return self.host_state_dir(name) / "ssh.log"

    def node_master_log(self, name: str) -> Path:
        """The log of the master to a Slurm host's compute node."""
        return self.host_state_dir(name) / "ssh-node.log"

    def slurm_job_file(self, name: str) -> Path:
        """The Slurm job jssh last used for NAME (id, node), as JSON."""
        return self.host_state_dir(name) / "slurm-job.json"

    def watchdog_status(self, name: str) -> Path:
        return self.host_state_dir(name) / "watchdog.json"

    @property
    def watchdog_log(self) -> Path:
        return self.state_dir / "watch.log"

    @property
    def watchdog_pid(self) -> Path:
        return self.state_dir / "watch.pid"
