"""The user's config read as ssh reads it: Includes with globs, relative to ~/.ssh,
inside Host blocks; aliases for the shadow check and Tab; where a forward comes from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jssh.config.userconfig import (
    FORWARDS,
    config_files,
    host_aliases,
    includes_of,
    read_config,
    settings_for,
    split_args,
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / ".ssh" / "config.d").mkdir(parents=True)
    return tmp_path


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_relative_globbed_includes_are_read_from_ssh_dir_in_order(home: Path) -> None:
    ssh = home / ".ssh"
    write(ssh / "config.d" / "20-b", b"Host b-box\n")
    write(ssh / "config.d" / "10-a", b"Host a-box\r\n  User x\r\n")
    write(ssh / "config.d" / ".hidden", b"Host hidden\n")
    config = write(ssh / "config", b"Include config.d/*\nHost main\n")
    lines = read_config(config, home=home)
    assert [line.args for line in lines if line.keyword == "host"] == [
        ("a-box",), ("b-box",), ("main",)
    ]  # fmt: skip
    assert sorted(host_aliases(lines)) == ["a-box", "b-box", "main"]
    assert host_aliases(lines)["a-box"].where == f"{ssh}/config.d/10-a line 1"


def test_tilde_and_absolute_includes_and_a_glob_matching_nothing(home: Path) -> None:
    other = write(home / "elsewhere" / "hosts", b"Host far\n")
    config = write(
        home / ".ssh" / "config",
        f"Include ~/elsewhere/hosts {other} /nonexistent/*.conf\n".encode(),
    )
    lines = read_config(config, home=home)
    assert list(host_aliases(lines)) == ["far"]  # read once per mention; first kept


def test_an_include_inside_a_host_block_applies_only_where_that_block_does(home: Path) -> None:
    write(home / ".ssh" / "work", b"Host ws-jupyter gpu1\n  User w\n")
    config = write(home / ".ssh" / "config", b"Host gpu*\n  Include work\n")
    aliases = host_aliases(read_config(config, home=home))
    assert list(aliases) == ["gpu1"]  # `Host gpu*` can't apply to ws-jupyter


def test_jssh_own_file_is_not_followed(home: Path) -> None:
    managed = write(home / ".ssh" / "jssh" / "config", b"Host ws-jupyter\n")
    config = write(home / ".ssh" / "config", b"Include ~/.ssh/jssh/config\nHost ws\n")
    lines = read_config(config, home=home, skip=[managed])
    assert list(host_aliases(lines)) == ["ws"]
    assert [line.number for line in includes_of(lines, managed, home)] == [1]


def test_an_include_of_a_file_not_there_yet_is_still_recognised(home: Path) -> None:
    managed = home / ".ssh" / "jssh" / "config"
    config = write(home / ".ssh" / "config", b"include=jssh/config\n")
    assert len(includes_of(read_config(config, home=home), managed, home)) == 1


def test_includes_stop_at_ssh_own_depth_limit(home: Path) -> None:
    config = write(home / ".ssh" / "config", b"Include config\nHost loop\n")
    lines = read_config(config, home=home)
    assert len([line for line in lines if line.keyword == "host"]) == 16


def test_patterns_negations_and_quotes_are_not_aliases(home: Path) -> None:
    config = write(
        home / ".ssh" / "config",
        b'Host ws gpu* !bad "quoted" # comment\nhost=lab\nMatch all\nHost * !*-jupyter\n',
    )
    assert sorted(host_aliases(read_config(config, home=home))) == ["lab", "quoted", "ws"]


def test_a_forward_is_found_where_it_applies_to_the_alias(home: Path) -> None:
    config = write(
        home / ".ssh" / "config",
        b"Host ws\n  LocalForward 1 x:1\nHost *\n  LocalForward 8080 localhost:80\n"
        b"Host * !*-jupyter\n  DynamicForward 1080\nMatch exec true\n  RemoteForward 2 y:2\n",
    )
    found = settings_for(read_config(config, home=home), "ws-jupyter", FORWARDS)
    assert [(line.keyword, line.number, line.gates[-1].args) for line in found] == [
        ("localforward", 4, ("*",)),
        ("remoteforward", 8, ("exec", "true")),  # a Match can't be judged: assumed
    ]


def test_arguments_split_as_openssh_does() -> None:
    assert split_args('GREETING="hello world" A=1 # note') == ["GREETING=hello world", "A=1"]
    assert split_args('a\\ b \'c d\' "e\\"f"') == ["a b", "c d", 'e"f']
    assert split_args('"open') is None


def test_a_config_that_is_not_utf8_or_crlf_reads_fine(home: Path) -> None:
    config = write(home / ".ssh" / "config", b"# Ren\xe9\r\nHost caf\xe9 ws\r\n")
    assert "ws" in host_aliases(read_config(config, home=home))


def test_an_unreadable_included_file_is_passed_over(home: Path) -> None:
    secret = write(home / ".ssh" / "secret", b"Host hidden\n")
    config = write(home / ".ssh" / "config", b"Include secret\nHost ws\n")
    os.chmod(secret, 0)
    if os.access(secret, os.R_OK):  # root reads anything: make it a directory instead
        secret.unlink()
        secret.mkdir()
    assert list(host_aliases(read_config(config, home=home))) == ["ws"]


# -- what the watchdog watches ---------------------------------------------------------------


def test_config_files_names_a_stowed_config_by_link_and_target_and_its_includes(
    home: Path,
) -> None:
    dotfiles = write(home / "dotfiles" / "ssh" / "config", b"Include config.d/*.conf\n")
    config = home / ".ssh" / "config"
    config.symlink_to(dotfiles)
    work = write(home / ".ssh" / "config.d" / "10-work.conf", b"Host w\n")
    managed = write(home / ".ssh" / "jssh" / "config", b"Host w-jupyter\n")

    files = config_files(config, home=home, skip=[managed])

    assert files.dirs == {dotfiles.parent, config.parent, work.parent}
    for changed in (config, dotfiles, work, home / ".ssh" / "config.d" / "20-new.conf"):
        assert files.concerns(str(changed)), changed
    for unrelated in (
        home / ".ssh" / "known_hosts",
        home / ".ssh" / "config.d" / "notes.txt",
        managed,
    ):
        assert not files.concerns(str(unrelated)), unrelated


def test_config_files_leaves_out_jssh_own_file_even_when_a_glob_includes_it(home: Path) -> None:
    config = write(home / ".ssh" / "config", b"Include ~/.ssh/*/config\n")
    managed = write(home / ".ssh" / "jssh" / "config", b"Host w-jupyter\n")
    files = config_files(config, home=home, skip=[managed])
    assert not files.concerns(str(managed))
    assert files.concerns(str(home / ".ssh" / "other" / "config"))
