"""The typer app, its global options, and what every command shares: the per-call
Context (paths, ssh, managers built lazily), the NAME argument with its Tab
completion, and the one way to say something on stderr."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from jssh import __version__

if TYPE_CHECKING:  # the real imports happen lazily: `--help` and Tab stay fast
    from jssh.commands.manage import Manager
    from jssh.hosts import HostRecord
    from jssh.paths import Paths
    from jssh.progress import Progress
    from jssh.session.lifecycle import Session
    from jssh.ssh import Ssh

app = typer.Typer(
    name="jssh",
    help="JupyterLab on your workstation or cluster, one command away, over your own OpenSSH.",
    no_args_is_help=True,
    add_completion=False,  # `jssh completion SHELL` instead: typer's installer edits rc files
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class Context:
    """What the global options chose; commands build what they need from it."""

    ssh_config: Path | None = None
    state_dir: Path | None = None
    verbose: bool = False
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def paths(self) -> Paths:
        from jssh.paths import Paths

        if "paths" not in self._cache:
            self._cache["paths"] = Paths.build(self.ssh_config, self.state_dir)
        paths: Paths = self._cache["paths"]
        return paths

    @property
    def ssh(self) -> Ssh:
        from jssh.ssh import Ssh

        if "ssh" not in self._cache:
            paths = self.paths
            config = None if paths.ssh_config_is_default else paths.ssh_config
            self._cache["ssh"] = Ssh(config, verbose=self.verbose)
        ssh: Ssh = self._cache["ssh"]
        return ssh

    def manager(self) -> Manager:
        from jssh.commands.manage import Manager

        return Manager(self.paths, self.ssh)

    def session(
        self, name: str, *, queue_wait: float | None = None, progress: Progress | None = None
    ) -> Session:
        return self.session_for(self.record(name), queue_wait=queue_wait, progress=progress)

    def record(self, name: str) -> HostRecord:
        """The managed host NAME; for a name that isn't one, a hint at what was meant."""
        from jssh.errors import UnknownHost

        try:
            return self.manager().get(name)
        except UnknownHost as exc:
            raise UnknownHost(exc.message, hint=self._meant(name, exc.hint)) from None

    def _meant(self, name: str, fallback: str | None) -> str | None:
        from jssh.completion import managed_names, ssh_aliases
        from jssh.names import ALIAS_SUFFIX

        base = name.removesuffix(ALIAS_SUFFIX)
        if name.endswith(ALIAS_SUFFIX) and base in managed_names(self.ssh_config, base):
            return f"{name!r} is the ssh alias jssh wrote; the managed name is {base!r}"
        if name in ssh_aliases(self.ssh_config, name):
            return f"{name!r} is a host of your ssh config: manage it with `jssh add {name}`"
        return fallback

    def session_for(
        self,
        record: HostRecord,
        *,
        queue_wait: float | None = None,
        progress: Progress | None = None,
    ) -> Session:
        """The host's session: a workstation, or a Slurm job for a host added with --slurm."""
        from jssh.session import session_for

        return session_for(self.paths, self.ssh, record, queue_wait=queue_wait, progress=progress)


def context(ctx: typer.Context) -> Context:
    obj = ctx.ensure_object(Context)
    assert isinstance(obj, Context)
    return obj


def complete_names(ctx: typer.Context, incomplete: str) -> list[str]:
    """Managed host names, for Tab. Reads hosts.json only: no ssh, no network."""
    try:
        from jssh.completion import managed_names

        return managed_names(ctx.find_root().params.get("ssh_config"), incomplete)
    except Exception:  # a Tab must never print a traceback into the user's prompt
        return []


def complete_ssh_aliases(ctx: typer.Context, incomplete: str) -> list[str]:
    """Host aliases from the user's own ssh config, for `jssh add <Tab>`."""
    try:
        from jssh.completion import ssh_aliases

        return ssh_aliases(ctx.find_root().params.get("ssh_config"), incomplete)
    except Exception:
        return []


def _version(value: bool) -> None:
    if value:
        typer.echo(f"jssh {__version__}")
        raise typer.Exit()


NameArg = Annotated[
    str,
    typer.Argument(
        metavar="NAME", help="A managed host (see `jssh list`).", autocompletion=complete_names
    ),
]
AllOrNameArg = Annotated[
    str | None,
    typer.Argument(
        metavar="[NAME]", help="One managed host [default: all].", autocompletion=complete_names
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.callback()
def root(
    ctx: typer.Context,
    ssh_config: Annotated[
        Path | None,
        typer.Option(
            "--ssh-config",
            metavar="PATH",
            envvar="JSSH_SSH_CONFIG",
            help="Your main ssh config [default: ~/.ssh/config]. When not the default,"
            " every ssh jssh runs gets -F PATH.",
            show_default=False,
        ),
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state-dir",
            metavar="PATH",
            envvar="JSSH_STATE_DIR",
            help="Where jssh keeps tokens, logs and pids [default: ~/.local/state/jssh].",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Print every ssh command line jssh runs.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """JupyterLab on your workstation or cluster, one command away, over your own OpenSSH."""
    ctx.obj = Context(ssh_config=ssh_config, state_dir=state_dir, verbose=verbose)


def say(line: str) -> None:
    typer.echo(line, err=True)
