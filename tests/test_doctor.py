"""`jssh doctor` against the real sshd lab: ok where all is well, and for each thing that
commonly breaks, a finding that names it, says exactly how to fix it, and a non-zero exit.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
from typing import Any

import pytest

from lab import Laptop, Sshd, wait_until

FIELDS = {"check", "host", "ok", "detail", "fix"}
HOST_CHECKS = {
    "ssh-config",
    "drift",
    "control-path",
    "control-socket",
    "local-port",
    "reachable",
    "jupyter",
    "tmux",
}
GLOBAL_CHECKS = {"ssh-version", "include", "permissions", "watchdog"}

# For the checks with no tunnel up: doctor's logins end with their commands.
SHARED = pytest.mark.shared_workstation


def doctor(laptop: Laptop, *args: str, timeout: float = 120) -> tuple[int, list[dict[str, Any]]]:
    result = laptop.jssh("doctor", *args, "--json", timeout=timeout)
    assert "Traceback" not in result.stderr, result
    checks = json.loads(result.stdout)
    assert isinstance(checks, list), result
    return result.returncode, checks


def finding(checks: list[dict[str, Any]], check: str, host: str | None = "workstation") -> Any:
    matches = [c for c in checks if c["check"] == check and c["host"] == host]
    assert len(matches) == 1, (check, host, checks)
    return matches[0]


def problems(checks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["check"]: c for c in checks if not c["ok"]}


def control_path(laptop: Laptop, alias: str = "workstation-jupyter") -> str:
    resolved = laptop.ssh("-G", alias)
    assert resolved.ok, resolved
    return next(
        line.split(" ", 1)[1]
        for line in resolved.stdout.splitlines()
        if line.startswith("controlpath ")
    )


@pytest.fixture
def added(laptop: Laptop) -> Laptop:
    result = laptop.jssh_in_process("add", "workstation")
    assert result.ok, result
    return laptop


# -- all well -------------------------------------------------------------------------------


@SHARED
def test_a_healthy_host_passes_every_check(added: Laptop) -> None:
    text = added.jssh("doctor", timeout=120)
    assert text.returncode == 0, text
    assert "PROBLEM" not in text.stdout
    assert text.stdout.strip().splitlines()[-1].startswith("all ")

    code, checks = doctor(added)
    assert code == 0
    assert {c["check"] for c in checks if c["host"] is None} == GLOBAL_CHECKS
    assert {c["check"] for c in checks if c["host"] == "workstation"} == HOST_CHECKS
    assert problems(checks) == {}
    jupyter = finding(checks, "jupyter")["detail"]
    assert str(added.workstation.venv) in jupyter
    assert "jupyter_server 2." in jupyter
    assert "unix sockets: yes" in jupyter
    assert finding(checks, "tmux")["detail"].startswith("tmux ")
    assert "new connection" in finding(checks, "reachable")["detail"]
    assert finding(checks, "local-port")["detail"].endswith("is free for the tunnel")


@SHARED
def test_doctor_changes_nothing_and_leaves_no_master_behind(added: Laptop) -> None:
    managed = added.ssh_dir / "jssh"
    before = {p: p.read_bytes() for p in [added.ssh_config, *managed.rglob("*")] if p.is_file()}
    assert doctor(added)[0] == 0
    after = {p: p.read_bytes() for p in [added.ssh_config, *managed.rglob("*")] if p.is_file()}
    assert after == before
    assert added.ssh("-O", "check", "workstation-jupyter").returncode == 255
    assert not os.path.exists(control_path(added))


@SHARED
def test_json_is_a_list_of_findings_with_the_same_fields(added: Laptop) -> None:
    # A second host, unreachable: problems too.
    assert added.jssh_in_process("add", "unrelated.example.org").ok
    code, checks = doctor(added)
    assert code == 1
    for check in checks:
        assert set(check) == FIELDS, check
        assert isinstance(check["check"], str)
        assert isinstance(check["ok"], bool)
        assert isinstance(check["detail"], str)
        assert check["detail"]
        assert (check["fix"] is None) == check["ok"], check
    assert {c["host"] for c in checks} == {None, "workstation", "unrelated.example.org"}
    only_one = doctor(added, "workstation")[1]
    assert {c["host"] for c in only_one} == {None, "workstation"}


def test_a_running_tunnel_is_recognised_and_used(added: Laptop) -> None:
    up = added.jssh("up", "workstation", "--no-open", timeout=120)
    assert up.ok, up
    code, checks = doctor(added, "workstation")
    master = finding(checks, "control-socket")
    assert master["ok"]
    assert master["detail"].startswith("master running (pid ")
    port = finding(checks, "local-port")
    assert port["ok"], port
    assert "held by workstation's tunnel" in port["detail"], port
    assert "through the master" in finding(checks, "reachable")["detail"]
    # The tunnel is wanted up, and no watchdog keeps it so: that is the one problem.
    assert set(problems(checks)) == {"watchdog"}
    watchdog = finding(checks, "watchdog", None)
    assert "workstation" in watchdog["detail"]
    assert "jssh service install" in watchdog["fix"]
    assert "jssh watch" in watchdog["fix"]
    assert code == 1


def test_with_the_watchdog_running_an_up_host_is_all_ok(added: Laptop) -> None:
    if "watch " not in added.jssh("--help").stdout:
        pytest.skip("`jssh watch` is not part of this jssh yet")
    assert added.jssh("up", "workstation", "--no-open", timeout=120).ok
    # Its own process group, and the laptop's env (lab id): teardown kills it by either.
    watch = subprocess.Popen(
        added.jssh_argv("watch"),
        env=added.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        pid_file = added.state_dir / "watch.pid"

        def pid_written() -> bool:
            assert watch.poll() is None, "jssh watch exited"
            return pid_file.exists() and bool(pid_file.read_text().strip())

        wait_until(pid_written, timeout=20, what="jssh watch to write watch.pid")
        code, checks = doctor(added)
        assert problems(checks) == {}
        assert finding(checks, "watchdog", None)["detail"] == f"running (pid {watch.pid})"
        assert code == 0
    finally:
        watch.terminate()
        watch.wait(timeout=20)


# -- each thing that commonly breaks ---------------------------------------------------------


@SHARED
def test_an_include_moved_below_a_host_block_is_reported_with_the_fix(added: Laptop) -> None:
    text = added.ssh_config.read_text()
    include = next(line for line in text.splitlines() if line.startswith("Include "))
    lines = [line for line in text.splitlines() if line != include]
    # The user tidied their config and pasted it at the end of their `Host workstation`.
    at = lines.index("Host unrelated.example.org")
    lines.insert(at, include)
    added.ssh_config.write_text("\n".join(lines) + "\n")

    code, checks = doctor(added)
    assert code == 1
    found = problems(checks)
    assert "after the Host/Match on line" in found["include"]["detail"]
    assert f"move the line `{include}`" in found["include"]["fix"]
    assert "to the top" in found["include"]["fix"]
    # And what it breaks: ssh no longer applies jssh's block to the alias.
    assert "does not apply jssh's block" in found["control-path"]["detail"]
    assert "Include" in found["control-path"]["fix"]


@SHARED
def test_a_missing_include_is_reported_with_the_fix(added: Laptop) -> None:
    text = added.ssh_config.read_text()
    added.ssh_config.write_text(
        "\n".join(line for line in text.splitlines() if not line.startswith("Include ")) + "\n"
    )
    code, checks = doctor(added)
    assert code == 1
    include = problems(checks)["include"]
    assert "missing" in include["detail"]
    assert "jssh add workstation --name workstation" in include["fix"]
    # Following the fix puts it back, and then all is well.
    assert added.jssh("add", "workstation", "--name", "workstation").ok
    assert doctor(added)[0] == 0


@SHARED
def test_an_include_in_a_config_d_file_counts_unless_a_host_block_holds_it(
    added: Laptop,
) -> None:
    text = added.ssh_config.read_text()
    include = next(line for line in text.splitlines() if line.startswith("Include "))
    conf_d = added.ssh_dir / "config.d"
    conf_d.mkdir()
    (conf_d / "00-jssh.conf").write_text(include + "\n")
    others = [line for line in text.splitlines() if line != include]
    added.ssh_config.write_text("\n".join([f"Include {conf_d}/*.conf", *others]) + "\n")

    code, checks = doctor(added)
    assert problems(checks) == {}, problems(checks)
    assert code == 0

    # Now the user's included file puts it inside a Host block: ssh skips it for the alias.
    (conf_d / "00-jssh.conf").write_text(f"Host gpu-box\n    User me\n{include}\n")
    code, checks = doctor(added)
    assert code == 1
    found = problems(checks)["include"]
    assert (
        f"the Include line ({conf_d}/00-jssh.conf line 3) is under `Host gpu-box`"
        in found["detail"]
    )
    assert "move that Include line out of the block" in found["fix"]


@SHARED
def test_a_group_writable_managed_config_is_reported_with_the_chmod(added: Laptop) -> None:
    managed = added.ssh_dir / "jssh" / "config"
    os.chmod(managed, 0o620)
    code, checks = doctor(added)
    assert code == 1
    found = problems(checks)
    perms = found["permissions"]
    assert str(managed) in perms["detail"]
    assert "writable by its group" in perms["detail"]
    assert perms["fix"] == f"chmod 600 {managed}"

    os.chmod(managed, 0o600)  # the fix
    assert doctor(added)[0] == 0


@SHARED
def test_a_managed_config_ssh_refuses_stops_that_hosts_checks_with_the_chmod(
    added: Laptop,
) -> None:
    managed = added.ssh_dir / "jssh" / "config"
    os.chmod(managed, 0o602)  # world-writable: every OpenSSH refuses it
    code, checks = doctor(added)
    assert code == 1
    found = problems(checks)
    assert found["permissions"]["fix"] == f"chmod 600 {managed}"
    assert "Bad owner or permissions" in found["ssh-config"]["detail"]
    assert found["ssh-config"]["fix"].endswith(f"chmod 600 {managed}")
    assert {c["check"] for c in checks if c["host"] == "workstation"} == {"ssh-config"}


def test_a_world_readable_token_is_reported(added: Laptop) -> None:
    assert added.jssh("up", "workstation", "--no-open", timeout=120).ok
    token = added.state_dir / "hosts" / "workstation" / "token"
    os.chmod(token, 0o644)
    checks = doctor(added)[1]
    perms = problems(checks)["permissions"]
    assert str(token) in perms["detail"]
    assert "everyone" in perms["detail"]
    assert perms["fix"] == f"chmod 600 {token}"


def test_jupyter_missing_on_the_remote_is_reported_with_the_fix(
    make_workstation: Any, make_laptop: Any
) -> None:
    ws: Sshd = make_workstation(extra_env={"PATH": "/usr/bin:/bin"})
    laptop: Laptop = make_laptop(ws)
    assert laptop.jssh_in_process("add", "workstation").ok
    code, checks = doctor(laptop)
    assert code == 1
    assert set(problems(checks)) == {"jupyter"}
    jupyter = finding(checks, "jupyter")
    assert "jupyter was not found on workstation; tried PATH (/usr/bin:/bin)" in jupyter["detail"]
    assert "pip install jupyterlab" in jupyter["fix"]
    assert "jssh add workstation --name workstation --venv PATH" in jupyter["fix"]
    assert finding(checks, "reachable")["ok"]
    assert finding(checks, "tmux")["ok"]  # /usr/bin/tmux is still there

    # The fix the finding names, followed: the venv makes it pass.
    assert laptop.jssh("add", "workstation", "--venv", str(ws.venv)).ok
    code, checks = doctor(laptop)
    assert code == 0, problems(checks)
    assert f"{ws.venv}/bin/jupyter (via venv {ws.venv})" in finding(checks, "jupyter")["detail"]


@SHARED
def test_a_stale_control_socket_is_reported_with_the_fix(added: Laptop) -> None:
    path = control_path(added)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # the file stays and nobody listens: what a killed master leaves
    code, checks = doctor(added)
    assert code == 1
    found = problems(checks)
    assert set(found) == {"control-socket"}
    assert found["control-socket"]["detail"].startswith(f"stale control socket {path}")
    assert found["control-socket"]["fix"].startswith(f"rm {path}")
    assert stat.S_ISSOCK(os.stat(path).st_mode)  # doctor reports; it does not delete

    os.unlink(path)  # the fix
    assert doctor(added)[0] == 0


@SHARED
def test_a_local_port_held_by_another_program_is_named(added: Laptop) -> None:
    listing = json.loads(added.jssh("list", "--json").stdout)
    port = listing[0]["local_port"]
    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        code, checks = doctor(added)
    assert code == 1
    found = problems(checks)
    assert set(found) == {"local-port"}
    assert f"pid {os.getpid()}" in found["local-port"]["detail"]
    assert "--local-port N" in found["local-port"]["fix"]


@SHARED
def test_an_unreachable_host_is_reported_and_the_remote_checks_skipped(laptop: Laptop) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    text = laptop.ssh_config.read_text()
    laptop.ssh_config.write_text(
        text.replace(f"Port {laptop.workstation.port}", f"Port {closed_port}")
    )
    assert laptop.jssh_in_process("add", "workstation").ok
    code, checks = doctor(laptop, timeout=30)  # a refused connection is not waited on
    assert code == 1
    reach = problems(checks)["reachable"]
    assert "refused the connection" in reach["detail"]
    assert {c["check"] for c in checks if c["host"] == "workstation"} == HOST_CHECKS - {
        "jupyter",
        "tmux",
    }


@SHARED
def test_the_text_report_puts_the_fix_under_each_problem(added: Laptop) -> None:
    managed = added.ssh_dir / "jssh" / "config"
    os.chmod(managed, 0o660)
    result = added.jssh("doctor", timeout=120)
    assert result.returncode == 1, result
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "PROBLEM permissions:" in line)
    assert lines[at + 1].strip() == f"fix: chmod 600 {managed}"
    assert lines[-1] == "1 problem found; each has its fix above"


@SHARED
def test_doctor_for_an_unknown_host_says_so_in_one_line(added: Laptop) -> None:
    result = added.jssh("doctor", "nosuch")
    assert result.returncode == 8, result
    assert result.stderr.startswith("jssh: error: no managed host named 'nosuch'")
    assert "Traceback" not in result.stderr


def test_a_stopped_master_is_named_with_its_pid(added: Laptop) -> None:
    assert added.jssh("up", "workstation", "--no-open", timeout=120).ok
    master = finding(doctor(added)[1], "control-socket")["detail"]
    pid = int(master.removeprefix("master running (pid ").rstrip(")"))
    os.kill(pid, signal.SIGSTOP)
    try:
        code, checks = doctor(added)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert code == 1
    found = problems(checks)["control-socket"]
    assert f"(pid {pid}) does not answer" in found["detail"]
    assert found["fix"] == f"kill {pid}, then `jssh up workstation`"
    # Nothing that would hang behind it was tried.
    assert {c["check"] for c in checks if c["host"] == "workstation"} == HOST_CHECKS - {
        "reachable",
        "jupyter",
        "tmux",
    }
