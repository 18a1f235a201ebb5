"""A DSO area's feasible PQ region as a constraint of the TSO's clearing.

:func:`with_pq_region` turns the halfplanes of a :class:`~.pq_region.PqRegion` into interface
constraints of a :class:`~flexcoord.clearing.grid_constraints.GridConstraints` (via
:meth:`PqRegion.as_interface_constraints` and
:meth:`GridConstraints.with_interface`), so a TSO clearing never schedules the area's
flexibility to an interface point the DSO grid cannot deliver (in the linear model: the inner
polygon; see ``docs/aggregation.md`` for the AC tolerance). Signs: interface flow positive TSO →
DSO, injections positive into the grid (:mod:`.dso_model`).

:func:`with_pq_region_flows` states per-MTU regions on two **interface-flow columns** per area
(``ΔP_if``, ``ΔQ_if``: one equality row each per MTU, over the area's buses) with the regions'
support halfplanes ``cos θ_k·ΔP_if + sin θ_k·ΔQ_if ≤ h_t(θ_k) − cos θ_k·P0_t − sin θ_k·Q0_t``
on them: the directions are the same in every MTU, only the bounds move, so a region costs
``2·K`` nonzeros per MTU instead of ``K`` dense rows over every bus of the area.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from flexcoord.clearing.grid_constraints import GridConstraints
from flexcoord.coordination.aggregation.dso_model import DsoLinearModel
from flexcoord.coordination.aggregation.pq_region import PqRegion
from flexcoord.errors import InvalidInputError, Issue

__all__ = ["with_pq_region", "with_pq_region_flows"]

FloatArray = NDArray[np.float64]
_T = TypeVar("_T")


def with_pq_region(
    gc: GridConstraints,
    model: DsoLinearModel | Sequence[DsoLinearModel],
    region: PqRegion | Sequence[PqRegion],
    *,
    name_prefix: str | None = None,
) -> GridConstraints:
    """``gc`` with the region's halfplanes added as interface constraints (a new object).

    One region (and model) holds in every MTU of ``gc``. Per-MTU regions (e.g. computed at each
    MTU's forecast operating point) are given as sequences of ``gc.n_mtu`` regions and/or
    models; then MTU ``k``'s rows are named ``<prefix>@<MTU start>/h<j>`` and are unbounded in
    the other MTUs.

    Args:
        gc: The TSO clearing's grid constraints; every bus of the model must be in
            ``gc.bus_ids`` (the columns of the new rows; other buses get 0).
        model: The DSO area's linear model (or one per MTU) the region was computed on.
        region: The area's feasible PQ region (or one per MTU).
        name_prefix: Default ``pq-region:<area id>``.

    Raises:
        InvalidInputError: a sequence not of ``gc.n_mtu`` items, a model bus missing from
            ``gc.bus_ids``, or a model of another area.
    """
    n_t = gc.n_mtu
    per_mtu = not isinstance(model, DsoLinearModel) or not isinstance(region, PqRegion)
    models = _per_mtu(model, n_t, "model", DsoLinearModel)
    regions = _per_mtu(region, n_t, "region", PqRegion)
    prefix = name_prefix if name_prefix is not None else f"pq-region:{regions[0].area_id}"
    gpos = {int(b): i for i, b in enumerate(gc.bus_ids)}
    out = gc
    steps = range(n_t) if per_mtu else range(1)
    for k in steps:
        m, r = models[k], regions[k]
        missing = [int(b) for b in m.bus_ids if int(b) not in gpos]
        if missing:
            raise InvalidInputError(
                [
                    Issue(
                        kind="GridConstraints",
                        object_id=m.area_id,
                        field="bus_ids",
                        value=missing[:10],
                        message="buses of the DSO model are not columns of the grid constraints",
                    )
                ]
            )
        label = f"{prefix}@{gc.intervals[k].start.isoformat()}" if per_mtu else prefix
        names, p_area, q_area, lower, upper = r.as_interface_constraints(
            m, gc.intervals, name_prefix=label
        )
        cols = np.array([gpos[int(b)] for b in m.bus_ids], dtype=np.int64)
        p_coeff = _spread(p_area, cols, len(gc.bus_ids))
        q_coeff = _spread(q_area, cols, len(gc.bus_ids))
        if per_mtu:
            others = np.arange(n_t) != k
            upper[:, others] = np.inf
            lower[:, others] = -np.inf
        out = out.with_interface(names, p_coeff, q_coeff, lower, upper)
    return out


def _spread(values: FloatArray, cols: NDArray[np.int64], n_bus: int) -> FloatArray:
    out = np.zeros((values.shape[0], n_bus))
    out[:, cols] = values
    return out


def _per_mtu(value: _T | Sequence[_T], n_t: int, name: str, kind: type[_T]) -> list[_T]:
    if isinstance(value, kind):
        return [value] * n_t
    assert isinstance(value, Sequence)
    items: list[_T] = list(value)
    if len(items) != n_t:
        raise InvalidInputError(
            [
                Issue(
                    kind="PqRegion",
                    object_id=name,
                    field=name,
                    value=len(items),
                    message=f"one per MTU of the grid constraints ({n_t}) or a single one",
                )
            ]
        )
    return items


def with_pq_region_flows(
    gc: GridConstraints,
    model: DsoLinearModel,
    regions: Sequence[PqRegion | None],
    *,
    name_prefix: str | None = None,
) -> GridConstraints:
    """``gc`` with per-MTU PQ regions of one area on its interface-flow columns (a new object).

    Adds the flows ``<prefix>/p`` = ``ΔP_if`` and ``<prefix>/q`` = ``ΔQ_if`` (the change of the
    area's interface flow caused by the clearing's injections, with ``model``'s interface
    sensitivities) and one constraint ``<prefix>/d<k>`` per support direction ``θ_k`` of the
    regions: ``cos θ_k·ΔP_if + sin θ_k·ΔQ_if ≤ h_t(θ_k) − cos θ_k·P0_t − sin θ_k·Q0_t`` in MTU
    ``t`` (``P0_t``, ``Q0_t``: the region's base point). These are the regions' support
    halfplanes (the outer polygon of the sampled directions, exact in those directions; the
    region's ``approximation_gap_mw`` bounds how far it reaches beyond the inner one). An MTU
    whose region is ``None`` is unconstrained; an empty region (``feasible=False``: no dispatch
    meets the DSO limits) holds the interface at its base point (bounds 0).

    Args:
        gc: The clearing's grid constraints; every bus of ``model`` must be in ``gc.bus_ids``.
        model: The area's linear model (its interface sensitivities define the flows; the
            regions may be computed on models rebased per MTU with the same sensitivities).
        regions: One per MTU of ``gc`` (``None``: no constraint in that MTU), all computed with
            the same directions (``refine_budget=0``).
        name_prefix: Default ``pq-region:<area id>``.

    Raises:
        InvalidInputError: not ``gc.n_mtu`` regions, no region at all, regions of another area
            or with other directions, or a model bus missing from ``gc.bus_ids``.
    """
    feasible = [r for r in regions if r is not None and r.feasible]
    # no feasible region at all: four axis directions are enough to hold the point
    theta: FloatArray = (
        feasible[0].directions_rad if feasible else np.arange(4, dtype=np.float64) * (np.pi / 2)
    )
    _check_flow_regions(gc, model, regions, theta)
    prefix = name_prefix if name_prefix is not None else f"pq-region:{model.area_id}"
    gpos = {int(b): i for i, b in enumerate(gc.bus_ids)}
    cols = np.array([gpos[int(b)] for b in model.bus_ids], dtype=np.int64)
    n_bus = len(gc.bus_ids)
    flow_p = np.vstack(
        [
            _spread(model.interface_dp_dp[None, :], cols, n_bus),
            _spread(model.interface_dq_dp[None, :], cols, n_bus),
        ]
    )
    flow_q = np.vstack(
        [
            _spread(model.interface_dp_dq[None, :], cols, n_bus),
            _spread(model.interface_dq_dq[None, :], cols, n_bus),
        ]
    )
    out = gc.with_interface_flows((f"{prefix}/p", f"{prefix}/q"), flow_p, flow_q)
    normals = np.column_stack([np.cos(theta), np.sin(theta)])
    upper = np.full((len(theta), gc.n_mtu), np.inf)
    for t, region in enumerate(regions):
        if region is None:
            continue
        if region.feasible:
            base = normals @ np.array([region.base_p_mw, region.base_q_mvar])
            upper[:, t] = region.support - base
        else:
            upper[:, t] = 0.0
    coeff = np.zeros((len(theta), out.n_interface_flow))
    coeff[:, -2:] = normals
    width = len(str(max(len(theta) - 1, 0)))
    names = tuple(f"{prefix}/d{k:0{width}d}" for k in range(len(theta)))
    zeros = np.zeros((len(theta), n_bus))
    lower = np.full_like(upper, -np.inf)
    return out.with_interface(names, zeros, zeros, lower, upper, flow_coeff=coeff)


def _check_flow_regions(
    gc: GridConstraints,
    model: DsoLinearModel,
    regions: Sequence[PqRegion | None],
    theta: FloatArray,
) -> None:
    """Every issue of :func:`with_pq_region_flows`'s arguments, raised at once."""
    issues: list[Issue] = []

    def issue(field: str, value: object, message: str) -> None:
        issues.append(
            Issue(
                kind="PqRegion", object_id=model.area_id, field=field, value=value, message=message
            )
        )

    if len(regions) != gc.n_mtu:
        issue("regions", len(regions), f"one per MTU of the grid constraints ({gc.n_mtu})")
    if not any(r is not None for r in regions):
        issue("regions", 0, "at least one MTU must have a region")
    for t, r in enumerate(regions):
        if r is None:
            continue
        if r.area_id != model.area_id:
            issue(f"regions[{t}].area_id", r.area_id, "must be the model's area")
        same = r.directions_rad.shape == theta.shape and np.allclose(r.directions_rad, theta)
        if r.feasible and not same:
            issue(
                f"regions[{t}].directions_rad",
                len(r.directions_rad),
                "must be the same in every MTU",
            )
    have = {int(b) for b in gc.bus_ids}
    missing = [int(b) for b in model.bus_ids if int(b) not in have]
    if missing:
        issue(
            "bus_ids",
            missing[:10],
            "buses of the DSO model are not columns of the grid constraints",
        )
    if issues:
        raise InvalidInputError(issues)
