"""The account the workstation's sshd logs the tests in as."""

from __future__ import annotations

import getpass
import os
import pwd
import subprocess
from pathlib import Path

from .util import IS_ROOT, LabError

__all__ = ["LAB_ACCOUNT", "chown_to", "ensure_account", "ensure_lab_account"]

LAB_ACCOUNT = "jsshlab"


def ensure_lab_account() -> str:
    """As root: make sure the ordinary account `jsshlab` exists and can log in; return its name.

    Not root: sshd can only log in as ourselves, so the current user it is.
    """
    if not IS_ROOT:
        return getpass.getuser()
    return ensure_account(LAB_ACCOUNT)


def ensure_account(name: str) -> str:
    """As root: make sure the ordinary account NAME exists and can log in; return NAME."""
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
