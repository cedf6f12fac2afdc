"""Shell completion scripts, as `jssh completion SHELL` prints them.

They come from typer itself (its `_JSSH_COMPLETE=source_SHELL` protocol, driven in
process). They hold no list of commands or hosts: at each Tab they run `jssh` again
with `_JSSH_COMPLETE=complete_SHELL`, so they stay right as commands, options and
managed hosts change. scripts/gen-completions writes the same text into
completions/ for distro-style installs.

One change is made to typer's zsh script: it ends with `compdef _jssh_completion jssh`,
which is right for `eval`/`source` but not for a `_jssh` file autoloaded from fpath
(site-functions): zsh runs that file's body as the completion function itself, so the
first Tab would only register the function and complete nothing. Click's own zsh
script solves this by looking at `$zsh_eval_context`; the same lines are used here.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterator

import typer

SHELLS = ("bash", "zsh", "fish")
_ZSH_REGISTER = "compdef _jssh_completion jssh"
_ZSH_AUTOLOAD_AWARE = """\
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  # Autoloaded from fpath (site-functions) on the first Tab: complete right away.
  _jssh_completion "$@"
else
  # Sourced (`eval "$(jssh completion zsh)"`): register for later Tabs.
  compdef _jssh_completion jssh
fi"""


class ScriptShapeChanged(RuntimeError):
    """typer's zsh template no longer has the one line this module rewrites."""


def completion_script(app: typer.Typer, shell: str) -> str:
    """The completion script for SHELL (bash, zsh or fish)."""
    header = f"# jssh's {shell} completion (`jssh completion {shell}`); do not edit.\n"
    text = _typer_source(app, shell).strip("\n") + "\n"
    if shell == "fish":
        return header + _one_call_per_tab(text)
    if shell != "zsh":
        return header + text
    if text.count(_ZSH_REGISTER) != 1:
        raise ScriptShapeChanged("typer's zsh script changed shape; review _ZSH_AUTOLOAD_AWARE")
    text = text.replace(_ZSH_REGISTER, _ZSH_AUTOLOAD_AWARE)
    # `#compdef jssh` must stay the very first line for compinit to find the file.
    first, rest = text.split("\n", 1)
    return first + "\n" + header + rest


def _one_call_per_tab(text: str) -> str:
    """typer's fish line runs jssh twice per Tab: once in --condition (is there anything
    to offer?) and once for the offers. With --no-files the condition changes nothing
    (no file fallback either way), so it goes: one jssh run per Tab."""
    condition = re.compile(r' --condition "[^"]*"')
    if len(condition.findall(text)) != 1:
        raise ScriptShapeChanged("typer's fish script changed shape; review _one_call_per_tab")
    return condition.sub("", text)


def enable_shell_completion() -> None:
    """Register typer's bash/zsh/fish support with its click. Typer does this itself only
    with `add_completion=True`, which also adds `--install-completion`: an installer
    that edits rc files and breaks zsh's first Tab, so jssh goes without it."""
    from typer.completion import get_completion_inspect_parameters

    # Its first step is typer's completion_init(), which typer.completion does not
    # export by name; the parameters it returns (the installer's) are not used.
    get_completion_inspect_parameters()


def _typer_source(app: typer.Typer, shell: str) -> str:
    enable_shell_completion()
    out = io.StringIO()
    # click prints the script and exits: SystemExit is its normal end here.
    with (
        _env("_JSSH_COMPLETE", f"source_{shell}"),
        contextlib.redirect_stdout(out),
        contextlib.suppress(SystemExit),
    ):
        typer.main.get_command(app).main(args=[], prog_name="jssh", standalone_mode=True)
    return out.getvalue()


@contextlib.contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    saved = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if saved is None:
            del os.environ[name]
        else:
            os.environ[name] = saved
