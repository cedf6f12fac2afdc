"""The fault suite: things break behind jssh's back, and jssh recovers or says so clearly.

Each case asserts what a user sees — jssh recovered, or failed with one clear line and
a fix — and that no user file was damaged: the user's ssh config holds exactly their
own bytes plus jssh's Include, and the managed files are valid and private.
Run it alone with `pytest -m faults`. The watchdog's cases (master killed, stopped,
link cut, each healed by `jssh watch`) live with the watchdog's tests.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import psutil
import pytest

from lab import IS_ROOT, LabTimeout, Laptop, Result, Sshd, free_port, run, wait_until
from lab.client import assert_one_clear_error, status_json, token_of

pytestmark = pytest.mark.faults

NAME = "workstation"

# For the cases where jssh stops before it would start anything on the workstation.
SHARED = pytest.mark.shared_workstation


# -- what a user sees ----------------------------------------------------------------------


def up(laptop: Laptop, *extra: str) -> Result:
    result = laptop.jssh("up", NAME, "--no-open", *extra, timeout=120)
    assert result.ok, result
    assert result.stdout.strip().splitlines()[-1].startswith("http://127.0.0.1:"), result
    return result


def url_of(result: Result) -> str:
    return result.stdout.strip().splitlines()[-1]


def http_status(url: str) -> int | None:
    """GET /api/status through the forward with the URL's token."""
    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    try:
        conn.request("GET", "/api/status", headers={"Authorization": f"token {token_of(url)}"})
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def status(laptop: Laptop) -> dict[str, object]:
    return status_json(laptop, NAME)


def server_pid(laptop: Laptop) -> int:
    pid = status(laptop)["server"]["pid"]  # type: ignore[index]
    assert isinstance(pid, int), status(laptop)
    return pid


# -- the remote side ---------------------------------------------------------------------------


def recorded_server_pid(ws: Sshd) -> int:
    """The pid on server.pid's first line (its second: when that process started)."""
    return int((remote_state_dir(ws) / "server.pid").read_text().splitlines()[0])


def servers(ws: Sshd, name: str = NAME) -> list[psutil.Process]:
    """Jupyter servers for `name` running on the workstation (found by their socket arg)."""
    sock = f"/tmp/jssh-{ws.user}/{name}.sock"
    found = []
    for proc in ws.remote_processes():
        with contextlib.suppress(psutil.Error):
            cmdline = proc.cmdline()
            if sock in cmdline and "--sock" in cmdline:
                found.append(proc)
    return found


def tmux_sessions(ws: Sshd) -> list[str]:
    result = ws.run_as_remote(["tmux", "list-sessions", "-F", "#{session_name}"])
    return result.stdout.split() if result.ok else []


def remote_state_dir(ws: Sshd, name: str = NAME) -> Path:
    return ws.remote_home / ".jssh" / name


def wait_dead(pid: int, what: str) -> None:
    def dead() -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    wait_until(dead, timeout=15, what=what)


# -- the user's files ------------------------------------------------------------------------


class UserFiles:
    """The laptop user's own ssh config as it was before jssh, and checks against it."""

    def __init__(self, laptop: Laptop) -> None:
        self.laptop = laptop
        self.original = laptop.ssh_config.read_bytes()
        self.managed_dir = laptop.ssh_dir / "jssh"

    def expect_edit(self, edit: Callable[[bytes], bytes]) -> None:
        """The user changed their config by hand: apply the same edit to what we expect."""
        self.original = edit(self.original)

    def include_text(self) -> str | None:
        hosts = self.managed_dir / "hosts.json"
        if not hosts.exists():
            return None
        value = json.loads(hosts.read_text()).get("include_text")
        return str(value) if value else None

    def assert_intact(self, *, include_applies: bool = True) -> None:
        """User config = their bytes + at most jssh's Include; managed files valid, private.

        `include_applies=False` when the user's edit made the Include conditional on
        purpose: then ssh rightly does not see the managed block."""
        current = self.laptop.ssh_config.read_bytes()
        include = self.include_text()
        if include is not None:
            assert current.count(include.encode()) == 1, current.decode()
            current = current.replace(include.encode(), b"", 1)
        assert current == self.original, (
            f"the user's ssh config changed:\n--- now ---\n{current.decode()}"
        )
        leftovers = [p.name for p in self.laptop.ssh_dir.rglob("*.tmp")]
        assert leftovers == [], f"temp files left behind: {leftovers}"
        if not (self.managed_dir / "hosts.json").exists():
            assert not (self.managed_dir / "config").exists()
            return
        json.loads((self.managed_dir / "hosts.json").read_text())  # valid JSON
        for name in ("config", "hosts.json"):
            path = self.managed_dir / name
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(self.managed_dir.stat().st_mode) == 0o700
        # ssh itself can read the whole config, Include and all.
        resolved = self.laptop.ssh("-G", f"{NAME}-jupyter")
        assert resolved.ok, resolved
        if include_applies:
            assert "controlmaster auto" in resolved.stdout, resolved


