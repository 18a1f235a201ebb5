"""What a round of a timeframe chain is, and how bids and needs move into it.

A :class:`TimeframeChain` is a scenario's grid, register and bids plus its ordered
:class:`SubMarketRound` values; :func:`retarget_bid`, :func:`retarget_need` and
:func:`obligation_bid` are the rules by which an unused bid, a carried-over need and an
availability award enter a later round (:mod:`flexcoord.coordination.timeframes` runs the chain).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from flexcoord.coordination.identities import Mtu
from flexcoord.coordination.inputs import CoordinationInput
from flexcoord.domain import Bid, MtuQuantity, Need, Product, Timeframe
from flexcoord.errors import InvalidInputError, Issue

if TYPE_CHECKING:
    from flexcoord.grid.forecast import OperatingForecast

__all__ = [
    "RoundKind",
    "SubMarketRound",
    "TimeframeChain",
    "obligation_bid",
    "obligation_id",
    "retarget_bid",
    "retarget_need",
]

_TOL_MW = 1e-9


class RoundKind(StrEnum):
    """What a round buys: capacity (availability) or energy (activation)."""

    AVAILABILITY = "availability"
    ACTIVATION = "activation"

    @classmethod
    def of(cls, product: Product) -> RoundKind:
        """Availability for availability and availability-and-activation products."""
        return cls.AVAILABILITY if product.kind.has_availability else cls.ACTIVATION


def obligation_id(root: str) -> str:
    """The root of the obligatory activation bid of an availability award (``"b17:activation"``)."""
    return f"{root}:activation"


@dataclass(frozen=True, slots=True, kw_only=True)
class SubMarketRound:
    """One sub-market of the chain: a timeframe's product, gate closure and needs.

    Attributes:
        timeframe: the round's timeframe (also the round of its markets' ids, ``"intraday:tso"``).
        product_id: the product traded (its kind must match ``kind``).
        kind: :class:`RoundKind`.
        gate_closure_at: (virtual) gate closure: bids submitted later cannot enter the round.
        needs: the buyers' needs of this round, all for ``product_id``.
    """

    timeframe: Timeframe
    product_id: str
    kind: RoundKind
    gate_closure_at: datetime
    needs: tuple[Need, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeframeChain:
    """A scenario's grid, register and bids plus its ordered rounds.

    ``base`` carries the grid, register (with every round's product), intervals, forecast, limit
    overrides and **all** bids (each round's new bids are those for its product); its ``needs``
    and ``gate_closure_at`` are not used (each round has its own). ``intraday_forecast`` is the
    DSOs' latest forecast of the base case (issued near real time, after the earlier rounds'
    gate closures): the near-real-time round of a traffic-light scheme checks the TSO's
    activations at it (:mod:`flexcoord.coordination.activation_check`); ``None``: at the base
    forecast.
    """

    base: CoordinationInput
    rounds: tuple[SubMarketRound, ...]
    intraday_forecast: OperatingForecast | None = None

    def __post_init__(self) -> None:
        issues = [
            Issue(kind="TimeframeChain", object_id=o, field=f, value=v, message=m)
            for rule in (_round_order_issues, _round_product_issues, _bid_product_issues)
            for o, f, v, m in rule(self)
        ]
        if issues:
            raise InvalidInputError(issues)

    def new_bids(self, sub_market: SubMarketRound) -> tuple[Bid, ...]:
        """The bids submitted for the round's product."""
        return tuple(b for b in self.base.bids if b.product_id == sub_market.product_id)


_ChainIssue = tuple[str, str, object, str]  # object id, field, value, message


def _round_order_issues(chain: TimeframeChain) -> list[_ChainIssue]:
    """At least one round; no timeframe or product twice; gate closures strictly increasing."""
    out: list[_ChainIssue] = []
    name = chain.base.name
    if not chain.rounds:
        out.append((name, "rounds", (), "must hold at least one round"))
    timeframes = [r.timeframe for r in chain.rounds]
    if len(set(timeframes)) != len(timeframes):
        out.append((name, "rounds", [str(t) for t in timeframes], "name a timeframe twice"))
    products = [r.product_id for r in chain.rounds]
    if len(set(products)) != len(products):
        out.append((name, "rounds", products, "name a product twice"))
    for before, after in zip(chain.rounds, chain.rounds[1:], strict=False):
        if after.gate_closure_at <= before.gate_closure_at:
            out.append(
                (
                    str(after.timeframe),
                    "gate_closure_at",
                    after.gate_closure_at.isoformat(),
                    f"must be after the gate closure of {before.timeframe} "
                    f"({before.gate_closure_at.isoformat()})",
                )
            )
    return out


def _round_product_issues(chain: TimeframeChain) -> list[_ChainIssue]:
    """Each round's product is in the register and of the round's kind; its needs are for it,
    and no need id is used twice in the chain."""
    out: list[_ChainIssue] = []
    need_ids: set[str] = set()
    register = chain.base.register
    for r in chain.rounds:
        if not register.has("products", r.product_id):
            out.append((str(r.timeframe), "product_id", r.product_id, "is not in the register"))
            continue
        kind = RoundKind.of(register.product(r.product_id))
        if kind is not r.kind:
            out.append(
                (str(r.timeframe), "kind", str(r.kind), f"product {r.product_id!r} is {kind}")
            )
        for n in r.needs:
            if n.product_id != r.product_id:
                out.append(
                    (n.id, "product_id", n.product_id, f"is not the product of {r.timeframe}")
                )
            if n.id in need_ids:
                out.append((n.id, "id", n.id, "is used twice in the chain"))
            need_ids.add(n.id)
    return out


def _bid_product_issues(chain: TimeframeChain) -> list[_ChainIssue]:
    """Every bid is for the product of some round."""
    known = {r.product_id for r in chain.rounds}
    return [
        (b.id, "product_id", b.product_id, "is the product of no round")
        for b in chain.base.bids
        if b.product_id not in known
    ]


def retarget_bid(bid: Bid, product: Product, gate_closure_at: datetime) -> Bid | None:
    """``bid`` for ``product``, or ``None`` when it cannot enter (late, or no activation price
    for an activation product)."""
    product_gate = bid.quantities[0].interval.start - product.gate_closure_before_delivery
    if bid.submitted_at > min(gate_closure_at, product_gate):
        return None
    availability = bid.availability_price_eur_per_mw_h
    if product.kind.has_activation and bid.activation_price_eur_per_mwh is None:
        return None
    if product.kind.has_availability and availability is None:
        availability = 0.0
    return dataclasses.replace(
        bid, product_id=product.id, availability_price_eur_per_mw_h=availability
    )


def retarget_need(need: Need, product: Product) -> Need:
    """A need carried over from a skipped round, for ``product`` (caps fitted to its kind)."""
    kind = product.kind
    share = need.expected_activation_share
    return dataclasses.replace(
        need,
        product_id=product.id,
        activation_price_cap_eur_per_mwh=(
            need.activation_price_cap_eur_per_mwh if kind.has_activation else None
        ),
        availability_price_cap_eur_per_mw_h=(
            need.availability_price_cap_eur_per_mw_h if kind.has_availability else None
        ),
        expected_activation_share=(
            share if share is not None or not kind.has_availability else 0.0
        ),
    )


def obligation_bid(bid: Bid, awarded_mw: Mapping[Mtu, float], product: Product) -> Bid:
    """The obligatory activation bid of an availability award (awarded MW per MTU)."""
    quantities = tuple(
        MtuQuantity(interval=mq.interval, quantity=awarded_mw[mtu])
        for mq in bid.quantities
        if awarded_mw.get(mtu := Mtu(mq.interval.start), 0.0) > _TOL_MW
    )
    price = bid.activation_price_eur_per_mwh
    return dataclasses.replace(
        bid,
        id=obligation_id(bid.id),
        product_id=product.id,
        quantities=quantities,
        activation_price_eur_per_mwh=(
            price if price is not None else bid.availability_price_eur_per_mw_h
        ),
        min_acceptance=None,
        exclusive_set=None,
        parent_bid_id=None,
    )
