"""The man page: lint-clean, readable with `man -l`, and complete against the app itself."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from jssh.cli import app
from jssh.errors import ExitCode

ROOT = Path(__file__).resolve().parents[1]
MAN = ROOT / "man" / "jssh.1"


def page() -> str:
    return MAN.read_text()


def headings() -> list[str]:
    """The .SS headings, as text: `jssh add HOST [options]`, ..."""
    found = []
    for line in page().splitlines():
        if line.startswith(".SS "):
            text = line[4:].strip().strip('"')
            found.append(re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-"))
    return found


def commands() -> dict[str, Any]:
    """Every command the app has, by its full name: `add`, ..., `service install`.

    The values are click Commands; typed loosely because typer >= 0.27 bundles its own
    click and older releases use the `click` package."""
    root = typer.main.get_command(app)
    found: dict[str, Any] = {}
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)  # a group: `service`
        if subcommands:
            for sub, subcommand in subcommands.items():
                found[f"{name} {sub}"] = subcommand
        else:
            found[name] = command
    return found


def help_commands(*args: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-m", "jssh", *args, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert result.returncode == 0, result.stderr
    section = result.stdout.split("Commands:", 1)[1]
    return set(re.findall(r"^  (\w[\w-]*) ", section, re.MULTILINE))


@pytest.mark.skipif(shutil.which("mandoc") is None, reason="mandoc is not installed")
def test_the_man_page_lints_clean() -> None:
    result = subprocess.run(
        ["mandoc", "-Tlint", "-W", "warning", str(MAN)], capture_output=True, text=True
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed")
def test_man_renders_it_without_complaint() -> None:
    result = subprocess.run(
        ["man", "-l", str(MAN)],
        capture_output=True,
        text=True,
        env={**os.environ, "MANPAGER": "cat", "MANWIDTH": "80", "LANG": "C.UTF-8"},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    text = re.sub(r".\x08", "", result.stdout)  # overstrike bold/underline, if any
    for section in ("SYNOPSIS", "COMMANDS", "FILES", "ENVIRONMENT", "EXIT STATUS", "EXAMPLES"):
        assert f"\n{section}\n" in text, section


def test_every_subcommand_in_help_has_its_own_heading() -> None:
    listed = help_commands()
    assert {"add", "up", "down", "doctor", "watch", "service"} <= listed
    for sub in help_commands("service"):
        listed.add(f"service {sub}")
    listed.discard("service")
    headed = {h for h in headings() if h.startswith("jssh ")}
    for command in listed:
        assert any(h == f"jssh {command}" or h.startswith(f"jssh {command} ") for h in headed), (
            command
        )


def test_every_option_of_every_command_is_described() -> None:
    text = page().replace("\\-", "-")
    root = typer.main.get_command(app)
    options = {f"(global) {opt}" for param in root.params for opt in param.opts}
    for name, command in commands().items():
        options |= {
            f"{name} {opt}"
            for param in command.params
            for opt in (*param.opts, *getattr(param, "secondary_opts", []))
            if opt.startswith("-")
        }
    missing = sorted(o for o in options if not re.search(rf"{re.escape(o.split()[-1])}\b", text))
    assert missing == []


def test_every_exit_code_is_listed() -> None:
    status = page().split(".SH EXIT STATUS", 1)[1].split(".SH ", 1)[0]
    for code in ExitCode:
        assert f".B {int(code)}\n" in status, code


def test_the_environment_variables_jssh_reads_are_listed() -> None:
    environment = page().split(".SH ENVIRONMENT", 1)[1].split(".SH ", 1)[0]
    for variable in ("JSSH_SSH_CONFIG", "JSSH_STATE_DIR", "JSSH_CONTROL_DIR", "XDG_STATE_HOME"):
        assert f".B {variable}\n" in environment, variable


def test_the_files_section_says_where_completions_and_the_page_are_installed() -> None:
    files = page().split(".SH FILES", 1)[1].split(".SH ", 1)[0].replace("\\-", "-")
    for path in (
        "share/bash-completion/completions/jssh.bash",
        "share/zsh/site-functions/_jssh",
        "share/fish/vendor_completions.d/jssh.fish",
        "share/man/man1/jssh.1",
    ):
        assert path in files, path


def test_jssh_man_shows_this_page_wherever_jssh_is_installed() -> None:
    """`uv tool install` and venvs keep the page where `man jssh` does not look."""
    result = subprocess.run(
        [sys.executable, "-m", "jssh", "man"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MANPAGER": "cat", "PAGER": "cat", "MANWIDTH": "80"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("JSSH(1)")
    assert "jssh man" in result.stdout
