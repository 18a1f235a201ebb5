"""Typed identities of the coordination layer: markets, bid lineages, MTUs, dispatch keys.

Schemes move bids between sub-markets, so the layer names three things again and again: a
sub-market (:class:`MarketId`: its kind, the DSO whose market it is, the timeframe round it belongs
to), where a forwarded bid comes from (:class:`BidLineage`: its root bid and the markets it was
forwarded to, in order) and one accepted volume of a dispatch (:class:`DispatchKey`: a root bid in
an :class:`Mtu`). They are values, never strings built and parsed back: the text forms
(``"intraday:dso:dso"``, ``"b17>intraday:tso"``, ISO start labels) exist only where a domain
object or a report needs a string, and are computed from the value.

Domain ids stay strings: a forwarded bid is a :class:`~flexcoord.domain.Bid` whose id is its
lineage's :attr:`BidLineage.bid_id`; the :class:`~flexcoord.coordination.ledger.ClearingLedger`
that forwarded it knows the lineage behind the id.

Example:
    >>> from flexcoord.domain import Timeframe
    >>> tso = MarketId.tso(Timeframe.INTRADAY)
    >>> str(tso), tso.label
    ('intraday:tso', 'tso')
    >>> BidLineage("b17").forwarded_to(MarketId.dso("dso")).forwarded_to(tso).bid_id
    'b17>dso:dso>intraday:tso'
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flexcoord.domain import Timeframe
from flexcoord.errors import InvalidInputError, Issue

__all__ = [
    "BidInMtu",
    "BidLineage",
    "Dispatch",
    "DispatchKey",
    "MarketId",
    "MarketKind",
    "Mtu",
    "by_bid",
    "summed",
]

_HOP = ">"  # between a bid's root and the markets it was forwarded to, in its domain id


class MarketKind(StrEnum):
    """Who a sub-market serves: every buyer at once, the TSO(s), or one DSO."""

    COMMON = "common"
    TSO = "tso"
    DSO = "dso"


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketId:
    """One sub-market of a scheme run.

    Attributes:
        kind: :class:`MarketKind`.
        operator_id: the DSO whose market it is (DSO markets only; a TSO or common market serves
            every TSO of the scenario).
        round: the timeframe round of a chain it belongs to (``None`` in a single
            :func:`~flexcoord.coordination.scheme.run_scheme`).

    Who buys in it is part of the market's plan, not of its identity.
    """

    kind: MarketKind
    operator_id: str | None = None
    round: Timeframe | None = None

    def __post_init__(self) -> None:
        if (self.kind is MarketKind.DSO) != (self.operator_id is not None):
            raise InvalidInputError(
                [
                    Issue(
                        kind="MarketId",
                        object_id=str(self.kind),
                        field="operator_id",
                        value=self.operator_id,
                        message="a DSO market names its DSO, and only a DSO market names one",
                    )
                ]
            )

    @classmethod
    def common(cls, round: Timeframe | None = None) -> MarketId:
        """The one joint market (of ``round``)."""
        return cls(kind=MarketKind.COMMON, round=round)

    @classmethod
    def tso(cls, round: Timeframe | None = None) -> MarketId:
        """The TSO's market (of ``round``)."""
        return cls(kind=MarketKind.TSO, round=round)

    @classmethod
    def dso(cls, operator_id: str, round: Timeframe | None = None) -> MarketId:
        """DSO ``operator_id``'s market (of ``round``)."""
        return cls(kind=MarketKind.DSO, operator_id=operator_id, round=round)

    @property
    def label(self) -> str:
        """The market's name within its round: ``"common"``, ``"tso"`` or ``"dso:<operator>"``."""
        if self.kind is MarketKind.DSO:
            return f"dso:{self.operator_id}"
        return str(self.kind)

    def __str__(self) -> str:
        """The market's name across rounds (``"intraday:dso:dso"``), as forwarded ids use it."""
        return self.label if self.round is None else f"{self.round}:{self.label}"


@dataclass(frozen=True, slots=True)
class BidLineage:
    """Where a (possibly forwarded) bid comes from: its root bid and the markets it was forwarded
    to, in order. A bid that was never forwarded is its own root with no hops."""

    root: str
    hops: tuple[MarketId, ...] = ()

    @property
    def bid_id(self) -> str:
        """The domain id of the bid this lineage names (``"b17>tso"``)."""
        return self.root + "".join(f"{_HOP}{hop}" for hop in self.hops)

    @property
    def forwarded(self) -> bool:
        """Whether the bid is a forwarded copy (not the FSP's own bid)."""
        return bool(self.hops)

    def forwarded_to(self, market: MarketId) -> BidLineage:
        """The lineage of this bid forwarded to ``market``."""
        return BidLineage(self.root, (*self.hops, market))


@dataclass(frozen=True, slots=True, order=True)
class Mtu:
    """One market time unit, named by its start (timezone-aware UTC)."""

    start: datetime

    @classmethod
    def of_label(cls, label: str) -> Mtu:
        """The MTU of an ISO start label (how a clearing problem names its MTUs)."""
        return cls(datetime.fromisoformat(label))

    @property
    def label(self) -> str:
        """The ISO start label (``"2026-06-02T10:00:00+00:00"``)."""
        return self.start.isoformat()

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True, slots=True, order=True)
class DispatchKey:
    """One entry of a dispatch: a root bid in one MTU."""

    root: str
    mtu: Mtu


@dataclass(frozen=True, slots=True, order=True)
class BidInMtu:
    """One accepted volume as a sub-market has it: a bid under the id the market was offered
    (forwarded, or an aggregated interface step) in one MTU."""

    bid_id: str
    mtu: Mtu


Dispatch = Mapping[DispatchKey, float]
"""Accepted MW per root bid and MTU."""


def summed(dispatches: Iterable[Dispatch]) -> dict[DispatchKey, float]:
    """The sum of several dispatches, key by key (in first-seen key order)."""
    out: dict[DispatchKey, float] = defaultdict(float)
    for dispatch in dispatches:
        for key, mw in dispatch.items():
            out[key] += mw
    return dict(out)


def by_bid(accepted: Mapping[BidInMtu, float]) -> dict[str, float]:
    """A market's accepted MW summed over MTUs per bid id (what the ledger records)."""
    out: dict[str, float] = defaultdict(float)
    for key, mw in accepted.items():
        out[key.bid_id] += mw
    return dict(out)
