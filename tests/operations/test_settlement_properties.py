"""Properties of settlement over random awards, prices, pricing rules and delivery outcomes."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from flexcoord.clearing.options import PricingRule
from flexcoord.domain.vocabulary import ProductKind
from flexcoord.operations import (
    DeliveryOutcome,
    InsufficientData,
    LineKind,
    Money,
    OutcomeStatus,
    PartyRole,
    PenaltyRule,
    Settlement,
    SettlementAward,
    settle,
)

prices = st.floats(min_value=-500.0, max_value=500.0, allow_nan=False, allow_infinity=False)
positive_prices = st.floats(min_value=0.0, max_value=500.0, allow_nan=False, allow_infinity=False)
quantities = st.floats(min_value=0.0, max_value=50.0, allow_nan=False, allow_infinity=False)


@st.composite
def awards(draw: st.DrawFn) -> SettlementAward:
    kind = draw(st.sampled_from([ProductKind.AVAILABILITY, ProductKind.ACTIVATION]))
    rule = draw(st.sampled_from(list(PricingRule)))
    bid = draw(st.integers(0, 5))
    bid_price = draw(positive_prices if kind is ProductKind.AVAILABILITY else prices)
    cleared = draw(st.none() | prices) if rule is PricingRule.PAY_AS_BID else draw(prices)
    return SettlementAward(
        auction_id=f"a{draw(st.integers(0, 2))}",
        bid_id=f"b{bid}",
        fsp_id=f"fsp-{bid % 3}",
        buyer_id=draw(st.sampled_from(["dso-1", "dso-2", "tso"])),
        mtu=f"t{draw(st.integers(0, 3)):02d}",
        duration_h=draw(st.sampled_from([0.25, 0.5, 1.0])),
        kind=kind,
        quantity_mw=draw(quantities),
        bid_price_eur_per_unit=bid_price,
        pricing_rule=rule,
        cleared_price_eur_per_unit=cleared,
        buyer_price_eur_per_unit=draw(st.none() | prices),
    )


def unique(items: list[SettlementAward]) -> list[SettlementAward]:
    return list({a.key: a for a in items}.values())


def activation_energy(items: list[SettlementAward]) -> dict[tuple[str, str], Decimal]:
    energy: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for a in items:
        if a.kind is ProductKind.ACTIVATION:
            energy[(a.bid_id, a.mtu)] += a.awarded()
    return energy


@st.composite
def markets(draw: st.DrawFn) -> tuple[list[SettlementAward], list[DeliveryOutcome]]:
    items = unique(draw(st.lists(awards(), max_size=25)))
    outcomes = []
    for (bid, mtu), energy in sorted(activation_energy(items).items()):
        status = draw(st.none() | st.sampled_from(list(OutcomeStatus)))
        if status is None:
            continue
        share = draw(st.floats(min_value=0.0, max_value=1.5))
        has_figure = status in (OutcomeStatus.DELIVERED, OutcomeStatus.PARTIALLY_DELIVERED)
        outcomes.append(
            DeliveryOutcome(
                bid_id=bid,
                mtu=mtu,
                ordered_mwh=float(energy),
                delivered_mwh=float(energy) * share if has_figure or draw(st.booleans()) else None,
                status=status,
            )
        )
    return items, outcomes


penalties = st.builds(
    PenaltyRule,
    factor=st.floats(min_value=0.0, max_value=3.0),
    floor_eur_per_mwh=st.floats(min_value=0.0, max_value=300.0),
    tolerance_fraction=st.floats(min_value=0.0, max_value=0.5),
    insufficient_data=st.sampled_from(list(InsufficientData)),
)


@given(markets(), penalties)
def test_money_balances_per_auction_to_the_cent(
    market: tuple[list[SettlementAward], list[DeliveryOutcome]], penalty: PenaltyRule
) -> None:
    s = settle(*market, penalty=penalty)
    cents: dict[str, dict[PartyRole, int]] = defaultdict(lambda: dict.fromkeys(PartyRole, 0))
    for line in s.lines:
        cents[line.auction_id][line.party_role] += line.amount.cents
    for balance in s.balance_by_auction():
        assert balance.fsp_received == balance.buyers_paid + balance.residue
        by_role = cents[balance.auction_id]
        assert balance.fsp_received.cents == by_role[PartyRole.FSP]
        assert balance.buyers_paid.cents == -by_role[PartyRole.BUYER]
        assert sum(by_role.values()) == 0
    assert {b.auction_id for b in s.balance_by_auction()} == set(cents)


@given(markets(), penalties)
def test_every_amount_is_its_printed_quantity_times_its_printed_price_rounded_once(
    market: tuple[list[SettlementAward], list[DeliveryOutcome]], penalty: PenaltyRule
) -> None:
    s = settle(*market, penalty=penalty)
    for line in s.lines:
        assert isinstance(line.amount, Money)
        assert type(line.amount.cents) is int
        if line.kind is LineKind.RESIDUE:
            continue
        assert isinstance(line.quantity, Decimal)
        assert isinstance(line.unit_price_eur, Decimal)
        assert line.quantity >= 0
        magnitude = Money.of(line.quantity * line.unit_price_eur)
        fsp_pays = line.party_role is PartyRole.FSP and line.kind is LineKind.PENALTY
        buyer_pays = line.party_role is PartyRole.BUYER and line.kind is not LineKind.PENALTY
        assert line.amount == (-magnitude if fsp_pays or buyer_pays else magnitude)


@given(markets())
def test_without_buyer_prices_there_is_no_residue(
    market: tuple[list[SettlementAward], list[DeliveryOutcome]],
) -> None:
    items = [replace(a, buyer_price_eur_per_unit=None) for a in market[0]]
    s = settle(items, market[1], penalty=PenaltyRule())
    assert all(b.residue == Money.zero() for b in s.balance_by_auction())
    assert not any(line.kind is LineKind.RESIDUE for line in s.lines)


def printed(s: Settlement) -> list[tuple[str, str]]:
    return [(st.to_csv(), st.to_json()) for st in s.statements()]


@given(markets(), penalties, st.randoms(use_true_random=False))
def test_statements_reproduce_byte_for_byte_whatever_the_input_order(
    market: tuple[list[SettlementAward], list[DeliveryOutcome]],
    penalty: PenaltyRule,
    rng: random.Random,
) -> None:
    items, outcomes = market
    first = printed(settle(items, outcomes, penalty=penalty))
    assert printed(settle(items, outcomes, penalty=penalty)) == first
    shuffled_items, shuffled_outcomes = list(items), list(outcomes)
    rng.shuffle(shuffled_items)
    rng.shuffle(shuffled_outcomes)
    assert printed(settle(shuffled_items, shuffled_outcomes, penalty=penalty)) == first
    for _, text in first:
        json.loads(text, parse_float=lambda t: (_ for _ in ()).throw(AssertionError(t)))


@given(markets(), penalties)
def test_penalties_are_never_negative_and_go_from_the_fsp_to_the_buyer(
    market: tuple[list[SettlementAward], list[DeliveryOutcome]], penalty: PenaltyRule
) -> None:
    s = settle(*market, penalty=penalty)
    for line in s.lines:
        if line.kind is LineKind.PENALTY:
            assert line.unit_price_eur is not None
            assert line.unit_price_eur >= 0
            sign = -1 if line.party_role is PartyRole.FSP else 1
            assert sign * line.amount.cents > 0


@settings(max_examples=200)
@given(
    award=awards(),
    penalty=penalties,
    share=st.floats(min_value=0.0, max_value=1.0),
    other=st.floats(min_value=0.0, max_value=1.0),
)
def test_under_delivery_never_pays_the_fsp_more_than_full_delivery(
    award: SettlementAward, penalty: PenaltyRule, share: float, other: float
) -> None:
    award = replace(award, kind=ProductKind.ACTIVATION)
    ordered = float(award.awarded())

    def fsp_net(delivered_mwh: float) -> Money:
        outcome = DeliveryOutcome(
            bid_id=award.bid_id,
            mtu=award.mtu,
            ordered_mwh=ordered,
            delivered_mwh=delivered_mwh,
            status=OutcomeStatus.PARTIALLY_DELIVERED,
        )
        s = settle([award], [outcome], penalty=penalty)
        return Money.total(ln.amount for ln in s.lines if ln.party_role is PartyRole.FSP)

    full = fsp_net(ordered)
    low, high = sorted((share, other))
    assert fsp_net(ordered * low) <= fsp_net(ordered * high) <= full
    assert fsp_net(ordered * 1.5) == full  # over-delivery is paid capped at ordered
