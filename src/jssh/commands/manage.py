"""`jssh add / remove / list / show`: the managed hosts and their ssh config blocks.

`add` asks `ssh -G` what HOST really resolves to, carries every setting that differs
from OpenSSH's defaults into `Host NAME-jupyter`, then checks its own work: it asks
`ssh -G NAME-jupyter` against a probe copy of the final config, and carries whatever
still differs (say, a `Host *` value that HOST's own block had overridden).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from jssh import fsutil, ports
from jssh.config.keywords import spelled
from jssh.config.sshconfig import (
    ALWAYS_CARRIED,
    JSSH_KEYWORDS,
    NOT_CARRIED,
    remove_include,
    render_managed,
    user_aliases,
)
from jssh.config.store import Store
from jssh.errors import ConfigError, UsageError
from jssh.hosts import APPS, NODE_SUFFIX, Endpoint, HostRecord, Launch
from jssh.names import alias_for, default_name, parse_target, validate_name
from jssh.paths import Paths
from jssh.ssh import Settings, Ssh

# The socket path limit is 108 bytes (Linux) / 104 (macOS) with the NUL, and the
# master first binds `<path>.<16 random chars>`: so 86 is what a ControlPath may use.
CONTROL_PATH_LIMIT = 86
# Keywords ssh accepts `none` for, so a value leaking in from a pattern can be undone.
_NONE_ABLE = {"proxycommand", "proxyjump", "localcommand", "identityagent", "hostkeyalias"}


@dataclass
class AddRequest:
    """What the user asked `jssh add` for; None means 'keep what it was, or default'."""

    host: str
    name: str | None = None
    local_port: int | None = None
    remote_port: int | None = None
    remote_socket: str | None = None
    force: bool = False
    app: str | None = None
    login_shell: bool | None = None
    venv: str | None = None
    conda: str | None = None
    command: list[str] | None = None
    notebook_dir: str | None = None
    extra_args: list[str] | None = None
    slurm: str | None = None


@dataclass
class AddOutcome:
    record: HostRecord
    changed: bool
    created: bool
    notes: list[str] = field(default_factory=list)


class Manager:
    def __init__(self, paths: Paths, ssh: Ssh) -> None:
        self.paths = paths
        self.ssh = ssh
        self.store = Store(paths)

    # -- add -------------------------------------------------------------------------
    def add(self, request: AddRequest) -> AddOutcome:
        target = parse_target(request.host)
        if request.name is not None:
            validate_name(request.name)
        _check_launch(request)
        self.store.check_writable()
        user_text = self.store.read_user_config()
        aliases = user_aliases(user_text)
        name = request.name or default_name(target, aliases)
        alias = alias_for(name)
        if alias in aliases and not request.force:
            raise UsageError(
                f"your ssh config already has a Host named {alias!r}; jssh won't shadow it",
                hint="choose another --name, or pass --force to let jssh's block take over",
            )
        # A config that doesn't exist yet is an empty one (ssh -F would refuse it).
        missing = not self.paths.ssh_config.exists() and not self.paths.ssh_config_is_default
        resolved = self.ssh.resolve(
            target.host, target.ssh_args(), config=Path("/dev/null") if missing else None
        )
        defaults = self.ssh.resolve(target.host, target.ssh_args(), config=Path("/dev/null"))
        carried, notes = carry_settings(resolved, defaults)
        remote_user = resolved.get("user", [""])[0]
        control_path = self._control_path(name)

        with self.store.transaction() as registry:
            existing = registry.hosts.get(name)
            taken = {r.local_port for n, r in registry.hosts.items() if n != name}
            record = HostRecord(
                name=name,
                target=request.host,
                local_port=self._local_port(request, existing, taken),
                endpoint=_endpoint(request, existing, name, remote_user),
                ssh_options=carried,
                control_path=control_path,
                launch=_launch(request, existing),
                slurm=request.slurm
                if request.slurm is not None
                else (existing.slurm if existing else None),
                remote_user=remote_user,
                # A running job's node stays the tunnel's target until `jssh down`.
                slurm_node=existing.slurm_node if existing else None,
            )
            others = [r for n, r in registry.hosts.items() if n != name]
            record = self._verified(record, resolved, others, user_text, registry.include_text)
            registry.hosts[name] = record
        # ssh makes the socket, not its directory: without this, a plain
        # `ssh NAME-jupyter` before the first `jssh up` would fail.
        fsutil.ensure_private_dir(self.paths.control_dir)
        return AddOutcome(record, changed=record != existing, created=existing is None, notes=notes)

    def _control_path(self, name: str) -> str:
        """`<control dir>/NAME`: one master per managed host, even when two of them reach
        the same user@host:port (with `%C` they would share one, and `jssh down` of one
        would close the other's tunnel). The block pins user, host and port, so the name
        identifies the connection; and it keeps the path short, unlike NAME-%C."""
        directory = self.paths.control_dir
        # `@node` (a Slurm job's node master, see sshconfig) is the longest suffix used.
        length = len(str(directory)) + 1 + len(name) + len(NODE_SUFFIX)
        if length > CONTROL_PATH_LIMIT:
            raise ConfigError(
                f"the control socket path would be {length} bytes ({directory}/{name}),"
                f" over the {CONTROL_PATH_LIMIT} that unix sockets allow here",
                hint="use a shorter --name, or a shorter directory: set"
                " JSSH_CONTROL_DIR=~/.cache/jssh-cm (any short private path) and run `jssh add`"
                " again",
            )
        return f"{directory}/{name}"

    def _local_port(self, request: AddRequest, existing: HostRecord | None, taken: set[int]) -> int:
        if request.local_port is not None:
            if not 0 < request.local_port < 65536:
                raise UsageError(f"--local-port {request.local_port} is out of range (1-65535)")
            if request.local_port in taken:
                raise UsageError(
                    f"local port {request.local_port} is already used by another managed host",
                    hint="see `jssh list`, and pick a port no other host uses",
                )
            return request.local_port
        if existing is not None:
            return existing.local_port
        return ports.first_free(ports.FIRST_LOCAL_PORT, avoid=taken)

    def _verified(
        self,
        record: HostRecord,
        resolved: Settings,
        others: list[HostRecord],
        user_text: str,
        include: str | None,
    ) -> HostRecord:
        """Probe `ssh -G NAME-jupyter` against the final config; carry what differs."""
        user_rest = user_text
        if include:
            user_rest = remove_include(user_text, include, self.paths.managed_config) or user_text
        for _ in range(2):
            with tempfile.TemporaryDirectory(prefix="jssh-probe-") as tmp:
                probe = Path(tmp) / "config"
                probe.write_text(render_managed([*others, record]) + "\nMatch all\n" + user_rest)
                probed = self.ssh.resolve(record.alias, config=probe)
            extra = _differences(resolved, probed)
            if not extra:
                return record
            record = replace(record, ssh_options=record.ssh_options + extra)
        return record

    # -- remove / list / show -------------------------------------------------------------
    def remove(self, name: str) -> HostRecord:
        self.store.get(name)  # a clear error for an unknown name, before taking the lock
        with self.store.transaction() as registry:
            record = registry.hosts.pop(name)
        self.store.remove_all_state(name)
        return record

    def hosts(self) -> list[HostRecord]:
        return sorted(self.store.load().hosts.values(), key=lambda r: r.name)

    def get(self, name: str) -> HostRecord:
        return self.store.get(name)

    def block_text(self, name: str) -> str:
        return render_managed([self.store.get(name)]).split("\n\n", 1)[1]


def carry_settings(
    resolved: Settings, defaults: Settings
) -> tuple[list[tuple[str, str]], list[str]]:
    """The (Keyword, value) pairs NAME-jupyter needs to reach HOST as `ssh HOST` does."""
    carried: list[tuple[str, str]] = []
    notes: list[str] = []
    for key, values in resolved.items():
        if key in NOT_CARRIED or key in JSSH_KEYWORDS:
            if key in ("remoteforward", "dynamicforward", "localforward", "remotecommand"):
                notes.append(f"not carried from HOST: {key} {' '.join(values)} (would clash)")
            continue
        if key in ALWAYS_CARRIED or values != defaults.get(key):
            keyword = spelled(key)  # OpenSSH's own spelling, e.g. ProxyJump
            carried.extend((keyword, value) for value in values)
    return carried, notes


def _differences(resolved: Settings, probed: Settings) -> list[tuple[str, str]]:
    extra: list[tuple[str, str]] = []
    for key in sorted(set(resolved) | set(probed)):
        if key in NOT_CARRIED or key in JSSH_KEYWORDS or resolved.get(key) == probed.get(key):
            continue
        keyword = spelled(key)
        if key in resolved:
            extra.extend((keyword, value) for value in resolved[key])
        elif key in _NONE_ABLE:
            extra.append((keyword, "none"))
    return extra


def _endpoint(
    request: AddRequest, existing: HostRecord | None, name: str, remote_user: str
) -> Endpoint:
    if request.remote_port is not None and request.remote_socket is not None:
        raise UsageError("give either --remote-port or --remote-socket, not both")
    if request.remote_port is not None:
        if not 0 < request.remote_port < 65536:
            raise UsageError(f"--remote-port {request.remote_port} is out of range (1-65535)")
        return Endpoint(port=request.remote_port)
    if request.remote_socket is not None:
        path = request.remote_socket
        if not path.startswith("/") or any(c in path for c in " \n\t\"'\\") or len(path) > 100:
            raise UsageError(
                f"--remote-socket {path!r} must be an absolute path under 100 bytes,"
                " without spaces or quotes"
            )
        return Endpoint(socket=path)
    if existing is not None:
        return existing.endpoint
    # A private directory in /tmp: short enough for any socket limit, and known before
    # ever connecting. `up` refuses it unless it is ours and 0700.
    return Endpoint(socket=f"/tmp/jssh-{remote_user or 'user'}/{name}.sock")  # noqa: S108


def _launch(request: AddRequest, existing: HostRecord | None) -> Launch:
    base = existing.launch if existing else Launch()
    finder_given = any(v is not None for v in (request.venv, request.conda, request.command))
    return Launch(
        app=request.app or base.app,
        login_shell=request.login_shell if request.login_shell is not None else base.login_shell,
        venv=request.venv if finder_given else base.venv,
        conda=request.conda if finder_given else base.conda,
        command=request.command if finder_given else base.command,
        notebook_dir=request.notebook_dir
        if request.notebook_dir is not None
        else base.notebook_dir,
        extra_args=request.extra_args if request.extra_args is not None else base.extra_args,
    )


def _check_launch(request: AddRequest) -> None:
    if request.app is not None and request.app not in APPS:
        raise UsageError(f"--app must be one of {', '.join(APPS)}, not {request.app!r}")
    chosen = [opt for opt, v in (("--venv", request.venv), ("--conda", request.conda),
                                 ("--command", request.command)) if v is not None]  # fmt: skip
    if len(chosen) > 1:
        raise UsageError(f"give only one of {', '.join(chosen)}")
    for path, option in ((request.venv, "--venv"), (request.notebook_dir, "--notebook-dir")):
        if path is not None and ("\n" in path or "\0" in path):
            raise UsageError(f"{option} must not contain a newline")
