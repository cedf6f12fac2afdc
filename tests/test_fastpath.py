"""The warm `up` fast path only takes command lines it fully understands."""

from __future__ import annotations

import pytest

from jssh.fastpath import warm_up


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["up"],
        ["status", "ws"],
        ["up", "ws", "--open"],
        ["up", "ws", "--timeout", "5"],
        ["-v", "up", "ws", "--no-open"],
        ["--ssh-config"],
        ["--bogus", "x", "up", "ws", "--no-open"],
    ],
)
def test_anything_but_plain_up_goes_to_the_full_cli(argv: list[str]) -> None:
    assert warm_up(argv) is None


def test_an_unknown_host_goes_to_the_full_cli(tmp_path: object) -> None:
    assert warm_up(["--ssh-config", f"{tmp_path}/config", "--state-dir", f"{tmp_path}/s",
                    "up", "nope", "--no-open"]) is None  # fmt: skip
