"""`jssh man` finds the page an install put under its prefix, or the checkout's."""

from __future__ import annotations

from pathlib import Path

import pytest

from jssh.commands.manual import NoManual, find_manual
from jssh.errors import ExitCode


def test_the_page_under_the_environments_prefix_comes_first(tmp_path: Path) -> None:
    installed = tmp_path / "venv" / "share" / "man" / "man1" / "jssh.1"
    installed.parent.mkdir(parents=True)
    installed.write_text(".TH JSSH 1\n")
    checkout = tmp_path / "checkout"
    (checkout / "man").mkdir(parents=True)
    (checkout / "man" / "jssh.1").write_text(".TH JSSH 1\n")
    package = checkout / "src" / "jssh"

    assert find_manual(tmp_path / "venv", package) == installed
    installed.unlink()
    assert find_manual(tmp_path / "venv", package) == checkout / "man" / "jssh.1"


def test_no_page_is_one_clear_not_found_error(tmp_path: Path) -> None:
    with pytest.raises(NoManual) as raised:
        find_manual(tmp_path / "venv", tmp_path / "site-packages" / "jssh")
    assert raised.value.exit_code == ExitCode.NOT_FOUND
    assert str(tmp_path / "venv" / "share" / "man" / "man1" / "jssh.1") in raised.value.message
    assert "jssh help" in (raised.value.hint or "")
