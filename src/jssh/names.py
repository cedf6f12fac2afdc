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
# An IPv6 address, with an optional zone (fe80::1%eth0): ipaddress has the last word.
_IPV6 = r"[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?"
_HOST_RE = re.compile(
    rf"^(?:(?P<user>{_USER})@)?"
    rf"(?:(?P<name>{_LABEL})|\[(?P<bracketed>{_IPV6})\])"
    r"(?::(?P<port>[0-9]{1,5}))?$"
)
# A bare IPv6 address, as ssh takes it too (`ssh ::1`, `ssh me@fe80::1`): two colons at
# least, so `host:port` stays what it is; no port (that needs the brackets).
_BARE_IPV6_RE = re.compile(rf"^(?:(?P<user>{_USER})@)?(?P<bare>{_IPV6})$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,47}$")
_BRACKETS_HINT = "an IPv6 address goes in brackets when a port follows: user@[::1]:2222"


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
    """Parse `[user@]host[:port]`, refusing anything that isn't plainly that.

    IPv6 addresses are taken bare (`::1`, `me@fe80::1`) as ssh takes them, or in
    brackets with a port (`me@[::1]:2222`).
    """
    match = None if text.startswith("-") else _HOST_RE.match(text)
    if match is None and text.count(":") >= 2:
        bare = _BARE_IPV6_RE.match(text)
        if bare is None:
            raise UsageError(
                f"{_show(text)} is not a host: use an ssh alias, a host name or user@host[:port]",
                hint=_BRACKETS_HINT,
            )
        return Target(text=text, host=_ipv6(bare["bare"], text), user=bare["user"])
    if match is None:
        raise UsageError(
            f"{_show(text)} is not a host: use an ssh alias, a host name or user@host[:port]",
            hint="letters, digits, '.', '-' and '_' only; no spaces, shell characters or"
            f" patterns; {_BRACKETS_HINT}",
        )
    host = match["name"] or _ipv6(match["bracketed"], text)
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 0 < port < 65536:
        raise UsageError(f"port {port} in {_show(text)} is out of range (1-65535)")
    return Target(text=text, host=host, user=match["user"], port=port)


def _ipv6(address: str, text: str) -> str:
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        raise UsageError(
            f"{_show(text)} is not a host: {_show(address)} is not a valid IPv6 address",
            hint=_BRACKETS_HINT,
        ) from None
    return address


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
    return validate_name(re.sub(r"[.:%]+", "-", str(ip)).strip("-"))


def alias_for(name: str) -> str:
    return f"{name}{ALIAS_SUFFIX}"


def _show(text: str) -> str:
    """Quote untrusted input for an error message, so a newline can't forge a line."""
    return repr(text)
