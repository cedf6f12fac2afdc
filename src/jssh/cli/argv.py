"""What the command line asks for, read before typer parses it: the command word
behind the global options, `jssh help [COMMAND]`, and a mistyped command's nearest
match. Plain functions over a list of words."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from jssh.errors import UsageError

# Global options that take a value (the word after them is not the command).
_WITH_VALUE = {"--ssh-config", "--state-dir"}


def command_index(args: Sequence[str]) -> int | None:
    """Where the command word is in ARGS, skipping global options; None when absent."""
    i = 0
    while i < len(args):
        word = args[i]
        if not word.startswith("-") or word == "-":
            return i
        if word == "--":
            return i + 1 if i + 1 < len(args) else None
        if word in _WITH_VALUE:
            i += 1
        i += 1
    return None


def rewrite(args: Sequence[str], commands: Sequence[str]) -> list[str]:
    """ARGS as typer should see them.

    `jssh` alone and `jssh help` show the help on stdout (exit 0) instead of usage on
    stderr (exit 2); `jssh help COMMAND` is `jssh COMMAND --help`. A command word that
    is not a command, but close to one, is refused with the suggestion.
    """
    words = list(args)
    at = command_index(words)
    if at is None:
        return [*words, "--help"] if not {"--help", "-h", "--version"} & set(words) else words
    word = words[at]
    if word == "help":
        return [*words[:at], *words[at + 1 :], "--help"]
    if word not in commands:
        close = difflib.get_close_matches(word, commands, n=1, cutoff=0.75)
        if close:
            raise UsageError(
                f"no command {word!r} (did you mean {close[0]!r}?)",
                hint="`jssh help` lists the commands",
            )
    return words
