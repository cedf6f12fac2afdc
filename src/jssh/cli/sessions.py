"""Commands for a host's Jupyter: up, down, status, url, logs."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer

from jssh import render
from jssh.cli.app import AllOrNameArg, JsonOption, NameArg, app, context, say
from jssh.cli.kernels_prompt import ForceOption, down_or_ask
from jssh.errors import ExitCode
from jssh.progress import for_stderr


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
    timeout: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            help="Seconds to wait for Jupyter to start, or for `jssh watch` to bring the"
            " tunnel back after a fault.",
        ),
    ] = 90.0,
    no_tmux: Annotated[
        bool, typer.Option("--no-tmux", help="Start Jupyter under nohup even when tmux is there.")
    ] = False,
    wait: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="Slurm hosts: seconds to wait for the job to leave the queue; it stays"
            " queued after that [default: 300].",
            show_default=False,
        ),
    ] = None,
    new_token: Annotated[
        bool,
        typer.Option(
            "--new-token",
            help="Stop the running server first (as `down` does) and start one with a new"
            " token: the old URL stops working. Otherwise the saved token is kept.",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="With --new-token: stop the server even when its kernels were active"
            " within the last hour (without it: a prompt on a terminal, else exit 10).",
        ),
    ] = False,
) -> None:
    """Start (or find) Jupyter on NAME and print its URL on the last line."""
    session = context(ctx).session(name, queue_wait=wait, progress=for_stderr())
    if new_token:  # the token is renewed only here, by `down` and by `remove`
        # A new token means a new server: its kernels go, so it asks as `down` does.
        for line in down_or_ask(session, keep_server=False, force=force):
            say(f"{name}: {line}")
    result = session.up(interactive=sys.stdin.isatty(), wait=timeout, use_tmux=not no_tmux)
    where = f" ({result.mode})" if result.server_pid is None and result.mode else ""
    if result.reused:
        say(f"{name}: reusing the running Jupyter server{where}")
    elif result.server_pid is None:
        say(f"{name}: started Jupyter{where}")
    else:
        say(f"{name}: started Jupyter (pid {result.server_pid}, under {result.mode})")
    if open_browser is None:
        open_browser = sys.stdout.isatty() and _has_display()
    if open_browser:
        from jssh.session.browser import open_privately

        open_privately(result.url, context(ctx).paths.open_page(name))
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
    force: ForceOption = False,
) -> None:
    """Stop NAME's Jupyter server (kernels shut down cleanly) and close the tunnel.

    A server whose kernels were active within the last hour (from another laptop, say)
    is left running unless --force, or a yes at the prompt on a terminal: exit 10."""
    session = context(ctx).session(name)
    for line in down_or_ask(session, keep_server=keep_server, force=force):
        typer.echo(f"{name}: {line}")


@app.command()
def status(
    ctx: typer.Context,
    name: AllOrNameArg = None,
    as_json: JsonOption = False,
) -> None:
    """Tunnel, local port, remote server and URL of each managed host (and Slurm job).

    Exits 9 when a host you brought up does not serve its URL, so scripts can ask."""
    c = context(ctx)
    records = [c.record(name)] if name else c.manager().hosts()
    states = [c.session_for(r).status() for r in records]
    failing = any(s.wanted and not s.serving for s in states)
    if as_json:
        typer.echo(json.dumps([s.to_json() for s in states], indent=2))
        if failing:
            raise typer.Exit(int(ExitCode.NOT_SERVING))
        return
    if not states:
        say("no managed hosts yet: add one with `jssh add HOST`")
        return
    typer.echo(render.status_table(states))
    for s in states:
        for line in render.forward_lines(s):
            typer.echo(line)
        if idle := render.idle_line(s):
            typer.echo(idle)
    for s in states:
        if s.watchdog:
            typer.echo(render.watchdog_line(s.name, s.watchdog))
    for s in states:
        if s.detail:
            say(f"{s.name}: {s.detail}")
    if failing:
        raise typer.Exit(int(ExitCode.NOT_SERVING))


@app.command()
def url(
    ctx: typer.Context,
    name: NameArg,
    path: Annotated[
        str | None,
        typer.Option(
            metavar="PATH",
            help="The URL that opens this notebook or folder (relative to the notebook dir).",
        ),
    ] = None,
    server: Annotated[
        bool,
        typer.Option(
            "--server",
            help="The server's URL (no /lab page), for VS Code's 'Existing Jupyter Server'"
            " and other Jupyter clients.",
        ),
    ] = False,
) -> None:
    """Print NAME's URL (with its token), without contacting the remote."""
    if server and path is not None:
        from jssh.errors import UsageError

        raise UsageError("give either --path or --server, not both")
    typer.echo(context(ctx).session(name).url(path, server=server))


@app.command("open")
def open_page(
    ctx: typer.Context,
    name: NameArg,
    path: Annotated[
        str | None,
        typer.Argument(
            metavar="PATH",
            help="A notebook or folder, relative to the notebook dir [default: the start page].",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(metavar="SECONDS", help="Seconds to wait for Jupyter to start.")
    ] = 90.0,
) -> None:
    """Open JupyterLab on NAME at PATH in your browser (bringing NAME up first if needed)."""
    from jssh.session.browser import open_privately, path_url

    c = context(ctx)
    session = c.session(name, progress=for_stderr())
    path_url(session.record, None, path or "")  # a bad PATH fails before anything starts
    result = session.up(interactive=sys.stdin.isatty(), wait=timeout)
    if not result.reused:
        say(f"{name}: started Jupyter")
    address = session.url(path)
    # The browser gets a private page's file:// path, never the token (see browser.py).
    if open_privately(address, c.paths.open_page(name)):
        say(f"{name}: opened {render.without_token(address)} in your browser")
    else:
        say(f"{name}: no browser could be started here; open the URL below yourself")
    typer.echo(address)


@app.command()
def logs(
    ctx: typer.Context,
    name: NameArg,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
    lines: Annotated[
        int, typer.Option("--lines", "-n", metavar="LINES", help="How many lines to show.")
    ] = 100,
) -> None:
    """Show the remote Jupyter server's log."""
    code = context(ctx).session(name).logs(lines=lines, follow=follow)
    if code not in (0, 130):
        raise typer.Exit(code)
