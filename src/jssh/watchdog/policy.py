"""When to try again, how soon, and when to stop trying: pure functions of numbers and
of the failure kind (jssh.failures.SshFailure), never of a message's words.

autossh keeps the same decisions apart from its loop (`ssh_wait`, `grace_time`); so does
this module, so that they can be read, and tested, in one place.
"""

from __future__ import annotations

import random

from jssh.failures import SshFailure
from jssh.watchdog.states import Verdict

# A respawn's ssh gives up connecting after this many seconds. Short, so an attempt
# that began while the link was down is not left sitting in the kernel's SYN backoff
# (GUIDE §3); the probe and the network nudge start a fresh one when the host answers.
CONNECT_TIMEOUT = 5
# ConnectTimeout covers the TCP connect and the banner only: an attempt stuck later
# (key exchange over a link that died mid-way) is killed after this long.
ATTEMPT_LIMIT = 60.0
# Backoff between failed respawns: doubling from BACKOFF_FIRST up to BACKOFF_CAP, each
# delay jittered by +-JITTER so that hosts failing together do not retry together.
BACKOFF_FIRST = 0.5
BACKOFF_CAP = 30.0
JITTER = 0.2
# After a network change, failures are retried quickly for a while: the first connect
# after a link comes back can still fail (a stale ARP entry answers "No route to host").
NUDGE_WINDOW = 10.0
NUDGE_RETRY = 0.25
# One TCP connect a second to a down host's sshd (a new SYN each time, never the
# kernel's SYN backoff); five a second for NUDGE_WINDOW after a network change, when
# the link is likely coming back and its first packets can still be lost.
PROBE_INTERVAL = 1.0
PROBE_FAST = 0.2
# A master seen stopped on this many periodic looks in a row is killed and replaced.
STOPPED_CHECKS = 2
# When `jssh up` or `jssh down` holds a host's lock, look again this much later.
LOCK_RETRY = 2.0
# A followed master's socket was deleted: look again this much later, by state rather
# than by event (a master that exits removes its socket, and a respawn makes a new one).
VERIFY_SOCKET_DELAY = 0.5
# The watchdog woke this much later than it asked to (on a clock that counts a suspend):
# the laptop slept, or the watchdog was stopped. Its masters' connections may have died
# meanwhile without a word, which ssh learns only from ServerAlive (~15 s): each is
# asked for a round trip, and one that gives none within VERIFY_WAIT is replaced. (Not
# less: a loop starved of CPU for seconds on a loaded machine must not read as a sleep.)
ASLEEP_AFTER = 10.0
VERIFY_WAIT = 4.0


def verdict(failure: SshFailure | None) -> Verdict:
    """What to do after a respawn failed this way (None: ssh exited 0, no master runs).

    Only the user can fix a prompt, a host key or a bad config: BatchMode retries would
    never succeed, and for authentication they could lock the account (ansible never
    retries those either). A network failure is retried, and the host's sshd probed
    so that the next attempt starts the moment it answers. Anything else (a busy port,
    a remote failure, something unknown) is retried on the backoff alone.
    """
    if failure is not None and failure.needs_user:
        return Verdict.GIVE_UP
    if failure is not None and failure.network:
        return Verdict.RETRY_WHEN_REACHABLE
    return Verdict.RETRY


def nudged(nudged_at: float | None, now: float) -> bool:
    """The network changed a moment ago: the link is probably coming back."""
    return nudged_at is not None and now - nudged_at < NUDGE_WINDOW


def backoff(failures: int, *, seed: int, nudged: bool) -> float:
    """Seconds before respawn number `failures + 1`: capped doubling with jitter.

    The jitter comes from `seed` and the count, not from a global generator, so the
    machine stays a pure function and a test can pin it.
    """
    delay = min(BACKOFF_CAP, BACKOFF_FIRST * 2.0 ** max(0, failures - 1))
    luck = random.Random(seed * 1_000_003 + failures).uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 - jitter, not crypto
    delay *= luck
    return min(delay, NUDGE_RETRY) if nudged else delay


def probe_interval(*, nudged: bool) -> float:
    return PROBE_FAST if nudged else PROBE_INTERVAL


def power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def worth_logging(failures: int, *, repeated: bool) -> bool:
    """A host down for a day must not fill the log: the same failure again is logged
    on attempts 1, 2, 4, 8, ... (`jssh status` always has the latest)."""
    return not repeated or power_of_two(failures)


def ask_job(failures: int, asked_at: int | None) -> bool:
    """Ask squeue whether a Slurm host's job still runs, before respawning its node's
    master? On the first attempt of an outage, then on attempts 1, 2, 4, 8, ...: a job
    can end during a long outage, but asking on every retry costs a remote call each."""
    if asked_at is None:
        return True
    return (failures == 0 or power_of_two(failures)) and failures != asked_at


# -- a workstation's Jupyter server --------------------------------------------------------------
# A server that dies within SERVER_STABLE s of a restart (or whose restart fails) counts
# towards SERVER_TRIES restarts in a row; then the watchdog gives up (a missing module, a
# bad config: restarting would never help). The first restart is at once; the next ones
# wait SERVER_BACKOFF_FIRST, doubling, up to SERVER_BACKOFF_CAP.
SERVER_TRIES = 4
SERVER_STABLE = 30.0
SERVER_BACKOFF_FIRST = 1.0
SERVER_BACKOFF_CAP = 8.0
# A watch that ended without an answer (its master went, ssh failed) is started again
# this much later, if the master is still followed.
WATCH_RETRY = 1.0
# How long a restart waits for the server to listen (ensure.sh's wait).
RESTART_WAIT = 60.0


def server_backoff(tries: int) -> float:
    """Seconds before restart number `tries` (1: the first, at once)."""
    if tries <= 1:
        return 0.0
    return min(SERVER_BACKOFF_CAP, SERVER_BACKOFF_FIRST * 2.0 ** (tries - 2))


def server_crashed(started_at: float | None, now: float) -> bool:
    """The server died soon after a restart started it: a crash loop, perhaps."""
    return started_at is not None and now - started_at < SERVER_STABLE
