"""The Include line on the bytes of the user's config: line endings, encodings and
final newlines are the user's, and only the bytes jssh inserted ever come out."""

from __future__ import annotations

from pathlib import Path

import pytest

from jssh.config.sshconfig import (
    blank_includes,
    include_position,
    include_text,
    insert_include,
    newline_of,
    remove_include,
)

MANAGED = Path("/home/u/.ssh/jssh/config")


def ours(data: bytes) -> bytes:
    """What the store inserts into DATA: our lines in DATA's own line endings."""
    return include_text(MANAGED, default_config=True, newline=newline_of(data)).encode()


CONFIGS = {
    "crlf": b"# mine\r\nHost ws\r\n  HostName ws.example.org\r\n\r\nHost *\r\n  User me\r\n",
    "crlf, top-level option first": b"ServerAliveInterval 30\r\nHost ws\r\n",
    "latin-1 comment": b"# Ren\xe9's config\nHost ws\n  User ren\xe9\n",
    "not text at all": b"# \xff\xfe\x00\x80\nHost ws\n",
    "one comment, no final newline": b"# only this",
    "one crlf comment, no final newline": b"# only this\r\n# and this",
    "mixed endings": b"Host a\r\n  User x\nHost b\n",
    "empty": b"",
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_removing_our_bytes_gives_back_the_very_bytes(name: str) -> None:
    data = CONFIGS[name]
    edited = insert_include(data, ours(data))
    assert edited != data
    assert remove_include(edited, ours(data), MANAGED) == data


def test_a_crlf_file_gets_our_lines_in_crlf_too() -> None:
    data = CONFIGS["crlf"]
    edited = insert_include(data, ours(data))
    assert b"Include ~/.ssh/jssh/config\r\n" in edited
    assert edited.count(b"\n") == edited.count(b"\r\n")  # not one bare LF added
    assert edited.index(b"Include") < edited.index(b"Host ws")
    assert edited.startswith(b"# mine\r\n")


def test_the_line_ending_is_the_files_first_one() -> None:
    assert newline_of(b"a\r\nb\n") == "\r\n"
    assert newline_of(b"a\nb\r\n") == "\n"
    assert newline_of(b"no newline") == "\n"
    assert newline_of(b"") == "\n"


def test_a_comment_without_a_final_newline_keeps_none_after_remove() -> None:
    data = b"# only this"
    edited = insert_include(data, ours(data))
    assert edited.endswith(b"# only this")  # ours went on top, not after a newline we add
    assert remove_include(edited, ours(data), MANAGED) == data


def test_an_include_line_in_crlf_is_found_where_it_is() -> None:
    data = b"Host a\r\n  User x\r\nInclude ~/.ssh/jssh/config\r\n"
    assert include_position(data, MANAGED) == (3, 1)


def test_an_include_the_user_moved_comes_out_with_its_own_line_end() -> None:
    data = b"Host a\r\n    include   ~/.ssh/jssh/config\r\nHost b\r\n"
    assert remove_include(data, ours(data), MANAGED) == b"Host a\r\nHost b\r\n"


def test_blanking_our_include_keeps_every_other_line_number() -> None:
    data = b"# c\r\nInclude ~/.ssh/jssh/config\r\nHost ws\n  Port 1\nInclude /etc/other\n"
    blanked = blank_includes(data, MANAGED)
    assert blanked == b"# c\r\n\r\nHost ws\n  Port 1\nInclude /etc/other\n"
    assert blanked.count(b"\n") == data.count(b"\n")
