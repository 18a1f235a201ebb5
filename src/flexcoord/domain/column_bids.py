"""Bids handed over as columns: a :class:`~flexcoord.domain.bid_table.BidTable` from arrays.

:func:`table_from_columns` (also :meth:`BidTable.from_columns
<flexcoord.domain.bid_table.BidTable.from_columns>`) takes a market's bids as one array or
sequence per field - no :class:`~flexcoord.domain.Bid` object per bid - and returns the table
the validation (:func:`~flexcoord.domain.validate_market`) and the clearing's mapping read, so
:func:`~flexcoord.clearing.market.clear` runs on it exactly as on the table of ``Bid`` objects.

The fields are the :class:`~flexcoord.domain.Bid` fields; a price, ``min_acceptance`` or
``q_mvar_per_mw`` of NaN means "not given" (``None``); the direction is a boolean ``up``; the
quantities of all bids are concatenated in bid order (``n_slots`` per bid, then per slot
``slot_start``, ``slot_end`` and ``slot_quantity``). Instants are numpy ``datetime64`` (UTC) or
timezone-aware datetimes.

What a ``Bid`` checks at construction is checked here too, and reported the same way: an array
screen (a superset of ``Bid``'s rules: it flags every bid a rule could refuse) finds the
suspect rows, and each suspect row is built as a ``Bid`` - the rules' one implementation - so
its issues (kind ``Bid``, its id, the field, the value, the message) are those
:func:`~flexcoord.domain.build_all` reports for the same rows. A valid 100k-bid market costs a
few array operations per rule and no Python call per bid beyond the id checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike

from flexcoord.domain.bid_table import (
    BidTable,
    BoolArray,
    FloatArray,
    IntArray,
    assemble,
    instant,
    slot_layout,
)
from flexcoord.domain.bids import Bid
from flexcoord.domain.quantities import MtuQuantity
from flexcoord.domain.time import Interval
from flexcoord.domain.validation import IssueLog
from flexcoord.domain.vocabulary import Direction

__all__ = ["table_from_columns"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAT = np.iinfo(np.int64).min


def _instant(us: int) -> datetime | None:
    """The UTC datetime of ``us`` microseconds since the epoch (``None`` for NaT)."""
    return None if us == _NAT else instant(us)


class _Slots(Sequence[MtuQuantity]):
    """The slots' :class:`~flexcoord.domain.MtuQuantity`, built on access (for messages)."""

    __slots__ = ("_end", "_quantity", "_start")

    def __init__(self, start_us: IntArray, end_us: IntArray, quantity: FloatArray) -> None:
        self._start, self._end, self._quantity = start_us, end_us, quantity

    def __len__(self) -> int:
        return int(self._start.shape[0])

    def _one(self, s: int) -> MtuQuantity:
        start, end = instant(int(self._start[s])), instant(int(self._end[s]))
        return MtuQuantity(
            interval=Interval(start=start, end=end), quantity=float(self._quantity[s])
        )

    @overload
    def __getitem__(self, index: int) -> MtuQuantity: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[MtuQuantity]: ...
    def __getitem__(self, index: int | slice) -> MtuQuantity | Sequence[MtuQuantity]:
        if isinstance(index, slice):
            return [self._one(s) for s in range(len(self))[index]]
        return self._one(index)


