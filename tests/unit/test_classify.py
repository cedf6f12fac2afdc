"""Every ssh failure becomes a kind; the message is rendered from the kind, once."""

from __future__ import annotations

import pytest

from jssh.errors import BusyError, ConfigError, ExitCode, SshError
from jssh.failures import SshFailure
from jssh.ssh.classify import classify_failure, diagnose

ALIAS = "ws-jupyter"

SAMPLES = {
    SshFailure.CONFIG: "Bad owner or permissions on /home/u/.ssh/config\n",
    SshFailure.PORT_BUSY: "bind [127.0.0.1]:8899: Address already in use\n"
    "channel_setup_fwd_listener_tcpip: cannot listen to port: 8899\n",
    SshFailure.RESOLVE: "ssh: Could not resolve hostname nosuch.invalid: Name or service not known",
    SshFailure.HOST_KEY_CHANGED: "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\n"
    "Host key verification failed.\n",
    SshFailure.HOST_KEY_UNKNOWN: "No ED25519 host key is known for [127.0.0.1]:2222 and you"
    " have requested strict checking.\nHost key verification failed.\n",
    SshFailure.AUTH: "jsshlab@127.0.0.1: Permission denied (publickey).\n",
    SshFailure.REFUSED: "ssh: connect to host 127.0.0.1 port 1: Connection refused\n",
    SshFailure.TIMEOUT: "ssh: connect to host 198.18.0.2 port 22: Connection timed out\n",
    SshFailure.UNREACHABLE: "ssh: connect to host 198.18.0.2 port 22: No route to host\n",
    SshFailure.CLOSED: "kex_exchange_identification: Connection closed by remote host\n",
    SshFailure.UNKNOWN: "something nobody has seen before\n",
}


@pytest.mark.parametrize("kind", sorted(SAMPLES, key=lambda k: k.value))
def test_each_of_sshs_failures_is_recognised(kind: SshFailure) -> None:
    assert diagnose(SAMPLES[kind]).kind is kind
    assert classify_failure(ALIAS, SAMPLES[kind]).kind is kind


def test_only_the_user_can_fix_auth_host_keys_and_config() -> None:
    needs_user = {k for k in SshFailure if k.needs_user}
    assert needs_user == {
        SshFailure.NO_CLIENT, SshFailure.CONFIG, SshFailure.AUTH,
        SshFailure.HOST_KEY_UNKNOWN, SshFailure.HOST_KEY_CHANGED,
    }  # fmt: skip
    assert not any(k.network for k in needs_user)


def test_network_failures_are_the_ones_worth_retrying_when_the_network_returns() -> None:
    assert {k for k in SshFailure if k.network} == {
        SshFailure.RESOLVE, SshFailure.REFUSED, SshFailure.TIMEOUT,
        SshFailure.UNREACHABLE, SshFailure.CLOSED,
    }  # fmt: skip


def test_a_busy_local_port_is_a_busy_error_naming_the_port() -> None:
    error = classify_failure(ALIAS, SAMPLES[SshFailure.PORT_BUSY])
    assert isinstance(error, BusyError)
    assert error.exit_code is ExitCode.BUSY
    assert "local port 8899" in error.message


def test_a_config_ssh_refuses_names_the_file_and_the_chmod() -> None:
    error = classify_failure(ALIAS, SAMPLES[SshFailure.CONFIG])
    assert isinstance(error, ConfigError)
    assert error.hint == "make it yours and not writable by others: chmod 600 /home/u/.ssh/config"


def test_without_a_terminal_an_auth_failure_says_how_to_get_on() -> None:
    batch = classify_failure(ALIAS, SAMPLES[SshFailure.AUTH], interactive=False)
    assert batch.message == f"authentication to {ALIAS} failed (publickey)"
    assert batch.hint
    assert "ssh-agent" in batch.hint
    assert classify_failure(ALIAS, SAMPLES[SshFailure.AUTH]).hint is None


def test_a_new_host_key_gets_different_advice_from_a_changed_one() -> None:
    new = classify_failure(ALIAS, SAMPLES[SshFailure.HOST_KEY_UNKNOWN])
    changed = classify_failure(ALIAS, SAMPLES[SshFailure.HOST_KEY_CHANGED])
    assert new.hint
    assert f"ssh {ALIAS} true" in new.hint
    assert "it changed" in changed.message
    assert changed.hint
    assert "ssh-keygen -R" in changed.hint


def test_an_unknown_failure_shows_sshs_last_words() -> None:
    error = classify_failure(ALIAS, "debug1: x\nthe very last thing\n")
    assert isinstance(error, SshError)
    assert error.message == f"ssh to {ALIAS} failed: the very last thing"
