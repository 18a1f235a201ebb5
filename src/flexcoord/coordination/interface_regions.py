"""The DSO areas' feasible PQ regions that bound the TSO's market (evolvDSO's ICPF, seed L1491).

In the ``pq_region`` treatment of the DSO grid (:class:`~flexcoord.coordination.config.
DsoGridInTsoMarket`), the TSO's market does not see the DSO grid at all, only, per DSO area and
MTU, the range of interface points ``(P_if, Q_if)`` the area's forwarded bids can reach while
every DSO limit of the area's linear model holds: ICPF's "feasible active and reactive power
range at TSO–DSO boundaries". :func:`interface_regions` computes them
(:func:`~flexcoord.coordination.aggregation.feasible_pq_region` on the area's model at the MTU's
base case, the bids' volumes as the units' boxes) and :meth:`InterfaceRegions.constrain` states
them on two interface-flow columns per area
(:func:`~flexcoord.coordination.aggregation.pq_constraints.with_pq_region_flows`).

Choices (the seed is silent):

- **Units' boxes from the bids**, not from the units' ranges: the region is what the TSO could
  buy there, per MTU. A bid's MW on a group are shared over its units by their active ranges; an
  active bid with ``q_mvar_per_mw = k`` widens the unit's reactive box by ``k`` × its MW (the LP
  treats P and Q of a unit independently, so the region is a little larger than the bids' exact
  P–Q lines). A reactive bid widens the reactive box only.
- **Support halfplanes in** :data:`REGION_DIRECTIONS` **fixed directions**, no refinement: the
  same coefficients in every MTU (only the bounds move), so one set of rows per area serves the
  whole day. This is the outer polygon of the sampled directions; it reaches beyond the exact
  region by at most the region's ``approximation_gap_mw``.
- **An empty region** (no dispatch meets the DSO limits at the MTU's base case) holds the area's
  interface at its base point: the TSO may not move it.
- **Base case**: each MTU's branch flows of the scenario's forecast moved by the dispatch so far
  (the DSO markets'), the sensitivities those of the area's model (as the aggregated offers of
  :mod:`flexcoord.coordination.interface` do).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from flexcoord.clearing.grid_constraints import GridConstraints
from flexcoord.coordination.aggregation import DsoLinearModel, UnitBoxes, feasible_pq_region
from flexcoord.coordination.aggregation.linear_program import new_highs
from flexcoord.coordination.aggregation.pq_constraints import with_pq_region_flows
from flexcoord.coordination.aggregation.pq_region import PqRegion
from flexcoord.coordination.interface import bids_by_interval
from flexcoord.domain import Bid, Direction, Interval, PowerType, Register

if TYPE_CHECKING:
    from flexcoord.grid.forecast import OperatingForecast

__all__ = ["REGION_DIRECTIONS", "AreaRegions", "InterfaceRegions", "interface_regions"]

#: Support directions per region (16: a polygon of 16 sides, 16 LPs per area and MTU).
REGION_DIRECTIONS = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class AreaRegions:
    """One DSO area's regions: its model (the flows' sensitivities) and a region per MTU of the
    scenario (``None``: no forwarded bid of the area in that MTU)."""

    model: DsoLinearModel
    regions: tuple[PqRegion | None, ...]

    @property
    def area_id(self) -> str:
        """The DSO area."""
        return self.model.area_id


@dataclass(frozen=True, slots=True, kw_only=True)
class InterfaceRegions:
    """The regions of every DSO area with forwarded bids, for the TSO's market."""

    areas: tuple[AreaRegions, ...] = ()

    def constrain(self, gc: GridConstraints) -> GridConstraints:
        """``gc`` with every area's regions on its interface-flow columns (a new object)."""
        for area in self.areas:
            gc = with_pq_region_flows(gc, area.model, area.regions)
        return gc


def interface_regions(
    register: Register,
    models: Mapping[str, DsoLinearModel],
    forecast: OperatingForecast,
    intervals: Sequence[Interval],
    bids_by_area: Mapping[str, Sequence[Bid]],
) -> InterfaceRegions:
    """The regions of the areas of ``bids_by_area`` (those with a model), MTU by MTU.

    Args:
        register: Knows the bids' resources and products.
        models: The DSO areas' linear models.
        forecast: The base case per MTU (branch flows replace the models' own).
        intervals: The scenario's MTUs (the forecast's columns).
        bids_by_area: The bids the TSO's market is offered, by DSO area.
    """
    out = []
    for area_id, bids in sorted(bids_by_area.items()):
        model = models.get(area_id)
        if model is None or not bids:
            continue
        rows = forecast.branch_rows(model.branch_names)
        regions: list[PqRegion | None] = []
        highs = new_highs()  # one instance for the area's regions
        in_mtu = bids_by_interval(bids)  # the others offer nothing in the MTU
        for t, interval in enumerate(intervals):
            boxes = bid_boxes(register, model, in_mtu.get(interval, []), interval)
            if boxes is None:
                regions.append(None)
                continue
            at_t = model.with_branch_flows(forecast.branch_flow_mw[rows, t])
            regions.append(
                feasible_pq_region(
                    at_t, boxes, directions=REGION_DIRECTIONS, refine_budget=0, highs=highs
                )
            )
        if any(r is not None for r in regions):
            out.append(AreaRegions(model=model, regions=tuple(regions)))
    return InterfaceRegions(areas=tuple(out))


def bid_boxes(
    register: Register, model: DsoLinearModel, bids: Sequence[Bid], interval: Interval
) -> UnitBoxes | None:
    """The units' change boxes that ``bids`` offer in ``interval`` (module docstring), or
    ``None`` when none of them offers anything there."""
    dp: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])  # unit → [down, up] MW
    dq: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])  # unit → [down, up] Mvar
    for bid in bids:
        mw = sum(q.quantity for q in bid.quantities if q.interval == interval)
        if mw <= 0:
            continue
        reactive = register.product(bid.product_id).power_type == PowerType.REACTIVE
        side = 1 if bid.direction == Direction.UP else 0
        units = register.units_of(bid.resource_id)
        ranges = np.array([max(u.p_max_mw - u.p_min_mw, 0.0) for u in units])
        shares = ranges / ranges.sum() if ranges.sum() > 0 else np.full(len(units), 1 / len(units))
        k = abs(bid.q_mvar_per_mw or 0.0)
        for unit, share in zip(units, shares.tolist(), strict=True):
            if reactive:
                dq[unit.id][side] += mw * share
                continue
            dp[unit.id][side] += mw * share
            dq[unit.id][0] += k * mw * share
            dq[unit.id][1] += k * mw * share
    ids = sorted(set(dp) | set(dq))
    if not ids:
        return None
    buses = [register.connection_point(register.unit(u).connection_point_id).bus for u in ids]
    known = set(model.bus_ids.tolist())
    keep = [i for i, bus in enumerate(buses) if bus in known]
    if not keep:
        return None
    ids = [ids[i] for i in keep]
    return UnitBoxes(
        unit_ids=tuple(ids),
        bus_ids=np.array([buses[i] for i in keep], dtype=np.int64),
        p_mw=np.zeros(len(ids)),
        q_mvar=np.zeros(len(ids)),
        dp_min_mw=-np.array([dp[u][0] for u in ids]),
        dp_max_mw=np.array([dp[u][1] for u in ids]),
        dq_min_mvar=-np.array([dq[u][0] for u in ids]),
        dq_max_mvar=np.array([dq[u][1] for u in ids]),
    )
