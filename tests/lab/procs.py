"""Find and stop the lab's processes by pid, never by name.

Every process the lab starts, directly or through ssh, carries JSSH_LAB_ID in
its environment (sshd's SetEnv for the remote side, the laptop env for jssh
and its ssh masters); tmux servers and Jupyter inherit it. Teardown kills by
that id. sshd's own processes are the exception: sshd overwrites its environ
area with its process title, so they are found through their sockets instead
(see sshd.py).
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterable

import psutil

__all__ = [
    "LAB_ID_VAR",
    "describe",
    "issued_lab_ids",
    "kill_lab_processes",
    "lab_processes",
    "new_lab_id",
    "pid_alive",
    "terminate",
    "wait_gone",
]

LAB_ID_VAR = "JSSH_LAB_ID"

# Every id handed out in this interpreter, so the session can check at the end
# that none of them still has a process (conftest's pytest_sessionfinish).
_ISSUED: list[str] = []


def new_lab_id(kind: str) -> str:
    """A fresh id like 'ws-1a2b3c4d'; the hex part also names netns and veths."""
    lab_id = f"{kind}-{secrets.token_hex(4)}"
    _ISSUED.append(lab_id)
    return lab_id


def issued_lab_ids() -> list[str]:
    return list(_ISSUED)


def _protected_pids() -> set[int]:
    # Never signal ourselves or an ancestor (pytest, the shell, CI's runner),
    # whatever their environment says.
    me = psutil.Process()
    return {me.pid, *(p.pid for p in me.parents())}


def lab_processes(lab_id: str, *, mentioning: str | None = None) -> list[psutil.Process]:
    """Live processes (any user) whose environment has JSSH_LAB_ID=lab_id, or whose
    command line holds `mentioning` (a lab temp dir).

    The second catches what the first cannot: an ssh that forks a ControlPersist
    master gives it a process title ("ssh: ~/.ssh/jssh/cm/NAME [mux]") written over
    its environ, but that title names the control path, under the laptop's home.
    """
    found: list[psutil.Process] = []
    protected = _protected_pids()
    for proc in psutil.process_iter():
        if proc.pid in protected:
            continue
        try:
            ours = proc.environ().get(LAB_ID_VAR) == lab_id
            if not ours and mentioning is not None:
                ours = mentioning in " ".join(proc.cmdline())
            if ours and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            # Not ours to read (another user while we are not root) or gone.
            continue
    return found


def terminate(procs: Iterable[psutil.Process], *, grace: float = 3.0) -> list[psutil.Process]:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL the rest. Returns what was signalled."""
    protected = _protected_pids()
    targets = [p for p in procs if p.pid not in protected]
    signalled: list[psutil.Process] = []
    for proc in targets:
        try:
            proc.terminate()
            signalled.append(proc)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            pass
    alive = wait_gone(signalled, timeout=grace)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess):
            proc.kill()
    wait_gone(alive, timeout=grace)
    return signalled


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_gone(procs: Iterable[psutil.Process], *, timeout: float) -> list[psutil.Process]:
    """Wait until each process has exited; return those still running at `timeout`.

    A zombie counts as gone. psutil.wait_procs() would wait for it to be
    reaped, and an `ssh -f` master's parent is pid 1, which here reaps only
    every second or two: that alone made each teardown ~1.5 s slower.
    """
    deadline = time.monotonic() + timeout
    pending = list(procs)
    delay = 0.005
    while True:
        pending = [p for p in pending if _running(p)]
        if not pending or time.monotonic() >= deadline:
            return pending
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def kill_lab_processes(
    lab_id: str, *, mentioning: str | None = None, grace: float = 3.0
) -> list[psutil.Process]:
    """Stop every process carrying this lab id (see lab_processes for `mentioning`);
    repeat while new ones appear.

    Repeating matters: killing a tmux client or a shell can make a parent spawn
    or reveal another process with the id a moment later.
    """
    stopped: list[psutil.Process] = []
    for _ in range(5):
        procs = lab_processes(lab_id, mentioning=mentioning)
        if not procs:
            break
        stopped.extend(terminate(procs, grace=grace))
    return stopped


def describe(procs: Iterable[psutil.Process]) -> str:
    """One line per process, for failure messages."""
    lines = []
    for proc in procs:
        try:
            lines.append(f"  pid {proc.pid} ({proc.username()}): {' '.join(proc.cmdline())}")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            lines.append(f"  pid {proc.pid}: (gone or unreadable)")
    return "\n".join(lines)


def pid_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie awaiting its reaper counts as dead)."""
    try:
        return _running(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return False
