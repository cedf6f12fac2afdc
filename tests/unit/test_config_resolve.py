"""What the block carries from `ssh -G HOST`, the guards against `Host *`, and the
messages: an unresolvable HOST, a probe error, a drift (no ssh: settings are given)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from jssh.config import resolve
from jssh.config.resolve import Resolved, assumption_warning, carried_options
from jssh.config.userconfig import split_args
from jssh.errors import ConfigError
from jssh.failures import SshFailure
from jssh.hosts import Endpoint, HostRecord
from jssh.names import parse_target
from jssh.paths import Paths

DEFAULTS = {
    "user": ["me"], "hostname": ["ws"], "port": ["22"], "compression": ["no"],
    "clearallforwardings": ["no"], "requesttty": ["auto"], "sessiontype": ["default"],
    "stdinnull": ["no"], "forkafterauthentication": ["no"], "tunnel": ["false"],
    "identityfile": ["~/.ssh/id_ed25519"],
}  # fmt: skip


def resolved(host: str = "ws", known: set[str] | None = None, **settings: list[str]) -> Resolved:
    values = {**DEFAULTS, **settings}
    keywords = set(DEFAULTS) | {"remotecommand"} if known is None else known
    return Resolved(parse_target(host), values, dict(DEFAULTS), frozenset(keywords))


def test_what_differs_from_the_defaults_is_carried_and_the_guards_follow() -> None:
    options = carried_options(resolved(hostname=["10.0.0.5"], compression=["yes"]))
    assert options[:4] == [
        ("User", "me"), ("HostName", "10.0.0.5"), ("Port", "22"), ("Compression", "yes")
    ]  # fmt: skip
    assert dict(options[4:]) == {
        "ClearAllForwardings": "no",
        "ForkAfterAuthentication": "no",
        "RemoteCommand": "none",
        "RequestTTY": "auto",
        "SessionType": "default",
        "StdinNull": "no",
        "Tunnel": "no",
    }


def test_what_host_sets_that_would_break_the_alias_is_not_carried() -> None:
    options = carried_options(
        resolved(remotecommand=["exec bash -l"], requesttty=["true"], remoteforward=["1 x:1"])
    )
    assert ("RemoteCommand", "none") in options
    assert ("RequestTTY", "auto") in options
    assert not [k for k, _ in options if k == "RemoteForward"]


def test_an_old_ssh_never_sees_a_keyword_it_does_not_know() -> None:
    old = resolved(known={"user", "hostname", "port", "clearallforwardings", "requesttty"})
    guards = {k for k, _ in carried_options(old)} - {"User", "HostName", "Port"}
    assert guards == {"ClearAllForwardings", "RequestTTY"}


def test_setenv_and_percent_n_come_out_as_ssh_reads_them() -> None:
    options = carried_options(
        resolved(
            setenv=["GREETING=hello world", "A=1", "B=2"],
            identityfile=["~/.ssh/keys/%n", "/k/%k"],
            hostkeyalias=["ws-key"],
        )
    )
    (setenv,) = [v for k, v in options if k == "SetEnv"]
    assert split_args(setenv) == ["GREETING=hello world", "A=1", "B=2"]
    assert [v for k, v in options if k == "IdentityFile"] == ["~/.ssh/keys/ws", "/k/ws-key"]


def test_a_host_that_is_no_alias_and_does_not_resolve_is_named_with_what_was_assumed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_such_host(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    config = Path("/home/u/.ssh/config")
    warning = assumption_warning(
        resolved("nosuchhost.invalid", hostname=["nosuchhost.invalid"]), set(), config
    )
    assert warning is not None
    assert "'nosuchhost.invalid' is not a Host in your ssh config (/home/u/.ssh/config)" in warning
    assert "does not resolve here (Name or service not known)" in warning
    assert "me@nosuchhost.invalid:22" in warning
    assert "your local user name, me" in warning
    assert "ssh's default port, 22" in warning
    # An alias, an address, or a host behind a proxy: nothing to say.
    assert assumption_warning(resolved("ws"), {"ws"}, config) is None
    assert assumption_warning(resolved("10.1.2.3", hostname=["10.1.2.3"]), set(), config) is None
    behind = resolved("inner", proxyjump=["gw"])
    assert assumption_warning(behind, set(), config) is None


def test_a_name_that_resolves_needs_no_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [])
    assert assumption_warning(resolved("gpu1.example.org"), set(), Path("/c")) is None


def record(**changes: Any) -> HostRecord:
    values: dict[str, Any] = {
        "name": "ws", "target": "ws", "local_port": 8899,
        "endpoint": Endpoint(socket="/tmp/jssh-me/ws.sock"),
        "ssh_options": [("HostName", "h"), ("Port", "2201")], "control_path": "/tmp/cm/ws",
        "remote_user": "me",
    }  # fmt: skip
    values.update(changes)
    return HostRecord(**values)


def test_a_drift_says_what_changed_keyword_by_keyword() -> None:
    new = record(ssh_options=[("HostName", "h"), ("Port", "2222"), ("ProxyJump", "gw")])
    drift = resolve.Drift(new, resolve._changes(record(), new))
    assert drift.describe() == "Port 2201 -> 2222; ProxyJump gw added"


def test_a_new_remote_user_moves_the_default_socket_only() -> None:
    assert resolve._endpoint_for(record(), "you").socket == "/tmp/jssh-you/ws.sock"
    custom = record(endpoint=Endpoint(socket="/run/mine.sock"))
    assert resolve._endpoint_for(custom, "you").socket == "/run/mine.sock"


def test_a_probe_error_names_the_users_file_and_line_never_the_temp_file() -> None:
    paths = Paths.build(Path("/home/u/.ssh/config"), Path("/home/u/state"))
    probe = Path("/tmp/jssh-probe-abc/config")
    error = ConfigError(
        f"ssh could not read its configuration for 'ws-jupyter': {probe} line 40:"
        " Invalid environment.",
        hint="fix the ssh config file named in that message",
        kind=SshFailure.CONFIG,
    )
    mapped = resolve._from_probe(error, probe, 30, paths, record())
    assert "/home/u/.ssh/config line 10: Invalid environment." in mapped.message
    assert "jssh-probe" not in mapped.message
    ours = resolve._from_probe(error, probe, 45, paths, record())
    assert "jssh's block for ws-jupyter (line 40" in ours.message
    assert "jssh show ws" in (ours.hint or "")
