"""The user's own ssh config, watched: when it changes, every managed block is checked
against `ssh -G` again and rewritten where it drifted.

A managed block is a copy of what HOST resolved to at `add` time. When the user moves a
ProxyJump, changes a Port, or a `Match exec` now says otherwise, the copy is stale and
plain `ssh NAME-jupyter` (and the next respawn of a master) would use the old values. A
cold `jssh up` refreshes the block; the watchdog does it as soon as the files change,
so a host that stays up all week follows the user's edits too.

The loop only notices a change; reading the config, `ssh -G` and the rewrite run on its
workers (`refresh_block`), and the rewrite of hosts.json then reaches the loop as any
other reconfiguration does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from jssh.config.resolve import refresh
from jssh.config.userconfig import ConfigFiles, config_files
from jssh.hosts import HostRecord
from jssh.paths import Paths, passwd_home
from jssh.ssh import Ssh
from jssh.watchdog.sources import FileWatch, WakePipe


@dataclass(frozen=True)
class BlockRefreshed:
    """A worker's answer: NAME's block was checked; `line` says what was rewritten."""

    name: str
    line: str | None


def refresh_block(paths: Paths, ssh: Ssh, record: HostRecord) -> BlockRefreshed:
    """(On a worker.) Rewrite RECORD's block if it no longer matches `ssh -G`. A config
    ssh can't read leaves the block as it was: ssh itself says why at the next connect."""
    fresh, line = refresh(paths, ssh, record)
    return BlockRefreshed(fresh.name, line.removeprefix(f"{fresh.name}: ") if line else None)


class ConfigWatch:
    """A watchfiles thread over the directories of the user's config files (not
    recursively: ~/.ssh also holds sockets and known_hosts, which change all the time).
    The set of files is read again after every change that concerns it, so a new
    Include, a new file in `config.d/`, or a dotfile link pointed elsewhere is followed."""

    def __init__(self, paths: Paths, wake: WakePipe) -> None:
        self.paths, self.wake = paths, wake
        self.files = self._read()
        self._stop = threading.Event()
        self._watch = self._start()

    def _read(self) -> ConfigFiles:
        return config_files(
            self.paths.ssh_config, home=passwd_home(), skip=[self.paths.managed_config]
        )

    def _start(self) -> FileWatch | None:
        roots = sorted(self.files.dirs)
        if not roots:
            return None
        return FileWatch(roots, self.wake, self._stop, recursive=False)

    def wait_ready(self) -> None:
        if self._watch is not None:
            self._watch.wait_ready()

    def changed(self) -> tuple[bool, list[BaseException]]:
        """Did the user's config change since the last look (and what went wrong)?"""
        if self._watch is None:
            return False, []
        paths, errors = self._watch.take_paths()
        concerned = any(self.files.concerns(path) for path in paths)
        if not concerned and not errors:
            return False, errors
        watched, self.files = self.files.dirs, self._read()
        # An Include now reads from somewhere else, or a watched directory went away
        # (the watch thread then stopped with an error): watch where the files are now.
        if self.files.dirs != watched or errors:
            self.close()
            self._stop = threading.Event()
            self._watch = self._start()
        return True, errors

    def close(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.thread.join(timeout=5)
            self._watch = None