def _microseconds(
    values: ArrayLike | Sequence[datetime], n: int
) -> tuple[IntArray, BoolArray, list[Any] | None]:
    """Exact microseconds since the epoch of each instant, where it is not a valid instant
    (NaT, not a datetime, or naive), and the values as given (``None`` for ``datetime64``
    values, which are UTC)."""
    if isinstance(values, np.ndarray) and np.issubdtype(values.dtype, np.datetime64):
        us = values.astype("datetime64[us]").astype(np.int64)
        if us.shape != (n,):
            raise ValueError(f"{n} instants expected, got shape {us.shape}")
        return us, us == _NAT, None
    seq: list[Any] = list(values)  # type: ignore[arg-type]
    if len(seq) != n:
        raise ValueError(f"{n} instants expected, got {len(seq)}")
    per: dict[Any, int] = {}
    for t in dict.fromkeys(seq):  # per distinct instant
        aware = isinstance(t, datetime) and t.tzinfo is not None and t.utcoffset() is not None
        per[t] = (t - _EPOCH) // timedelta(microseconds=1) if aware else _NAT
    us = np.fromiter(map(per.__getitem__, seq), dtype=np.int64, count=n)
    return us, us == _NAT, seq


def _bad_ids(values: Sequence[object]) -> BoolArray:
    """Where a value is not a non-empty string id (``Bid``'s ``identifier`` rule)."""
    try:
        if all(map(str.strip, values)):  # type: ignore[arg-type]
            return np.zeros(len(values), dtype=bool)
    except TypeError:  # a value that is not a string
        pass
    ok = {v: isinstance(v, str) and v.strip() != "" for v in dict.fromkeys(values)}
    return ~np.fromiter(map(ok.__getitem__, values), dtype=bool, count=len(values))


def _bad_optional_ids(values: Sequence[object | None]) -> BoolArray:
    """Where a value is neither ``None`` nor a non-empty string id."""
    if values.count(None) == len(values):
        return np.zeros(len(values), dtype=bool)
    ok = {v: v is None or (isinstance(v, str) and v.strip() != "") for v in dict.fromkeys(values)}
    return ~np.fromiter(map(ok.__getitem__, values), dtype=bool, count=len(values))


def _column(values: ArrayLike | None, n: int, name: str, dtype: type) -> Any:
    """One per-bid or per-slot array of ``n`` values (``None``: NaN / False)."""
    if values is None:
        return np.full(n, np.nan) if dtype is float else np.zeros(n, dtype=bool)
    out = np.asarray(values, dtype=np.float64 if dtype is float else bool)
    if out.shape != (n,):
        raise ValueError(f"{name}: {n} values expected, got shape {out.shape}")
    return out


def _optional(values: Sequence[str | None] | None, n: int, name: str) -> tuple[str | None, ...]:
    if values is None:
        return (None,) * n
    out = tuple(values)
    if len(out) != n:
        raise ValueError(f"{name}: {n} values expected, got {len(out)}")
    return out


def _strings(values: Sequence[str], n: int | None, name: str) -> tuple[str, ...]:
    out = tuple(values)
    if n is not None and len(out) != n:
        raise ValueError(f"{name}: {n} values expected, got {len(out)}")
    return out


