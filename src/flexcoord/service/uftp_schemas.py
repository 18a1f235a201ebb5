"""Bodies of the UFTP operations routes: flexcoord's published keys, the participants' key
table (administrator) and the UFTP outbox (operators' view)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from flexcoord.service.tables import UftpKeyRow
from flexcoord.service.uftp_keys import key_sha256

__all__ = ["PublishedKeyOut", "PublishedKeysOut", "published_key_out"]

_AT = "2026-06-01T08:00:00.000000Z"
_KEY = "Ht3wVdQ5k7mJ4f1gYbq2oZx8cR6sN0aPuL9eWiKjT3E="


def _config(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [example]})


class PublishedKeyOut(BaseModel):
    """One of flexcoord's public signing keys: ``current`` is the one it signs with now; a
    rotated one is announced until ``valid_until``."""

    model_config = _config(
        {
            "public_key": _KEY,
            "key_sha256": key_sha256(_KEY),
            "current": True,
            "valid_from": _AT,
            "valid_until": None,
        }
    )
    public_key: str
    key_sha256: str
    current: bool
    valid_from: datetime
    valid_until: datetime | None


class PublishedKeysOut(BaseModel):
    """flexcoord's UFTP identity and the public keys that verify its messages now (the current
    one first). flexcoord signs in every role (DSO, AGR, CRO) with the same key."""

    model_config = _config(
        {
            "domain": "flexcoord.example.org",
            "roles": ["AGR", "CRO", "DSO"],
            "keys": [PublishedKeyOut.model_config["json_schema_extra"]["examples"][0]],  # type: ignore[index]
        }
    )
    domain: str
    roles: list[str]
    keys: list[PublishedKeyOut]


def published_key_out(row: UftpKeyRow) -> PublishedKeyOut:
    """The published view of one of flexcoord's key rows."""
    return PublishedKeyOut(
        public_key=row.public_key,
        key_sha256=key_sha256(row.public_key),
        current=row.valid_until is None,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
    )
