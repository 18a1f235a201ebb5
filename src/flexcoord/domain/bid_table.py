"""A market's bids as columns: every field of every bid read once, for validation and mapping.

:func:`bid_table` makes one pass over the bids (their packed records joined, one C-level ``map``
per id field, no Python call per bid) and keeps the fields as numpy arrays and tuples, with the
ids coded by first use and the MTUs of the slots (one bid in one MTU) as indices into the
market's distinct interval starts and ends.
:func:`~flexcoord.domain.validate_market`'s bid rules (:mod:`flexcoord.domain.bid_rules`) and the
clearing's mapping (:func:`flexcoord.clearing.mapping.build_problem`) both read it, so a
100k-bid market is walked once per clearing instead of once per rule and once more per mapping
stage. The table holds no derived market rule: what a field means stays with the rules.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any, TypeVar, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from flexcoord.domain._bid_record import BID_RECORD, SLOT_RECORD
from flexcoord.domain.bids import Bid
from flexcoord.domain.quantities import MtuQuantity

__all__ = [
    "BidTable",
    "assemble",
    "bid_table",
    "index_by_first_use",
    "instant",
    "positions",
    "slot_layout",
    "unique_instants",
    "unique_inverse",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
K = TypeVar("K", bound=Hashable)

_RECORD = attrgetter("_record")
_SLOT_RECORD = attrgetter("_slot_record")


def index_by_first_use(keys: Sequence[K]) -> tuple[dict[K, int], IntArray]:
    """Each distinct key's index in order of first use, and the index of every entry.

    The per-bid lookups of a 100k-bid market at C speed (``dict.fromkeys`` and ``map``), not
    one Python call per bid.

    Example:
        >>> index_by_first_use(["b", "a", "b"])
        ({'b': 0, 'a': 1}, array([0, 1, 0]))
    """
    n = len(keys)
    # one key (e.g. one product): no lookup per entry; the ends tell most others apart cheaply
    if n and keys[-1] == keys[0] and keys.count(keys[0]) == n:
        return {keys[0]: 0}, np.zeros(n, dtype=np.int64)
    pos = dict.fromkeys(keys, 0)
    for i, key in enumerate(pos):
        pos[key] = i
    return pos, np.fromiter(map(pos.__getitem__, keys), dtype=np.int64, count=n)


def unique_inverse(keys: IntArray, bound: int) -> tuple[IntArray, IntArray]:
    """``np.unique(keys, return_inverse=True)`` of keys in ``[0, bound)``, without a sort when
    the keys come sorted (e.g. the canonical slot order) or their range is small (a presence mask).

    Example:
        >>> [a.tolist() for a in unique_inverse(np.array([5, 2, 5, 0]), 8)]
        [[0, 2, 5], [2, 1, 2, 0]]
    """
    n = keys.shape[0]
    if n and bool(np.all(keys[1:] >= keys[:-1])):
        new = np.empty(n, dtype=bool)
        new[0] = True
        np.not_equal(keys[1:], keys[:-1], out=new[1:])
        return keys[new], np.cumsum(new) - 1
    if bound <= 32 * max(n, 1):
        present = np.zeros(bound, dtype=bool)
        present[keys] = True
        rank = np.cumsum(present) - 1
        return np.flatnonzero(present), rank[keys]
    found, inverse = np.unique(keys, return_inverse=True)
    return found, inverse.astype(np.int64)


def positions(ids: ArrayLike, wanted: ArrayLike) -> IntArray:
    """The position of each of ``wanted`` in the distinct integer ``ids`` (-1: absent),
    vectorised: a table over the ids when they are small (bus ids), else a sorted search.

    Example:
        >>> positions([7, 3, 5], [5, 7, 4]).tolist()
        [2, 0, -1]
    """
    ids_a = np.asarray(ids, dtype=np.int64)
    wanted_a = np.asarray(wanted, dtype=np.int64)
    n = ids_a.shape[0]
    if not n or not wanted_a.shape[0]:
        return np.full(wanted_a.shape[0], -1, dtype=np.int64)
    low = int(min(ids_a.min(), wanted_a.min()))
    high = int(max(ids_a.max(), wanted_a.max()))
    if low >= 0 and high < 4 * n + 1_000_000:
        table = np.full(high + 1, -1, dtype=np.int64)
        table[ids_a] = np.arange(n, dtype=np.int64)
        found: IntArray = table[wanted_a]
        return found
    order = np.argsort(ids_a)
    at = np.minimum(np.searchsorted(ids_a[order], wanted_a), n - 1)
    return np.where(ids_a[order][at] == wanted_a, order[at], -1).astype(np.int64)


#: The grid instants are tried on (a minute, in microseconds): MTUs start and end on whole minutes.
_MINUTE_US = 60_000_000


def unique_instants(us: IntArray) -> tuple[IntArray, IntArray]:
    """``np.unique(us, return_inverse=True)`` of instants in microseconds, without a sort when
    they lie on whole minutes of a span that is short against their number (a day of 15-min
    MTUs: ~100 distinct starts among 10^4-10^5 slots; 0.8 -> 0.15 ms at 10k bids).

    Example:
        >>> [a.tolist() for a in unique_instants(np.array([120, 0, 120]) * 60_000_000)]
        [[0, 7200000000], [1, 0, 1]]
    """
    if us.shape[0]:
        low = int(us.min())
        offset = us - low
        if not np.any(offset % _MINUTE_US):
            minutes, inverse = unique_inverse(
                offset // _MINUTE_US, int(offset.max()) // _MINUTE_US + 1
            )
            return minutes * _MINUTE_US + low, inverse
    found, inverse = np.unique(us, return_inverse=True)
    return found.astype(np.int64), inverse.astype(np.int64).reshape(-1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _from_columns(**columns: Any) -> BidTable:
    """:func:`flexcoord.domain.column_bids.table_from_columns` (its arguments, by keyword)."""
    from flexcoord.domain.column_bids import table_from_columns  # noqa: PLC0415 - a cycle

    return table_from_columns(**columns)


@dataclass(frozen=True, slots=True, eq=False)
class BidTable:
    """The fields of a market's bids, per bid (``b``) and per slot (``s``: bid ``b`` in one MTU).

    Made from ``Bid`` objects by :func:`bid_table`, or from columns by :meth:`from_columns`
    (no ``Bid`` objects: ``bids`` is ``None``, and ``submitted_at`` and ``slots`` are built on
    access).

    Attributes:
        bids: The bids, in the caller's order (index ``b``); ``None`` for a table of columns.
        ids, fsp_ids, resource_ids, product_ids: Per bid.
        parent_ids, exclusive_sets: Per bid, ``None`` where not given.
        submitted_at: Per bid; ``submitted_s`` the same as POSIX seconds.
        up: Per bid, ``direction is UP``.
        availability, activation, min_acceptance, q_mvar_per_mw: Per bid, NaN where ``None``.
        divisible, block: Per bid.
        resources, resource: The distinct resource ids (first-use order) and each bid's index.
        fsps, fsp: Likewise for the FSP ids.
        products, product: Likewise for the product ids.
        first_slot, n_slots: Per bid, its first slot and its number of MTUs.
        slots: Per slot, the :class:`~flexcoord.domain.MtuQuantity` (for messages).
        slot_bid, slot_position: Per slot, its bid and its position in the bid's quantities.
        slot_quantity: Per slot, the offered quantity.
        starts, slot_start: The distinct interval starts (sorted) and each slot's index.
        ends, slot_end: The distinct interval ends (first-use order) and each slot's index.
        start_us, end_us: Microseconds since the Unix epoch of each of ``starts`` / ``ends``
            (exact integers: MTU grid checks compare them without rounding).
    """

    bids: Sequence[Bid] | None
    ids: tuple[str, ...]
    fsp_ids: tuple[str, ...]
    resource_ids: tuple[str, ...]
    product_ids: tuple[str, ...]
    parent_ids: tuple[str | None, ...]
    exclusive_sets: tuple[str | None, ...]
    submitted_at: Sequence[datetime]
    submitted_s: FloatArray
    up: BoolArray
    availability: FloatArray
    activation: FloatArray
    min_acceptance: FloatArray
    q_mvar_per_mw: FloatArray
    divisible: BoolArray
    block: BoolArray
    resources: tuple[str, ...]
    resource: IntArray
    fsps: tuple[str, ...]
    fsp: IntArray
    products: tuple[str, ...]
    product: IntArray
    first_slot: IntArray
    n_slots: IntArray
    slots: Sequence[MtuQuantity]
    slot_bid: IntArray
    slot_position: IntArray
    slot_quantity: FloatArray
    starts: tuple[datetime, ...]
    slot_start: IntArray
    ends: tuple[datetime, ...]
    slot_end: IntArray
    start_us: IntArray
    end_us: IntArray

    from_columns = staticmethod(_from_columns)

    @property
    def n_bid(self) -> int:
        """Number of bids."""
        return len(self.ids)

    @property
    def n_slot(self) -> int:
        """Number of slots."""
        return len(self.slots)


def bid_table(bids: Sequence[Bid]) -> BidTable:
    """Read every field of ``bids`` once into a :class:`BidTable`.

    The numbers come from each bid's packed record (:mod:`flexcoord.domain._bid_record`),
    joined in one ``bytes.join`` per kind and read as structured arrays; the ids by one
    C-level ``map`` per field. No Python call per bid.

    Example:
        >>> from datetime import datetime, UTC
        >>> t = datetime(2026, 6, 1, 17, tzinfo=UTC)
        >>> bid = Bid(id="b-1", fsp_id="fsp-1", resource_id="u-1", product_id="p-da",
        ...           direction="up", activation_price_eur_per_mwh=120.0,
        ...           quantities=[{"start": t, "end": t.replace(minute=15), "quantity": 1.0}],
        ...           submitted_at=datetime(2026, 5, 31, 10, tzinfo=UTC))
        >>> table = bid_table([bid])
        >>> table.slot_quantity.tolist(), table.starts == (t,)
        ([1.0], True)
    """

    per_bid = np.frombuffer(b"".join(map(_RECORD, bids)), dtype=BID_RECORD)
    per_slot = np.frombuffer(b"".join(map(_SLOT_RECORD, bids)), dtype=SLOT_RECORD)

    def column(name: str, given: str | None = None) -> tuple[Any, ...]:
        if given is not None and not per_bid[given].any():
            return (None,) * len(bids)  # an optional id no bid gives
        return tuple(map(attrgetter(name), bids))  # one C-level scan per field

    n_slots = per_bid["n_slots"].copy()
    layout = slot_layout(n_slots)
    return assemble(
        bids=bids,
        ids=column("id"),
        fsp_ids=column("fsp_id"),
        resource_ids=column("resource_id"),
        product_ids=column("product_id"),
        parent_ids=column("parent_bid_id", "has_parent"),
        exclusive_sets=column("exclusive_set", "has_exclusive_set"),
        submitted_us=per_bid["submitted_us"].copy(),
        up=per_bid["up"].copy(),
        availability=per_bid["availability"].copy(),
        activation=per_bid["activation"].copy(),
        min_acceptance=per_bid["min_acceptance"].copy(),
        q_mvar_per_mw=per_bid["q_mvar_per_mw"].copy(),
        divisible=per_bid["divisible"].copy(),
        block=per_bid["block"].copy(),
        n_slots=n_slots,
        layout=layout,
        slots=_SlotsOfBids(bids, layout[1], layout[2]),
        slot_start_us=per_slot["start_us"].copy(),
        slot_end_us=per_slot["end_us"].copy(),
        slot_quantity=per_slot["quantity"].copy(),
    )


def slot_layout(n_slots: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Per bid its first slot; per slot its bid and its position in the bid's quantities."""
    first_slot = np.cumsum(n_slots) - n_slots
    slot_bid = np.repeat(np.arange(n_slots.shape[0], dtype=np.int64), n_slots)
    position = np.arange(slot_bid.shape[0], dtype=np.int64) - np.repeat(first_slot, n_slots)
    return first_slot.astype(np.int64), slot_bid, position


