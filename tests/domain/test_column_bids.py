"""Bids as columns (BidTable.from_columns): the Bid rules and the market rules, issue for issue."""

from __future__ import annotations

import copy
import pickle
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest

from flexcoord.domain import Bid, Interval, MtuQuantity, Register, build_all
from flexcoord.domain.bid_table import BidTable, bid_table, unique_instants
from flexcoord.domain.market import market_issues
from flexcoord.errors import InvalidInputError, Issue

from .column_helpers import columns_of, columns_of_rows
from .conftest import T0, Q, make_bid, make_need, mtus


def _row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": "b1",
        "fsp_id": "fsp-a",
        "resource_id": "u1",
        "product_id": "p-da",
        "direction": "up",
        "quantities": [
            {"start": T0 + i * Q, "end": T0 + (i + 1) * Q, "quantity": 0.5} for i in range(2)
        ],
        "activation_price_eur_per_mwh": 100.0,
        "submitted_at": T0 - timedelta(days=1),
    }
    row.update(overrides)
    return row


def _raised(build: Any) -> list[tuple[str, str, str, str, str]]:
    """Each issue raised as (kind, id, field, repr of the value, message): a NaN value is
    not equal to itself."""
    with pytest.raises(InvalidInputError) as info:
        build()
    return [_key(i) for i in info.value.issues]


def _key(issue: Issue) -> tuple[str, str, str, str, str]:
    return (issue.kind, issue.object_id, issue.field, repr(issue.value), issue.message)


BAD_ROWS = [
    _row(id="empty-fsp", fsp_id=" "),
    _row(id="naive", submitted_at=datetime(2026, 5, 31, 10)),
    _row(id="no-price", activation_price_eur_per_mwh=None),
    _row(id="neg-avail", availability_price_eur_per_mw_h=-1.0),
    _row(id="inf-act", activation_price_eur_per_mwh=float("inf")),
    _row(id="zero", quantities=[{"start": T0, "end": T0 + Q, "quantity": 0.0}]),
    _row(id="nan-q", quantities=[{"start": T0, "end": T0 + Q, "quantity": float("nan")}]),
    _row(
        id="overlap",
        quantities=[
            {"start": T0, "end": T0 + 2 * Q, "quantity": 0.5},
            {"start": T0 + Q, "end": T0 + 3 * Q, "quantity": 0.5},
        ],
    ),
    _row(id="backwards", quantities=[{"start": T0 + Q, "end": T0, "quantity": 0.5}]),
    _row(
        id="naive-mtu",
        quantities=[{"start": datetime(2026, 6, 1, 17), "end": T0 + Q, "quantity": 0.5}],
    ),
    _row(id="none", quantities=[]),
    _row(id="min-above", min_acceptance=0.7),
    _row(id="min-indivisible", divisible=False, min_acceptance=0.4),
    _row(id="min-neg", min_acceptance=-0.1),
    _row(id="self-parent", parent_bid_id="self-parent"),
    _row(id="blank-set", exclusive_set=""),
    _row(id="inf-q", q_mvar_per_mw=float("inf")),
]


def test_bad_rows_get_the_issues_of_their_bids() -> None:
    """Every row a Bid refuses is refused from columns with the same issues (id, field,
    value, message), in row order, and good rows between them add none."""
    rows = [_row(id="good-0"), *BAD_ROWS, _row(id="good-1")]
    expected = _raised(lambda: build_all(Bid, rows))
    assert {i[1] for i in expected} == {r["id"] for r in BAD_ROWS}
    assert _raised(lambda: BidTable.from_columns(**columns_of_rows(rows))) == expected


def test_datetime64_columns_are_utc() -> None:
    """Instants as numpy datetime64 are UTC and read exactly as the aware datetimes."""
    bids = [make_bid(id="a"), make_bid(id="b", quantities=mtus(2, 0.3, start=T0 + Q))]
    cols = columns_of(bids)
    for name in ("submitted_at", "slot_start", "slot_end"):
        cols[name] = np.array([t.replace(tzinfo=None) for t in cols[name]], "datetime64[us]")
    table = BidTable.from_columns(**cols)
    assert list(table.starts) == [T0 + i * Q for i in range(4)]
    assert table.submitted_at[1] == bids[1].submitted_at
    assert table.slots[5] == bids[1].quantities[1]


def _market_bids() -> list[Bid]:
    off_grid = MtuQuantity(
        interval=Interval(start=T0 + timedelta(minutes=5), end=T0 + timedelta(minutes=20)),
        quantity=0.5,
    )
    return [
        make_bid(id="b-fsp", fsp_id="fsp-b"),
        make_bid(id="b-ghost", fsp_id="fsp-z", resource_id="u-z", product_id="p-z"),
        make_bid(id="b-small", quantities=(off_grid, *mtus(1, 0.05, start=T0 + Q * 2))),
        make_bid(id="b-big", quantities=mtus(1, 1.5)),
        make_bid(id="b-late", submitted_at=T0 - timedelta(hours=1)),
        make_bid(id="b-price", availability_price_eur_per_mw_h=None),
        make_bid(id="b-slow", fsp_id="fsp-b", resource_id="u4"),
        make_bid(id="b-q", product_id="p-q", quantities=mtus(4, 0.1), q_mvar_per_mw=0.3),
        make_bid(id="a", parent_bid_id="c"),
        make_bid(id="b", parent_bid_id="a"),
        make_bid(id="c", parent_bid_id="b"),
        make_bid(id="orphan", parent_bid_id="missing"),
        make_bid(
            id="other", fsp_id="fsp-b", resource_id="u4", parent_bid_id="orphan", exclusive_set="x"
        ),
        make_bid(id="x1", exclusive_set="x"),
        make_bid(id="x2", exclusive_set="x", parent_bid_id="x1"),
        make_bid(id="b-late", resource_id="g1"),  # a duplicate id
        make_bid(id="ok", resource_id="g1", submitted_at=T0 - timedelta(hours=12)),
    ]


