"""The blocking jobs, run on a few threads so that the loop never waits on them: `ssh -O
check` (up to MUX_TIMEOUT for a stopped master), `ssh -G`, squeue through the login
node's master, killing a master and waiting for it to let go of its socket. Each job
returns its answer as an event, which the loop handles like any other; so one slow
host never stalls the others.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from jssh.errors import JsshError, WaitTimeout
from jssh.hosts import HostRecord
from jssh.paths import Paths
from jssh.ssh import Settings, Ssh
from jssh.watchdog import events as ev
from jssh.watchdog.policy import RESTART_WAIT, VERIFY_WAIT
from jssh.watchdog.states import RestartResult

if TYPE_CHECKING:
    import psutil

# `ssh -O check` answers in milliseconds; a master that does not is stopped or hung.
MUX_TIMEOUT = 2.0
# A killed master has let go of its socket and port once it is a zombie; its parent
# (not us) reaps it, so wait for that state rather than for the process.
KILL_WAIT = 1.0
WORKERS = 4

K = TypeVar("K")


class Workers(Generic[K]):
    """Daemon threads, started as jobs need them (at most `size`), that run jobs and hand
    each one's answer (or the exception of a bug) to `deliver` with the job's key.
    Daemon threads: a stop never waits for a squeue to time out."""

    def __init__(self, deliver: Callable[[K, object], None], *, size: int = WORKERS) -> None:
        self._deliver = deliver
        self._size = size
        self._jobs: queue.SimpleQueue[tuple[K, Callable[[], object]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0
        self._queued = 0

    def submit(self, key: K, job: Callable[[], object]) -> None:
        with self._lock:
            self._queued += 1
            start = self._queued > self._idle and self._threads < self._size
            if start:
                self._threads += 1
        self._jobs.put((key, job))
        if start:
            name = f"jssh-watch-worker-{self._threads}"
            threading.Thread(target=self._work, name=name, daemon=True).start()

    def wait_apart(self, key: K, job: Callable[[], object]) -> None:
        """Run JOB, which may wait for a long time (a process's exit where there is no
        exit notifier), on a thread of its own, so that it holds no worker."""

        def run() -> None:
            try:
                answer = job()
            except Exception as exc:  # a bug: the loop raises it
                answer = exc
            self._deliver(key, answer)

        threading.Thread(target=run, name="jssh-watch-waiter", daemon=True).start()

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            key, job = self._jobs.get()
            with self._lock:
                self._idle -= 1
                self._queued -= 1
            try:
                answer = job()
            except Exception as exc:  # a bug: the loop raises it
                answer = exc
            self._deliver(key, answer)


# -- what the jobs answer outside the state machine ---------------------------------------------
@dataclass(frozen=True)
class Resolved:
    """`ssh -G` for a host: where its master's socket is, and its sshd's address."""

    record: HostRecord
    control_path: str
    probe_addr: ev.Address | None


@dataclass(frozen=True)
class Unresolved:
    record: HostRecord
    message: str


# -- the jobs ------------------------------------------------------------------------------------
def forward_alias(record: HostRecord) -> str:
    """The alias of the master that holds the forward: a Slurm host's node master."""
    return record.node_alias if is_slurm(record) else record.alias


def is_slurm(record: HostRecord) -> bool:
    """A Slurm host with a job's node: its forward is on the node's master."""
    return bool(record.slurm and record.slurm_node)


def resolve(ssh: Ssh, record: HostRecord) -> Resolved | Unresolved:
    alias = forward_alias(record)
    try:
        settings = ssh.resolve(record.alias)
        # A Slurm host's forward is on its node's master: follow that one's socket.
        node = ssh.resolve(alias) if is_slurm(record) else settings
    except JsshError as exc:
        return Unresolved(record, f"ssh cannot resolve {alias}: {exc.message}")
    # The probe goes to the login node's sshd for a Slurm host.
    return Resolved(record, _first(node, "controlpath") or "", probe_address(settings))


def check_master(ssh: Ssh, alias: str, control_path: str, ticket: int) -> ev.MasterChecked:
    try:
        return ev.MasterChecked(ticket, pid=ssh.master_pid(alias, timeout=MUX_TIMEOUT))
    except WaitTimeout:
        # Connected to the socket but no answer: a stopped or hung master.
        return ev.MasterChecked(ticket, silent=master_by_title(control_path))
    except JsshError as exc:
        return ev.MasterChecked(ticket, error=exc.message)


def verify_master(ssh: Ssh, alias: str, ticket: int) -> ev.MasterVerified:
    """A round trip through the master: `true` on the remote, within VERIFY_WAIT."""
    try:
        done = ssh.run(alias, ["true"], timeout=VERIFY_WAIT)
    except JsshError:  # no answer in time (WaitTimeout), or no ssh at all
        return ev.MasterVerified(ticket, answered=False)
    return ev.MasterVerified(ticket, answered=done.returncode == 0)