def assemble(  # noqa: PLR0913 - one argument per column
    *,
    bids: Sequence[Bid] | None,
    ids: tuple[str, ...],
    fsp_ids: tuple[str, ...],
    resource_ids: tuple[str, ...],
    product_ids: tuple[str, ...],
    parent_ids: tuple[str | None, ...],
    exclusive_sets: tuple[str | None, ...],
    submitted_us: IntArray,
    up: BoolArray,
    availability: FloatArray,
    activation: FloatArray,
    min_acceptance: FloatArray,
    q_mvar_per_mw: FloatArray,
    divisible: BoolArray,
    block: BoolArray,
    n_slots: IntArray,
    layout: tuple[IntArray, IntArray, IntArray],
    slots: Sequence[MtuQuantity],
    slot_start_us: IntArray,
    slot_end_us: IntArray,
    slot_quantity: FloatArray,
) -> BidTable:
    """The :class:`BidTable` of checked columns (of ``Bid`` objects or of
    :meth:`BidTable.from_columns`): the ids coded by first use, the MTUs by distinct instant."""
    starts_us, slot_start = unique_instants(slot_start_us)
    ends_us, slot_end = unique_instants(slot_end_us)
    resources, resource = index_by_first_use(resource_ids)
    fsps, fsp = index_by_first_use(fsp_ids)
    products, product = index_by_first_use(product_ids)
    first_slot, slot_bid, slot_position = layout
    return BidTable(
        bids=bids,
        ids=ids,
        fsp_ids=fsp_ids,
        resource_ids=resource_ids,
        product_ids=product_ids,
        parent_ids=parent_ids,
        exclusive_sets=exclusive_sets,
        submitted_at=_Instants(submitted_us),
        submitted_s=submitted_us / 1e6,
        up=up,
        availability=availability,
        activation=activation,
        min_acceptance=min_acceptance,
        q_mvar_per_mw=q_mvar_per_mw,
        divisible=divisible,
        block=block,
        resources=tuple(resources),
        resource=resource,
        fsps=tuple(fsps),
        fsp=fsp,
        products=tuple(products),
        product=product,
        first_slot=first_slot,
        n_slots=n_slots,
        slots=slots,
        slot_bid=slot_bid,
        slot_position=slot_position,
        slot_quantity=slot_quantity,
        starts=tuple(map(instant, starts_us.tolist())),
        slot_start=slot_start,
        ends=tuple(map(instant, ends_us.tolist())),
        slot_end=slot_end,
        start_us=starts_us,
        end_us=ends_us,
    )


