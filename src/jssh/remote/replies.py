"""What the remote scripts answer: `KEY value` lines on stdout, and an exit code.

Each script's header (src/jssh/remote/*.sh) says which keys it prints and which codes
it exits with; ReplyKey and ExitCode are the same lists, for Python to name them by
(tests/unit/test_remote_scripts.py keeps the two in step). Lines between LOGTAIL-BEGIN
and LOGTAIL-END are a log's tail, not replies.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

LOGTAIL_BEGIN = "LOGTAIL-BEGIN"
LOGTAIL_END = "LOGTAIL-END"


class ReplyKey(StrEnum):
    """The first word of a reply line. A StrEnum: `Reply.get(ReplyKey.RUNNING)` works."""

    # Jupyter on the remote (ensure.sh, status.sh, stop.sh)
    RUNNING = "RUNNING"  # pid: a server runs (ensure: it was running already)
    STARTED = "STARTED"  # pid: a new server listens
    MODE = "MODE"  # tmux | nohup | unknown
    TOKEN = "TOKEN"  # noqa: S105 - a key: the running server's (or Slurm job's) token
    UPTIME = "UPTIME"  # seconds, or [[dd-]hh:]mm:ss
    STOPPED = "STOPPED"  # status: no server runs; stop: pid, which exited on TERM
    KILLED = "KILLED"  # pid: stop had to kill it
    NOTRUNNING = "NOTRUNNING"  # stop: no server ran; watch: none ran when it began
    DIED = "DIED"  # pid: the new server exited before it listened (+ log tail)
    TIMEOUT = "TIMEOUT"  # it did not listen in time (+ log tail)
    SOCKDIR = "SOCKDIR"  # dir: the socket's directory is a link or not ours
    HOME = "HOME"  # the remote $HOME, with SOCKDIR
    # Watching the server (watch.sh, for `jssh watch`)
    WATCHING = "WATCHING"  # pid: the server the watch waits for
    GONE = "GONE"  # pid: that server exited
    APPEARED = "APPEARED"  # pid: a server runs (the watch waited for one)
    IDLE = "IDLE"  # seconds: the server shut itself down after its idle timeout
    # Its kernels, asked before `down` stops it (kernels.sh)
    KERNEL = "KERNEL"  # `execution_state last_activity`, one line per kernel
    KERNELS = "KERNELS"  # how many
    NOTEBOOK = "NOTEBOOK"  # a path a session has open with a kernel
    UNASKED = "UNASKED"  # why the server that runs could not be asked
    # Finding jupyter (find.sh, through ensure, inspect, slurm_submit)
    NOTFOUND = "NOTFOUND"  # what was tried
    FOUND = "FOUND"  # inspect: jupyter's path
    SERVERVERSION = "SERVERVERSION"  # inspect: `jupyter server --version`
    NOSERVER = "NOSERVER"  # inspect: that failed, and why
    TMUX = "TMUX"  # inspect: `tmux -V`
    NOTMUX = "NOTMUX"  # inspect: no tmux on this PATH
    # Any script
    WARN = "WARN"  # a warning for the user (write_run.sh: running as root)
    ERROR = "ERROR"  # host.sh: ~/.jssh/NAME can't be made private
    BUSY = "BUSY"  # lock.sh: another jssh holds NAME's lock
    # Slurm (slurm*.sh)
    NOSLURM = "NOSLURM"  # `cmd PATH=...`: a Slurm command is missing
    SQUEUEFAIL = "SQUEUEFAIL"  # squeue's words
    JOB = "JOB"  # id|state|nodes|time left|reason|time used (one line per job)
    NODE = "NODE"  # the running job's first node
    FINAL = "FINAL"  # `scontrol show job -o` for a job squeue forgot
    EXISTING = "EXISTING"  # job id: a job of ours is pending or running
    SUBMITTED = "SUBMITTED"  # job id
    SBATCHFAIL = "SBATCHFAIL"  # sbatch's exit code (+ its stderr as the log tail)
    READY = "READY"  # Jupyter in the job listens
    ENDED = "ENDED"  # the job's state: it stopped running before Jupyter listened
    CANCELLED = "CANCELLED"  # the job ids scancel was given
    LEFT = "LEFT"  # `id state` of jobs squeue still lists after the cancel
    NOJOB = "NOJOB"  # nothing to cancel


class ExitCode(IntEnum):
    """A remote script's exit status. 255 is ssh's own: the script may not have run."""

    OK = 0
    NOT_FOUND = 3  # NOTFOUND: jupyter was not found
    DIED = 4  # DIED: the server exited at start; ENDED: the Slurm job ended
    NOT_PRIVATE = 5  # ERROR: ~/.jssh/NAME can't be made 0700; SOCKDIR: not our directory
    BUSY = 6  # BUSY: another jssh holds NAME's lock
    TIMEOUT = 7  # TIMEOUT: Jupyter did not listen in time
    NO_SLURM = 8  # NOSLURM: a Slurm command is missing
    SQUEUE_FAILED = 9  # SQUEUEFAIL
    SBATCH_FAILED = 10  # SBATCHFAIL
    SSH_FAILED = 255  # ssh itself failed (connection lost, refused, ...)


@dataclass(frozen=True)
class Reply:
    """The KEY value lines a remote script printed, plus its log tail if any."""

    fields: dict[str, str]  # the first value of each key
    log_tail: str
    returncode: int
    lines: tuple[tuple[str, str], ...] = ()  # every (key, value), in order

    def get(self, key: str) -> str | None:
        """The first value of `key` (a ReplyKey, or its text), None when absent."""
        return self.fields.get(key)

    def value(self, key: ReplyKey) -> str | None:
        """The typed `get`: the first value of `key`, None when absent."""
        return self.fields.get(key)

    def has(self, key: ReplyKey) -> bool:
        """Whether the script printed `key` at all (its value may be empty)."""
        return key in self.fields

    def values(self, key: ReplyKey) -> list[str]:
        """Every value of `key`, in order (JOB lines, say)."""
        return [value for k, value in self.lines if k == key]

    @property
    def exit(self) -> ExitCode | None:
        """The exit status as an ExitCode; None for one no script gives."""
        try:
            return ExitCode(self.returncode)
        except ValueError:
            return None


def parse_reply(stdout: str, returncode: int) -> Reply:
    """A script's stdout as a Reply: KEY value lines (KEY all capitals), the log tail
    apart. Other lines (a login banner, a shell's noise) are dropped."""
    fields: dict[str, str] = {}
    lines: list[tuple[str, str]] = []
    tail: list[str] = []
    in_tail = False
    for line in stdout.splitlines():
        if line == LOGTAIL_BEGIN:
            in_tail = True
        elif line == LOGTAIL_END:
            in_tail = False
        elif in_tail:
            tail.append(line)
        else:
            key, _, value = line.partition(" ")
            if key.isupper():
                fields.setdefault(key, value)
                lines.append((key, value))
    return Reply(fields, "\n".join(tail), returncode, tuple(lines))