@pytest.fixture
def files(laptop: Laptop) -> UserFiles:
    return UserFiles(laptop)


@pytest.fixture
def added(laptop: Laptop, files: UserFiles) -> Laptop:
    result = laptop.jssh_in_process("add", NAME)
    assert result.ok, result
    return laptop


# -- the remote sshd restarted --------------------------------------------------------------


def test_after_the_remote_sshd_restarts_up_reconnects_to_the_same_server(
    added: Laptop, files: UserFiles
) -> None:
    ws = added.workstation
    first = url_of(up(added))
    pid = server_pid(added)
    master = status(added)["master"]["pid"]  # type: ignore[index]
    assert isinstance(master, int)

    ws.restart()
    assert ws.kill_sessions(), "the restart left no session to drop"
    wait_dead(master, "the master to notice its connection is gone")
    assert status(added)["master"] == {"running": False, "pid": None}

    again = up(added)
    assert url_of(again) == first  # same server, same token
    assert "reusing" in again.stderr
    assert server_pid(added) == pid
    assert http_status(first) == 200
    assert [p.pid for p in servers(ws)] == [pid]
    files.assert_intact()


# -- the remote server or its tmux killed behind jssh's back -----------------------------------


def test_a_server_killed_behind_jssh_s_back_is_reported_stopped_and_up_starts_a_fresh_one(
    added: Laptop, files: UserFiles
) -> None:
    ws = added.workstation
    up(added)
    pid = server_pid(added)
    killed = ws.run_as_remote(["kill", "-9", str(pid)])
    assert killed.ok, killed
    wait_dead(pid, "the killed Jupyter server to go")

    state = status(added)
    assert state["server"]["state"] == "stopped", state  # type: ignore[index]
    assert state["url"] is None, state  # no URL that leads nowhere
    table = added.jssh("status", NAME)
    assert table.returncode == 9, table  # brought up, and not serving now
    assert "stopped" in table.stdout, table

    again = up(added)
    assert "started Jupyter" in again.stderr, again
    new_pid = server_pid(added)
    assert new_pid != pid
    assert http_status(url_of(again)) == 200
    assert [p.pid for p in servers(ws)] == [new_pid]
    assert tmux_sessions(ws) == [f"jssh-{NAME}"]
    files.assert_intact()


def test_after_the_remote_tmux_server_is_killed_status_tells_the_truth_and_up_recovers(
    added: Laptop, files: UserFiles
) -> None:
    ws = added.workstation
    up(added)
    pid = server_pid(added)
    tmux = [p for p in ws.remote_processes() if p.name().startswith("tmux")]
    assert tmux, ws.describe_processes()
    for proc in tmux:
        proc.kill()
    for proc in tmux:
        wait_dead(proc.pid, "the tmux server to go")
    # The pane's pty is gone: Jupyter gets SIGHUP. Whatever became of it, status must
    # agree with the process table.
    with contextlib.suppress(LabTimeout):
        wait_until(lambda: not servers(ws), timeout=10, what="Jupyter to follow its pane")
    alive = bool(servers(ws))
    state = status(added)
    assert state["server"]["state"] == ("running" if alive else "stopped"), state  # type: ignore[index]

    again = up(added)
    assert http_status(url_of(again)) == 200
    running = servers(ws)
    assert len(running) == 1, ws.describe_processes()
    assert (running[0].pid == pid) is alive
    assert recorded_server_pid(ws) == running[0].pid
    files.assert_intact()


# -- the local port taken between add and up -----------------------------------------------


def test_a_local_port_taken_after_add_is_named_with_its_holder_and_nothing_is_left_behind(
    added: Laptop, files: UserFiles
) -> None:
    port = status(added)["local_port"]
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import socket, sys, time\n"
         "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
         f"s.bind(('127.0.0.1', {port})); s.listen(); print('ready', flush=True)\n"
         "time.sleep(120)\n"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        result = added.jssh("up", NAME, "--no-open")
        line = assert_one_clear_error(result, 6, f"local port {port} is taken by")
        assert f"pid {holder.pid}" in line
        assert "--local-port" in line  # the fix
        # Nothing half-done: no tunnel, nothing started on the remote, not marked wanted.
        state = status(added)
        assert state["master"] == {"running": False, "pid": None}, state
        assert state["wanted_up"] is False, state
        assert servers(added.workstation) == []
        assert tmux_sessions(added.workstation) == []
    finally:
        holder.kill()
        holder.wait()
    assert http_status(url_of(up(added))) == 200  # the port is free again: up works
    files.assert_intact()


# -- the disk full when writing the managed config ---------------------------------------------


