"""Turn what ssh printed into a failure kind, and the kind into one readable error.

ssh reports everything on stderr in English; this is the one place that reads those
words. Everything above it decides on `SshFailure`, and the message a user sees is
rendered here from the kind, once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jssh.errors import BusyError, ConfigError, JsshError, SshError
from jssh.failures import SshFailure

# ssh's own words -> a kind. Order matters: the first match wins.
_PATTERNS: list[tuple[str, SshFailure]] = [
    (r"Bad owner or permissions on (\S+)", SshFailure.CONFIG),
    (r"bind \[?[^\]]*\]?:(\d+): Address already in use|cannot listen to port: (\d+)",
     SshFailure.PORT_BUSY),
    (r"Could not resolve hostname ([^:\s]+)", SshFailure.RESOLVE),
    (r"REMOTE HOST IDENTIFICATION HAS CHANGED", SshFailure.HOST_KEY_CHANGED),
    (r"Host key verification failed", SshFailure.HOST_KEY_UNKNOWN),
    (r"Permission denied \(([^)]*)\)", SshFailure.AUTH),
    (r"Too many authentication failures", SshFailure.AUTH),
    (r"Connection refused", SshFailure.REFUSED),
    (r"Connection timed out|Operation timed out|timed out during banner exchange",
     SshFailure.TIMEOUT),
    (r"No route to host|Network is unreachable", SshFailure.UNREACHABLE),
    (r"Connection closed by|Connection reset by|kex_exchange_identification", SshFailure.CLOSED),
]  # fmt: skip


@dataclass(frozen=True)
class Diagnosis:
    """A kind, and the detail ssh gave with it (a path, a port, a host name, methods)."""

    kind: SshFailure
    detail: str
    last_words: str


def diagnose(transcript: str) -> Diagnosis:
    """The kind of failure that ssh's output shows (UNKNOWN when nothing matches)."""
    for pattern, kind in _PATTERNS:
        match = re.search(pattern, transcript)
        if match:
            detail = next((g for g in match.groups() if g), "")
            return Diagnosis(kind, detail, last_line(transcript))
    return Diagnosis(SshFailure.UNKNOWN, "", last_line(transcript))


_NO_TERMINAL = (
    "it needs a password or passphrase and there is no terminal to ask on:"
    " run `jssh up` in a terminal, or load your key into ssh-agent"
)


def render(alias: str, found: Diagnosis, *, interactive: bool = True) -> JsshError:
    """The one error a user sees for a diagnosed failure."""
    kind, detail = found.kind, found.detail
    if kind is SshFailure.CONFIG:
        return ConfigError(
            f"ssh refuses {detail}: bad owner or permissions",
            hint=f"make it yours and not writable by others: chmod 600 {detail}",
            kind=kind,
        )
    if kind is SshFailure.PORT_BUSY:
        return BusyError(
            f"local port {detail} is already in use, so the tunnel can't listen there",
            hint="free the port, or pick another with `jssh add NAME --local-port N`",
            kind=kind,
        )
    messages: dict[SshFailure, tuple[str, str | None]] = {
        SshFailure.RESOLVE: (
            f"cannot resolve host name {detail}",
            "check the HostName in your ssh config and your DNS",
        ),
        SshFailure.HOST_KEY_CHANGED: (
            f"the host key of {alias} could not be verified: it changed",
            "check the host's key, then fix your known_hosts (ssh-keygen -R HOST)",
        ),
        SshFailure.HOST_KEY_UNKNOWN: (
            f"the host key of {alias} could not be verified",
            f"check the host's key, then accept it once in a terminal: `ssh {alias} true`"
            " (or, if it changed, fix your known_hosts with ssh-keygen -R HOST)",
        ),
        SshFailure.AUTH: (
            f"authentication to {alias} failed"
            + (f" ({detail})" if detail else ": too many attempts"),
            None if interactive else _NO_TERMINAL,
        ),
        SshFailure.REFUSED: (
            f"{alias} refused the connection (is sshd running, and is the port right?)",
            None,
        ),
        SshFailure.TIMEOUT: (f"{alias} is unreachable: the connection timed out", None),
        SshFailure.UNREACHABLE: (f"{alias} is unreachable: no route to host", None),
        SshFailure.CLOSED: (f"{alias} closed the connection during login", None),
    }
    message, hint = messages.get(kind, (f"ssh to {alias} failed: {found.last_words}", None))
    return SshError(message, hint=hint, kind=kind)


def classify_failure(alias: str, transcript: str, *, interactive: bool = True) -> JsshError:
    """Turn what ssh printed into one clear error carrying its kind."""
    return render(alias, diagnose(transcript), interactive=interactive)


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"
