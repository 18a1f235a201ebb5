"""The ESO's MW Dispatch (NGED / ESO, seed §7.21, L2215–L2217): what it is offered of a DSO's
bids, and what it pays.

MW Dispatch manages transmission constraints by instructing distribution-connected DERs to
reduce output; they "receive payments for the electricity they would have generated" (L2215).
So the ESO's market of a scheme with primacy rules is offered, of each DSO's bids, only the
**turn-down** ones: bids the DSO's market left unused, in direction DOWN, on resources whose
units all generate (:data:`~flexcoord.domain.vocabulary.GENERATING_TECHNOLOGIES`) — generation
reduced, never raised, and no load asked to consume more. They pass the DSO's view as in any
multi-level scheme (the traffic light with ``dso_grid_in_tso_market=traffic_light``), but are
not held back on units the DSO already activated: such a conflict is what the primacy rules
decide afterwards (:mod:`flexcoord.coordination.primacy`).

:func:`mw_dispatch_settlement` prices what was dispatched after the rules: lost generation MWh
(accepted turn-down MW × MTU hours) × the bid's activation price, per instruction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flexcoord.coordination.identities import DispatchKey, MarketId
from flexcoord.coordination.markets import MarketsState, SchemeContext
from flexcoord.domain import Bid, Direction
from flexcoord.domain.vocabulary import GENERATING_TECHNOLOGIES

__all__ = [
    "MwDispatchPayment",
    "MwDispatchSettlement",
    "mw_dispatch_settlement",
    "turn_down_bids",
    "turns_generation_down",
]


def turns_generation_down(ctx: SchemeContext, bid: Bid) -> bool:
    """Whether ``bid`` reduces a DER's output: direction DOWN on a resource whose units all
    generate."""
    units = ctx.scenario.register.units_of(bid.resource_id)
    return (
        bid.direction == Direction.DOWN
        and bool(units)
        and all(u.technology in GENERATING_TECHNOLOGIES for u in units)
    )


def turn_down_bids(ctx: SchemeContext, _: MarketsState, bids: Sequence[Bid]) -> list[Bid]:
    """The bids MW Dispatch may forward to the ESO (a :data:`~.markets.BidSelection` for
    :func:`~.markets.forward_to_tso`): those that turn generation down."""
    return [b for b in bids if turns_generation_down(ctx, b)]


@dataclass(frozen=True, slots=True, kw_only=True)
class MwDispatchPayment:
    """What the ESO pays one DER for one MTU of MW Dispatch."""

    key: DispatchKey
    resource_id: str
    lost_generation_mwh: float
    price_eur_per_mwh: float
    payment_eur: float


@dataclass(frozen=True, slots=True, kw_only=True)
class MwDispatchSettlement:
    """MW Dispatch's settlement of a run: one payment per dispatched (bid, MTU), and the sums."""

    payments: tuple[MwDispatchPayment, ...]

    @property
    def lost_generation_mwh(self) -> float:
        """Σ energy the DERs were instructed not to generate."""
        return sum(p.lost_generation_mwh for p in self.payments)

    @property
    def payment_eur(self) -> float:
        """Σ what the ESO pays for it."""
        return sum(p.payment_eur for p in self.payments)


def mw_dispatch_settlement(
    ctx: SchemeContext, state: MarketsState, final_mw: Mapping[DispatchKey, float]
) -> MwDispatchSettlement:
    """The payments for the ESO's turn-down instructions on DERs that stand in the final dispatch
    ``final_mw`` (after the primacy rules): lost generation MWh × the bid's activation price.

    A root bid counts when the ESO's market was offered it as a forwarded copy (its lineage has a
    hop): transmission bids are the ESO's other actions, not MW Dispatch.
    """
    forwarded = {
        run.root_of(bid_id)
        for run in state.markets
        if run.id == MarketId.tso(ctx.round)
        for bid_id in run.lineage
    }
    payments: list[MwDispatchPayment] = []
    for key, mw in sorted(final_mw.items()):
        if key.root not in forwarded or mw <= 0.0:
            continue
        bid = ctx.bids_by_root[key.root]
        mwh = mw * ctx.joint.mtu_duration_h[key.mtu]
        price = bid.activation_price_eur_per_mwh or 0.0
        payments.append(
            MwDispatchPayment(
                resource_id=bid.resource_id,
                key=key,
                lost_generation_mwh=mwh,
                price_eur_per_mwh=price,
                payment_eur=mwh * price,
            )
        )
    return MwDispatchSettlement(payments=tuple(payments))
