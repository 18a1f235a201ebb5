"""The ``flexcoord`` Typer application: thin commands over the library functions.

Every command passes through :mod:`flexcoord.cli.edge`: options and output paths are checked
before any work, errors print as one clear message with exit code 2, outputs are written
atomically. ``-h`` and ``--help`` work everywhere, ``--version`` at the top.
"""

from __future__ import annotations

from typing import Annotated

import typer

from flexcoord.cli.clear import clear
from flexcoord.cli.client import client_app
from flexcoord.cli.coordinate import coordinate
from flexcoord.cli.documents import documents_app
from flexcoord.cli.edge import command
from flexcoord.cli.grid import grid_app
from flexcoord.cli.pareto import pareto
from flexcoord.cli.plan import plan
from flexcoord.cli.service import audit_app, serve, service_app
from flexcoord.cli.simulate import demo, simulate
from flexcoord.cli.sweep import sweep

app = typer.Typer(
    name="flexcoord",
    help="TSO–DSO coordination through grid-aware flexibility markets.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"flexcoord {version('flexcoord')}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """TSO–DSO coordination through grid-aware flexibility markets."""


app.add_typer(grid_app, name="grid")
app.command("clear")(command(clear))
app.command("coordinate")(command(coordinate))
app.command("pareto")(command(pareto))
app.command("simulate")(command(simulate))
app.command("demo")(command(demo))
app.command("plan")(command(plan))
app.command("sweep")(command(sweep))
app.command("serve")(command(serve))
app.add_typer(service_app, name="service")
app.add_typer(audit_app, name="audit")
app.add_typer(client_app, name="client")
app.add_typer(documents_app, name="documents")


def main() -> None:
    """Entry point of the ``flexcoord`` console script."""
    app()


if __name__ == "__main__":
    main()
