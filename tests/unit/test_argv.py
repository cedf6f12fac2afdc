"""The command line before typer sees it: bare jssh, help, and mistyped commands."""

from __future__ import annotations

import pytest

from jssh.cli.argv import command_index, rewrite
from jssh.errors import UsageError

COMMANDS = ["add", "down", "help", "list", "remove", "show", "status", "up", "url"]


def test_the_command_word_is_found_behind_global_options() -> None:
    assert command_index(["--ssh-config", "/x", "-v", "up", "ws"]) == 3
    assert command_index(["--state-dir=/s", "status"]) == 1
    assert command_index(["-v"]) is None
    assert command_index([]) is None


def test_bare_jssh_and_help_show_the_help() -> None:
    assert rewrite([], COMMANDS) == ["--help"]
    assert rewrite(["-v"], COMMANDS) == ["-v", "--help"]
    assert rewrite(["help"], COMMANDS) == ["--help"]
    assert rewrite(["--version"], COMMANDS) == ["--version"]


def test_help_command_is_command_help() -> None:
    assert rewrite(["help", "up"], COMMANDS) == ["up", "--help"]
    assert rewrite(["-v", "help", "service", "install"], COMMANDS) == [
        "-v", "service", "install", "--help",
    ]  # fmt: skip


def test_a_mistyped_command_gets_the_nearest_one() -> None:
    with pytest.raises(UsageError) as caught:
        rewrite(["stauts"], COMMANDS)
    assert caught.value.message == "no command 'stauts' (did you mean 'status'?)"


def test_an_unrelated_word_is_left_to_typer_to_refuse() -> None:
    assert rewrite(["xyzzy"], COMMANDS) == ["xyzzy"]
    assert rewrite(["up", "ws"], COMMANDS) == ["up", "ws"]
