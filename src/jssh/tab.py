"""A Tab answered before typer loads, for the common cases: a command name, and the
managed NAME that most commands take.

Every Tab runs jssh afresh, and typer alone costs ~0.15 s of imports (pydantic): a
Tab should feel instant. This module imports nothing beyond `os` (json only when it
reads the names), speaks the three shells' completion protocols the way typer's
scripts call them, and answers exactly as typer would (tests/unit/test_tab.py holds
both side by side). Anything it does not fully understand (options, `add`'s ssh
aliases, quoted words) returns None, and the full CLI answers instead.
"""

from __future__ import annotations

import os

# (command, short help) in `jssh --help` order, as typer shows them at a Tab. A unit
# test compares this with typer's own answer, so a changed docstring fails there.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("add", "Write a managed `Host NAME-jupyter` block..."),
    ("remove", "Stop NAME's tunnel and server, and remove..."),
    ("list", "One line per managed host."),
    ("show", "What jssh knows about NAME, and its ssh..."),
    ("up", "Start (or find) Jupyter on NAME and print..."),
    ("down", "Stop NAME's Jupyter server (kernels shut..."),
    ("status", "Tunnel, local port, remote server and URL..."),
    ("url", "Print NAME's URL (with its token), without..."),
    ("open", "Open JupyterLab on NAME at PATH in your..."),
    ("logs", "Show the remote Jupyter server's log."),
    ("forward", "Forward another remote port through NAME's..."),
    ("doctor", "Check what commonly goes wrong; say how to..."),
    ("watch", "Keep every host you brought `up`..."),
    ("completion", "Print the shell completion script for..."),
    ("man", "Show jssh's manual page, wherever jssh was..."),
    ("help", "Show the help of jssh, or of COMMAND (the..."),
    ("service", "Run `jssh watch` as a user service..."),
)
# Commands whose first argument is a managed NAME.
TAKES_NAME = frozenset(
    {"up", "down", "status", "url", "open", "logs", "forward", "show", "remove", "doctor"}
)
_GLOBAL_WITH_VALUE = ("--ssh-config", "--state-dir")
_GLOBAL_FLAGS = ("-v", "--verbose")


def answer(environ: dict[str, str] | os._Environ[str]) -> str | None:
    """What to print for this Tab, or None when the full CLI must answer."""
    shell = environ.get("_JSSH_COMPLETE", "")
    words = _words(shell, environ)
    if words is None:
        return None
    args, incomplete = words
    offers = _offers(args, incomplete, environ)
    if offers is None:
        return None
    return _format(shell, offers)


def _words(shell: str, environ: dict[str, str] | os._Environ[str]) -> tuple[list[str], str] | None:
    """(words before the one being completed, that word) as typer's scripts send them."""
    if shell == "complete_bash":
        line = environ.get("COMP_WORDS", "")
        try:
            cword = int(environ.get("COMP_CWORD", ""))
        except ValueError:
            return None
        if _quoted(line):
            return None
        words = line.split()
        return words[1:cword], words[cword] if cword < len(words) else ""
    if shell in ("complete_zsh", "complete_fish"):
        if shell == "complete_fish" and environ.get("_TYPER_COMPLETE_FISH_ACTION") != "get-args":
            return None
        line = environ.get("_TYPER_COMPLETE_ARGS", "")
        if _quoted(line):
            return None
        words = line.split()[1:]
        if words and not line.endswith(" "):
            return words[:-1], words[-1]
        return words, ""
    return None


def _quoted(line: str) -> bool:
    return any(ch in line for ch in "'\"\\$`")


def _offers(
    args: list[str], incomplete: str, environ: dict[str, str] | os._Environ[str]
) -> list[tuple[str, str]] | None:
    if incomplete.startswith("-"):
        return None  # options: typer knows them
    ssh_config = environ.get("JSSH_SSH_CONFIG") or None
    rest = list(args)
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        name, _, inline = option.partition("=")
        if name in _GLOBAL_WITH_VALUE:
            value = inline or (rest.pop(0) if rest else "")
            if name == "--ssh-config":
                ssh_config = value
        elif option not in _GLOBAL_FLAGS:
            return None
    if not rest:
        return [(c, h) for c, h in COMMANDS if c.startswith(incomplete)]
    command, after = rest[0], rest[1:]
    if command in TAKES_NAME and not after:
        return [(n, "") for n in managed_names(ssh_config, incomplete)]
    return None


def managed_names(ssh_config: str | None, incomplete: str) -> list[str]:
    """The keys of hosts.json beside the ssh config, that start with INCOMPLETE."""
    import json  # only here: it costs most of what a command-name Tab would

    if ssh_config:
        directory = os.path.dirname(os.path.abspath(os.path.expanduser(ssh_config)))
    else:
        import pwd

        directory = os.path.join(pwd.getpwuid(os.getuid()).pw_dir, ".ssh")
    try:
        with open(os.path.join(directory, "jssh", "hosts.json"), encoding="utf-8") as file:
            data = json.load(file)
        names = data["hosts"] if isinstance(data, dict) else {}
    except (OSError, ValueError, KeyError, TypeError):
        return []
    if not isinstance(names, dict):
        return []
    return sorted(n for n in names if isinstance(n, str) and n.startswith(incomplete))


def _format(shell: str, offers: list[tuple[str, str]]) -> str:
    """The shell's reply format, as typer's completion classes write it."""
    # typer joins the items with newlines and click's echo adds one: "\n" for none.
    if shell == "complete_bash":
        return "\n".join(value for value, _ in offers) + "\n"
    if shell == "complete_fish":
        return "\n".join(f"{value}\t{help}" if help else value for value, help in offers) + "\n"
    if not offers:
        return "_files\n"
    items = "\n".join(
        f'"{_zsh(value)}":"{_zsh(help)}"' if help else f'"{_zsh(value)}"' for value, help in offers
    )
    return f"_arguments '*: :(({items}))'\n"


def _zsh(text: str) -> str:
    return (
        text.replace('"', '""')
        .replace("'", "''")
        .replace("$", "\\$")
        .replace("`", "\\`")
        .replace(":", r"\\:")
    )
