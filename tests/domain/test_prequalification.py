"""Product and grid prequalification: validity, suspension, traffic-light consistency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from flexcoord.domain import (
    Direction,
    GridPrequalification,
    Interval,
    PrequalificationStatus,
    ProductPrequalification,
)
from flexcoord.errors import InvalidInputError

from .conftest import issues_of

JAN = datetime(2026, 1, 1, tzinfo=UTC)
VALID = Interval(start=JAN, end=datetime(2027, 1, 1, tzinfo=UTC))


def product_pq(**overrides: Any) -> ProductPrequalification:
    fields: dict[str, Any] = {
        "id": "pq",
        "resource_id": "u1",
        "product_id": "p",
        "procuring_operator_id": "dso",
        "scope": "dedicated",
        "status": "qualified",
        "valid": VALID,
    }
    fields.update(overrides)
    return ProductPrequalification(**fields)


def grid_pq(**overrides: Any) -> GridPrequalification:
    fields: dict[str, Any] = {
        "id": "gpq",
        "resource_id": "u1",
        "impacted_operator_id": "dso",
        "status": "qualified",
        "light": "green",
        "valid": VALID,
    }
    fields.update(overrides)
    return GridPrequalification(**fields)


def test_validity_is_half_open() -> None:
    pq = product_pq()
    assert pq.is_valid_at(JAN)
    assert not pq.is_valid_at(JAN - timedelta(seconds=1))
    assert not pq.is_valid_at(VALID.end)


def test_open_ended_and_bounded_suspension() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    end = datetime(2026, 4, 1, tzinfo=UTC)
    open_ended = product_pq(suspended_from=start)
    assert open_ended.is_valid_at(start - timedelta(seconds=1))
    assert not open_ended.is_valid_at(start)
    assert not open_ended.is_valid_at(datetime(2026, 12, 1, tzinfo=UTC))
    bounded = product_pq(suspended_from=start, suspended_until=end)
    assert not bounded.is_valid_at(end - timedelta(seconds=1))
    assert bounded.is_valid_at(end)


@pytest.mark.parametrize(
    ("status", "expected"),
    [("qualified", True), ("conditional", True), ("not_qualified", False), ("suspended", False)],
)
def test_status_decides_participation(status: str, expected: bool) -> None:
    limits = {"max_up_mw": 1.0} if status == "conditional" else {}
    assert product_pq(status=status).is_valid_at(JAN) is expected
    assert grid_pq(status=status, light=None, **limits).is_valid_at(JAN) is expected


def test_suspension_checks() -> None:
    found = issues_of(
        lambda: product_pq(
            suspended_until=datetime(2026, 3, 1),
            scope="everyone",
            status="maybe",
            valid="2026",
        )
    )
    assert found == {
        ("ProductPrequalification", "pq", f)
        for f in ("suspended_until", "scope", "status", "valid")
    }
    with pytest.raises(InvalidInputError) as info:
        product_pq(
            suspended_from=datetime(2026, 3, 2, tzinfo=UTC),
            suspended_until=datetime(2026, 3, 1, tzinfo=UTC),
        )
    assert info.value.issues[0].field == "suspended_until"


def test_grid_prequalification_light_and_limits() -> None:
    amber = grid_pq(status="conditional", light="amber", max_down_mw=0.3)
    assert amber.limit_mw(Direction.DOWN) == 0.3 and amber.limit_mw(Direction.UP) is None
    assert amber.status is PrequalificationStatus.CONDITIONAL
    assert issues_of(lambda: grid_pq(light="red")) == {("GridPrequalification", "gpq", "light")}
    assert issues_of(lambda: grid_pq(light="amber")) == {("GridPrequalification", "gpq", "light")}
    assert issues_of(lambda: grid_pq(status="conditional", light=None)) == {
        ("GridPrequalification", "gpq", "max_up_mw")
    }
    assert issues_of(lambda: grid_pq(max_up_mw=-1.0)) == {
        ("GridPrequalification", "gpq", "max_up_mw")
    }
    assert not grid_pq(status="not_qualified", light="red").is_valid_at(JAN)