def check_slurm(
    paths: Paths, ssh: Ssh, record: HostRecord, control_path: str, ticket: int, *, ask_job: bool
) -> ev.SlurmChecked:
    """Which of a Slurm host's masters runs; and, when asked and only the node's is
    missing, whether its job still runs (one squeue through the login node's master)."""
    from jssh.session.slurm import job_alive  # only Slurm hosts need it

    try:
        login = ssh.master_pid(record.alias, timeout=MUX_TIMEOUT)
    except JsshError:
        login = None  # hung or unknown: a new attempt (bounded by ATTEMPT_LIMIT) tells
    if login is None:
        return ev.SlurmChecked(ticket, login_up=False)
    node = check_master(ssh, record.node_alias, control_path, ticket)
    if node.pid is not None or node.silent is not None or not ask_job:
        return ev.SlurmChecked(ticket, login_up=True, node=node.pid, silent=node.silent)
    alive = job_alive(paths, ssh, record)
    return ev.SlurmChecked(ticket, login_up=True, asked_job=True, job_alive=alive)


def end_job(paths: Paths, ssh: Ssh, record: HostRecord, ticket: int) -> ev.JobReported:
    """How a Slurm host's job ended, once its masters are closed."""
    from jssh.session import session_for

    job = None
    with contextlib.suppress(JsshError):
        job = session_for(paths, ssh, record, say=_quiet).status().job
    for alias in (record.node_alias, record.alias):
        with contextlib.suppress(JsshError):
            ssh.stop_master(alias)
    if job is None:
        return ev.JobReported(ticket)
    return ev.JobReported(ticket, job.job_id, job.state)


def restart_server(
    paths: Paths, ssh: Ssh, record: HostRecord, ticket: int, *, use_tmux: bool
) -> ev.ServerRestarted:
    """Start a workstation's dead server again as `jssh up` would, with the saved token."""
    from jssh.remote import ReplyKey
    from jssh.session.lifecycle import HostParts
    from jssh.session.workstation import WorkstationBackend

    backend = WorkstationBackend(HostParts(paths, ssh, record, _quiet))
    start = backend.restart(wait=RESTART_WAIT, use_tmux=use_tmux)
    if start.no_token:
        result = RestartResult.NO_TOKEN
    elif start.answer is None:
        result = RestartResult.UNREACHABLE
    else:
        result = {
            ReplyKey.STARTED: RestartResult.STARTED,
            ReplyKey.RUNNING: RestartResult.RUNNING,
            ReplyKey.BUSY: RestartResult.BUSY,
        }.get(start.answer, RestartResult.FAILED)
    return ev.ServerRestarted(ticket, result, start.pid, start.detail)


def stop_master(ssh: Ssh, alias: str) -> None:
    with contextlib.suppress(JsshError):
        ssh.stop_master(alias)


def kill_master(ticket: int, pid: int, proc: psutil.Process | None) -> ev.MasterKilled:
    """Kill a master that cannot work (the user's own ssh, started by jssh) and wait,
    briefly, until it has let go of its socket and port. PROC, the followed process,
    guards against a pid reused meanwhile."""
    import psutil

    with contextlib.suppress(psutil.Error):
        proc = proc or psutil.Process(pid)
        proc.kill()  # SIGKILL: a stopped process would not act on SIGTERM
    # Not proc.wait(): the master is not our child, and its zombie can linger until
    # init reaps it. A zombie has closed its sockets already: enough.
    deadline = time.monotonic() + KILL_WAIT
    while proc is not None and time.monotonic() < deadline:
        try:
            if proc.status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
                break
        except psutil.Error:
            break
        time.sleep(0.01)
    return ev.MasterKilled(ticket)


def master_by_title(control_path: str) -> int | None:
    """A backgrounded master's title is `ssh: <ControlPath> [mux]` (GUIDE §3)."""
    import psutil

    me = os.getuid()
    for proc in psutil.process_iter(["cmdline", "uids"]):
        try:
            if proc.info["uids"] is None or proc.info["uids"].real != me:
                continue
            title = " ".join(proc.info["cmdline"] or [])
        except (psutil.Error, AttributeError):
            continue
        if control_path and control_path in title and "[mux]" in title:
            return int(proc.pid)
    return None


def _first(settings: Settings, key: str) -> str | None:
    values = settings.get(key)
    return values[0] if values else None


def probe_address(settings: Settings) -> ev.Address | None:
    """Where the host's sshd listens, when that is an IP address ssh connects to directly."""
    for key in ("proxyjump", "proxycommand"):
        value = _first(settings, key)
        if value and value.lower() != "none":
            return None
    try:
        ip = ipaddress.ip_address(_first(settings, "hostname") or "")
        port = int(_first(settings, "port") or "22")
    except ValueError:
        return None  # a name: resolving it here could block; the master's peer is used later
    if ip.version == 6:
        return socket.AF_INET6, (str(ip), port, 0, 0)
    return socket.AF_INET, (str(ip), port)


def _quiet(line: str) -> None:
    """The watchdog logs what it concludes itself; a session's remarks go nowhere."""
