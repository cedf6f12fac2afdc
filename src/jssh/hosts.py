"""jssh's record of a managed host, and its (de)serialisation.

`hosts.json` beside the managed ssh config is the single source of truth: the managed
ssh config is rendered from it, and `jssh show NAME` prints it in full.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from jssh.errors import ConfigError
from jssh.names import alias_for

SCHEMA_VERSION = 1
NODE_SUFFIX = "@node"  # the Slurm node master's ControlPath: the login node's + this
APPS = ("lab", "notebook")


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
    # Settings carried over from `ssh -G HOST`, in config order: (Keyword, value).
    ssh_options: list[tuple[str, str]]
    control_path: str
    launch: Launch = field(default_factory=Launch)
    slurm: str | None = None  # sbatch arguments when the host is a Slurm login node
    remote_user: str = ""
    # The compute node of this host's running Slurm job, while `jssh up` has a tunnel
    # to it: the managed config then has a `Host NAME-jupyter-node` block for it.
    slurm_node: str | None = None

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
        path = "lab" if self.launch.app == "lab" else "tree"
        base = f"http://127.0.0.1:{self.local_port}/{path}"
        return f"{base}?token={token}" if token else base

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ssh_options"] = [list(pair) for pair in self.ssh_options]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HostRecord:
        return cls(
            name=str(data["name"]),
            target=str(data["target"]),
            local_port=int(data["local_port"]),
            endpoint=Endpoint(**data["endpoint"]),
            ssh_options=[(str(k), str(v)) for k, v in data["ssh_options"]],
            control_path=str(data["control_path"]),
            launch=Launch(**data.get("launch", {})),
            slurm=data.get("slurm"),
            remote_user=str(data.get("remote_user", "")),
            slurm_node=data.get("slurm_node"),
        )


@dataclass
class Registry:
    """The content of hosts.json: the managed hosts and how the Include was added."""

    hosts: dict[str, HostRecord] = field(default_factory=dict)
    # The exact text jssh inserted into the user's config, so removal restores it byte for byte.
    include_text: str | None = None
    created_user_config: bool = False

    def dumps(self) -> str:
        payload = {
            "version": SCHEMA_VERSION,
            "include_text": self.include_text,
            "created_user_config": self.created_user_config,
            "hosts": {name: rec.to_json() for name, rec in sorted(self.hosts.items())},
        }
        return json.dumps(payload, indent=2, sort_keys=False) + "\n"

    @classmethod
    def loads(cls, text: str, source: str) -> Registry:
        try:
            payload = json.loads(text)
            if payload.get("version") != SCHEMA_VERSION:
                raise ValueError(f"unknown version {payload.get('version')!r}")
            hosts = {n: HostRecord.from_json(r) for n, r in payload["hosts"].items()}
            return cls(
                hosts=hosts,
                include_text=payload.get("include_text"),
                created_user_config=bool(payload.get("created_user_config", False)),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(
                f"{source} is damaged ({exc}); jssh left it as it is",
                hint="restore it from a backup, or move it away and run `jssh add` again",
            ) from exc
