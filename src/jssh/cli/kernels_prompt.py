"""`down`, `remove` and `up --new-token` ask before they stop a server whose kernels
were active lately (issue 13, item 5): --force, or a yes at a prompt on a terminal."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from jssh.cli.app import say
from jssh.errors import ExitCode, KernelsInUse

if TYPE_CHECKING:
    from jssh.session.lifecycle import Session

ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Stop the server even when its kernels were active within the last hour"
        " (without it: a prompt on a terminal, else exit 10).",
    ),
]


def down_or_ask(session: Session, *, keep_server: bool, force: bool) -> list[str]:
    """`down`, which leaves a server whose kernels were active lately alone unless FORCE
    or a yes at a prompt on a terminal; elsewhere its one line and exit 10."""
    try:
        return session.down(keep_server=keep_server, force=force)
    except KernelsInUse as exc:
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            raise
        say(exc.message)
        if not typer.confirm("Stop it and its kernels anyway?", default=False, err=True):
            raise typer.Exit(int(ExitCode.IN_USE)) from None
        return session.down(keep_server=keep_server, force=True)
