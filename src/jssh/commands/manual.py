"""`jssh man`: the manual page, wherever jssh was installed.

pip puts `share/man/man1/jssh.1` under the environment's prefix. With `pip install
--user` or into /usr/local that is on man's path; pipx links it into ~/.local/share/man;
but `uv tool install` and a plain venv keep it inside their own environment, where `man
jssh` never looks. So jssh finds its own page and hands it to `man -l`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from jssh.errors import ExitCode, JsshError

PAGE = Path("share", "man", "man1", "jssh.1")


class NoManual(JsshError):
    """The page is not where an install puts it."""

    exit_code = ExitCode.NOT_FOUND


def candidates(prefix: Path, package_dir: Path) -> list[Path]:
    """Where the page may be: under the environment's prefix (every install route), or
    in the checkout an editable install runs from."""
    return [prefix / PAGE, package_dir.parent.parent / "man" / "jssh.1"]


def find_manual(prefix: Path | None = None, package_dir: Path | None = None) -> Path:
    import jssh

    places = candidates(
        prefix or Path(sys.prefix), package_dir or Path(jssh.__file__).resolve().parent
    )
    for place in places:
        if place.is_file():
            return place
    raise NoManual(
        "jssh's manual page is not installed with it (looked for "
        + " and ".join(str(p) for p in places)
        + ")",
        hint="`jssh help` and `jssh COMMAND --help` say the same, command by command",
    )


def show_manual(page: Path) -> int:
    """`man -l PAGE` on this terminal (man's own pager, MANPAGER and width); its code."""
    man = shutil.which("man")
    if man is None:
        raise JsshError(
            f"there is no `man` command here to show {page}",
            hint=f"read it with `mandoc -a {page}` or `groff -man -Tutf8 {page} | less`",
        )
    return subprocess.run([man, "-l", str(page)], check=False).returncode
