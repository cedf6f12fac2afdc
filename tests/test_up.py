"""`jssh up / down / status / url / logs` against the real sshd, tmux and Jupyter.

What a user sees: a URL on the last line of stdout that opens JupyterLab, runs code in
a kernel, survives a second `up`, and is gone after `down`.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
from urllib.parse import urlparse

import pexpect
import psutil
import pytest

from lab import Laptop, Sshd, free_port, pid_alive, port_is_free, short_tempdir
from lab.client import api, assert_one_clear_error, run_in_kernel, status_json, token_of, up

# For the tests that start nothing on the workstation (they fail before, or never log in).
SHARED = pytest.mark.shared_workstation


@pytest.fixture
def added(laptop: Laptop) -> Laptop:
    result = laptop.jssh_in_process("add", "workstation")
    assert result.ok, result
    return laptop


def test_up_prints_a_url_that_answers_with_the_token_and_refuses_without(added: Laptop) -> None:
    # A process of its own, read through pipes as `$(jssh up)` reads it: a master left
    # holding its stdout or stderr would hang this.
    result = added.jssh_process("up", "workstation", "--no-open", timeout=120)
    assert result.ok, result
    url = result.stdout.strip().splitlines()[-1]
    assert url.startswith("http://127.0.0.1:8899/lab?token=")  # the first host's default port
    assert api(url, "/api/status", token=token_of(url))[0] == 200
    assert api(url, "/api/status")[0] == 403
    assert api(url, "/api/status", token="wrong")[0] == 403


def test_a_kernel_runs_code_through_the_tunnel(added: Laptop) -> None:
    url = up(added)
    assert run_in_kernel(url, "1+1") == "2"


def test_a_second_up_reuses_the_same_server_and_token(added: Laptop) -> None:
    first = up(added)
    pid = status_json(added)["server"]["pid"]  # type: ignore[index]
    second = added.jssh("up", "workstation", "--no-open")
    assert second.ok, second
    assert second.stdout.strip().splitlines()[-1] == first
    assert "reusing" in second.stderr
    assert status_json(added)["server"]["pid"] == pid  # type: ignore[index]
    assert added.jssh("url", "workstation").stdout.strip() == first


def test_up_reuses_a_server_after_the_tunnel_alone_was_closed(added: Laptop) -> None:
    first = up(added)
    pid = status_json(added)["server"]["pid"]  # type: ignore[index]
    down = added.jssh("down", "workstation", "--keep-server")
    assert down.ok, down
    assert "closed the tunnel" in down.stdout
    assert up(added) == first
    assert status_json(added)["server"]["pid"] == pid  # type: ignore[index]


def test_the_token_is_on_no_command_line_on_either_side(added: Laptop) -> None:
    url = up(added)
    token = token_of(url)
    run_in_kernel(url, "2+2")
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        assert token not in cmdline, (proc.pid, cmdline)


def test_by_default_the_server_listens_only_on_a_private_unix_socket(added: Laptop) -> None:
    up(added)
    server = psutil.Process(status_json(added)["server"]["pid"])  # type: ignore[index, arg-type]
    assert server.username() == added.workstation.user
    assert [c for c in server.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN] == []
    sock_path = f"/tmp/jssh-{added.workstation.user}/workstation.sock"
    unix = [c.laddr for c in server.net_connections(kind="unix")]
    assert sock_path in unix
    assert stat.S_IMODE(os.stat(os.path.dirname(sock_path)).st_mode) == 0o700


def test_with_remote_port_the_server_listens_on_loopback_only(laptop: Laptop) -> None:
    port = free_port()
    assert laptop.jssh_in_process("add", "workstation", "--remote-port", str(port)).ok
    url = up(laptop)
    assert api(url, "/api/status", token=token_of(url))[0] == 200
    server = psutil.Process(status_json(laptop)["server"]["pid"])  # type: ignore[index, arg-type]
    listening = {
        c.laddr for c in server.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN
    }
    assert {addr.ip for addr in listening} == {"127.0.0.1"}
    assert {addr.port for addr in listening} == {port}


def test_down_stops_the_server_and_frees_the_local_port(added: Laptop) -> None:
    url = up(added)
    pid = status_json(added)["server"]["pid"]  # type: ignore[index]
    down = added.jssh("down", "workstation")
    assert down.ok, down
    assert "stopped the Jupyter server" in down.stdout
    assert not pid_alive(pid)  # type: ignore[arg-type]  # (a zombie awaiting init has exited)
    assert port_is_free(urlparse(url).port or 0)
    state = status_json(added)
    assert state["master"] == {"running": False, "pid": None}


def test_status_shows_tunnel_port_server_and_url(added: Laptop) -> None:
    url = up(added)
    state = status_json(added)
    assert state["master"]["running"] is True  # type: ignore[index]
    assert state["local_port"] == urlparse(url).port
    assert state["local_port_answers"] is True
    assert state["server"]["state"] == "running"  # type: ignore[index]
    assert state["server"]["mode"] == "tmux"  # type: ignore[index]
    assert state["server"]["uptime_seconds"] >= 0  # type: ignore[index, operator]
    assert state["url"] == url
    table = added.jssh("status")
    assert table.ok
    assert f"pid {state['master']['pid']}" in table.stdout  # type: ignore[index]
    assert "running (tmux)" in table.stdout
    assert url.split("?")[0] in table.stdout
    assert token_of(url) not in table.stdout  # the table is for the screen: no secret on it


def test_the_server_runs_in_a_named_tmux_session_on_the_remote(added: Laptop) -> None:
    up(added)
    sessions = added.workstation.run_as_remote(["tmux", "list-sessions", "-F", "#{session_name}"])
    assert sessions.ok, sessions
    assert sessions.stdout.split() == ["jssh-workstation"]


def test_without_a_usable_tmux_the_server_runs_under_nohup(
    make_workstation: object, make_laptop: object, request: pytest.FixtureRequest
) -> None:
    # A tmux that is there but cannot start a server, as on a box with a broken locale.
    # Not under pytest's basetemp: other xdist workers reset /tmp/pytest-of-root to 0700,
    # and a lab account that can't reach the fake finds the real tmux instead.
    broken = short_tempdir()
    request.addfinalizer(lambda: shutil.rmtree(broken, ignore_errors=True))
    os.chmod(broken, 0o755)
    fake = broken / "tmux"
    fake.write_text("#!/bin/sh\necho 'tmux: invalid LC_ALL, LC_CTYPE or LANG' >&2\nexit 1\n")
    os.chmod(fake, 0o755)
    path = f"{broken}:/var/cache/jssh-lab/venv/bin:/usr/bin:/bin"
    ws: Sshd = make_workstation(extra_env={"PATH": path})  # type: ignore[operator]
    laptop: Laptop = make_laptop(ws)  # type: ignore[operator]
    assert laptop.jssh_in_process("add", "workstation").ok
    url = up(laptop)
    assert api(url, "/api/status", token=token_of(url))[0] == 200
    assert status_json(laptop)["server"]["mode"] == "nohup"  # type: ignore[index]
    assert run_in_kernel(url, "3*3") == "9"


def test_logs_show_the_remote_server_log(added: Laptop) -> None:
    up(added)
    result = added.jssh("logs", "workstation", "-n", "200")
    assert result.ok, result
    assert "jssh: starting Jupyter for workstation" in result.stdout
    assert "is running at" in result.stdout


# -- bad situations: one clear line, a non-zero exit, nothing left half-done --------------


def assert_no_tunnel(laptop: Laptop) -> None:
    assert status_json(laptop)["master"] == {"running": False, "pid": None}


def test_missing_jupyter_says_what_was_tried(make_workstation: object, make_laptop: object) -> None:
    ws: Sshd = make_workstation(extra_env={"PATH": "/usr/bin:/bin"})  # type: ignore[operator]
    laptop: Laptop = make_laptop(ws)  # type: ignore[operator]
    assert laptop.jssh_in_process("add", "workstation").ok
    result = laptop.jssh("up", "--no-open", "workstation")
    assert_one_clear_error(
        result, 5, "jupyter was not found on workstation", "tried PATH", "--venv"
    )
    assert_no_tunnel(laptop)


def test_venv_option_finds_jupyter_off_the_path(
    make_workstation: object, make_laptop: object
) -> None:
    ws: Sshd = make_workstation(extra_env={"PATH": "/usr/bin:/bin"})  # type: ignore[operator]
    laptop: Laptop = make_laptop(ws)  # type: ignore[operator]
    assert laptop.jssh_in_process("add", "workstation", "--venv", str(ws.venv)).ok
    url = up(laptop)
    assert api(url, "/api/status", token=token_of(url))[0] == 200


@SHARED
def test_a_local_port_held_by_another_program_is_named(added: Laptop) -> None:
    port = status_json(added)["local_port"]
    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        result = added.jssh("up", "--no-open", "workstation")
    assert_one_clear_error(
        result, 6, f"local port {port} is taken by", f"pid {os.getpid()}", "--local-port"
    )
    assert_no_tunnel(added)


def test_a_taken_remote_port_is_reported(laptop: Laptop) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        assert laptop.jssh_in_process("add", "workstation", "--remote-port", str(port)).ok
        result = laptop.jssh("up", "--no-open", "workstation")
    assert_one_clear_error(result, 6, f"remote port {port} is already in use")
    assert_no_tunnel(laptop)


def test_a_server_that_dies_at_start_shows_its_log(laptop: Laptop) -> None:
    bad_port = "--jupyter-arg=--ServerApp.port=notaport"
    assert laptop.jssh_in_process("add", "workstation", bad_port).ok
    result = laptop.jssh("up", "--no-open", "workstation")
    assert_one_clear_error(result, 5, "exited right after starting")
    assert "notaport" in result.stderr  # the log tail, indented below the error
    assert_no_tunnel(laptop)


@SHARED
def test_an_unreachable_host_fails_fast(laptop: Laptop) -> None:
    text = laptop.ssh_config.read_text()
    laptop.ssh_config.write_text(
        text.replace(f"Port {laptop.workstation.port}", f"Port {free_port()}")
    )
    assert laptop.jssh_in_process("add", "workstation").ok
    result = laptop.jssh("up", "--no-open", "workstation", timeout=30)
    assert_one_clear_error(result, 4, "refused the connection")


@SHARED
def test_failed_authentication_is_reported(laptop: Laptop) -> None:
    other_key = laptop.root / "other_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)], check=True
    )
    text = laptop.ssh_config.read_text()
    laptop.ssh_config.write_text(text.replace(str(laptop.identity), str(other_key)))
    assert laptop.jssh_in_process("add", "workstation").ok
    result = laptop.jssh("up", "--no-open", "workstation")
    assert_one_clear_error(result, 4, "authentication to workstation-jupyter failed", "no terminal")


def test_a_stale_master_socket_is_replaced(added: Laptop) -> None:
    control = added.ssh("-G", "workstation-jupyter").stdout
    path = next(
        line.split(" ", 1)[1] for line in control.splitlines() if line.startswith("controlpath ")
    )
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # the file stays; nobody listens: what a killed master leaves
    url = up(added)
    assert api(url, "/api/status", token=token_of(url))[0] == 200


def test_a_passphrase_prompt_reaches_the_user(added: Laptop) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-p", "-P", "", "-N", "correct horse", "-f", str(added.identity)],
        check=True,
    )
    child = added.jssh_pty("up", "--no-open", "workstation", timeout=90)
    child.expect("Enter passphrase for key")
    child.sendline("wrong")
    child.expect("Enter passphrase for key")  # ssh asks again; jssh answered nothing itself
    child.sendline("correct horse")
    child.expect(r"http://127\.0\.0\.1:\d+/lab\?token=\S+")
    url = child.after.strip()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert api(url, "/api/status", token=token_of(url))[0] == 200


@SHARED
def test_without_a_terminal_a_passphrase_key_fails_fast(added: Laptop) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-p", "-P", "", "-N", "secret", "-f", str(added.identity)], check=True
    )
    # No answer comes on stdin: a jssh that waited for one would run into the timeout.
    result = added.jssh("up", "--no-open", "workstation", input="", timeout=20)
    assert_one_clear_error(result, 4, "authentication", "no terminal")


# -- launch settings --------------------------------------------------------------------


def test_login_shell_finds_jupyter_that_only_a_login_profile_puts_on_path(
    make_workstation: object, make_laptop: object
) -> None:
    # As for `conda init` users: ~/.profile puts jupyter on PATH, a plain command doesn't.
    ws: Sshd = make_workstation(extra_env={"PATH": "/usr/bin:/bin"})  # type: ignore[operator]
    profile = f"PATH={ws.venv}/bin:$PATH; export PATH"
    assert ws.run_as_remote(["sh", "-c", f"echo '{profile}' > \"$HOME/.profile\""]).ok
    laptop: Laptop = make_laptop(ws)  # type: ignore[operator]
    assert laptop.jssh_in_process("add", "workstation", "--login-shell").ok
    url = up(laptop)
    assert api(url, "/api/status", token=token_of(url))[0] == 200


def test_a_full_command_replaces_jupyter(make_workstation: object, make_laptop: object) -> None:
    ws: Sshd = make_workstation(extra_env={"PATH": "/usr/bin:/bin"})  # type: ignore[operator]
    laptop: Laptop = make_laptop(ws)  # type: ignore[operator]
    command = f"env JSSH_VIA=command {ws.venv}/bin/jupyter"
    assert laptop.jssh_in_process("add", "workstation", "--command", command).ok
    url = up(laptop)
    assert api(url, "/api/status", token=token_of(url))[0] == 200
    server = psutil.Process(status_json(laptop)["server"]["pid"])
    assert server.environ().get("JSSH_VIA") == "command"


def test_the_notebook_dir_is_where_jupyter_opens(added: Laptop) -> None:
    ws = added.workstation
    assert ws.run_as_remote(["mkdir", "-p", f"{ws.remote_home}/work/project"]).ok
    assert ws.run_as_remote(["touch", f"{ws.remote_home}/work/project/analysis.ipynb"]).ok
    assert added.jssh_in_process("add", "workstation", "--notebook-dir", "~/work/project").ok
    url = up(added)
    status, body = api(url, "/api/contents", token=token_of(url))
    assert status == 200
    import json

    assert [item["name"] for item in json.loads(body)["content"]] == ["analysis.ipynb"]


def test_a_new_host_key_prompt_reaches_the_user(added: Laptop) -> None:
    added.known_hosts.write_text("")
    text = added.ssh_config.read_text()
    added.ssh_config.write_text(
        text.replace("StrictHostKeyChecking yes", "StrictHostKeyChecking ask")
    )
    assert added.jssh_in_process("add", "workstation").ok
    child = added.jssh_pty("up", "--no-open", "workstation", timeout=90)
    child.expect("Are you sure you want to continue connecting")
    child.sendline("yes")
    child.expect(r"http://127\.0\.0\.1:\d+/lab\?token=\S+")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "127.0.0.1" in added.known_hosts.read_text()


def test_logs_follow_keeps_printing_until_interrupted(added: Laptop) -> None:
    url = up(added)
    child = added.jssh_pty("logs", "workstation", "--follow", timeout=30)
    child.expect("is running at")
    api(url, "/api/kernels", token=token_of(url), method="POST", body="{}")
    child.expect("Kernel started")  # a line written after `logs -f` started
    child.sendintr()
    child.expect(pexpect.EOF)
    after_interrupt = child.before
    child.close()
    # Ctrl-C is how a user ends `logs -f`: a normal end, whichever of jssh and ssh
    # sees the signal first (ssh alone would exit 255, as for a lost connection).
    assert child.exitstatus == 0, after_interrupt
    assert "Traceback" not in after_interrupt


def test_a_root_account_gets_allow_root_and_a_warning(
    lab_venv: object, lab_keys: object, make_laptop: object
) -> None:
    from lab import IS_ROOT

    if not IS_ROOT:
        pytest.skip("logging in as root needs the suite to run as root")
    ws = Sshd(account="root", venv=lab_venv, keys=lab_keys)  # type: ignore[arg-type]
    try:
        ws.start()
        laptop: Laptop = make_laptop(ws)  # type: ignore[operator]
        assert laptop.jssh_in_process("add", "workstation").ok
        result = laptop.jssh("up", "workstation", "--no-open", timeout=120)
        assert result.ok, result
        assert "warning: the remote account is root" in result.stderr
        server = psutil.Process(status_json(laptop)["server"]["pid"])
        assert "--allow-root" in server.cmdline()
        assert laptop.jssh("down", "workstation").ok
    finally:
        ws.close()


@SHARED
def test_ctrl_c_at_a_prompt_stops_cleanly_and_leaves_no_tunnel(added: Laptop) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-p", "-P", "", "-N", "secret", "-f", str(added.identity)], check=True
    )
    child = added.jssh_pty("up", "--no-open", "workstation", timeout=60)
    child.expect("Enter passphrase for key")
    child.sendintr()
    child.expect("interrupted")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert status_json(added)["master"] == {"running": False, "pid": None}


def test_two_names_for_one_workstation_have_tunnels_of_their_own(laptop: Laptop) -> None:
    assert laptop.jssh_in_process("add", "workstation", "--name", "lab").ok
    assert laptop.jssh_in_process("add", "workstation", "--name", "nb").ok
    url_lab = up(laptop, "lab")
    url_nb = up(laptop, "nb")
    assert status_json(laptop, "lab")["master"]["pid"] != status_json(laptop, "nb")["master"]["pid"]
    assert laptop.jssh("down", "lab").ok
    assert api(url_nb, "/api/status", token=token_of(url_nb))[0] == 200
    with pytest.raises(OSError):  # lab's port is closed: nothing listens there any more
        api(url_lab, "/api/status", token=token_of(url_lab))


def test_remove_stops_a_server_left_running_without_a_tunnel(added: Laptop) -> None:
    up(added)
    pid = status_json(added)["server"]["pid"]
    assert added.jssh("down", "workstation", "--keep-server").ok  # tunnel closed, server kept
    removed = added.jssh("remove", "workstation")
    assert removed.ok, removed
    assert "stopped the Jupyter server" in removed.stderr
    assert not pid_alive(pid)
