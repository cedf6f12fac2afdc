"""A Tab and a warm `up` import only what they use.

Both are answered before typer loads (jssh.entry), in a fresh Python each time, so a
module imported for nothing is paid on every Tab and every warm `up`: typer and
pydantic ~100 ms, `typing` ~4 ms, `tempfile` ~4 ms, `subprocess` ~3 ms, against
~15 ms for Python's own start. Each case runs the fast path's code in a new
interpreter under `python -X importtime` and reads what it imported. How long it all
takes is measured in bench/, not here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lab.util import python_imports

# Paid by every warm `up` and Tab if any of them came in; none is needed there.
NOT_NEEDED = {"typer", "click", "pydantic", "rich", "typing", "tempfile", "subprocess"}

WARM_UP = "from jssh.fastpath import warm_up; print(warm_up(sys.argv[1:]))"
TAB = "from jssh.tab import answer; print(answer(os.environ) is not None)"


def _imported(code: str, *args: str, env: dict[str, str]) -> tuple[str, set[str]]:
    run, modules = python_imports(["-c", f"import os, sys; {code}", *args], env)
    assert run.ok, run
    return run.stdout.strip(), modules


def _unneeded(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in NOT_NEEDED}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A laptop with one managed host, `ws`, that is not up. No coverage in the child:
    its start-up would import half of these itself."""
    ssh = tmp_path / ".ssh"
    (ssh / "jssh").mkdir(parents=True)
    (ssh / "jssh" / "hosts.json").write_text(
        '{"version": 1, "hosts": {"ws": {"target": "ws", "local_port": 8899}}}'
    )
    (ssh / "config").write_text("Host lab1\n  HostName x\n")
    kept = {k: v for k, v in os.environ.items() if not k.startswith("COV")}
    return {
        **kept,
        "HOME": str(tmp_path),
        "JSSH_SSH_CONFIG": str(ssh / "config"),
        "JSSH_STATE_DIR": str(tmp_path / "state"),
    }


def test_a_warm_up_check_imports_nothing_it_does_not_use(env: dict[str, str]) -> None:
    # `ws` is not up, so the check reads everything it would read and answers None:
    # the full CLI would take over, as for any host that is not serving.
    answer, modules = _imported(WARM_UP, "up", "ws", "--no-open", env=env)
    assert answer == "None"
    assert "jssh.session.warm" in modules  # the whole check ran
    assert not _unneeded(modules)


def test_a_tab_imports_nothing_it_does_not_use(env: dict[str, str]) -> None:
    env = {**env, "_JSSH_COMPLETE": "complete_bash", "COMP_WORDS": "jssh up w", "COMP_CWORD": "2"}
    answer, modules = _imported(TAB, env=env)
    assert answer == "True"
    assert not _unneeded(modules)
