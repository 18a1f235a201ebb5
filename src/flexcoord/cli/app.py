"""The ``flexcoord`` Typer application: thin commands over the library functions."""

from __future__ import annotations

import typer

from flexcoord.cli.clear import clear
from flexcoord.cli.coordinate import coordinate
from flexcoord.cli.grid import grid_app

app = typer.Typer(
    name="flexcoord",
    help="TSO–DSO coordination through grid-aware flexibility markets.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(grid_app, name="grid")
app.command("clear")(clear)
app.command("coordinate")(coordinate)


def main() -> None:
    """Entry point of the ``flexcoord`` console script."""
    app()
