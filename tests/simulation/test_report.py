"""Coordination results a user can take away: penalties as their own KPIs, per-bid awards of
every sub-market and the final dispatch.

Runs on the hand-built two-level grid of ``tests/coordination/schemes_fixtures`` (every preset,
cached), and the timeframe chain of ``tests/coordination/test_timeframes``.
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict

import pytest

from flexcoord.clearing.costs import VIOLATION_KINDS
from flexcoord.coordination import PRESETS, SchemeOutcome, preset, run_chain
from flexcoord.simulation.report import (
    chain_comparison_document,
    comparison_document,
    comparison_rows,
    scheme_document,
)
from tests.coordination.schemes_fixtures import scheme_outcomes, two_level_scenario
from tests.coordination.test_timeframes import chain

PARTS = ("bid_cost_eur", "shortfall_penalty_eur", "violation_penalty_eur")
PRESET_IDS = [c.id for c in PRESETS]


def outcomes() -> dict[str, SchemeOutcome]:
    return scheme_outcomes(0)


def assert_total_is_the_sum(fields: dict[str, object], parts: tuple[str, ...] = PARTS) -> None:
    total = sum(float(fields[k]) for k in parts)  # type: ignore[arg-type]
    assert round(total, 2) == fields["total_cost_eur"]


@pytest.mark.parametrize("scheme_id", PRESET_IDS)
def test_kpis_split_the_yardstick_total_to_the_cent(scheme_id: str) -> None:
    o = outcomes()[scheme_id]
    k = o.kpis.cost
    assert_total_is_the_sum(dataclasses.asdict(k))
    by_kind = k.violation_penalty_by_kind_eur
    assert round(sum(by_kind.values()), 2) == k.violation_penalty_eur
    # the split is the yardstick's own (one implementation), in cents
    assert k.total_cost_eur == pytest.approx(o.cost.total_eur, abs=0.02)
    assert k.shortfall_penalty_eur == pytest.approx(o.cost.shortfall_penalty_eur, abs=0.005)
    assert by_kind["branch"] == pytest.approx(o.cost.branch_penalty_eur, abs=0.005)
    if k.total_cost_eur:
        penalties = k.shortfall_penalty_eur + k.violation_penalty_eur
        assert k.penalty_share == pytest.approx(penalties / k.total_cost_eur, abs=1e-6)


def test_comparison_rows_carry_every_cost_column() -> None:
    rows = comparison_rows(list(outcomes().values()))
    for r in rows:
        assert_total_is_the_sum(r)
        kinds = sum(r[f"violation_penalty_{kind}_eur"] for kind in VIOLATION_KINDS)
        assert round(kinds, 2) == r["violation_penalty_eur"]
        assert "penalty_share" in r and "bid_cost_eur" in r


@pytest.mark.parametrize("scheme_id", PRESET_IDS)
def test_scheme_document_carries_every_award_of_every_market(scheme_id: str) -> None:
    o = outcomes()[scheme_id]
    doc = scheme_document(o)
    json.dumps(doc)  # JSON-ready
    awards = doc["awards"]
    assert len(awards) == sum(len(m.result.awards()) for m in o.markets)
    per_market: dict[str, float] = defaultdict(float)
    for a in awards:
        assert a["resource_id"] is not None and a["fsp_id"] is not None, a
        assert a["direction"] in ("up", "down")
        assert a["quantity_mw"] > 0 and a["payment_eur"] is not None
        per_market[a["market_id"]] += a["quantity_mw"]
        if a["root_bid_id"] is not None:  # forwarded: the id names the market it went to
            assert a["bid_id"] != a["root_bid_id"] and a["bid_id"].startswith(a["root_bid_id"])
        buyers = next(m.buyer_ids for m in o.markets if m.id.label == a["market_id"])
        assert a["buyer_ids"] == list(buyers)
    for m in o.markets:
        assert per_market[m.id.label] == pytest.approx(
            float(m.result.slot_accepted_mw.sum()), abs=1e-4
        )
    dispatch = doc["dispatch"]
    assert sum(r["dispatched_mw"] for r in dispatch) == pytest.approx(
        sum(o.accepted_mw.values()), abs=1e-4
    )
    assert all(r["resource_id"] is not None for r in dispatch)
    covered = {(c["need_id"], c["mtu"]) for c in doc["coverage"]}
    assert len(covered) == len(doc["coverage"])  # each need served by one market


def test_forwarded_bids_show_their_root() -> None:
    doc = scheme_document(outcomes()["onenet-multi-level"])
    tso = [a for a in doc["awards"] if a["market_id"] == "tso"]
    assert tso and all(a["bid_id"] == f"{a['root_bid_id']}>tso" for a in tso)


def test_aggregated_offers_show_as_interface_awards_and_the_bids_behind_them_as_dispatch() -> None:
    o = outcomes()["smartnet-local"]
    doc = scheme_document(o)
    tso = [a for a in doc["awards"] if a["market_id"] == "tso"]
    assert tso and all(a["resource_id"].startswith("interface:") for a in tso)
    dso_roots = {a["bid_id"] for a in doc["awards"] if a["market_id"].startswith("dso:")}
    behind = {r["root_bid_id"] for r in doc["dispatch"]} - dso_roots
    assert behind  # the TSO's interface volume, expanded to the FSPs' bids
    assert all(not r["resource_id"].startswith("interface:") for r in doc["dispatch"])


def test_comparison_document_puts_provenance_and_scenario_first() -> None:
    block = {"schema_version": "1"}
    doc = comparison_document(
        list(outcomes().values()), scenario=two_level_scenario(0), provenance=block
    )
    assert list(doc)[:2] == ["provenance", "scenario"]
    assert [s["scheme"] for s in doc["schemes"]] == [r["scheme"] for r in doc["comparison"]]
    json.dumps(doc)


def test_chain_document_has_awards_per_round_and_the_cost_split() -> None:
    outcomes = [run_chain(preset(p), chain(), ac_check=False) for p in ("onenet-northern",)]
    doc = chain_comparison_document(chain(), outcomes)
    json.dumps(doc)
    (row,) = doc["comparison"]
    assert_total_is_the_sum(row, ("availability_payment_eur", *PARTS))
    assert row["activation_cost_eur"] == pytest.approx(
        row["total_cost_eur"] - row["availability_payment_eur"], abs=0.01
    )
    (scheme,) = doc["schemes"]
    (outcome,) = outcomes
    for r, rd in zip(outcome.rounds, scheme["rounds"], strict=True):
        assert len(rd["awards"]) == sum(len(m.result.awards()) for m in r.markets)
        assert all(a["timeframe"] == rd["timeframe"] for a in rd["awards"])
    assert sum(d["dispatched_mw"] for d in scheme["dispatch"]) == pytest.approx(
        sum(outcome.activation_mw.values()), abs=1e-4
    )
