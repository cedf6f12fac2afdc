"""Self-tests of the test lab: each asserts what a user of the lab would see."""

from __future__ import annotations

import ipaddress
import os
import re
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pexpect
import pytest

from lab import (
    LAB_RANGE,
    SRC_DIR,
    LabError,
    LabTimeout,
    Laptop,
    NetnsWorkstation,
    RelayLab,
    Result,
    Sshd,
    lab_processes,
    pid_alive,
    run,
    wait_until,
)
from lab.nonode import without_node

FAST_FAIL = ("-o", "ConnectTimeout=2", "-o", "ConnectionAttempts=1")
# For tests that only log in and read: they may use the worker's shared sshd.
SHARED = pytest.mark.shared_workstation


def _master(laptop: Laptop, name: str = "t") -> str:
    """Start a plain ssh ControlMaster to `workstation`; return its ControlPath."""
    control_path = f"{laptop.ssh_dir}/{name}-%C"
    r = laptop.ssh(
        "-fN", "-o", "ControlMaster=yes", "-o", f"ControlPath={control_path}", "workstation"
    )
    assert r.ok, str(r)
    return control_path


def _check(laptop: Laptop, control_path: str) -> Result:
    return laptop.ssh("-o", f"ControlPath={control_path}", "-O", "check", "workstation", timeout=10)


# -- workstation basics ------------------------------------------------------


@SHARED
def test_ssh_logs_in_as_the_lab_account(laptop: Laptop, lab_account: str) -> None:
    r = laptop.ssh("workstation", "whoami")
    assert r.ok, str(r)
    assert r.stdout.strip() == lab_account


@SHARED
def test_remote_environment_is_private_to_the_workstation(
    laptop: Laptop, workstation: Sshd, lab_venv: Path
) -> None:
    r = laptop.ssh(
        "workstation",
        'printf "%s\\n" "$HOME" "$PWD" "$TMUX_TMPDIR" '
        '"$JUPYTER_RUNTIME_DIR" "$JSSH_LAB_ID" "$(command -v jupyter)"',
    )
    assert r.ok, str(r)
    assert r.stdout.splitlines() == [
        str(workstation.remote_home),  # SetEnv overrides the HOME sshd set
        str(workstation.remote_home),  # and the shell starts there
        str(workstation.tmux_tmpdir),
        str(workstation.runtime_dir),
        workstation.lab_id,
        str(lab_venv / "bin" / "jupyter"),
    ]
    assert workstation.env["HOME"] == str(workstation.remote_home)


@SHARED
def test_login_shells_keep_jupyter_on_path(laptop: Laptop, lab_venv: Path) -> None:
    # Debian's /etc/profile resets PATH for login shells; the remote ~/.profile
    # puts the venv back, so `ssh -t workstation` users find jupyter too.
    r = laptop.ssh("workstation", "bash -lc 'command -v jupyter'")
    assert r.ok, str(r)
    assert r.stdout.splitlines()[0] == str(lab_venv / "bin" / "jupyter")


@SHARED
def test_jupyter_server_2_runs_through_ssh(laptop: Laptop) -> None:
    r = laptop.ssh("workstation", "jupyter --version", timeout=60)
    assert r.ok, str(r)
    versions = {
        name.strip(): version.strip()
        for name, sep, version in (line.partition(":") for line in r.stdout.splitlines())
        if sep
    }
    # Server 2 is the one with --sock; ipykernel gives notebooks a kernel.
    assert int(versions["jupyter_server"].split(".")[0]) >= 2, r.stdout
    assert versions["ipykernel"][0].isdigit(), r.stdout


def test_remote_tmux_uses_the_workstation_socket_dir(laptop: Laptop, workstation: Sshd) -> None:
    r = laptop.ssh("workstation", "tmux new-session -d -s lab 'sleep 600'")
    assert r.ok, str(r)
    ls = workstation.run_as_remote(["tmux", "ls"])
    assert ls.ok, str(ls)
    assert ls.stdout.startswith("lab:"), str(ls)
    sockets = list(workstation.tmux_tmpdir.glob("tmux-*/default"))
    assert len(sockets) == 1
    assert stat.S_ISSOCK(sockets[0].stat().st_mode)
    # The tmux server carries the lab id, so teardown can find it by pid.
    assert any("tmux" in p.name() for p in workstation.remote_processes())


