"""The store's edits of the user's config, on real files (no ssh): links stay links,
read-only targets are left alone with the exact line to add, bytes come back exact."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from jssh.config.store import Store
from jssh.hosts import Endpoint, HostRecord
from jssh.paths import Paths

ORIGINAL = b"# dotfiles\r\n# Ren\xe9\r\nHost ws\r\n  HostName 127.0.0.1\r\n"


def record(name: str = "ws") -> HostRecord:
    return HostRecord(
        name=name,
        target=name,
        local_port=8899,
        endpoint=Endpoint(socket=f"/tmp/jssh-u/{name}.sock"),
        ssh_options=[("HostName", "127.0.0.1")],
        control_path=f"/tmp/cm/{name}",
    )


class Home:
    def __init__(self, root: Path) -> None:
        self.ssh_dir = root / "home" / ".ssh"
        self.ssh_dir.mkdir(parents=True, mode=0o700)
        self.config = self.ssh_dir / "config"
        self.dotfiles = root / "dotfiles"
        self.dotfiles.mkdir()
        self.paths = Paths.build(self.config, root / "state")
        self.store = Store(self.paths)

    def add(self, name: str = "ws") -> Store:
        with self.store.transaction() as registry:
            registry.hosts[name] = record(name)
        return self.store

    def remove(self, name: str = "ws") -> Store:
        with self.store.transaction() as registry:
            del registry.hosts[name]
        return self.store

    @property
    def include(self) -> bytes:
        return f"Include {self.paths.managed_config}".encode()


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path)


def stow(home: Home, data: bytes | None, mode: int = 0o644) -> Path:
    """~/.ssh/config as GNU stow makes it: a relative link into the dotfiles."""
    target = home.dotfiles / "ssh_config"
    if data is not None:
        target.write_bytes(data)
        target.chmod(mode)
    home.config.symlink_to(os.path.relpath(target, home.config.parent))
    return target


def test_a_stowed_config_stays_a_link_and_its_target_is_edited_in_place(home: Home) -> None:
    target = stow(home, ORIGINAL)
    link = os.readlink(home.config)
    home.add()
    assert os.readlink(home.config) == link
    edited = target.read_bytes()
    assert home.include + b"\r\n" in edited
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in home.dotfiles.iterdir()) == ["ssh_config"]  # no temp file
    (backup,) = home.paths.backup_dir.iterdir()
    assert backup.read_bytes() == ORIGINAL

    home.remove()
    assert os.readlink(home.config) == link
    assert target.read_bytes() == ORIGINAL


def test_a_dangling_link_gets_its_target_and_loses_it_again(home: Home) -> None:
    target = stow(home, None)
    home.add()
    assert home.config.is_symlink()
    assert target.read_bytes().startswith(b"# Added by jssh")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    home.remove()
    assert home.config.is_symlink()
    assert not target.exists()


def test_a_read_only_target_is_left_alone_and_the_line_to_add_is_named(home: Home) -> None:
    target = stow(home, ORIGINAL, mode=0o444)
    store = home.add()
    assert target.read_bytes() == ORIGINAL
    assert home.paths.managed_config.exists()
    assert home.paths.hosts_file.exists()
    needed = store.include_needed
    assert needed is not None
    error = needed.error()
    assert "read-only (mode 0444)" in error.message
    assert f"a link to {target}" in error.message
    details = (error.details or "").splitlines()
    assert details[0] == home.include.decode()
    assert details[1] == f'programs.ssh.includes = [ "{home.paths.managed_config}" ];'

    # The user adds the line (their way); then jssh leaves it, and leaves it behind.
    os.chmod(target, 0o644)
    target.write_bytes(home.include + b"\r\n" + ORIGINAL)
    os.chmod(target, 0o444)
    users_own = target.read_bytes()
    assert home.add("gpu").include_needed is None
    home.remove("gpu")
    store = home.remove()
    assert target.read_bytes() == users_own
    assert store.include_kept is not None
    assert "stays in" in store.include_kept


def test_a_missing_target_directory_is_unwritable_too(home: Home) -> None:
    home.config.symlink_to(home.dotfiles / "gone" / "ssh_config")
    needed = home.add().include_needed
    assert needed is not None
    assert "does not exist" in needed.reason


def test_an_include_the_user_wrote_in_an_included_file_is_left_to_them(home: Home) -> None:
    (home.ssh_dir / "config.d").mkdir()
    (home.ssh_dir / "config.d" / "00-jssh").write_bytes(home.include + b"\n")
    original = f"Include {home.ssh_dir}/config.d/*\nHost ws\n".encode()
    home.config.write_bytes(original)
    home.add()
    assert home.config.read_bytes() == original
    assert home.remove().include_kept is not None
    assert home.config.read_bytes() == original


def test_a_config_jssh_created_is_removed_again(home: Home) -> None:
    home.add()
    assert home.config.exists()
    assert stat.S_IMODE(home.config.stat().st_mode) == 0o600
    home.remove()
    assert not home.config.exists()


def test_when_hosts_json_lost_what_was_inserted_only_our_exact_lines_come_out(
    home: Home,
) -> None:
    home.config.write_bytes(ORIGINAL)
    home.add()
    text = home.paths.hosts_file.read_text().replace(
        '"include_text": "', '"include_text": 5, "x": "', 1
    )
    home.paths.hosts_file.write_text(text)
    home.remove()
    assert home.config.read_bytes() == ORIGINAL


def test_a_file_where_a_hosts_state_dir_should_be_is_cleared(home: Home) -> None:
    state = home.paths.host_state_dir("ws")
    state.parent.mkdir(parents=True)
    state.write_text("junk")
    home.store.remove_all_state("ws")
    assert not state.exists()
