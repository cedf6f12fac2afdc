"""`jssh doctor`: check what commonly goes wrong, and say exactly how to fix each problem.

Every check gives one `Check`: ok or not, what was found, and (when not ok) the command
or edit that fixes it. Checks never change anything: no file is written, no master is
started (remote checks run through a live master, or else one BatchMode connection that
asks for no forward), and on the remote only a read-only script runs.

Global checks: the ssh client, the Include line, file permissions, the watchdog. Per
host: ssh can read its config, the ControlPath (ours, and short enough), the control
socket (live or stale), the local port, a BatchMode login, jupyter (with the
jupyter_server version: unix sockets need 1.9 or later), and tmux.
"""

from __future__ import annotations

import os
import pwd
import re
import shlex
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from jssh import ports
from jssh.commands.checks import Check, ok, problem, render
from jssh.commands.doctor_remote import CONNECT_TIMEOUT, remote_checks
from jssh.commands.forwarding import port_checks
from jssh.commands.manage import CONTROL_PATH_LIMIT
from jssh.config.resolve import drift_status
from jssh.config.sshconfig import include_position
from jssh.config.store import Store
from jssh.errors import JsshError, WaitTimeout
from jssh.hosts import HostRecord, Registry
from jssh.paths import Paths
from jssh.session.owner import TunnelOwner
from jssh.ssh import Ssh, classify_failure

__all__ = ["Check", "Doctor", "render"]

# Include arrived in OpenSSH 7.3; -G (6.8), %C and forwards to unix sockets (6.7) are older.
MIN_OPENSSH = (7, 3)