def instant(us: int) -> datetime:
    """The UTC datetime ``us`` microseconds after the Unix epoch."""
    return _EPOCH + timedelta(microseconds=us)


class _Instants(Sequence[datetime]):
    """UTC datetimes built on access from exact microseconds (the rules read a few, for the
    bids they report)."""

    __slots__ = ("_us",)

    def __init__(self, us: IntArray) -> None:
        self._us = us

    def __len__(self) -> int:
        return int(self._us.shape[0])

    @overload
    def __getitem__(self, index: int) -> datetime: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[datetime]: ...
    def __getitem__(self, index: int | slice) -> datetime | Sequence[datetime]:
        if isinstance(index, slice):
            return [instant(int(u)) for u in self._us[index]]
        return instant(int(self._us[index]))


class _SlotsOfBids(Sequence[MtuQuantity]):
    """The slots' :class:`~flexcoord.domain.MtuQuantity`: the bids' own, looked up on access."""

    __slots__ = ("_bid", "_bids", "_position")

    def __init__(self, bids: Sequence[Bid], slot_bid: IntArray, position: IntArray) -> None:
        self._bids, self._bid, self._position = bids, slot_bid, position

    def __len__(self) -> int:
        return int(self._bid.shape[0])

    @overload
    def __getitem__(self, index: int) -> MtuQuantity: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[MtuQuantity]: ...
    def __getitem__(self, index: int | slice) -> MtuQuantity | Sequence[MtuQuantity]:
        if isinstance(index, slice):
            return [self[s] for s in range(len(self))[index]]
        return self._bids[int(self._bid[index])].quantities[int(self._position[index])]