def test_the_lab_jupyter_leaves_out_what_only_slows_its_start(lab_venv: Path) -> None:
    # See lab/jupyter_venv.py: each of these cost CPU at every `jssh up` in the suite.
    python = str(lab_venv / "bin" / "python")
    spec = run([python, "-c", "import importlib.util as u; print(u.find_spec('rfc3987_syntax'))"])
    assert spec.stdout.strip() == "None", str(spec)
    listed = run([python, "-m", "jupyter", "server", "extension", "list"])
    plain = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)  # it colours anyway
    assert re.search(r"jupyter_lsp +disabled", plain), str(listed)
    assert re.search(r"jupyterlab +enabled", plain), str(listed)


@SHARED
def test_a_workstation_has_no_node_while_the_laptop_may(laptop: Laptop) -> None:
    # See lab/nonode.py: JupyterLab runs node twice at every start when it finds one.
    if not without_node():
        pytest.skip("no node on this machine, or no mount namespace for the lab")
    r = laptop.ssh("workstation", "node --version; echo status=$?")
    assert "status=126" in r.stdout, str(r)  # there, but no longer a program
    assert run(["node", "--version"]).ok  # the laptop's own is untouched


@SHARED
def test_run_as_remote_runs_as_the_lab_account_in_its_env(
    workstation: Sshd, lab_account: str
) -> None:
    r = workstation.run_as_remote(["sh", "-c", 'id -un; echo "$HOME"; pwd'])
    assert r.ok, str(r)
    assert r.stdout.splitlines() == [
        lab_account,
        str(workstation.remote_home),
        str(workstation.remote_home),
    ]


def test_two_workstations_are_independent(
    make_workstation: Callable[..., Sshd], make_laptop: Callable[..., Laptop]
) -> None:
    a, b = make_workstation(), make_workstation()
    assert a.port != b.port
    assert a.lab_id != b.lab_id
    assert a.remote_home != b.remote_home
    for ws in (a, b):
        r = make_laptop(ws).ssh("workstation", 'echo "$HOME"')
        assert r.ok, str(r)
        assert r.stdout.strip() == str(ws.remote_home)


def test_extra_env_reaches_remote_commands(
    make_workstation: Callable[..., Sshd], make_laptop: Callable[..., Laptop]
) -> None:
    ws = make_workstation(extra_env={"SLURM_CONF": "/nonexistent/slurm.conf"})
    r = make_laptop(ws).ssh("workstation", 'echo "$SLURM_CONF"')
    assert r.stdout.strip() == "/nonexistent/slurm.conf", str(r)


def test_bad_sshd_config_is_a_readable_error(make_workstation: Callable[..., Sshd]) -> None:
    with pytest.raises(LabError, match="NoSuchKeyword"):
        make_workstation(extra_config=["NoSuchKeyword yes"])


# -- laptop ----------------------------------------------------------------