class Doctor:
    """Runs the checks for all managed hosts, or for one."""

    def __init__(self, paths: Paths, ssh: Ssh) -> None:
        self.paths = paths
        self.ssh = ssh

    def run(self, name: str | None = None) -> list[Check]:
        """The global checks, then each host's (only NAME's when given)."""
        store = Store(self.paths)
        checks: list[Check] = []
        try:
            registry = store.load()
        except JsshError as exc:
            if name is not None:
                raise
            registry = Registry()
            checks.append(problem("hosts-file", None, exc.message, exc.hint))
        records = [store.get(name)] if name else sorted(registry.hosts.values(), key=_by_name)
        checks.append(self.ssh_version())
        checks.append(self.include(registry))
        checks.extend(self.permissions(sorted(registry.hosts)))
        checks.append(self.watchdog(sorted(registry.hosts)))
        for record in records:
            checks.extend(self.host(record))
        return checks

    # -- global ---------------------------------------------------------------------------
    def ssh_version(self) -> Check:
        try:
            text = self.ssh.version()
        except JsshError as exc:
            return problem("ssh-version", None, exc.message, exc.hint)
        match = re.search(r"OpenSSH_(\d+)\.(\d+)", text)
        upgrade = "install a current OpenSSH client (Debian: apt-get install openssh-client)"
        if not match:
            return problem(
                "ssh-version", None, f"`ssh -V` does not name OpenSSH: {text!r}", upgrade
            )
        version = (int(match.group(1)), int(match.group(2)))
        if version < MIN_OPENSSH:
            need = ".".join(map(str, MIN_OPENSSH))
            return problem(
                "ssh-version", None, f"{text}: jssh needs OpenSSH {need} or later", upgrade
            )
        return ok("ssh-version", None, text)

    def include(self, registry: Registry) -> Check:
        config = self.paths.ssh_config
        if not registry.hosts:
            return ok("include", None, f"no managed hosts yet, so {config} needs no Include")
        store = Store(self.paths)
        try:
            text = store.read_user_config()  # bytes: any encoding, CRLF
        except JsshError as exc:
            return problem("include", None, exc.message, None)
        problems = store.include_problems(text)
        if not problems:
            return ok(
                "include",
                None,
                f"{config} includes {self.paths.managed_config} before any Host/Match line",
            )
        include_at, first_block = include_position(text, self.paths.managed_config)
        if include_at is None and store.include_present(text):  # in a Host of an Included file
            fix = "move that Include line out of the block, above its file's first Host/Match"
        elif include_at is None:
            any_host = registry.hosts[min(registry.hosts)]
            fix = (
                f"run `jssh add {shlex.quote(any_host.target)} --name {any_host.name}`:"
                f" it puts the Include line back at the top of {config}"
            )
        else:
            line = text.splitlines()[include_at - 1].strip().decode(errors="replace")
            fix = (
                f"edit {config}: move the line `{line}` (line {include_at}) to the top,"
                f" above line {first_block}, before any Host or Match line"
            )
        return problem("include", None, f"{problems[0]} ({config})", fix)

    def permissions(self, names: list[str]) -> list[Check]:
        """ssh refuses config files others can write; tokens must be private."""
        found: list[Check] = []
        checked: list[str] = []
        for path, kind in self._private_paths(names):
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            except OSError as exc:
                found.append(problem("permissions", None, f"cannot stat {path}: {exc}", None))
                continue
            checked.append(str(path))
            finding = _permission_problem(path, st, kind)
            if finding:
                found.append(problem("permissions", None, *finding))
        if not found:
            shown = ", ".join(checked) if checked else "nothing to check yet"
            found.append(ok("permissions", None, f"private enough: {shown}"))
        return found

    def _private_paths(self, names: list[str]) -> Iterator[tuple[Path, str]]:
        paths = self.paths
        yield paths.ssh_config, "config"
        yield paths.managed_dir, "dir"
        yield paths.managed_config, "config"
        yield paths.hosts_file, "config"
        yield paths.control_dir, "dir"
        for name in names:
            yield paths.token_file(name), "secret"

    def watchdog(self, names: list[str]) -> Check:
        pid, why = self._watchdog_pid()
        if pid is not None:
            return ok("watchdog", None, f"running (pid {pid})" if pid > 0 else "running")
        wanted = [n for n in names if self.paths.wanted_marker(n).exists()]
        if not wanted:
            return ok(
                "watchdog",
                None,
                f"{why}; no tunnel is up, so there is nothing to keep alive yet",
            )
        hosts = ", ".join(wanted)
        return problem(
            "watchdog",
            None,
            f"{why}: the tunnels of {hosts} will not come back by themselves after a drop",
            "start it at login: `jssh service install` (or run `jssh watch` in a terminal)",
        )

    def _watchdog_pid(self) -> tuple[int | None, str]:
        """The live watchdog's pid (-1: alive, pid unknown), or None and why not."""
        from jssh.watchstatus import running_pid

        # The watchdog holds a lock on its pid file for as long as it lives, so a file
        # left behind by a dead one (or a pid reused since) can't pass for a live one.
        pid = running_pid(self.paths)
        if pid is not None:
            return pid, ""
        if self.paths.watchdog_pid.exists():
            return None, f"not running (the pid file {self.paths.watchdog_pid} is stale)"
        return None, "not running"

    # -- per host -------------------------------------------------------------------------
    def host(self, record: HostRecord) -> list[Check]:
        name, alias = record.name, record.alias
        try:
            settings = self.ssh.resolve(alias)
        except JsshError as exc:
            fix = exc.hint
            bad = re.search(r"Bad owner or permissions on (\S+)", exc.message)
            if bad:
                fix = f"make it yours and not writable by others: chmod 600 {bad.group(1)}"
            return [problem("ssh-config", name, f"{exc.message}; {_SKIPPED}", fix)]
        checks = [ok("ssh-config", name, f"ssh reads the config for {alias}")]
        checks.append(Check("drift", name, *drift_status(self.paths, self.ssh, record)))

        control_path = (settings.get("controlpath") or ["none"])[0]
        expected_dir = str(Path(record.control_path).parent)
        if not control_path.startswith(expected_dir + "/"):
            checks.append(
                problem(
                    "control-path",
                    name,
                    f"ssh does not apply jssh's block to {alias}: its ControlPath is"
                    f" {control_path}, not one in {expected_dir}; {_SKIPPED}",
                    f"put jssh's Include line at the top of {self.paths.ssh_config},"
                    " before any Host/Match line (see the include check)",
                )
            )
            return checks
        size = len(control_path.encode())
        if size > CONTROL_PATH_LIMIT:
            checks.append(
                problem(
                    "control-path",
                    name,
                    f"{control_path} is {size} bytes, over the {CONTROL_PATH_LIMIT} a control"
                    " socket may use (unix socket paths are limited to 104-108 bytes)",
                    "use a shorter private directory: `mkdir -m 700 ~/.jssh-cm`, then"
                    " `export JSSH_CONTROL_DIR=~/.jssh-cm` (in your shell profile) and run"
                    f" `jssh add {shlex.quote(record.target)} --name {name}` again",
                )
            )
        else:
            checks.append(
                ok("control-path", name, f"{control_path} ({size} of {CONTROL_PATH_LIMIT} bytes)")
            )

        master, hung, socket_check = self._control_socket(record, control_path)
        checks.append(socket_check)
        checks.append(self._local_port(record, master))
        checks += port_checks(record, self._node_master(record) if record.slurm else master)
        if hung:
            return checks

        started = time.monotonic()
        reach = self._reachable(record, master, started)
        checks.append(reach)
        if not reach.ok:
            return checks
        checks.extend(remote_checks(self.ssh, record))
        return checks

    def _control_socket(self, record: HostRecord, path: str) -> tuple[int | None, bool, Check]:
        """(master pid, master hung?, the check)."""
        name = record.name
        socket_path = Path(path)
        if not socket_path.exists():
            return None, False, ok("control-socket", name, "no master running (tunnel down)")
        if not stat.S_ISSOCK(socket_path.stat().st_mode):
            return (
                None,
                False,
                problem(
                    "control-socket",
                    name,
                    f"{path} is not a socket, so no master can listen there",
                    f"rm {shlex.quote(path)}",
                ),
            )
        try:
            master = self.ssh.master_pid(record.alias)
        except WaitTimeout:
            pid = _mux_pid(path)
            stop = f"kill {pid}" if pid else f"`jssh down {name}`"
            return (
                None,
                True,
                problem(
                    "control-socket",
                    name,
                    f"the master behind {path}{f' (pid {pid})' if pid else ''} does not answer:"
                    f" stopped (kill -STOP) or hung; {_SKIPPED}",
                    f"{stop}, then `jssh up {name}`",
                ),
            )
        if master is None:
            return (
                None,
                False,
                problem(
                    "control-socket",
                    name,
                    f"stale control socket {path}: no master answers on it"
                    " (what a killed master leaves behind)",
                    f"rm {shlex.quote(path)}   (`jssh up {name}` also replaces it)",
                ),
            )
        return master, False, ok("control-socket", name, f"master running (pid {master})")

    def _local_port(self, record: HostRecord, master: int | None) -> Check:
        name, port = record.name, record.local_port
        if ports.is_free(port):
            if master is not None:
                return problem(
                    "local-port",
                    name,
                    f"the master (pid {master}) runs, but nothing listens on 127.0.0.1:{port}",
                    f"`jssh up {name}` asks the master for its forward again",
                )
            return ok("local-port", name, f"127.0.0.1:{port} is free for the tunnel")
        ours = [pid for pid in (master, self._node_master(record)) if pid is not None]
        # By the listener's inode, not by the first holder psutil names: the watchdog
        # holds the same listener as the master (watchdog/relay.py, take_listener).
        holding = next((pid for pid in ours if ports.listens_on(pid, port)), None)
        if holding is not None:
            return ok(
                "local-port", name, f"127.0.0.1:{port} is held by {name}'s tunnel (pid {holding})"
            )
        if TunnelOwner.of(record, self.paths).watchdog_holds():
            what = f"127.0.0.1:{port} is held by jssh watch while it brings the tunnel back"
            return ok("local-port", name, what)
        return problem(
            "local-port",
            name,
            f"127.0.0.1:{port} is taken by {ports.describe_holder(port)}, not by {name}'s tunnel",
            f"stop that program, or move {name} to another port:"
            f" `jssh add {shlex.quote(record.target)} --name {name} --local-port N`",
        )

    def _node_master(self, record: HostRecord) -> int | None:
        """A Slurm host's forward is held by the compute node's master instead."""
        node_alias = getattr(record, "node_alias", None)
        if not (getattr(record, "slurm_node", None) and isinstance(node_alias, str)):
            return None
        try:
            return self.ssh.master_pid(node_alias)
        except JsshError:
            return None

    def _reachable(self, record: HostRecord, master: int | None, started: float) -> Check:
        name, alias = record.name, record.alias
        try:
            result = self.ssh.probe(alias, connect_timeout=CONNECT_TIMEOUT, timeout=30)
        except JsshError as exc:
            return problem("reachable", name, f"{exc.message}; {_SKIPPED}", exc.hint)
        took = time.monotonic() - started
        if result.ok:
            how = f"through the master (pid {master})" if master else "with a new connection"
            return ok("reachable", name, f"logged in to {alias} without a prompt, {how},"
                       f" in {took:.2f} s")  # fmt: skip
        error = classify_failure(alias, result.stderr, interactive=False)
        fix = error.hint or f"see what ssh says: `ssh -v {alias} true`"
        return problem("reachable", name, f"{error.message} (in BatchMode); {_SKIPPED}", fix)


