"""One error root for every expected failure, and the exit codes jssh uses.

Library code raises a `JsshError` subclass; the CLI catches `JsshError` once, prints
one line (plus an optional hint) and exits with the error's code. Anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

from enum import IntEnum

from jssh.failures import SshFailure


class ExitCode(IntEnum):
    """Process exit codes. Documented in the man page; keep them stable."""

    OK = 0
    FAILURE = 1  # something is wrong that no narrower code describes (also: doctor found problems)
    USAGE = 2  # bad arguments or input (click uses 2 for usage errors too)
    CONFIG = 3  # an ssh config or jssh state file can't be read, parsed or written
    SSH = 4  # ssh could not connect or authenticate
    REMOTE = 5  # the remote side failed: jupyter missing, died at start, ...
    BUSY = 6  # a resource is held: a port, a lock, another watchdog
    TIMEOUT = 7  # a bounded wait ran out
    NOT_FOUND = 8  # no managed host of that name
    NOT_SERVING = 9  # `status`: a host you brought up does not serve its URL now
    IN_USE = 10  # down, remove, up --new-token: kernels active within the hour (--force: stop)
    INTERRUPTED = 130  # Ctrl-C


class JsshError(Exception):
    """An expected failure: printed as one readable line, never as a traceback."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        details: str | None = None,
        kind: SshFailure | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.hint = hint
        # Why ssh failed, when ssh is what failed: what callers decide on, never the text.
        self.kind = kind
        # Extra lines worth showing (a remote log tail, ssh's own words); printed after
        # the one-line message, indented.
        self.details = details


class UsageError(JsshError):
    exit_code = ExitCode.USAGE


class ConfigError(JsshError):
    exit_code = ExitCode.CONFIG


class SshError(JsshError):
    exit_code = ExitCode.SSH


class RemoteError(JsshError):
    exit_code = ExitCode.REMOTE


class BusyError(JsshError):
    exit_code = ExitCode.BUSY


class KernelsInUse(JsshError):
    """`down`, `remove` or `up --new-token` without --force: its kernels were active lately."""

    exit_code = ExitCode.IN_USE


class WaitTimeout(JsshError):
    exit_code = ExitCode.TIMEOUT


class UnknownHost(JsshError):
    exit_code = ExitCode.NOT_FOUND
