"""Which jupyter_server can listen on a unix socket: 1.9 and later, not only 2.x."""

from __future__ import annotations

import pytest

from jssh.commands.doctor_remote import MIN_SOCKET_SERVER, version_tuple


@pytest.mark.parametrize(
    ("version", "sockets"),
    [("1.8.0", False), ("1.9.0", True), ("1.12.1", True), ("1.24.0", True),
     ("2.0.0rc1", True), ("2.21.1", True), ("0.3.0", False)],
)  # fmt: skip
def test_unix_sockets_arrived_in_jupyter_server_1_9(version: str, sockets: bool) -> None:
    found = version_tuple(version)
    assert found is not None
    assert (found >= MIN_SOCKET_SERVER) is sockets


def test_a_version_that_is_not_one_reads_as_unknown() -> None:
    assert version_tuple("unknown") is None
    assert version_tuple("3") == (3, 0)
