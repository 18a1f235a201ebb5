"""The grid prequalification rule of market_issues: impacted operators' records refuse or cap."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flexcoord.domain import GridPrequalification, Interval, Register, market_issues

from .conftest import T0, Q, make_bid, register_parts

YEAR = Interval(start=datetime(2026, 1, 1, tzinfo=UTC), end=datetime(2027, 1, 1, tzinfo=UTC))


def _register(*records: GridPrequalification) -> Register:
    return Register(**{**register_parts(), "grid_prequalifications": records})


def _record(status: str, **fields: Any) -> GridPrequalification:
    return GridPrequalification(
        id=f"gpq-{status}",
        resource_id="g1",
        impacted_operator_id="dso",
        status=status,  # type: ignore[arg-type]
        valid=fields.pop("valid", YEAR),
        **fields,
    )


def _fields(register: Register, *, required: bool = True, **bid: Any) -> list[str]:
    found = market_issues(
        register, [], [make_bid(resource_id="g1", **bid)], require_prequalification=required
    )
    return [i.field for i in found]


def test_without_a_grid_record_a_prequalified_resource_bids() -> None:
    assert _fields(_register()) == []


def test_a_condition_caps_the_quantity_in_its_direction_only() -> None:
    register = _register(_record("conditional", max_up_mw=0.3, light="amber"))
    assert _fields(register) == [f"quantities[{i}].quantity" for i in range(4)]
    assert _fields(register, direction="down") == []


def test_a_refusal_counts_only_where_its_validity_covers_the_mtu() -> None:
    later = Interval(start=T0 + 2 * Q, end=YEAR.end)
    register = _register(_record("not_qualified", valid=later))
    assert _fields(register) == ["quantities[2].interval", "quantities[3].interval"]


def test_a_suspension_refuses_and_the_rule_needs_require_prequalification() -> None:
    register = _register(_record("suspended", suspended_from=T0 - Q))
    assert _fields(register) == [f"quantities[{i}].interval" for i in range(4)]
    assert _fields(register, required=False) == []
