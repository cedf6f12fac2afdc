"""Private directories, atomic writes and an inter-process lock.

Every file jssh writes goes through `atomic_write`: a reader (or ssh) sees the old
content or the new, never half a file, and a full disk leaves the old file intact.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from jssh.errors import BusyError, ConfigError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def ensure_private_dir(path: Path, *, private_from: Path | None = None) -> None:
    """Create `path` and make it 0700; every directory created on the way is 0700 too.

    `private_from`, an ancestor of `path` that jssh owns (its state dir), is made 0700
    along with everything between it and `path`: a state dir an older jssh left 0755
    is tightened. Directories above it, which are the user's, are never changed.
    (`Path.mkdir(parents=True)` would give every parent the umask's 0755: host names
    are private too.)
    """
    try:
        missing = [p for p in (path, *path.parents) if not p.exists()]
        for directory in reversed(missing):
            with contextlib.suppress(FileExistsError):  # another jssh made it just now
                directory.mkdir(mode=PRIVATE_DIR)
        chain = [path]
        if private_from is not None and private_from in path.parents:
            chain += [p for p in path.parents if p == private_from or private_from in p.parents]
        for directory in chain + missing:
            if directory.stat().st_mode & 0o777 != PRIVATE_DIR:
                directory.chmod(PRIVATE_DIR)
    except OSError as exc:
        raise ConfigError(
            f"cannot create directory {path}: {exc.strerror}",
            hint="check that its parent exists and is writable by you",
        ) from exc


def atomic_write(path: Path, data: str | bytes, mode: int = PRIVATE_FILE) -> None:
    """Replace `path` with `data`: temp file in the same dir, fsync, rename."""
    apply_changes([FileChange(path, data, mode)])


@dataclass(frozen=True)
class FileChange:
    """One file to replace (`data`) or delete (`data is None`)."""

    path: Path
    data: str | bytes | None
    mode: int = PRIVATE_FILE


def apply_changes(changes: list[FileChange]) -> None:
    """Apply several file changes so that a failure leaves every file as it was.

    Every new content is first written and fsynced to a temp file beside its target;
    only when all of them are on disk do the renames happen (a rename needs no space),
    so a full disk or a permission error changes nothing.
    """
    staged: list[tuple[str, Path]] = []
    try:
        for change in changes:
            if change.data is not None and not _already(change):
                staged.append((_stage(change), change.path))
        for tmp_name, target in staged:
            os.replace(tmp_name, target)
        staged.clear()
        for change in changes:
            if change.data is None:
                with contextlib.suppress(FileNotFoundError):
                    change.path.unlink()
        for directory in {change.path.parent for change in changes}:
            _fsync_dir(directory)
    except OSError as exc:
        reason = "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror
        failed = getattr(exc, "filename", None) or changes[0].path
        raise ConfigError(
            f"could not write {failed}: {reason}; no file was changed",
            hint="free some space or fix the permissions, then run the command again",
        ) from exc
    finally:
        for tmp_name, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def _already(change: FileChange) -> bool:
    """True when the file already holds exactly this content and mode: leave it be."""
    assert change.data is not None
    raw = change.data.encode() if isinstance(change.data, str) else change.data
    try:
        return change.path.stat().st_mode & 0o777 == change.mode and change.path.read_bytes() == raw
    except OSError:
        return False


def _stage(change: FileChange) -> str:
    assert change.data is not None
    raw = change.data.encode() if isinstance(change.data, str) else change.data
    import tempfile  # here: the warm `up` reads files and writes none (~4 ms)

    fd, tmp_name = tempfile.mkstemp(
        dir=change.path.parent, prefix=f".{change.path.name}.", suffix=".tmp"
    )
    try:
        os.fchmod(fd, change.mode)
        view = memoryview(raw)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        os.unlink(tmp_name)
        exc.filename = str(change.path)
        raise
    os.close(fd)
    return tmp_name


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; some filesystems refuse O_RDONLY fsync on dirs.
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def exclusive_lock(path: Path, what: str, timeout: float = 15.0) -> Iterator[None]:
    """Hold an flock on `path` for the block; wait up to `timeout` for other jssh runs.

    The holder's pid is written into the file so a waiter can say who it waits for.
    """
    ensure_private_dir(path.parent)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the lock file {path}: {exc.strerror}",
            hint="free some space or fix the permissions, then run the command again",
        ) from exc
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = read_pid(fd)
                    raise BusyError(
                        f"another jssh{f' (pid {holder})' if holder else ''} is still changing "
                        f"{what}; gave up after {timeout:.0f} s",
                        hint="wait for it to finish, then run the command again",
                    ) from None
                time.sleep(0.02)
        # The pid is only for a waiter's message: a full disk must not fail the command
        # here, before the real writes (which fail cleanly and change nothing).
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def read_pid(fd: int) -> int | None:
    """The pid written at the start of a pid/lock file, or None."""
    try:
        return int(os.pread(fd, 32, 0).decode().strip() or "0") or None
    except (OSError, ValueError):
        return None
