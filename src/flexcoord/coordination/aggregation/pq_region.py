"""Feasible PQ operating region of a DSO area at its coupling point (evolvDSO ICPF-style).

The region is the set of interface points ``(P_if, Q_if)`` (TSO → DSO positive, see
:mod:`.dso_model`) that some dispatch of the area's flexible units can reach while every modelled
DSO limit holds. With the linear DSO model it is the projection of a polytope onto two
coordinates, hence a convex polygon, computed by its **support function**: for each direction
``θ_k = 2πk/K`` one LP maximises ``cos θ_k · P_if + sin θ_k · Q_if`` over the unit dispatch. One
HiGHS model is passed once and re-solved with changed costs (warm start from the previous basis).

**Refinement** (the exact projection algorithm for polytopes): for each edge of the inner
polygon, one more LP in the edge's outward normal; if the optimum lies beyond the edge by more
than ``refine_tol_mw`` the new point becomes a vertex, else the edge is a true facet of the region.
Rounds repeat until every edge is a facet or the LP budget is spent, so the polygon is exact up to
``refine_tol_mw`` on a linear model — not merely as fine as the direction grid.

Two polygons come out and bracket the exact region:

* **inner**: the convex hull of the optimal points (each is reached by a feasible dispatch, and
  convex combinations of feasible dispatches are feasible in a linear model) — every point in it
  is deliverable. :meth:`PqRegion.as_halfplanes` and :meth:`PqRegion.contains` use it, so a TSO
  that keeps its interface schedule inside never asks for undeliverable flexibility;
* **outer**: the halfplanes ``cos θ_k P + sin θ_k Q ≤ h(θ_k)`` — nothing outside is deliverable.

:attr:`PqRegion.approximation_gap_mw` is the largest distance between the two (after refinement:
the largest excess found beyond an inner edge). The tolerance against the AC grid is larger and
comes from the linearisation (see ``docs/aggregation.md`` for the measured figures).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from flexcoord.coordination.aggregation.dso_model import DsoLinearModel, UnitBoxes
from flexcoord.coordination.aggregation.linear_program import (
    INF,
    LpArrays,
    csc_of_dense,
    highs_from_arrays,
    is_infeasible,
    solution,
)
from flexcoord.domain import Interval
from flexcoord.errors import InvalidInputError, Issue

__all__ = ["InterfaceRows", "PqRegion", "feasible_pq_region", "region_lp"]

FloatArray = NDArray[np.float64]

#: ``(names, p_coeff, q_coeff, lower, upper)`` of interface constraints over a model's buses.
InterfaceRows = tuple[tuple[str, ...], FloatArray, FloatArray, FloatArray, FloatArray]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PqRegion:
    """A DSO area's feasible interface region (module docstring).

    Attributes:
        area_id: The DSO area.
        coupling_point_ids: Its coupling points; ``P``/``Q`` are their sum, TSO → DSO positive.
        feasible: False when not even one dispatch satisfies the linear limits (empty region).
        directions_rad: The directions ``θ_k`` of the support LPs, increasing.
        support: ``h(θ_k)``, the support function (MW-Mvar).
        vertices_p_mw: Optimal ``P_if`` per direction (inner polygon, counter-clockwise).
        vertices_q_mvar: Optimal ``Q_if`` per direction.
        dispatch_p_mw: ``(n_directions, n_units)`` unit active-power changes reaching each vertex.
        dispatch_q_mvar: Unit reactive-power changes reaching each vertex.
        unit_ids: Units in the column order of the dispatches.
        base_p_mw: ``P_if`` at the operating point (no flexibility used).
        base_q_mvar: ``Q_if`` at the operating point.
        safety_margin: The model's thermal margin used.
        approximation_gap_mw: Largest distance between the inner and outer polygons.
        solve_s: Wall time of the support LPs (build excluded).
        simplex_iterations: Total simplex iterations over all directions.
    """

    area_id: str
    coupling_point_ids: tuple[str, ...]
    feasible: bool
    directions_rad: FloatArray
    support: FloatArray
    vertices_p_mw: FloatArray
    vertices_q_mvar: FloatArray
    dispatch_p_mw: FloatArray
    dispatch_q_mvar: FloatArray
    unit_ids: tuple[str, ...]
    base_p_mw: float
    base_q_mvar: float
    safety_margin: float
    approximation_gap_mw: float
    solve_s: float
    simplex_iterations: int

    @property
    def vertices(self) -> FloatArray:
        """Distinct vertices of the inner polygon, ``(n, 2)`` ``[P_mw, Q_mvar]``, CCW."""
        pts = np.column_stack([self.vertices_p_mw, self.vertices_q_mvar])
        return _distinct_cyclic(pts)

    def as_halfplanes(self) -> tuple[FloatArray, FloatArray]:
        """``(A, b)`` with unit-norm rows: the inner polygon is ``A @ [P, Q] ≤ b``.

        Inner edges plus the support halfplanes (which keep a flat region — a segment or a
        point — bounded). An empty region gives ``0 ≤ -1``.
        """
        if not self.feasible:
            return np.zeros((1, 2)), np.array([-1.0])
        normals = np.column_stack([np.cos(self.directions_rad), np.sin(self.directions_rad)])
        a_parts, b_parts = [normals], [self.support]
        pts = self.vertices
        if len(pts) >= 2:
            d = np.roll(pts, -1, axis=0) - pts
            length = np.hypot(d[:, 0], d[:, 1])
            ok = length > 1e-9
            n = np.column_stack([d[ok, 1], -d[ok, 0]]) / length[ok, None]
            a_parts.append(n)
            b_parts.append(np.einsum("ij,ij->i", n, pts[ok]))
        return np.vstack(a_parts), np.concatenate(b_parts)

    def as_interface_constraints(
        self,
        model: DsoLinearModel,
        intervals: Sequence[Interval],
        *,
        name_prefix: str | None = None,
    ) -> InterfaceRows:
        """The region as interface constraints on the area's bus injections, for a TSO clearing.

        Each halfplane ``a_p·P_if + a_q·Q_if ≤ b`` of :meth:`as_halfplanes` (redundant ones
        dropped: the support halfplanes of a full-dimensional polygon, repeated edges) becomes,
        with ``P_if ≈ interface_p_mw + interface_dp_dp·Δp + interface_dp_dq·Δq`` (``Q_if``
        likewise), a row over the injections ``Δp`` / ``Δq`` (MW / Mvar, positive into the grid)
        at ``model.bus_ids``: coefficients ``a_p·interface_dp_dp + a_q·interface_dq_dp`` on ``Δp``
        and ``a_p·interface_dp_dq + a_q·interface_dq_dq`` on ``Δq``, upper bound
        ``b − a_p·P0 − a_q·Q0``, no lower bound. ``Δp``/``Δq`` are changes from ``model``'s
        operating point, which should be the clearing's base case. An empty region gives one
        row ``0 ≤ −1`` that no dispatch meets (a soft clearing prices it as a constant).

        Args:
            model: The model the region was computed on (its interface sensitivities).
            intervals: The MTUs; every row holds in each (bounds ``(n_c, T)``).
            name_prefix: Row names are ``<prefix>/h<j>``; default ``pq-region:<area id>``.

        Returns:
            ``(names, p_coeff, q_coeff, lower, upper)``: ``p_coeff``/``q_coeff`` ``(n_c, n_bus)``
            over ``model.bus_ids``, ``lower`` (``-inf``) and ``upper`` ``(n_c, T)``.

        Raises:
            InvalidInputError: ``model`` is of another area than the region.
        """
        if model.area_id != self.area_id:
            raise InvalidInputError(
                [
                    Issue(
                        kind="PqRegion",
                        object_id=self.area_id,
                        field="model.area_id",
                        value=model.area_id,
                        message="the model must be the one of the region's area",
                    )
                ]
            )
        a, b = self._irredundant_halfplanes()
        a_p, a_q = a[:, :1], a[:, 1:]
        p_coeff = a_p * model.interface_dp_dp[None, :] + a_q * model.interface_dq_dp[None, :]
        q_coeff = a_p * model.interface_dp_dq[None, :] + a_q * model.interface_dq_dq[None, :]
        up = b - a[:, 0] * model.interface_p_mw - a[:, 1] * model.interface_q_mvar
        n_t = len(intervals)
        prefix = name_prefix if name_prefix is not None else f"pq-region:{self.area_id}"
        width = len(str(max(len(b) - 1, 0)))
        names = tuple(f"{prefix}/h{j:0{width}d}" for j in range(len(b)))
        upper = np.repeat(up[:, None], n_t, axis=1)
        return names, p_coeff, q_coeff, np.full_like(upper, -np.inf), upper

    def _irredundant_halfplanes(self) -> tuple[FloatArray, FloatArray]:
        """:meth:`as_halfplanes` without rows that cannot change the polygon."""
        a, b = self.as_halfplanes()
        pts = self.vertices
        if self.feasible and len(pts) >= 3:
            x, y = pts[:, 0], pts[:, 1]
            area = 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
            if area > 1e-9:  # full-dimensional: its edges alone define it
                n_support = len(self.directions_rad)
                a, b = a[n_support:], b[n_support:]
        keep: list[int] = []
        for i in range(len(b)):
            if not any(
                np.abs(a[i] - a[j]).max() <= 1e-9 and abs(b[i] - b[j]) <= 1e-9 for j in keep
            ):
                keep.append(i)
        return a[keep], b[keep]

    def distance_outside(self, p_mw: ArrayLike, q_mvar: ArrayLike) -> FloatArray:
        """Largest halfplane violation of each point (≤ 0 inside), in MW/Mvar.

        Outside the polygon this is a lower bound of the Euclidean distance, equal to it where the
        nearest boundary point lies on an edge.
        """
        a, b = self.as_halfplanes()
        pts = np.column_stack([np.ravel(p_mw), np.ravel(q_mvar)]).astype(float)
        out: FloatArray = (pts @ a.T - b[None, :]).max(axis=1)
        return out

    def contains(self, p_mw: ArrayLike, q_mvar: ArrayLike, tol: float = 1e-6) -> NDArray[np.bool_]:
        """Whether each point lies in the inner polygon, up to ``tol`` MW/Mvar.

        Example:
            >>> import numpy as np
            >>> from flexcoord.grid.model import load_grid
            >>> from flexcoord.grid.portfolio import ScenarioAdditions, build_portfolio
            >>> from flexcoord.coordination.aggregation.dso_model import (
            ...     build_dso_model, flexible_units)
            >>> grid = load_grid("1-MV-rural--0-sw")
            >>> reg = build_portfolio(grid, additions=ScenarioAdditions(batteries=4))
            >>> model = build_dso_model(grid)
            >>> region = feasible_pq_region(model, flexible_units(grid, reg, "MV1.101"))
            >>> region.contains([region.base_p_mw, 1e3], [region.base_q_mvar, 0.0]).tolist()
            [True, False]
        """
        return self.distance_outside(p_mw, q_mvar) <= tol


def region_lp(model: DsoLinearModel, units: UnitBoxes) -> tuple[LpArrays, FloatArray, FloatArray]:
    """The LP of the region (zero cost) and the interface rows ``(g_p, g_q)`` over its columns.

    Columns: ``unit-dp[<id>]`` then ``unit-dq[<id>]`` (changes from the current setpoints);
    rows: the model's limits that can bind inside the unit boxes.
    """
    e = model.incidence(units.bus_ids)
    zero = np.zeros_like(e)
    ep, eq = np.hstack([e, zero]), np.hstack([zero, e])
    lower = np.concatenate([units.dp_min_mw, units.dq_min_mvar])
    upper = np.concatenate([units.dp_max_mw, units.dq_max_mvar])
    rows = model.limit_rows(ep, eq, col_lower=lower, col_upper=upper)
    g_p, g_q = model.interface_rows(ep, eq)
    arrays = LpArrays(
        cost=np.zeros(len(lower)),
        col_lower=lower,
        col_upper=upper,
        a=csc_of_dense(rows.a),
        row_lower=np.full(rows.n_rows, -INF),
        row_upper=rows.upper,
        col_names=tuple(f"unit-dp[{u}]" for u in units.unit_ids)
        + tuple(f"unit-dq[{u}]" for u in units.unit_ids),
        row_names=rows.names,
    )
    return arrays, g_p, g_q


def feasible_pq_region(  # noqa: PLR0913 - public: model, units, four keyword options
    model: DsoLinearModel,
    units: UnitBoxes,
    *,
    directions: int = 64,
    refine_tol_mw: float = 1e-3,
    refine_budget: int | None = None,
    highs: Any | None = None,
) -> PqRegion:
    """The feasible PQ region of ``model``'s area at its coupling point(s).

    Args:
        model: The linearised DSO area (its margins apply).
        units: The area's flexible units with their current setpoints and ranges.
        directions: Number of evenly spaced support directions to start from (≥ 4).
        refine_tol_mw: Refinement stops when no inner edge lies more than this inside the
            region (then the inner polygon is exact up to it).
        refine_budget: Extra LPs allowed for the refinement (default ``2 · directions``;
            0 keeps the evenly spaced directions only).
        highs: A HiGHS instance (:func:`~.linear_program.new_highs`) to solve in, for a caller
            computing many regions; its model is replaced. ``None``: a new one.

    Raises:
        InvalidInputError: ``directions < 4``.
        SolverError: HiGHS fails on a feasible, bounded LP (numerical trouble).

    See :meth:`PqRegion.contains` for an example.
    """
    if directions < 4:
        raise InvalidInputError(
            [
                Issue(
                    kind="PqRegion",
                    object_id=model.area_id,
                    field="directions",
                    value=directions,
                    message="must be >= 4",
                )
            ]
        )
    arrays, g_p, g_q = region_lp(model, units)
    n_u = units.n_units
    lp = _SupportLp(highs_from_arrays(arrays, into=highs), g_p, g_q, model.area_id)
    t0 = time.perf_counter()
    theta = list(2.0 * np.pi * np.arange(directions) / directions)
    lp.h.run()  # zero cost: is the region empty?
    if is_infeasible(lp.h):
        return _empty_region(model, units, np.asarray(theta), time.perf_counter() - t0)
    xs = [lp.point(th) for th in theta]
    budget = int(refine_budget if refine_budget is not None else 2 * directions)
    theta, xs, gap = _refined(lp, model, (theta, xs), budget, refine_tol_mw)
    solve_s = time.perf_counter() - t0
    th_arr = np.asarray(theta)
    x_arr = np.asarray(xs)
    p = model.interface_p_mw + x_arr @ g_p
    q = model.interface_q_mvar + x_arr @ g_q
    support = np.cos(th_arr) * p + np.sin(th_arr) * q
    if not np.isfinite(gap):
        gap = _gap(th_arr, support, p, q)
    return PqRegion(
        area_id=model.area_id,
        coupling_point_ids=model.coupling_point_ids,
        feasible=True,
        directions_rad=th_arr,
        support=support,
        vertices_p_mw=p,
        vertices_q_mvar=q,
        dispatch_p_mw=x_arr[:, :n_u],
        dispatch_q_mvar=x_arr[:, n_u:],
        unit_ids=units.unit_ids,
        base_p_mw=model.interface_p_mw,
        base_q_mvar=model.interface_q_mvar,
        safety_margin=model.safety_margin,
        approximation_gap_mw=max(gap, 0.0),
        solve_s=solve_s,
        simplex_iterations=lp.iterations,
    )


class _SupportLp:
    """The region LP, re-solved for the support point in one direction after another."""

    def __init__(self, h: Any, g_p: FloatArray, g_q: FloatArray, area_id: str) -> None:
        self.h, self.g_p, self.g_q, self.area_id = h, g_p, g_q, area_id
        self.cols = np.arange(len(g_p), dtype=np.int32)
        self.iterations = 0

    def point(self, th: float) -> FloatArray:
        """The dispatch furthest in direction ``th`` (radians in the P–Q plane)."""
        h = self.h
        h.changeColsCost(
            len(self.cols), self.cols, -(np.cos(th) * self.g_p + np.sin(th) * self.g_q)
        )
        h.run()
        x = solution(h, f"the PQ region of area {self.area_id!r} (direction {th:.4f} rad)")
        # one value, not the whole HighsInfo (a 25x dearer copy, once per direction)
        self.iterations += int(h.getInfoValue("simplex_iteration_count")[1])
        return x


def _refined(
    lp: _SupportLp,
    model: DsoLinearModel,
    start: tuple[list[float], list[FloatArray]],
    budget: int,
    tol_mw: float,
) -> tuple[list[float], list[FloatArray], float]:
    """The support directions and points after refinement (new directions normal to the inner
    polygon's edges while any lies more than ``tol_mw`` inside the region and the budget of LPs
    lasts), and the largest gap found (``inf`` when none was measured)."""
    theta, xs = start
    gap = float("inf")
    while True:
        p = model.interface_p_mw + np.asarray(xs) @ lp.g_p
        q = model.interface_q_mvar + np.asarray(xs) @ lp.g_q
        edges = _edge_directions(np.asarray(theta), p, q)
        if not edges or budget <= 0:
            return theta, xs, gap
        new_theta: list[float] = []
        new_xs: list[FloatArray] = []
        gap = 0.0
        for i, th in edges[:budget]:
            x = lp.point(th)
            budget -= 1
            excess = float(
                np.cos(th) * (x @ lp.g_p - xs[i] @ lp.g_p)
                + np.sin(th) * (x @ lp.g_q - xs[i] @ lp.g_q)
            )
            gap = max(gap, excess)
            if excess > tol_mw:
                new_theta.append(th)
                new_xs.append(x)
        if not new_theta:
            return theta, xs, gap
        order = np.argsort(np.concatenate([theta, new_theta]), kind="stable")
        theta = [float(v) for v in np.concatenate([theta, new_theta])[order]]
        xs = [np.vstack([np.asarray(xs), np.asarray(new_xs)])[j] for j in order]


def _empty_region(
    model: DsoLinearModel, units: UnitBoxes, theta: FloatArray, solve_s: float
) -> PqRegion:
    empty = np.zeros(0)
    return PqRegion(
        area_id=model.area_id,
        coupling_point_ids=model.coupling_point_ids,
        feasible=False,
        directions_rad=empty,
        support=empty,
        vertices_p_mw=empty,
        vertices_q_mvar=empty,
        dispatch_p_mw=np.zeros((0, units.n_units)),
        dispatch_q_mvar=np.zeros((0, units.n_units)),
        unit_ids=units.unit_ids,
        base_p_mw=model.interface_p_mw,
        base_q_mvar=model.interface_q_mvar,
        safety_margin=model.safety_margin,
        approximation_gap_mw=0.0,
        solve_s=solve_s,
        simplex_iterations=0,
    )


def _edge_directions(theta: FloatArray, p: FloatArray, q: FloatArray) -> list[tuple[int, float]]:
    """``(i, outward normal angle)`` of each inner edge from vertex ``i`` to the next distinct
    vertex whose normal lies strictly between the two directions that found them."""
    out: list[tuple[int, float]] = []
    n = len(theta)
    for i in range(n):
        j = (i + 1) % n
        d = np.array([p[j] - p[i], q[j] - q[i]])
        if np.hypot(*d) <= 1e-7:
            continue
        phi = float(np.arctan2(-d[0], d[1]))  # outward normal (d_y, -d_x) of a CCW polygon
        lo, hi = theta[i], theta[j] + (2.0 * np.pi if j == 0 else 0.0)
        phi = lo + (phi - lo) % (2.0 * np.pi)
        if lo + 1e-9 < phi < hi - 1e-9:
            out.append((i, phi % (2.0 * np.pi)))
    return out


def _distinct_cyclic(pts: FloatArray, tol: float = 1e-7) -> FloatArray:
    """Drop points equal to their predecessor (and a last point equal to the first)."""
    if len(pts) == 0:
        return pts
    keep = [0]
    for i in range(1, len(pts)):
        if np.hypot(*(pts[i] - pts[keep[-1]])) > tol:
            keep.append(i)
    if len(keep) > 1 and np.hypot(*(pts[keep[-1]] - pts[keep[0]])) <= tol:
        keep.pop()
    return pts[keep]


def _gap(theta: FloatArray, support: FloatArray, p: FloatArray, q: FloatArray) -> float:
    """Largest distance from a corner of the outer polygon to the inner edge below it."""
    n1 = np.column_stack([np.cos(theta), np.sin(theta)])
    n2 = np.roll(n1, -1, axis=0)
    h2 = np.roll(support, -1)
    det = n1[:, 0] * n2[:, 1] - n1[:, 1] * n2[:, 0]
    corner_p = (support * n2[:, 1] - h2 * n1[:, 1]) / det
    corner_q = (n1[:, 0] * h2 - n2[:, 0] * support) / det
    a = np.column_stack([p, q])
    b = np.roll(a, -1, axis=0)
    c = np.column_stack([corner_p, corner_q])
    ab = b - a
    denom = np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-18)
    t = np.clip(np.einsum("ij,ij->i", c - a, ab) / denom, 0.0, 1.0)
    nearest = a + t[:, None] * ab
    return float(np.max(np.hypot(*(c - nearest).T)))
