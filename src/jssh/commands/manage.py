"""`jssh add / remove / list / show`: the managed hosts and their ssh config blocks.

`add` asks `ssh -G` what HOST really resolves to and writes `Host NAME-jupyter` to reach
it the same way (jssh.config.resolve builds and checks that block); `remove` takes the
block out again, with the remote state `up` made there.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from jssh import fsutil, ports
from jssh.commands.forwarding import assign, ports_in_use
from jssh.config.resolve import assumption_warning, build, resolve
from jssh.config.sshconfig import render_managed
from jssh.config.store import Store
from jssh.config.userconfig import host_aliases, read_config
from jssh.errors import ConfigError, JsshError, UsageError
from jssh.forwards import parse_spec
from jssh.hosts import APPS, NODE_SUFFIX, Endpoint, HostRecord, Launch
from jssh.names import alias_for, default_name, parse_target, validate_name
from jssh.paths import Paths, passwd_home
from jssh.ssh import Ssh

# The socket path limit is 108 bytes (Linux) / 104 (macOS) with the NUL, and the
# master first binds `<path>.<16 random chars>`: so 86 is what a ControlPath may use.
CONTROL_PATH_LIMIT = 86
# Removes the remote state `up` made for NAME ($1), and ~/.jssh once it is empty. It
# never creates anything: a host never brought up has no ~/.jssh/NAME, and stays so.
_REMOTE_CLEANUP = (
    'd="$HOME/.jssh/$1"; [ -d "$d" ] || { echo ABSENT; exit 0; };'
    ' rm -rf -- "$d" && { rmdir -- "$HOME/.jssh" 2>/dev/null; echo REMOVED; }'
)


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
    idle_timeout: int | None = None  # seconds; 0: none (turn it off)
    slurm: str | None = None
    forwards: list[str] | None = None  # `--forward` specs: the host's whole set when given


@dataclass
class AddOutcome:
    record: HostRecord
    changed: bool
    created: bool
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # The Include line could not be added (a read-only config): everything else was
    # written, and this says what the user must add. `add` exits with it.
    include_error: ConfigError | None = None
    previous: HostRecord | None = None  # the host as it was before (None: new)


@dataclass
class RemoveOutcome:
    name: str
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
        user_data = self.store.read_user_config()
        # The user's aliases, in the files their config Includes too (not in ours).
        aliases = host_aliases(
            read_config(
                self.paths.ssh_config,
                home=passwd_home(),
                skip=[self.paths.managed_config],
                data=user_data,
            )
        )
        name = request.name or default_name(target, set(aliases))
        alias = alias_for(name)
        if alias in aliases and not request.force:
            raise UsageError(
                f"your ssh config already has a Host named {alias!r} ({aliases[alias].where});"
                " jssh won't shadow it",
                hint="choose another --name, or pass --force to let jssh's block take over",
            )
        resolved = resolve(self.paths, self.ssh, target)
        unknown = assumption_warning(resolved, set(aliases), self.paths.ssh_config)
        control_path = self._control_path(name)
        specs = [parse_spec(text) for text in request.forwards or []]

        with self.store.transaction() as registry:
            existing = registry.hosts.get(name)
            taken = ports_in_use(registry, besides=name)  # Jupyter's and the forwards' ports
            record = HostRecord(
                name=name,
                target=request.host,
                local_port=self._local_port(request, existing, taken),
                endpoint=_endpoint(request, existing, name, resolved.user),
                ssh_options=[],
                control_path=control_path,
                launch=_launch(request, existing),
                slurm=request.slurm
                if request.slurm is not None
                else (existing.slurm if existing else None),
                remote_user=resolved.user,
                # A running job's node stays the tunnel's target until `jssh down`.
                slurm_node=existing.slurm_node if existing else None,
            )
            kept = existing.forwards if existing else []
            record = replace(
                record,
                forwards=kept if request.forwards is None else assign(record, specs, taken, kept),
            )
            block = build(self.paths, self.ssh, record, resolved, user_data)
            record = block.record
            registry.hosts[name] = record
            registry.damaged.pop(name, None)  # a damaged entry of that name is replaced
        # ssh makes the socket, not its directory: without this, a plain
        # `ssh NAME-jupyter` before the first `jssh up` would fail.
        fsutil.ensure_private_dir(self.paths.control_dir)
        needed = self.store.include_needed
        retargeted = self._retargeted_while_up(existing, record)
        return AddOutcome(
            record,
            changed=record != existing,
            created=existing is None,
            notes=block.notes,
            warnings=([unknown] if unknown else []) + block.warnings + retargeted,
            include_error=needed.error() if needed else None,
            previous=existing,
        )

    def _retargeted_while_up(self, old: HostRecord | None, new: HostRecord) -> list[str]:
        """A host that is up keeps its tunnel to where it went until it is brought down:
        say so when `add` points its name elsewhere."""
        if old is None or (old.target, old.local_port) == (new.target, new.local_port):
            return []
        if not self.paths.wanted_marker(new.name).exists():
            return []
        was = f"{old.target} on port {old.local_port}"
        return [
            f"{new.name} is up: its tunnel still goes to {was} until"
            f" `jssh down {new.name}` and `jssh up {new.name}`"
        ]

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

    # -- remove / list / show -------------------------------------------------------------
    def remove(self, name: str, *, keep_server: bool = False) -> RemoveOutcome:
        """Drop NAME: its remote state (when the host answers and the server is not
        kept), its block and entry, the Include when it was the last, its local state.
        A damaged entry can always be dropped."""
        registry = self.store.load()
        if name not in registry.damaged:
            self.store.get(name)  # a clear error for an unknown name, before the lock
        outcome = RemoveOutcome(name)
        record = registry.hosts.get(name)
        if record is not None and not keep_server:
            outcome.notes += self._remove_remote_state(record)
        elif record is not None:
            outcome.notes.append(f"kept ~/.jssh/{name} on {record.target}: the server uses it")
        with self.store.transaction() as registry:
            registry.hosts.pop(name, None)
            registry.damaged.pop(name, None)
        if self.store.include_needed:
            outcome.notes.append(self.store.include_needed.note())
        if self.store.include_kept:
            outcome.notes.append(self.store.include_kept)
        self.store.remove_all_state(name)
        return outcome

    def _remove_remote_state(self, record: HostRecord) -> list[str]:
        """Remove ~/.jssh/NAME on the host, best effort: only when it answers, in
        BatchMode, through a master if one still runs. Never creates it."""
        where = f"~/.jssh/{record.name} on {record.target}"
        try:
            result = self.ssh.probe(
                record.alias, ["sh", "-c", _REMOTE_CLEANUP, "sh", record.name], timeout=20
            )
        except JsshError:
            result = None
        if result is None or ("REMOVED" not in result.stdout and "ABSENT" not in result.stdout):
            return [
                f"could not reach {record.target} to remove {where}; remove it yourself"
                f" when you can: ssh {record.target} rm -rf .jssh/{record.name}"
            ]
        return [f"removed {where}"] if "REMOVED" in result.stdout else []

    def prepare_remove(self, name: str) -> bool:
        """Before `remove` stops NAME: clear a file where jssh keeps NAME's local state
        (jssh's own path), so that stopping can work. False when NAME's entry in
        hosts.json is damaged: there is nothing to stop, only an entry to drop."""
        directory = self.paths.host_state_dir(name)
        if directory.is_symlink() or directory.is_file():
            self.store.remove_all_state(name)
        return name not in self.store.load().damaged

    def problems(self) -> list[str]:
        """What is wrong in hosts.json that doesn't stop jssh (one line each)."""
        return self.store.load().problems

    def hosts(self) -> list[HostRecord]:
        return sorted(self.store.load().hosts.values(), key=lambda r: r.name)

    def get(self, name: str) -> HostRecord:
        return self.store.get(name)

    def block_text(self, name: str) -> str:
        return render_managed([self.store.get(name)]).split("\n\n", 1)[1]


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
        idle_timeout=base.idle_timeout
        if request.idle_timeout is None
        else (request.idle_timeout or None),
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
