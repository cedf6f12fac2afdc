"""jssh's command line: parse, call one function, render. No logic lives here.

Every expected failure is a `JsshError`; `main()` catches it once and prints one line.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from jssh import __version__, render
from jssh.errors import ExitCode, JsshError

if TYPE_CHECKING:  # the real imports happen lazily: `--help` and Tab stay fast
    from jssh.commands.manage import Manager
    from jssh.hosts import HostRecord
    from jssh.paths import Paths
    from jssh.session.workstation import Jupyter
    from jssh.ssh import Ssh

app = typer.Typer(
    name="jssh",
    help="JupyterLab on your workstation or cluster, one command away, over your own OpenSSH.",
    no_args_is_help=True,
    add_completion=True,
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

    def jupyter(self, name: str, *, queue_wait: float | None = None) -> Jupyter:
        return self.jupyter_for(self.manager().get(name), queue_wait=queue_wait)

    def jupyter_for(self, record: HostRecord, *, queue_wait: float | None = None) -> Jupyter:
        """Jupyter on a workstation, or in a Slurm job when the host was added with --slurm."""
        if record.slurm:
            from jssh.session.slurm import SlurmJupyter

            return SlurmJupyter(self.paths, self.ssh, record, queue_wait=queue_wait)
        from jssh.session.workstation import Jupyter

        return Jupyter(self.paths, self.ssh, record)


def _ctx(ctx: typer.Context) -> Context:
    obj = ctx.ensure_object(Context)
    assert isinstance(obj, Context)
    return obj


def _complete_names(ctx: typer.Context, incomplete: str) -> list[str]:
    """Managed host names, for Tab. Reads hosts.json only: no ssh, no network."""
    try:
        from jssh.completion import managed_names

        return managed_names(ctx.find_root().params.get("ssh_config"), incomplete)
    except Exception:  # a Tab must never print a traceback into the user's prompt
        return []


def _complete_ssh_aliases(ctx: typer.Context, incomplete: str) -> list[str]:
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
    str, typer.Argument(help="A managed host (see `jssh list`).", autocompletion=_complete_names)
]
AllOrNameArg = Annotated[
    str | None,
    typer.Argument(help="One managed host [default: all].", autocompletion=_complete_names),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.callback()
def root(
    ctx: typer.Context,
    ssh_config: Annotated[
        Path | None,
        typer.Option(
            "--ssh-config",
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


def _say(line: str) -> None:
    typer.echo(line, err=True)


# -- managed hosts --------------------------------------------------------------------
@app.command()
def add(  # noqa: PLR0917 - typer maps each parameter to one CLI option
    ctx: typer.Context,
    host: Annotated[
        str,
        typer.Argument(
            help="An ssh alias, a host name, or user@host[:port].",
            autocompletion=_complete_ssh_aliases,
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option(help="Name for the managed host [default: the alias or first label]."),
    ] = None,
    local_port: Annotated[
        int | None, typer.Option(help="Port on this machine [default: first free from 8899].")
    ] = None,
    remote_port: Annotated[
        int | None,
        typer.Option(
            help="Serve Jupyter on 127.0.0.1:PORT on the remote instead of a unix socket."
        ),
    ] = None,
    remote_socket: Annotated[
        str | None,
        typer.Option(help="Unix socket path on the remote [default: /tmp/jssh-USER/NAME.sock]."),
    ] = None,
    app_name: Annotated[
        str | None, typer.Option("--app", help="lab (default) or notebook.")
    ] = None,
    venv: Annotated[str | None, typer.Option(help="Remote venv that has jupyter.")] = None,
    conda: Annotated[str | None, typer.Option(help="Remote conda env that has jupyter.")] = None,
    command: Annotated[
        str | None,
        typer.Option(
            help="Remote command that replaces `jupyter`, e.g. 'apptainer exec img.sif jupyter'."
        ),
    ] = None,
    login_shell: Annotated[
        bool | None,
        typer.Option(
            "--login-shell/--no-login-shell",
            help="Find and run jupyter through a login shell (for `conda init` setups).",
        ),
    ] = None,
    notebook_dir: Annotated[
        str | None, typer.Option(help="Remote directory Jupyter opens [default: home].")
    ] = None,
    jupyter_arg: Annotated[
        list[str] | None,
        typer.Option("--jupyter-arg", help="Extra argument for Jupyter (repeatable)."),
    ] = None,
    slurm: Annotated[
        str | None,
        typer.Option(help="Run Jupyter in a Slurm job with these sbatch arguments."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Take over a NAME-jupyter alias your own config has.")
    ] = False,
) -> None:
    """Write a managed `Host NAME-jupyter` block for HOST (run again to refresh it)."""
    from jssh.commands.manage import AddRequest

    c = _ctx(ctx)
    request = AddRequest(
        host=host,
        name=name,
        local_port=local_port,
        remote_port=remote_port,
        remote_socket=remote_socket,
        force=force,
        app=app_name,
        login_shell=login_shell,
        venv=venv,
        conda=conda,
        command=_split_command(command),
        notebook_dir=notebook_dir,
        extra_args=jupyter_arg,
        slurm=slurm,
    )
    outcome = c.manager().add(request)
    record = outcome.record
    for note in outcome.notes:
        _say(f"note: {note}")
    verb = "added" if outcome.created else ("updated" if outcome.changed else "unchanged:")
    if record.slurm:
        typer.echo(
            f"{verb} {record.name}: Jupyter runs in a Slurm job (sbatch {record.slurm}) from"
            f" {record.target}; `jssh up` forwards 127.0.0.1:{record.local_port} to"
            f" {record.endpoint.describe()} on the job's node"
        )
    else:
        typer.echo(
            f"{verb} {record.name}: `ssh {record.alias}` forwards 127.0.0.1:{record.local_port}"
            f" to {record.endpoint.describe()} on {record.target}"
        )
    if outcome.created:
        typer.echo(f"next: jssh up {record.name}")


def _split_command(command: str | None) -> list[str] | None:
    if command is None:
        return None
    from jssh.errors import UsageError

    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"--command {command!r} can't be split into words: {exc}") from None
    if not words:
        raise UsageError("--command must not be empty")
    return words


@app.command()
def remove(
    ctx: typer.Context,
    name: NameArg,
    keep_server: Annotated[
        bool, typer.Option("--keep-server", help="Leave the remote Jupyter server running.")
    ] = False,
) -> None:
    """Stop NAME's tunnel and server, and remove its block (and, if last, the Include)."""
    c = _ctx(ctx)
    jupyter = c.jupyter(name)
    # Stop the server even with no tunnel open (down connects in BatchMode): a server
    # jssh no longer manages would run on, unseen. A Slurm job is cancelled likewise.
    if not keep_server or c.ssh.master_pid(jupyter.record.alias) is not None:
        for line in jupyter.down(keep_server=keep_server):
            _say(f"{name}: {line}")
    c.manager().remove(name)
    typer.echo(f"removed {name}")


