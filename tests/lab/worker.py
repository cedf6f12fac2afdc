"""What keeps one pytest-xdist worker's lab out of another's way.

Two things a test cannot make unique by itself are shared by every test on the machine:

- the remote socket path, /tmp/jssh-<remote user>/<NAME>.sock: each test process logs
  in to a lab account no other one uses (`jsshlab`, `jsshlab1`, ...; see account.py);
- the laptop's loopback, where `jssh add` gives the first host port 8899 and every
  sshd, relay and squatter listens: as root, each worker moves into a network
  namespace of its own (a private `lo`, nothing else), so its 127.0.0.1 is its own.

Without root neither is possible: then there is one account and one loopback, and
conftest runs every test that logs in on one worker.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import threading

from .util import IS_ROOT

__all__ = ["enter_private_network", "worker_id"]

_CLONE_NEWNET = 0x40000000


def worker_id() -> str | None:
    """`gw0`, `gw1`, ... in a pytest-xdist worker; None in a run without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def enter_private_network() -> str | None:
    """Move this process into a new network namespace with only `lo`, up.

    Everything the process starts afterwards (sshd, ssh, jssh, Slurm's daemons) lives
    there too. Returns None when done, else why it could not be done (then nothing
    changed). Call it from the main thread before any test starts: a namespace belongs
    to the thread that entered it, and subprocesses inherit the namespace of the thread
    that starts them.
    """
    if not IS_ROOT:
        return "a network namespace needs root"
    if threading.current_thread() is not threading.main_thread():
        return "not on the main thread"
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNET) != 0:
        return f"unshare(CLONE_NEWNET): {os.strerror(ctypes.get_errno())}"
    for argv in (
        ["ip", "link", "set", "lo", "up"],
        # glibc's getaddrinfo(AI_ADDRCONFIG) counts no IPv4 at all where 127.0.0.1 is the
        # only IPv4 address: Slurm's daemons and clients then fail with "Name or service
        # not known". A second loopback address is enough.
        ["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"],
    ):
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            # A namespace without a working loopback is no use, and there is no way
            # back to the old one from here: say so loudly rather than run tests in it.
            raise RuntimeError(f"{' '.join(argv)} in a new namespace: {done.stderr.strip()}")
    return None
