"""The only package that runs the `ssh` binary or talks to its control sockets.

`client` builds argv lists and runs ssh; `mux` asks a master for its pid over its
control socket without starting ssh. Failures come back as `SshError` whose `kind`
(jssh.failures.SshFailure) is what callers decide on.
"""

from __future__ import annotations

# Not `from typing import ...`: the warm `up` imports this module, and typing costs it
# ~4 ms (jssh.entry). mypy reads TYPE_CHECKING = False as typing's own.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any

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


# The face is lazy: `jssh.ssh.mux` (the warm `up`'s owner proof) must not pull in the
# client and subprocess, which cost ~15 ms the fast path does not spend.
_HOMES = {
    "classify_failure": "jssh.ssh.classify",
    "last_line": "jssh.ssh.classify",
    "MUX_CLIENT_OPTIONS": "jssh.ssh.client",
    "BatchStart": "jssh.ssh.client",
    "Result": "jssh.ssh.client",
    "Settings": "jssh.ssh.client",
    "Ssh": "jssh.ssh.client",
    "parse_settings": "jssh.ssh.client",
    "remote_command": "jssh.ssh.client",
}


def __getattr__(name: str) -> Any:
    import importlib

    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'jssh.ssh' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


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
