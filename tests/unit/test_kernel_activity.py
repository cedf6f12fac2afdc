"""Before `down` stops a server: are its kernels someone's work? (issue 13, item 5).
The judgement on what the server said (GET /api/kernels, or kernels.sh's reply), and
`down`'s way through it, with fakes for ssh and the backend."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from jssh.errors import ExitCode, KernelsInUse
from jssh.hosts import Endpoint, HostRecord
from jssh.remote import parse_reply
from jssh.session.kernels import KernelActivity, from_api, from_reply, notebooks_from_api
from jssh.session.lifecycle import Session

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def iso(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")


def kernels(*pairs: tuple[str, str]) -> bytes:
    return json.dumps(
        [{"id": str(i), "execution_state": s, "last_activity": t} for i, (s, t) in enumerate(pairs)]
    ).encode()


def test_kernels_active_within_the_hour_are_someones_work() -> None:
    found = from_api(kernels(("idle", iso(90)), ("idle", iso(4))))
    assert found == KernelActivity(2, 0, NOW - timedelta(minutes=4))
    assert found.recent(NOW)
    assert found.describe(NOW) == "2 kernels run there, the last active 4 min ago"


def test_kernels_idle_for_over_an_hour_are_not() -> None:
    found = from_api(kernels(("idle", iso(61)), ("idle", iso(300))))
    assert found is not None
    assert not found.recent(NOW)


def test_a_busy_kernel_is_in_use_however_old_its_last_message() -> None:
    found = from_api(kernels(("busy", iso(600))))
    assert found is not None
    assert found.recent(NOW)
    assert found.describe(NOW) == "1 kernel runs there, 1 busy now, the last active 10 h 0 min ago"


def test_no_kernels_no_question() -> None:
    assert from_api(b"[]") == KernelActivity(0)
    assert not KernelActivity(0).recent(NOW)


def test_an_answer_that_is_not_a_list_of_kernels_is_no_answer() -> None:
    assert from_api(b"<html>403</html>") is None
    assert from_api(b'{"message": "Forbidden"}') is None


def test_the_notebooks_open_with_them_are_named_so_the_user_knows_whose_they_are() -> None:
    sessions = [{"path": f"nb{i}.ipynb", "kernel": {"id": str(i)}} for i in range(5)]
    names = notebooks_from_api(json.dumps(sessions).encode())
    assert names == tuple(f"nb{i}.ipynb" for i in range(5))
    found = KernelActivity(5, 0, NOW - timedelta(seconds=30), names)
    assert found.describe(NOW) == (
        "5 kernels run there (nb0.ipynb, nb1.ipynb, nb2.ipynb, …), the last active 30 s ago"
    )
    assert notebooks_from_api(b"<html>") == ()


def test_the_remote_scripts_reply_says_the_same() -> None:
    reply = parse_reply(
        f"KERNEL idle {iso(2)}\nKERNEL busy -\nNOTEBOOK work/a b.ipynb\nKERNELS 2\n", 0
    )
    assert from_reply(reply) == KernelActivity(
        2, 1, NOW - timedelta(minutes=2), ("work/a b.ipynb",)
    )
    assert from_reply(parse_reply("NOTRUNNING\n", 0)) == KernelActivity(0)
    assert from_reply(parse_reply("UNASKED it answered 403\n", 0)) is None  # not asked: stop
    assert from_reply(parse_reply("ERROR cannot make ~/.jssh/x private\n", 5)) is None


# -- `down`'s way through it ------------------------------------------------------------------
class _Files:
    def __init__(self) -> None:
        self.wanted, self.token_kept = True, True

    def token(self) -> str | None:
        return None  # no token here: the remote is asked over ssh

    def want(self, on: bool) -> None:
        self.wanted = on

    def forget_token(self) -> None:
        self.token_kept = False

    def saved_job(self) -> dict[str, str]:
        return {}  # a second laptop: it never submitted the job


class _Tunnel:
    def master_pid(self) -> int | None:
        return None  # no tunnel of ours: another laptop's `down`


class _Ssh:
    """Answers each remote command with the next (stdout, exit status), and keeps the
    commands (the remote argv, and the script it was given on stdin)."""

    def __init__(self, reply: str, rc: int, *more: tuple[str, int]) -> None:
        self.replies = [(reply, rc), *more]
        self.commands: list[tuple[list[str], str]] = []

    @property
    def scripts(self) -> int:
        return len(self.commands)

    def run(
        self, alias: str, remote_argv: list[str], *, input_text: str | None = None,
        timeout: float | None = 60,
    ) -> Any:  # fmt: skip
        self.commands.append((list(remote_argv), input_text or ""))
        stdout, rc = self.replies.pop(0)
        return SimpleNamespace(stdout=stdout, returncode=rc, stderr="")

    def run_script(self, alias: str, script: str, *, timeout: float | None = 60) -> Any:
        return self.run(alias, ["sh", "-s"], input_text=script, timeout=timeout)


class _Backend:
    def __init__(self) -> None:
        self.calls: list[bool] = []

    def take_down(self, *, keep_server: bool) -> list[str]:
        self.calls.append(keep_server)
        return ["no tunnel was open"]


def _session(ssh: _Ssh, *, slurm: str | None = None) -> tuple[Session, _Backend, _Files]:
    record = HostRecord(
        name="ws", target="ws", local_port=8899, endpoint=Endpoint(socket="/tmp/j/ws.sock"),
        ssh_options=[], control_path="/tmp/cm/ws", slurm=slurm,
    )  # fmt: skip
    files, backend = _Files(), _Backend()
    parts = SimpleNamespace(record=record, ssh=ssh, tunnel=_Tunnel(), files=files)
    return Session(parts, backend), backend, files  # type: ignore[arg-type]


def test_down_refuses_before_it_changes_anything() -> None:
    ssh = _Ssh(f"KERNEL idle {datetime.now(UTC).isoformat()}\nKERNELS 1\n", 0)
    session, backend, files = _session(ssh)
    with pytest.raises(KernelsInUse) as refused:
        session.down(keep_server=False, force=False)
    assert refused.value.exit_code == ExitCode.IN_USE
    assert refused.value.message.startswith("ws: not stopped: 1 kernel runs there")
    assert backend.calls == []  # nothing touched: still wanted, its token kept
    assert files.wanted
    assert files.token_kept


def test_down_of_a_host_that_ssh_cannot_reach_does_not_wait_for_it_twice() -> None:
    ssh = _Ssh("", 255)  # ConnectTimeout ran out, say
    session, backend, files = _session(ssh)
    done = session.down(keep_server=False, force=False)
    assert done[0] == "could not reach ws to stop the server"
    assert ssh.scripts == 1  # not a second ssh for stop.sh
    assert backend.calls == [True]  # the masters only
    assert not files.wanted  # down as before
    assert not files.token_kept


def test_down_with_force_asks_nothing() -> None:
    ssh = _Ssh("", 255)
    session, backend, _files = _session(ssh)
    session.down(keep_server=False, force=True)
    assert ssh.scripts == 0
    assert backend.calls == [False]


def test_a_slurm_jobs_kernels_are_asked_by_a_step_inside_the_job() -> None:
    # The login node cannot reach the compute node's socket; a step in the job can.
    recent = datetime.now(UTC).isoformat()
    ssh = _Ssh(
        "JOB 4242|RUNNING|node7|3:59:00|None|0:01:00\n", 0,
        (f"KERNEL busy {recent}\nKERNELS 1\n", 0),
    )  # fmt: skip
    session, backend, _files = _session(ssh, slurm="-p gpu")
    with pytest.raises(KernelsInUse) as refused:
        session.down(keep_server=False, force=False)
    assert refused.value.message.startswith("ws: not stopped: 1 kernel runs there, 1 busy now")
    assert backend.calls == []  # the job is kept
    (query, _), (step, script) = ssh.commands
    assert query == ["sh", "-s"]
    assert step == ["srun", "--jobid=4242", "--overlap", "--nodes=1", "--ntasks=1", "--quiet",
                    "sh", "-s"]  # fmt: skip
    assert script.startswith("NAME=")  # kernels.sh, on srun's stdin
    assert "KERNELS" in script


def test_a_slurm_host_with_no_job_of_ours_has_no_kernels_to_ask() -> None:
    ssh = _Ssh("", 0)  # squeue lists nothing
    session, backend, _files = _session(ssh, slurm="-p gpu")
    session.down(keep_server=False, force=False)
    assert ssh.scripts == 1  # no srun
    assert backend.calls == [False]


def test_a_queued_slurm_job_is_not_asked_and_down_cancels_it() -> None:
    ssh = _Ssh("JOB 4242|PENDING||4:00:00|Priority|0:00\n", 0)
    session, backend, _files = _session(ssh, slurm="-p gpu")
    session.down(keep_server=False, force=False)
    assert ssh.scripts == 1
    assert backend.calls == [False]
