"""The user's own ssh config, read the way ssh reads it, for what jssh must know of it.

jssh never rewrites these files (it asks `ssh -G` for resolved settings); it reads them
for three things ssh -G can't tell: which plain Host aliases exist (the shadow check
and `jssh add <Tab>`), whether an Include of jssh's managed file is already there, and
where a setting that jssh can't undo comes from. So this follows Includes as ssh does:
globs, relative paths under ~/.ssh, Includes inside Host/Match blocks (their lines
apply only where that block does), at most 16 deep. Files are bytes: CRLF line ends
and comments that are not UTF-8 are fine, as they are for ssh.

Cheap to import (no jssh.ssh, no sshconf): `jssh add <Tab>` uses it.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

MAX_DEPTH = 16  # OpenSSH's READCONF_MAX_DEPTH
_LINE = re.compile(r"\s*(?P<keyword>[A-Za-z][A-Za-z0-9]*)(?:\s*=\s*|\s+|$)(?P<rest>.*)$")
FORWARDS = ("localforward", "remoteforward", "dynamicforward")


@dataclass(frozen=True)
class Gate:
    """A Host or Match line that the lines after it depend on."""

    kind: str  # "host" or "match"
    args: tuple[str, ...]
    where: str  # "FILE line N"

    def may_match(self, alias: str) -> bool:
        """Could this block apply to ALIAS? Exact for Host; a Match is assumed to
        (its criteria, `exec` say, can't be judged here) unless it names hosts."""
        if self.kind == "host":
            return host_patterns_match(self.args, alias)
        words = [word.lower() for word in self.args]
        for criterion in ("originalhost", "host"):
            if criterion in words[:-1]:
                patterns = self.args[words.index(criterion) + 1].split(",")
                return host_patterns_match(patterns, alias)
        return True


@dataclass(frozen=True)
class ConfigLine:
    """One meaningful line of the user's config (or of a file it Includes)."""

    path: Path
    number: int
    keyword: str  # lower case
    args: tuple[str, ...]
    gates: tuple[Gate, ...]  # the enclosing Host/Match lines, outermost first
    includes: tuple[Path, ...] = ()  # for an Include line: the files it pulled in

    @property
    def where(self) -> str:
        return f"{self.path} line {self.number}"

    def may_apply_to(self, alias: str) -> bool:
        return all(gate.may_match(alias) for gate in self.gates)


def split_args(text: str) -> list[str] | None:
    """Split a config line's arguments as OpenSSH's argv_split() does: double or single
    quotes, backslash escapes, and a `#` that starts a word ends the line. None when a
    quote is not closed (ssh refuses such a line)."""
    args: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] in " \t":
            i += 1
            continue
        if text[i] == "#":
            break
        word: list[str] = []
        quote = ""
        while i < n:
            ch = text[i]
            nxt = text[i + 1] if i + 1 < n else ""
            if ch == "\\" and nxt and (nxt in "'\"\\" or (nxt == " " and not quote)):
                word.append(nxt)
                i += 2
                continue
            if not quote and ch in " \t":
                break
            if not quote and ch in "\"'":
                quote = ch
            elif quote and ch == quote:
                quote = ""
            else:
                word.append(ch)
            i += 1
        if quote:
            return None
        args.append("".join(word))
    return args


def lines_of(data: bytes) -> list[tuple[int, str]]:
    """(number, text) of each line: `\\r` at the end dropped as ssh does, bytes that are
    not UTF-8 kept (as surrogates) rather than refused."""
    text = data.decode("utf-8", "surrogateescape")
    return [(n, line.rstrip("\r")) for n, line in enumerate(text.split("\n"), start=1)]


def parse_line(text: str) -> tuple[str, tuple[str, ...]] | None:
    """(keyword in lower case, arguments) of a line; None for blank and comment lines."""
    stripped = text.strip()
    if not stripped or stripped.startswith("#"):
        return None
    match = _LINE.match(text)
    if not match:
        return None
    args = split_args(match["rest"])
    return match["keyword"].lower(), tuple(args or ())


def read_config(
    path: Path,
    *,
    home: Path,
    skip: Collection[Path] = (),
    data: bytes | None = None,
) -> list[ConfigLine]:
    """Every meaningful line of PATH and of the files it Includes, in the order ssh
    reads them. Files in SKIP (jssh's own managed file) are not followed; files that
    can't be read are passed over. DATA, when given, is PATH's content."""
    reader = _Reader(home, {_real(p) for p in skip})
    reader.read(path, data, (), 0)
    return reader.found


