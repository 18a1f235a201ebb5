"""Settlement with hand-computed figures: each pricing rule, residues, penalties, bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flexcoord import operations
from flexcoord.clearing.options import PricingRule
from flexcoord.errors import InvalidInputError
from flexcoord.operations import (
    AvailabilityBreach,
    DeliveryOutcome,
    InsufficientData,
    LineKind,
    OutcomeStatus,
    PartyRole,
    PenaltyRule,
    Settlement,
    SettlementAward,
    settle,
)

NO_PENALTY = PenaltyRule(factor=0.0)


def award(**changes: Any) -> SettlementAward:
    fields: dict[str, Any] = {
        "auction_id": "a1",
        "bid_id": "b1",
        "fsp_id": "fsp-1",
        "buyer_id": "dso-1",
        "mtu": "t00",
        "duration_h": 1.0,
        "kind": "availability",
        "quantity_mw": 1.0,
        "bid_price_eur_per_unit": 10.0,
        "pricing_rule": "pay-as-bid",
    }
    return SettlementAward(**(fields | changes))


def delivered(
    bid_id: str, mtu: str, ordered: float, done: float | None, status: str = "delivered"
) -> DeliveryOutcome:
    return DeliveryOutcome(
        bid_id=bid_id,
        mtu=mtu,
        ordered_mwh=ordered,
        delivered_mwh=done,
        status=OutcomeStatus(status),
    )


def amounts(s: Settlement) -> dict[tuple[str, str, str], str]:
    return {(ln.party_id, ln.bid_id, str(ln.kind)): str(ln.amount) for ln in s.lines}


def only_balance(s: Settlement) -> tuple[str, str, str]:
    (b,) = s.balance_by_auction()
    assert b.fsp_received == b.buyers_paid + b.residue
    return str(b.fsp_received), str(b.buyers_paid), str(b.residue)


def test_pay_as_bid_availability_pays_mw_times_hours_times_the_bid_price() -> None:
    # 3 MW × 0.25 h × 12.34 €/MW/h = 9.255 € → 9.26 (half to even); the cleared price is ignored
    s = settle(
        [
            award(
                quantity_mw=3.0,
                duration_h=0.25,
                bid_price_eur_per_unit=12.34,
                cleared_price_eur_per_unit=20.0,
            )
        ],
        penalty=NO_PENALTY,
    )
    assert amounts(s) == {
        ("fsp-1", "b1", "availability_payment"): "9.26",
        ("dso-1", "b1", "availability_payment"): "-9.26",
    }
    assert only_balance(s) == ("9.26", "9.26", "0.00")
    assert not any(ln.kind is LineKind.RESIDUE for ln in s.lines)


def test_availability_is_forfeited_where_the_obligation_to_bid_was_not_met() -> None:
    """A breach (the verification's ``not_offered``) forfeits that MTU's availability payment:
    no line for FSP or buyer, the award listed as forfeited; the other MTU is paid."""
    kept, lost = award(mtu="t00"), award(mtu="t01")
    s = settle(
        [kept, lost],
        penalty=NO_PENALTY,
        breaches=[AvailabilityBreach(bid_id="b1", mtu="t01")],
    )
    assert {(ln.party_id, ln.mtu, str(ln.amount)) for ln in s.lines} == {
        ("fsp-1", "t00", "10.00"),
        ("dso-1", "t00", "-10.00"),
    }
    assert s.forfeited == (lost,)
    assert only_balance(s) == ("10.00", "10.00", "0.00")
    with pytest.raises(InvalidInputError) as bad:
        settle([kept], penalty=NO_PENALTY, breaches=[AvailabilityBreach(bid_id="b9", mtu="t00")])
    assert bad.value.issues[0].field == "bid_id" and "b9" in str(bad.value)


def test_pay_as_cleared_activation_pays_the_cleared_price_for_the_delivered_energy() -> None:
    # 2 MW × 0.5 h = 1 MWh at the cleared 95.5 €/MWh (bid 80): 95.50 €
    a = award(
        kind="activation",
        quantity_mw=2.0,
        duration_h=0.5,
        bid_price_eur_per_unit=80.0,
        cleared_price_eur_per_unit=95.5,
        pricing_rule="pay-as-cleared",
    )
    s = settle([a], [delivered("b1", "t00", 1.0, 1.0)], penalty=NO_PENALTY)
    assert amounts(s) == {
        ("fsp-1", "b1", "activation_payment"): "95.50",
        ("dso-1", "b1", "activation_payment"): "-95.50",
    }
    fsp_line = next(ln for ln in s.lines if ln.party_role is PartyRole.FSP)
    assert (str(fsp_line.quantity), str(fsp_line.unit_price_eur)) == ("1.000000", "95.500000")


def test_locational_pays_each_bid_the_price_of_its_own_bus() -> None:
    awards = [
        award(
            bid_id="b1",
            kind="activation",
            bid_price_eur_per_unit=90.0,
            cleared_price_eur_per_unit=101.25,
            pricing_rule="locational",
        ),
        award(
            bid_id="b2",
            fsp_id="fsp-2",
            kind="activation",
            bid_price_eur_per_unit=90.0,
            cleared_price_eur_per_unit=130.0,
            pricing_rule="locational",
        ),
    ]
    outcomes = [delivered("b1", "t00", 1.0, 1.0), delivered("b2", "t00", 1.0, 1.2)]
    s = settle(awards, outcomes, penalty=NO_PENALTY)
    assert amounts(s)[("fsp-1", "b1", "activation_payment")] == "101.25"
    # over-delivery is paid capped at the ordered 1 MWh
    assert amounts(s)[("fsp-2", "b2", "activation_payment")] == "130.00"
    assert only_balance(s) == ("231.25", "231.25", "0.00")


def test_buyers_charged_the_cleared_price_while_fsps_are_paid_as_bid_leave_a_residue() -> None:
    # common market: two FSPs paid as bid 50 €/MWh for 1 MWh each; the two buyers are charged the
    # cleared 70 €/MWh: buyers pay 140, FSPs receive 100, the operator keeps 40 (residue -40)
    awards = [
        award(
            bid_id="b1",
            buyer_id="dso-1",
            bid_price_eur_per_unit=50.0,
            buyer_price_eur_per_unit=70.0,
        ),
        award(
            bid_id="b2",
            fsp_id="fsp-2",
            buyer_id="tso",
            bid_price_eur_per_unit=50.0,
            buyer_price_eur_per_unit=70.0,
        ),
    ]
    s = settle(awards, penalty=NO_PENALTY)
    assert only_balance(s) == ("100.00", "140.00", "-40.00")
    (residue,) = [ln for ln in s.lines if ln.kind is LineKind.RESIDUE]
    assert (residue.party_role, residue.party_id, str(residue.amount)) == (
        PartyRole.MARKET_OPERATOR,
        "market-operator",
        "40.00",
    )
    assert sum(ln.amount.cents for ln in s.lines) == 0


def test_several_buyers_sharing_a_pay_as_cleared_award_at_different_prices() -> None:
    # b1 serves the DSO (its need cleared at 60) and the TSO (cleared at 80), 1 MW each; the bid is
    # paid the highest, 80, on both shares: FSP 160, buyers 60 + 80 = 140, operator funds 20
    awards = [
        award(
            buyer_id="dso-1",
            cleared_price_eur_per_unit=80.0,
            buyer_price_eur_per_unit=60.0,
            pricing_rule="pay-as-cleared",
        ),
        award(buyer_id="tso", cleared_price_eur_per_unit=80.0, pricing_rule="pay-as-cleared"),
    ]
    s = settle(awards, penalty=NO_PENALTY)
    assert only_balance(s) == ("160.00", "140.00", "20.00")
    statements = {(st.party_role, st.party_id): st for st in s.statements()}
    assert str(statements[(PartyRole.BUYER, "dso-1")].total) == "-60.00"
    assert str(statements[(PartyRole.BUYER, "tso")].total) == "-80.00"
    assert str(statements[(PartyRole.MARKET_OPERATOR, "market-operator")].total) == "-20.00"


def test_under_delivery_pays_the_delivered_energy_and_penalises_beyond_the_tolerance() -> None:
    # 4 MW × 0.25 h = 1 MWh ordered, 0.7 delivered: paid 0.7 × 80 = 56.00;
    # penalised 1 − 0.7 − 0.1 (tolerance) = 0.2 MWh × max(80, floor 100) × 1.5 = 0.2 × 150 = 30.00
    a = award(kind="activation", quantity_mw=4.0, duration_h=0.25, bid_price_eur_per_unit=80.0)
    rule = PenaltyRule(factor=1.5, floor_eur_per_mwh=100.0, tolerance_fraction=0.1)
    s = settle([a], [delivered("b1", "t00", 1.0, 0.7, "partially_delivered")], penalty=rule)
    assert amounts(s) == {
        ("fsp-1", "b1", "activation_payment"): "56.00",
        ("fsp-1", "b1", "penalty"): "-30.00",
        ("dso-1", "b1", "activation_payment"): "-56.00",
        ("dso-1", "b1", "penalty"): "30.00",
    }
    assert only_balance(s) == ("26.00", "26.00", "0.00")


def test_a_failed_delivery_is_paid_nothing_whatever_it_reports_and_penalised_in_full() -> None:
    a = award(kind="activation", bid_price_eur_per_unit=80.0)
    s = settle([a], [delivered("b1", "t00", 1.0, 0.9, "failed")], penalty=PenaltyRule())
    assert amounts(s) == {
        ("fsp-1", "b1", "activation_payment"): "0.00",
        ("fsp-1", "b1", "penalty"): "-80.00",
        ("dso-1", "b1", "activation_payment"): "0.00",
        ("dso-1", "b1", "penalty"): "80.00",
    }


def test_a_negative_activation_price_applies_to_the_awarded_energy() -> None:
    # bid −20 €/MWh (the FSP pays to be activated), half delivered: it still pays for 1 MWh
    a = award(kind="activation", bid_price_eur_per_unit=-20.0)
    s = settle(
        [a], [delivered("b1", "t00", 1.0, 0.5, "partially_delivered")], penalty=PenaltyRule()
    )
    assert amounts(s) == {
        ("fsp-1", "b1", "activation_payment"): "-20.00",
        ("dso-1", "b1", "activation_payment"): "20.00",
    }


def test_insufficient_data_is_withheld_by_default_or_settled_as_failed_when_chosen() -> None:
    a = award(kind="activation", bid_price_eur_per_unit=80.0)
    avail = award(bid_id="b2", bid_price_eur_per_unit=5.0)
    unknown = [delivered("b1", "t00", 1.0, None, "insufficient_data")]
    held = settle([a, avail], unknown, penalty=PenaltyRule())
    assert {(ln.bid_id, str(ln.kind)) for ln in held.lines} == {("b2", "availability_payment")}
    assert [(p.bid_id, p.mtu, str(p.awarded_mwh), p.reason) for p in held.pending] == [
        ("b1", "t00", "1.000000", "insufficient data")
    ]
    no_outcome = settle([a], [], penalty=PenaltyRule())
    assert no_outcome.lines == ()
    assert no_outcome.pending[0].reason == "no delivery outcome"
    failed = settle([a], unknown, penalty=PenaltyRule(insufficient_data=InsufficientData.FAILED))
    assert amounts(failed)[("fsp-1", "b1", "penalty")] == "-80.00"
    assert failed.pending == ()


def test_a_bid_split_across_buyers_shares_its_delivery_pro_rata() -> None:
    # 3 MW for the DSO + 1 MW for the TSO, 1 h: 4 MWh ordered, 3 delivered (75 %)
    awards = [
        award(kind="activation", quantity_mw=3.0, bid_price_eur_per_unit=100.0),
        award(kind="activation", buyer_id="tso", quantity_mw=1.0, bid_price_eur_per_unit=100.0),
    ]
    s = settle(
        awards, [delivered("b1", "t00", 4.0, 3.0, "partially_delivered")], penalty=NO_PENALTY
    )
    paid = {ln.counterparty_id: str(ln.amount) for ln in s.lines if ln.party_role is PartyRole.FSP}
    assert paid == {"dso-1": "225.00", "tso": "75.00"}


def test_statement_csv_and_json_have_fixed_columns_order_and_decimals() -> None:
    awards = [
        award(bid_id="b2", mtu="t01", quantity_mw=2.0, duration_h=0.25, bid_price_eur_per_unit=7.5),
        award(bid_id="b1", mtu="t00", quantity_mw=1.5, duration_h=0.25, bid_price_eur_per_unit=4.0),
    ]
    (fsp, _buyer) = settle(awards, penalty=NO_PENALTY).statements()
    assert fsp.to_csv() == (
        "auction_id,party_role,party_id,counterparty_id,bid_id,mtu,kind,quantity,quantity_unit,"
        "unit_price_eur,unit_price_unit,amount_eur\n"
        "a1,fsp,fsp-1,dso-1,b1,t00,availability_payment,0.375000,MW·h,4.000000,EUR/MW/h,1.50\n"
        "a1,fsp,fsp-1,dso-1,b2,t01,availability_payment,0.500000,MW·h,7.500000,EUR/MW/h,3.75\n"
    )
    doc = json.loads(fsp.to_json(), parse_float=lambda text: pytest.fail(f"float {text}"))
    assert (doc["party_id"], doc["total_eur"], doc["totals_by_kind_eur"]) == (
        "fsp-1",
        "5.25",
        {"availability_payment": "5.25"},
    )
    assert [line["bid_id"] for line in doc["lines"]] == ["b1", "b2"]


def _issue_fields(err: pytest.ExceptionInfo[InvalidInputError]) -> set[tuple[str, str]]:
    return {(i.kind, i.field) for i in err.value.issues}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quantity_mw": -1.0}, "quantity_mw"),
        ({"bid_price_eur_per_unit": float("nan")}, "bid_price_eur_per_unit"),
        ({"bid_price_eur_per_unit": -1.0}, "bid_price_eur_per_unit"),  # availability: >= 0
        ({"kind": "reserve"}, "kind"),
        ({"kind": "availability_and_activation"}, "kind"),
        ({"pricing_rule": "pay-as-you-like"}, "pricing_rule"),
        ({"pricing_rule": "pay-as-cleared"}, "cleared_price_eur_per_unit"),
        ({"cleared_price_eur_per_unit": float("inf")}, "cleared_price_eur_per_unit"),
        ({"buyer_price_eur_per_unit": float("nan")}, "buyer_price_eur_per_unit"),
        ({"duration_h": 0.0}, "duration_h"),
        ({"fsp_id": ""}, "fsp_id"),
    ],
)
def test_a_bad_award_names_itself_and_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        award(**changes)
    assert ("SettlementAward", field) in _issue_fields(err)
    assert err.value.issues[0].object_id == "a1/b1/t00"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ordered_mwh": float("nan")}, "ordered_mwh"),
        ({"delivered_mwh": -0.5}, "delivered_mwh"),
        ({"delivered_mwh": None}, "delivered_mwh"),  # required for "delivered"
        ({"status": "lost"}, "status"),
    ],
)
def test_a_bad_outcome_names_itself_and_the_field(changes: dict[str, Any], field: str) -> None:
    fields: dict[str, Any] = {
        "bid_id": "b1",
        "mtu": "t00",
        "ordered_mwh": 1.0,
        "delivered_mwh": 1.0,
        "status": OutcomeStatus.DELIVERED,
    }
    with pytest.raises(InvalidInputError) as err:
        DeliveryOutcome(**(fields | changes))
    assert ("DeliveryOutcome", field) in _issue_fields(err)


def test_settle_refuses_inconsistent_records_naming_each() -> None:
    a = award(kind="activation")
    with pytest.raises(InvalidInputError) as err:
        settle([a], [delivered("b9", "t00", 1.0, 1.0)], penalty=NO_PENALTY)
    assert _issue_fields(err) == {("DeliveryOutcome", "bid_id")}
    assert err.value.issues[0].object_id == "b9/t00"
    with pytest.raises(InvalidInputError) as err:
        settle([a], [delivered("b1", "t00", 1.0, 1.0)] * 2, penalty=NO_PENALTY)
    assert _issue_fields(err) == {("DeliveryOutcome", "mtu")}
    with pytest.raises(InvalidInputError) as err:
        settle([a], [delivered("b1", "t00", 2.0, 1.0)], penalty=NO_PENALTY)
    assert _issue_fields(err) == {("DeliveryOutcome", "ordered_mwh")}
    with pytest.raises(InvalidInputError) as err:
        settle([a, a], penalty=NO_PENALTY)
    assert _issue_fields(err) == {("SettlementAward", "buyer_id")}
    with pytest.raises(InvalidInputError) as err:
        settle([a, "b2"], penalty=NO_PENALTY)  # type: ignore[list-item]
    assert _issue_fields(err) == {("SettlementAward", "type")}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"factor": -1.0}, "factor"),
        ({"floor_eur_per_mwh": float("nan")}, "floor_eur_per_mwh"),
        ({"tolerance_fraction": 1.0}, "tolerance_fraction"),
        ({"insufficient_data": "ignore"}, "insufficient_data"),
    ],
)
def test_a_bad_penalty_rule_names_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        PenaltyRule(**changes)
    assert _issue_fields(err) == {("PenaltyRule", field)}


def test_the_operations_facade_names_and_resolves_every_export() -> None:
    assert sorted(operations.__all__) == sorted(operations._EXPORTS)
    for name in operations._EXPORTS:
        assert getattr(operations, name) is not None, name


def test_strings_are_read_as_the_vocabularies_members() -> None:
    a = award(kind="activation", pricing_rule="locational", cleared_price_eur_per_unit=1.0)
    assert a.pricing_rule is PricingRule.LOCATIONAL
    rule = PenaltyRule(insufficient_data="failed")  # type: ignore[arg-type]
    assert rule.insufficient_data is InsufficientData.FAILED


def test_extreme_but_bounded_figures_settle_exactly_and_beyond_the_bound_are_refused() -> None:
    a = award(quantity_mw=1e12, duration_h=1e12, bid_price_eur_per_unit=1e12)
    (fsp_received, _, _) = only_balance(settle([a], penalty=NO_PENALTY))
    assert fsp_received == "1" + "0" * 36 + ".00"
    with pytest.raises(InvalidInputError) as err:
        award(quantity_mw=1e300)
    assert _issue_fields(err) == {("SettlementAward", "quantity_mw")}
