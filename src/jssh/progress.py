"""One live line on stderr saying what a slow command is doing; nothing elsewhere.

On a terminal, `up` shows its current step (connecting to ws… / starting Jupyter… /
waiting for it to answer… / Slurm job 12 pending: Resources, 0:42) on one line that
disappears when the step is done. When stderr is not a terminal (a pipe, a log, a
script's `$(jssh up)`), nothing extra is written. rich draws the line (it comes with
typer) and honours NO_COLOR; domain code only names the step.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rich.status import Status


class Progress(Protocol):
    def step(self, text: str) -> None:
        """Show TEXT as the current step (replacing the previous one)."""
        ...

    def clear(self) -> None:
        """Take the line away, e.g. before ssh prompts on this terminal."""
        ...


class Silent:
    """No live line: stderr is not a terminal."""

    def step(self, text: str) -> None:
        pass

    def clear(self) -> None:
        pass


class LiveLine:
    """A transient spinner line on the terminal's stderr."""

    def __init__(self) -> None:
        from rich.console import Console

        self._console = Console(stderr=True)
        self._status: Status | None = None

    def step(self, text: str) -> None:
        if self._status is None:
            from rich.status import Status

            self._status = Status(text, console=self._console, spinner="dots")
            self._status.start()
        else:
            self._status.update(text)

    def clear(self) -> None:
        if self._status is not None:
            self._status.stop()
        self._status = None


def for_stderr() -> Progress:
    """A live line when stderr is a terminal that can redraw a line, else nothing."""
    if sys.stderr.isatty() and os.environ.get("TERM", "") != "dumb":
        return LiveLine()
    return Silent()