@pytest.fixture
def small_ssh_dir(laptop: Laptop) -> Iterator[Callable[[], None]]:
    """The laptop's ~/.ssh on its own 256 KiB tmpfs; yields fill(), which fills it up."""
    if not IS_ROOT:
        pytest.skip("mounting a small tmpfs for the laptop's ~/.ssh needs root")
    saved = laptop.root / "ssh-before-tmpfs"
    shutil.copytree(laptop.ssh_dir, saved)  # keeps modes; put back on the tmpfs below
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "jssh-faults", str(laptop.ssh_dir)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        shutil.copytree(saved, laptop.ssh_dir, dirs_exist_ok=True)
        filler = laptop.ssh_dir / "filler"

        def fill() -> None:
            # Unbuffered, smaller and smaller writes until not one byte more fits
            # (bounded by the tmpfs's 256 KiB).
            with open(filler, "ab", buffering=0) as f:
                for size in (65536, 4096, 512, 64, 8, 1):
                    with contextlib.suppress(OSError):
                        while f.write(b"\0" * size):
                            pass
            probe = laptop.ssh_dir / "probe"
            with pytest.raises(OSError), open(probe, "wb", buffering=0) as f:
                f.write(b"x")
            probe.unlink(missing_ok=True)

        yield fill
    finally:
        subprocess.run(["umount", str(laptop.ssh_dir)], check=False)
        subprocess.run(["umount", "-l", str(laptop.ssh_dir)], check=False, capture_output=True)


@pytest.mark.root
@SHARED
def test_a_full_disk_fails_add_with_one_line_and_leaves_no_partial_file(
    laptop: Laptop, small_ssh_dir: Callable[[], None]
) -> None:
    files = UserFiles(laptop)
    small_ssh_dir()
    result = laptop.jssh("add", NAME)
    assert_one_clear_error(result, 3, "disk is full")
    files.assert_intact()
    assert not (laptop.ssh_dir / "jssh" / "hosts.json").exists()
    assert not (laptop.ssh_dir / "jssh" / "config").exists()

    (laptop.ssh_dir / "filler").unlink()  # space again: the same command now works
    assert laptop.jssh_in_process("add", NAME).ok
    files.assert_intact()


@pytest.mark.root
@SHARED
def test_a_full_disk_during_an_update_keeps_the_previous_managed_files(
    laptop: Laptop, small_ssh_dir: Callable[[], None]
) -> None:
    files = UserFiles(laptop)
    assert laptop.jssh_in_process("add", NAME).ok
    managed = laptop.ssh_dir / "jssh"
    before = {name: (managed / name).read_bytes() for name in ("config", "hosts.json")}
    user_before = laptop.ssh_config.read_bytes()
    small_ssh_dir()
    result = laptop.jssh("add", NAME, "--local-port", "9123")
    assert_one_clear_error(result, 3, "disk is full")
    assert {name: (managed / name).read_bytes() for name in before} == before
    assert laptop.ssh_config.read_bytes() == user_before
    files.assert_intact()


# -- two `jssh up` at once ---------------------------------------------------------------------