@app.command("list")
def list_hosts(
    ctx: typer.Context,
    as_json: JsonOption = False,
) -> None:
    """One line per managed host."""
    records = _ctx(ctx).manager().hosts()
    if as_json:
        typer.echo(json.dumps([_list_entry(r) for r in records], indent=2))
        return
    if not records:
        _say("no managed hosts yet: add one with `jssh add HOST`")
        return
    rows = [("NAME", "SSH ALIAS", "HOST", "LOCAL", "REMOTE")]
    rows += [
        (r.name, r.alias, r.target, str(r.local_port), r.endpoint.forward_target()) for r in records
    ]
    typer.echo(render.table(rows))


def _list_entry(record: HostRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "alias": record.alias,
        "host": record.target,
        "local_port": record.local_port,
        "remote": record.endpoint.forward_target(),
        "slurm": record.slurm,
    }


@app.command()
def show(ctx: typer.Context, name: NameArg) -> None:
    """Everything jssh knows about NAME, and its ssh config block."""
    manager = _ctx(ctx).manager()
    record = manager.get(name)
    typer.echo(f"# jssh settings for {name} (from {manager.paths.hosts_file})")
    typer.echo(json.dumps(record.to_json(), indent=2))
    typer.echo(f"\n# ssh config block (in {manager.paths.managed_config})")
    typer.echo(manager.block_text(name).rstrip())


