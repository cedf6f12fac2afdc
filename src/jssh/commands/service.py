"""`jssh service install|uninstall|status`: the watchdog as a user service.

Linux gets a systemd user unit, macOS a launchd agent. Both run `jssh watch` at login
with the same --ssh-config/--state-dir the user gave, and restart it when it fails.
The files are rendered here (and tested as text); enabling them is one call to
systemctl or launchctl, and when that is not possible (no user systemd, as in many
containers) the file is still written and the command to run by hand is printed.
"""

from __future__ import annotations

import os
import plistlib
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jssh import fsutil
from jssh.errors import JsshError, UsageError
from jssh.paths import Paths

SYSTEMD_UNIT = "jssh-watch.service"
LAUNCHD_LABEL = "org.jssh.watch"
MANAGERS = ("systemd", "launchd")
# Environment the watchdog needs that a service manager does not give: where ssh and
# friends are (PATH), a control dir moved for a long home path, and a source checkout.
CARRIED_ENV = ("PATH", "JSSH_CONTROL_DIR", "PYTHONPATH")


class ServiceError(JsshError):
    """The unit was written, but the service manager could not be told about it."""


@dataclass(frozen=True)
class Service:
    """One service definition: which manager, where its file goes, what it runs."""

    manager: str
    path: Path
    argv: list[str]
    env: dict[str, str]
    log_path: Path

    def render(self) -> str:
        return render_systemd(self) if self.manager == "systemd" else render_launchd(self)

    @property
    def enable_commands(self) -> list[list[str]]:
        if self.manager == "systemd":
            return [
                ["systemctl", "--user", "daemon-reload"],
                ["systemctl", "--user", "enable", "--now", SYSTEMD_UNIT],
            ]
        domain = f"gui/{os.getuid()}"
        return [
            ["launchctl", "bootout", f"{domain}/{LAUNCHD_LABEL}"],  # may fail: not loaded
            ["launchctl", "bootstrap", domain, str(self.path)],
        ]

    @property
    def disable_commands(self) -> list[list[str]]:
        if self.manager == "systemd":
            return [["systemctl", "--user", "disable", "--now", SYSTEMD_UNIT]]
        return [["launchctl", "bootout", f"gui/{os.getuid()}/{LAUNCHD_LABEL}"]]

    @property
    def status_command(self) -> list[str]:
        if self.manager == "systemd":
            return ["systemctl", "--user", "is-active", SYSTEMD_UNIT]
        return ["launchctl", "print", f"gui/{os.getuid()}/{LAUNCHD_LABEL}"]


def default_manager() -> str:
    return "launchd" if sys.platform == "darwin" else "systemd"


def service_dir(manager: str) -> Path:
    """Where the unit goes: $JSSH_SERVICE_DIR, else the manager's per-user directory."""
    override = os.environ.get("JSSH_SERVICE_DIR")
    if override:
        return Path(override).expanduser().absolute()
    if manager == "launchd":
        return Path.home() / "Library" / "LaunchAgents"
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home).expanduser().absolute() / "systemd" / "user"


def jssh_command() -> list[str]:
    """How to run this same jssh again: its script's absolute path, else python -m jssh."""
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.name == "jssh" and os.access(script, os.X_OK):
        return [str(script.absolute())]
    return [sys.executable, "-m", "jssh"]


def build(
    paths: Paths,
    *,
    ssh_config: Path | None,
    state_dir: Path | None,
    manager: str | None = None,
) -> Service:
    """The service for these paths. --ssh-config/--state-dir go in when the user gave
    them (as options or JSSH_* variables), as absolute paths."""
    manager = manager or default_manager()
    if manager not in MANAGERS:
        raise UsageError(f"unknown service manager {manager!r}; use one of {', '.join(MANAGERS)}")
    argv = jssh_command()
    if ssh_config is not None:
        argv += ["--ssh-config", str(paths.ssh_config)]
    if state_dir is not None:
        argv += ["--state-dir", str(paths.state_dir)]
    argv.append("watch")
    env = {k: os.environ[k] for k in CARRIED_ENV if os.environ.get(k)}
    name = SYSTEMD_UNIT if manager == "systemd" else f"{LAUNCHD_LABEL}.plist"
    return Service(
        manager=manager,
        path=service_dir(manager) / name,
        argv=argv,
        env=env,
        log_path=paths.state_dir / "watch.service.log",
    )


