"""`jssh forward`: the services beside Jupyter (TensorBoard, MLflow…), through its tunnel."""

from __future__ import annotations

from typing import Annotated

import typer

from jssh import render
from jssh.cli.app import NameArg, app, context


@app.command()
def forward(
    ctx: typer.Context,
    name: NameArg,
    specs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[LOCAL:]REMOTE",
            help="A remote port (6006) or unix socket path, optionally after the local port"
            " (16006:6006) [default: list NAME's forwards].",
            show_default=False,
        ),
    ] = None,
    remove: Annotated[
        bool,
        typer.Option("--remove", help="Stop forwarding them (by local or remote port, or path)."),
    ] = False,
) -> None:
    """Forward another remote port through NAME's tunnel, live when it is up."""
    from jssh.commands.forwarding import Forwarder

    c = context(ctx)
    if not specs:
        record = c.record(name)
        if not record.forwards:
            typer.echo(f"{name} has no extra forwards (add one: `jssh forward {name} 6006`)")
            return
        rows = [("LOCAL", "REMOTE")]
        rows += [(f.listen(), f.target) for f in record.forwards]
        typer.echo(render.table(rows))
        return
    forwarder = Forwarder(c.paths, c.ssh)
    for spec in specs:
        if remove:
            change = forwarder.remove(name, spec)
            live = f"; port {change.forward.local_port} is free again" if change.live else ""
            typer.echo(f"{name}: no longer forwards {change.forward.describe()}{live}")
            continue
        change = forwarder.add(name, spec)
        verb = "forwards" if change.changed else "already forwards"
        when = "now" if change.live else f"from `jssh up {name}` on"
        typer.echo(f"{name}: {verb} {change.forward.describe()} ({when})")
