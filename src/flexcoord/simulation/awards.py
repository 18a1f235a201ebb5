"""From a scheme's markets to awards and settlement records: one rule for the study and the
service.

A market's awards are its accepted MW per root bid and MTU after the conflict rule
(:attr:`~flexcoord.coordination.markets.MarketRun.accepted_mw`), paid as bid: an availability
market's reservations at the bid's €/MW/h, an activation market's at its €/MWh (the scheme runs'
pricing rule). A market with several buyers splits each award over them by their procurement
(:func:`buyer_shares`). :func:`~flexcoord.simulation.day_run.run_day` follows a day's rounds with
these functions; the service's clearing worker follows one session's scheme run with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from flexcoord.clearing.options import PricingRule
from flexcoord.clearing.result import Award
from flexcoord.coordination.identities import DispatchKey
from flexcoord.coordination.markets import MarketRun
from flexcoord.domain import Bid, ProductKind
from flexcoord.operations import SettlementAward

__all__ = [
    "AcceptedAward",
    "accepted_awards",
    "activation_awards",
    "award_of",
    "buyer_shares",
    "settlement_records",
]

_MW_EPS = 1e-9


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceptedAward:
    """One market's award of one root bid in one MTU, with its bid and pay-as-bid price."""

    market: MarketRun
    key: DispatchKey
    mw: float
    bid: Bid
    kind: ProductKind
    price: float | None


def accepted_awards(
    markets: Iterable[MarketRun], kind: ProductKind, bids: Mapping[str, Bid]
) -> Iterator[AcceptedAward]:
    """Every market's awards (MW > 0) in market, root bid and MTU order, priced as bid for
    ``kind`` (``bids``: every root bid by id)."""
    for market in markets:
        for key, mw in sorted(market.accepted_mw.items(), key=lambda kv: (kv[0].root, kv[0].mtu)):
            if mw <= _MW_EPS:
                continue
            bid = bids[key.root]
            price = (
                bid.availability_price_eur_per_mw_h
                if kind is ProductKind.AVAILABILITY
                else bid.activation_price_eur_per_mwh
            )
            yield AcceptedAward(market=market, key=key, mw=mw, bid=bid, kind=kind, price=price)


def activation_awards(
    markets: Iterable[MarketRun],
    final_mw: Mapping[DispatchKey, float],
    bids: Mapping[str, Bid],
) -> tuple[list[Award], dict[str, str]]:
    """The final activation dispatch (``final_mw``, after the conflict rule) as awards per root
    bid and MTU priced as bid, and the buyer each order names: the first buyer of the first of
    ``markets`` that accepted the bid (several buyers: settlement splits the money over all)."""
    buyer: dict[str, str] = {}
    for market in markets:
        for key, mw in market.accepted_mw.items():
            if mw > _MW_EPS and market.buyer_ids:
                buyer.setdefault(key.root, market.buyer_ids[0])
    awards = [
        award_of(key, bids[key.root], mw, bids[key.root].activation_price_eur_per_mwh)
        for key, mw in sorted(final_mw.items(), key=lambda kv: (kv[0].root, kv[0].mtu))
        if mw > _MW_EPS
    ]
    return awards, buyer


def award_of(key: DispatchKey, bid: Bid, mw: float, price: float | None) -> Award:
    """The award of ``mw`` of root bid ``key`` in its MTU, paid as bid (``price`` per MW per
    hour of the bid's MTU: €/MWh for activation, €/MW/h for availability)."""
    step_h = bid.quantities[0].interval.duration.total_seconds() / 3600
    unit_price = float(price or 0.0)
    return Award(
        bid_id=key.root,
        mtu=key.mtu.label,
        quantity_mw=mw,
        price_eur_per_mwh=unit_price,
        payment_eur=mw * step_h * unit_price,
    )


def buyer_shares(buyers: Sequence[str], procurement: Mapping[str, float]) -> dict[str, float]:
    """How a market's awards are split over its buyers: by their procurement (equal shares
    when ``procurement`` names none of them).

    Example:
        >>> buyer_shares(["tso", "dso"], {"tso": 30.0, "dso": 10.0})
        {'tso': 0.75, 'dso': 0.25}
        >>> buyer_shares(["tso", "dso"], {})
        {'tso': 0.5, 'dso': 0.5}
    """
    paid = {b: max(float(procurement.get(b, 0.0)), 0.0) for b in buyers}
    total = sum(paid.values())
    if total <= 0:
        return {b: 1.0 / len(buyers) for b in buyers}
    return {b: v / total for b, v in paid.items() if v > 0}


def settlement_records(
    accepted: Iterable[AcceptedAward], procurement: Mapping[str, float]
) -> list[SettlementAward]:
    """The awards as settlement records, each split over its market's buyers by
    ``procurement`` (€ per buyer); awards of markets without buyers or price are not settled."""
    out: list[SettlementAward] = []
    for a in accepted:
        if not a.market.buyer_ids or a.price is None:
            continue
        step_h = a.bid.quantities[0].interval.duration.total_seconds() / 3600
        out += [
            SettlementAward(
                auction_id=str(a.market.id),
                bid_id=a.key.root,
                fsp_id=a.bid.fsp_id,
                buyer_id=buyer,
                mtu=a.key.mtu.label,
                duration_h=step_h,
                kind=a.kind,
                quantity_mw=a.mw * share,
                bid_price_eur_per_unit=float(a.price),
                pricing_rule=PricingRule.PAY_AS_BID,
            )
            for buyer, share in buyer_shares(a.market.buyer_ids, procurement).items()
        ]
    return out
