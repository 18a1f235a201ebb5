"""Building many objects from raw rows: every row's issues, one raise, nothing half-built."""

from __future__ import annotations

import math

import pytest

from flexcoord.domain import Bid, IssueLog, Unit, build_all
from flexcoord.errors import InvalidInputError

from .conftest import T0, Q


def _bid_row(bid_id: str, **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": bid_id,
        "fsp_id": "fsp-a",
        "resource_id": "u1",
        "product_id": "p-da",
        "direction": "up",
        "quantities": [{"start": T0, "end": T0 + Q, "quantity": 0.4}],
        "activation_price_eur_per_mwh": 80.0,
        "submitted_at": T0 - 100 * Q,
    }
    row.update(overrides)
    return row


def test_build_all_returns_every_object_in_order() -> None:
    bids = build_all(Bid, [_bid_row("b1"), _bid_row("b2", direction="down")])
    assert [b.id for b in bids] == ["b1", "b2"]
    assert bids[1].quantities[0].quantity == 0.4


def test_build_all_collects_issues_of_every_row() -> None:
    rows = [
        _bid_row("b1"),
        _bid_row("b2", direction="sideways", activation_price_eur_per_mwh=math.nan),
        _bid_row("b3", colour="blue"),
        {"id": "b4"},
        _bid_row("b5", quantities=[{"start": T0, "quantity": 1.0}]),
    ]
    with pytest.raises(InvalidInputError) as info:
        build_all(Bid, rows)
    found = {(i.kind, i.object_id, i.field) for i in info.value.issues}
    assert ("Bid", "b2", "direction") in found
    assert ("Bid", "b2", "activation_price_eur_per_mwh") in found
    assert ("Bid", "b3", "colour") in found
    assert {("Bid", "b4", f) for f in ("fsp_id", "quantities", "submitted_at")} <= found
    assert ("Bid", "b5", "quantities[0].interval") in found
    assert not any(object_id == "b1" for _, object_id, _ in found)


def test_rows_without_id_are_named_by_position() -> None:
    with pytest.raises(InvalidInputError) as info:
        build_all(Unit, [{"fsp_id": "f"}])
    assert {i.object_id for i in info.value.issues} == {"row 0"}


def test_issue_log_attempt() -> None:
    log = IssueLog()
    built = log.attempt(lambda: Bid(**_bid_row("ok")))  # type: ignore[arg-type]
    assert built is not None
    assert log.attempt(lambda: Bid(**_bid_row(""))) is None  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError) as info:
        log.raise_if_any()
    assert info.value.issues[0].field == "id"
