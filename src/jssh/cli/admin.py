"""Commands for sysadmins: doctor, watch, service."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from jssh.cli import scripts
from jssh.cli.app import AllOrNameArg, Context, JsonOption, app, context
from jssh.errors import ExitCode


# -- for sysadmins ----------------------------------------------------------------------
@app.command()
def doctor(
    ctx: typer.Context,
    name: AllOrNameArg = None,
    as_json: JsonOption = False,
) -> None:
    """Check what commonly goes wrong; say how to fix each problem (exit 1 if any)."""
    from jssh.commands.doctor import Doctor, render

    c = context(ctx)
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

    c = context(ctx)
    raise typer.Exit(Watchdog(c.paths, c.ssh).run())


service_app = typer.Typer(
    help="Run `jssh watch` as a user service (systemd on Linux, launchd on macOS).",
    no_args_is_help=True,
)
app.add_typer(service_app, name="service")

ManagerOption = Annotated[
    str | None,
    typer.Option(
        "--manager",
        metavar="MANAGER",
        help="systemd or launchd [default: launchd on macOS, else systemd].",
    ),
]


def _service(ctx: typer.Context, manager: str | None) -> tuple[Context, Any]:
    from jssh.commands import service

    c = context(ctx)
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


@app.command()
def completion(
    shell: Annotated[
        str,
        typer.Argument(
            metavar="SHELL", help="bash, zsh or fish.", autocompletion=lambda: list(scripts.SHELLS)
        ),
    ],
) -> None:
    """Print the shell completion script for SHELL; see `man jssh` for the rc-file line."""
    from jssh.errors import UsageError

    if shell not in scripts.SHELLS:
        raise UsageError(f"no completion for {shell!r}: use bash, zsh or fish")
    typer.echo(scripts.completion_script(app, shell), nl=False)


@app.command("man")
def man_command() -> None:
    """Show jssh's manual page, wherever jssh was installed (pipx, uv tool, a venv)."""
    from jssh.commands.manual import find_manual, show_manual

    raise typer.Exit(show_manual(find_manual()))


@app.command("help")
def help_command(
    command: Annotated[
        list[str] | None, typer.Argument(metavar="COMMAND", help="A command (and subcommand).")
    ] = None,
) -> None:
    """Show the help of jssh, or of COMMAND (the same as `jssh COMMAND --help`)."""
    from jssh.cli import main  # `jssh help X` normally never gets here: main() rewrites it

    raise typer.Exit(main([*(command or []), "--help"]))
