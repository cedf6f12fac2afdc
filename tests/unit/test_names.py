"""What counts as a HOST and a NAME: checked before anything touches a file or a shell."""

from __future__ import annotations

import pytest

from jssh.errors import UsageError
from jssh.names import alias_for, default_name, parse_target, validate_name


@pytest.mark.parametrize(
    ("text", "host", "user", "port"),
    [
        ("ws", "ws", None, None),
        ("me@ws.example.org", "ws.example.org", "me", None),
        ("me@ws:2222", "ws", "me", 2222),
        ("[::1]:22", "::1", None, 22),
        ("me@[fe80::1]", "fe80::1", "me", None),
        ("10.0.0.5", "10.0.0.5", None, None),
    ],
)
def test_a_host_is_user_at_host_colon_port(
    text: str, host: str, user: str | None, port: int | None
) -> None:
    target = parse_target(text)
    assert (target.host, target.user, target.port) == (host, user, port)


def test_user_and_port_become_ssh_options() -> None:
    assert parse_target("me@ws:2222").ssh_args() == ["-l", "me", "-p", "2222"]
    assert parse_target("ws").ssh_args() == []
    assert parse_target("ws").is_plain_alias


@pytest.mark.parametrize(
    "text",
    ["", "-oProxyCommand=sh", "ws;rm -rf ~", "ws name", "ws\nHost *", "w*", "me@ws:0",
     "me@ws:70000", "[not:an:address]", "$(id)"],
)  # fmt: skip
def test_anything_that_is_not_plainly_a_host_is_refused(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_target(text)
    assert "\n" not in caught.value.message  # a newline can't forge a second line


@pytest.mark.parametrize("name", ["ws", "gpu-box.2", "A_1"])
def test_plain_names_are_kept(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", "-x", "ws-jupyter", "a b", "x" * 49, "ws/..", "é"])
def test_unusable_names_are_refused_with_the_rule(name: str) -> None:
    with pytest.raises(UsageError) as caught:
        validate_name(name)
    assert caught.value.hint
    assert "48" in caught.value.hint


def test_the_default_name_is_the_alias_or_the_first_dns_label() -> None:
    assert default_name(parse_target("ws"), {"ws"}) == "ws"
    assert default_name(parse_target("me@gpu1.lab.example.org"), set()) == "gpu1"
    assert default_name(parse_target("10.0.0.5"), set()) == "10-0-0-5"
    assert default_name(parse_target("[::1]"), set()) == "1"


def test_the_alias_is_the_name_with_the_jupyter_suffix() -> None:
    assert alias_for("ws") == "ws-jupyter"
