"""The service's settings: the database, the platform's grid, the MQTT broker, how long a
rotated key keeps working, the clock."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flexcoord.service.database import DATABASE_URL_ENV, DEFAULT_DATABASE_URL

#: The environment variable of the broker URL (``--mqtt-url``).
MQTT_URL_ENV = "FLEXCOORD_MQTT_URL"

__all__ = ["DEFAULT_GRID_CODE", "GRID_CODE_ENV", "MQTT_URL_ENV", "ServiceSettings", "utc_now"]

#: The grid the platform runs on unless told otherwise (shipped with SimBench).
DEFAULT_GRID_CODE = "1-HVMV-mixed-all-0-sw"
GRID_CODE_ENV = "FLEXCOORD_GRID"


def utc_now() -> datetime:
    """The server clock, aware UTC (the only clock the service decides by)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceSettings:
    """How the service runs.

    Attributes:
        database_url: SQLAlchemy URL (``sqlite:///flexcoord.db``,
            ``postgresql+psycopg://user@host/db``).
        grid_code: The platform's grid, the common grid model every operator's areas and
            connection points name buses of (a SimBench code); the worker loads it to clear
            sessions and assess grid prequalification (the API process never loads it).
        mqtt_url: The MQTT broker and the service's user on it
            (``mqtt://flexcoord-service:secret@127.0.0.1:1883``, ``mqtts://`` for TLS); when set,
            the service process runs the outbox publisher (``docs/service.md``, Messaging);
            unset, messages wait in the outbox and parties read them over the API.
        key_rotation_grace: How long the key used to rotate keeps working beside the new one.
        max_body_bytes: The largest request body accepted (413 beyond it); 16 MiB holds a
            bulk document of thousands of bids.
        document_party: The platform's party code (EIC) in the IEC 62325 documents it
            answers with and sends (the acknowledgements' sender, the activation orders').
        document_domain: The area code (EIC) its documents concern.
        clock: The server clock (a test pins it).

    Example:
        >>> ServiceSettings.from_environment(None, {}).database_url
        'sqlite:///flexcoord.db'
        >>> ServiceSettings.from_environment(None, {"FLEXCOORD_DATABASE_URL": "sqlite:///x.db"}
        ...                                  ).database_url
        'sqlite:///x.db'
        >>> ServiceSettings.from_environment(None, {"FLEXCOORD_MQTT_URL": "mqtt://s:p@h"}).mqtt_url
        'mqtt://s:p@h'
    """

    database_url: str = DEFAULT_DATABASE_URL
    grid_code: str = DEFAULT_GRID_CODE
    mqtt_url: str | None = None
    key_rotation_grace: timedelta = timedelta(hours=24)
    max_body_bytes: int = 16 * 2**20
    document_party: str = "10X1001A1001A361"
    document_domain: str = "10Y1001A1001A83F"
    clock: Callable[[], datetime] = field(default=utc_now, compare=False)

    @classmethod
    def from_environment(
        cls,
        database_url: str | None,
        environ: Mapping[str, str] | None = None,
        *,
        grid_code: str | None = None,
        mqtt_url: str | None = None,
    ) -> ServiceSettings:
        """Settings from a ``--database-url`` option, else ``FLEXCOORD_DATABASE_URL``, else the
        SQLite default; the grid from ``--grid``, else ``FLEXCOORD_GRID``, else the default;
        the broker from ``--mqtt-url``, else ``FLEXCOORD_MQTT_URL``, else none."""
        env = os.environ if environ is None else environ
        return cls(
            database_url=database_url or env.get(DATABASE_URL_ENV) or DEFAULT_DATABASE_URL,
            grid_code=grid_code or env.get(GRID_CODE_ENV) or DEFAULT_GRID_CODE,
            mqtt_url=mqtt_url or env.get(MQTT_URL_ENV) or None,
        )
