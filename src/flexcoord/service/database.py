"""The service database: engines with safe settings, the durability guard, Alembic migrations.

SQLite (the embedded default, a file ``flexcoord.db`` in the working folder) gets, on every
connection, ``journal_mode=WAL``, ``synchronous=FULL``, ``foreign_keys=ON`` and a busy timeout;
every writing transaction starts with ``BEGIN IMMEDIATE``, so writers queue for the one write
lock instead of failing half-way (a reading one, :data:`READ_ONLY_OPTION`, begins deferred).
PostgreSQL URLs (``postgresql+psycopg://...``) work with the same
code. :func:`durability_issues` reads back the *effective* settings; :func:`open_engine` refuses a
database whose settings could lose an acknowledged write (an in-memory SQLite, ``fsync=off``,
``synchronous_commit=off``, ...). The migrations ship inside the package, so an installed wheel
can migrate itself (:func:`migrate`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from flexcoord.errors import InvalidInputError, Issue

__all__ = [
    "DATABASE_URL_ENV",
    "DEFAULT_DATABASE_URL",
    "READ_ONLY_OPTION",
    "durability_issues",
    "make_engine",
    "migrate",
    "open_engine",
    "schema_issues",
    "shown_url",
]

#: The embedded default: a SQLite file in the working folder.
DEFAULT_DATABASE_URL: Final = "sqlite:///flexcoord.db"
#: The environment variable naming the database URL (``--database-url`` wins over it).
DATABASE_URL_ENV: Final = "FLEXCOORD_DATABASE_URL"
#: Execution option of an engine whose transactions only read (on SQLite they begin deferred
#: and so never wait for, nor hold, the write lock): ``engine.execution_options(**{...: True})``.
READ_ONLY_OPTION: Final = "flexcoord_read_only"
_MIGRATIONS: Final = Path(__file__).parent / "migrations"
_SQLITE_BUSY_MS: Final = 10_000
#: PostgreSQL ``synchronous_commit`` values that wait for the local WAL flush.
_PG_SYNC_OK: Final = frozenset({"on", "remote_write", "remote_apply"})


def shown_url(url: str | URL) -> str:
    """The URL as it may be printed: the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unreadable URL>"


def _database_issue(url: str, field: str, value: object, message: str) -> Issue:
    return Issue(
        kind="database", object_id=shown_url(url), field=field, value=value, message=message
    )


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with flexcoord's connection settings (no check, no migration).

    Raises:
        InvalidInputError: the URL cannot be read, or names a driver that is not installed.
    """
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, connect_args={"timeout": _SQLITE_BUSY_MS / 1000})
            _configure_sqlite(engine)
            return engine
        return create_engine(parsed, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise InvalidInputError(
            [_database_issue(url, "url", shown_url(url), f"cannot be used: {exc}")]
        ) from None


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun below, explicitly
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "foreign_keys=ON",
            f"busy_timeout={_SQLITE_BUSY_MS}",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _sqlite_issues(url: str, connection: Connection) -> list[Issue]:
    def pragma(name: str) -> Any:
        return connection.exec_driver_sql(f"PRAGMA {name}").scalar()

    issues = []
    mode = str(pragma("journal_mode")).lower()
    if mode != "wal":
        issues.append(
            _database_issue(
                url, "journal_mode", mode, "must be wal (an in-memory database cannot be used)"
            )
        )
    level = int(pragma("synchronous"))
    if level < 2:  # 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA
        issues.append(_database_issue(url, "synchronous", level, "must be FULL (2) or EXTRA (3)"))
    if int(pragma("foreign_keys")) != 1:
        issues.append(_database_issue(url, "foreign_keys", 0, "must be ON"))
    return issues


def _postgres_issues(url: str, connection: Connection) -> list[Issue]:
    def show(name: str) -> str:
        return str(connection.exec_driver_sql(f"SHOW {name}").scalar()).lower()

    issues = []
    for name, ok in (
        ("fsync", {"on"}),
        ("synchronous_commit", _PG_SYNC_OK),
        ("full_page_writes", {"on"}),
    ):
        value = show(name)
        if value not in ok:
            issues.append(_database_issue(url, name, value, f"must be one of {sorted(ok)}"))
    return issues


_CHECKS: Final[dict[str, Callable[[str, Connection], list[Issue]]]] = {
    "sqlite": _sqlite_issues,
    "postgresql": _postgres_issues,
}


def durability_issues(engine: Engine) -> list[Issue]:
    """What in the database's *effective* settings could lose an acknowledged write."""
    url = engine.url.render_as_string(hide_password=True)
    check = _CHECKS.get(engine.dialect.name)
    if check is None:
        return [
            _database_issue(
                url,
                "url",
                engine.dialect.name,
                "is not a supported database: use sqlite or postgresql",
            )
        ]
    with engine.connect() as connection:
        return check(url, connection)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (``alembic upgrade head``), in one transaction."""
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "head")


def schema_issues(engine: Engine) -> list[Issue]:
    """An issue unless the schema is at the newest migration."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        head = ScriptDirectory.from_config(_alembic_config(connection)).get_current_head()
    if current == head:
        return []
    return [
        _database_issue(
            str(engine.url),
            "schema",
            current,
            f"is not at migration {head}: start `flexcoord serve` (it migrates)",
        )
    ]


def _missing_sqlite_file(url: str) -> str | None:
    """The path of a file-backed SQLite URL whose file does not exist, else ``None``."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # make_engine names the bad URL
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return None
    return None if Path(path).exists() else path


def open_engine(url: str, *, migrate_schema: bool = False) -> Engine:
    """An engine whose durability settings are checked, its schema migrated or checked.

    Raises:
        InvalidInputError: the database is unusable or unsafe (every issue named); the engine
            is disposed of.
    """
    missing = _missing_sqlite_file(url)
    if missing is not None and not migrate_schema:  # connecting would create an empty file
        raise InvalidInputError(
            [
                _database_issue(
                    url,
                    "url",
                    shown_url(url),
                    f"names no database: {missing} does not exist (`flexcoord service init` "
                    "or `flexcoord serve` creates it)",
                )
            ]
        )
    engine = make_engine(url)
    try:
        issues = durability_issues(engine)
        if not issues:
            if migrate_schema:
                migrate(engine)
            issues = schema_issues(engine)
    except InvalidInputError:
        engine.dispose()
        raise
    except Exception as exc:  # an unreachable server, a locked or corrupt file
        engine.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
        raise InvalidInputError(
            [_database_issue(url, "url", shown_url(url), f"cannot be opened: {reason}")]
        ) from None
    if issues:
        engine.dispose()
        raise InvalidInputError(issues)
    return engine
