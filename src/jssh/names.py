"""What counts as a host and a name, checked before anything touches a file or a shell.

A HOST is `[user@]host[:port]`: an ssh alias, a DNS name or an IP address. A NAME is
what jssh calls the managed host (`NAME-jupyter`). Both end up in ssh config files,
file names and remote shell words, so anything that isn't plainly a host name is
refused: no shell metacharacters, spaces, newlines, leading `-`, or patterns.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from jssh.errors import UsageError

ALIAS_SUFFIX = "-jupyter"

_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,252})"
_USER = r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}"
_HOST_RE = re.compile(
    rf"^(?:(?P<user>{_USER})@)?"
    rf"(?:(?P<name>{_LABEL})|\[(?P<ipv6>[0-9A-Fa-f:.]+)\])"
    r"(?::(?P<port>[0-9]{1,5}))?$"
)
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,47}$")


@dataclass(frozen=True)
class Target:
    """A parsed HOST argument."""

    text: str
    host: str
    user: str | None = None
    port: int | None = None

    def ssh_args(self) -> list[str]:
        """Options that make `ssh -G HOST` see the user and port given on the command line."""
        args: list[str] = []
        if self.user:
            args += ["-l", self.user]
        if self.port:
            args += ["-p", str(self.port)]
        return args

    @property
    def is_plain_alias(self) -> bool:
        return self.user is None and self.port is None


def parse_target(text: str) -> Target:
    """Parse `[user@]host[:port]`, refusing anything that isn't plainly that."""
    match = _HOST_RE.match(text)
    if not match or text.startswith("-"):
        raise UsageError(
            f"{_show(text)} is not a host: use an ssh alias, a host name or user@host[:port]",
            hint="letters, digits, '.', '-' and '_' only; no spaces, shell characters or patterns",
        )
    host = match["name"] or match["ipv6"]
    if match["ipv6"]:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise UsageError(f"{_show(text)} is not a valid IPv6 address") from None
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 0 < port < 65536:
        raise UsageError(f"port {port} in {_show(text)} is out of range (1-65535)")
    return Target(text=text, host=host, user=match["user"], port=port)


def validate_name(name: str) -> str:
    """Check a NAME for the managed host; returns it unchanged."""
    if not _NAME_RE.match(name) or name.endswith(ALIAS_SUFFIX):
        raise UsageError(
            f"{_show(name)} is not a usable name",
            hint="use up to 48 letters, digits, '.', '-' or '_', starting with a letter or digit"
            f" (jssh adds '{ALIAS_SUFFIX}' itself)",
        )
    return name


def default_name(target: Target, user_aliases: set[str]) -> str:
    """NAME for HOST: the alias itself, else the host's first DNS label."""
    if target.is_plain_alias and target.host in user_aliases:
        return validate_name(target.host)
    try:
        ip = ipaddress.ip_address(target.host)
    except ValueError:
        return validate_name(target.host.split(".", 1)[0])
    return validate_name(re.sub(r"[.:]+", "-", str(ip)).strip("-"))


def alias_for(name: str) -> str:
    return f"{name}{ALIAS_SUFFIX}"


def _show(text: str) -> str:
    """Quote untrusted input for an error message, so a newline can't forge a line."""
    return repr(text)
