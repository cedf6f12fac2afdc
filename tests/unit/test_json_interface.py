"""Every key of every `--json` output is documented in the man page, and nothing more.

The man page's JSON OUTPUT section is the interface scripts rely on; these tests hold
it against what the code really prints.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jssh.cli.hosts import list_entry
from jssh.commands.checks import Check
from jssh.hosts import Endpoint, HostRecord
from jssh.states import HostStatus, JobInfo, ServerState

MAN = (Path(__file__).resolve().parents[2] / "man" / "jssh.1").read_text()


def _documented(title: str) -> set[str]:
    """The top-level keys (`.TP` then `.B key`) of one JSON OUTPUT subsection."""
    start = MAN.index(f'.SS "{title}"')
    end = MAN.find(".SS ", start + 1)
    body = MAN[start:end]
    return set(re.findall(r"^\.TP\n\.B (\w+)$", body, re.MULTILINE))


def _record() -> HostRecord:
    return HostRecord(
        name="ws", target="ws", local_port=8899, endpoint=Endpoint(socket="/tmp/s"),
        ssh_options=[], control_path="/tmp/cm/ws",
    )  # fmt: skip


def _status() -> HostStatus:
    return HostStatus(
        name="ws", alias="ws-jupyter", master_pid=1, local_port=8899, port_answers=True,
        server=ServerState.RUNNING, server_pid=2, server_uptime_s=3, mode="tmux", url=None,
        wanted=True, job=JobInfo("42", "RUNNING"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("title", "keys"),
    [
        (r"jssh list \-\-json", set(list_entry(_record()))),
        (r"jssh status \-\-json", set(_status().to_json())),
        (r"jssh doctor \-\-json", set(Check("c", None, True, "d").to_json())),
    ],
)
def test_each_output_documents_exactly_its_keys(title: str, keys: set[str]) -> None:
    assert _documented(title) == keys


def test_the_nested_objects_of_status_are_documented_in_full() -> None:
    status = _status().to_json()
    start = MAN.index(r'.SS "jssh status \-\-json"')
    body = MAN[start : MAN.find(".SS ", start + 1)]
    for nested in ("master", "server", "job"):
        value = status[nested]
        assert isinstance(value, dict)
        for key in value:
            assert re.search(rf"^\.BR? {key}\b", body, re.MULTILINE), f"{nested}.{key}"
