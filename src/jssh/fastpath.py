"""The warm `jssh up NAME`, answered before typer parses anything.

Typer builds a pydantic TypeAdapter for every parameter it coerces, which costs about
0.1 s: more than everything else a warm `up` does (read hosts.json and the token, one
HTTP request through the forward). So `main()` first offers the command line to
`warm_up`; it handles only the plain form it fully understands and only when the server
already answers with our token. Anything else returns None and the real CLI takes over,
doing the same check again the slow way, so the two can never disagree on the outcome.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_GLOBAL_OPTIONS = {"--ssh-config": "JSSH_SSH_CONFIG", "--state-dir": "JSSH_STATE_DIR"}


def warm_up(argv: list[str]) -> tuple[str, str] | None:
    """(NAME, URL) when `argv` is `[globals] up NAME [--no-open]` and NAME is already up."""
    values = {env: os.environ.get(env) for env in _GLOBAL_OPTIONS.values()}
    args = list(argv)
    while args and args[0].startswith("--"):
        option, _, inline = args.pop(0).partition("=")
        if option not in _GLOBAL_OPTIONS:
            return None
        if not inline:
            if not args:
                return None
            inline = args.pop(0)
        values[_GLOBAL_OPTIONS[option]] = inline
    if len(args) < 2 or args[0] != "up" or set(args[2:]) - {"--no-open"}:
        return None
    if "--no-open" not in args and sys.stdout.isatty():
        return None  # the browser may have to open: the full command decides
    url = _url_if_serving(args[1], values["JSSH_SSH_CONFIG"], values["JSSH_STATE_DIR"])
    return (args[1], url) if url else None


def _url_if_serving(name: str, ssh_config: str | None, state_dir: str | None) -> str | None:
    from jssh.errors import JsshError
    from jssh.hosts import Registry
    from jssh.paths import Paths
    from jssh.session.files import HostFiles
    from jssh.session.warm import serving_url

    try:
        paths = Paths.build(
            Path(ssh_config) if ssh_config else None, Path(state_dir) if state_dir else None
        )
        # hosts.json read directly, not through config.store: that would import the
        # ssh client and the config editor (~20 ms) for one dict lookup.
        hosts_file = paths.hosts_file
        record = Registry.loads(hosts_file.read_text(), str(hosts_file)).hosts.get(name)
        files = HostFiles(paths, name)
        if record is None or not files.wanted:
            return None
        # The very check the full `up` makes first: a token, our tunnel, a 200.
        url = serving_url(record, files.token(), timeout=2.0, paths=paths)
    except (JsshError, OSError, UnicodeDecodeError):  # the full CLI reports or repairs it
        return None
    return url
