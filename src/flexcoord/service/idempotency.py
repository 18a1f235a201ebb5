"""Idempotency keys: a retried request gets the original answer, never a second change.

A client may send ``Idempotency-Key: <token>`` (1 to 255 visible ASCII characters, e.g. a
UUID) with a state-changing request of the operations in :data:`IDEMPOTENT_OPERATIONS`. The
first accepted request stores its status and answer under (party, key), in the same
transaction as its change and its audit event. Then, for the same party and key:

* the same operation on the same path with the same body (by SHA-256) → the stored answer, with
  ``Idempotent-Replayed: true``, and nothing changes (the audit event says ``replayed``);
* another operation, path or body → 422, naming the header;
* a request that was refused (4xx) stored nothing, so a corrected retry may reuse its key.

Two requests with one key racing each other are serialised: a writing call takes its key's lock
(:func:`lock_key`) as its transaction begins, looks for the stored answer again under it, and is
judged (the gate's clock included) only then, so a retry sent while its first attempt is still
in flight waits for that attempt and gets its answer, whatever the clock did meanwhile. A twin
refused for another reason gets the stored answer if the first commit came before its refusal
(:func:`~flexcoord.service.calls.settled_replay`), else 409 (a retry then gets the stored answer).
Keys are per party: FSP B's key ``k1`` is not FSP A's. Key issuance and rotation refuse the
header: their answer holds a secret, which is never stored.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.orm import Session

from flexcoord.errors import Issue
from flexcoord.service.problems import ServiceProblem
from flexcoord.service.roles import Operation
from flexcoord.service.tables import IdempotencyRow

__all__ = [
    "IDEMPOTENCY_HEADER",
    "IDEMPOTENT_OPERATIONS",
    "Replay",
    "check_key",
    "lock_key",
    "remember",
    "replay_of",
]

IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
#: The operations that accept an ``Idempotency-Key``.
IDEMPOTENT_OPERATIONS: Final = frozenset(
    {
        Operation.PARTY_CREATE,
        Operation.GRID_AREA_CREATE,
        Operation.CONNECTION_POINT_CREATE,
        Operation.UNIT_CREATE,
        Operation.UNIT_DELETE,
        Operation.GROUP_CREATE,
        Operation.GROUP_DELETE,
        Operation.PRODUCT_CREATE,
        Operation.SESSION_CREATE,
        Operation.NEED_CREATE,
        Operation.BID_SUBMIT,
        Operation.BID_SUBMIT_BULK,
        Operation.BID_REPLACE,
        Operation.BID_WITHDRAW,
        Operation.PREQUALIFICATION_APPLY,
        Operation.PREQUALIFICATION_DECIDE,
        Operation.GRID_PREQUALIFICATION_DECIDE,
    }
)
_KEY: Final = re.compile(r"^[\x21-\x7e]{1,255}$")


class Replay(Exception):  # noqa: N818 - not an error: the stored answer travelling to the client
    """The stored answer of an earlier request with the same key and body."""

    def __init__(self, status: int, response: Any) -> None:
        super().__init__(status)
        self.status = status
        self.response = response


def _header_problem(status: int, value: str, message: str) -> ServiceProblem:
    issue = Issue(
        kind="header", object_id=IDEMPOTENCY_HEADER, field="value", value=value, message=message
    )
    return ServiceProblem(status, f"{IDEMPOTENCY_HEADER} {message}", [issue])


def check_key(key: str, operation: Operation) -> None:
    """Refuse a malformed key, or a key on an operation that takes none (422)."""
    if operation not in IDEMPOTENT_OPERATIONS:
        raise _header_problem(422, key, f"is not accepted by {operation.value!r}")
    if not _KEY.match(key):
        raise _header_problem(422, key, "must be 1 to 255 visible ASCII characters")


def replay_of(
    session: Session, party_id: str, key: str, operation: Operation, payload_sha256: str
) -> Replay | None:
    """The stored answer for this key, if the request is the same; ``None`` for a new key.

    Raises:
        ServiceProblem: 422, the key was used with another operation or body.
    """
    row = session.get(IdempotencyRow, (party_id, key))
    if row is None:
        return None
    if row.operation != operation.value or row.payload_sha256 != payload_sha256:
        raise _header_problem(
            422, key, f"was used for another request ({row.operation}, another body)"
        )
    return Replay(row.status, row.response)


def lock_key(session: Session, party_id: str, key: str) -> None:
    """Begin ``session``'s writing transaction holding the lock of (party, key) until it ends.

    On PostgreSQL a transaction-level advisory lock on the key's 64-bit hash (released at commit,
    rollback, or when a killed process's connection drops); on SQLite the writing transaction's
    ``BEGIN IMMEDIATE`` already holds the database's one write lock."""
    connection = session.connection()  # begins the transaction (SQLite: BEGIN IMMEDIATE)
    if connection.dialect.name == "postgresql":
        digest = hashlib.sha256(f"{party_id}\x00{key}".encode()).digest()
        lock = int.from_bytes(digest[:8], "big", signed=True)
        connection.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": lock})


def remember(session: Session, row: IdempotencyRow) -> None:
    """Store the answer in the change's transaction; a key that another request stored in the
    meantime answers 409 (retry to get its answer)."""
    if session.get(IdempotencyRow, (row.party_id, row.key)) is not None:
        raise _header_problem(409, row.key, "is used by a concurrent request: retry for its answer")
    session.add(row)
