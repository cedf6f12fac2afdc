"""What jssh writes on this machine is private: 0700 directories, 0600 files."""

from __future__ import annotations

import stat
from pathlib import Path

from jssh import fsutil
from jssh.session.browser import redirect_page


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_directory_created_on_the_way_is_private(tmp_path: Path) -> None:
    leaf = tmp_path / "state" / "jssh" / "hosts" / "ws"
    fsutil.ensure_private_dir(leaf)
    for directory in (leaf, leaf.parent, leaf.parent.parent, leaf.parent.parent.parent):
        assert _mode(directory) == 0o700, directory


def test_directories_above_the_ones_it_creates_are_left_alone(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    fsutil.ensure_private_dir(tmp_path / "mine")
    assert _mode(tmp_path) == 0o755


def test_an_older_state_dir_left_open_is_tightened_up_to_its_root(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "hosts").mkdir(parents=True)
    state.chmod(0o755)
    (state / "hosts").chmod(0o755)
    tmp_path.chmod(0o755)
    fsutil.ensure_private_dir(state / "hosts" / "ws", private_from=state)
    assert _mode(state) == _mode(state / "hosts") == _mode(state / "hosts" / "ws") == 0o700
    assert _mode(tmp_path) == 0o755  # the user's own directory above it


def test_files_are_written_whole_and_private(tmp_path: Path) -> None:
    target = tmp_path / "token"
    fsutil.atomic_write(target, "secret\n")
    assert target.read_text() == "secret\n"
    assert _mode(target) == 0o600
    assert list(tmp_path.iterdir()) == [target]  # no temp file left behind


def test_the_browser_page_redirects_to_the_url_and_is_private(tmp_path: Path) -> None:
    url = "http://127.0.0.1:8899/lab?token=abc&x=<y>"
    page = redirect_page(url, tmp_path / "hosts" / "ws" / "open.html")
    text = page.read_text()
    assert 'content="0;url=http://127.0.0.1:8899/lab?token=abc&amp;x=&lt;y&gt;"' in text
    assert "<y>" not in text  # escaped: a URL can't break out of the attribute
    assert _mode(page) == 0o600
    assert _mode(page.parent) == 0o700
