"""Reading and changing the managed hosts, under one lock, with atomic writes.

A change is a transaction: take the lock, load hosts.json, let the caller edit the
`Registry`, then write hosts.json, re-render the managed ssh config from it, and add
or remove the Include line in the user's config. Four `jssh add` at once all land.

The user's config is bytes, and often a link (GNU stow, yadm, home-manager): the link
stays a link, and the file it points to is edited in its own directory, keeping its
mode. When that file can't be written (home-manager's read-only store), nothing there
changes: `include_needed` says which line the user must add, and the rest is written.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from jssh import fsutil
from jssh.config.sshconfig import (
    include_line,
    include_path,
    include_position,
    include_problems,
    include_text,
    insert_include,
    newline_of,
    remove_include,
    render_managed,
)
from jssh.config.userconfig import includes_of, read_config
from jssh.errors import ConfigError, UnknownHost
from jssh.hosts import HostRecord, Registry
from jssh.paths import Paths, passwd_home


@dataclass(frozen=True)
class IncludeNeeded:
    """jssh could not put its Include line into the user's config: why, and what to add."""

    config: Path  # the user's config as named (maybe a link)
    target: Path  # the file it is
    reason: str
    line: str  # `Include ~/.ssh/jssh/config`
    path: str  # the managed file as that line names it

    @property
    def where(self) -> str:
        if self.config == self.target:
            return str(self.config)
        return f"{self.config} (a link to {self.target})"

    def error(self) -> ConfigError:
        """What `add` reports (exit 3) after writing everything else."""
        return ConfigError(
            f"jssh could not add its Include line to {self.where}: {self.reason}; the host"
            " is saved and works once your config has that line",
            hint="add the line below at the top of your ssh config, before any Host or Match"
            " line (home-manager users: the programs.ssh.includes line)",
            details=f"{self.line}\nprograms.ssh.includes = [ {_nix_string(self.path)} ];",
        )

    def note(self) -> str:
        """What `remove` says when it can't take its own line out again."""
        return (
            f"jssh could not take its Include line out of {self.where} ({self.reason}):"
            f" remove the line `{self.line}` yourself"
        )


