"""The result document and tidy tables of an Industry4Redispatch day (``flexcoord pareto``).

:func:`pareto_document` turns a :class:`~flexcoord.coordination.aggregation.pareto_day.ParetoDay`
and the :class:`~flexcoord.simulation.industry.IndustrialCase` it ran on into a JSON-ready
document (``docs/results.md``, *The Pareto day document*); :func:`pareto_tables` gives its tidy
tables (``pareto_mtus``, ``pareto_front``, ``pareto_sites``, ``pareto_bids``) for
:func:`~flexcoord.simulation.tables.write_tables`. MTUs are ISO 8601 strings of their start (UTC),
money in €, power in MW.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from flexcoord.coordination.aggregation.pareto_day import MtuFront, ParetoDay
from flexcoord.simulation.industry import IndustrialCase

__all__ = ["FRONT_COLUMNS", "MTU_COLUMNS", "pareto_document", "pareto_tables"]

MTU_COLUMNS = (
    "mtu",
    "bids",
    "combinations",
    "linear_feasible",
    "ac_feasible",
    "margin_rejected",
    "margin_rejected_dominating",
    "front_size",
    "front_max_power_mw",
    "front_max_cost_eur",
    "front_max_interface_mw",
    "base_interface_p_mw",
    "base_loading_ratio",
    "base_vm_excess_pu",
    "wall_s",
)
FRONT_COLUMNS = ("mtu", "point", "cost_eur", "power_mw", "interface_mw", "bids", "bid_ids")
_SITE_COLUMNS = ("unit_id", "bus", "rating_mw", "min_mw", "cos_phi", "two_shifts")
_BID_COLUMNS = (
    "bid_id",
    "unit_id",
    "direction",
    "quantity_mw",
    "price_eur_per_mwh",
    "exclusive_set",
    "q_mvar_per_mw",
    "mtus",
)


def _mtu_row(m: MtuFront) -> dict[str, Any]:
    top = m.front[-1] if m.front else None
    return {
        "mtu": m.interval.start.isoformat(),
        "bids": len(m.bid_ids),
        "combinations": m.n_combinations,
        "linear_feasible": m.n_linear_feasible,
        "ac_feasible": m.n_ac_feasible,
        "margin_rejected": m.n_margin_rejected,
        "margin_rejected_dominating": m.n_margin_rejected_dominating,
        "front_size": m.front_size,
        "front_max_power_mw": None if top is None else round(top.power_mw, 6),
        "front_max_cost_eur": None if top is None else round(top.cost_eur, 2),
        "front_max_interface_mw": None if top is None else round(top.interface_mw, 6),
        "base_interface_p_mw": round(m.base_interface_p_mw, 6),
        "base_loading_ratio": round(m.base_loading_ratio, 6),
        "base_vm_excess_pu": round(m.base_vm_excess_pu, 6),
        "wall_s": round(m.wall_s, 4),
    }


def _totals(day: ParetoDay) -> dict[str, Any]:
    def total(field: str) -> int | None:
        values = [getattr(m, field) for m in day.mtus]
        return None if any(v is None for v in values) else int(sum(values))

    rejected = [m.n_margin_rejected or 0 for m in day.mtus]
    return {
        "combinations": total("n_combinations"),
        "linear_feasible": total("n_linear_feasible"),
        "ac_feasible": total("n_ac_feasible"),
        "margin_rejected": total("n_margin_rejected"),
        "margin_rejected_dominating": total("n_margin_rejected_dominating"),
        "mtus_with_margin_rejections": sum(r > 0 for r in rejected),
        "front_points": sum(m.front_size for m in day.mtus),
        "mtus_base_beyond_voltage_band": sum(m.base_vm_excess_pu > 0 for m in day.mtus),
        "worst_base_vm_excess_pu": round(max(m.base_vm_excess_pu for m in day.mtus), 6),
    }


def pareto_document(
    day: ParetoDay,
    case: IndustrialCase,
    *,
    grid_code: str,
    seed: int,
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON-ready document of a Pareto day (``provenance`` first when given)."""
    head: dict[str, Any] = {} if provenance is None else {"provenance": dict(provenance)}
    return head | {
        "grid": grid_code,
        "area_id": day.area_id,
        "direction": str(day.direction),
        "safety_margin": day.safety_margin,
        "voltage_margin_pu": day.voltage_margin_pu,
        "voltages": day.voltages,
        "linearisation": str(day.linearisation),
        "ac_check": day.check_ac,
        "seed": seed,
        "day": {
            "mtus": len(day.mtus),
            "start": day.mtus[0].interval.start.isoformat(),
            "end": day.mtus[-1].interval.end.isoformat(),
        },
        "totals": _totals(day),
        "timing": {
            "wall_s": round(day.wall_s, 3),
            "linearise_s": round(day.linearise_s, 3),
            "seconds_per_mtu": round(day.seconds_per_mtu, 4),
            "ac_flows": day.n_ac_flows,
        },
        "mtus": [_mtu_row(m) for m in day.mtus],
        "front": [
            {
                "mtu": m.interval.start.isoformat(),
                "point": k,
                "cost_eur": round(p.cost_eur, 2),
                "power_mw": round(p.power_mw, 6),
                "interface_mw": round(p.interface_mw, 6),
                "bids": len(p.bid_ids),
                "bid_ids": list(p.bid_ids),
            }
            for m in day.mtus
            for k, p in enumerate(m.front)
        ],
        "sites": [
            {
                "unit_id": s.unit_id,
                "bus": s.bus,
                "rating_mw": s.rating_mw,
                "min_mw": s.min_mw,
                "cos_phi": s.cos_phi,
                "two_shifts": s.two_shifts,
            }
            for s in case.sites
        ],
        "bids": [
            {
                "bid_id": b.id,
                "unit_id": b.resource_id,
                "direction": str(b.direction),
                "quantity_mw": b.quantities[0].quantity,
                "price_eur_per_mwh": b.activation_price_eur_per_mwh,
                "exclusive_set": b.exclusive_set,
                "q_mvar_per_mw": b.q_mvar_per_mw,
                "mtus": len(b.quantities),
            }
            for b in case.bids
        ],
    }


def pareto_tables(document: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """The document's tidy tables: one row per MTU, per front point, per site, per bid.

    Example:
        >>> doc = {"mtus": [], "front": [], "sites": [], "bids": []}
        >>> sorted(pareto_tables(doc))
        ['pareto_bids', 'pareto_front', 'pareto_mtus', 'pareto_sites']
    """

    def frame(key: str, columns: tuple[str, ...]) -> pd.DataFrame:
        rows = [
            {c: ";".join(r[c]) if isinstance(r.get(c), list) else r.get(c) for c in columns}
            for r in document[key]
        ]
        return pd.DataFrame(rows, columns=list(columns))

    return {
        "pareto_mtus": frame("mtus", MTU_COLUMNS),
        "pareto_front": frame("front", FRONT_COLUMNS),
        "pareto_sites": frame("sites", _SITE_COLUMNS),
        "pareto_bids": frame("bids", _BID_COLUMNS),
    }
