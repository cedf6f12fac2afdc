"""The only package that runs the `ssh` binary or talks to its control sockets.

`client` builds argv lists and runs ssh; `mux` asks a master for its pid over its
control socket without starting ssh. Failures come back as `SshError` whose `kind`
(jssh.failures.SshFailure) is what callers decide on.
"""

from __future__ import annotations

from jssh.ssh.classify import classify_failure, last_line
from jssh.ssh.client import (
    MUX_CLIENT_OPTIONS,
    BatchStart,
    Result,
    Settings,
    Ssh,
    parse_settings,
    remote_command,
)

__all__ = [
    "MUX_CLIENT_OPTIONS",
    "BatchStart",
    "Result",
    "Settings",
    "Ssh",
    "classify_failure",
    "last_line",
    "parse_settings",
    "remote_command",
]
