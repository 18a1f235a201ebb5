"""The packed record a :class:`~flexcoord.domain.Bid` carries: its numbers as bytes, for columns.

A bid is frozen, so what the clearing reads of it - prices, flags, the submission instant, and
per MTU its start, end and quantity - is packed once, when the bid is made (~2 µs next to the
~35 µs of its checks), into two ``bytes``: one fixed-size record per bid and one record per
slot (the bid in one MTU). :func:`flexcoord.domain.bid_table.bid_table` joins the records of a
market's bids (one C-level ``bytes.join``) and reads them as numpy structured arrays, instead of
one attribute scan per field and per slot field over 10^5 scattered objects (100k bids:
157 -> ~50 ms).

The slots live on a base class, not as dataclass fields: ``dataclasses.fields(Bid)``,
``asdict``, equality, hashing and ``repr`` see only the bid's own fields.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from flexcoord.domain.vocabulary import Direction

if TYPE_CHECKING:
    from flexcoord.domain.bids import Bid

__all__ = ["BID_RECORD", "SLOT_RECORD", "Packed", "pack"]

#: One bid's record: instants in exact microseconds since the Unix epoch, a price or ratio not
#: given as NaN, whether a parent and an exclusive set are given (a market without links skips
#: reading those ids); little-endian, no padding (``struct``'s ``<`` layout).
BID_RECORD = np.dtype(
    [
        ("submitted_us", "<i8"),
        ("availability", "<f8"),
        ("activation", "<f8"),
        ("min_acceptance", "<f8"),
        ("q_mvar_per_mw", "<f8"),
        ("n_slots", "<i8"),
        ("up", "?"),
        ("divisible", "?"),
        ("block", "?"),
        ("has_parent", "?"),
        ("has_exclusive_set", "?"),
    ]
)
#: One slot's record: the MTU's start and end (microseconds since the epoch) and the quantity.
SLOT_RECORD = np.dtype([("start_us", "<i8"), ("end_us", "<i8"), ("quantity", "<f8")])

_BID = struct.Struct("<qddddq?????")
_SLOT = struct.Struct("<qqd")
assert _BID.size == BID_RECORD.itemsize and _SLOT.size == SLOT_RECORD.itemsize

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NAN = float("nan")


class Packed:
    """Base of :class:`~flexcoord.domain.Bid`: the slots of its packed record."""

    __slots__ = ("_record", "_slot_record")


def _number(value: float | None) -> float:
    return _NAN if value is None else value


def pack(bid: Bid) -> None:
    """Set ``bid``'s two records from its (checked, normalised) fields."""
    slot = _SLOT.pack
    object.__setattr__(
        bid,
        "_slot_record",
        b"".join(
            [
                slot(
                    (q.interval.start - _EPOCH) // _MICROSECOND,
                    (q.interval.end - _EPOCH) // _MICROSECOND,
                    q.quantity,
                )
                for q in bid.quantities
            ]
        ),
    )
    object.__setattr__(
        bid,
        "_record",
        _BID.pack(
            (bid.submitted_at - _EPOCH) // _MICROSECOND,
            _number(bid.availability_price_eur_per_mw_h),
            _number(bid.activation_price_eur_per_mwh),
            _number(bid.min_acceptance),
            _number(bid.q_mvar_per_mw),
            len(bid.quantities),
            bid.direction is Direction.UP,
            bool(bid.divisible),
            bool(bid.block),
            bid.parent_bid_id is not None,
            bid.exclusive_set is not None,
        ),
    )
