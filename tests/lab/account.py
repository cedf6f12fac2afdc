"""The account the workstation's sshd logs the tests in as."""

from __future__ import annotations

import fcntl
import getpass
import os
import pwd
import subprocess
from pathlib import Path
from typing import IO

from .util import IS_ROOT, LabError

__all__ = ["LAB_ACCOUNT", "chown_to", "ensure_account", "ensure_lab_account"]

LAB_ACCOUNT = "jsshlab"
# jsshlab, jsshlab1, ...: enough for the workers of a few test runs at once.
_POOL = 16
# One lock file per account of the pool; a process holds its account's until it exits.
_CLAIMS = Path("/run/jssh-lab-accounts")
# useradd and usermod refuse to run while another holds /etc/passwd's lock ("cannot
# lock /etc/passwd; try again later"): parallel workers take turns on this one.
_LOCK_PATH = "/run/jssh-lab-accounts.lock"

_claimed: tuple[str, IO[str]] | None = None


def ensure_lab_account() -> str:
    """As root: an account of the lab's pool that no other process on this machine uses,
    made ready to log in; the same one for the rest of this process.

    One account per test process (per xdist worker, per pytest run, per bench) keeps
    their remote socket paths, /tmp/jssh-USER/NAME.sock, apart whatever names their
    tests use. `jsshlab` when it is free, else `jsshlab1`, `jsshlab2`, ...

    Not root: sshd can only log in as ourselves, so the current user it is.
    """
    global _claimed
    if not IS_ROOT:
        return getpass.getuser()
    if _claimed is None:
        _claimed = _claim()
    return ensure_account(_claimed[0])


def _claim() -> tuple[str, IO[str]]:
    _CLAIMS.mkdir(mode=0o755, exist_ok=True)
    for i in range(_POOL):
        name = f"{LAB_ACCOUNT}{i or ''}"
        lock = open(_CLAIMS / f"{name}.lock", "w")  # held until this process exits
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        return name, lock
    raise LabError(f"all {_POOL} lab accounts are in use by other test processes")


def ensure_account(name: str) -> str:
    """As root: make sure the ordinary account NAME exists and can log in; return NAME."""
    with open(_LOCK_PATH, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            pwd.getpwnam(name)
        except KeyError:
            # '*' rather than a locked '!' password: with UsePAM no, sshd refuses
            # any account whose password field starts with '!', even for keys.
            done = subprocess.run(
                ["useradd", "-m", "-s", "/bin/bash", "-p", "*", name],
                capture_output=True,
                text=True,
            )
            try:
                pwd.getpwnam(name)  # another run may have won the race: fine
            except KeyError:
                raise LabError(f"useradd {name} failed: {done.stderr.strip()}") from None
        _unlock_if_locked(name)
    return name


def _unlock_if_locked(name: str) -> None:
    # An account left by someone else's `useradd` without -p has '!' and sshd
    # would refuse it with a bare "User not allowed because account is locked".
    try:
        with open("/etc/shadow") as shadow:
            for line in shadow:
                fields = line.split(":")
                if fields[0] == name and fields[1].startswith("!"):
                    subprocess.run(["usermod", "-p", "*", name], check=True, capture_output=True)
                    return
    except OSError:
        return


def chown_to(path: Path, account: str) -> None:
    """Give `path` to the lab account (no-op when we are that account)."""
    if not IS_ROOT:
        return
    entry = pwd.getpwnam(account)
    os.chown(path, entry.pw_uid, entry.pw_gid)
