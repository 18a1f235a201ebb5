"""Aggregated equivalent offer at a coupling point (OneNet Poland: L657–L659).

For an interface quantity ``V`` (MW delivered at the coupling point in the bids' direction: UP
lowers ``P_if``, DOWN raises it) the least-cost DSO-feasible combination of the area's bids is an
LP; its cost ``C(V)`` is convex and piecewise linear in ``V`` (a min-cost LP parametrised in a
right-hand side). The curve samples it at ``levels`` evenly spaced quantities up to the largest
DSO-feasible ``V``; each step's price is ``ΔC/ΔV`` over the slice, so prices never decrease, and a
step lists the bids backing its cumulative level. Interface losses are in ``V`` (the model's
interface sensitivities), so 1 MW at the coupling point may need slightly more or less than 1 MW
of bids.

Indivisible bids: ``indivisible="relax"`` (default) uses the LP relaxation — the curve is then an
optimistic price bound for those bids (a MILP step curve is not convex, so a merit order of it is
not well defined; left to the clearing); ``"exclude"`` leaves them out. XOR sets enter as
``Σ x_b / q_b ≤ 1`` (exact for divisible bids, the relaxation otherwise). Linked (parent) and block
bids are treated as independent.

What the TSO receives: :meth:`OfferCurve.as_bids` — one divisible domain
:class:`~flexcoord.domain.Bid` per step on the virtual resource ``"interface:<area id>"``
(registered by the coordination layer as a resource at the coupling point), each step's bid
linked to the previous one by ``parent_bid_id`` so a clearing takes them in merit order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from flexcoord.coordination.aggregation.bid_columns import (
    BidColumns,
    bid_columns,
    with_capability,
)
from flexcoord.coordination.aggregation.dso_model import DsoLinearModel
from flexcoord.coordination.aggregation.linear_program import (
    INF,
    LpArrays,
    csc_of_dense,
    highs_from_arrays,
    is_infeasible,
    is_optimal,
    solution,
)
from flexcoord.domain import (
    Bid,
    ConnectionPoint,
    Direction,
    Interval,
    MtuQuantity,
    Register,
    Technology,
    Unit,
)

__all__ = ["OfferCurve", "OfferStep", "aggregate_unit", "aggregated_offer_curve", "bid_lp"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class OfferStep:
    """One step of the aggregated curve.

    Attributes:
        quantity_mw: Width of the step at the coupling point.
        price_eur_per_mwh: Marginal price over the step.
        cumulative_mw: Interface quantity at the end of the step.
        allocation_mw: Accepted MW per bid id at ``cumulative_mw`` (bids at 0 left out).
    """

    quantity_mw: float
    price_eur_per_mwh: float
    cumulative_mw: float
    allocation_mw: Mapping[str, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class OfferCurve:
    """The equivalent offer of a DSO area at its coupling point(s) in one direction.

    Attributes:
        area_id: The DSO area.
        coupling_point_ids: Where the offer is delivered.
        direction: UP (less import / more export at the interface) or DOWN.
        steps: Steps in merit order (prices non-decreasing).
        max_quantity_mw: The largest DSO-feasible interface quantity.
        bid_ids: The bids considered.
    """

    area_id: str
    coupling_point_ids: tuple[str, ...]
    direction: Direction
    steps: tuple[OfferStep, ...]
    max_quantity_mw: float
    bid_ids: tuple[str, ...]

    def as_bids(  # noqa: PLR0913 - keyword-only: who, what, when, where, and the id suffix
        self,
        *,
        fsp_id: str,
        product_id: str,
        interval: Interval,
        submitted_at: datetime,
        resource_id: str | None = None,
        id_suffix: str = "",
    ) -> tuple[Bid, ...]:
        """The curve as divisible domain bids on a virtual resource at the coupling point.

        Args:
            fsp_id: Who forwards the offer (the DSO or the platform acting for it).
            product_id: The TSO product.
            interval: The MTU.
            submitted_at: Forwarding time.
            resource_id: The virtual resource; default ``"interface:<area id>"``.
            id_suffix: Appended to each step's id (and so to its ``parent_bid_id``), e.g.
                ``"@20260602T1000"`` to make the ids unique per MTU.
        """
        resource = resource_id or f"interface:{self.area_id}"
        out: list[Bid] = []
        for k, step in enumerate(self.steps):
            if step.quantity_mw <= 1e-9:
                continue
            out.append(
                Bid(
                    id=f"{resource}:{self.direction.value}:{k}{id_suffix}",
                    fsp_id=fsp_id,
                    resource_id=resource,
                    product_id=product_id,
                    direction=self.direction,
                    quantities=(MtuQuantity(interval=interval, quantity=step.quantity_mw),),
                    submitted_at=submitted_at,
                    activation_price_eur_per_mwh=step.price_eur_per_mwh,
                    divisible=True,
                    parent_bid_id=out[-1].id if out else None,
                )
            )
        return tuple(out)


def bid_lp(model: DsoLinearModel, cols: BidColumns) -> tuple[LpArrays, FloatArray]:
    """LP over accepted MW per bid (cost = price) with the area's limits, XOR rows and the
    unit-capability rows (:func:`~.bid_columns.with_capability`).

    Returns the arrays and ``g_p``, the change of ``P_if`` per accepted MW of each bid.
    """
    q = cols.quantity_mw
    zero = np.zeros(cols.n)
    rows = with_capability(model.limit_rows(cols.ep, cols.eq, col_lower=zero, col_upper=q), cols)
    g_p, _ = model.interface_rows(cols.ep, cols.eq)
    sets: dict[str, list[int]] = {}
    for j, b in enumerate(cols.bids):
        if b.exclusive_set is not None:
            sets.setdefault(b.exclusive_set, []).append(j)
    xor = np.zeros((len(sets), cols.n))
    for i, members in enumerate(sets.values()):
        xor[i, members] = 1.0 / q[members]
    a = np.vstack([rows.a, xor])
    return (
        LpArrays(
            cost=cols.price_eur_per_mwh.copy(),
            col_lower=zero,
            col_upper=q.copy(),
            a=csc_of_dense(a),
            row_lower=np.full(a.shape[0], -INF),
            row_upper=np.concatenate([rows.upper, np.ones(len(sets))]),
            col_names=tuple(f"bid-accept[{b}]" for b in cols.ids),
            row_names=rows.names + tuple(f"exclusive[{s}]" for s in sets),
        ),
        g_p,
    )


def _least_cost(h: Any, row: int, v: float, v_max: float) -> FloatArray:
    """The least-cost combination delivering ``v`` MW (the interface row fixed at ``v``).

    Warm-started from the previous level, HiGHS can end with status 'Unknown' when the row sits
    at the very edge of the feasible set (``v = v_max``: the largest quantity is reached only by
    a degenerate vertex). Then the model is solved again from scratch, and if that fails too the
    row is given a feasibility tolerance below ``v`` (1e-9 of ``v_max``): the level is the same
    to well below the precision of any MW figure.
    """
    h.changeRowBounds(row, v, v)
    h.run()
    if not is_optimal(h):
        h.clearSolver()
        h.run()
    if not is_optimal(h):
        h.changeRowBounds(row, v - 1e-9 * max(v_max, 1.0), v)
        h.clearSolver()
        h.run()
    return solution(h, f"the least-cost combination for {v:.3f} MW")


def aggregated_offer_curve(  # noqa: PLR0913 - public: model, bids, register, five keyword options
    model: DsoLinearModel,
    bids: Sequence[Bid],
    register: Register,
    *,
    direction: Direction,
    levels: int = 20,
    at: datetime | None = None,
    indivisible: Literal["relax", "exclude"] = "relax",
    highs: Any | None = None,
) -> OfferCurve:
    """The price–quantity curve of ``model``'s area at its coupling point(s) (module docstring).

    Args:
        model: The linearised DSO area (its margins apply).
        bids: Candidate bids; only the area's bids of ``direction`` in the MTU of ``at`` count.
        register: Resolves bids to units and buses.
        direction: UP or DOWN at the interface.
        levels: Number of quantity levels sampled (steps before merging equal prices).
        at: Instant selecting the MTU (``None``: each bid's first MTU).
        indivisible: ``"relax"`` or ``"exclude"`` indivisible bids.
        highs: A HiGHS instance (:func:`~.linear_program.new_highs`) to solve in, for a caller
            computing many curves; its model is replaced. ``None``: a new one.

    Example:
        See ``tests/coordination/test_aggregation_offer_curve.py``.
    """
    direction = Direction(direction)
    pool = [b for b in bids if indivisible == "relax" or b.divisible]
    cols = bid_columns(model, pool, register, at=at, direction=direction)
    if cols.n == 0:
        return OfferCurve(
            area_id=model.area_id,
            coupling_point_ids=model.coupling_point_ids,
            direction=direction,
            steps=(),
            max_quantity_mw=0.0,
            bid_ids=(),
        )
    arrays, g_p = bid_lp(model, cols)
    delivered = -g_p if direction is Direction.UP else g_p  # V per accepted MW
    if _is_knapsack(arrays, cols, delivered):
        v_max, steps = _knapsack_curve(cols, delivered, levels)
    else:
        v_max, steps = _lp_curve(arrays, cols, delivered, levels, highs)
    return OfferCurve(
        area_id=model.area_id,
        coupling_point_ids=model.coupling_point_ids,
        direction=direction,
        steps=steps,
        max_quantity_mw=v_max,
        bid_ids=cols.ids,
    )


def _lp_curve(
    arrays: LpArrays, cols: BidColumns, delivered: FloatArray, levels: int, highs: Any | None
) -> tuple[float, tuple[OfferStep, ...]]:
    """The largest interface quantity and the curve's steps, solved in HiGHS."""
    h = highs_from_arrays(arrays, into=highs)
    idx = np.arange(cols.n, dtype=np.int32)
    h.changeColsCost(cols.n, idx, -delivered)
    h.run()
    v_max = 0.0
    if not is_infeasible(h):
        v_max = max(float(solution(h, "the largest interface quantity") @ delivered), 0.0)
    if v_max <= 1e-9:
        return v_max, ()
    h.changeColsCost(cols.n, idx, cols.price_eur_per_mwh)
    nz = np.flatnonzero(delivered).astype(np.int32)
    h.addRow(0.0, 0.0, len(nz), nz, delivered[nz])
    return v_max, _steps(h, cols, v_max, levels)


def _is_knapsack(arrays: LpArrays, cols: BidColumns, delivered: FloatArray) -> bool:
    """Whether the curve's LP is a continuous knapsack: no limit, capability or XOR row can
    bind, every bid moves the interface the offered way and none has a negative price."""
    return (
        arrays.a.shape[0] == 0
        and bool(np.all(delivered > 0))
        and bool(np.all(cols.price_eur_per_mwh >= 0))
    )


def _knapsack_curve(
    cols: BidColumns, delivered: FloatArray, levels: int
) -> tuple[float, tuple[OfferStep, ...]]:
    """The curve of a knapsack LP (:func:`_is_knapsack`) without solving it: the least cost of
    each level fills the bids cheapest per interface MW first (``price / delivered``, ties in
    bid order), which is the LP's optimum; the largest quantity is every bid in full."""
    order = np.argsort(cols.price_eur_per_mwh / delivered, kind="stable")
    reach = cols.quantity_mw[order] * delivered[order]  # interface MW of each bid in full
    cumulative = np.cumsum(reach)
    v_max = float(cumulative[-1])
    if v_max <= 1e-9:
        return max(v_max, 0.0), ()

    def least_cost(v: float) -> FloatArray:
        x = np.zeros(cols.n)
        full = int(np.searchsorted(cumulative, v, side="right"))
        x[order[:full]] = cols.quantity_mw[order[:full]]
        if full < cols.n:
            before = float(cumulative[full - 1]) if full else 0.0
            j = order[full]
            x[j] = min(max((v - before) / delivered[j], 0.0), cols.quantity_mw[j])
        return x

    return v_max, _levelled_steps(cols, v_max, levels, least_cost)


def _steps(h: Any, cols: BidColumns, v_max: float, levels: int) -> tuple[OfferStep, ...]:
    """The curve's steps from the LP in ``h`` (the interface row is its last)."""
    row = h.getNumRow() - 1
    return _levelled_steps(cols, v_max, levels, lambda v: _least_cost(h, row, v, v_max))


def _levelled_steps(
    cols: BidColumns, v_max: float, levels: int, least_cost: Callable[[float], FloatArray]
) -> tuple[OfferStep, ...]:
    """The curve's steps: the least cost at ``levels`` equal quantity levels up to ``v_max``,
    steps of equal price merged."""
    runs: list[list[float]] = []  # [quantity, price, cumulative] of each step so far
    last_x: list[FloatArray] = []  # the dispatch at each step's last level
    prev_v, prev_c = 0.0, 0.0
    for k in range(1, levels + 1):
        v = v_max * k / levels
        x = least_cost(v)
        cost = float(x @ cols.price_eur_per_mwh)
        price = (cost - prev_c) / (v - prev_v)
        if runs and abs(price - runs[-1][1]) <= 1e-6 * max(1.0, abs(price)):
            runs[-1][0] += v - prev_v  # merged: the step's price stays, it ends here
            runs[-1][2] = v
            last_x[-1] = x
        else:
            runs.append([v - prev_v, price, v])
            last_x.append(x)
        prev_v, prev_c = v, cost
    # the allocation is read once per step (at its end), not at every level
    return tuple(
        OfferStep(
            quantity_mw=quantity,
            price_eur_per_mwh=price,
            cumulative_mw=cumulative,
            allocation_mw=_allocation(cols.ids, x),
        )
        for (quantity, price, cumulative), x in zip(runs, last_x, strict=True)
    )


def _allocation(ids: Sequence[str], x: FloatArray) -> dict[str, float]:
    """Accepted MW per bid id, bids at (or within 1e-9 MW of) 0 left out."""
    nz = np.flatnonzero(x > 1e-9)
    return dict(zip([ids[j] for j in nz.tolist()], x[nz].tolist(), strict=True))


def aggregate_unit(  # noqa: PLR0913 - the unit's identity and place, then its range
    unit_id: str,
    *,
    fsp_id: str,
    bus: int,
    area_id: str,
    down_mw: float,
    up_mw: float,
    coupling_point_id: str | None = None,
) -> tuple[ConnectionPoint, Unit]:
    """The virtual unit that carries aggregated offers (curve steps, a node's potential) and its
    connection point ``cp:<unit_id>``: ``Technology.AGGREGATE``, range ``[-down_mw, up_mw]``
    widened by 1 W so a step at the full range validates."""
    point = ConnectionPoint(
        id=f"cp:{unit_id}", bus=bus, area_id=area_id, coupling_point_id=coupling_point_id
    )
    unit = Unit(
        id=unit_id,
        fsp_id=fsp_id,
        connection_point_id=point.id,
        technology=Technology.AGGREGATE,
        p_min_mw=-down_mw - 1e-6,
        p_max_mw=up_mw + 1e-6,
    )
    return point, unit