# -- remote Jupyter -------------------------------------------------------------------
@app.command()
def up(  # noqa: PLR0917 - typer maps each parameter to one CLI option
    ctx: typer.Context,
    name: NameArg,
    open_browser: Annotated[
        bool | None,
        typer.Option(
            "--open/--no-open", help="Open the URL in a browser [default: when there is a display]."
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for Jupyter to start.")] = 90.0,
    no_tmux: Annotated[
        bool, typer.Option("--no-tmux", help="Start Jupyter under nohup even when tmux is there.")
    ] = False,
    wait: Annotated[
        float | None,
        typer.Option(
            help="Slurm hosts: seconds to wait for the job to leave the queue; it stays"
            " queued after that [default: 300].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start (or find) Jupyter on NAME and print its URL on the last line."""
    jupyter = _ctx(ctx).jupyter(name, queue_wait=wait)
    result = jupyter.up(interactive=sys.stdin.isatty(), wait=timeout, use_tmux=not no_tmux)
    where = f" ({result.mode})" if result.server_pid is None and result.mode else ""
    if result.reused:
        _say(f"{name}: reusing the running Jupyter server{where}")
    elif result.server_pid is None:
        _say(f"{name}: started Jupyter{where}")
    else:
        _say(f"{name}: started Jupyter (pid {result.server_pid}, under {result.mode})")
    if open_browser is None:
        open_browser = sys.stdout.isatty() and _has_display()
    if open_browser:
        from jssh.session.browser import open_privately

        open_privately(result.url, _ctx(ctx).paths.open_page(name))
    typer.echo(result.url)


def _has_display() -> bool:
    return sys.platform == "darwin" or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )


@app.command()
def down(
    ctx: typer.Context,
    name: NameArg,
    keep_server: Annotated[
        bool, typer.Option("--keep-server", help="Only close the tunnel; leave Jupyter running.")
    ] = False,
) -> None:
    """Stop NAME's Jupyter server (kernels shut down cleanly) and close the tunnel."""
    for line in _ctx(ctx).jupyter(name).down(keep_server=keep_server):
        typer.echo(f"{name}: {line}")


@app.command()
def status(
    ctx: typer.Context,
    name: AllOrNameArg = None,
    as_json: JsonOption = False,
) -> None:
    """Tunnel, local port, remote server and URL of each managed host (and Slurm job)."""
    c = _ctx(ctx)
    manager = c.manager()
    records = [manager.get(name)] if name else manager.hosts()
    states = [c.jupyter_for(r).status() for r in records]
    if as_json:
        typer.echo(json.dumps([s.to_json() for s in states], indent=2))
        return
    if not states:
        _say("no managed hosts yet: add one with `jssh add HOST`")
        return
    typer.echo(render.status_table(states))
    for s in states:
        if s.watchdog:
            typer.echo(render.watchdog_line(s.name, s.watchdog))
    for s in states:
        if s.detail:
            _say(f"{s.name}: {s.detail}")


@app.command()
def url(ctx: typer.Context, name: NameArg) -> None:
    """Print NAME's URL (with its token), without contacting the remote."""
    typer.echo(_ctx(ctx).jupyter(name).url())


@app.command()
def logs(
    ctx: typer.Context,
    name: NameArg,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many lines to show.")] = 100,
) -> None:
    """Show the remote Jupyter server's log."""
    code = _ctx(ctx).jupyter(name).logs(lines=lines, follow=follow)
    if code not in (0, 130):
        raise typer.Exit(code)


# -- for sysadmins ----------------------------------------------------------------------
@app.command()
def doctor(
    ctx: typer.Context,
    name: AllOrNameArg = None,
    as_json: JsonOption = False,
) -> None:
    """Check what commonly goes wrong; say how to fix each problem (exit 1 if any)."""
    from jssh.commands.doctor import Doctor, render

    c = _ctx(ctx)
    checks = Doctor(c.paths, c.ssh).run(name)
    if as_json:
        typer.echo(json.dumps([check.to_json() for check in checks], indent=2))
    else:
        typer.echo(render(checks))
    if not all(check.ok for check in checks):
        raise typer.Exit(int(ExitCode.FAILURE))


# -- watchdog ------------------------------------------------------------------------------
@app.command()
def watch(ctx: typer.Context) -> None:
    """Keep every host you brought `up` connected, until SIGTERM or Ctrl-C (one at a time)."""
    from jssh.watchdog import Watchdog

    c = _ctx(ctx)
    raise typer.Exit(Watchdog(c.paths, c.ssh).run())


service_app = typer.Typer(
    help="Run `jssh watch` as a user service (systemd on Linux, launchd on macOS).",
    no_args_is_help=True,
)
app.add_typer(service_app, name="service")

ManagerOption = Annotated[
    str | None,
    typer.Option("--manager", help="systemd or launchd [default: launchd on macOS, else systemd]."),
]


def _service(ctx: typer.Context, manager: str | None) -> tuple[Context, Any]:
    from jssh.commands import service

    c = _ctx(ctx)
    built = service.build(c.paths, ssh_config=c.ssh_config, state_dir=c.state_dir, manager=manager)
    return c, built


@service_app.command("install")
def service_install(
    ctx: typer.Context,
    manager: ManagerOption = None,
    enable: Annotated[
        bool, typer.Option("--enable/--no-enable", help="Also enable and start it now.")
    ] = True,
) -> None:
    """Write the unit (or agent) that runs `jssh watch` at login, and enable it."""
    from jssh.commands import service

    _, built = _service(ctx, manager)
    lines, failure = service.install(built, enable=enable)
    for line in lines:  # what was written and where, even when enabling failed
        typer.echo(line)
    if failure is not None:
        raise failure


@service_app.command("uninstall")
def service_uninstall(
    ctx: typer.Context,
    manager: ManagerOption = None,
    disable: Annotated[
        bool, typer.Option("--disable/--no-disable", help="Also stop and disable it.")
    ] = True,
) -> None:
    """Stop the service and remove its unit (or agent). Tunnels stay up."""
    from jssh.commands import service

    _, built = _service(ctx, manager)
    for line in service.uninstall(built, disable=disable):
        typer.echo(line)


@service_app.command("status")
def service_status(ctx: typer.Context, manager: ManagerOption = None) -> None:
    """Whether the unit is installed, what the service manager says, and the watchdog's pid."""
    from jssh.commands import service

    c, built = _service(ctx, manager)
    for line in service.status(built, c.paths):
        typer.echo(line)


def main(argv: Sequence[str] | None = None) -> int:
    """Run jssh with ARGV (default: the process's own) and return its exit code.

    Every expected failure is a JsshError, caught here once and printed as one line
    (plus a hint and indented evidence). Nothing below calls sys.exit: `__main__` and
    the console script do, so tests can run the CLI in process.
    """
    from jssh.fastpath import warm_up

    args = list(sys.argv[1:] if argv is None else argv)
    warm = warm_up(args)
    if warm is not None:
        name, url = warm
        print(f"{name}: reusing the running Jupyter server", file=sys.stderr)
        print(url)
        return 0
    command = typer.main.get_command(app)
    try:
        # Standalone: click prints its own usage errors and turns every ending (Ctrl-C
        # included: typer makes it 130) into SystemExit, which carries the code.
        command.main(args=args, prog_name="jssh", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except JsshError as exc:
        _report(exc)
        return int(exc.exit_code)
    else:
        code = 0
    if code == ExitCode.INTERRUPTED:
        print("jssh: interrupted", file=sys.stderr)
    return code


def _report(exc: JsshError) -> None:
    """One line: what happened, and how to fix it. Then any evidence, indented."""
    fix = f"; {exc.hint}" if exc.hint else ""
    print(f"jssh: error: {exc.message}{fix}", file=sys.stderr)
    if exc.details:
        for line in exc.details.rstrip().splitlines():
            print(f"    {line}", file=sys.stderr)
