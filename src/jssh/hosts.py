"""jssh's record of a managed host, and its (de)serialisation.

`hosts.json` beside the managed ssh config is the single source of truth: the managed
ssh config is rendered from it, and `jssh show NAME` prints it in full.

A user may edit hosts.json by hand, and its values end up in an ssh config file and in
remote shell words: so every field is checked as it is read. A file that can't be
read at all is refused whole (and left as it is); a host whose entry is damaged is kept
as it was found, apart, so the others still work and `jssh remove NAME` can drop it.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field

from jssh.errors import ConfigError, UsageError
from jssh.forwards import Forward, forwards_from_json
from jssh.names import alias_for, parse_target, validate_name

# Not `from typing import ...`: the warm `up` imports this module, and typing costs it
# ~4 ms (jssh.entry). mypy reads TYPE_CHECKING = False as typing's own.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SCHEMA_VERSION = 1
NODE_SUFFIX = "@node"  # the Slurm node master's ControlPath: the login node's + this
APPS = ("lab", "notebook")
# A command that ends in one of these names its app itself (`jupyter lab` likewise).
NAMED_APPS = ("lab", "notebook", "server")
COMMAND_APPS = {f"jupyter-{app}": app for app in NAMED_APPS}


@dataclass(frozen=True)
class Endpoint:
    """Where Jupyter listens on the remote: a unix socket path, or a loopback TCP port."""

    socket: str | None = None
    port: int | None = None

    def forward_target(self) -> str:
        """The remote half of the LocalForward line."""
        if self.socket:
            return self.socket
        return f"127.0.0.1:{self.port}"

    def describe(self) -> str:
        return f"unix socket {self.socket}" if self.socket else f"127.0.0.1:{self.port} (TCP)"


@dataclass(frozen=True)
class Launch:
    """How to start Jupyter on the remote."""

    app: str = "lab"
    login_shell: bool = False  # run through `$SHELL -l`, for `conda init` users
    venv: str | None = None
    conda: str | None = None
    command: list[str] | None = None  # full argv replacing `jupyter`
    notebook_dir: str | None = None
    extra_args: list[str] = field(default_factory=list)
    # Seconds without activity after which Jupyter culls idle kernels and then shuts
    # itself down (a Slurm job ends and frees its allocation); None: never.
    idle_timeout: int | None = None

    def named_app(self) -> str | None:
        """The app a `command` starts by itself (`uvx --from=jupyterlab jupyter-lab`,
        `apptainer exec img.sif jupyter lab`): jssh must not add another after it."""
        found = None
        words = self.command or []
        for i, word in enumerate(words):
            base = word.rsplit("/", 1)[-1]
            if base in COMMAND_APPS:
                found = COMMAND_APPS[base]
            elif base == "jupyter" and i + 1 < len(words) and words[i + 1] in NAMED_APPS:
                found = words[i + 1]
        return found

    @property
    def url_app(self) -> str:
        """The app whose page the URL opens: the command's own, else `app`."""
        named = self.named_app()
        return named if named in APPS else self.app

    def describe_finder(self) -> str:
        if self.command:
            return "command " + " ".join(self.command)
        if self.venv:
            return f"venv {self.venv}"
        if self.conda:
            return f"conda env {self.conda}"
        return "login shell PATH" if self.login_shell else "PATH"


