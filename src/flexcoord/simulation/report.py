"""The scheme comparison as data: one flat row of KPIs per scheme run.

:func:`comparison_rows` turns :class:`~flexcoord.coordination.scheme.SchemeOutcome` values into
plain dicts (JSON-ready, one row per scheme, the same columns in every row), sorted in preset
order, with the cheapest run(s) marked. :func:`comparison_frame` is the same table as a pandas
DataFrame indexed by scheme id. The CLI (``flexcoord coordinate``), the benchmark and the service
all read the table from here, so a KPI has one name and one definition everywhere
(``docs/coordination.md``, section *KPIs*; ``docs/results.md`` for every document and table).

:func:`scheme_document` is one run in detail, with the per-bid awards of every sub-market,
the final dispatch and the coverage of the needs; :func:`comparison_document` puts the table and
those documents together. :func:`chain_rows` and :func:`chain_document` do the same for runs over
a timeframe chain (:func:`~flexcoord.coordination.timeframes.run_chain`).

Columns (energies in MWh, money in €, times in s):

- ``scheme``, ``title``, ``market_model``, ``allocation``, ``dso_grid_in_tso_market``;
- ``total_cost_eur`` (joint-objective cost) = ``bid_cost_eur`` + ``shortfall_penalty_eur`` +
  ``violation_penalty_eur`` (to the cent), the latter split into
  ``violation_penalty_<kind>_eur`` for kind in branch, voltage, interface, balance;
  ``penalty_share`` (penalties / total, ``None`` for a zero total);
- ``procurement_<buyer>_eur`` and ``shortfall_<buyer>_mwh`` for every buyer of any run (0 where a
  run has none);
- ``activated_mwh``, ``forwarded_bids``, ``residual_violation_tso_mwh``,
  ``residual_violation_dso_mwh``, ``dso_violation_caused_by_tso_mwh`` (linear model);
- ``ac_violation_tso_mwh``, ``ac_violation_dso_mwh``, ``ac_voltage_violation_pu_h``,
  ``ac_dso_violation_caused_by_tso_mwh`` (AC check of the final dispatch; ``None`` when the run
  had no AC check, the voltage column also when the scenario monitors no voltages);
- ``conflicts_double_activation``, ``conflicts_counter_activation``, ``conflicts_dso_limit``;
- ``liquidity_root_bids_per_need``, ``liquidity_root_bids``, ``liquidity_units``,
  ``liquidity_fsps`` (distinct root bids that could serve a need, on average per need; distinct
  root bids, units and FSPs that could serve any: :mod:`flexcoord.coordination.liquidity`);
- ``curtailed_renewable_mwh``, ``markets``, ``wall_s``, ``solver_s``;
- ``cheapest``: whether the run's ``total_cost_eur`` is the lowest of the table (ties: all).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from flexcoord.clearing.costs import VIOLATION_KINDS
from flexcoord.clearing.report import coverage_row
from flexcoord.coordination import (
    PRESETS,
    ChainKpis,
    ChainOutcome,
    CoordinationInput,
    CostKpis,
    DispatchKey,
    MarketRun,
    SchemeKpis,
    SchemeOutcome,
    TimeframeChain,
)
from flexcoord.domain import Bid

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CONFLICT_KINDS",
    "award_rows",
    "buyers_of",
    "chain_comparison_document",
    "chain_document",
    "chain_rows",
    "comparison_document",
    "comparison_frame",
    "comparison_rows",
    "cost_columns",
    "coverage_rows",
    "dispatch_rows",
    "kpi_document",
    "primacy_document",
    "scenario_summary",
    "scheme_document",
]

CONFLICT_KINDS = ("double_activation", "counter_activation", "dso_limit")

_PRESET_ORDER = {config.id: i for i, config in enumerate(PRESETS)}
_COST_TOLERANCE_EUR = 1e-6


def buyers_of(outcomes: Iterable[SchemeOutcome]) -> tuple[str, ...]:
    """Every buyer with a procurement or shortfall entry in any outcome, sorted."""
    found: set[str] = set()
    for o in outcomes:
        found |= set(o.kpis.procurement_eur) | set(o.kpis.shortfall_mwh)
    return tuple(sorted(found))


def cost_columns(cost: CostKpis) -> dict[str, Any]:
    """The cost split of a KPI record as flat columns: the per-kind violation penalties become
    ``violation_penalty_<kind>_eur``; ``availability_payment_eur`` only when the record has
    one (a timeframe chain)."""
    out: dict[str, Any] = {
        "total_cost_eur": float(cost.total_cost_eur),
        "bid_cost_eur": float(cost.bid_cost_eur),
    }
    if cost.availability_payment_eur is not None:
        out["availability_payment_eur"] = float(cost.availability_payment_eur)
    out["shortfall_penalty_eur"] = float(cost.shortfall_penalty_eur)
    out["violation_penalty_eur"] = float(cost.violation_penalty_eur)
    for kind in VIOLATION_KINDS:
        out[f"violation_penalty_{kind}_eur"] = float(cost.violation_penalty_by_kind_eur[kind])
    out["penalty_share"] = cost.penalty_share
    return out


def kpi_document(kpis: SchemeKpis | ChainKpis) -> dict[str, Any]:
    """A KPI record as a JSON-ready dict (nested records as dicts, field names as keys)."""
    return dataclasses.asdict(kpis)


def _ordered(outcomes: Sequence[SchemeOutcome]) -> list[SchemeOutcome]:
    """Preset order; schemes that are not presets follow in the order given."""
    position = {id(o): i for i, o in enumerate(outcomes)}
    return sorted(
        outcomes,
        key=lambda o: (_PRESET_ORDER.get(o.config.id, len(PRESETS)), position[id(o)]),
    )


def comparison_rows(outcomes: Sequence[SchemeOutcome]) -> list[dict[str, Any]]:
    """One flat row per scheme run (see the module docstring for the columns).

    Example:
        >>> from flexcoord.coordination import preset, run_scheme
        >>> from flexcoord.simulation.scenario import build_coordination_scenario
        >>> s = build_coordination_scenario("1-MV-rural--0-sw", n_bids=40, n_mtu=16)
        >>> rows = comparison_rows([run_scheme(preset("smartnet-common"), s)])
        >>> rows[0]["scheme"], rows[0]["cheapest"]
        ('smartnet-common', True)
    """
    ordered = _ordered(outcomes)
    buyers = buyers_of(ordered)
    rows: list[dict[str, Any]] = []
    for o in ordered:
        rows.append(_comparison_row(o, buyers))
    if rows:
        best = min(r["total_cost_eur"] for r in rows)
        tolerance = _COST_TOLERANCE_EUR + 1e-12 * abs(best)
        for r in rows:
            r["cheapest"] = r["total_cost_eur"] <= best + tolerance
    return rows


def _comparison_row(o: SchemeOutcome, buyers: Sequence[str]) -> dict[str, Any]:
    k, c = o.kpis, o.config
    row: dict[str, Any] = {
        "scheme": c.id,
        "title": c.title,
        "market_model": str(c.market_model),
        "allocation": str(c.allocation),
        "dso_grid_in_tso_market": str(c.dso_grid_in_tso_market),
    } | cost_columns(k.cost)
    for buyer in buyers:
        row[f"procurement_{buyer}_eur"] = float(k.procurement_eur.get(buyer, 0.0))
    for buyer in buyers:
        row[f"shortfall_{buyer}_mwh"] = float(k.shortfall_mwh.get(buyer, 0.0))
    ac, caused = k.ac_violation, k.ac_dso_violation_caused_by_tso_mwh
    return row | {
        "activated_mwh": float(k.activated_mwh),
        "forwarded_bids": int(k.forwarded_bids),
        "residual_violation_tso_mwh": float(k.residual_violation_tso_mwh),
        "residual_violation_dso_mwh": float(k.residual_violation_dso_mwh),
        "dso_violation_caused_by_tso_mwh": float(k.dso_violation_caused_by_tso_mwh),
        "ac_violation_tso_mwh": None if ac is None else float(ac.tso_mwh),
        "ac_violation_dso_mwh": None if ac is None else float(ac.dso_mwh),
        "ac_voltage_violation_pu_h": None if ac is None else ac.voltage_pu_h,
        "ac_dso_violation_caused_by_tso_mwh": None if caused is None else float(caused),
        "conflicts_double_activation": int(k.conflicts_double_activation),
        "conflicts_counter_activation": int(k.conflicts_counter_activation),
        "conflicts_dso_limit": int(k.conflicts_dso_limit),
        "liquidity_root_bids_per_need": float(k.liquidity.root_bids_per_need),
        "liquidity_root_bids": int(k.liquidity.root_bids),
        "liquidity_units": int(k.liquidity.units),
        "liquidity_fsps": int(k.liquidity.fsps),
        "curtailed_renewable_mwh": float(k.curtailed_renewable_mwh),
        "markets": int(k.markets),
        "wall_s": float(o.wall_s),
        "solver_s": float(o.solver_s),
    }


def comparison_frame(outcomes: Sequence[SchemeOutcome]) -> pd.DataFrame:
    """:func:`comparison_rows` as a DataFrame indexed by ``scheme`` (rows in preset order)."""
    import pandas as pd  # noqa: PLC0415  (lazy: pandas only for the frame)

    rows = comparison_rows(outcomes)
    if not rows:
        return pd.DataFrame(columns=["scheme"]).set_index("scheme")
    return pd.DataFrame.from_records(rows).set_index("scheme")


def _num(x: float | None, digits: int = 6) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), digits)


def _offered_by_root(markets: Sequence[MarketRun]) -> dict[str, Bid]:
    """The bids offered to any of ``markets``, by root id (the first offer wins)."""
    out: dict[str, Bid] = {}
    for m in markets:
        for b in m.offered:
            out.setdefault(m.root_of(b.id), b)
    return out


def award_rows(
    markets: Sequence[MarketRun], *, timeframe: str | None = None
) -> list[dict[str, Any]]:
    """Every award of every sub-market as its clearing result has it (before conflict handling),
    in market order then (bid id, MTU): market, buyers, bid (and root bid when forwarded),
    resource, FSP, MTU start, direction, MW, price and payment. Aggregated interface offers
    appear under their virtual unit; the bids behind them are in :func:`dispatch_rows`."""
    rows: list[dict[str, Any]] = []
    for m in markets:
        offered = {b.id: b for b in m.offered}
        for a in m.result.awards():
            bid = offered.get(a.bid_id)
            root = m.root_of(a.bid_id)
            row: dict[str, Any] = {} if timeframe is None else {"timeframe": timeframe}
            rows.append(
                row
                | {
                    "market_id": m.id.label,
                    "buyer_ids": list(m.buyer_ids),
                    "bid_id": a.bid_id,
                    "root_bid_id": root if root != a.bid_id else None,
                    "resource_id": None if bid is None else bid.resource_id,
                    "fsp_id": None if bid is None else bid.fsp_id,
                    "mtu": a.mtu,
                    "direction": None if bid is None else str(bid.direction),
                    "quantity_mw": _num(a.quantity_mw),
                    "price_eur_per_mwh": _num(a.price_eur_per_mwh, 4),
                    "payment_eur": _num(a.payment_eur, 4),
                }
            )
    return rows


def dispatch_rows(
    markets: Sequence[MarketRun], accepted_mw: Mapping[DispatchKey, float]
) -> list[dict[str, Any]]:
    """The final dispatch (after conflict handling, aggregated offers expanded to the bids behind
    them) per root bid and MTU, sorted: root bid, resource, FSP, MTU start, direction, MW."""
    bids = _offered_by_root(markets)
    rows = []
    for key, mw in sorted(accepted_mw.items()):
        bid = bids.get(key.root)
        rows.append(
            {
                "root_bid_id": key.root,
                "resource_id": None if bid is None else bid.resource_id,
                "fsp_id": None if bid is None else bid.fsp_id,
                "mtu": key.mtu.label,
                "direction": None if bid is None else str(bid.direction),
                "dispatched_mw": _num(mw),
            }
        )
    return rows


def coverage_rows(
    markets: Sequence[MarketRun], *, timeframe: str | None = None
) -> list[dict[str, Any]]:
    """Each need's coverage per MTU as the sub-market that served it cleared it (before conflict
    handling; the KPIs' shortfall is the joint yardstick's)."""
    rows: list[dict[str, Any]] = []
    for m in markets:
        for c in m.result.coverage():
            row: dict[str, Any] = {} if timeframe is None else {"timeframe": timeframe}
            rows.append(row | {"market_id": m.id.label} | coverage_row(c))
    return rows


def _market_summary(m: MarketRun) -> dict[str, Any]:
    return {
        "id": m.id.label,
        "buyer_ids": list(m.buyer_ids),
        "areas": list(m.areas),
        "needs": m.needs,
        "bids_offered": m.bids_offered,
        "bids_forwarded": m.bids_forwarded,
        "accepted_bids": len({key.root for key in m.accepted_mw}),
        "liquidity": None if m.liquidity is None else dataclasses.asdict(m.liquidity),
        "solver_s": m.solver_s,
    }


def scheme_document(
    outcome: SchemeOutcome, *, provenance: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One run in detail (JSON-ready): config, KPIs, sub-markets, per-bid awards
    (:func:`award_rows`), final dispatch (:func:`dispatch_rows`), need coverage
    (:func:`coverage_rows`) and conflicts; with ``provenance``
    (:func:`flexcoord.provenance.provenance`) first, as ``"provenance"``; a scheme with primacy
    rules (MW Dispatch) adds ``"primacy"`` and ``"mw_dispatch"`` (:func:`primacy_document`)."""
    head: dict[str, Any] = {} if provenance is None else {"provenance": dict(provenance)}
    return head | _scheme_body(outcome) | primacy_document(outcome)


