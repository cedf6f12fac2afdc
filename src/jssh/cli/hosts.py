"""Commands for the managed hosts: add, remove, list, show."""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING, Annotated, Any

import typer

from jssh import render
from jssh.cli.app import JsonOption, NameArg, app, complete_ssh_aliases, context, say
from jssh.cli.kernels_prompt import ForceOption, down_or_ask

if TYPE_CHECKING:
    from jssh.hosts import HostRecord


# -- managed hosts --------------------------------------------------------------------
@app.command()
def add(  # noqa: PLR0917 - typer maps each parameter to one CLI option
    ctx: typer.Context,
    host: Annotated[
        str,
        typer.Argument(
            metavar="HOST",
            help="An ssh alias, a host name, or user@host[:port].",
            autocompletion=complete_ssh_aliases,
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option(
            metavar="NAME", help="Name for the managed host [default: the alias or first label]."
        ),
    ] = None,
    local_port: Annotated[
        int | None,
        typer.Option(metavar="PORT", help="Port on this machine [default: first free from 8899]."),
    ] = None,
    remote_port: Annotated[
        int | None,
        typer.Option(
            metavar="PORT",
            help="Serve Jupyter on 127.0.0.1:PORT on the remote instead of a unix socket.",
        ),
    ] = None,
    remote_socket: Annotated[
        str | None,
        typer.Option(
            metavar="PATH",
            help="Unix socket path on the remote [default: /tmp/jssh-USER/NAME.sock].",
        ),
    ] = None,
    app_name: Annotated[
        str | None, typer.Option("--app", metavar="APP", help="lab (default) or notebook.")
    ] = None,
    venv: Annotated[
        str | None, typer.Option(metavar="PATH", help="Remote venv that has jupyter.")
    ] = None,
    conda: Annotated[
        str | None, typer.Option(metavar="ENV", help="Remote conda env that has jupyter.")
    ] = None,
    command: Annotated[
        str | None,
        typer.Option(
            metavar="COMMAND",
            help="Remote command that replaces `jupyter`, e.g. 'apptainer exec img.sif jupyter'.",
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
        str | None,
        typer.Option(metavar="DIR", help="Remote directory Jupyter opens [default: home]."),
    ] = None,
    jupyter_arg: Annotated[
        list[str] | None,
        typer.Option(
            "--jupyter-arg", metavar="ARG", help="Extra argument for Jupyter (repeatable)."
        ),
    ] = None,
    idle_timeout: Annotated[
        str | None,
        typer.Option(
            metavar="DURATION",
            help="Stop Jupyter (and end its Slurm job) after this long idle, e.g. 30m, 2h"
            " (0: never).",
        ),
    ] = None,
    slurm: Annotated[
        str | None,
        typer.Option(
            metavar="ARGS", help="Run Jupyter in a Slurm job with these sbatch arguments."
        ),
    ] = None,
    forward: Annotated[
        list[str] | None,
        typer.Option(
            "--forward",
            metavar="[LOCAL:]REMOTE",
            help="Also forward a remote port or unix socket through the same tunnel, e.g."
            " 6006 for TensorBoard (repeatable; replaces the host's forwards when given).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Take over a NAME-jupyter alias your own config has.")
    ] = False,
) -> None:
    """Write a managed `Host NAME-jupyter` block for HOST (run again to refresh it)."""
    from jssh.commands.manage import AddRequest

    c = context(ctx)
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
        idle_timeout=_idle_seconds(idle_timeout),
        slurm=slurm,
        forwards=forward,
    )
    outcome = c.manager().add(request)
    record = outcome.record
    if forward is not None:  # a running master follows the new set at once
        from jssh.commands.forwarding import Forwarder

        for line in Forwarder(c.paths, c.ssh).sync(outcome.previous, record):
            say(f"{record.name}: {line}")
    for note in outcome.notes:
        say(f"note: {note}")
    for warning in outcome.warnings:
        say(f"warning: {warning}")
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
    for extra in record.forwards:
        typer.echo(f"{record.name}: also forwards {extra.describe()}")
    if outcome.include_error is not None:
        raise outcome.include_error  # all else is written: the user adds one line
    if outcome.created:
        typer.echo(f"next: jssh up {record.name}")


def _idle_seconds(text: str | None) -> int | None:
    """--idle-timeout in seconds (0: off); None when not given (keep what it was)."""
    from jssh.durations import parse_duration

    return None if text is None else parse_duration(text, "--idle-timeout")


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
    force: ForceOption = False,
) -> None:
    """Stop NAME's tunnel and server, and remove its block (and, if last, the Include).

    A server whose kernels were active within the last hour is left running, and NAME
    kept, unless --force, or a yes at the prompt on a terminal: exit 10."""
    c = context(ctx)
    manager = c.manager()
    if manager.prepare_remove(name):  # False: a damaged entry, nothing to stop
        session = c.session(name)
        # Stop the server even with no tunnel open (down connects in BatchMode): a server
        # jssh no longer manages would run on, unseen. A Slurm job is cancelled likewise.
        if not keep_server or c.ssh.master_pid(session.record.alias) is not None:
            try:
                for line in down_or_ask(session, keep_server=keep_server, force=force):
                    say(f"{name}: {line}")
            except OSError as exc:  # its local state is not what jssh left: remove anyway
                say(f"{name}: could not stop it cleanly ({exc.strerror}: {exc.filename})")
    for note in manager.remove(name, keep_server=keep_server).notes:
        say(f"{name}: {note}")
    typer.echo(f"removed {name}")


@app.command("list")
def list_hosts(
    ctx: typer.Context,
    as_json: JsonOption = False,
) -> None:
    """One line per managed host."""
    manager = context(ctx).manager()
    records = manager.hosts()
    for problem in manager.problems():
        say(f"warning: {problem}")
    if as_json:
        typer.echo(json.dumps([list_entry(r) for r in records], indent=2))
        return
    if not records:
        say("no managed hosts yet: add one with `jssh add HOST`")
        return
    rows = [("NAME", "SSH ALIAS", "HOST", "LOCAL", "REMOTE")]
    rows += [
        (r.name, r.alias, r.target, str(r.local_port), r.endpoint.forward_target()) for r in records
    ]
    typer.echo(render.table(rows))


def list_entry(record: HostRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "alias": record.alias,
        "host": record.target,
        "local_port": record.local_port,
        "remote": record.endpoint.forward_target(),
        "slurm": record.slurm,
    }


@app.command()
def show(ctx: typer.Context, name: NameArg, as_json: JsonOption = False) -> None:
    """What jssh knows about NAME, and its ssh config block (`--json`: the raw record)."""
    c = context(ctx)
    record = c.record(name)
    if as_json:
        typer.echo(json.dumps(record.to_json(), indent=2))
        return
    manager = c.manager()
    typer.echo(render.host_summary(record))
    typer.echo(f"\n# ssh config block (in {manager.paths.managed_config})")
    typer.echo(manager.block_text(name).rstrip())
