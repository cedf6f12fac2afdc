"""A Tab answered before typer loads gives exactly typer's answer, in every shell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jssh import tab
from jssh.cli import main


@pytest.fixture
def config(tmp_path: Path) -> Path:
    ssh = tmp_path / ".ssh"
    (ssh / "jssh").mkdir(parents=True)
    (ssh / "jssh" / "hosts.json").write_text(
        json.dumps({"version": 1, "hosts": {"ws": {}, "gpu": {}, "wsl": {}}})
    )
    (ssh / "config").write_text("Host lab1\n  HostName x\n")
    return ssh / "config"


def _env(shell: str, line: str, config: Path) -> dict[str, str]:
    env = {"_JSSH_COMPLETE": f"complete_{shell}", "JSSH_SSH_CONFIG": str(config)}
    if shell == "bash":
        words = line.split()
        env.update(COMP_WORDS=line, COMP_CWORD=str(len(words) - (0 if line.endswith(" ") else 1)))
    else:
        env.update(_TYPER_COMPLETE_ARGS=line, _TYPER_COMPLETE_FISH_ACTION="get-args")
    return env


def _typers_answer(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    assert main([]) == 0
    return capsys.readouterr().out


LINES = [
    "jssh ", "jssh s", "jssh st", "jssh -v u", "jssh up ", "jssh up w", "jssh status ",
    "jssh remove g", "jssh doctor ", "jssh up zz", "jssh --ssh-config=CONFIG down ",
]  # fmt: skip


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
@pytest.mark.parametrize("line", LINES)
def test_the_fast_answer_is_typers_answer(
    shell: str,
    line: str,
    config: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = line.replace("CONFIG", str(config))
    env = _env(shell, line, config)
    fast = tab.answer(env)
    assert fast is not None, "the fast path should answer this one"
    assert fast == _typers_answer(env, monkeypatch, capsys)


@pytest.mark.parametrize(
    "line", ["jssh up --", "jssh add ", "jssh up 'w", "jssh service ", "jssh up ws "]
)
def test_what_it_does_not_fully_understand_goes_to_typer(line: str, config: Path) -> None:
    assert tab.answer(_env("bash", line, config)) is None


def test_names_come_from_the_hosts_file_beside_the_ssh_config(config: Path) -> None:
    assert tab.managed_names(str(config), "w") == ["ws", "wsl"]
    assert tab.managed_names(str(config.parent / "elsewhere" / "config"), "") == []
    (config.parent / "jssh" / "hosts.json").write_text("not json")
    assert tab.managed_names(str(config), "") == []