_SKIPPED = "the checks that depend on it were skipped"


def _by_name(record: HostRecord) -> str:
    return record.name


def _permission_problem(path: Path, st: os.stat_result, kind: str) -> tuple[str, str] | None:
    """(detail, fix) when `path` is not as private as ssh and jssh need, else None."""
    quoted = shlex.quote(str(path))
    uid = os.getuid()
    if st.st_uid not in (0, uid):
        me = pwd.getpwuid(uid).pw_name
        return (
            f"{path} belongs to uid {st.st_uid}, not to you: ssh refuses such files",
            f"chown {me} {quoted}",
        )
    mode = stat.S_IMODE(st.st_mode)
    if kind == "dir":
        if mode & 0o022:
            return (
                f"{path} is writable by {_who(mode)} (mode {mode:04o}): they could replace"
                " what jssh keeps there",
                f"chmod 700 {quoted}",
            )
        return None
    if kind == "secret":
        if mode & 0o077:
            return (
                f"{path} (a Jupyter token) is open to {_who(mode, 0o070, 0o007)} (mode {mode:04o})",
                f"chmod 600 {quoted}",
            )
        return None
    if mode & 0o022:
        return (
            f"{path} is writable by {_who(mode)} (mode {mode:04o}): others could change"
            ' your ssh settings, and OpenSSH refuses such a file ("Bad owner or permissions";'
            " Debian's accepts a group-writable one when the group is yours alone)",
            f"chmod 600 {quoted}",
        )
    return None


def _who(mode: int, group: int = 0o020, other: int = 0o002) -> str:
    """'its group', 'everyone' or both: whose bits (by default, write) `mode` sets."""
    who = [label for bits, label in ((group, "its group"), (other, "everyone")) if mode & bits]
    return " and ".join(who)


def _mux_pid(control_path: str) -> int | None:
    """The pid of the process listening on the control socket (a master that does not
    answer `ssh -O check` can't tell its pid itself)."""
    import psutil

    try:
        connections = psutil.net_connections(kind="unix")
    except (psutil.Error, OSError):
        return None
    for conn in connections:
        # ssh binds `PATH.<16 random chars>` and renames it to PATH: the kernel keeps
        # the name it was bound with.
        bound = conn.laddr if isinstance(conn.laddr, str) else ""
        if conn.pid is not None and (bound == control_path or bound.startswith(control_path + ".")):
            return int(conn.pid)
    return None