def primacy_document(outcome: SchemeOutcome) -> dict[str, Any]:
    """A scheme with primacy rules in detail (JSON-ready; empty for any other scheme): each
    decision (the two instructions, the rule, the winner) and the MW Dispatch settlement."""
    settlement = outcome.mw_dispatch
    if outcome.config.primacy is None or settlement is None:
        return {}
    return {
        "primacy": [
            {
                "kind": str(d.kind),
                "area_id": d.area_id,
                "mtu": d.mtu.label,
                "unit_ids": list(d.unit_ids),
                "eso": dataclasses.asdict(d.eso),
                "dso": [dataclasses.asdict(i) for i in d.dso],
                "rule": str(d.rule),
                "winner": str(d.winner),
                "eso_mw_after": d.eso_mw_after,
                "reason": d.reason,
            }
            for d in outcome.primacy
        ],
        "mw_dispatch": {
            "lost_generation_mwh": settlement.lost_generation_mwh,
            "payment_eur": settlement.payment_eur,
            "payments": [
                {
                    "bid_id": p.key.root,
                    "mtu": p.key.mtu.label,
                    "resource_id": p.resource_id,
                    "lost_generation_mwh": p.lost_generation_mwh,
                    "price_eur_per_mwh": p.price_eur_per_mwh,
                    "payment_eur": p.payment_eur,
                }
                for p in settlement.payments
            ],
        },
    }


