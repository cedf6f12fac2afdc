"""The remote scripts as files: their headers hold, they parse in dash and bash, they
pass shellcheck, the loader fills them in safely, and they do their job when run.

Every `.sh` file under src/jssh/remote says at its top what it reads (Parameters), what
it leaves for later files (Provides), what it prints (Replies) and how it exits (Exit
codes). These tests hold the headers to the code, so that no file reads a variable
nobody declared and no reply or exit code goes undocumented.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import psutil
import pytest

from jssh import remote
from jssh.hosts import Endpoint, HostRecord, Launch
from jssh.remote import ExitCode, ReplyKey, loader, parse_reply
from lab.util import wait_until

FILES = sorted(
    p.name.removesuffix(".sh")
    for p in resources.files("jssh.remote").iterdir()
    if p.name.endswith(".sh")
)
SCRIPTS = [name for name in FILES if loader.header(name).pieces]
PIECES = [name for name in FILES if not loader.header(name).pieces]
SHELLS = [shell for shell in ("dash", "bash") if shutil.which(shell)]
# Read by the scripts, set by the remote login, not by jssh.
ENVIRONMENT = {"HOME", "PATH", "SHELL", "CONDA_EXE"}
NASTY = 'it\'s "a" $HOME `id` \\ ~ * \n new line; rm -rf /'


def _path(name: str) -> Path:
    return Path(str(resources.files("jssh.remote").joinpath(f"{name}.sh")))


def _record(**launch: object) -> HostRecord:
    return HostRecord(
        name="unit",
        target="unit",
        local_port=8899,
        endpoint=Endpoint(port=8888),
        ssh_options=[],
        control_path="/nonexistent/cm/unit",
        launch=Launch(**launch),  # type: ignore[arg-type]
    )


def _sample(name: str) -> str:
    """Script `name` with a hostile value in every parameter: the code is the same
    whatever the values (they are only ever assignments at the top)."""
    return loader.build(name, dict.fromkeys(loader.parameters(name), NASTY))


def _header_lines(name: str) -> list[str]:
    return _path(name).read_text().split("\n\n", 1)[0].splitlines()


def _code(name: str) -> str:
    """The body without its here-documents (their text is another script's)."""
    return re.sub(r"<<'(\w+)'\n.*?^\1$", "", loader.body(name), flags=re.M | re.S)


def _section_lines(name: str, section: str) -> list[str]:
    lines, inside = [], False
    for line in _header_lines(name):
        if line == f"# {section}:":
            inside = True
        elif inside and (line == "#" or not line.startswith("#  ")):
            break
        elif inside:
            lines.append(line)
    return lines


def _inherited(name: str, section: str) -> list[str]:
    """The words of a section's `and ...` lines: what a script's pieces add."""
    words: list[str] = []
    inherited = False
    for line in _section_lines(name, section):
        if line.startswith("#   and "):
            inherited = True
        elif line.startswith("#   "):
            inherited = False
        if inherited:
            words += re.findall(r"\b[A-Z][A-Z0-9]+\b|\b\d+\b", line)
    return words


def _preceding(name: str) -> list[str]:
    header = loader.header(name)
    return list(header.pieces or header.after)


# -- the files and the scripts parse and pass shellcheck ------------------------------------


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("name", FILES)
def test_every_file_parses(shell: str, name: str) -> None:
    subprocess.run([shell, "-n", str(_path(name))], check=True, capture_output=True)


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("name", SCRIPTS)
def test_every_whole_script_parses(shell: str, name: str) -> None:
    subprocess.run([shell, "-n"], input=_sample(name), text=True, check=True)


@pytest.mark.skipif(not shutil.which("shellcheck"), reason="shellcheck is not installed")
def test_shellcheck_finds_nothing_in_the_files_or_the_whole_scripts(tmp_path: Path) -> None:
    # The whole scripts get harmless values: a value is data, and shellcheck would
    # (rightly) remark on `~/venv` or `command` as code.
    paths = [str(_path(name)) for name in FILES]
    for name in SCRIPTS:
        whole = tmp_path / f"{name}.sh"
        whole.write_text(loader.build(name, dict.fromkeys(loader.parameters(name), "x")))
        paths.append(str(whole))
    result = subprocess.run(
        ["shellcheck", "-s", "sh", "-f", "gcc", *paths], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- the headers hold -----------------------------------------------------------------------


@pytest.mark.parametrize("name", FILES)
def test_every_file_says_what_it_is_first(name: str) -> None:
    first = _header_lines(name)[0]
    assert first.startswith(f"# {name}.sh: ")


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_comes_after_what_its_pieces_need(name: str) -> None:
    loader.check_order(name)
    assert loader.header(name).pieces[0] == "helpers"
    assert all(piece in PIECES for piece in loader.header(name).pieces)


@pytest.mark.parametrize("name", FILES)
def test_every_variable_a_file_reads_is_declared(name: str) -> None:
    code = _code(name)
    reads = set(re.findall(r"(?<!\\)\$\{?([A-Za-z_][A-Za-z0-9_]*)", code))
    # $((...)) reads its variables without a $ of their own.
    reads |= {
        word
        for expression in re.findall(r"\$\(\((.*?)\)\)", code)
        for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expression)
    }
    assigned = set(re.findall(r"(?:^|[\s;(\"])([A-Za-z_][A-Za-z0-9_]*)=", code, re.M))
    assigned |= set(re.findall(r"\bfor (\w+) in\b", code))
    assigned |= set(re.findall(r"\bread (?:-r )?(\w+)", code))
    provided = {
        word
        for piece in _preceding(name)
        for word in loader.header(piece).sections.get("Provides", ())
    }
    params = set(loader.header(name).params)
    undeclared = reads - assigned - provided - params - ENVIRONMENT
    assert not undeclared, f"{name}.sh reads {sorted(undeclared)}: declare them"
    unread = params - reads
    assert not unread, f"{name}.sh declares {sorted(unread)} and never reads them"


@pytest.mark.parametrize("name", FILES)
def test_everything_a_file_provides_is_defined_there(name: str) -> None:
    code = loader.body(name)
    for word in loader.header(name).sections.get("Provides", ()):
        assert re.search(rf"(^|\s){word}(=|\(\) \{{)", code, re.M), word


@pytest.mark.parametrize("name", FILES)
def test_every_reply_a_file_prints_is_declared_and_named_in_python(name: str) -> None:
    declared = set(loader.header(name).sections.get("Replies", ()))
    said = set(re.findall(r'\bsay "([A-Z][A-Z0-9]*)(?=[ "])', _code(name)))
    assert said <= declared, f"{name}.sh prints {sorted(said - declared)} undeclared"
    known = {key.value for key in ReplyKey}
    assert declared <= known, f"{name}.sh: {sorted(declared - known)} are not ReplyKeys"
    claimed = {w for w in _inherited(name, "Replies") if not w.isdigit()}
    from_pieces = (
        {
            key
            for piece in _preceding(name)
            for key in loader.header(piece).sections.get("Replies", ())
        }
        if claimed
        else set()
    )
    assert claimed <= from_pieces, f"{name}.sh: no piece prints {sorted(claimed - from_pieces)}"


def _top_level(code: str) -> str:
    code = re.sub(r"^\w+\(\) \{\n.*?^\}\n", "", code, flags=re.M | re.S)
    return re.sub(r"^\w+\(\) \{.*\}\n", "", code, flags=re.M)


def _exits(code: str) -> set[int]:
    return {int(n) for n in re.findall(r"\bexit (\d+)\b(?!\")", code)}


@pytest.mark.parametrize("name", FILES)
def test_every_exit_code_is_declared_and_named_in_python(name: str) -> None:
    own = {int(n) for n in loader.header(name).sections.get("Exit codes", ()) if n.isdigit()}
    claimed = {int(w) for w in _inherited(name, "Exit codes") if w.isdigit()}
    code = _code(name)
    assert _exits(code) <= own, f"{name}.sh exits {sorted(_exits(code) - own)} undeclared"
    assert own | claimed <= {int(code) for code in ExitCode}
    # A piece that exits outside its functions does so in every script that has it.
    for piece in loader.header(name).pieces:
        assert _exits(_top_level(_code(piece))) <= own | claimed, (name, piece)


def test_every_reply_key_and_exit_code_is_in_some_header() -> None:
    keys = {key for name in FILES for key in loader.header(name).sections.get("Replies", ())}
    assert {key.value for key in ReplyKey} <= keys
    codes = {c for name in FILES for c in loader.header(name).sections.get("Exit codes", ())}
    assert {str(int(code)) for code in ExitCode if code != ExitCode.SSH_FAILED} <= codes


# -- the loader -----------------------------------------------------------------------------


def test_a_script_is_its_parameters_then_its_pieces_then_itself() -> None:
    script = loader.build("status", {"NAME": "ws"})
    assert script == "NAME=ws\n" + loader.body("helpers") + loader.body("host") + loader.body(
        "status"
    )
    assert "# status.sh" not in script  # headers stay home


def test_a_missing_or_undeclared_parameter_is_refused() -> None:
    with pytest.raises(ValueError, match=r"missing \['NAME'\]"):
        loader.build("status", {})
    with pytest.raises(ValueError, match=r"not declared \['SOCK'\]"):
        loader.build("status", {"NAME": "ws", "SOCK": "/s"})


@pytest.mark.parametrize("shell", SHELLS)
def test_any_value_reaches_the_shell_exactly(shell: str) -> None:
    values = {"A": NASTY, "B": "", "C": "'", "D": "~/x", "E": "é ∞", "F": 42}
    script = loader.assign(values) + "".join(f'printf "%s\\0" "${k}"\n' for k in values)
    result = subprocess.run([shell, "-s"], input=script, capture_output=True, text=True)
    assert result.stdout.split("\0")[:-1] == [str(v) for v in values.values()]


def test_the_token_is_only_in_its_assignment_and_on_no_command_line() -> None:
    token = "tok-only-here"
    record = _record(venv="~/v")
    script = remote.ensure_script(record, token, wait_seconds=1, use_tmux=True)
    assert [line for line in script.splitlines() if token in line] == [f"TOKEN={token}"]
    submit = remote.slurm_submit_script(record, token, ["--time=1"])
    assert [line for line in submit.splitlines() if token in line] == [f"TOKEN={token}"]
    assert token not in " ".join(remote.jupyter_args(record) + remote.log_command(record, 1, True))


# -- replies --------------------------------------------------------------------------------


def test_a_reply_keeps_the_first_value_every_line_and_the_log_tail_apart() -> None:
    stdout = "banner text\nJOB 1|RUNNING\nJOB 2|PENDING\nLOGTAIL-BEGIN\nRUNNING 9\nLOGTAIL-END\n"
    reply = parse_reply(stdout + "NODE n1\nREADY\n", 0)
    assert reply.get("JOB") == reply.value(ReplyKey.JOB) == "1|RUNNING"
    assert reply.values(ReplyKey.JOB) == ["1|RUNNING", "2|PENDING"]
    assert reply.log_tail == "RUNNING 9"
    assert not reply.has(ReplyKey.RUNNING)
    assert reply.has(ReplyKey.READY)
    assert reply.value(ReplyKey.READY) == ""
    assert reply.get(ReplyKey.NODE) == "n1"
    assert reply.exit is ExitCode.OK


def test_an_exit_status_is_named_when_a_script_gives_it() -> None:
    assert parse_reply("", 3).exit is ExitCode.NOT_FOUND
    assert parse_reply("", 255).exit is ExitCode.SSH_FAILED
    assert parse_reply("", 1).exit is None


# -- they do their job: find, start, report on and stop a (fake) Jupyter --------------------

FAKE_JUPYTER = """#!/bin/sh
if [ "$1 $2" = "server --version" ]; then echo 2.14.0; exit 0; fi
echo "fake jupyter argv: $*"
[ -n "${JUPYTER_TOKEN:-}" ] && echo "token from the environment"
echo "[I] Jupyter Server 2.14.0 is running at: http://127.0.0.1:8888/lab"
exec sleep 60
"""


@pytest.fixture
def remote_home(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A HOME with a venv holding a fake jupyter; kills what the scripts started."""
    home = tmp_path / "home"
    (home / "venv" / "bin").mkdir(parents=True)
    jupyter = home / "venv" / "bin" / "jupyter"
    jupyter.write_text(FAKE_JUPYTER)
    jupyter.chmod(0o755)
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C"}
    yield home, env
    pid_file = home / ".jssh" / "unit" / "server.pid"
    with contextlib.suppress(OSError, ValueError):
        os.kill(int(pid_file.read_text()), signal.SIGKILL)


def _run(shell: str, script: str, env: dict[str, str]) -> remote.Reply:
    result = subprocess.run(
        [shell, "-s"], input=script, env=env, capture_output=True, text=True, timeout=60
    )
    return parse_reply(result.stdout, result.returncode)


@pytest.mark.parametrize("shell", SHELLS)
def test_up_status_and_down_scripts_start_find_and_stop_a_server(
    shell: str, remote_home: tuple[Path, dict[str, str]]
) -> None:
    home, env = remote_home
    record = _record(venv="~/venv", notebook_dir="~")
    started = _run(
        shell, remote.ensure_script(record, "tok1", wait_seconds=20, use_tmux=False), env
    )
    assert started.exit is ExitCode.OK, started
    assert started.value(ReplyKey.MODE) == "nohup"
    pid = started.value(ReplyKey.STARTED)
    assert pid
    log = (home / ".jssh" / "unit" / "jupyter.log").read_text()
    assert "token from the environment" in log
    assert "tok1" not in log  # not on its command line
    assert f"--ServerApp.root_dir={home}" in log

    again = _run(shell, remote.ensure_script(record, "tok2", wait_seconds=20, use_tmux=False), env)
    assert (again.value(ReplyKey.RUNNING), again.value(ReplyKey.TOKEN)) == (pid, "tok1")
    status = _run(shell, remote.status_script(record), env)
    assert (status.value(ReplyKey.RUNNING), status.value(ReplyKey.TOKEN)) == (pid, "tok1")
    assert status.value(ReplyKey.UPTIME)

    stopped = _run(shell, remote.stop_script(record), env)
    assert stopped.value(ReplyKey.STOPPED) == pid
    assert _run(shell, remote.status_script(record), env).has(ReplyKey.STOPPED)
    assert _run(shell, remote.stop_script(record), env).has(ReplyKey.NOTRUNNING)


@pytest.mark.parametrize("shell", SHELLS)
def test_doctors_script_reports_what_it_finds(
    shell: str, remote_home: tuple[Path, dict[str, str]]
) -> None:
    home, env = remote_home
    found = _run(shell, remote.inspect_script(_record(venv="~/venv")), env)
    assert found.value(ReplyKey.FOUND) == f"{home}/venv/bin/jupyter"
    assert found.value(ReplyKey.SERVERVERSION) == "2.14.0"
    assert found.has(ReplyKey.TMUX) or found.has(ReplyKey.NOTMUX)
    missing = _run(shell, remote.inspect_script(_record(venv="~/nothing")), env)
    assert missing.value(ReplyKey.NOTFOUND) == f"{home}/nothing/bin/jupyter"
    assert not (home / ".jssh").exists()  # read-only


@pytest.mark.parametrize("shell", SHELLS)
def test_up_says_what_it_tried_when_jupyter_is_missing(
    shell: str, remote_home: tuple[Path, dict[str, str]]
) -> None:
    _, env = remote_home
    script = remote.ensure_script(_record(conda="nope"), "t", wait_seconds=1, use_tmux=False)
    reply = _run(shell, script, {**env, "PATH": "/usr/bin:/bin"})
    assert reply.exit is ExitCode.NOT_FOUND
    assert (reply.value(ReplyKey.NOTFOUND) or "").startswith("conda env nope")


@pytest.mark.parametrize("shell", SHELLS)
def test_up_says_a_server_that_exits_at_once_died_and_does_not_wait_for_it(
    shell: str, remote_home: tuple[Path, dict[str, str]]
) -> None:
    # A broken environment: jupyter starts and exits before the first look. Its
    # server.pid then names a pid that is gone, and that is a death, not "not yet started".
    home, env = remote_home
    broken = home / "broken" / "bin" / "jupyter"
    broken.parent.mkdir(parents=True)
    broken.write_text("#!/bin/sh\necho 'ModuleNotFoundError: No module named jupyterlab'\nexit 1\n")
    broken.chmod(0o755)
    script = remote.ensure_script(_record(venv="~/broken"), "t", wait_seconds=10, use_tmux=False)
    for _ in range(3):  # each run a fresh race between the server's exit and the first look
        reply = _run(shell, script, env)
        assert reply.exit is ExitCode.DIED, reply
        assert "No module named jupyterlab" in reply.log_tail, reply


@pytest.mark.parametrize("shell", SHELLS)
def test_a_lock_left_by_a_dead_jssh_is_broken(
    shell: str, remote_home: tuple[Path, dict[str, str]]
) -> None:
    home, env = remote_home
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock = home / ".jssh" / "unit" / "lock"
    lock.mkdir(parents=True)
    (lock / "pid").write_text(f"{dead.pid}\n")
    assert _run(shell, remote.stop_script(_record()), env).has(ReplyKey.NOTRUNNING)
    assert not lock.exists()


def _watch(shell: str, script: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """watch.sh as the watchdog runs it: its script on a stdin that stays open."""
    proc = subprocess.Popen(
        [shell, "-s"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True
    )
    assert proc.stdin is not None
    proc.stdin.write(script)
    proc.stdin.flush()
    return proc


def _answer(proc: subprocess.Popen[str]) -> remote.Reply:
    """What the watch said once it exited by itself (its stdin still open)."""
    proc.wait(timeout=10)
    assert proc.stdout is not None
    reply = parse_reply(proc.stdout.read(), proc.returncode)
    assert proc.stdin is not None
    proc.stdin.close()
    proc.stdout.close()
    return reply


@pytest.mark.parametrize("shell", SHELLS)
def test_the_watch_answers_when_the_server_exits_and_ends_with_its_stdin(
    shell: str, remote_home: tuple[Path, dict[str, str]]
) -> None:
    home, env = remote_home
    record = _record(venv="~/venv")
    d = home / ".jssh" / "unit"
    assert _run(shell, remote.watch_script(record), env).has(ReplyKey.NOTRUNNING)

    server = subprocess.Popen(["sleep", "60"])
    d.mkdir(parents=True, exist_ok=True)
    (d / "server.pid").write_text(f"{server.pid}\n")
    (d / "mode").write_text("nohup\n")
    watch = _watch(shell, remote.watch_script(record), env)
    time.sleep(0.3)
    assert watch.poll() is None  # it blocks while the server runs
    server.kill()
    server.wait()
    reply = _answer(watch)
    assert reply.value(ReplyKey.GONE) == str(server.pid)
    assert reply.value(ReplyKey.MODE) == "nohup"

    # Waiting for a server to start: answers once one runs.
    (d / "server.pid").unlink()
    watch = _watch(shell, remote.watch_script(record, until_start=True), env)
    time.sleep(0.3)
    assert watch.poll() is None
    again = subprocess.Popen(["sleep", "60"])
    try:
        (d / "server.pid").write_text(f"{again.pid}\n")
        assert _answer(watch).value(ReplyKey.APPEARED) == str(again.pid)
        # Stopped by the watchdog (its stdin closed): it ends at once, and says nothing.
        watch = _watch(shell, remote.watch_script(record), env)
        time.sleep(0.3)
        started = time.monotonic()
        out, _ = watch.communicate(input="", timeout=10)
        assert time.monotonic() - started < 2
        assert parse_reply(out, watch.returncode).value(ReplyKey.WATCHING) == str(again.pid)
        assert not parse_reply(out, watch.returncode).has(ReplyKey.GONE)
    finally:
        again.kill()
        again.wait()


def _host_functions(shell: str, code: str, env: dict[str, str]) -> str:
    """Run CODE in SHELL after host.sh (and the helpers it needs) for host `unit`: its
    stdout."""
    script = "\n".join(
        [loader.assign({"NAME": "unit"}), loader.body("helpers"), loader.body("host"), code]
    )
    result = subprocess.run(
        [shell, "-s"], input=script, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result
    return result.stdout


@pytest.mark.parametrize("shell", SHELLS)
def test_alive_tells_a_running_server_from_a_zombie_and_a_gone_pid(
    shell: str, remote_home: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    # A command name with ") Z " in it, as the /proc stat line puts it in parentheses.
    odd = tmp_path / "a) Z b"
    shutil.copy("/bin/sleep", odd)
    # A child of this test that has ended and that nobody has waited for yet: a zombie.
    zombie = subprocess.Popen(["true"])
    wait_until(
        lambda: psutil.Process(zombie.pid).status() == psutil.STATUS_ZOMBIE,
        timeout=10,
        what="the child to be a zombie",
    )
    _, env = remote_home
    code = "\n".join(
        [
            'sleep 30 & running=$!; "$ODD" 30 & oddly_named=$!',
            'for pid in "$running" "$oddly_named" "$ZOMBIE" 999999999 ""; do',
            '  if alive "$pid"; then echo alive; else echo dead; fi',
            "done",
            'kill "$running" "$oddly_named"',
        ]
    )
    try:
        said = _host_functions(shell, code, {**env, "ODD": str(odd), "ZOMBIE": str(zombie.pid)})
    finally:
        zombie.wait()
    assert said.split() == ["alive", "alive", "dead", "dead", "dead"]


@pytest.mark.parametrize("shell", SHELLS)
def test_server_pid_trusts_a_pid_only_while_its_start_time_matches(
    shell: str, remote_home: tuple[Path, dict[str, str]]
) -> None:
    home, env = remote_home
    running = subprocess.Popen(["sleep", "30"])
    try:
        started = subprocess.run(
            ["ps", "-o", "lstart=", "-p", str(running.pid)],
            capture_output=True, text=True, check=True,
        ).stdout.rstrip("\n")  # fmt: skip
        state = home / ".jssh" / "unit"
        state.mkdir(parents=True)
        # ps pads the day of the month: "Sat Nov  7 ..." must come back with both spaces.
        files = {
            "its own start time": f"{running.pid}\n{started}\n",
            "another process's start time": f"{running.pid}\nSat Nov  7 01:02:03 2026\n",
            "a pid alone (an older jssh)": f"{running.pid}\n",
            "an empty file": "",
            "no file": None,
        }
        found = {}
        for case, text in files.items():
            if text is None:
                (state / "server.pid").unlink(missing_ok=True)
            else:
                (state / "server.pid").write_text(text)
            found[case] = _host_functions(shell, 'echo "[$(server_pid)]"', env).strip()
    finally:
        running.kill()
        running.wait()
    assert found == {
        "its own start time": f"[{running.pid}]",
        "another process's start time": "[]",
        "a pid alone (an older jssh)": f"[{running.pid}]",
        "an empty file": "[]",
        "no file": "[]",
    }
