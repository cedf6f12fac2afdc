"""The watchdog's policy: retry or give up, and how soon, decided on failure kinds."""

from __future__ import annotations

import pytest

from jssh.failures import SshFailure
from jssh.watchdog import policy
from jssh.watchdog.states import Verdict


@pytest.mark.parametrize("failure", list(SshFailure))
def test_every_ssh_failure_has_a_verdict_that_follows_its_kind(failure: SshFailure) -> None:
    verdict = policy.verdict(failure)
    if failure.needs_user:
        assert verdict is Verdict.GIVE_UP  # never retried: account lockout
    elif failure.network:
        assert verdict is Verdict.RETRY_WHEN_REACHABLE
    else:
        assert verdict is Verdict.RETRY


def test_authentication_failures_are_never_retried_and_a_busy_port_is() -> None:
    assert policy.verdict(SshFailure.AUTH) is Verdict.GIVE_UP
    assert policy.verdict(SshFailure.HOST_KEY_CHANGED) is Verdict.GIVE_UP
    assert policy.verdict(SshFailure.UNREACHABLE) is Verdict.RETRY_WHEN_REACHABLE
    assert policy.verdict(SshFailure.PORT_BUSY) is Verdict.RETRY
    assert policy.verdict(None) is Verdict.RETRY  # ssh exited 0 but no master runs


def test_the_backoff_doubles_from_half_a_second_and_is_capped_at_thirty() -> None:
    for seed in range(200):
        delays = [policy.backoff(n, seed=seed, nudged=False) for n in range(1, 15)]
        for n, delay in enumerate(delays, start=1):
            nominal = min(30.0, 0.5 * 2 ** (n - 1))
            assert nominal * (1 - policy.JITTER) <= delay <= nominal * (1 + policy.JITTER)


def test_the_jitter_spreads_hosts_that_fail_together() -> None:
    delays = {round(policy.backoff(3, seed=seed, nudged=False), 3) for seed in range(50)}
    assert len(delays) > 40
    assert policy.backoff(3, seed=1, nudged=False) == policy.backoff(3, seed=1, nudged=False)


def test_after_a_network_change_failures_are_retried_within_a_quarter_second() -> None:
    assert policy.backoff(9, seed=1, nudged=True) == policy.NUDGE_RETRY
    assert policy.nudged(100.0, now=100.0 + policy.NUDGE_WINDOW - 0.1)
    assert not policy.nudged(100.0, now=100.0 + policy.NUDGE_WINDOW)
    assert not policy.nudged(None, now=5.0)
    assert policy.probe_interval(nudged=True) < policy.probe_interval(nudged=False)


def test_a_repeated_failure_is_logged_on_attempts_1_2_4_8() -> None:
    logged = [n for n in range(1, 40) if policy.worth_logging(n, repeated=True)]
    assert logged == [1, 2, 4, 8, 16, 32]
    assert policy.worth_logging(7, repeated=False)  # a new kind of failure always is
