"""jssh's command line: parse, call one function, render. No logic lives here.

Every expected failure is a `JsshError`; `main()` catches it once and prints one line.
The commands live in hosts, sessions, forwards and admin (registered on `app` in that
order, which is the order of `jssh --help`).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Sequence

import typer

from jssh.cli import argv as argv_rules
from jssh.cli.app import app
from jssh.errors import ExitCode, JsshError

# Importing these registers their commands on `app`, in this order: `jssh --help`'s.
from jssh.cli import hosts, sessions, forwards, admin  # isort: skip

__all__ = ["admin", "app", "forwards", "hosts", "main", "sessions"]

# typer builds the click command from every command's signature, evaluating each type
# hint (~20 ms, more than a warm `up`'s own work). Once per process is enough: a user's
# jssh calls main() once, and the lab's in-process runs call it hundreds of times.
_click_command = functools.cache(typer.main.get_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run jssh with ARGV (default: the process's own) and return its exit code.

    Every expected failure is a JsshError, caught here once and printed as one line
    (plus a hint and indented evidence). Nothing below calls sys.exit: `__main__` and
    the console script do, so tests can run the CLI in process. The fast answers (a
    Tab, a warm `up`) come before this, in jssh.entry.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if os.environ.get("_JSSH_COMPLETE"):  # a Tab: the shell's script calls back
        from jssh.cli.scripts import enable_shell_completion

        enable_shell_completion()
    command = _click_command(app)
    try:
        args = argv_rules.rewrite(args, sorted(getattr(command, "commands", {})))
        # Standalone: click prints its own usage errors and turns every ending (Ctrl-C
        # included: typer makes it 130) into SystemExit, which carries the code.
        command.main(args=args, prog_name="jssh", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except JsshError as exc:
        _report(exc)
        return int(exc.exit_code)
    else:
        code = 0
    if code == ExitCode.INTERRUPTED:
        print("jssh: interrupted", file=sys.stderr)
    return code


def _report(exc: JsshError) -> None:
    """One line: what happened, and how to fix it. Then any evidence, indented."""
    fix = f"; {exc.hint}" if exc.hint else ""
    print(f"jssh: error: {exc.message}{fix}", file=sys.stderr)
    if exc.details:
        for line in exc.details.rstrip().splitlines():
            print(f"    {line}", file=sys.stderr)
