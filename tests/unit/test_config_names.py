"""HOST in the forms ssh takes: bare IPv6 addresses too, and a hint at the bracketed form."""

from __future__ import annotations

import pytest

from jssh.errors import UsageError
from jssh.names import default_name, parse_target


@pytest.mark.parametrize(
    ("text", "host", "user", "port"),
    [
        ("::1", "::1", None, None),
        ("me@::1", "::1", "me", None),
        ("me@2001:db8::7", "2001:db8::7", "me", None),
        ("fe80::1%eth0", "fe80::1%eth0", None, None),
        ("me@[::1]:2222", "::1", "me", 2222),
        ("[2001:db8::7]", "2001:db8::7", None, None),
        ("ws:2222", "ws", None, 2222),  # one colon is still host:port
    ],
)
def test_ipv6_addresses_are_taken_as_ssh_takes_them(
    text: str, host: str, user: str | None, port: int | None
) -> None:
    target = parse_target(text)
    assert (target.host, target.user, target.port) == (host, user, port)


@pytest.mark.parametrize("text", ["::1:x", "me@:::", "1:2:3:4:5:6:7:8:9", "[::1", "::1]:22"])
def test_a_wrong_ipv6_form_names_the_one_that_works(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_target(text)
    assert "user@[::1]:2222" in (caught.value.hint or "")
    assert "\n" not in caught.value.message


def test_every_refusal_mentions_the_bracketed_form() -> None:
    with pytest.raises(UsageError) as caught:
        parse_target("ws host")
    assert "user@[::1]:2222" in (caught.value.hint or "")


def test_an_ipv6_host_gets_a_usable_name() -> None:
    assert default_name(parse_target("me@::1"), set()) == "1"
    assert default_name(parse_target("fe80::1%eth0"), set()) == "fe80-1-eth0"