@pytest.mark.parametrize("prequalification", [False, True])
def test_market_rules_give_the_same_issues_on_columns(
    register: Register, prequalification: bool
) -> None:
    """validate_market on the table of columns lists the issues it lists for the Bid objects,
    in the same order (owner, gate closures, product, MTU grid, range, lead time, prices,
    q_mvar_per_mw, links, exclusive sets, duplicates, prequalification)."""
    bids = _market_bids()
    kw: dict[str, Any] = dict(
        gate_closure_at=T0 - timedelta(hours=6),
        known_buses=frozenset(range(7)),
        require_prequalification=prequalification,
    )
    needs = [make_need()]
    expected = market_issues(register, needs, bids, **kw)
    assert len(expected) > 25
    table = BidTable.from_columns(**columns_of(bids))
    assert market_issues(register, needs, table, **kw) == expected


def test_columns_of_different_lengths_are_refused() -> None:
    cols = columns_of([make_bid()])
    cols["up"] = [True, False]
    with pytest.raises(ValueError, match="up: 1 values expected"):
        BidTable.from_columns(**cols)


def test_an_aware_instant_in_another_zone_is_its_utc_instant() -> None:
    cet = datetime(2026, 5, 31, 12, tzinfo=UTC).astimezone(
        __import__("datetime").timezone(timedelta(hours=2))
    )
    table = BidTable.from_columns(**columns_of_rows([_row(submitted_at=cet)]))
    assert table.submitted_at[0] == datetime(2026, 5, 31, 12, tzinfo=UTC)
    assert table.submitted_s[0] == datetime(2026, 5, 31, 12, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("step_us", "span"),
    [(15 * 60_000_000, 96), (60_000_000, 600_000), (7_500_000, 96), (1, 10**9)],
    ids=["quarter-hours", "minutes-over-a-year", "off-minute", "microseconds"],
)
def test_distinct_instants_are_numpys_unique(step_us: int, span: int) -> None:
    """The distinct slot instants and each slot's index into them (kept without a sort when on
    whole minutes of a short span) are exactly np.unique's, wherever the instants lie."""
    rng = np.random.default_rng(step_us)
    for n in (0, 1, 5, 2_000):
        us = (-(10**14) + rng.integers(0, span, n) * step_us).astype(np.int64)
        found, index = unique_instants(us)
        expected, expected_index = np.unique(us, return_inverse=True)
        assert found.tolist() == expected.tolist()
        assert index.tolist() == expected_index.reshape(-1).tolist()
        assert index.dtype == found.dtype == np.int64


def test_off_minute_slots_index_their_instants_as_bid_objects_do() -> None:
    """A table of columns with slots off the minute grid (7.5 s) has the sorted starts of the
    table of the same Bid objects, and every slot the same start and end instant."""
    half = timedelta(seconds=7.5)
    bids = [
        make_bid(id="a", quantities=mtus(2, 0.3, start=T0 + half)),
        make_bid(id="b", quantities=mtus(3, 0.2, start=T0)),
    ]
    columns, objects = BidTable.from_columns(**columns_of(bids)), bid_table(bids)
    assert columns.starts == objects.starts
    for table in (columns, objects):
        assert [table.starts[i] for i in table.slot_start] == [
            q.interval.start for b in bids for q in b.quantities
        ]
        assert [table.ends[i] for i in table.slot_end] == [
            q.interval.end for b in bids for q in b.quantities
        ]


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray):
        floats = a.dtype.kind == "f"
        return a.dtype == np.asarray(b).dtype and np.array_equal(a, b, equal_nan=floats)
    return list(a) == list(b)  # type: ignore[call-overload]


def test_the_table_of_bid_objects_is_the_table_of_their_columns() -> None:
    """Every field of the table read from the Bid objects' packed records equals the table of
    the same bids as columns, for bids with and without each optional field; a pickled, copied
    or replaced bid packs its own fields."""
    zone = timezone(timedelta(hours=2))
    bids = [
        make_bid(id="plain"),
        make_bid(id="avail-only", activation_price_eur_per_mwh=None, direction="down"),
        make_bid(id="act-only", availability_price_eur_per_mw_h=None, min_acceptance=0.2),
        make_bid(
            id="linked", parent_bid_id="plain", exclusive_set="x", block=True, q_mvar_per_mw=-0.3
        ),
        make_bid(id="whole", divisible=False, min_acceptance=0.5, quantities=mtus(1, 0.5)),
        make_bid(
            id="other-zone",
            submitted_at=datetime(2026, 5, 31, 12, 0, 0, 1, tzinfo=zone),
            quantities=mtus(2, 0.25, start=T0 + 3 * Q),
        ),
    ]
    objects, columns = bid_table(bids), BidTable.from_columns(**columns_of(bids))
    for name in BidTable.__dataclass_fields__:
        if name in ("bids", "slots"):
            continue
        assert _same(getattr(objects, name), getattr(columns, name)), name
    assert list(objects.slots) == [q for b in bids for q in b.quantities]
    assert list(objects.submitted_at) == [b.submitted_at for b in bids]
    again = [pickle.loads(pickle.dumps(b)) for b in bids[:3]]
    again += [copy.deepcopy(bids[3]), replace(bids[4], block=True)]
    table = bid_table(again)
    assert table.block.tolist() == [False, False, False, True, True]
    assert table.parent_ids == (None, None, None, "plain", None)
    assert _same(table.availability, [5.0, 5.0, np.nan, 5.0, 5.0])
    assert bid_table(bids[:1]).parent_ids == (None,)  # no bid gives one: not read
