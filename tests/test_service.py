"""`jssh service install|uninstall|status`: the unit files, checked as text and by
`systemd-analyze verify`, and the command in them run for real.

The laptop's XDG_CONFIG_HOME and HOME are its temp home, so units land there; nothing
here talks to a real user systemd (enabling is `--no-enable`, except where this machine
has no user systemd at all, which is the case the error message is for).
"""

from __future__ import annotations

import os
import plistlib
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lab import Laptop, run, wait_until

# Nothing here starts anything on the workstation.
pytestmark = pytest.mark.shared_workstation


def unit_path(laptop: Laptop) -> Path:
    return laptop.home / ".config" / "systemd" / "user" / "jssh-watch.service"


def unit_values(text: str, key: str) -> list[str]:
    return [ln.split("=", 1)[1] for ln in text.splitlines() if ln.startswith(f"{key}=")]


def exec_start_argv(text: str) -> list[str]:
    """ExecStart as argv: systemd's double quotes read like sh's here; %% is a %."""
    (line,) = unit_values(text, "ExecStart")
    return [word.replace("%%", "%").replace("$$", "$") for word in shlex.split(line)]


def user_systemd_available() -> bool:
    if not shutil.which("systemctl"):
        return False
    done = subprocess.run(
        ["systemctl", "--user", "show-environment"], capture_output=True, check=False, timeout=10
    )
    return done.returncode == 0


def test_install_writes_a_systemd_unit_that_runs_this_jssh_watch(laptop: Laptop) -> None:
    result = laptop.jssh("service", "install", "--no-enable")
    assert result.ok, result
    path = unit_path(laptop)
    text = path.read_text()
    assert result.stdout.startswith(f"wrote {path}:\n")
    assert all(f"    {line}".rstrip() in result.stdout for line in text.splitlines())
    assert exec_start_argv(text) == [
        sys.executable, "-m", "jssh",
        "--ssh-config", str(laptop.ssh_config),
        "--state-dir", str(laptop.state_dir),
        "watch",
    ]  # fmt: skip
    assert unit_values(text, "Restart") == ["on-failure"]
    assert unit_values(text, "KillMode") == ["process"]  # tunnels outlive the watchdog
    assert unit_values(text, "WantedBy") == ["default.target"]
    assert "not enabled (--no-enable)" in result.stdout
    assert path.stat().st_mode & 0o777 == 0o644


def test_the_unit_passes_systemd_analyze_verify(laptop: Laptop, tmp_path: Path) -> None:
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    # A state dir with a space and a % exercises the ExecStart quoting.
    odd = laptop.root / "state dir 100%"
    result = laptop.jssh("--state-dir", str(odd), "service", "install", "--no-enable")
    assert result.ok, result
    path = unit_path(laptop)
    assert exec_start_argv(path.read_text())[-2] == str(odd)
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    for mode in ([], ["--user"]):
        done = run(
            ["systemd-analyze", *mode, "--man=no", "verify", str(path)],
            env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
        )
        assert done.ok, done
        assert "Unknown key" not in done.stderr, done
        assert "jssh-watch.service" not in done.stderr, done


def test_the_command_in_the_unit_runs_the_watchdog_on_the_same_paths(laptop: Laptop) -> None:
    assert laptop.jssh("service", "install", "--no-enable").ok
    argv = exec_start_argv(unit_path(laptop).read_text())
    # A service manager gives none of the shell's JSSH_* variables: the unit must carry them.
    env = {k: v for k, v in laptop.env.items() if k not in ("JSSH_SSH_CONFIG", "JSSH_STATE_DIR")}
    proc = subprocess.Popen(
        argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        pid_file = laptop.state_dir / "watch.pid"
        wait_until(
            lambda: pid_file.exists() and pid_file.read_text().strip() == str(proc.pid),
            timeout=15,
            what="the watchdog's pid in the laptop's state dir",
        )
        status = laptop.jssh("service", "status")
        assert status.ok, status
        assert f"unit: {unit_path(laptop)} (installed)" in status.stdout
        assert f"watchdog: running (pid {proc.pid})" in status.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert b"stopping on SIGTERM" in err


def test_without_a_user_systemd_install_says_so_and_prints_the_command(laptop: Laptop) -> None:
    if user_systemd_available():
        pytest.skip("this machine has a user systemd; the test won't enable units in it")
    result = laptop.jssh("service", "install")
    assert result.returncode == 1, result
    path = unit_path(laptop)
    assert path.exists()  # written all the same
    assert f"wrote {path}:" in result.stdout
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("jssh: error:")]
    assert len(errors) == 1, result.stderr
    assert f"wrote {path}, but could not enable it" in errors[0]
    assert (
        "systemctl --user daemon-reload && systemctl --user enable --now jssh-watch.service"
        in (errors[0])
    )
    assert "Traceback" not in result.stderr


def test_uninstall_removes_the_unit(laptop: Laptop) -> None:
    assert laptop.jssh("service", "install", "--no-enable").ok
    path = unit_path(laptop)
    result = laptop.jssh("service", "uninstall", "--no-disable")
    assert result.ok, result
    assert f"removed {path}" in result.stdout
    assert not path.exists()
    again = laptop.jssh("service", "uninstall", "--no-disable")
    assert again.ok, again
    assert "nothing to remove" in again.stdout
    status = laptop.jssh("service", "status")
    assert f"unit: {path} (not installed)" in status.stdout
    assert "watchdog: not running" in status.stdout


def test_a_launchd_agent_is_a_valid_plist_running_the_same_command(laptop: Laptop) -> None:
    result = laptop.jssh("service", "install", "--manager", "launchd", "--no-enable")
    assert result.ok, result
    path = laptop.home / "Library" / "LaunchAgents" / "org.jssh.watch.plist"
    assert f"wrote {path}:" in result.stdout
    agent = plistlib.loads(path.read_bytes())
    assert agent["Label"] == "org.jssh.watch"
    assert agent["ProgramArguments"] == [
        sys.executable, "-m", "jssh",
        "--ssh-config", str(laptop.ssh_config),
        "--state-dir", str(laptop.state_dir),
        "watch",
    ]  # fmt: skip
    assert agent["RunAtLoad"] is True
    assert agent["KeepAlive"] == {"SuccessfulExit": False}  # restart on failure only
    assert agent["AbandonProcessGroup"] is True
    assert agent["EnvironmentVariables"]["PATH"] == laptop.env["PATH"]
    if shutil.which("plutil"):
        assert run(["plutil", "-lint", str(path)]).ok


def test_the_unit_directory_can_be_chosen(laptop: Laptop) -> None:
    target = laptop.root / "units"
    env = {**laptop.env, "JSSH_SERVICE_DIR": str(target)}
    result = run(laptop.jssh_argv("service", "install", "--no-enable"), env=env)
    assert result.ok, result
    assert (target / "jssh-watch.service").exists()
    assert not unit_path(laptop).exists()


def test_an_unknown_manager_is_a_usage_error(laptop: Laptop) -> None:
    result = laptop.jssh("service", "install", "--manager", "upstart")
    assert result.returncode == 2, result
    assert "unknown service manager 'upstart'" in result.stderr
