"""The service's own request and response bodies (the register objects' bodies are the shared
models of :mod:`flexcoord.schemas`). Every model carries an OpenAPI example."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from flexcoord.schemas import ConnectionPointModel, GridAreaModel, GroupModel, UnitModel
from flexcoord.schemas.register import ObjectId
from flexcoord.service.roles import Role

__all__ = [
    "ConnectionPointOut",
    "CredentialIssued",
    "CredentialRevoked",
    "CredentialRotated",
    "GridAreaOut",
    "GroupOut",
    "Health",
    "PartyIn",
    "PartyOut",
    "ProblemIssue",
    "ProblemOut",
    "UnitOut",
    "WhoAmI",
]

_AT = "2026-06-01T08:00:00.000000Z"
_ISSUE_EXAMPLE: dict[str, Any] = {
    "kind": "Unit",
    "object_id": "bess-1",
    "field": "p_max_mw",
    "value": "-2.0",
    "message": "must be >= p_min_mw",
}
_KEY = "fck_3f9c2a1b7d4e5f60_" + "Qx" * 21 + "Q"


def _config(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [example]})


#: A name: printable text (no control character: PostgreSQL cannot store a NUL, and a name
#: holding line breaks or escapes would forge lines of a printed report).
PartyName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]


class PartyIn(BaseModel):
    """A party to register: its id (chosen by the administrator), name and role."""

    model_config = _config({"id": "dso-north", "name": "DSO North", "role": "dso"})
    id: ObjectId
    name: PartyName
    role: Role


class PartyOut(BaseModel):
    """A registered party."""

    model_config = _config(
        {"id": "dso-north", "name": "DSO North", "role": "dso", "created_at": _AT}
    )
    id: str
    name: str
    role: Role
    created_at: datetime


class WhoAmI(BaseModel):
    """The authenticated caller."""

    model_config = _config({"party_id": "fsp-a", "role": "fsp", "key_id": "3f9c2a1b7d4e5f60"})
    party_id: str
    role: Role
    key_id: str


class CredentialIssued(BaseModel):
    """A new API key: ``api_key`` is shown this once and never again (only its hash is kept)."""

    model_config = _config(
        {"party_id": "fsp-a", "key_id": "3f9c2a1b7d4e5f60", "api_key": _KEY, "created_at": _AT}
    )
    party_id: str
    key_id: str
    api_key: str
    created_at: datetime


class CredentialRotated(CredentialIssued):
    """A rotation: the new key, and until when the key used for the rotation keeps working."""

    model_config = _config(
        {
            "party_id": "fsp-a",
            "key_id": "3f9c2a1b7d4e5f60",
            "api_key": _KEY,
            "created_at": _AT,
            "previous_key_id": "0a1b2c3d4e5f6071",
            "previous_valid_until": "2026-06-02T08:00:00.000000Z",
        }
    )
    previous_key_id: str
    previous_valid_until: datetime


class CredentialRevoked(BaseModel):
    """A revoked key."""

    model_config = _config({"key_id": "0a1b2c3d4e5f6071", "revoked_at": _AT})
    key_id: str
    revoked_at: datetime


class _Owned(BaseModel):
    owner_id: str
    created_at: datetime


def _owned_example(model: type[BaseModel], owner: str) -> dict[str, Any]:
    extra: Any = model.model_config.get("json_schema_extra") or {}
    return {**extra["examples"][0], "owner_id": owner, "created_at": _AT}


class GridAreaOut(GridAreaModel, _Owned):
    """A registered grid area, with its operator (``owner_id``)."""

    model_config = _config(_owned_example(GridAreaModel, "dso-north"))


class ConnectionPointOut(ConnectionPointModel, _Owned):
    """A registered connection point, with its operator (``owner_id``)."""

    model_config = _config(_owned_example(ConnectionPointModel, "dso-north"))


class UnitOut(UnitModel, _Owned):
    """A registered unit, with its FSP (``owner_id``)."""

    model_config = _config(_owned_example(UnitModel, "fsp-a"))


class GroupOut(GroupModel, _Owned):
    """A registered group, with its FSP (``owner_id``)."""

    model_config = _config(_owned_example(GroupModel, "fsp-a"))


class ProblemIssue(BaseModel):
    """One issue of a problem: the object (``kind`` and ``object_id``), the field, the value as
    text (``null`` when there is none to echo) and what is wrong."""

    model_config = _config(
        {
            "kind": "Unit",
            "object_id": "bess-1",
            "field": "p_max_mw",
            "value": "-2.0",
            "message": "must be >= p_min_mw",
        }
    )
    kind: str
    object_id: str
    field: str
    value: str | None
    message: str


class ProblemOut(BaseModel):
    """An RFC 9457 problem (``application/problem+json``), with every issue found."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "https://flexcoord.org/problems/invalid-input",
                    "title": "Invalid input",
                    "status": 422,
                    "detail": "1 invalid input issue",
                    "instance": "/v1/units",
                    "request_id": "5f0c6f1e2b7a4c1d9e8f7a6b5c4d3e2f",
                    "errors": [_ISSUE_EXAMPLE],
                }
            ]
        },
    )
    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str
    errors: list[ProblemIssue] = Field(default_factory=list)


class Health(BaseModel):
    """The health or readiness of the service."""

    model_config = _config({"status": "ok"})
    status: str
