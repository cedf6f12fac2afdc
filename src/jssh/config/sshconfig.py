"""The ssh config text jssh writes: the managed file, and the one Include line.

sshconf renders the managed file's Host blocks. The user's own config is edited as
plain text, by us, for exactly one thing: inserting (and later removing) our Include
line, byte for byte, so every other byte of that file stays as the user wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from jssh.hosts import NODE_SUFFIX, HostRecord

MANAGED_HEADER = (
    "# Managed by jssh. Each block comes from `jssh add`; change it with `jssh add`\n"
    "# or `jssh remove`, not by hand (jssh rewrites this file from hosts.json).\n"
)
INCLUDE_COMMENT = "# Added by jssh for its Jupyter tunnels; `jssh remove` takes it out again."

# Settings jssh sets itself on every managed block. ssh takes the first value it sees,
# so these come from our block even when the user's `Host *` says otherwise.
JSSH_KEYWORDS = (
    "controlmaster",
    "controlpath",
    "controlpersist",
    "serveraliveinterval",
    "serveralivecountmax",
    "exitonforwardfailure",
    "localforward",
)
# What `ssh -G HOST` resolves that must not be copied to NAME-jupyter: `host` is not a
# setting; other forwards would collide with the user's own `ssh HOST`; and a
# RemoteCommand or session type would break the commands jssh runs through the master.
NOT_CARRIED = (
    "host",
    "remoteforward",
    "dynamicforward",
    "clearallforwardings",
    "remotecommand",
    "requesttty",
    "sessiontype",
    "stdinnull",
    "forkafterauthentication",
)
ALWAYS_CARRIED = ("hostname", "user", "port")
# Keywords whose values are one path each; -G prints them unquoted.
_PATH_KEYWORDS = {
    "identityfile",
    "certificatefile",
    "identityagent",
    "controlpath",
    "xauthlocation",
}

CONTROL_PERSIST = "yes"
SERVER_ALIVE_INTERVAL = 5
SERVER_ALIVE_COUNT_MAX = 3

_HOST_OR_MATCH = re.compile(r"^\s*(host|match)(\s|=)", re.IGNORECASE)
_INCLUDE = re.compile(r"^\s*include(\s+|\s*=\s*)(?P<paths>.*)$", re.IGNORECASE)


def render_managed(hosts: Iterable[HostRecord]) -> str:
    """The whole managed file: a header and one block per host, in name order."""
    import sshconf  # small and only needed when writing

    blocks = []
    for record in sorted(hosts, key=lambda r: r.name):
        config = sshconf.empty_ssh_config_file()
        values: dict[str, list[str]] = {}
        for keyword, value in record.ssh_options:
            values.setdefault(keyword, []).append(_quoted(keyword, value))
        values.update(_own_settings(record))
        if record.slurm:
            # Jupyter runs on a compute node: the node's master (below) owns the local
            # port, and the login node's master is only the way there.
            del values["LocalForward"]
        config.add(record.alias, **values)
        if record.slurm and record.slurm_node:
            config.add(record.node_alias, **_node_values(record, record.slurm_node))
        comment = f"# {record.name}: `jssh up {record.name}` (from {record.target})"
        blocks.append(comment + "\n" + config.config().strip("\n") + "\n")
    return MANAGED_HEADER + "\n" + "\n".join(blocks)


def _node_values(record: HostRecord, node: str) -> dict[str, list[str]]:
    """`Host NAME-jupyter-node`: the Slurm job's node, reached as the login node is (same
    user, keys, port and host key checking) through the login node's master, and
    carrying the forward from the local port to Jupyter on the node."""
    values: dict[str, list[str]] = {"HostName": [node], "ProxyJump": [record.alias]}
    for keyword, value in record.ssh_options:
        if keyword.lower() not in _NOT_FOR_NODE:
            values.setdefault(keyword, []).append(_quoted(keyword, value))
    values.update(_own_settings(record))
    # A master of its own, beside the login node's (`@` can't occur in a NAME).
    values["ControlPath"] = [_quoted("controlpath", record.control_path + NODE_SUFFIX)]
    return values


def _own_settings(record: HostRecord) -> dict[str, list[str]]:
    """What jssh sets itself on each managed block (JSSH_KEYWORDS)."""
    return {
        "ControlMaster": ["auto"],
        "ControlPath": [_quoted("controlpath", record.control_path)],
        "ControlPersist": [CONTROL_PERSIST],
        "ServerAliveInterval": [str(SERVER_ALIVE_INTERVAL)],
        "ServerAliveCountMax": [str(SERVER_ALIVE_COUNT_MAX)],
        "ExitOnForwardFailure": ["yes"],
        "LocalForward": [f"127.0.0.1:{record.local_port} {record.endpoint.forward_target()}"],
    }


# What the login node's settings must not pass to its compute node: where it is, and
# how it is reached (the node is reached through the login node instead).
_NOT_FOR_NODE = ("hostname", "proxyjump", "proxycommand", "hostkeyalias")


def _quoted(keyword: str, value: str) -> str:
    if keyword.lower() in _PATH_KEYWORDS and " " in value and not value.startswith('"'):
        return f'"{value}"'
    return value


def include_text(managed_config: Path, *, default_config: bool) -> str:
    """The lines jssh inserts into the user's config.

    The default ~/.ssh/config gets `~/.ssh/jssh/config`, which survives a synced home;
    any other config gets an absolute path, since ssh resolves relative Include paths
    under ~/.ssh whatever file they appear in.
    """
    target = "~/.ssh/jssh/config" if default_config else str(managed_config)
    if " " in target:
        target = f'"{target}"'
    return f"{INCLUDE_COMMENT}\nInclude {target}\n\n"


def insert_include(user_text: str, include: str) -> str:
    """Put `include` before the first line that means anything to ssh.

    Before the first Host/Match line is what OpenSSH needs; before any top-level
    option too, because those apply to every host and the first value wins.
    """
    lines = user_text.splitlines(keepends=True)
    index = len(lines)
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            index = i
            break
    else:
        # Only comments (or nothing): go after them, unless the file has no final
        # newline: then on top, so that removing our lines gives back the very bytes.
        if lines and not lines[-1].endswith("\n"):
            return include + user_text
    return "".join(lines[:index]) + include + "".join(lines[index:])


def remove_include(user_text: str, include: str, managed_config: Path) -> str | None:
    """The user's text without our Include; None when it isn't there at all."""
    if include in user_text:
        return user_text.replace(include, "", 1)
    # The user moved or re-indented it: take out just the Include line itself.
    lines = user_text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if includes_path(line, managed_config):
            return "".join(lines[:i] + lines[i + 1 :])
    return None


def includes_path(line: str, managed_config: Path) -> bool:
    match = _INCLUDE.match(line)
    if not match:
        return False
    wanted = {str(managed_config), "~/.ssh/jssh/config"}
    return any(word.strip('"') in wanted for word in match["paths"].split())


def include_position(user_text: str, managed_config: Path) -> tuple[int | None, int | None]:
    """(line of our Include, line of the first Host/Match), 1-based; None when absent."""
    first_block: int | None = None
    include_at: int | None = None
    for number, line in enumerate(user_text.splitlines(), start=1):
        if first_block is None and _HOST_OR_MATCH.match(line):
            first_block = number
        if include_at is None and includes_path(line, managed_config):
            include_at = number
    return include_at, first_block


def include_problems(user_text: str, managed_config: Path) -> list[str]:
    """What is wrong with the Include line's presence and place (for `doctor`)."""
    include_at, first_block = include_position(user_text, managed_config)
    if include_at is None:
        return ["the Include line for jssh's managed config is missing"]
    if first_block is not None and include_at > first_block:
        return [
            f"the Include line is on line {include_at}, after the Host/Match on line "
            f"{first_block}: it belongs to that block and may not apply"
        ]
    return []


def user_aliases(user_text: str) -> set[str]:
    """Host names in the user's config that are plain aliases, not patterns."""
    aliases: set[str] = set()
    for line in user_text.splitlines():
        match = re.match(r"^\s*host(?:\s+|\s*=\s*)(.*)$", line, re.IGNORECASE)
        if not match:
            continue
        for raw in match.group(1).split("#", 1)[0].split():
            word = raw.strip('"')
            if word and not any(ch in word for ch in "*?!"):
                aliases.add(word)
    return aliases
