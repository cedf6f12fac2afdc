"""The command line itself: version, help, global options, and how failures look."""

from __future__ import annotations

import shlex
import subprocess

import pytest

from jssh import __version__
from lab import Laptop

# Real processes, as a user runs jssh; none of them starts anything remote.
pytestmark = pytest.mark.shared_workstation


def test_version(laptop: Laptop) -> None:
    result = laptop.jssh("--version")
    assert result.ok
    assert result.stdout.strip() == f"jssh {__version__}"


def test_help_lists_the_everyday_commands(laptop: Laptop) -> None:
    result = laptop.jssh("--help")
    assert result.ok
    for command in ("add", "remove", "list", "show", "up", "down", "status", "url", "logs"):
        assert f"  {command} " in result.stdout, command
    assert "--ssh-config" in result.stdout
    assert "--state-dir" in result.stdout


def test_verbose_prints_every_ssh_command_ready_to_paste(laptop: Laptop) -> None:
    result = laptop.jssh("-v", "add", "workstation")
    assert result.ok, result
    shown = [line[2:] for line in result.stderr.splitlines() if line.startswith("+ ssh ")]
    assert shown, result.stderr
    first = shlex.split(shown[0])
    assert first[:3] == ["ssh", "-F", str(laptop.ssh_config)]
    # Pasted into a shell, the line runs exactly that ssh.
    pasted = subprocess.run(
        ["sh", "-c", shown[0]], capture_output=True, text=True, env=laptop.env, timeout=30
    )
    assert pasted.returncode == 0
    assert "hostname 127.0.0.1" in pasted.stdout


def test_ssh_config_from_the_environment_is_passed_to_every_ssh(laptop: Laptop) -> None:
    # laptop.env carries JSSH_SSH_CONFIG; no --ssh-config on the command line.
    result = laptop.jssh("-v", "add", "workstation")
    assert result.ok
    lines = [line for line in result.stderr.splitlines() if line.startswith("+ ssh ")]
    user_config_runs = [line for line in lines if "/dev/null" not in line and "probe" not in line]
    assert user_config_runs
    assert all(f"-F {laptop.ssh_config}" in line for line in user_config_runs)


def test_an_expected_failure_is_one_line_and_no_traceback(laptop: Laptop) -> None:
    result = laptop.jssh("up", "never-added")
    assert result.returncode == 8
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("jssh: error: no managed host named 'never-added'")


def test_usage_errors_exit_2(laptop: Laptop) -> None:
    result = laptop.jssh("add", "--local-port", "notanumber", "workstation")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
