"""What a person at a terminal sees while `jssh up` works, and what a script sees."""

from __future__ import annotations

import pexpect
import pytest

from lab import Laptop


@pytest.fixture
def added(laptop: Laptop) -> Laptop:
    assert laptop.jssh("add", "workstation").ok
    return laptop


def test_on_a_terminal_a_live_line_names_the_current_step(added: Laptop) -> None:
    child = added.jssh_pty("up", "workstation", "--no-open", timeout=120)
    child.expect("finding or starting Jupyter on workstation")
    child.expect("waiting for Jupyter to answer")
    child.expect(r"http://127\.0\.0\.1:\d+/lab\?token=\S+")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_on_a_pipe_nothing_but_results_and_one_line_summaries(added: Laptop) -> None:
    result = added.jssh("up", "workstation", "--no-open")
    assert result.ok, result
    assert "finding or starting" not in result.stderr
    assert "\x1b[" not in result.stderr  # no escape codes in a log
    assert result.stdout.strip().splitlines()[-1].startswith("http://127.0.0.1:")
