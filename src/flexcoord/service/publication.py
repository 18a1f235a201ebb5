"""What each party is told when a session is cleared or settled: one message per party and
kind, enqueued in the transaction that stores the results (:mod:`flexcoord.service.outbox`), so
a session's results are published exactly once, with them or not at all.

- ``results`` (no acknowledgement): to each FSP its own awards, to each buyer the awards it
  bought, to the session's market operator the run's summary; every one carries the result hash.
- ``activations`` (acknowledged within :data:`ACTIVATION_ACK_WITHIN`): to each FSP with orders,
  its orders.
- ``statements`` (no acknowledgement): to each party with a statement, its statement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy.orm import Session

from flexcoord.service.outbox import MessageKind, enqueue
from flexcoord.service.tables import MarketSessionRow, StatementRow

__all__ = ["ACTIVATION_ACK_WITHIN", "publish_results", "publish_statements"]

#: How long an FSP has to acknowledge its activation orders before the market operator is
#: alerted.
ACTIVATION_ACK_WITHIN: Final = timedelta(minutes=15)


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def publish_results(session: Session, srow: MarketSessionRow, result: Any, *, now: datetime) -> int:
    """Enqueue the messages of a cleared session (``result``: its
    :class:`~flexcoord.service.clearing_job.ClearingResult`); how many."""
    subject = f"session:{srow.id}"
    head = {"session_id": srow.id, "result_sha256": result.sha256}
    by_fsp: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_buyer: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for award in result.awards:
        by_fsp[award["owner_id"]].append(_json(award))
        by_buyer[award["buyer_id"]].append(_json(award))
    orders: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for order in result.orders:
        orders[order["owner_id"]].append(_json(order))
    messages: list[tuple[str, MessageKind, dict[str, Any], timedelta | None]] = [
        (party, MessageKind.RESULTS, {**head, "awards": rows}, None)
        for awards in (by_fsp, by_buyer)  # a party is an FSP or a buyer, never both
        for party, rows in sorted(awards.items())
    ]
    messages.append((srow.owner_id, MessageKind.RESULTS, {**head, "summary": result.summary}, None))
    messages += [
        (party, MessageKind.ACTIVATIONS, {**head, "orders": rows}, ACTIVATION_ACK_WITHIN)
        for party, rows in sorted(orders.items())
    ]
    for party, kind, body, ack_within in messages:
        enqueue(
            session,
            party_id=party,
            kind=kind,
            subject_id=subject,
            body=body,
            now=now,
            ack_within=ack_within,
        )
    return len(messages)


def publish_statements(
    session: Session, srow: MarketSessionRow, rows: Sequence[StatementRow], *, now: datetime
) -> int:
    """Enqueue each party's statement of a settled session; how many."""
    for row in rows:
        enqueue(
            session,
            party_id=row.party_id,
            kind=MessageKind.STATEMENTS,
            subject_id=f"session:{srow.id}",
            body={"session_id": srow.id, "sha256": row.sha256, **row.spec},
            now=now,
            ack_within=None,
        )
    return len(rows)
