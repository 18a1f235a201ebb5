"""``flexcoord serve``, ``flexcoord service init``, ``flexcoord service assess`` and
``flexcoord audit verify``.

The database comes from ``--database-url``, else ``FLEXCOORD_DATABASE_URL``, else the SQLite
file ``flexcoord.db`` in the working folder. An unsafe or unreachable database is refused with
one clear message and exit code 2; ``audit verify`` exits 3 when the chain is broken.
"""

from __future__ import annotations

from typing import Annotated

import typer

from flexcoord.cli.edge import check, command, int_range, stderr

__all__ = ["audit_app", "serve", "service_app"]

EXIT_TAMPERED = 3

DatabaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL (default: $FLEXCOORD_DATABASE_URL, else sqlite:///flexcoord.db).",
        show_default=False,
    ),
]

service_app = typer.Typer(
    help="Set up the service.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
audit_app = typer.Typer(
    help="The audit trail.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Run the service: migrate the database to the newest schema, check it is safe, serve."""
    import uvicorn

    from flexcoord.service.app import create_app
    from flexcoord.service.database import open_engine, shown_url
    from flexcoord.service.logs import install_json_logging
    from flexcoord.service.settings import ServiceSettings

    check([int_range("--port", port, 1, 65535)])
    settings = ServiceSettings.from_environment(database_url)
    open_engine(settings.database_url, migrate_schema=True).dispose()
    app = create_app(settings)
    stderr().print(
        f"flexcoord service on http://{host}:{port} (database {shown_url(settings.database_url)})"
    )
    install_json_logging()
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


@service_app.command("init")
@command
def init(
    admin_id: Annotated[str, typer.Option(help="Id of the first administrator party.")] = "admin",
    name: Annotated[str, typer.Option(help="Its name.")] = "Administrator",
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Create the database (migrated) and the first administrator; print its API key once."""
    from flexcoord.service.bootstrap import check_admin, init_admin
    from flexcoord.service.database import open_engine
    from flexcoord.service.settings import ServiceSettings

    check_admin(admin_id, name)
    settings = ServiceSettings.from_environment(database_url)
    engine = open_engine(settings.database_url, migrate_schema=True)
    try:
        key = init_admin(engine, party_id=admin_id, name=name, now=settings.clock())
    finally:
        engine.dispose()
    stderr().print(
        f"administrator {key.party_id!r} created; its API key follows (shown only this once):"
    )
    typer.echo(key.api_key)


GridOpt = Annotated[
    str | None,
    typer.Option(
        "--grid",
        help="SimBench code of the platform grid (default: $FLEXCOORD_GRID, else "
        "1-HVMV-mixed-all-0-sw).",
        show_default=False,
    ),
]


@service_app.command("assess")
@command
def assess(database_url: DatabaseUrlOpt = None, grid: GridOpt = None) -> None:
    """Assess every requested grid prequalification once on the platform grid (the traffic
    light) and move it to in progress; prints how many."""
    from flexcoord.grid.model import load_grid
    from flexcoord.service.database import open_engine
    from flexcoord.service.grid_assessment import assess_pending
    from flexcoord.service.settings import ServiceSettings

    settings = ServiceSettings.from_environment(database_url, grid_code=grid)
    engine = open_engine(settings.database_url)
    try:
        moved = assess_pending(engine, load_grid(settings.grid_code), now=settings.clock())
    finally:
        engine.dispose()
    typer.echo(f"{moved} grid prequalification(s) assessed on {settings.grid_code}")


@audit_app.command("verify")
@command
def verify(database_url: DatabaseUrlOpt = None) -> None:
    """Recompute the audit chain: exit 0 if intact, 3 naming every edited, inserted or deleted
    event."""
    from sqlalchemy.orm import Session

    from flexcoord.service.audit import verify_chain
    from flexcoord.service.database import open_engine
    from flexcoord.service.settings import ServiceSettings

    settings = ServiceSettings.from_environment(database_url)
    engine = open_engine(settings.database_url)
    try:
        with Session(engine) as session:
            report = verify_chain(session)
    finally:
        engine.dispose()
    if report.intact:
        typer.echo(f"audit chain intact: {report.events} events, head {report.head_sha256}")
        return
    console = stderr()
    console.print(f"audit chain broken: {len(report.issues)} issue(s) in {report.events} events")
    for issue in report.issues:
        console.print(f"  - {issue}", markup=False, highlight=False)
    raise typer.Exit(code=EXIT_TAMPERED)