def _scheme_body(outcome: SchemeOutcome) -> dict[str, Any]:
    c = outcome.config
    return {
        "scheme": c.id,
        "title": c.title,
        "market_model": str(c.market_model),
        "allocation": str(c.allocation),
        "tso_access_to_ders": c.tso_access_to_ders,
        "dso_grid_in_tso_market": str(c.dso_grid_in_tso_market),
        "kpis": kpi_document(outcome.kpis),
        "markets": [_market_summary(m) for m in outcome.markets],
        "awards": award_rows(outcome.markets),
        "dispatch": dispatch_rows(outcome.markets, outcome.accepted_mw),
        "coverage": coverage_rows(outcome.markets),
        "conflicts": [
            {
                "kind": str(x.kind),
                "area_id": x.area_id,
                "mtu": x.mtu.label,
                "tso_bid_ids": list(x.tso_bid_ids),
                "action": str(x.action),
                "tso_mw_before": x.tso_mw_before,
                "tso_mw_after": x.tso_mw_after,
                "reason": x.reason,
            }
            for x in outcome.conflicts
        ],
        "wall_s": outcome.wall_s,
        "solver_s": outcome.solver_s,
    }


def scenario_summary(scenario: CoordinationInput) -> dict[str, Any]:
    """The scenario in a few figures (JSON-ready): name, grid, MTUs and span, needs per buyer,
    bids, tightened branches, safety margin, whether voltages are monitored."""
    s = scenario
    buyers: dict[str, int] = {}
    for n in s.needs:
        buyers[n.buyer_id] = buyers.get(n.buyer_id, 0) + 1
    return {
        "name": s.name,
        "grid": str(s.grid.code),
        "mtus": len(s.intervals),
        "start": s.intervals[0].start.isoformat(),
        "end": s.intervals[-1].end.isoformat(),
        "needs_per_buyer": dict(sorted(buyers.items())),
        "bids": len(s.bids),
        "tightened_branches": len(s.limit_overrides_mw),
        "safety_margin": s.safety_margin,
        "voltages": s.voltages,
    }


