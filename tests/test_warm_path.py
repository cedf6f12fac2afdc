"""The warm `up` is answered before typer loads, by the same check as the full path.

`python -X importtime` lists every module a run imported: the fast path must never
import pydantic (typer's per-command cost), and the full path, given an option the
fast path declines, must reach the same answer through typer.
"""

from __future__ import annotations

import pytest

from lab import Laptop
from lab.client import up
from lab.util import python_imports


@pytest.fixture
def served(laptop: Laptop) -> tuple[Laptop, str]:
    assert laptop.jssh("add", "workstation").ok
    return laptop, up(laptop)


def _imports(laptop: Laptop, *args: str) -> tuple[str, set[str]]:
    run, modules = python_imports(["-m", "jssh", *args], laptop.env)
    assert run.ok, run
    return run.stdout.strip().splitlines()[-1], modules


def test_a_warm_up_is_answered_without_loading_typers_command_machinery(
    served: tuple[Laptop, str],
) -> None:
    laptop, url = served
    answer, modules = _imports(laptop, "up", "workstation", "--no-open")
    assert answer == url
    assert not any(m.split(".")[0] in {"pydantic", "typer"} for m in modules)
    assert "jssh.session.warm" in modules


def test_the_full_path_gives_the_same_answer_through_typer(served: tuple[Laptop, str]) -> None:
    laptop, url = served
    answer, modules = _imports(laptop, "up", "workstation", "--no-open", "--timeout", "30")
    assert answer == url
    assert "jssh.session.warm" in modules
    assert "jssh.cli.sessions" in modules
