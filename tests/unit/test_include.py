"""The one Include line jssh adds to the user's ssh config, and how it comes out again."""

from __future__ import annotations

from pathlib import Path

import pytest

from jssh.config.sshconfig import (
    include_problems,
    include_text,
    insert_include,
    remove_include,
    user_aliases,
)

MANAGED = Path("/home/u/.ssh/jssh/config")
INCLUDE = include_text(MANAGED, default_config=True)

CONFIGS = {
    "empty": "",
    "comments only": "# my config\n# more\n",
    "one comment, no final newline": "# only this",
    "top-level option first": "# hi\nServerAliveInterval 30\n\nHost ws\n  User me\n",
    "host first": "Host ws\n  HostName ws.example.org\n\nHost *\n  ControlMaster no\n",
    "match block": 'Match host ws exec "test -e ~/.vpn"\n  ProxyJump gw\n',
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_removing_the_include_restores_the_users_text_exactly(name: str) -> None:
    text = CONFIGS[name]
    assert remove_include(insert_include(text, INCLUDE), INCLUDE, MANAGED) == text


def test_the_include_goes_before_the_first_line_that_means_anything_to_ssh() -> None:
    edited = insert_include(CONFIGS["top-level option first"], INCLUDE)
    assert edited.index("Include ~/.ssh/jssh/config") < edited.index("ServerAliveInterval")
    assert edited.startswith("# hi\n")  # the user's leading comments stay on top


def test_the_default_config_gets_a_tilde_path_and_others_an_absolute_one() -> None:
    assert "Include ~/.ssh/jssh/config\n" in INCLUDE
    other = include_text(Path("/tmp/my ssh/jssh/config"), default_config=False)
    assert 'Include "/tmp/my ssh/jssh/config"\n' in other


def test_an_include_the_user_moved_is_still_found_and_taken_out_alone() -> None:
    text = "Host a\n  User me\n    include   ~/.ssh/jssh/config\nHost b\n"
    assert remove_include(text, INCLUDE, MANAGED) == "Host a\n  User me\nHost b\n"


def test_no_include_means_nothing_to_remove() -> None:
    assert remove_include(CONFIGS["host first"], INCLUDE, MANAGED) is None


def test_an_include_below_a_host_line_is_reported_as_belonging_to_that_block() -> None:
    text = CONFIGS["host first"] + INCLUDE
    (problem,) = include_problems(text, MANAGED)
    assert "after the Host/Match on line 1" in problem
    assert include_problems(insert_include(CONFIGS["host first"], INCLUDE), MANAGED) == []
    assert include_problems("Host x\n", MANAGED) == [
        "the Include line for jssh's managed config is missing"
    ]


def test_plain_aliases_are_offered_and_patterns_are_not() -> None:
    text = "Host ws gpu*\nhost=lab !bad\nHost * # defaults\n  HostName x\nMatch all\n"
    assert user_aliases(text) == {"ws", "lab"}