def comparison_document(
    outcomes: Sequence[SchemeOutcome],
    *,
    scenario: CoordinationInput | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The comparison of several runs on one scenario (JSON-ready): ``provenance`` and
    ``scenario`` (:func:`scenario_summary`) when given, ``buyers``, ``comparison``
    (:func:`comparison_rows`) and ``schemes`` (:func:`scheme_document` of each run, in the
    table's order)."""
    rows = comparison_rows(outcomes)
    by_id = {o.config.id: o for o in outcomes}
    head: dict[str, Any] = {} if provenance is None else {"provenance": dict(provenance)}
    if scenario is not None:
        head["scenario"] = scenario_summary(scenario)
    return head | {
        "buyers": list(buyers_of(outcomes)),
        "comparison": rows,
        "schemes": [scheme_document(by_id[r["scheme"]]) for r in rows],
    }


def chain_rows(outcomes: Sequence[ChainOutcome]) -> list[dict[str, Any]]:
    """One flat row per scheme run over a timeframe chain, in the order given: ``scheme``,
    ``timeframes_run`` / ``timeframes_skipped`` (``;``-joined), the cost columns
    (:func:`cost_columns`, availability payments included), ``activation_cost_eur``,
    ``availability_mw``, ``activated_mw`` (MW summed over MTUs), ``activation_shortfall_mwh``,
    ``capacity_not_procured_mw``, ``obligated_bids``, ``forwarded_bids``, ``rounds``,
    ``markets``, ``wall_s``."""
    rows = []
    for o in outcomes:
        k = o.kpis
        rows.append(
            {
                "scheme": o.config.id,
                "timeframes_run": ";".join(str(r.sub_market.timeframe) for r in o.rounds),
                "timeframes_skipped": ";".join(str(t) for t in o.skipped),
            }
            | cost_columns(k.cost)
            | {
                "activation_cost_eur": k.activation_cost_eur,
                "availability_mw": k.availability_mw,
                "activated_mw": k.activated_mw,
                "activation_shortfall_mwh": k.activation_shortfall_mwh,
                "capacity_not_procured_mw": k.capacity_not_procured_mw,
                "obligated_bids": k.obligated_bids,
                "forwarded_bids": k.forwarded_bids,
                "rounds": k.rounds,
                "markets": k.markets,
                "wall_s": o.wall_s,
            }
        )
    return rows


def chain_document(
    outcome: ChainOutcome, *, provenance: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One run over a timeframe chain in detail (JSON-ready): KPIs, and per round its KPIs,
    sub-markets, awards (:func:`award_rows` with a ``timeframe`` field) and coverage; the
    physical dispatch (activation rounds' awards after conflicts, :func:`dispatch_rows`)."""
    c = outcome.config
    head: dict[str, Any] = {} if provenance is None else {"provenance": dict(provenance)}
    markets = [m for r in outcome.rounds for m in r.markets]
    return head | {
        "scheme": c.id,
        "title": c.title,
        "timeframes_skipped": [str(t) for t in outcome.skipped],
        "kpis": kpi_document(outcome.kpis),
        "rounds": [
            {
                "timeframe": str(r.sub_market.timeframe),
                "product_id": r.sub_market.product_id,
                "kind": str(r.sub_market.kind),
                "gate_closure_at": r.sub_market.gate_closure_at.isoformat(),
                "kpis": kpi_document(r.kpis),
                "markets": [_market_summary(m) for m in r.markets],
                "awards": award_rows(r.markets, timeframe=str(r.sub_market.timeframe)),
                "coverage": coverage_rows(r.markets, timeframe=str(r.sub_market.timeframe)),
                "conflicts": len(r.conflicts),
            }
            for r in outcome.rounds
        ],
        "dispatch": dispatch_rows(markets, outcome.activation_mw),
        "wall_s": outcome.wall_s,
    }


def chain_comparison_document(
    chain: TimeframeChain,
    outcomes: Sequence[ChainOutcome],
    *,
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Several schemes over one timeframe chain (JSON-ready): ``provenance`` when given,
    ``chain`` (name, bids, and per round its timeframe, product, kind, gate closure, needs and
    new bids), ``comparison`` (:func:`chain_rows`) and ``schemes`` (:func:`chain_document`)."""
    head: dict[str, Any] = {} if provenance is None else {"provenance": dict(provenance)}
    return head | {
        "chain": {
            "name": chain.base.name,
            "bids": len(chain.base.bids),
            "rounds": [
                {
                    "timeframe": str(r.timeframe),
                    "product_id": r.product_id,
                    "kind": str(r.kind),
                    "gate_closure_at": r.gate_closure_at.isoformat(),
                    "needs": len(r.needs),
                    "new_bids": len(chain.new_bids(r)),
                }
                for r in chain.rounds
            ],
        },
        "comparison": chain_rows(outcomes),
        "schemes": [chain_document(o) for o in outcomes],
    }
