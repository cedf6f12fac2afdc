"""Every way an ssh run can fail, as one enum: the CLI renders a message from it once,
and the watchdog decides retry-or-give-up on it, never on message text.

A leaf: no jssh imports. The classifier that maps ssh's own words onto these kinds
lives in jssh.ssh (the only place that runs ssh).
"""

from __future__ import annotations

from enum import Enum


class SshFailure(Enum):
    """Why ssh failed. The values are stable: they appear in `--json` outputs and logs."""

    NO_CLIENT = "no-client"  # the ssh binary is missing
    CONFIG = "config"  # ssh refuses a config file (bad owner or permissions, a bad line)
    PORT_BUSY = "port-busy"  # the local end of the forward is taken
    RESOLVE = "resolve"  # the host name does not resolve
    HOST_KEY_UNKNOWN = "host-key-unknown"  # first contact, and no terminal to accept it
    HOST_KEY_CHANGED = "host-key-changed"  # the host's key differs from known_hosts
    AUTH = "auth"  # authentication failed or needs a secret nobody can type
    REFUSED = "refused"  # nothing listens on the ssh port
    TIMEOUT = "timeout"  # no answer in time (SYN or banner)
    UNREACHABLE = "unreachable"  # no route to the host
    CLOSED = "closed"  # the server closed the connection during login
    FORWARD_FAILED = "forward-failed"  # the master runs but its forward could not open
    REMOTE_FAILED = "remote-failed"  # the connection worked; the remote command failed
    UNKNOWN = "unknown"  # ssh failed in a way jssh does not recognise

    @property
    def needs_user(self) -> bool:
        """Only the user can fix it: retrying would not help and, for authentication,
        could lock the account (ansible never retries these either)."""
        return self in _NEEDS_USER

    @property
    def network(self) -> bool:
        """The network or the host is down: worth retrying when it comes back."""
        return self in _NETWORK


_NEEDS_USER = frozenset(
    {
        SshFailure.NO_CLIENT,
        SshFailure.CONFIG,
        SshFailure.HOST_KEY_UNKNOWN,
        SshFailure.HOST_KEY_CHANGED,
        SshFailure.AUTH,
    }
)
_NETWORK = frozenset(
    {
        SshFailure.RESOLVE,
        SshFailure.REFUSED,
        SshFailure.TIMEOUT,
        SshFailure.UNREACHABLE,
        SshFailure.CLOSED,
    }
)
