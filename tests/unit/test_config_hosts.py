"""A hand-edited or hostile hosts.json: one clear line each, nothing lost, and never a
line of it turned into ssh config of its own."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from jssh.config.sshconfig import render_managed
from jssh.errors import ConfigError
from jssh.hosts import Endpoint, HostRecord, Registry

SOURCE = "/home/u/.ssh/jssh/hosts.json"


def record(name: str = "ws", **changes: Any) -> HostRecord:
    values: dict[str, Any] = {
        "name": name, "target": name, "local_port": 8899,
        "endpoint": Endpoint(socket=f"/tmp/jssh-u/{name}.sock"),
        "ssh_options": [("HostName", "127.0.0.1"), ("User", "u")],
        "control_path": f"/home/u/.ssh/jssh/cm/{name}",
    }  # fmt: skip
    values.update(changes)
    return HostRecord(**values)


def payload(**changes: Any) -> dict[str, Any]:
    registry = Registry(hosts={"ws": record(), "gpu": record("gpu", local_port=8900)})
    data: dict[str, Any] = json.loads(registry.dumps())
    data.update(changes)
    return data


def one_line(exc: pytest.ExceptionInfo[ConfigError]) -> str:
    message = exc.value.message
    assert "\n" not in message
    assert SOURCE in message
    return message


def test_nesting_a_hundred_thousand_deep_is_one_clear_line() -> None:
    with pytest.raises(ConfigError) as caught:
        Registry.loads("[" * 100_000 + "]" * 100_000, SOURCE)
    assert "nested too deeply" in one_line(caught)
    assert "move it away" in (caught.value.hint or "")


def test_a_newer_format_is_called_newer_not_damaged() -> None:
    with pytest.raises(ConfigError) as caught:
        Registry.loads(json.dumps(payload(version=2)), SOURCE)
    line = one_line(caught)
    assert "written by a newer jssh" in line
    assert "damaged" not in line
    assert "upgrade jssh" in (caught.value.hint or "")


@pytest.mark.parametrize("version", [0, "1", None, True])
def test_an_unknown_version_is_damage(version: object) -> None:
    with pytest.raises(ConfigError) as caught:
        Registry.loads(json.dumps(payload(version=version)), SOURCE)
    assert "damaged" in one_line(caught)


def test_a_wrong_include_text_is_named_kept_and_not_a_type_error() -> None:
    text = json.dumps(payload(include_text=5))
    registry = Registry.loads(text, SOURCE)
    assert registry.include_text is None
    assert registry.include_unknown
    (problem,) = registry.problems
    assert '"include_text" is damaged (5)' in problem
    assert json.loads(registry.dumps())["include_text"] == 5  # nothing lost


def bad_entry(mutate: Any) -> str:
    data = payload()
    mutate(data["hosts"]["ws"])
    return json.dumps(data)


HOSTILE_ENTRIES = {
    "newline in an ssh option": (
        lambda e: e["ssh_options"].append(["User", "x\nHost *\n  ProxyCommand sh -c id"]),
        "ssh_options[2] value (User) contains a newline",
    ),
    "a Host keyword as an option": (
        lambda e: e["ssh_options"].append(["Host", "*"]),
        "keyword 'Host' is not a setting",
    ),
    "a port that is text": (lambda e: e.update(local_port="8899"), "local_port is not a port"),
    "a port that is true": (lambda e: e.update(local_port=True), "local_port is not a port"),
    "no endpoint": (lambda e: e.pop("endpoint"), "endpoint is not an object"),
    "a node name with a space": (
        lambda e: e.update(slurm_node="n1 ProxyCommand"),
        "slurm_node is not a plain name",
    ),
    "a hostile target": (lambda e: e.update(target="ws;id"), "target: 'ws;id' is not a host"),
    "a name that differs from its key": (lambda e: e.update(name="other"), "its name is"),
    "a launch command that is not words": (
        lambda e: e["launch"].update(command="jupyter"),
        "launch.command is not a list",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_ENTRIES))
def test_a_damaged_host_is_kept_apart_and_the_others_still_work(case: str) -> None:
    mutate, expected = HOSTILE_ENTRIES[case]
    text = bad_entry(mutate)
    registry = Registry.loads(text, SOURCE)
    assert list(registry.hosts) == ["gpu"]
    (problem,) = registry.problems
    assert expected in problem, problem
    assert "`jssh remove ws`" in problem
    assert "\n" not in problem
    # Written back, the damaged entry is exactly as it was found.
    assert json.loads(registry.dumps())["hosts"]["ws"] == json.loads(text)["hosts"]["ws"]
    # And it never reaches the managed ssh config.
    managed = render_managed(registry.hosts.values())
    assert "Host *" not in managed
    assert "ws-jupyter" not in managed


def test_dropping_a_damaged_host_loses_nothing_else() -> None:
    text = bad_entry(lambda e: e.update(local_port=-1))
    registry = Registry.loads(text, SOURCE)
    del registry.damaged["ws"]
    again = Registry.loads(registry.dumps(), SOURCE)
    assert list(again.hosts) == ["gpu"]
    assert again.hosts["gpu"] == record("gpu", local_port=8900)
    assert not again.problems


def test_a_valid_file_round_trips() -> None:
    text = Registry(hosts={"ws": record()}, include_text="# x\r\nInclude y\r\n\r\n").dumps()
    registry = Registry.loads(text, SOURCE)
    assert registry.dumps() == text
    assert registry.include_text == "# x\r\nInclude y\r\n\r\n"
    assert copy.deepcopy(registry.hosts) == {"ws": record()}


def test_the_renderer_refuses_a_control_character_however_it_got_there() -> None:
    sneaky = record(ssh_options=[("User", "x\rHost *")])
    with pytest.raises(ConfigError) as caught:
        render_managed([sneaky])
    assert "control character" in caught.value.message
