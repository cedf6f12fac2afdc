"""The ssh config text jssh writes: the managed file, and the one Include line.

sshconf renders the managed file's Host blocks. The user's own config is edited by us,
on bytes, for exactly one thing: inserting (and later removing) our Include line, so
every other byte of that file stays as the user wrote it: CRLF line ends, comments in
any encoding, no final newline. The functions on the user's text take bytes, or str for
callers that have text (the same rules either way).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import AnyStr

from jssh.config.userconfig import include_names, lines_of, parse_line
from jssh.config.values import escape_percent, quote
from jssh.errors import ConfigError
from jssh.hosts import NODE_SUFFIX, HostRecord
from jssh.paths import passwd_home

MANAGED_HEADER = (
    "# Managed by jssh. Each block comes from `jssh add`; change it with `jssh add`\n"
    "# or `jssh remove`, not by hand (jssh rewrites this file from hosts.json).\n"
)
INCLUDE_COMMENT = "# Added by jssh for its Jupyter tunnels; `jssh remove` takes it out again."
DEFAULT_INCLUDE_PATH = "~/.ssh/jssh/config"

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
# What a user's `Host *` (or any block that matches NAME-jupyter too) could set that
# breaks the master or the commands jssh runs through it, and the value that undoes
# it. First value wins, and our block comes first. A RemoteCommand makes every command
# an error; a forced TTY or a null stdin breaks the scripts fed on stdin; a session
# type or a fork skips them; ClearAllForwardings drops our forward and a Tunnel that
# can't be opened kills the master (ExitOnForwardFailure). RequestTTY goes back to
# ssh's own default, `auto`: no TTY for a command, one for a plain interactive
# `ssh NAME-jupyter`.
GUARDS = (
    ("ClearAllForwardings", "no"),
    ("ForkAfterAuthentication", "no"),
    ("RemoteCommand", "none"),
    ("RequestTTY", "auto"),
    ("SessionType", "default"),
    ("StdinNull", "no"),
    ("Tunnel", "no"),
)
GUARD_KEYWORDS = frozenset(keyword.lower() for keyword, _ in GUARDS)
# What `ssh -G HOST` resolves that must not be copied to NAME-jupyter: `host` is not a
# setting; other forwards would collide with the user's own `ssh HOST`; and what the
# guards above set.
NOT_CARRIED = frozenset({"host", "remoteforward", "dynamicforward"}) | GUARD_KEYWORDS
ALWAYS_CARRIED = ("hostname", "user", "port")
# Keywords whose values are one path each (quoted here too for records written by an
# older jssh, which kept -G's unquoted values).
_PATH_KEYWORDS = {"identityfile", "certificatefile", "identityagent", "xauthlocation"}

CONTROL_PERSIST = "yes"
SERVER_ALIVE_INTERVAL = 5
SERVER_ALIVE_COUNT_MAX = 3

_HOST_OR_MATCH = re.compile(rb"^\s*(host|match)(\s|=)", re.IGNORECASE)


# -- the managed file -----------------------------------------------------------------------


def render_managed(hosts: Iterable[HostRecord]) -> str:
    """The whole managed file: a header and one block per host, in name order."""
    import sshconf  # small and only needed when writing

    blocks = []
    for record in sorted(hosts, key=lambda r: r.name):
        config = sshconf.empty_ssh_config_file()
        values: dict[str, list[str]] = {}
        for keyword, value in record.ssh_options:
            values.setdefault(keyword, []).append(_value(keyword, value, record))
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
    values: dict[str, list[str]] = {
        "HostName": [escape_percent(node)],
        "ProxyJump": [record.alias],
    }
    for keyword, value in record.ssh_options:
        if keyword.lower() not in _NOT_FOR_NODE:
            values.setdefault(keyword, []).append(_value(keyword, value, record))
    values.update(_own_settings(record))
    # A master of its own, beside the login node's (`@` can't occur in a NAME).
    values["ControlPath"] = [quote(escape_percent(record.control_path + NODE_SUFFIX))]
    return values


def _own_settings(record: HostRecord) -> dict[str, list[str]]:
    """What jssh sets itself on each managed block (JSSH_KEYWORDS)."""
    remote = record.endpoint.forward_target()
    return {
        "ControlMaster": ["auto"],
        "ControlPath": [quote(escape_percent(record.control_path))],
        "ControlPersist": [CONTROL_PERSIST],
        "ServerAliveInterval": [str(SERVER_ALIVE_INTERVAL)],
        "ServerAliveCountMax": [str(SERVER_ALIVE_COUNT_MAX)],
        "ExitOnForwardFailure": ["yes"],
        # Jupyter's first, then the extra forwards (`jssh forward`), all on 127.0.0.1.
        "LocalForward": [f"127.0.0.1:{record.local_port} {quote(escape_percent(remote))}"]
        + [f"{f.listen()} {quote(escape_percent(f.target))}" for f in record.forwards],
    }


# What the login node's settings must not pass to its compute node: where it is, and
# how it is reached (the node is reached through the login node instead).
_NOT_FOR_NODE = ("hostname", "proxyjump", "proxycommand", "hostkeyalias")


def _value(keyword: str, value: str, record: HostRecord) -> str:
    """VALUE as a line of the block. A control character would end the line and start
    another (a `Host *` of its own): hosts.json is checked as it is read, and this
    refuses once more rather than write one."""
    if any(ord(ch) < 0x20 and ch != "\t" for ch in value):
        raise ConfigError(
            f"the setting {keyword} of {record.name} holds a control character; jssh"
            " did not write it into the managed ssh config",
            hint=f"fix it in hosts.json, or run `jssh add {record.target} --name"
            f" {record.name}` again",
        )
    if keyword.lower() in _PATH_KEYWORDS and " " in value and not value.startswith('"'):
        return quote(value)
    return value


# -- the Include line in the user's config ---------------------------------------------------


def include_text(managed_config: Path, *, default_config: bool, newline: str = "\n") -> str:
    """The lines jssh inserts into the user's config, ending each with NEWLINE.

    The default ~/.ssh/config gets `~/.ssh/jssh/config`, which survives a synced home;
    any other config gets an absolute path, since ssh resolves relative Include paths
    under ~/.ssh whatever file they appear in.
    """
    return f"{INCLUDE_COMMENT}{newline}{include_line(managed_config, default_config)}{newline}"


def include_line(managed_config: Path, default_config: bool) -> str:
    """`Include PATH`: the one line ssh needs, with no comment (for the user to add)."""
    return f"Include {include_path(managed_config, default_config)}"


def include_path(managed_config: Path, default_config: bool) -> str:
    """The managed file as the Include line names it (quoted when it has a space)."""
    target = DEFAULT_INCLUDE_PATH if default_config else str(managed_config)
    return f'"{target}"' if " " in target else target


def newline_of(data: bytes) -> str:
    """The line ending the file uses: that of its first line (LF when it has none)."""
    end = data.find(b"\n")
    return "\r\n" if end > 0 and data[end - 1 : end] == b"\r" else "\n"


def insert_include(user: AnyStr, include: AnyStr) -> AnyStr:
    """Put `include` before the first line that means anything to ssh.

    Before the first Host/Match line is what OpenSSH needs; before any top-level
    option too, because those apply to every host and the first value wins.
    """
    if isinstance(user, str):
        return _text(_insert(_bytes(user), _bytes(include)))
    return _insert(user, include)


def _insert(data: bytes, include: bytes) -> bytes:
    lines = data.splitlines(keepends=True)
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped and not stripped.startswith(b"#"):
            return b"".join(lines[:i]) + include + b"".join(lines[i:])
    # Only comments (or nothing): go after them, unless the file has no final newline:
    # then on top, so that removing our lines gives back the very bytes.
    if lines and not lines[-1].endswith(b"\n"):
        return include + data
    return data + include


def remove_include(user: AnyStr, include: AnyStr, managed_config: Path) -> AnyStr | None:
    """The user's text without our Include; None when it isn't there at all.

    Our exact lines come out whole. When they are gone but an Include line of the
    managed file is left (the user moved or re-indented ours), that line alone does.
    Only call this for an Include that jssh inserted: one the user wrote is theirs.
    """
    if isinstance(user, str):
        removed = _remove(_bytes(user), _bytes(include), managed_config)
        return None if removed is None else _text(removed)
    return _remove(user, include, managed_config)


def _remove(data: bytes, include: bytes, managed_config: Path) -> bytes | None:
    if include and include in data:
        return data.replace(include, b"", 1)
    lines = data.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if _includes(line, managed_config):
            return b"".join(lines[:i] + lines[i + 1 :])
    return None


def blank_includes(data: bytes, managed_config: Path) -> bytes:
    """DATA with each line that Includes the managed file emptied (its line end kept,
    so every other line keeps its number)."""
    lines = data.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if _includes(line, managed_config):
            lines[i] = line[len(line.rstrip(b"\r\n")) :]
    return b"".join(lines)


def includes_path(line: str | bytes, managed_config: Path) -> bool:
    """Is LINE an Include that names the managed file?"""
    return _includes(_bytes(line) if isinstance(line, str) else line, managed_config)


def _includes(line: bytes, managed_config: Path) -> bool:
    ((_, text),) = lines_of(line.rstrip(b"\n"))
    parsed = parse_line(text)
    if parsed is None or parsed[0] != "include":
        return False
    # The literal forms first: the managed file may not exist yet.
    if {DEFAULT_INCLUDE_PATH, str(managed_config)} & set(parsed[1]):
        return True
    return include_names(parsed[1], managed_config, passwd_home())


def include_position(user: str | bytes, managed_config: Path) -> tuple[int | None, int | None]:
    """(line of our Include, line of the first Host/Match), 1-based; None when absent."""
    data = _bytes(user) if isinstance(user, str) else user
    first_block: int | None = None
    include_at: int | None = None
    for number, line in enumerate(data.split(b"\n"), start=1):
        if first_block is None and _HOST_OR_MATCH.match(line):
            first_block = number
        if include_at is None and _includes(line, managed_config):
            include_at = number
    return include_at, first_block


def include_problems(user: str | bytes, managed_config: Path) -> list[str]:
    """What is wrong with the Include line's presence and place (for `doctor`)."""
    include_at, first_block = include_position(user, managed_config)
    if include_at is None:
        return ["the Include line for jssh's managed config is missing"]
    if first_block is not None and include_at > first_block:
        return [
            f"the Include line is on line {include_at}, after the Host/Match on line "
            f"{first_block}: it belongs to that block and may not apply"
        ]
    return []


def user_aliases(user: str | bytes) -> set[str]:
    """Host names in this one file that are plain aliases, not patterns. (With the files
    it Includes: jssh.config.userconfig.host_aliases.)"""
    data = _bytes(user) if isinstance(user, str) else user
    aliases: set[str] = set()
    for _, text in lines_of(data):
        parsed = parse_line(text)
        if parsed is not None and parsed[0] == "host":
            aliases |= {word for word in parsed[1] if word and not set(word) & set("*?!")}
    return aliases


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")
