"""`ssh -G` values written back as ssh_config(5) reads them: quoted where needed,
percent tokens that depend on the alias rewritten, one-line keywords on one line."""

from __future__ import annotations

import pytest

from jssh.config.userconfig import split_args
from jssh.config.values import config_lines, quote, replace_tokens, split_paths

TOKENS = {"n": "ws", "k": "ws"}


@pytest.mark.parametrize(
    "word",
    ["plain", "/home/me/my keys/id", 'say "hi"', "back\\slash", "#not-a-comment", "", "it's",
     "tab\there"],
)  # fmt: skip
def test_a_quoted_word_reads_back_as_that_one_word(word: str) -> None:
    assert split_args(quote(word)) == [word]


def test_plain_words_stay_unquoted() -> None:
    assert quote("/home/me/.ssh/id_ed25519") == "/home/me/.ssh/id_ed25519"


def test_a_known_hosts_list_with_spaces_is_two_quoted_paths() -> None:
    (line,) = config_lines(
        "userknownhostsfile", ["/tmp/my keys/known hosts /tmp/other"], tokens=TOKENS
    )
    assert line[0] == "UserKnownHostsFile"
    assert split_args(line[1]) == ["/tmp/my keys/known hosts", "/tmp/other"]
    assert split_paths("/a b/c ~/d %d/e") == ["/a b/c", "~/d", "%d/e"]


def test_setenv_pairs_go_on_one_line_with_their_spaces_quoted() -> None:
    # ssh reads only the first SetEnv line: B on a line of its own would be lost.
    lines = config_lines("setenv", ["GREETING=hello world", "A=1", "B=2"], tokens=TOKENS)
    assert len(lines) == 1
    assert split_args(lines[0][1]) == ["GREETING=hello world", "A=1", "B=2"]


def test_identity_files_keep_a_line_each() -> None:
    lines = config_lines("identityfile", ["~/.ssh/a", "/k/my key"], tokens=TOKENS)
    assert lines == [("IdentityFile", "~/.ssh/a"), ("IdentityFile", '"/k/my key"')]


def test_alias_tokens_become_what_they_mean_for_host() -> None:
    assert config_lines("identityfile", ["~/.ssh/keys/%n"], tokens=TOKENS) == [
        ("IdentityFile", "~/.ssh/keys/ws")
    ]
    tokens = {"n": "ws", "k": "ws-key%"}
    (line,) = config_lines("certificatefile", ["/c/%k-%n-%%n-%h"], tokens=tokens)
    assert line == ("CertificateFile", "/c/ws-key%%-ws-%%n-%h")  # %% and %h stay


def test_commands_are_the_rest_of_the_line_never_quoted() -> None:
    lines = config_lines("proxycommand", ['ssh -W %h:%p "my gw" %n'], tokens=TOKENS)
    assert lines == [("ProxyCommand", 'ssh -W %h:%p "my gw" ws')]


def test_expanded_values_get_their_percent_doubled() -> None:
    assert config_lines("hostname", ["fe80::1%eth0"], tokens=TOKENS) == [
        ("HostName", "fe80::1%%eth0")
    ]
    (line,) = config_lines("userknownhostsfile", ["/k%x/known"], tokens=TOKENS)
    assert line == ("UserKnownHostsFile", "/k%%x/known")


def test_word_lists_stay_as_printed() -> None:
    assert config_lines("ipqos", ["lowdelay throughput"], tokens=TOKENS) == [
        ("IPQoS", "lowdelay throughput")
    ]


def test_replace_tokens_leaves_a_trailing_percent_alone() -> None:
    assert replace_tokens("a%", TOKENS) == "a%"
