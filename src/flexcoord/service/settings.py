"""The service's settings: the database, how long a rotated key keeps working, the clock."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flexcoord.service.database import DATABASE_URL_ENV, DEFAULT_DATABASE_URL

__all__ = ["ServiceSettings", "utc_now"]


def utc_now() -> datetime:
    """The server clock, aware UTC (the only clock the service decides by)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceSettings:
    """How the service runs.

    Attributes:
        database_url: SQLAlchemy URL (``sqlite:///flexcoord.db``,
            ``postgresql+psycopg://user@host/db``).
        key_rotation_grace: How long the key used to rotate keeps working beside the new one.
        max_body_bytes: The largest request body accepted (413 beyond it); 16 MiB holds a
            bulk document of thousands of bids.
        clock: The server clock (a test pins it).

    Example:
        >>> ServiceSettings.from_environment(None, {}).database_url
        'sqlite:///flexcoord.db'
        >>> ServiceSettings.from_environment(None, {"FLEXCOORD_DATABASE_URL": "sqlite:///x.db"}
        ...                                  ).database_url
        'sqlite:///x.db'
    """

    database_url: str = DEFAULT_DATABASE_URL
    key_rotation_grace: timedelta = timedelta(hours=24)
    max_body_bytes: int = 16 * 2**20
    clock: Callable[[], datetime] = field(default=utc_now, compare=False)

    @classmethod
    def from_environment(
        cls, database_url: str | None, environ: Mapping[str, str] | None = None
    ) -> ServiceSettings:
        """Settings from a ``--database-url`` option, else ``FLEXCOORD_DATABASE_URL``, else the
        SQLite default."""
        env = os.environ if environ is None else environ
        return cls(database_url=database_url or env.get(DATABASE_URL_ENV) or DEFAULT_DATABASE_URL)
