"""A DSO area's linear model for every MTU of a day, each at that MTU's operating point.

Industry4Redispatch asks the DSO for its simplified model "for all relevant time intervals"
(L1065): the base case moves from MTU to MTU (load and PV profiles), so the flows the limits are
measured from, and to a lesser degree the sensitivities, differ per MTU. Two ways to get them:

* :attr:`Linearisation.PER_MTU` — :func:`~.dso_model.build_dso_model` at each MTU's operating
  point: ``T`` PGM batches of ``2·n_bus + 1`` AC flows (exact forward differences per MTU);
* :attr:`Linearisation.SHARED` — one linearisation at the day's mean operating point (the mean
  of every setpoint over the MTUs), then each MTU's **own base state** (branch P and Q, voltages,
  interface flows, the limits' from-bus voltages) from one batch of ``T`` AC flows
  (:func:`rebase`): ``2·n_bus + 1 + T`` flows instead of ``T·(2·n_bus + 1)``. Only the
  sensitivities are shared; what the margins are measured from is exact per MTU.

Measured over the demo day with the industrial case of ``flexcoord pareto`` (12 bids per
direction; ``docs/aggregation.md``, *Over a day*): per-MTU linearisation costs 23 ms per MTU on
1-MV-rural and 212 ms on 1-HVMV-mixed's MV2.101, shared 0.09 s and 0.33 s for the whole day. The
shared sensitivities differ from the per-MTU ones by at most 0.035 / 0.043 MW per MW and
0.001 / 0.0007 pu per MW; the linear check judges 137 of 89,832 (MV, both directions) and 96 of
45,712 (HV/MV, down) combinations differently, the fronts are identical in 186 of 192 and 94 of
96 MTUs, and on MV neither admits a combination AC rejects.
:func:`pareto_day <.pareto_day.pareto_day>` takes either; shared is its default.
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from typing import Any

import pandas as pd

from flexcoord.coordination.aggregation.dso_model import (
    DsoLinearModel,
    area_flows,
    build_dso_model,
)
from flexcoord.grid.pgm import Injections, PgmGrid, run_ac_batch

__all__ = ["Linearisation", "day_models", "mean_point", "rebase"]


class Linearisation(StrEnum):
    """Where a day's DSO models take their sensitivities from (module docstring)."""

    PER_MTU = "per-mtu"
    SHARED = "shared"


def mean_point(points: Injections) -> Injections:
    """One scenario: the mean of every setpoint of ``points`` over its scenarios.

    Example:
        >>> two = Injections(load_p_mw=pd.DataFrame({3: [1.0, 2.0]}))
        >>> mean_point(two).load_p_mw.to_dict()
        {3: {0: 1.5}}
    """
    return Injections(
        **{
            name: pd.DataFrame(
                frame.to_numpy(dtype=float).mean(axis=0)[None, :], columns=frame.columns
            )
            for name, frame in points.frames().items()
        }
    )


def rebase(
    grid: Any, model: DsoLinearModel, points: Injections, *, pgm: PgmGrid | None = None
) -> tuple[DsoLinearModel, ...]:
    """``model``'s sensitivities at each scenario's own base state (one PGM batch).

    Each returned model keeps ``model``'s sensitivities, limits and margins and takes from the
    AC power flow of its scenario of ``points`` the branch flows, bus voltages, interface flows
    and apparent-power limits (rating × from-bus voltage), with that scenario as its
    ``operating_point`` (so its AC check starts from it).

    Args:
        grid: The :class:`~flexcoord.grid.model.GridModel` ``model`` was built on.
        model: A model from :func:`~.dso_model.build_dso_model`.
        points: The operating points, one scenario each (e.g. the MTUs of a day).
        pgm: The converted grid (default: the grid's own, :meth:`GridModel.pgm`).

    Raises:
        GridError: a power flow does not converge.
    """
    pgm = pgm if pgm is not None else grid.pgm()
    res = run_ac_batch(pgm, points)
    flows = area_flows(
        grid,
        res,
        bus_ids=model.bus_ids,
        branch_names=model.branch_names,
        coupling_point_ids=model.coupling_point_ids,
    )
    return tuple(
        dataclasses.replace(
            model,
            p_from_mw=flows.p_from_mw[k].copy(),
            q_from_mvar=flows.q_from_mvar[k].copy(),
            s_max_mva=flows.s_max_mva[k].copy(),
            vm_pu=flows.vm_pu[k].copy(),
            interface_p_mw=float(flows.interface_p_mw[k]),
            interface_q_mvar=float(flows.interface_q_mvar[k]),
            pgm=pgm,
            operating_point=points.at(k),
        )
        for k in range(points.n_scenarios)
    )


def day_models(  # noqa: PLR0913 - public: grid, area, points, then build_dso_model's keyword options
    grid: Any,
    area_id: str | None,
    points: Injections,
    *,
    linearisation: Linearisation = Linearisation.SHARED,
    safety_margin: float = 0.0,
    voltage_margin_pu: float = 0.0,
    n_cuts: int = 16,
    pgm: PgmGrid | None = None,
) -> tuple[DsoLinearModel, ...]:
    """One :class:`~.dso_model.DsoLinearModel` of ``area_id`` per scenario of ``points``.

    Args:
        grid: A :class:`~flexcoord.grid.model.GridModel` (not modified).
        area_id: The DSO area (``None``: the one with most buses, as ``build_dso_model``).
        points: The operating points, one scenario per MTU (e.g.
            :func:`~flexcoord.grid.forecast.profile_operating_points`).
        linearisation: Per-MTU or shared sensitivities (module docstring).
        safety_margin: Fraction of each branch limit kept free.
        voltage_margin_pu: Kept free inside each bus's voltage band.
        n_cuts: Tangent lines per branch circle.
        pgm: The converted grid (default: the grid's own).

    Raises:
        NotFoundError: unknown ``area_id``.
        GridError: a power flow does not converge.

    Example:
        >>> from flexcoord.grid.forecast import profile_operating_points
        >>> from flexcoord.grid.model import load_grid
        >>> grid = load_grid("1-MV-rural--0-sw")
        >>> points = profile_operating_points(grid, start_step=96 * 152 + 48, steps=2)
        >>> models = day_models(grid, None, points, safety_margin=0.1)
        >>> len(models), models[0].area_id, models[0].safety_margin
        (2, 'MV1.101', 0.1)
    """
    pgm = pgm if pgm is not None else grid.pgm()
    kwargs: dict[str, Any] = {
        "pgm": pgm,
        "safety_margin": safety_margin,
        "voltage_margin_pu": voltage_margin_pu,
        "n_cuts": n_cuts,
    }
    if linearisation is Linearisation.PER_MTU:
        return tuple(
            build_dso_model(grid, area_id, operating_point=points.at(k), **kwargs)
            for k in range(points.n_scenarios)
        )
    shared = build_dso_model(grid, area_id, operating_point=mean_point(points), **kwargs)
    return rebase(grid, shared, points, pgm=pgm)
