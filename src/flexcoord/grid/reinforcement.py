"""The reinforcement that removes an asset's violation, verified on the year's power flows
(``docs/planning.md``).

:func:`reinforce` picks, for one violating asset of a year's network, the conventional measure a
DSO planner would, applies it to a copy and re-runs the assessment
(:func:`~flexcoord.grid.timeseries.assess`, every step of the profiles) until that asset's
violation is gone:

- **Line or cable overload**: the next standard type of pandapower's library of the same kind
  (cable or overhead line) and voltage class with a larger ``max_i_ka``, the smallest whose
  rating brings the peak under the limit; when no standard type does, a parallel line of the
  present type (``parallel + 1``: TDFlex's "doubling the branch"), then more.
- **Transformer overload**: the next larger standard type with the same rated voltages, else a
  parallel transformer.
- **Over- or undervoltage at a bus**: a parallel cable on every line of the path from the feeding
  transformer to the bus (halving the path's impedance halves the voltage rise or drop along
  it), then another.

CAPEX: per km of new cable or line (replacement or parallel: the cable is laid either way) at the
voltage level's and area type's figure of the catalogue, per transformer at HV/MV or MV/LV. The
area type (``auto``) is urban when the SimBench code says ``urban`` or ``comm``, else rural.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import networkx as nx
import pandapower as pp
import pandapower.topology as top
import pandas as pd

from flexcoord.errors import InvalidInputError, Issue
from flexcoord.grid.timeseries import assess

if TYPE_CHECKING:
    from flexcoord.schemas.plan import CostsSection

__all__ = [
    "Reinforcement",
    "apply_reinforcement",
    "reinforce",
    "reinforcement_table",
    "remaining_violation",
]

_MAX_TRIES: Final = 6


@dataclass(frozen=True, slots=True, kw_only=True)
class Reinforcement:
    """One asset's measure (module docstring).

    Attributes:
        asset / kind: the violating asset (``line:44``, ``trafo:0``, ``bus:15``) and its kind.
        measure: ``replace_type``, ``parallel`` or ``feeder_parallel``.
        branches: the reinforced branches, with the standard type each gets and its parallel
            count (``(("line", 44, "NA2XS2Y 1x240 RM/25 12/20 kV", 1), …)``).
        length_km: new cable or line laid. capex_eur: the investment.
        verified: the re-run assessment shows no violation of ``kind`` at ``asset``.
        steps_before / steps_after: its violating steps before and after.
        description: the measure in a planner's words.
    """

    asset: str
    kind: str
    measure: str
    branches: tuple[tuple[str, int, str, int], ...]
    length_km: float
    capex_eur: float
    verified: bool
    steps_before: int
    steps_after: int
    description: str
    lifetime_years: int


def remaining_violation(net: Any, asset: str, kind: str) -> int:
    """The steps of the year at which ``asset`` still violates with ``kind``."""
    summary = assess(net, keep_violations=False).summary
    rows = summary[(summary["asset"] == asset) & (summary["kind"] == kind)]
    return int(rows["steps"].sum())


def apply_reinforcement(net: Any, reinforcement: Reinforcement) -> Any:
    """A copy of ``net`` with the measure applied (the caller's network is unchanged)."""
    out = copy.deepcopy(net)
    for table, index, std_type, parallel in reinforcement.branches:
        if std_type and out[table].at[index, "std_type"] != std_type:
            pp.change_std_type(out, index, std_type, element=table)
        out[table].at[index, "parallel"] = parallel
    return out


def _area(net: Any, costs: CostsSection) -> str:
    if costs.area != "auto":
        return costs.area
    name = str(net.get("name", "")).lower()
    return "urban" if ("urban" in name or "comm" in name) else "rural"


def _per_km(net: Any, line: int, costs: CostsSection) -> float:
    kv = float(net.bus.at[net.line.at[line, "from_bus"], "vn_kv"])
    urban = _area(net, costs) == "urban"
    if kv < 1:
        return costs.lv_cable_urban_eur_per_km if urban else costs.lv_cable_rural_eur_per_km
    if kv < 60:
        return costs.mv_cable_urban_eur_per_km if urban else costs.mv_cable_rural_eur_per_km
    return costs.hv_line_eur_per_km


def _trafo_cost(net: Any, trafo: int, costs: CostsSection) -> float:
    lv = float(net.trafo.at[trafo, "vn_lv_kv"])
    return costs.mv_lv_transformer_eur if lv < 1 else costs.hv_mv_transformer_eur


def _voltage_class(name: str) -> str:
    parts = name.split(" ")
    return " ".join(parts[-2:]) if name.endswith("kV") else parts[-1]


def _line_types(net: Any, line: int) -> list[str]:
    """Standard types of the same kind and voltage class with a larger rating, smallest first."""
    row = net.line.loc[line]
    types = pp.available_std_types(net, "line")
    now = str(row.get("std_type") or "")
    same = types[(types["type"] == row["type"]) & (types["max_i_ka"] > float(row["max_i_ka"]))]
    if now:
        same = same[[_voltage_class(str(n)) == _voltage_class(now) for n in same.index]]
    return list(same.sort_values("max_i_ka").index)


def _trafo_types(net: Any, trafo: int) -> list[str]:
    row = net.trafo.loc[trafo]
    types = pp.available_std_types(net, "trafo")
    same = types[
        (types["vn_hv_kv"] == row["vn_hv_kv"])
        & (types["vn_lv_kv"] == row["vn_lv_kv"])
        & (types["sn_mva"] > float(row["sn_mva"]))
    ]
    return list(same.sort_values("sn_mva").index)


def _path_lines(net: Any, bus: int) -> list[int]:
    """The lines from the nearest transformer's low-voltage bus to ``bus``."""
    graph = top.create_nxgraph(net, include_trafos=False, multi=False)
    sources = [int(b) for b in net.trafo["lv_bus"] if b in graph and nx.has_path(graph, b, bus)]
    if not sources:
        return []
    lengths = {s: nx.shortest_path_length(graph, s, bus) for s in sources}
    path = nx.shortest_path(graph, min(lengths, key=lambda s: lengths[s]), bus)
    lines = []
    for a, b in itertools.pairwise(path):
        between = net.line[
            ((net.line.from_bus == a) & (net.line.to_bus == b))
            | ((net.line.from_bus == b) & (net.line.to_bus == a))
        ]
        between = between[between["in_service"]]
        if len(between):
            lines.append(int(between.index[0]))
    return lines


def _candidates(
    net: Any, asset: str, kind: str
) -> list[tuple[str, tuple[tuple[str, int, str, int], ...]]]:
    """The measures to try, mildest first."""
    table, _, number = asset.partition(":")
    index = int(number)
    out: list[tuple[str, tuple[tuple[str, int, str, int], ...]]] = []
    if table in ("line", "trafo") and kind == "overload":
        frame = net[table]
        now = str(frame.at[index, "std_type"] or "")
        parallel = int(frame.at[index, "parallel"])
        larger = _line_types(net, index) if table == "line" else _trafo_types(net, index)
        out += [("replace_type", ((table, index, t, parallel),)) for t in larger]
        out += [("parallel", ((table, index, now, parallel + k),)) for k in range(1, _MAX_TRIES)]
        return out
    if table == "bus":
        lines = _path_lines(net, index)
        if lines:
            for k in range(1, _MAX_TRIES):
                out.append(
                    (
                        "feeder_parallel",
                        tuple(
                            (
                                "line",
                                i,
                                str(net.line.at[i, "std_type"] or ""),
                                int(net.line.at[i, "parallel"]) + k,
                            )
                            for i in lines
                        ),
                    )
                )
    return out


def _capex(
    net: Any, branches: tuple[tuple[str, int, str, int], ...], costs: CostsSection
) -> tuple[float, float]:
    capex = length = 0.0
    for table, index, std_type, parallel in branches:
        frame = net[table]
        added = parallel - int(frame.at[index, "parallel"])
        replaced = std_type != str(frame.at[index, "std_type"] or "")
        count = added + (int(frame.at[index, "parallel"]) if replaced else 0)
        if table == "line":
            km = float(frame.at[index, "length_km"]) * count
            length += km
            capex += km * _per_km(net, index, costs)
        else:
            capex += count * _trafo_cost(net, index, costs)
    return capex, length


def _describe(measure: str, branches: tuple[tuple[str, int, str, int], ...], net: Any) -> str:
    table, index, std_type, parallel = branches[0]
    if measure == "replace_type":
        return f"replace {table} {index} ({net[table].at[index, 'std_type']}) by {std_type}"
    if measure == "parallel":
        return f"{table} {index} ({std_type}) with {parallel} in parallel"
    return f"{len(branches)} line(s) of the feeder to the bus with {parallel} cable(s) in parallel"


def reinforce(net: Any, asset: str, kind: str, *, costs: CostsSection) -> Reinforcement:
    """The mildest measure that removes ``asset``'s ``kind`` violation in ``net``'s year
    (module docstring); ``verified=False`` when none of the tried measures does.

    Raises:
        InvalidInputError: an asset the network does not hold, or without any measure.
    """
    table, _, number = asset.partition(":")
    if (
        table not in ("line", "trafo", "bus")
        or not number.isdigit()
        or int(number) not in net[table].index
    ):
        raise InvalidInputError(
            [
                Issue(
                    kind="Asset",
                    object_id=asset,
                    field="asset",
                    value=asset,
                    message="is not a line, transformer or bus of the network",
                )
            ]
        )
    before = remaining_violation(net, asset, kind)
    candidates = _candidates(net, asset, kind)
    if not candidates:
        raise InvalidInputError(
            [
                Issue(
                    kind="Asset",
                    object_id=asset,
                    field="kind",
                    value=kind,
                    message="has no reinforcement measure (no standard type, no feeder path)",
                )
            ]
        )
    lifetime = costs.transformer_lifetime_years if table == "trafo" else costs.cable_lifetime_years
    last: Reinforcement | None = None
    for measure, branches in candidates:
        capex, length = _capex(net, branches, costs)
        trial = Reinforcement(
            asset=asset,
            kind=kind,
            measure=measure,
            branches=branches,
            length_km=length,
            capex_eur=capex,
            verified=False,
            steps_before=before,
            steps_after=before,
            description=_describe(measure, branches, net),
            lifetime_years=lifetime,
        )
        after = remaining_violation(apply_reinforcement(net, trial), asset, kind) if before else 0
        last = dataclasses.replace(trial, verified=after == 0, steps_after=after)
        if after == 0:
            return last
    assert last is not None
    return last


def reinforcement_table(items: list[Reinforcement]) -> pd.DataFrame:
    """One row per measure."""
    return pd.DataFrame([dataclasses.asdict(r) | {"branches": str(r.branches)} for r in items])