def table_from_columns(  # noqa: PLR0913 - one argument per Bid field
    *,
    ids: Sequence[str],
    fsp_ids: Sequence[str],
    resource_ids: Sequence[str],
    product_ids: Sequence[str],
    up: ArrayLike,
    submitted_at: ArrayLike | Sequence[datetime],
    n_slots: ArrayLike,
    slot_start: ArrayLike | Sequence[datetime],
    slot_end: ArrayLike | Sequence[datetime],
    slot_quantity: ArrayLike,
    availability_price_eur_per_mw_h: ArrayLike | None = None,
    activation_price_eur_per_mwh: ArrayLike | None = None,
    divisible: ArrayLike | None = None,
    min_acceptance: ArrayLike | None = None,
    exclusive_set: Sequence[str | None] | None = None,
    parent_bid_id: Sequence[str | None] | None = None,
    block: ArrayLike | None = None,
    q_mvar_per_mw: ArrayLike | None = None,
) -> BidTable:
    """The :class:`~flexcoord.domain.bid_table.BidTable` of bids given as columns.

    Args:
        ids, fsp_ids, resource_ids, product_ids: Per bid, as :class:`~flexcoord.domain.Bid`.
        up: Per bid, ``direction is Direction.UP``.
        submitted_at: Per bid (``datetime64`` UTC, or aware datetimes).
        n_slots: Per bid, its number of MTUs (its quantities are the next ``n_slots`` slots).
        slot_start, slot_end, slot_quantity: Per slot (bid by bid, in time order within a bid).
        availability_price_eur_per_mw_h, activation_price_eur_per_mwh, min_acceptance,
            q_mvar_per_mw: Per bid, NaN for not given (``None``: none given).
        divisible: Per bid (``None``: all divisible, the ``Bid`` default).
        exclusive_set, parent_bid_id: Per bid, ``None`` where not given.
        block: Per bid (``None``: no block bids).

    Raises:
        InvalidInputError: the issues the same rows raise as ``Bid`` objects
            (:func:`~flexcoord.domain.build_all` of the rows), every bad row's at once.
        ValueError: columns of different lengths.

    Example:
        >>> import numpy as np
        >>> table = table_from_columns(
        ...     ids=["b-1"], fsp_ids=["fsp-1"], resource_ids=["u-1"], product_ids=["p-da"],
        ...     up=[True], submitted_at=np.array(["2026-05-31T10:00"], "datetime64[us]"),
        ...     n_slots=[1], slot_start=np.array(["2026-06-01T17:00"], "datetime64[us]"),
        ...     slot_end=np.array(["2026-06-01T17:15"], "datetime64[us]"), slot_quantity=[1.0],
        ...     activation_price_eur_per_mwh=[120.0])
        >>> table.n_bid, table.slot_quantity.tolist(), table.starts[0].isoformat()
        (1, [1.0], '2026-06-01T17:00:00+00:00')
    """
    id_t = _strings(ids, None, "ids")
    n_b = len(id_t)
    fsp_t = _strings(fsp_ids, n_b, "fsp_ids")
    res_t = _strings(resource_ids, n_b, "resource_ids")
    prod_t = _strings(product_ids, n_b, "product_ids")
    up_a = _column(up, n_b, "up", bool)
    count = np.asarray(n_slots, dtype=np.int64)
    if count.shape != (n_b,) or (count < 0).any():
        raise ValueError(f"n_slots: {n_b} counts >= 0 expected")
    n_s = int(count.sum())
    quantity = _column(slot_quantity, n_s, "slot_quantity", float)
    start_us, bad_start, start_given = _microseconds(slot_start, n_s)
    end_us, bad_end, end_given = _microseconds(slot_end, n_s)
    sub_us, bad_sub, sub_given = _microseconds(submitted_at, n_b)
    avail = _column(availability_price_eur_per_mw_h, n_b, "availability", float)
    act = _column(activation_price_eur_per_mwh, n_b, "activation", float)
    min_acc = _column(min_acceptance, n_b, "min_acceptance", float)
    q_per_mw = _column(q_mvar_per_mw, n_b, "q_mvar_per_mw", float)
    div = (
        np.ones(n_b, dtype=bool)
        if divisible is None
        else _column(divisible, n_b, "divisible", bool)
    )
    blk = _column(block, n_b, "block", bool)
    xor_t = _optional(exclusive_set, n_b, "exclusive_set")
    parent_t = _optional(parent_bid_id, n_b, "parent_bid_id")

    layout = slot_layout(count)
    first_slot, slot_bid, slot_position = layout
    # the screen: every row a Bid rule could refuse
    bad_slot = bad_start | bad_end | ~(end_us > start_us) | ~(quantity > 0) | ~np.isfinite(quantity)
    later = slot_position[1:] > 0  # a slot after the first of its bid: starts after the previous
    bad_slot[1:] |= later & (start_us[1:] < end_us[:-1])
    has_min = ~np.isnan(min_acc)
    if has_min.any():
        m = min_acc[slot_bid]
        off = np.where(div[slot_bid], ~(m <= quantity), m != quantity) & has_min[slot_bid]
        bad_slot |= off
    bad = (
        np.bincount(slot_bid, weights=bad_slot, minlength=n_b) > 0
        if n_s
        else np.zeros(n_b, dtype=bool)
    )
    bad |= (count == 0) | bad_sub
    bad |= _bad_ids(id_t) | _bad_ids(fsp_t) | _bad_ids(res_t) | _bad_ids(prod_t)
    bad |= np.isnan(avail) & np.isnan(act)
    bad |= ~np.isnan(avail) & ~(np.isfinite(avail) & (avail >= 0))
    bad |= ~np.isnan(act) & ~np.isfinite(act)
    bad |= has_min & ~(np.isfinite(min_acc) & (min_acc >= 0))
    bad |= ~np.isnan(q_per_mw) & ~np.isfinite(q_per_mw)
    bad |= _bad_optional_ids(xor_t) | _bad_optional_ids(parent_t)
    if parent_t.count(None) < n_b:
        bad |= np.array([p == i for p, i in zip(parent_t, id_t, strict=True)], dtype=bool)
    if bad.any():
        _raise_bid_issues(
            np.flatnonzero(bad).tolist(),
            dict(
                ids=id_t,
                fsp=fsp_t,
                res=res_t,
                prod=prod_t,
                up=up_a,
                sub=(sub_given, sub_us),
                first=first_slot,
                count=count,
                start=(start_given, start_us),
                end=(end_given, end_us),
                q=quantity,
                avail=avail,
                act=act,
                div=div,
                min=min_acc,
                xor=xor_t,
                parent=parent_t,
                block=blk,
                qpm=q_per_mw,
            ),
        )

    return assemble(
        bids=None,
        ids=id_t,
        fsp_ids=fsp_t,
        resource_ids=res_t,
        product_ids=prod_t,
        parent_ids=parent_t,
        exclusive_sets=xor_t,
        submitted_us=sub_us,
        up=up_a,
        availability=avail,
        activation=act,
        min_acceptance=min_acc,
        q_mvar_per_mw=q_per_mw,
        divisible=div,
        block=blk,
        n_slots=count,
        layout=layout,
        slots=_Slots(start_us, end_us, quantity),
        slot_start_us=start_us,
        slot_end_us=end_us,
        slot_quantity=quantity,
    )


