"""Reading and changing the managed hosts, under one lock, with atomic writes.

A change is a transaction: take the lock, load hosts.json, let the caller edit the
`Registry`, then write hosts.json, re-render the managed ssh config from it, and add
or remove the Include line in the user's config. Four `jssh add` at once all land.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from jssh import fsutil
from jssh.config.sshconfig import include_text, insert_include, remove_include, render_managed
from jssh.errors import ConfigError, UnknownHost
from jssh.hosts import HostRecord, Registry
from jssh.paths import Paths


class Store:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths

    # -- reading -------------------------------------------------------------------
    def load(self) -> Registry:
        try:
            text = self.paths.hosts_file.read_text()
        except FileNotFoundError:
            return Registry()
        except UnicodeDecodeError:
            raise ConfigError(
                f"{self.paths.hosts_file} is damaged (it is not UTF-8 text); jssh left it as it is",
                hint="restore it from a backup, or move it away and run `jssh add` again",
            ) from None
        except OSError as exc:
            raise ConfigError(f"cannot read {self.paths.hosts_file}: {exc.strerror}") from exc
        return Registry.loads(text, str(self.paths.hosts_file))

    def get(self, name: str) -> HostRecord:
        registry = self.load()
        try:
            return registry.hosts[name]
        except KeyError:
            known = ", ".join(sorted(registry.hosts)) or "none yet"
            raise UnknownHost(
                f"no managed host named {name!r} (managed: {known})",
                hint="add it with `jssh add HOST --name NAME`",
            ) from None

    def read_user_config(self) -> str:
        """The user's ssh config as text ('' when it doesn't exist yet)."""
        path = self.paths.ssh_config
        try:
            return path.read_text()
        except FileNotFoundError:
            return ""
        except UnicodeDecodeError:
            raise ConfigError(f"{path} is not valid UTF-8 text; jssh left it alone") from None
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc

    # -- changing ------------------------------------------------------------------
    def check_writable(self) -> None:
        """Refuse early, before anything is written, when the config dir is read-only."""
        directory = self.paths.ssh_config.parent
        if directory.exists() and not os.access(directory, os.W_OK | os.X_OK):
            raise ConfigError(
                f"jssh cannot write in {directory}, where its managed config would go",
                hint="fix the directory's permissions, or point --ssh-config elsewhere",
            )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Registry]:
        self.check_writable()
        if not self.paths.ssh_config.parent.exists():
            fsutil.ensure_private_dir(self.paths.ssh_config.parent)
        with fsutil.exclusive_lock(self.paths.lock_file, "the managed ssh config"):
            registry = self.load()
            yield registry
            self._commit(registry)

    def _commit(self, registry: Registry) -> None:
        """Write hosts.json, the managed config and the Include together, or nothing."""
        paths = self.paths
        changes: list[fsutil.FileChange | None] = []
        if registry.hosts:
            fsutil.ensure_private_dir(paths.managed_dir)
            changes.append(self._include_added(registry))
            changes.append(
                fsutil.FileChange(paths.managed_config, render_managed(registry.hosts.values()))
            )
            changes.append(fsutil.FileChange(paths.hosts_file, registry.dumps()))
        else:
            changes.append(self._include_dropped(registry))
            changes.append(fsutil.FileChange(paths.managed_config, None))
            changes.append(fsutil.FileChange(paths.hosts_file, None))
        fsutil.apply_changes([change for change in changes if change is not None])

    def _include_added(self, registry: Registry) -> fsutil.FileChange | None:
        config = self.paths.ssh_config
        text = self.read_user_config()
        wanted = include_text(
            self.paths.managed_config, default_config=self.paths.ssh_config_is_default
        )
        if registry.include_text and registry.include_text in text:
            return None
        if remove_include(text, wanted, self.paths.managed_config) is not None:
            # Present, in a form or place the user chose: leave it (doctor checks it).
            registry.include_text = registry.include_text or wanted
            return None
        existed = config.exists()
        if existed:
            self._backup(text)
        registry.include_text = wanted
        registry.created_user_config = not existed
        mode = config.stat().st_mode & 0o777 if existed else fsutil.PRIVATE_FILE
        return fsutil.FileChange(config, insert_include(text, wanted), mode)

    def _include_dropped(self, registry: Registry) -> fsutil.FileChange | None:
        config = self.paths.ssh_config
        if not config.exists():
            return None
        text = self.read_user_config()
        wanted = registry.include_text or include_text(
            self.paths.managed_config, default_config=self.paths.ssh_config_is_default
        )
        restored = remove_include(text, wanted, self.paths.managed_config)
        if restored is None:
            return None
        self._backup(text)
        created = registry.created_user_config
        registry.include_text = None
        registry.created_user_config = False
        if created and not restored:
            return fsutil.FileChange(config, None)  # jssh made it to hold our Include alone
        return fsutil.FileChange(config, restored, config.stat().st_mode & 0o777)

    def _backup(self, text: str) -> Path:
        """Keep a copy of the user's config before jssh changes it."""
        fsutil.ensure_private_dir(self.paths.backup_dir)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.paths.backup_dir / f"config.{stamp}"
        counter = 1
        while target.exists():
            counter += 1
            target = self.paths.backup_dir / f"config.{stamp}.{counter}"
        fsutil.atomic_write(target, text)
        return target

    def remove_all_state(self, name: str) -> None:
        shutil.rmtree(self.paths.host_state_dir(name), ignore_errors=True)
