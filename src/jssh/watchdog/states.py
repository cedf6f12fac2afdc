"""The watchdog's vocabulary: what state a host is in, and the reasons it acts.

Plain enums with no jssh imports (supervisor keeps its `states.py` a leaf for the same
reason): the state machine, the policy, the event and effect types and the tests all
speak them, and none of them has to import a module with I/O in it to do so.

Decisions are made on these values, never on the words they print: rewording a log
line must not change what the watchdog does.
"""

from __future__ import annotations

from enum import Enum


class HostState(Enum):
    """Where one host is in its lifecycle (see machine.ALLOWED for the transitions)."""

    IDLE = "idle"  # loaded, not looked at yet
    CHECKING = "checking"  # asking (off the loop) whether a master runs, or a Slurm job
    CONNECTED = "connected"  # following a live master
    KILLING = "killing"  # a master that cannot work is being killed (off the loop)
    STARTING = "starting"  # a respawn's ssh runs
    WAITING = "waiting"  # between respawns: a backoff, perhaps a reachability probe
    NEEDS_USER = "needs-user"  # only the user can fix it (a prompt, a host key): left alone
    JOB_ENDED = "job-ended"  # a Slurm host's job ended: nothing to reconnect to
    DOWN = "down"  # the user brought it down (no wanted marker): left alone

    @property
    def retrying(self) -> bool:
        """On the way back to a master: `jssh status` shows these four as "retrying"."""
        return self in _RETRYING

    @property
    def shown(self) -> str:
        """The word `jssh status` and watchdog.json show (stable: scripts read it)."""
        return "retrying" if self.retrying else self.value


_RETRYING = frozenset(
    {HostState.CHECKING, HostState.KILLING, HostState.STARTING, HostState.WAITING}
)


class Cause(Enum):
    """Why the watchdog looks at a host afresh; the value starts the log line."""

    STARTED = "watchdog started"
    RELOADED = "reloaded on SIGHUP"
    RECONFIGURED = "host (re)configured"
    BROUGHT_UP = "brought up"  # its wanted marker appeared (`jssh up`)


class Purpose(Enum):
    """What a look for a live master is for: it decides what happens when none runs."""

    CONSIDER = "consider"  # a fresh look (Cause): none runs -> start one
    ADOPT = "adopt"  # a control socket appeared: none runs -> carry on as before
    AFTER_ATTEMPT = "after-attempt"  # a respawn's ssh exited: none runs -> judge its failure
    SLURM_STEP = "slurm-step"  # which of a Slurm host's masters to start next


class Master(Enum):
    """Which master an attempt starts. A plain host has one; a Slurm host has two."""

    FORWARD = "forward"  # the one that holds the forward (a Slurm host's node master)
    LOGIN = "login"  # a Slurm host's login node master, which the node's jumps through


class Fault(Enum):
    """Why a master that still runs is killed; the value ends the log line."""

    STOPPED = "is stopped (SIGSTOP): it cannot keep the tunnel"
    SILENT = "does not answer on its control socket"
    PATH_GONE = "lost its network path (its connection is dead, though ssh cannot tell yet)"
    ASLEEP = "did not answer after the sleep (its connection is dead, though ssh cannot tell yet)"


class Setback(Enum):
    """Failures that are not ssh's (those are jssh.failures.SshFailure)."""

    NO_MASTER = "ssh exited but no master runs"
    COULD_NOT_START = "could not start ssh"


class Timer(Enum):
    """The host's own deadlines, kept in its state; the loop fires `Due(timer)`."""

    RETRY = "retry"  # the backoff is over: the next respawn
    PROBE = "probe"  # the next reachability probe (and the end of the last one)
    ATTEMPT_LIMIT = "attempt-limit"  # a respawn's ssh has run too long: kill it
    VERIFY_SOCKET = "verify-socket"  # a followed master's socket was deleted: look again
    SERVER = "server"  # the next server restart (BACKOFF) or watch (REWATCH)


class Verdict(Enum):
    """What the policy says to do after a respawn failed."""

    GIVE_UP = "give-up"  # only the user can fix it: never retry (account lockout)
    RETRY_WHEN_REACHABLE = "retry-when-reachable"  # backoff, and probe its sshd meanwhile
    RETRY = "retry"  # backoff only


class ServerPhase(Enum):
    """What the watchdog does about a connected workstation's Jupyter server (a Slurm
    host's server ends its job: that one is never restarted)."""

    NONE = "none"  # not watched: no master followed, or a Slurm host
    WATCHING = "watching"  # a watch through the master waits for the server to exit
    RESTARTING = "restarting"  # ensure.sh with the saved token runs (off the loop)
    BACKOFF = "backoff"  # it died again soon after a restart: the next one when due
    REWATCH = "rewatch"  # the watch ended without an answer: a new one when due
    GAVE_UP = "gave-up"  # it kept dying: only a watch for a server `jssh up` starts
    IDLE_STOPPED = "idle-stopped"  # its idle timeout ended it: likewise, not restarted


class ServerEnd(Enum):
    """What a watch through the master answered (watch.sh's reply, typed)."""

    GONE = "gone"  # the server it watched exited
    NONE = "none"  # no server ran when the watch began (a reboot, a crash unseen)
    APPEARED = "appeared"  # (after giving up) a server runs again: `jssh up` started one
    LOST = "lost"  # the watch ended without a reply: its master went, or ssh failed


class RestartResult(Enum):
    """How a restart with the saved token went (ensure.sh's reply, typed)."""

    STARTED = "started"  # a new server listens, with the same token
    RUNNING = "running"  # one runs already (someone ran `jssh up`)
    FAILED = "failed"  # it exited at start, did not listen in time, or was not found
    BUSY = "busy"  # another jssh holds the remote lock: soon again, not a failure
    UNREACHABLE = "unreachable"  # ssh through the master failed
    NO_TOKEN = "no-token"  # noqa: S105 - no saved token: a restart would change the URL
