"""``flexcoord serve``, ``flexcoord service init|worker|assess|broker-config`` and
``flexcoord audit verify``.

The database comes from ``--database-url``, else ``FLEXCOORD_DATABASE_URL``, else the SQLite
file ``flexcoord.db`` in the working folder. An unsafe or unreachable database is refused with
one clear message and exit code 2; ``audit verify`` exits 3 when the chain is broken.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from flexcoord.cli.edge import check, command, int_range, option_issue, resolve_grid, stderr

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from flexcoord.service.settings import ServiceSettings
    from flexcoord.service.worker import Worker

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

MqttUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--mqtt-url",
        help="MQTT broker and the service's user, mqtt://user:password@host:port "
        "(default: $FLEXCOORD_MQTT_URL, else no broker: messages wait in the outbox).",
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


GridOpt = Annotated[
    str | None,
    typer.Option(
        "--grid",
        help="The platform's grid, a SimBench code (default: $FLEXCOORD_GRID, else "
        "1-HVMV-mixed-all-0-sw).",
        show_default=False,
    ),
]


def _settings(
    database_url: str | None, grid: str | None, mqtt_url: str | None = None
) -> ServiceSettings:
    """The settings, the grid code checked (exit 2 naming ``--grid`` if unknown)."""
    from flexcoord.service.settings import ServiceSettings

    settings = ServiceSettings.from_environment(database_url, grid_code=grid, mqtt_url=mqtt_url)
    code, issue = resolve_grid("--grid", settings.grid_code, needs_profiles=True)
    check([issue] if issue is not None else [])
    return dataclasses.replace(settings, grid_code=code)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    database_url: DatabaseUrlOpt = None,
    grid: GridOpt = None,
    mqtt_url: MqttUrlOpt = None,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="Clear sealed sessions in this process (else run `flexcoord service worker`).",
        ),
    ] = True,
    uftp_config: Annotated[
        Path | None,
        typer.Option(
            "--uftp-config",
            help="Also serve UFTP (POST /shapeshifter/api/v3/message) as this JSON file "
            "configures it (docs/uftp.md).",
        ),
    ] = None,
) -> None:
    """Run the service: migrate the database to the newest schema, check it is safe, serve;
    a worker thread clears each session once its gate closes, and the outbox is published over
    MQTT when a broker is given."""
    import uvicorn

    from flexcoord.service.app import create_app
    from flexcoord.service.database import open_engine, shown_url
    from flexcoord.service.logs import install_json_logging

    check([int_range("--port", port, 1, 65535)])
    settings = _settings(database_url, grid, mqtt_url)
    uftp = None
    if uftp_config is not None:
        from flexcoord.service.uftp_config import load_uftp_config

        uftp = load_uftp_config(uftp_config)  # every mistake before the database is touched
    engine = open_engine(settings.database_url, migrate_schema=True)
    app = create_app(settings)
    if uftp is not None:
        from flexcoord.service.uftp_endpoint import UFTP_PATH, mount_uftp

        mount_uftp(app, uftp)
        stderr().print(f"UFTP on {UFTP_PATH} as {uftp.domain}")
    broker = "" if settings.mqtt_url is None else f", broker {shown_url(settings.mqtt_url)}"
    stderr().print(
        f"flexcoord service on http://{host}:{port} (database {shown_url(settings.database_url)}"
        f"{broker}, grid {settings.grid_code}, worker {'on' if worker else 'off'})"
    )
    install_json_logging()
    runner = _worker(engine, settings) if worker else None
    if runner is not None:  # the clearings show in the app's /metrics
        runner.metrics = app.state.services.metrics
        runner.uftp = uftp  # its FlexOrders and FlexSettlements go into the UFTP outbox
    delivery = None
    if uftp is not None:
        from flexcoord.service.uftp_delivery import UftpDelivery

        delivery = UftpDelivery(engine=engine, endpoint=uftp, clock=settings.clock)
        delivery.start()
    if runner is not None:
        runner.start()
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
    finally:
        if runner is not None:
            runner.stop()
        if delivery is not None:
            delivery.stop()
        engine.dispose()


def _worker(engine: Engine, settings: ServiceSettings, lease_s: float | None = None) -> Worker:
    from flexcoord.service.clearing_job import CLEARING_LEASE
    from flexcoord.service.worker import Worker

    lease = CLEARING_LEASE if lease_s is None else timedelta(seconds=lease_s)
    return Worker(engine=engine, settings=settings, lease=lease)


@service_app.command("worker")
@command
def worker_command(
    database_url: DatabaseUrlOpt = None,
    grid: GridOpt = None,
    once: Annotated[
        bool, typer.Option("--once", help="Clear every sealed session waiting, then exit.")
    ] = False,
    lease_s: Annotated[
        float,
        typer.Option(
            "--lease-s",
            help="Seconds a claim holds before another worker may take the session over.",
        ),
    ] = 600.0,
    uftp_config: Annotated[
        Path | None,
        typer.Option(
            "--uftp-config",
            help="Enqueue the UFTP FlexOrders and FlexSettlements of what this worker clears "
            "and settles, for `serve --uftp-config` to deliver (docs/uftp.md).",
        ),
    ] = None,
) -> None:
    """Clear sealed sessions, exactly once each, as `serve`'s worker thread does (any number of
    workers may run against one database)."""
    from flexcoord.service.database import open_engine
    from flexcoord.service.logs import install_json_logging

    if not 1.0 <= lease_s <= 86_400.0:
        check([option_issue("--lease-s", lease_s, "must be from 1 to 86400 seconds")])
    settings = _settings(database_url, grid)
    uftp = None
    if uftp_config is not None:
        from flexcoord.service.uftp_config import load_uftp_config

        uftp = load_uftp_config(uftp_config)  # every mistake before the database is touched
    engine = open_engine(settings.database_url, migrate_schema=True)
    install_json_logging()
    runner = _worker(engine, settings, lease_s)
    runner.uftp = uftp
    try:
        if once:
            n = runner.run_until_idle()
            stderr().print(f"{n} session(s) cleared")
        else:
            runner.run_forever()
    except KeyboardInterrupt:
        runner.stop()
    finally:
        engine.dispose()


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


@service_app.command("broker-config")
@command
def broker_config(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for mosquitto.conf, passwords and acl.")
    ],
    bind_address: Annotated[str, typer.Option(help="Address mosquitto listens on.")] = "127.0.0.1",
    port: Annotated[
        int | None,
        typer.Option(
            help="Port mosquitto listens on (default: the MQTT URL's).", show_default=False
        ),
    ] = None,
    database_url: DatabaseUrlOpt = None,
    mqtt_url: MqttUrlOpt = None,
) -> None:
    """Write mosquitto's configuration, password file and ACL from the parties' broker
    credentials (reload a running mosquitto with SIGHUP after)."""
    from sqlalchemy.orm import Session

    from flexcoord.cli.edge import OutputFolder
    from flexcoord.service.broker_config import parse_mqtt_url, write_broker_config
    from flexcoord.service.database import open_engine
    from flexcoord.service.settings import ServiceSettings

    settings = ServiceSettings.from_environment(database_url, mqtt_url=mqtt_url)
    check(
        [
            int_range("--port", port, 1, 65535) if port is not None else None,
            option_issue("--mqtt-url", None, "is needed: the service's broker user and password")
            if settings.mqtt_url is None
            else None,
            *OutputFolder("--out", out).issues(),  # before any work: nothing half-written
        ]
    )
    assert settings.mqtt_url is not None
    target = parse_mqtt_url(settings.mqtt_url)
    engine = open_engine(settings.database_url)
    try:
        with Session(engine) as session:
            files = write_broker_config(
                session, out, target=target, bind_address=bind_address, port=port
            )
    finally:
        engine.dispose()
    stderr().print(
        f"wrote {files.config}, {files.passwords.name} and {files.acl.name} "
        f"(the service user {target.username!r} and {len(files.parties)} parties); "
        "reload a running mosquitto with: kill -HUP <pid>"
    )
    typer.echo(str(files.config))


@service_app.command("assess")
@command
def assess(database_url: DatabaseUrlOpt = None, grid: GridOpt = None) -> None:
    """Assess every requested grid prequalification once on the platform grid (the traffic
    light) and move it to in progress; prints how many."""
    from flexcoord.service.clearing_job import platform_grid
    from flexcoord.service.database import open_engine
    from flexcoord.service.grid_assessment import assess_pending

    settings = _settings(database_url, grid)
    engine = open_engine(settings.database_url)
    try:
        moved = assess_pending(engine, platform_grid(settings.grid_code), now=settings.clock())
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
