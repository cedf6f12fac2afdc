"""What a Tab offers, read as cheaply as can be: every Tab runs jssh afresh.

The shell scripts in completions/ (from scripts/gen-completions) call `jssh` with
`_JSSH_COMPLETE=complete_SHELL`; typer then asks these functions for dynamic values.
They read one file each and import nothing beyond what `jssh.cli` already has: not
jssh.config.store (about 15 ms of imports for a list of names), no ssh, no network.
"""

from __future__ import annotations

from pathlib import Path

from jssh.paths import Paths


def _paths(ssh_config: Path | None) -> Paths:
    # Where hosts.json and the user's config are depends on the ssh config alone; a
    # placeholder state dir spares a Tab the import of platformdirs.
    return Paths.build(ssh_config, Path())


def managed_names(ssh_config: Path | None, incomplete: str) -> list[str]:
    """Names of the managed hosts (the keys of hosts.json) that start with `incomplete`:
    the same reader the Tab fast path uses, so typer and jssh.tab can't disagree."""
    from jssh.tab import managed_names as read_names

    return read_names(str(ssh_config) if ssh_config else None, incomplete)


def ssh_aliases(ssh_config: Path | None, incomplete: str) -> list[str]:
    """The `Host` names of the user's own ssh config that are not patterns, in the files
    it Includes too (as ssh follows them), but not in jssh's managed file."""
    # Only `jssh add <Tab>` needs the parser (no store, no ssh).
    from jssh.config.userconfig import host_aliases, read_config
    from jssh.paths import passwd_home

    paths = _paths(ssh_config)
    lines = read_config(paths.ssh_config, home=passwd_home(), skip=[paths.managed_config])
    return sorted(a for a in host_aliases(lines) if a.startswith(incomplete))