# -- rendering ------------------------------------------------------------------------
def _systemd_quote(word: str) -> str:
    """One ExecStart word: double-quoted when needed; `%` and `$` doubled (specifiers)."""
    word = word.replace("%", "%%").replace("$", "$$")
    if word and not any(c in word for c in " \t\"'\\;"):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_systemd(service: Service) -> str:
    exec_start = " ".join(_systemd_quote(word) for word in service.argv)
    env_lines = "".join(
        f"Environment={_systemd_quote(f'{k}={v}')}\n" for k, v in sorted(service.env.items())
    )
    return (
        "# Written by `jssh service install`; remove with `jssh service uninstall`.\n"
        "[Unit]\n"
        "Description=jssh watchdog: keeps the Jupyter tunnels of `jssh up` hosts alive\n"
        "Documentation=man:jssh(1)\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"ExecStart={exec_start}\n"
        f"{env_lines}"
        "Restart=on-failure\n"
        "RestartSec=5\n"
        "# SIGTERM stops the watchdog cleanly. Only the watchdog: the ssh masters it\n"
        "# started are the user's tunnels and must outlive a restart of the watchdog.\n"
        "KillMode=process\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def render_launchd(service: Service) -> str:
    plist: dict[str, object] = {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": service.argv,
        "RunAtLoad": True,
        # Restart when it fails, not after a clean stop (SIGTERM from launchctl bootout).
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 5,
        "ProcessType": "Background",
        # The ssh masters it started are the user's tunnels: launchd must not kill them
        # with the watchdog's process group.
        "AbandonProcessGroup": True,
        "StandardErrorPath": str(service.log_path),
    }
    if service.env:
        plist["EnvironmentVariables"] = dict(sorted(service.env.items()))
    return plistlib.dumps(plist, sort_keys=False).decode()


# -- install / uninstall / status -------------------------------------------------------
def install(service: Service, *, enable: bool = True) -> tuple[list[str], ServiceError | None]:
    """Write the unit and enable it. Returns what was done, line by line, and the
    error to report when the unit is written but the service manager can't take it."""
    fsutil.ensure_private_dir(service.path.parent)
    text = service.render()
    existed = service.path.exists()
    fsutil.atomic_write(service.path, text, mode=0o644)
    lines = [
        f"{'rewrote' if existed else 'wrote'} {service.path}:",
        *(f"    {line}" for line in text.rstrip("\n").splitlines()),
        f"it runs: {shlex.join(service.argv)}",
    ]
    if not enable:
        lines.append(f"not enabled (--no-enable); to enable: {_joined(service.enable_commands)}")
        return lines, None
    failure = _run_all(service.enable_commands, service.manager)
    if failure is not None:
        return lines, ServiceError(
            f"wrote {service.path}, but could not enable it: {failure}",
            hint=f"enable it by hand: {_joined(service.enable_commands)};"
            f" or, without a service manager, start `{shlex.join(service.argv)}` at login",
        )
    verb = "enabled and started" if service.manager == "systemd" else "loaded"
    lines.append(f"{verb} {_unit_name(service)} ({service.manager}); it starts at every login")
    return lines, None


def uninstall(service: Service, *, disable: bool = True) -> list[str]:
    lines: list[str] = []
    if disable:
        failure = _run_all(service.disable_commands, service.manager)
        if failure is None:
            lines.append(f"stopped and disabled {_unit_name(service)} ({service.manager})")
        else:
            lines.append(f"could not disable it ({failure}); nothing was running there")
    try:
        service.path.unlink()
        lines.append(f"removed {service.path}")
    except FileNotFoundError:
        lines.append(f"no unit at {service.path}: nothing to remove")
    if disable and service.manager == "systemd" and shutil.which("systemctl"):
        _call(["systemctl", "--user", "daemon-reload"])
    return lines


def status(service: Service, paths: Paths) -> list[str]:
    from jssh.watchstatus import running_pid

    installed = service.path.exists()
    lines = [f"unit: {service.path} ({'installed' if installed else 'not installed'})"]
    if installed:
        lines.append(f"runs: {shlex.join(service.argv)}")
    rc, out = _call(service.status_command)
    if rc is None:
        lines.append(f"{service.manager}: not available ({out})")
    else:
        state = out.strip().splitlines()[0] if out.strip() else f"exit {rc}"
        if service.manager == "launchd":
            state = "loaded" if rc == 0 else "not loaded"
        lines.append(f"{service.manager}: {state}")
    pid = running_pid(paths)
    if pid:
        lines.append(f"watchdog: running (pid {pid}); log {paths.watchdog_log}")
    else:
        lines.append(f"watchdog: not running; log {paths.watchdog_log}")
    return lines


def _unit_name(service: Service) -> str:
    return SYSTEMD_UNIT if service.manager == "systemd" else LAUNCHD_LABEL


def _joined(commands: Sequence[Sequence[str]]) -> str:
    return " && ".join(shlex.join(c) for c in commands if "bootout" not in c)


def _call(argv: list[str]) -> tuple[int | None, str]:
    """(exit code, output) of a service manager command; None when it can't be run."""
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL, check=False
        )
    except FileNotFoundError:
        return None, f"{argv[0]} not found"
    except subprocess.TimeoutExpired:
        return None, f"{shlex.join(argv)} did not answer within 30 s"
    return done.returncode, (done.stdout + done.stderr).strip()


def _run_all(commands: list[list[str]], manager: str) -> str | None:
    """Run each command; the first failure's reason, or None when all worked."""
    for argv in commands:
        rc, out = _call(argv)
        if "bootout" in argv:  # only clears an earlier load; failing is normal
            continue
        if rc != 0:
            last = out.strip().splitlines()[-1] if out.strip() else f"exit {rc}"
            return f"`{shlex.join(argv)}` failed: {last}" if rc is not None else out
    return None
