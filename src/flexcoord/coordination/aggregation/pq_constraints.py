"""A DSO area's feasible PQ region as a constraint of the TSO's clearing.

:func:`with_pq_region` turns the halfplanes of a :class:`~.pq_region.PqRegion` into interface
constraints of a :class:`~flexcoord.clearing.grid_constraints.GridConstraints` (via
:meth:`PqRegion.as_interface_constraints` and
:meth:`GridConstraints.with_interface`), so a TSO clearing never schedules the area's
flexibility to an interface point the DSO grid cannot deliver (in the linear model: the inner
polygon; see ``docs/aggregation.md`` for the AC tolerance). Signs: interface flow positive TSO →
DSO, injections positive into the grid (:mod:`.dso_model`).
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

__all__ = ["with_pq_region"]

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
