"""Shell completions: the committed scripts are what the app generates, and the real bash
completion function offers commands, options, managed hosts and the user's ssh aliases.

The scripts call back into jssh at every Tab, so what they offer is checked by driving
them, not by reading them.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lab import Laptop

# Nothing here starts anything on the workstation.
pytestmark = pytest.mark.shared_workstation

ROOT = Path(__file__).resolve().parents[1]
COMPLETIONS = ROOT / "completions"


def test_the_committed_completion_scripts_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen-completions"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_there_is_a_script_for_bash_zsh_and_fish() -> None:
    assert (COMPLETIONS / "jssh.bash").read_text().count("complete -o default -F") == 1
    # compinit finds a completion file in fpath by this first line alone.
    assert (COMPLETIONS / "_jssh").read_text().startswith("#compdef jssh\n")
    assert "complete --command jssh" in (COMPLETIONS / "jssh.fish").read_text()


# -- the real bash completion function --------------------------------------------------


@pytest.fixture
def two_hosts(laptop: Laptop) -> Laptop:
    for host in ("workstation", "unrelated.example.org"):
        result = laptop.jssh_in_process("add", host)
        assert result.ok, result
    return laptop


@pytest.fixture
def shell_env(laptop: Laptop, tmp_path: Path) -> dict[str, str]:
    """The laptop's env with a `jssh` on PATH that runs this working tree."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "jssh"
    wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m jssh "$@"\n')
    wrapper.chmod(0o755)
    return {**laptop.env, "PATH": f"{bin_dir}{os.pathsep}{laptop.env['PATH']}"}


def bash_complete(env: dict[str, str], line: str) -> list[str]:
    """What bash offers for `line` + Tab, through the function the script registers."""
    words = line.split()
    if line.endswith(" "):
        words.append("")
    script = f"""
        source {shlex.quote(str(COMPLETIONS / "jssh.bash"))}
        function=$(complete -p jssh | sed -E 's/.* -F ([^ ]+) .*/\\1/')
        COMP_WORDS=({" ".join(shlex.quote(w) for w in words)})
        COMP_CWORD={len(words) - 1}
        COMP_LINE={shlex.quote(line)}
        COMP_POINT=${{#COMP_LINE}}
        "$function" jssh "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
        printf '%s\\n' "${{COMPREPLY[@]}}"
    """
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return [word for word in result.stdout.splitlines() if word]


def help_commands(env: dict[str, str], *args: str) -> set[str]:
    result = subprocess.run(
        ["jssh", *args, "--help"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    section = result.stdout.split("Commands:", 1)[1]
    return set(re.findall(r"^  (\w[\w-]*) ", section, re.MULTILINE))


def test_bash_offers_every_subcommand(two_hosts: Laptop, shell_env: dict[str, str]) -> None:
    offered = bash_complete(shell_env, "jssh ")
    assert set(offered) == help_commands(shell_env)
    assert {"add", "up", "down", "status", "doctor"} <= set(offered)
    assert bash_complete(shell_env, "jssh st") == ["status"]


def test_bash_offers_options(two_hosts: Laptop, shell_env: dict[str, str]) -> None:
    assert {"--ssh-config", "--state-dir", "--verbose", "--version", "--help"} <= set(
        bash_complete(shell_env, "jssh --")
    )
    assert {"--open", "--no-open", "--timeout", "--no-tmux", "--help"} <= set(
        bash_complete(shell_env, "jssh up --")
    )
    assert {"--venv", "--conda", "--command", "--remote-port", "--slurm"} <= set(
        bash_complete(shell_env, "jssh add --")
    )
    assert bash_complete(shell_env, "jssh doctor --j") == ["--json"]


def test_bash_offers_managed_host_names_where_a_command_takes_one(
    two_hosts: Laptop, shell_env: dict[str, str]
) -> None:
    names = ["unrelated.example.org", "workstation"]
    for command in ("up", "down", "status", "url", "logs", "show", "remove", "doctor"):
        assert sorted(bash_complete(shell_env, f"jssh {command} ")) == names, command
    assert bash_complete(shell_env, "jssh up w") == ["workstation"]
    assert bash_complete(shell_env, "jssh up --no-open w") == ["workstation"]


def test_bash_offers_the_users_own_ssh_aliases_for_add(
    two_hosts: Laptop, shell_env: dict[str, str]
) -> None:
    offered = bash_complete(shell_env, "jssh add ")
    # The user's config says `Host workstation`, `Host unrelated.example.org`, `Host *`:
    # the pattern is not a host, and jssh's own -jupyter aliases are not the user's.
    assert sorted(offered) == ["unrelated.example.org", "workstation"]
    assert bash_complete(shell_env, "jssh add un") == ["unrelated.example.org"]


def test_host_names_come_from_the_config_given_on_the_command_line(
    two_hosts: Laptop, shell_env: dict[str, str], tmp_path: Path
) -> None:
    other = tmp_path / "other" / "config"
    other.parent.mkdir()
    other.write_text("Host elsewhere\n    HostName 192.0.2.7\n")
    offered = bash_complete(shell_env, f"jssh --ssh-config {other} add ")
    assert offered == ["elsewhere"]
    assert bash_complete(shell_env, f"jssh --ssh-config {other} up ") == []


def test_a_tab_imports_nothing_heavy(two_hosts: Laptop) -> None:
    """Each Tab runs jssh: the host-name callback must not pull in ssh, pexpect,
    psutil or watchfiles (GUIDE §4), nor jssh's store (~15 ms for a list of names)."""
    probe = (
        "import os, sys\n"
        "from jssh.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('MODULES', *sorted(sys.modules), file=sys.stderr)\n"
    )
    env = {
        **two_hosts.env,
        "_JSSH_COMPLETE": "complete_bash",
        "COMP_WORDS": "jssh up ",
        "COMP_CWORD": "2",
    }
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    assert sorted(result.stdout.split()) == ["unrelated.example.org", "workstation"], result
    modules = set(result.stderr.split("MODULES", 1)[1].split())
    heavy = {
        "pexpect",
        "psutil",
        "watchfiles",
        "sshconf",
        "platformdirs",
        "jssh.ssh",
        "jssh.session.workstation",
        "jssh.config.store",
    }
    assert heavy.isdisjoint(modules), heavy & modules


# -- zsh and fish, where installed ---------------------------------------------------------


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_offers_managed_host_names(two_hosts: Laptop, shell_env: dict[str, str]) -> None:
    script = f"source {shlex.quote(str(COMPLETIONS / 'jssh.fish'))}; complete -C 'jssh up '"
    result = subprocess.run(
        ["fish", "--no-config", "-c", script],
        env=shell_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split()) == ["unrelated.example.org", "workstation"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completes_on_the_first_tab_from_site_functions(
    two_hosts: Laptop, shell_env: dict[str, str]
) -> None:
    import pexpect

    env = {**shell_env, "TERM": "dumb", "PS1": "ready> "}
    child = pexpect.spawn(
        "zsh", ["-f", "-i"], env=env, encoding="utf-8", timeout=30, dimensions=(40, 200)
    )
    try:
        child.sendline(
            f"fpath=({shlex.quote(str(COMPLETIONS))} $fpath); autoload -Uz compinit;"
            " compinit -u -D; PS1=$'\\nready> '"
        )
        child.expect("\nready> ")
        child.send("jssh up \t")  # the first Tab autoloads _jssh and must complete already
        child.expect("unrelated.example.org")
        child.expect("workstation")
    finally:
        child.close(force=True)
