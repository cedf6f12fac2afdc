"""jssh's entry point: the fast answers first, typer only when it is needed.

Importing typer (and the pydantic it brings) costs ~0.15 s, more than a Tab or a
warm `up` should take in all. So a Tab (jssh.tab) and a warm `up` (jssh.fastpath)
are answered here from a few files, and only anything else loads the full CLI.
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    """The `jssh` command."""
    if os.environ.get("_JSSH_COMPLETE", "").startswith("complete_"):
        from jssh.tab import answer

        reply = answer(os.environ)
        if reply is not None:
            sys.stdout.write(reply)
            return 0
    from jssh.fastpath import warm_up

    warm = warm_up(sys.argv[1:])
    if warm is not None:
        name, url = warm
        print(f"{name}: reusing the running Jupyter server", file=sys.stderr)
        print(url)
        return 0
    from jssh.cli import main as cli_main

    return cli_main(sys.argv[1:])