@dataclass
class _Reader:
    home: Path
    skip: set[str]
    found: list[ConfigLine] = field(default_factory=list)

    def read(self, path: Path, data: bytes | None, outer: tuple[Gate, ...], depth: int) -> None:
        if data is None:
            try:
                data = path.read_bytes()
            except OSError:
                return
        gate: tuple[Gate, ...] = ()
        for number, text in lines_of(data):
            parsed = parse_line(text)
            if parsed is None:
                continue
            keyword, args = parsed
            if keyword in ("host", "match"):
                # A block ends where the next begins, or at the end of its file.
                gate = (Gate(keyword, args, f"{path} line {number}"),)
                self.found.append(ConfigLine(path, number, keyword, args, outer))
                continue
            gates = outer + gate
            included = tuple(resolve_include(args, self.home)) if keyword == "include" else ()
            self.found.append(ConfigLine(path, number, keyword, args, gates, included))
            if depth + 1 < MAX_DEPTH:
                for target in included:
                    if _real(target) not in self.skip:
                        self.read(target, None, gates, depth + 1)


def resolve_include(args: Iterable[str], home: Path) -> list[Path]:
    """The files an `Include ARGS` line of a user config reads: `~` is the passwd home,
    a relative path is under ~/.ssh, globs expand in sorted order, no match is none."""
    files: list[Path] = []
    for arg in args:
        pattern = include_pattern(arg, home)
        if glob.has_magic(pattern):
            files += [Path(p) for p in sorted(glob.glob(pattern))]
        elif os.path.exists(pattern):
            files.append(Path(pattern))
    return files


def include_pattern(arg: str, home: Path) -> str:
    """One argument of an Include line as the path (or glob) ssh reads."""
    if arg == "~" or arg.startswith("~/"):
        return str(home) + arg[1:]
    if arg.startswith("/"):
        return arg
    return str(home / ".ssh" / arg)


def include_names(args: Iterable[str], target: Path, home: Path) -> bool:
    """Does an `Include ARGS` line pull in TARGET (whether or not it exists yet)?"""
    wanted = {str(target), _real(target)}
    for arg in args:
        pattern = include_pattern(arg, home)
        if glob.has_magic(pattern):
            if any(fnmatchcase(path, pattern) for path in wanted):
                return True
        elif _real(Path(pattern)) in wanted:
            return True
    return False


def host_patterns_match(patterns: Iterable[str], host: str) -> bool:
    """ssh's Host matching: a `!pattern` that matches wins, else any pattern that does.
    Patterns use `*` and `?` and ignore case."""
    host = host.lower()
    matched = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if fnmatchcase(host, pattern[1:].lower() if negated else pattern.lower()):
            if negated:
                return False
            matched = True
    return matched


def host_aliases(lines: Iterable[ConfigLine]) -> dict[str, ConfigLine]:
    """The plain (pattern-free) names of `Host` lines that can take effect, each with the
    first line that names it. A Host line inside an Included file counts when the block
    that Includes it can apply to that name."""
    aliases: dict[str, ConfigLine] = {}
    for line in lines:
        if line.keyword != "host":
            continue
        for word in line.args:
            if word and not any(ch in word for ch in "*?!") and line.may_apply_to(word):
                aliases.setdefault(word, line)
    return aliases


def includes_of(lines: Iterable[ConfigLine], target: Path, home: Path) -> list[ConfigLine]:
    """The Include lines that pull in TARGET."""
    return [
        line
        for line in lines
        if line.keyword == "include" and include_names(line.args, target, home)
    ]


def settings_for(
    lines: Iterable[ConfigLine], alias: str, keywords: Collection[str]
) -> list[ConfigLine]:
    """The lines setting one of KEYWORDS that may apply to ALIAS."""
    return [line for line in lines if line.keyword in keywords and line.may_apply_to(alias)]


@dataclass(frozen=True)
class ConfigFiles:
    """Where the user's ssh config lives: every file ssh reads for it, and the places a
    change to it shows up. The watchdog watches `dirs` (not recursively) and refreshes
    the managed blocks when a change `concerns` the config."""

    files: frozenset[str]  # each file read, as named and as resolved (a symlinked dotfile)
    patterns: tuple[str, ...]  # every Include argument as a path or glob: files yet to come
    dirs: frozenset[Path]  # the existing directories holding either
    skipped: frozenset[str] = frozenset()  # jssh's own managed file: its writes are ours

    def concerns(self, path: str) -> bool:
        if path in self.skipped:
            return False
        return path in self.files or any(fnmatchcase(path, p) for p in self.patterns)


def config_files(path: Path, *, home: Path, skip: Collection[Path] = ()) -> ConfigFiles:
    """The files behind the user's config at PATH (SKIP: jssh's own managed file)."""
    skipped = {str(p) for p in skip} | {_real(p) for p in skip}
    files = {str(path), _real(path)}
    patterns: list[str] = []
    for line in read_config(path, home=home, skip=skip):
        files |= {str(line.path), _real(line.path)}
        if line.keyword == "include":
            patterns += [include_pattern(arg, home) for arg in line.args]
            files |= {name for p in line.includes for name in (str(p), _real(p))}
    files -= skipped
    places = [Path(name).parent for name in files]
    places += [Path(p).parent for p in patterns if not glob.has_magic(str(Path(p).parent))]
    dirs = frozenset(d for d in places if d.is_dir())
    return ConfigFiles(frozenset(files), tuple(dict.fromkeys(patterns)), dirs, frozenset(skipped))


def _real(path: Path) -> str:
    return os.path.realpath(path)