def _up_at_once(*laptops: Laptop) -> list[Result]:
    procs = [
        subprocess.Popen(
            lt.jssh_argv("up", NAME, "--no-open"),
            env=lt.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for lt in laptops
    ]
    results = []
    for proc, lt in zip(procs, laptops, strict=True):
        out, err = proc.communicate(timeout=150)
        results.append(Result(lt.jssh_argv("up", NAME), proc.returncode, out, err, 0.0))
    return results


def test_two_ups_at_once_start_one_server(added: Laptop, files: UserFiles) -> None:
    ws = added.workstation
    first, second = _up_at_once(added, added)
    assert first.ok, first
    assert second.ok, second
    assert url_of(first) == url_of(second)
    assert sorted(["started Jupyter" in r.stderr for r in (first, second)]) == [False, True]
    running = servers(ws)
    assert len(running) == 1, ws.describe_processes()
    assert recorded_server_pid(ws) == running[0].pid
    assert tmux_sessions(ws) == [f"jssh-{NAME}"]
    assert http_status(url_of(first)) == 200
    files.assert_intact()


def test_two_laptops_up_the_same_host_at_once_and_share_one_server(
    added: Laptop, make_laptop: Callable[..., Laptop]
) -> None:
    # Two machines of one user: each has its own local lock, so only the remote lock
    # stands between them and two servers on one socket.
    other = make_laptop(added.workstation)
    port = free_port()
    assert other.jssh_in_process("add", NAME, "--local-port", str(port)).ok, "second laptop's add"
    first, second = _up_at_once(added, other)
    assert first.ok, first
    assert second.ok, second
    running = servers(added.workstation)
    assert len(running) == 1, added.workstation.describe_processes()
    assert token_of(url_of(first)) == token_of(url_of(second))
    assert http_status(url_of(first)) == 200
    assert http_status(url_of(second)) == 200


# -- corrupt state files --------------------------------------------------------------------------


@SHARED
@pytest.mark.parametrize(
    "garbage",
    [b'{"version": 1, "hosts": {"workstation": {"na', b"\x00\xff\xfe garbage \x80", b"[]\n"],
    ids=["truncated", "binary", "wrong-shape"],
)
def test_a_corrupt_hosts_json_is_named_with_a_fix_and_left_as_it_is(
    added: Laptop, files: UserFiles, garbage: bytes
) -> None:
    managed = added.ssh_dir / "jssh"
    hosts = managed / "hosts.json"
    hosts.write_bytes(garbage)
    managed_config = (managed / "config").read_bytes()
    user_config = added.ssh_config.read_bytes()
    for command in (["up", NAME, "--no-open"], ["status"], ["list"], ["add", NAME],
                    ["remove", NAME], ["url", NAME]):  # fmt: skip
        result = added.jssh(*command)
        line = assert_one_clear_error(result, 3, str(hosts))
        assert "restore it from a backup" in line or "move it away" in line, result
        assert hosts.read_bytes() == garbage, command
        assert (managed / "config").read_bytes() == managed_config, command
        assert added.ssh_config.read_bytes() == user_config, command
    # A Tab must stay silent, not print a traceback into the user's prompt.
    completion = {"_JSSH_COMPLETE": "complete_bash", "COMP_WORDS": "jssh up w", "COMP_CWORD": "2"}
    tab = run(added.jssh_argv(), env={**added.env, **completion})
    assert "Traceback" not in tab.stderr + tab.stdout, tab
    assert hosts.read_bytes() == garbage


@pytest.mark.parametrize(
    "garbage",
    [b"not-the-token\n", b"\xff\xfe\x00binary\x80\n", b""],
    ids=["text", "binary", "empty"],
)
def test_a_corrupt_token_file_is_repaired_by_up(added: Laptop, garbage: bytes) -> None:
    first = url_of(up(added))
    pid = server_pid(added)
    token_file = added.state_dir / "hosts" / NAME / "token"
    assert token_file.exists()
    token_file.write_bytes(garbage)

    again = up(added)
    assert url_of(again) == first  # the server's real token, from the remote
    assert server_pid(added) == pid
    assert token_file.read_text().strip() == token_of(first)
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert added.jssh("url", NAME).stdout.strip() == first


# -- the user's config edited by hand while jssh runs -------------------------------------------


def _append_host(data: bytes) -> bytes:
    return data + b"\n# added by hand while jssh ran\nHost scratch\n    HostName 127.0.0.1\n"


def _retune(data: bytes) -> bytes:
    assert b"ServerAliveInterval 60" in data
    return data.replace(b"ServerAliveInterval 60", b"ServerAliveInterval 30")


def test_hand_edits_to_the_user_config_while_jssh_runs_survive_up_add_and_remove(
    added: Laptop, files: UserFiles
) -> None:
    first = url_of(up(added))
    for edit in (_append_host, _retune):
        added.ssh_config.write_bytes(edit(added.ssh_config.read_bytes()))
        files.expect_edit(edit)

    assert url_of(up(added)) == first
    refreshed = added.jssh("add", NAME)
    assert refreshed.ok, refreshed
    files.assert_intact()
    assert added.ssh("-G", "scratch").ok  # their new host resolves

    removed = added.jssh("remove", NAME)
    assert removed.ok, removed
    assert added.ssh_config.read_bytes() == files.original  # their edits, without our Include
    assert servers(added.workstation) == []


def _prepend_host(data: bytes) -> bytes:
    return b"Host scratch\n    HostName 127.0.0.1\n\n" + data


@SHARED
def test_a_host_block_put_above_the_include_by_hand_is_still_removed_byte_for_byte(
    added: Laptop, files: UserFiles
) -> None:
    added.ssh_config.write_bytes(_prepend_host(added.ssh_config.read_bytes()))
    files.expect_edit(_prepend_host)
    removed = added.jssh("remove", NAME)
    assert removed.ok, removed
    assert added.ssh_config.read_bytes() == files.original


@SHARED
def test_up_names_an_include_that_a_host_block_above_it_made_conditional(
    added: Laptop, files: UserFiles
) -> None:
    # ssh reads an Include below a Host line as part of that block: the managed
    # aliases then silently vanish. jssh must either still work or say what to fix.
    added.ssh_config.write_bytes(_prepend_host(added.ssh_config.read_bytes()))
    files.expect_edit(_prepend_host)
    result = added.jssh("up", NAME, "--no-open", timeout=60)
    assert_one_clear_error(result, 3, "the Include line is on line", "move the Include line")
    files.assert_intact(include_applies=False)