class Store:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        # Set by a transaction that could not add (or remove) the Include line.
        self.include_needed: IncludeNeeded | None = None
        # Set by a transaction that left the user's own Include line in place.
        self.include_kept: str | None = None

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
        if name in registry.damaged:
            raise ConfigError(registry.damaged[name].describe(str(self.paths.hosts_file)))
        try:
            return registry.hosts[name]
        except KeyError:
            known = ", ".join(sorted(registry.hosts)) or "none yet"
            raise UnknownHost(
                f"no managed host named {name!r} (managed: {known})",
                hint="add it with `jssh add HOST --name NAME`",
            ) from None

    def user_config_file(self) -> Path:
        """The file the user's config is: where its links lead (it may not exist)."""
        return Path(os.path.realpath(self.paths.ssh_config))

    def read_user_config(self) -> bytes:
        """The user's ssh config, byte for byte (b'' when it doesn't exist yet)."""
        try:
            return self.user_config_file().read_bytes()
        except FileNotFoundError:
            return b""
        except OSError as exc:
            raise ConfigError(f"cannot read {self.paths.ssh_config}: {exc.strerror}") from exc

    def include_present(self, data: bytes) -> bool:
        """Does the user's config (DATA) or a file it Includes already include ours?"""
        lines = read_config(
            self.paths.ssh_config,
            home=passwd_home(),
            skip=[self.paths.managed_config],
            data=data,
        )
        return bool(includes_of(lines, self.paths.managed_config, passwd_home()))

    def include_problems(self, data: bytes) -> list[str]:
        """What keeps ssh from reading jssh's block, for `doctor` and a failed `up`. The
        Include may sit in a file the user's config Includes (a `config.d/` file, a Nix
        `programs.ssh.includes`): there it works as long as no Host/Match holds it."""
        managed = self.paths.managed_config
        problems = include_problems(data, managed)
        if not problems or include_position(data, managed)[0] is not None:
            return problems  # the line is in the main file: its place there decides
        lines = read_config(self.paths.ssh_config, home=passwd_home(), skip=[managed], data=data)
        found = includes_of(lines, managed, passwd_home())
        if not found:
            return problems
        if any(not line.gates for line in found):
            return []
        gate = found[0].gates[-1]
        return [
            f"the Include line ({found[0].where}) is under `{gate.kind.title()}"
            f" {' '.join(gate.args)}` ({gate.where}): it belongs to that block and may not apply"
        ]

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
        self.include_needed = self.include_kept = None
        changes: list[fsutil.FileChange | None] = []
        if registry.hosts or registry.damaged:
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

    def _wanted(self, data: bytes) -> bytes:
        """Our lines for this file, in its own line endings."""
        text = include_text(
            self.paths.managed_config,
            default_config=self.paths.ssh_config_is_default,
            newline=newline_of(data),
        )
        return text.encode("utf-8", "surrogateescape")

    def _include_added(self, registry: Registry) -> fsutil.FileChange | None:
        target = self.user_config_file()
        data = self.read_user_config()
        ours = _raw(registry.include_text)
        if ours and ours in data:
            return None
        if self.include_present(data):
            # There, in a form or place the user chose (or ours, moved): leave it. It
            # stays ours to take out only if jssh inserted it.
            return None
        reason = unwritable(target)
        if reason is not None:
            self.include_needed = self._needed(target, reason)
            return None
        existed = target.exists()
        if existed:
            self._backup(data)
        wanted = self._wanted(data)
        registry.forget_include()
        registry.include_text = wanted.decode("utf-8", "surrogateescape")
        registry.created_user_config = not existed
        mode = stat.S_IMODE(target.stat().st_mode) if existed else fsutil.PRIVATE_FILE
        return fsutil.FileChange(target, insert_include(data, wanted), mode)

    def _include_dropped(self, registry: Registry) -> fsutil.FileChange | None:
        target = self.user_config_file()
        data = self.read_user_config()
        if registry.include_text is None and not registry.include_unknown:
            if data and self.include_present(data):
                self.include_kept = (
                    f"your own Include line for jssh's managed file stays in"
                    f" {self.paths.ssh_config}: jssh did not add it, so it leaves it to you"
                )
            return None
        if registry.include_text is not None:
            restored = remove_include(data, _raw(registry.include_text), self.paths.managed_config)
        else:
            # hosts.json lost what jssh inserted: take out only our exact lines.
            wanted = self._wanted(data)
            restored = data.replace(wanted, b"", 1) if wanted in data else None
        created = registry.created_user_config
        registry.forget_include()
        if restored is None or not target.exists():
            return None
        reason = unwritable(target)
        if reason is not None:
            self.include_needed = self._needed(target, reason)
            return None
        self._backup(data)
        if created and not restored:
            return fsutil.FileChange(target, None)  # jssh made it to hold our Include alone
        return fsutil.FileChange(target, restored, stat.S_IMODE(target.stat().st_mode))

    def _needed(self, target: Path, reason: str) -> IncludeNeeded:
        default = self.paths.ssh_config_is_default
        return IncludeNeeded(
            config=self.paths.ssh_config,
            target=target,
            reason=reason,
            line=include_line(self.paths.managed_config, default),
            path=include_path(self.paths.managed_config, default).strip('"'),
        )

    def _backup(self, data: bytes) -> Path:
        """Keep an exact copy of the user's config before jssh changes it."""
        fsutil.ensure_private_dir(self.paths.backup_dir)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.paths.backup_dir / f"config.{stamp}"
        counter = 1
        while target.exists():
            counter += 1
            target = self.paths.backup_dir / f"config.{stamp}.{counter}"
        fsutil.atomic_write(target, data)
        return target

    def remove_all_state(self, name: str) -> None:
        directory = self.paths.host_state_dir(name)
        if directory.is_symlink() or directory.is_file():
            directory.unlink()  # something else where jssh keeps NAME's state: jssh's path
        else:
            shutil.rmtree(directory, ignore_errors=True)


def unwritable(target: Path) -> str | None:
    """Why jssh must not (or can't) replace TARGET; None when it can. A file without its
    owner's write bit is read-only for jssh even as root (home-manager's 0444 files)."""
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        return f"it can't be read ({exc.strerror})"
    if mode is not None and not mode & stat.S_IWUSR:
        return f"it is read-only (mode {mode:04o})"
    directory = target.parent
    if not directory.is_dir():
        return f"its directory {directory} does not exist"
    with contextlib.suppress(OSError):
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return f"{directory} is on a read-only file system"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"jssh may not create files in {directory}"
    return None


def _raw(text: str | None) -> bytes:
    return (text or "").encode("utf-8", "surrogateescape")


def _nix_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${") + '"'