@dataclass(frozen=True)
class HostRecord:
    """Everything jssh knows about one managed host."""

    name: str
    target: str  # the HOST as the user gave it to `jssh add`
    local_port: int
    endpoint: Endpoint
    # The block's own lines besides jssh's control settings, in order: what `ssh -G HOST`
    # resolved, and the guards against the user's `Host *`. (Keyword, value), each value
    # written as ssh_config(5) reads it (quoted where needed).
    ssh_options: list[tuple[str, str]]
    control_path: str
    launch: Launch = field(default_factory=Launch)
    slurm: str | None = None  # sbatch arguments when the host is a Slurm login node
    remote_user: str = ""
    # The compute node of this host's running Slurm job, while `jssh up` has a tunnel
    # to it: the managed config then has a `Host NAME-jupyter-node` block for it.
    slurm_node: str | None = None
    # Extra forwards beside Jupyter's (TensorBoard, MLflow…), through the same master.
    forwards: list[Forward] = field(default_factory=list)

    @property
    def alias(self) -> str:
        return alias_for(self.name)

    @property
    def node_alias(self) -> str:
        """The ssh alias of the Slurm job's compute node (reached through `alias`)."""
        return f"{self.alias}-node"

    @property
    def tunnel_control_path(self) -> str:
        """The ControlPath of the master that holds the local forward: the compute
        node's master for a Slurm host, else the host's own."""
        return self.control_path + NODE_SUFFIX if self.slurm else self.control_path

    def url(self, token: str | None) -> str:
        path = "lab" if self.launch.url_app == "lab" else "tree"
        base = f"http://127.0.0.1:{self.local_port}/{path}"
        return f"{base}?token={token}" if token else base

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ssh_options"] = [list(pair) for pair in self.ssh_options]
        return data

    @classmethod
    def from_json(cls, data: object) -> HostRecord:
        """The record in DATA; RecordError naming the first field that is wrong."""
        entry = _object(data, "the entry")
        endpoint = _object(entry.get("endpoint"), "endpoint")
        launch = _object(entry.get("launch", {}), "launch")
        record = cls(
            name=_name(entry.get("name")),
            target=_target(entry.get("target")),
            local_port=_port(entry.get("local_port"), "local_port"),
            endpoint=Endpoint(
                socket=_optional(endpoint.get("socket"), "endpoint.socket", _PATH),
                port=None
                if endpoint.get("port") is None
                else _port(endpoint.get("port"), "endpoint.port"),
            ),
            ssh_options=_options(entry.get("ssh_options")),
            control_path=_text(entry.get("control_path"), "control_path", _PATH),
            launch=Launch(
                app=_choice(launch.get("app", "lab"), "launch.app", APPS),
                login_shell=_bool(launch.get("login_shell", False), "launch.login_shell"),
                venv=_optional(launch.get("venv"), "launch.venv"),
                conda=_optional(launch.get("conda"), "launch.conda"),
                command=_words(launch.get("command"), "launch.command", optional=True),
                notebook_dir=_optional(launch.get("notebook_dir"), "launch.notebook_dir"),
                extra_args=_words(launch.get("extra_args", []), "launch.extra_args") or [],
                idle_timeout=_seconds(launch.get("idle_timeout"), "launch.idle_timeout"),
            ),
            slurm=_optional(entry.get("slurm"), "slurm"),
            remote_user=_text(entry.get("remote_user", ""), "remote_user", empty=True),
            slurm_node=_optional(entry.get("slurm_node"), "slurm_node", _WORD),
            forwards=_forwards(entry.get("forwards", [])),  # absent in older files
        )
        if (record.endpoint.socket is None) == (record.endpoint.port is None):
            raise RecordError("endpoint must have either a socket or a port")
        return record


class RecordError(ValueError):
    """One field of a host's entry in hosts.json is wrong (the message names it)."""


@dataclass(frozen=True)
class DamagedHost:
    """A host whose entry in hosts.json can't be used: kept exactly as found."""

    name: str
    data: Any  # the entry as it was in the file; written back unchanged
    problem: str  # which field is wrong, and how

    def describe(self, source: str) -> str:
        return (
            f"{source}: the entry for {_show(self.name)} is damaged ({self.problem}); jssh"
            " leaves it as it is and has no ssh block for it: fix it by hand, or drop it"
            f" with `jssh remove {self.name}`"
        )


@dataclass
class Registry:
    """The content of hosts.json: the managed hosts and how the Include was added."""

    hosts: dict[str, HostRecord] = field(default_factory=dict)
    # The exact text jssh inserted into the user's config, so removal restores it byte
    # for byte. None: jssh inserted nothing (none needed yet, or the user wrote their own).
    include_text: str | None = None
    created_user_config: bool = False
    # Hosts whose entries can't be used, kept as found (see DamagedHost).
    damaged: dict[str, DamagedHost] = field(default_factory=dict)
    # Top-level fields that were damaged: written back as found unless jssh sets them.
    kept: dict[str, Any] = field(default_factory=dict)
    # One line for each thing found wrong while reading (for `list` and `doctor`).
    problems: list[str] = field(default_factory=list)

    @property
    def include_unknown(self) -> bool:
        """True when hosts.json lost track of what jssh inserted (a damaged field)."""
        return "include_text" in self.kept

    def keep(self, source: str, key: str, value: object, consequence: str) -> None:
        """A damaged top-level field: kept as found, and named in `problems`."""
        self.kept[key] = value
        self.problems.append(f'{source}: "{key}" is damaged ({_show(value)}); {consequence}')

    def forget_include(self) -> None:
        self.include_text = None
        self.created_user_config = False
        self.kept.pop("include_text", None)
        self.kept.pop("created_user_config", None)

    def dumps(self) -> str:
        hosts: dict[str, Any] = {name: rec.to_json() for name, rec in self.hosts.items()}
        hosts.update({name: bad.data for name, bad in self.damaged.items()})
        payload: dict[str, Any] = {
            "version": SCHEMA_VERSION,
            "include_text": self.include_text,
            "created_user_config": self.created_user_config,
        }
        for key, value in self.kept.items():
            if payload.get(key) in (None, False):
                payload[key] = value
        payload["hosts"] = dict(sorted(hosts.items()))
        return json.dumps(payload, indent=2, sort_keys=False) + "\n"

    @classmethod
    def loads(cls, text: str, source: str) -> Registry:
        """Read hosts.json. A file that can't be read whole raises ConfigError; a host or
        field that is wrong is kept apart and named in `problems`."""
        try:
            payload = json.loads(text)
        except RecursionError:
            raise _damaged(source, "it is nested too deeply to be jssh's") from None
        except ValueError as exc:
            raise _damaged(source, str(exc)) from None
        if not isinstance(payload, dict):
            raise _damaged(source, f"it holds a JSON {type(payload).__name__}, not an object")
        version = payload.get("version")
        if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
            raise ConfigError(
                f"{source} was written by a newer jssh (format version {version}; this jssh"
                f" reads version {SCHEMA_VERSION}); jssh left it as it is",
                hint="upgrade jssh (`pipx upgrade jssh`, or pip install -U from your checkout)",
            )
        if version != SCHEMA_VERSION or isinstance(version, bool):
            raise _damaged(source, f"unknown version {version!r}")
        hosts = payload.get("hosts")
        if not isinstance(hosts, dict):
            raise _damaged(source, '"hosts" is not an object')
        registry = cls()
        for name, entry in hosts.items():
            try:
                record = HostRecord.from_json(entry)
                if record.name != name:
                    raise RecordError(f"its name is {record.name!r}, its key {name!r}")
                registry.hosts[name] = record
            except RecordError as exc:
                registry.damaged[name] = DamagedHost(name, entry, str(exc))
                registry.problems.append(registry.damaged[name].describe(source))
        include = payload.get("include_text")
        if include is None or _inserted_text(include):
            registry.include_text = include
        else:
            registry.keep(source, "include_text", include, "jssh will take out only"
                          " an Include line it recognises as its own")  # fmt: skip
        created = payload.get("created_user_config", False)
        if isinstance(created, bool):
            registry.created_user_config = created
        else:
            registry.keep(source, "created_user_config", created, "jssh will not delete"
                          " your ssh config")  # fmt: skip
        return registry


