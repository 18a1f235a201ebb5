"""The scheme comparison as data: one flat row of KPIs per scheme run.

:func:`comparison_rows` turns :class:`~flexcoord.coordination.runner.SchemeOutcome` values into
plain dicts (JSON-ready, one row per scheme, the same columns in every row), sorted in preset
order, with the cheapest run(s) marked. :func:`comparison_frame` is the same table as a pandas
DataFrame indexed by scheme id. The CLI (``flexcoord coordinate``), the benchmark and the service
all read the table from here, so a KPI has one name and one definition everywhere
(``docs/coordination.md``, section *KPIs*).

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
- ``liquidity_bids_per_need``, ``curtailed_renewable_mwh``, ``markets``, ``wall_s``,
  ``solver_s``;
- ``cheapest``: whether the run's ``total_cost_eur`` is the lowest of the table (ties: all).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from flexcoord.clearing.costs import VIOLATION_KINDS
from flexcoord.coordination.presets import PRESETS
from flexcoord.coordination.runner import SchemeOutcome

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CONFLICT_KINDS",
    "buyers_of",
    "comparison_frame",
    "comparison_rows",
    "cost_columns",
    "scheme_document",
]

CONFLICT_KINDS = ("double_activation", "counter_activation", "dso_limit")

_PRESET_ORDER = {config.id: i for i, config in enumerate(PRESETS)}
_COST_TOLERANCE_EUR = 1e-6


def buyers_of(outcomes: Iterable[SchemeOutcome]) -> tuple[str, ...]:
    """Every buyer with a procurement or shortfall entry in any outcome, sorted."""
    found: set[str] = set()
    for o in outcomes:
        found |= set(o.kpis["procurement_eur"]) | set(o.kpis["shortfall_mwh"])
    return tuple(sorted(found))


def cost_columns(kpis: Mapping[str, Any]) -> dict[str, Any]:
    """The cost fields of a KPI dict (:func:`~flexcoord.clearing.costs.cost_fields`) as flat
    columns: the per-kind violation penalties become ``violation_penalty_<kind>_eur``."""
    out: dict[str, Any] = {
        "total_cost_eur": float(kpis["total_cost_eur"]),
        "bid_cost_eur": float(kpis["bid_cost_eur"]),
    }
    if "availability_payment_eur" in kpis:
        out["availability_payment_eur"] = float(kpis["availability_payment_eur"])
    out["shortfall_penalty_eur"] = float(kpis["shortfall_penalty_eur"])
    out["violation_penalty_eur"] = float(kpis["violation_penalty_eur"])
    by_kind = kpis["violation_penalty_by_kind_eur"]
    for kind in VIOLATION_KINDS:
        out[f"violation_penalty_{kind}_eur"] = float(by_kind[kind])
    out["penalty_share"] = kpis["penalty_share"]
    return out


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
        >>> from flexcoord.coordination.presets import preset
        >>> from flexcoord.coordination.runner import run_scheme
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
        k, c = o.kpis, o.config
        row: dict[str, Any] = {
            "scheme": c.id,
            "title": c.title,
            "market_model": str(c.market_model),
            "allocation": str(c.allocation),
            "dso_grid_in_tso_market": str(c.dso_grid_in_tso_market),
        } | cost_columns(k)
        for buyer in buyers:
            row[f"procurement_{buyer}_eur"] = float(k["procurement_eur"].get(buyer, 0.0))
        for buyer in buyers:
            row[f"shortfall_{buyer}_mwh"] = float(k["shortfall_mwh"].get(buyer, 0.0))
        violations = k["residual_violation_mwh"]
        row |= {
            "activated_mwh": float(k["activated_mwh"]),
            "forwarded_bids": int(k["forwarded_bids"]),
            "residual_violation_tso_mwh": float(violations.get("tso", 0.0)),
            "residual_violation_dso_mwh": float(violations.get("dso", 0.0)),
            "dso_violation_caused_by_tso_mwh": float(k["dso_violation_caused_by_tso_mwh"]),
        }
        ac = k.get("ac_violation_mwh")
        caused = k.get("ac_dso_violation_caused_by_tso_mwh")
        row |= {
            "ac_violation_tso_mwh": None if ac is None else float(ac["tso"]),
            "ac_violation_dso_mwh": None if ac is None else float(ac["dso"]),
            "ac_voltage_violation_pu_h": (
                None if ac is None or "voltage_pu_h" not in ac else float(ac["voltage_pu_h"])
            ),
            "ac_dso_violation_caused_by_tso_mwh": None if caused is None else float(caused),
        }
        for kind in CONFLICT_KINDS:
            row[f"conflicts_{kind}"] = int(k["conflicts"].get(kind, 0))
        row |= {
            "liquidity_bids_per_need": float(k["liquidity_bids_per_need"]),
            "curtailed_renewable_mwh": float(k["curtailed_renewable_mwh"]),
            "markets": int(k["markets"]),
            "wall_s": float(o.wall_s),
            "solver_s": float(o.solver_s),
        }
        rows.append(row)
    if rows:
        best = min(r["total_cost_eur"] for r in rows)
        tolerance = _COST_TOLERANCE_EUR + 1e-12 * abs(best)
        for r in rows:
            r["cheapest"] = r["total_cost_eur"] <= best + tolerance
    return rows


def comparison_frame(outcomes: Sequence[SchemeOutcome]) -> pd.DataFrame:
    """:func:`comparison_rows` as a DataFrame indexed by ``scheme`` (rows in preset order)."""
    import pandas as pd

    rows = comparison_rows(outcomes)
    if not rows:
        return pd.DataFrame(columns=["scheme"]).set_index("scheme")
    return pd.DataFrame.from_records(rows).set_index("scheme")


def scheme_document(outcome: SchemeOutcome) -> dict[str, Any]:
    """One run in detail (JSON-ready): config, KPIs, sub-markets and conflicts."""
    c = outcome.config
    return {
        "scheme": c.id,
        "title": c.title,
        "market_model": str(c.market_model),
        "allocation": str(c.allocation),
        "tso_access_to_ders": c.tso_access_to_ders,
        "dso_grid_in_tso_market": str(c.dso_grid_in_tso_market),
        "kpis": outcome.kpis,
        "markets": [
            {
                "id": m.id,
                "buyer_ids": list(m.buyer_ids),
                "areas": list(m.areas),
                "needs": m.needs,
                "bids_offered": m.bids_offered,
                "bids_forwarded": m.bids_forwarded,
                "accepted_bids": len({bid for bid, _ in m.accepted_mw}),
                "solver_s": m.solver_s,
            }
            for m in outcome.markets
        ],
        "conflicts": [
            {
                "kind": str(x.kind),
                "area_id": x.area_id,
                "mtu": x.mtu,
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