@SHARED
def test_laptop_ssh_config_is_private_and_realistic(laptop: Laptop, workstation: Sshd) -> None:
    assert stat.S_IMODE(laptop.ssh_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(laptop.ssh_config.stat().st_mode) == 0o600
    text = laptop.ssh_config.read_text()
    assert text.startswith("# Personal ssh config (lab)")
    assert "Host unrelated.example.org" in text
    assert "Host *" in text

    resolved = laptop.ssh("-G", "workstation").stdout.splitlines()
    assert f"port {workstation.port}" in resolved
    assert f"user {workstation.user}" in resolved
    assert "controlmaster false" in resolved  # the user's Host * default
    other = laptop.ssh("-G", "unrelated.example.org").stdout.splitlines()
    assert "port 2222" in other
    assert "user nobody" in other


@SHARED
def test_laptop_env_points_jssh_at_the_sandbox(laptop: Laptop) -> None:
    env = laptop.env
    assert env["JSSH_SSH_CONFIG"] == str(laptop.ssh_config)
    assert env["JSSH_STATE_DIR"] == str(laptop.state_dir)
    assert env["JSSH_LAB_ID"] == laptop.lab_id
    assert env["HOME"] == str(laptop.home)
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(SRC_DIR)
    assert "SSH_AUTH_SOCK" not in env
    assert "TMUX" not in env


@SHARED
@pytest.mark.skipif(
    not (SRC_DIR / "jssh" / "__main__.py").exists(),
    reason="jssh is not written yet (no src/jssh/__main__.py)",
)
def test_jssh_runners_start_the_working_tree(laptop: Laptop) -> None:
    # Only the runners are under test here, not jssh: it must be found and run.
    r = laptop.jssh("--help")
    assert "No module named jssh" not in r.stderr, str(r)
    child = laptop.jssh_pty("--help")
    child.expect(pexpect.EOF)
    child.close()
    assert "No module named jssh" not in (child.before or ""), child.before
    assert child.exitstatus == r.returncode


@SHARED
def test_control_paths_stay_short(laptop: Laptop) -> None:
    # jssh's own ControlPath, as the brief sketches it, with a %C hash and
    # the 17 chars ssh appends while binding; must fit sun_path (108).
    longest = f"{laptop.home}/.ssh/jssh/cm/{'0' * 40}.{'x' * 16}"
    assert len(longest.encode()) < 108, longest


# -- lifecycle and process faults -----------------------------------------------


def test_sshd_restart_keeps_the_port_and_established_connections(
    laptop: Laptop, workstation: Sshd
) -> None:
    port, old_listener = workstation.port, workstation.listener_pid
    control_path = _master(laptop)

    workstation.restart()

    assert workstation.port == port
    assert workstation.listener_pid != old_listener
    assert not pid_alive(old_listener or 0)
    assert _check(laptop, control_path).ok  # the master's connection survived
    r = laptop.ssh("workstation", "echo fresh")  # and new logins reach the new listener
    assert r.ok, str(r)
    assert r.stdout.strip() == "fresh", str(r)


def test_stopped_sshd_refuses_new_logins_but_keeps_sessions(
    laptop: Laptop, workstation: Sshd
) -> None:
    control_path = _master(laptop)
    workstation.stop()
    r = laptop.ssh(*FAST_FAIL, "workstation", "true")
    assert r.returncode == 255, str(r)
    assert "refused" in r.stderr, str(r)
    via_master = laptop.ssh("-o", f"ControlPath={control_path}", "workstation", "echo still")
    assert via_master.stdout.strip() == "still", str(via_master)
    workstation.start()
    assert laptop.ssh("workstation", "true").ok


def test_kill_sessions_drops_established_connections(laptop: Laptop, workstation: Sshd) -> None:
    control_path = _master(laptop)
    assert workstation.connection_processes()
    killed = workstation.kill_sessions()
    assert killed
    wait_until(
        lambda: not _check(laptop, control_path).ok,
        timeout=10,
        what="the master to notice its connection is gone",
    )
    assert workstation.running
    assert laptop.ssh("workstation", "true").ok


def test_teardown_leaves_no_process_with_the_lab_id(
    make_workstation: Callable[..., Sshd], make_laptop: Callable[..., Laptop]
) -> None:
    ws = make_workstation()
    laptop = make_laptop(ws)
    sock = ws.runtime_dir / "lab.sock"
    r = laptop.ssh(
        "workstation", f"tmux new-session -d -s jupyter 'jupyter server --no-browser --sock {sock}'"
    )
    assert r.ok, str(r)
    _master(laptop)
    wait_until(sock.exists, timeout=60, what="jupyter's unix socket")
    remote = [" ".join(p.cmdline()) for p in lab_processes(ws.lab_id)]
    assert any("jupyter" in c for c in remote), remote
    assert any("tmux" in c for c in remote), remote
    assert lab_processes(laptop.lab_id), "the ssh master should carry the laptop's lab id"
    listener = ws.listener_pid
    connections = ws.connection_processes()
    assert connections

    laptop.close()
    ws.close()

    assert lab_processes(ws.lab_id) == []
    assert lab_processes(laptop.lab_id) == []
    assert listener is not None
    assert not pid_alive(listener)
    assert not any(pid_alive(p.pid) for p in connections)
    assert not ws.root.exists()
    assert not laptop.root.exists()


@SHARED
def test_teardown_stops_a_persistent_master_whose_title_hides_its_lab_id(laptop: Laptop) -> None:
    # ControlPersist forks a master and gives it a title ("ssh: PATH [mux]") written
    # over its environ: the lab id is gone, the control path under the laptop's home is not.
    control_path = f"{laptop.ssh_dir}/p-%C"
    r = laptop.ssh(
        "-o", "ControlMaster=auto", "-o", "ControlPersist=yes",
        "-o", f"ControlPath={control_path}", "workstation", "true",
    )  # fmt: skip
    assert r.ok, str(r)
    masters = [p for p in laptop.processes() if "[mux]" in " ".join(p.cmdline())]
    assert len(masters) == 1, laptop.processes()
    assert lab_processes(laptop.lab_id) == []  # what teardown found before

    laptop.close()

    assert not pid_alive(masters[0].pid)


def test_timeout_is_reported_with_output_so_far(laptop: Laptop) -> None:
    with pytest.raises(LabTimeout, match="did not finish"):
        laptop.ssh("workstation", "echo started; sleep 30", timeout=1.5)


# -- network faults: userspace relay ----------------------------------------


@pytest.mark.faults
def test_relay_blackhole_times_out_new_logins_and_restore_heals(
    relay_workstation: RelayLab,
) -> None:
    laptop, relay = relay_workstation.laptop, relay_workstation.relay
    assert laptop.ssh(*FAST_FAIL, "workstation", "true").ok

    relay.blackhole()
    r = laptop.ssh(*FAST_FAIL, "workstation", "true", timeout=15)
    assert r.returncode == 255, str(r)
    assert "timed out" in r.stderr, str(r)
    assert r.duration < 6, str(r)

    relay.restore()
    r = laptop.ssh(*FAST_FAIL, "workstation", "echo back")
    assert r.ok, str(r)
    assert r.stdout.strip() == "back", str(r)
    assert relay.accepted == 3


@pytest.mark.faults
def test_relay_restore_resumes_held_connections(relay_workstation: RelayLab) -> None:
    laptop, relay = relay_workstation.laptop, relay_workstation.relay
    control_path = _master(laptop)
    relay.blackhole()
    # A command through the master during the cut hangs rather than failing ...
    held = subprocess.Popen(
        laptop.ssh_argv("-o", f"ControlPath={control_path}", "workstation", "echo through"),
        env=laptop.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: relay.held_bytes, timeout=10, what="the command to reach the cut")
        assert held.poll() is None
        # ... and completes once the link is back: TCP rode out the outage.
        relay.restore()
        out, err = held.communicate(timeout=15)
    finally:
        if held.poll() is None:
            held.kill()
            held.wait()
    assert held.returncode == 0, err
    assert out.strip() == "through", err


@pytest.mark.faults
def test_relay_restore_can_reset_held_connections(relay_workstation: RelayLab) -> None:
    laptop, relay = relay_workstation.laptop, relay_workstation.relay
    control_path = _master(laptop)
    relay.blackhole()
    relay.restore(reset_held=True)
    wait_until(
        lambda: not _check(laptop, control_path).ok,
        timeout=10,
        what="the master to die from the reset",
    )
    assert laptop.ssh(*FAST_FAIL, "workstation", "true").ok  # new connections work


# -- network faults: network namespace (root) ---------------------------------


@pytest.mark.root
@pytest.mark.faults
def test_netns_cut_times_out_and_restore_heals(
    netns_workstation: NetnsWorkstation, netns_laptop: Laptop
) -> None:
    ws, laptop = netns_workstation, netns_laptop
    assert ipaddress.ip_address(ws.host) in LAB_RANGE
    r = laptop.ssh(*FAST_FAIL, "workstation", "whoami")
    assert r.ok, str(r)
    assert r.stdout.strip() == ws.user, str(r)
    control_path = _master(laptop)

    ws.cut()
    r = laptop.ssh(*FAST_FAIL, "workstation", "true", timeout=15)
    assert r.returncode == 255, str(r)
    assert "timed out" in r.stderr, str(r)

    ws.restore()
    r = laptop.ssh(*FAST_FAIL, "workstation", "echo back")
    assert r.ok, str(r)
    assert r.stdout.strip() == "back", str(r)
    # A short cut is ridden out by TCP: the master is still usable.
    via_master = laptop.ssh("-o", f"ControlPath={control_path}", "workstation", "echo kept")
    assert via_master.stdout.strip() == "kept", str(via_master)


@pytest.mark.root
def test_netns_remote_commands_run_inside_the_namespace(
    netns_workstation: NetnsWorkstation,
) -> None:
    r = netns_workstation.run_as_remote(["ip", "-br", "addr"])
    assert r.ok, str(r)
    assert netns_workstation.ns_dev in r.stdout
    assert netns_workstation.ns_addr in r.stdout
    assert "eth0" not in r.stdout


@pytest.mark.root
def test_netns_teardown_removes_namespace_and_veth(
    make_netns_workstation: Callable[..., NetnsWorkstation],
) -> None:
    ws = make_netns_workstation()
    names = run(["ip", "netns", "list"]).stdout
    assert ws.netns in names
    ws.close()
    assert ws.netns not in run(["ip", "netns", "list"]).stdout
    assert not ws.host_link_exists
    assert lab_processes(ws.lab_id) == []
    # The safety net stays: nothing for the lab range may ever leave the machine.
    assert "blackhole" in run(["ip", "route", "show", "exact", str(LAB_RANGE)]).stdout