def _given(given: list[Any] | None, us: IntArray, i: int) -> object:
    """The instant as given (a datetime64 column: its UTC datetime; NaT: ``None``)."""
    return _instant(int(us[i])) if given is None else given[i]


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _raise_bid_issues(rows: list[int], c: dict[str, Any]) -> None:
    """Build each suspect row as a :class:`~flexcoord.domain.Bid` and raise its issues."""
    log = IssueLog()
    for b in rows:
        first, count = int(c["first"][b]), int(c["count"][b])
        quantities = [
            {
                "start": _given(c["start"][0], c["start"][1], s),
                "end": _given(c["end"][0], c["end"][1], s),
                "quantity": float(c["q"][s]),
            }
            for s in range(first, first + count)
        ]
        row = dict(
            id=c["ids"][b],
            fsp_id=c["fsp"][b],
            resource_id=c["res"][b],
            product_id=c["prod"][b],
            direction=Direction.UP if c["up"][b] else Direction.DOWN,
            quantities=quantities,
            submitted_at=_given(c["sub"][0], c["sub"][1], b),
            availability_price_eur_per_mw_h=_number(c["avail"][b]),
            activation_price_eur_per_mwh=_number(c["act"][b]),
            divisible=bool(c["div"][b]),
            min_acceptance=_number(c["min"][b]),
            exclusive_set=c["xor"][b],
            parent_bid_id=c["parent"][b],
            block=bool(c["block"][b]),
            q_mvar_per_mw=_number(c["qpm"][b]),
        )
        log.attempt(lambda row=row: Bid(**row))  # type: ignore[misc]
    log.raise_if_any()
