"""clear() from a BidTable of columns: the result of the same bids as Bid objects, exactly."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from flexcoord.clearing import ClearingOptions
from flexcoord.clearing.market import clear
from flexcoord.domain import Bid, Location
from flexcoord.domain.bid_table import BidTable
from flexcoord.errors import InvalidInputError
from tests.clearing.test_market import MTUS, SUBMITTED, T0, bid, constraints, need, register
from tests.domain.column_helpers import columns_of


def _same(a: Any, b: Any, path: str = "result") -> list[str]:
    """Where two results differ (every field, arrays bit for bit, NaN equal to NaN); the
    run statistics (times) aside."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return [
            d
            for f in dataclasses.fields(a)
            if f.name != "stats"
            for d in _same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
        ]
    if isinstance(a, np.ndarray):
        ok = a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
        return [] if ok else [path]
    if isinstance(a, tuple | list) and a and dataclasses.is_dataclass(a[0]):
        if len(a) != len(b):
            return [path]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _same(x, y, path)]
    return [] if a == b else [path]


def _markets() -> list[tuple[str, list[Any], list[Bid], Any]]:
    one_mtu = [{"start": MTUS[0].start, "end": MTUS[0].end, "quantity": 0.5}]
    mixed = [
        bid("cheap", "u1", activation_price_eur_per_mwh=10.0),
        bid("dear", "u3", activation_price_eur_per_mwh=90.0, divisible=False),
        bid("mid", "u2", activation_price_eur_per_mwh=40.0, min_acceptance=0.5),
        bid("grp", "g12", activation_price_eur_per_mwh=30.0, block=True),
        bid("x1", "u1", activation_price_eur_per_mwh=20.0, exclusive_set="x"),
        bid("x2", "u2", activation_price_eur_per_mwh=25.0, exclusive_set="x"),
        bid("child", "u3", activation_price_eur_per_mwh=15.0, parent_bid_id="x1"),
        bid("down", "u3", direction="down", submitted_at=SUBMITTED + timedelta(minutes=1)),
        bid("q", product_id="var", quantities=one_mtu),
        bid("pq", "u2", q_mvar_per_mw=0.3),
    ]
    both = [
        bid("a", product_id="cap", availability_price_eur_per_mw_h=10.0,
            activation_price_eur_per_mwh=200.0),
        bid("b", "u2", product_id="cap", availability_price_eur_per_mw_h=30.0,
            activation_price_eur_per_mwh=20.0),
    ]  # fmt: skip
    cap_need = need(product_id="cap", mw=1.0, expected_activation_share=0.5)
    base = np.zeros((4, 2))
    base[3] = -1.3  # bus 3 exports 1.3 MW over line 2-3, limit 1 MW: relieved by redispatch
    congested = replace(constraints(limit=1.0), base_flow_mw=base)
    return [
        ("area need, no grid", [need()], mixed, None),
        ("bus need and a grid limit", [need(location=Location.at_buses([2, 3]))], mixed,
         constraints(limit=0.8)),
        ("coupling point", [need(location=Location.at_coupling_point("trafo:0"))], mixed,
         constraints()),
        ("availability and activation", [cap_need], both, None),
        ("redispatch without need", [], mixed, congested),
    ]  # fmt: skip


@pytest.mark.parametrize("case", range(5))
def test_columns_clear_to_the_result_of_the_bid_objects(case: int) -> None:
    name, needs, bids, gc = _markets()[case]
    reg = register()
    options = ClearingOptions()
    from_objects = clear(reg, needs, bids, gc, options)
    from_columns = clear(reg, needs, BidTable.from_columns(**columns_of(bids)), gc, options)
    assert from_objects.accepted_mw_by_bid(), name  # the market clears something
    assert _same(from_objects, from_columns) == [], name
    assert from_columns.canonical_hash() == from_objects.canonical_hash()


def test_a_bad_table_is_refused_like_the_bids_before_anything_is_solved() -> None:
    bids = [
        bid("unknown-unit", "nope"),
        bid("late", submitted_at=T0 + timedelta(hours=1)),
        bid("orphan", parent_bid_id="missing"),
    ]
    reg, kw = register(), dict(gate_closure_at=T0 - timedelta(hours=2))
    with pytest.raises(InvalidInputError) as objects:
        clear(reg, [need()], bids, **kw)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError) as columns:
        clear(reg, [need()], BidTable.from_columns(**columns_of(bids)), **kw)  # type: ignore[arg-type]
    assert columns.value.issues == objects.value.issues