# -- checking what a hand-edited hosts.json says -------------------------------------------

_PATH = "path"  # free text, no control characters
_WORD = "word"  # letters, digits and . _ - @ : only (a user or host name)
_WORD_RE = re.compile(r"[A-Za-z0-9._@:-]+")
_KEYWORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*")
# Keywords that would start a new block or pull in a file: never a line in a block.
_NOT_A_SETTING = {"host", "match", "include"}


def _printable(text: str) -> bool:
    """No control characters: a newline would start a new line in an ssh config."""
    return not any((ord(ch) < 0x20 and ch != "\t") or ord(ch) == 0x7F for ch in text)


def _inserted_text(value: object) -> bool:
    """Does VALUE look like the lines jssh inserts (a comment and an Include line)?"""
    if not isinstance(value, str) or "Include " not in value:
        return False
    return _printable(value.replace("\r", "").replace("\n", ""))


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _damaged(source: str, why: str) -> ConfigError:
    return ConfigError(
        f"{source} is damaged ({why}); jssh left it as it is",
        hint="restore it from a backup, or move it away and run `jssh add` again",
    )


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordError(f"{what} is not an object")
    return value


def _text(value: object, what: str, kind: str = _PATH, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise RecordError(f"{what} is not text: {_show(value)}")
    if not value and not empty:
        raise RecordError(f"{what} is empty")
    if not _printable(value):
        raise RecordError(f"{what} contains a newline or another control character")
    if kind == _WORD and value and not _WORD_RE.fullmatch(value):
        raise RecordError(f"{what} is not a plain name: {_show(value)}")
    return value


def _optional(value: object, what: str, kind: str = _PATH) -> str | None:
    return None if value is None else _text(value, what, kind)


def _port(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536:
        raise RecordError(f"{what} is not a port (1-65535): {_show(value)}")
    return value


def _seconds(value: object, what: str) -> int | None:
    """An optional count of seconds (absent in files written before it existed)."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise RecordError(f"{what} is not a number of seconds: {_show(value)}")
    return value


def _bool(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise RecordError(f"{what} is not true or false: {_show(value)}")
    return value


def _choice(value: object, what: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise RecordError(f"{what} is not one of {', '.join(choices)}: {_show(value)}")
    return str(value)


def _words(value: object, what: str, *, optional: bool = False) -> list[str] | None:
    if value is None and optional:
        return None
    if not isinstance(value, list):
        raise RecordError(f"{what} is not a list of words")
    return [_text(word, f"{what}[{i}]", empty=True) for i, word in enumerate(value)]


def _name(value: object) -> str:
    try:
        return validate_name(_text(value, "name", _WORD))
    except UsageError as exc:
        raise RecordError(f"name: {exc.message}") from None


def _target(value: object) -> str:
    try:
        return parse_target(_text(value, "target")).text
    except UsageError as exc:
        raise RecordError(f"target: {exc.message}") from None


def _forwards(value: object) -> list[Forward]:
    try:
        return forwards_from_json(value)
    except ValueError as exc:
        raise RecordError(str(exc)) from None


def _options(value: object) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        raise RecordError("ssh_options is not a list of [keyword, value] pairs")
    options: list[tuple[str, str]] = []
    for i, pair in enumerate(value):
        if not (isinstance(pair, list) and len(pair) == 2):
            raise RecordError(f"ssh_options[{i}] is not a [keyword, value] pair")
        keyword = _text(pair[0], f"ssh_options[{i}] keyword", _WORD)
        if not _KEYWORD_RE.fullmatch(keyword) or keyword.lower() in _NOT_A_SETTING:
            raise RecordError(f"ssh_options[{i}] keyword {_show(keyword)} is not a setting")
        options.append((keyword, _text(pair[1], f"ssh_options[{i}] value ({keyword})")))
    return options
