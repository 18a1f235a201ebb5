"""The first administrator: created once, from the command line, with its first API key."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from flexcoord.errors import InvalidInputError, Issue
from flexcoord.schemas.pydantic_issues import error_issue, field_path
from flexcoord.service.audit import AuditRecord, Outcome, append_event
from flexcoord.service.calls import payload_sha256
from flexcoord.service.credentials import IssuedKey, issue_key
from flexcoord.service.roles import Role
from flexcoord.service.schemas import PartyIn
from flexcoord.service.tables import PartyRow

__all__ = ["INIT_OPERATION", "check_admin", "init_admin"]

#: The audit operation of the bootstrap.
INIT_OPERATION = "service.init"


def check_admin(party_id: str, name: str) -> dict[str, str]:
    """The administrator's party body, checked with the API's bounds (before any database is
    touched).

    Raises:
        InvalidInputError: the id or name is not valid.
    """
    body = {"id": party_id, "name": name, "role": Role.ADMIN.value}
    try:
        PartyIn.model_validate(body)
    except ValidationError as err:
        raise InvalidInputError(
            error_issue(
                e,
                kind="Party",
                object_id=party_id,
                field=field_path(e["loc"]),
                whole="the administrator",
            )
            for e in err.errors()
        ) from None
    return body


def init_admin(engine: Engine, *, party_id: str, name: str, now: datetime) -> IssuedKey:
    """Create the first admin party and its key, with its audit event, in one transaction.

    Raises:
        InvalidInputError: an admin exists already (then ask that admin for a key), or the id or
            name is not valid.
    """
    body = check_admin(party_id, name)
    with Session(engine) as session:
        existing = session.scalar(select(PartyRow.id).where(PartyRow.role == Role.ADMIN.value))
        if existing is not None:
            raise InvalidInputError(
                [
                    Issue(
                        kind="Party",
                        object_id=party_id,
                        field="role",
                        value="admin",
                        message="cannot be created: the service has an administrator already; "
                        "an administrator issues further keys (POST /v1/parties/{id}/credentials)",
                    )
                ]
            )
        session.add(PartyRow(id=party_id, name=name, role=Role.ADMIN.value, created_at=now))
        session.flush()
        key = issue_key(session, party_id, now=now)
        append_event(
            session,
            AuditRecord(
                at=now,
                party_id=party_id,
                credential_id=None,
                operation=INIT_OPERATION,
                target=f"party:{party_id}",
                request_id=f"cli-{uuid.uuid4().hex}",
                payload_sha256=payload_sha256(json.dumps(body, sort_keys=True).encode()),
                outcome=Outcome.ACCEPTED,
                status=201,
            ),
        )
        session.commit()
    return key
