"""Idle jobs free their allocation, and the recipe's own `uvx ... jupyter-lab` works
(issue 16, items 4 and 5), in process: the duration a user types, the arguments Jupyter
gets, the record kept in hosts.json, the watch that tells an idle stop from a death
(the real watch.sh, in dash and bash), the watchdog's answer to it and what `status`
prints. The lab proves the real thing (tests/test_idle.py, tests/test_uvx.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
from test_watchdog_machine import Sim

from jssh import remote, render
from jssh.durations import format_duration, parse_duration
from jssh.errors import UsageError
from jssh.hosts import Endpoint, HostRecord, Launch, RecordError
from jssh.remote import ReplyKey, parse_reply
from jssh.states import HostStatus, ServerState
from jssh.watchdog import effects as fx
from jssh.watchdog import events as ev
from jssh.watchdog.states import HostState, ServerEnd, ServerPhase

SHELLS = [shell for shell in ("dash", "bash") if shutil.which(shell)]
# Jupyter's own last words when its idle timeout ends it: jupyter_server 2, then 1.x.
IDLE_LINE_2 = "[I 2026-11-27 14:40:00.123 ServerApp] No kernels for 65 seconds; shutting down."
IDLE_LINE_1 = (
    "[I 2026-11-27 14:40:00.123 ServerApp] No kernels or terminals for 1843 seconds; shutting down."
)


def record(**launch: object) -> HostRecord:
    return HostRecord(
        name="unit", target="unit", local_port=8899, endpoint=Endpoint(socket="/tmp/s/u.sock"),
        ssh_options=[], control_path="/nonexistent/cm/unit",
        launch=Launch(**launch),  # type: ignore[arg-type]
    )  # fmt: skip


# -- the duration a user types ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("2h", 7200), ("90s", 90), ("90", 90), ("1h30m", 5400), ("1h5s", 3605),
     (" 45M ", 2700), ("0", 0), ("off", 0)],
)  # fmt: skip
def test_durations_in_s_m_h_forms_and_plain_seconds(text: str, seconds: int) -> None:
    assert parse_duration(text, "--idle-timeout") == seconds


@pytest.mark.parametrize("text", ["", "5x", "m", "30 m", "1m1h", "-5m", "1.5h", "9999999h"])
def test_a_bad_duration_is_one_line_naming_the_option_and_the_forms(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_duration(text, "--idle-timeout")
    assert caught.value.message.startswith(f"--idle-timeout {text!r} is not a duration")
    assert "30m" in caught.value.message
    assert "\n" not in caught.value.message


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "5s"), (90, "1m30s"), (125, "2m05s"), (1800, "30m"), (3600, "1h"), (5400, "1h30m"),
     (3605, "1h00m05s")],
)  # fmt: skip
def test_durations_print_as_add_takes_them(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text, "--idle-timeout") == seconds


# -- what Jupyter is started with ---------------------------------------------------------


def test_an_idle_timeout_turns_on_jupyters_own_culling_and_shutdown() -> None:
    args = remote.jupyter_args(record(idle_timeout=1800))
    assert args[:2] == ["lab", "--no-browser"]
    assert args[-4:] == [
        "--ServerApp.shutdown_no_activity_timeout=1800",
        "--MappingKernelManager.cull_idle_timeout=1800",
        "--MappingKernelManager.cull_interval=60",
        "--MappingKernelManager.cull_connected=True",
    ]
    short = remote.jupyter_args(record(idle_timeout=3))
    assert "--MappingKernelManager.cull_interval=1" in short
    assert not [a for a in remote.jupyter_args(record()) if "cull" in a or "no_activity" in a]


@pytest.mark.parametrize(
    ("command", "app"),
    [
        ("uvx --from=jupyterlab jupyter-lab", "lab"),
        ("/opt/conda/bin/jupyter-notebook", "notebook"),
        ("pipx run --spec jupyter-server jupyter-server", "server"),
        ("apptainer exec img.sif jupyter lab", "lab"),
        ("apptainer exec img.sif jupyter", None),
        ("uvx --from jupyterlab jupyter", None),
    ],
)
def test_a_command_that_names_its_app_gets_no_second_one(command: str, app: str | None) -> None:
    launch = Launch(command=command.split())
    assert launch.named_app() == app
    args = remote.jupyter_args(record(command=command.split()))
    assert (args[0] == "lab") is (app is None)
    assert args[0 if app else 1] == "--no-browser"


def test_the_recipes_uvx_command_runs_as_written_with_jssh_arguments_after_it() -> None:
    # What run.sh execs: the user's command, then jssh's words, no `lab` in between.
    rec = record(command=["uvx", "--from=jupyterlab", "jupyter-lab"], idle_timeout=60)
    script = remote.ensure_script(rec, "tok", wait_seconds=5, use_tmux=False)
    assert "CMD_WORDS='uvx --from=jupyterlab jupyter-lab'" in script
    jupyter = script.split("\nJUPYTER_ARGS=", 1)[1].split("\n", 1)[0]
    assert jupyter.startswith("'--no-browser --sock /tmp/s/u.sock")
    assert "lab" not in jupyter.split("--sock")[0]
    assert "--ServerApp.shutdown_no_activity_timeout=60" in jupyter


def test_doctor_asks_a_command_that_names_its_app_for_plain_jupyters_version() -> None:
    # `jupyter-lab server --version` would be JupyterLab asked to open a file `server`.
    rec = record(command=["uvx", "--from=jupyterlab", "jupyter-lab", "--debug"])
    assert "CMD_WORDS='uvx --from=jupyterlab jupyter'" in remote.inspect_script(rec)
    rec = record(command=["/opt/conda/bin/jupyter-notebook"])
    assert "CMD_WORDS=/opt/conda/bin/jupyter\n" in remote.inspect_script(rec)
    rec = record(command=["apptainer", "exec", "i.sif", "jupyter", "lab"])
    assert "CMD_WORDS='apptainer exec i.sif jupyter'" in remote.inspect_script(rec)


def test_a_notebook_command_opens_the_notebook_page() -> None:
    assert record(command=["jupyter-notebook"]).url("t").endswith("/tree?token=t")
    assert record(command=["uvx", "--from=jupyterlab", "jupyter-lab"]).url(None).endswith("/lab")


# -- kept in hosts.json -------------------------------------------------------------------


def test_the_idle_timeout_is_kept_and_older_records_without_it_still_load() -> None:
    rec = record(idle_timeout=1800)
    data = json.loads(json.dumps(rec.to_json()))
    assert data["launch"]["idle_timeout"] == 1800
    assert HostRecord.from_json(data) == rec
    del data["launch"]["idle_timeout"]  # as every hosts.json written before it
    assert HostRecord.from_json(data).launch.idle_timeout is None
    data["launch"]["idle_timeout"] = "30m"
    with pytest.raises(RecordError, match=r"launch\.idle_timeout is not a number of seconds"):
        HostRecord.from_json(data)


# -- the watch tells an idle stop from a death ----------------------------------------------


def _watch_reply(shell: str, home: Path, log: str, *, server_exits: bool) -> remote.Reply:
    d = home / ".jssh" / "unit"
    d.mkdir(parents=True, exist_ok=True)
    (d / "jupyter.log").write_text(log)
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C"}
    server = subprocess.Popen(["sleep", "60"])
    try:
        if server_exits:
            (d / "server.pid").write_text(f"{server.pid}\n")
        watch = subprocess.Popen(
            [shell, "-s"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True
        )
        assert watch.stdin is not None
        assert watch.stdout is not None
        watch.stdin.write(remote.watch_script(record()))
        watch.stdin.flush()
        if server_exits:
            time.sleep(0.3)
            assert watch.poll() is None  # it waits while the server runs
            server.kill()
        watch.wait(timeout=10)
        reply = parse_reply(watch.stdout.read(), watch.returncode)
        watch.stdin.close()
        watch.stdout.close()
        return reply
    finally:
        server.kill()
        server.wait()


@pytest.mark.parametrize("shell", SHELLS)
def test_the_watch_says_idle_when_jupyters_last_words_say_so(shell: str, tmp_path: Path) -> None:
    reply = _watch_reply(shell, tmp_path, f"started\n{IDLE_LINE_2}\nbye\n", server_exits=True)
    assert reply.has(ReplyKey.GONE)
    assert reply.value(ReplyKey.IDLE) == "65"
    # Found gone when the watch begins (the watchdog was not running): the same.
    later = _watch_reply(shell, tmp_path, f"{IDLE_LINE_1}\n", server_exits=False)
    assert later.has(ReplyKey.NOTRUNNING)
    assert later.value(ReplyKey.IDLE) == "1843"
    # A server that died or was killed says nothing of the kind.
    died = _watch_reply(shell, tmp_path, "Traceback ...\nKilled\n", server_exits=True)
    assert died.has(ReplyKey.GONE)
    assert not died.has(ReplyKey.IDLE)


@pytest.mark.parametrize("shell", SHELLS)
def test_status_asks_the_log_why_a_server_is_not_running(shell: str, tmp_path: Path) -> None:
    d = tmp_path / ".jssh" / "unit"
    d.mkdir(parents=True)
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "LANG": "C"}

    def ended(rec: HostRecord) -> remote.Reply:
        script = remote.ended_script(rec)
        done = subprocess.run([shell, "-s"], input=script, env=env, capture_output=True, text=True)
        return parse_reply(done.stdout, done.returncode)

    (d / "jupyter.log").write_text(f"{IDLE_LINE_2}\n")
    (d / "job.log").write_text("jssh: Slurm job 7 on node1\nKilled\n")
    assert ended(record(idle_timeout=60)).value(ReplyKey.IDLE) == "65"
    assert not ended(replace(record(idle_timeout=60), slurm="-t 10")).has(ReplyKey.IDLE)


# -- the watchdog does not restart what its timeout ended ----------------------------------


def _watch_ticket(sim: Sim) -> int:
    return sim.last(fx.WatchServer).ticket


def test_a_server_stopped_by_its_idle_timeout_is_reported_once_and_not_restarted() -> None:
    sim = Sim()
    sim.start()
    effects = sim.send(ev.ServerWatched(_watch_ticket(sim), ServerEnd.GONE, 500, "tmux", 1843))
    assert not [e for e in effects if isinstance(e, fx.RestartServer)]
    assert sim.lines()[-1] == (
        "Jupyter server pid 500 stopped after 30m43s idle; not restarting it (its idle"
        " timeout); `jssh up ws` starts it again (same URL)"
    )
    # The tunnel stays, and a watch waits for the server `jssh up` starts.
    assert sim.state is HostState.CONNECTED
    assert sim.host.server.phase is ServerPhase.IDLE_STOPPED
    assert sim.last(fx.WatchServer).until_start
    assert not sim.wait(3600)  # nothing more is said or done
    # A new master (the old one died) waits likewise: no restart, no second report.
    sim.send(ev.MasterExited(100))
    sim.attempt_ends(0)
    sim.master_found(101)
    assert sim.last(fx.WatchServer).until_start
    assert not [e for e in sim.effects if isinstance(e, fx.RestartServer)]
    assert sum("idle" in line for line in sim.lines()) == 1
    # `jssh up` starts it: watched again, and restarted if it then dies.
    sim.send(ev.ServerWatched(_watch_ticket(sim), ServerEnd.APPEARED, 600))
    assert sim.host.server.phase is ServerPhase.WATCHING
    assert not sim.last(fx.WatchServer).until_start
    sim.send(ev.ServerWatched(_watch_ticket(sim), ServerEnd.GONE, 600, "tmux"))
    assert sim.last(fx.RestartServer)


def test_a_server_found_stopped_by_its_timeout_when_the_watchdog_starts_is_left_so() -> None:
    sim = Sim()
    sim.start()
    effects = sim.send(ev.ServerWatched(_watch_ticket(sim), ServerEnd.NONE, None, "tmux", 65))
    assert not [e for e in effects if isinstance(e, fx.RestartServer)]
    assert sim.lines()[-1].startswith("Jupyter server stopped after 1m05s idle; not restarting")


# -- what `status` prints -------------------------------------------------------------------


def _status(**fields: object) -> HostStatus:
    base: dict[str, object] = {
        "name": "hpc", "alias": "hpc-jupyter", "master_pid": 1, "local_port": 8899,
        "port_answers": True, "server": ServerState.RUNNING, "server_pid": 2,
        "server_uptime_s": 3, "mode": "tmux", "url": None, "wanted": True,
    }  # fmt: skip
    return HostStatus(**{**base, **fields})  # type: ignore[arg-type]


def test_status_shows_the_setting_and_the_time_idle_or_that_it_stopped_idle() -> None:
    assert render.server_cell(_status()) == "running (tmux)"
    assert render.idle_line(_status()) is None
    running = _status(idle_timeout_s=1800, idle_s=125)
    assert render.server_cell(running) == "running (tmux)"  # the table keeps its width
    assert render.idle_line(running) == "hpc: idle 2m05s of 30m, then Jupyter stops itself"
    unknown = _status(idle_timeout_s=1800, port_answers=False)
    assert render.idle_line(unknown) == "hpc: Jupyter stops itself after 30m idle"
    stopped = _status(server=ServerState.STOPPED, mode=None, idle_timeout_s=1800, stopped_idle=True)
    assert render.server_cell(stopped) == "stopped (idle)"
    server = stopped.to_json()["server"]
    assert isinstance(server, dict)
    assert (server["idle_timeout_seconds"], server["stopped_idle"]) == (1800, True)
    assert "idle timeout  30m" in render.host_summary(record(idle_timeout=1800))
