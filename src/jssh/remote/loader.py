"""The one place the remote scripts are read and filled in.

The scripts are the `*.sh` files beside this module: a script (ensure.sh, stop.sh, ...)
is what jssh runs; a piece (helpers.sh, host.sh, lock.sh, find.sh, ...) is shared code
that the loader puts before the scripts that name it. Each file starts with a header
of `#` lines, ended by a blank line:

    # NAME.sh: what it does.
    # Pieces: helpers host lock      a script: the pieces that run before it, in order
    # After: helpers host            a piece: what must run before it (checked)
    # Parameters:                    the variables it reads that come from Python
    #   NAME          what it is     (an entry: exactly three spaces after the #;
    #                 more words...   deeper lines continue it)
    # Provides:                      a piece: the variables and functions it leaves
    # Replies:                       the `KEY value` lines it prints (ReplyKey)
    #   and BUSY (lock.sh)           (an `and` line names what its pieces print)
    # Exit codes:                    how it exits (ExitCode)
    # shellcheck disable=...         for shellcheck on the file alone

The loader reads the Pieces, After and Parameters; tests/unit/test_remote_scripts.py
holds the rest to the code.

build(name, values) is then: every parameter of the script and its pieces assigned at
the top, one `NAME=value` line each, the value quoted with shlex.quote; then the
pieces' bodies and the script's own, without their headers. Nothing is ever put inside
a body: a value reaches the shell only through those assignments. Scripts travel on
stdin (`sh -s`), so the pieces are concatenated rather than sourced.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

_ENTRY = re.compile(r"#   (\S+)")  # an entry of a header section: exactly 3 spaces in
_NAME = re.compile(r"[A-Z][A-Z0-9_]*\Z")
SECTIONS = ("Parameters", "Provides", "Replies", "Exit codes")
Value = str | int


@dataclass(frozen=True)
class Header:
    """What a script's header declares."""

    pieces: tuple[str, ...]  # a script's pieces, in order
    after: tuple[str, ...]  # a piece's prerequisites
    params: tuple[str, ...]  # the parameters it reads, as declared
    sections: Mapping[str, tuple[str, ...]]  # every section's entries (first words)


@cache
def source(name: str) -> str:
    """The text of `name`.sh, as shipped in the package."""
    from importlib import resources  # here: ~8 ms that only a script build needs

    return resources.files(__package__).joinpath(f"{name}.sh").read_text(encoding="utf-8")


@cache
def _split(name: str) -> tuple[tuple[str, ...], str]:
    lines = source(name).splitlines(keepends=True)
    count = 0
    while count < len(lines) and lines[count].startswith("#"):
        count += 1
    if count == 0 or count == len(lines) or lines[count] != "\n":
        raise ValueError(f"{name}.sh: the header must be followed by a blank line")
    return tuple(line.rstrip("\n") for line in lines[:count]), "".join(lines[count:])


def body(name: str) -> str:
    """`name`.sh without its header (it starts with the blank line that ends it)."""
    return _split(name)[1]


@cache
def header(name: str) -> Header:
    """The declarations at the top of `name`.sh."""
    sections: dict[str, list[str]] = {}
    lists: dict[str, tuple[str, ...]] = {"Pieces": (), "After": ()}
    current: list[str] | None = None
    for line in _split(name)[0]:
        text = line[1:].strip()
        keyword, colon, rest = text.partition(":")
        if keyword in lists and colon:
            lists[keyword] = tuple(rest.split())
            current = None
        elif colon and not rest and keyword in SECTIONS:
            current = sections.setdefault(keyword, [])
        elif current is not None and (entry := _ENTRY.match(line)):
            if entry.group(1) != "and":  # what the pieces add: theirs to declare
                current.append(entry.group(1))
        elif current is not None and not line.startswith("#    "):
            current = None  # a line that is neither an entry nor a continuation
    params = tuple(sections.get("Parameters", ()))
    for param in params:
        if not _NAME.match(param):
            raise ValueError(f"{name}.sh: parameter {param!r} is not a NAME")
    return Header(
        pieces=lists["Pieces"],
        after=lists["After"],
        params=params,
        sections={key: tuple(value) for key, value in sections.items()},
    )


@cache
def parameters(name: str) -> tuple[str, ...]:
    """Every parameter script `name` needs: its pieces' and its own, in that order."""
    found: dict[str, None] = {}
    for part in (*header(name).pieces, name):
        found.update(dict.fromkeys(header(part).params))
    return tuple(found)


def assign(values: Mapping[str, Value], order: tuple[str, ...] | None = None) -> str:
    """`NAME='value'` lines, one per parameter, in `order` (default: as given)."""
    keys = order if order is not None else tuple(values)
    return "".join(f"{key}={shlex.quote(str(values[key]))}\n" for key in keys)


def build(name: str, values: Mapping[str, Value]) -> str:
    """Script `name`, whole: its parameters assigned, then its pieces, then itself.

    `values` must give exactly the parameters the headers declare: a missing one
    would stop the script (`set -u`), an extra one would be read by nothing.
    """
    need = parameters(name)
    if set(values) != set(need):
        missing = sorted(set(need) - set(values))
        extra = sorted(set(values) - set(need))
        raise ValueError(f"{name}.sh: parameters missing {missing}, not declared {extra}")
    check_order(name)
    parts = (*header(name).pieces, name)
    return assign(values, need) + "".join(body(part) for part in parts)


@cache
def check_order(name: str) -> None:
    """Every piece of `name` comes after the pieces it needs (its `After:` line)."""
    seen: set[str] = set()
    for part in (*header(name).pieces, name):
        missing = [need for need in header(part).after if need not in seen]
        if missing:
            raise ValueError(f"{name}.sh: {part}.sh needs {missing} before it")
        seen.add(part)
