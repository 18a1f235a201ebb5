"""AC verification of a cleared dispatch with power-grid-model: the engine's ``AcChecker``.

The power flows are the grid layer's (:class:`flexcoord.grid.ac_batch.BusInjectionBatch`: the
grid converts itself to power-grid-model and reads its profile tables once); this module maps a
clearing problem's buses, branches and voltages onto them.

:class:`PgmAcCheck` is built once per grid and constraints; :meth:`PgmAcCheck.checker_for` gives the
:class:`~flexcoord.clearing.engine.AcChecker` of one mapped problem. Each ``check`` is **one PGM
batch over the MTUs**: the base case of every MTU (the SimBench profile step the grid constraints
were built from, or the loaded network's snapshot) plus the accepted flexibility as added
injections at buses (a group's virtual bus is shared back to its units' buses by the
:class:`~flexcoord.clearing.market.GridMap` weights).

Branch flows are returned as the *thermal equivalent* in MW
(:mod:`flexcoord.grid.thermal`): ``sign · loading · L / L%`` with the AC loading (current-based,
as pandapower's), the limit ``L`` in MW and the branch's ``max_loading_percent`` ``L%``, the sign
that of the active power seen from the from side (positive on a branch that carries none, e.g.
open at one end); at nominal voltage and unity power factor it equals ``P``. So the AC check tests
exactly the thermal limit the grid layer's :func:`verify_operating_point` tests, and the
*linearisation error* the engine reports includes what the DC model ignores (reactive flow,
voltage magnitude, losses).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from flexcoord.clearing.engine import AcChecker, AcFlows
from flexcoord.clearing.grid_constraints import GridConstraints
from flexcoord.clearing.market import GridMap
from flexcoord.clearing.problem import ClearingProblem, FloatArray


def ac_check(
    grid: Any, constraints: GridConstraints, *, engine: str = "auto"
) -> PgmAcCheck | PandapowerAcCheck:
    """The AC check of ``grid``: power-grid-model (one batch over the MTUs, the fast one), or
    pandapower's ``runpp`` when the grid has voltage-controlled generators, which
    power-grid-model cannot model (:func:`flexcoord.grid.ac_pandapower.needs_pandapower`).

    Args:
        grid: the :class:`~flexcoord.grid.model.GridModel`.
        constraints: its grid constraints.
        engine: ``"auto"`` (by the grid), ``"pgm"`` or ``"pandapower"``.

    Raises:
        ValueError: an unknown engine.
    """
    if engine not in ("auto", "pgm", "pandapower"):
        raise ValueError(f"engine must be 'auto', 'pgm' or 'pandapower', not {engine!r}")
    if engine == "auto":
        from flexcoord.grid.ac_pandapower import needs_pandapower  # noqa: PLC0415  (lazy)

        engine = "pandapower" if needs_pandapower(grid.net) else "pgm"
    if engine == "pandapower":
        return PandapowerAcCheck(grid, constraints)
    return PgmAcCheck(grid, constraints)


__all__ = ["PandapowerAcCheck", "PgmAcCheck", "PgmAcChecker", "ac_check"]


class PgmAcCheck:
    """Factory of power-grid-model AC checkers for one grid and its :class:`GridConstraints`.

    Args:
        grid: the :class:`~flexcoord.grid.model.GridModel` the constraints were built from (its
            PGM conversion and profile tables are made once per grid, by the grid).
        constraints: the grid constraints (their ``profile_start_step`` sets the base case).
        threading: power-grid-model threading of the batch (-1 sequential, 0 all cores).
    """

    def __init__(self, grid: Any, constraints: GridConstraints, *, threading: int = -1) -> None:
        self.grid = grid
        self.constraints = constraints
        self.threading = threading

    def checker_for(self, problem: ClearingProblem, grid_map: GridMap) -> AcChecker:
        """The checker of ``problem`` (its buses, MTUs, monitored branches and voltages)."""
        return PgmAcChecker(self, problem, grid_map)


class PgmAcChecker:
    """The AC checker of one problem (see the module docstring)."""

    def __init__(self, factory: PgmAcCheck, problem: ClearingProblem, grid_map: GridMap) -> None:
        from flexcoord.grid.ac_batch import BusInjectionBatch  # noqa: PLC0415  (lazy: loads PGM)

        self.grid_map = grid_map
        cols = grid_map.mtu_columns if grid_map.mtu_columns.size else np.zeros(problem.n_mtu, int)
        self.batch = BusInjectionBatch(
            factory.grid,
            mtu_columns=cols,
            bus_ids=grid_map.real_bus_ids,
            branch_names=problem.branch_names,
            voltage_bus_ids=[int(name.split(":")[1]) for name in problem.vbus_names],
            profile_start_step=factory.constraints.profile_start_step,
            threading=factory.threading,
        )

    def check(self, p_mw: FloatArray, q_mvar: FloatArray) -> AcFlows:
        """AC flows and voltages of the base case plus ``(n_bus, n_mtu)`` injections."""
        flow, vm = self.batch.run(self.grid_map.to_grid(p_mw).T, self.grid_map.to_grid(q_mvar).T)
        return AcFlows(branch_flow_mw=flow, vm_pu=vm)


class PandapowerAcCheck:
    """Factory of pandapower AC checkers (``runpp`` per MTU), for grids with voltage-controlled
    generators (:mod:`flexcoord.grid.ac_pandapower`). Same interface as :class:`PgmAcCheck`; the
    private copy of the network is made once, at the first checker.

    Args:
        grid: the :class:`~flexcoord.grid.model.GridModel` the constraints were built from.
        constraints: the grid constraints (their ``profile_start_step`` sets the base case).
        model: a ready :class:`~flexcoord.grid.ac_pandapower.PandapowerAc` of ``grid`` to share.
    """

    def __init__(self, grid: Any, constraints: GridConstraints, *, model: Any = None) -> None:
        self.grid = grid
        self.constraints = constraints
        self._model = model

    @property
    def model(self) -> Any:
        """The grid's :class:`~flexcoord.grid.ac_pandapower.PandapowerAc` (made on first use)."""
        if self._model is None:
            from flexcoord.grid.ac_pandapower import PandapowerAc  # noqa: PLC0415  (lazy)

            self._model = PandapowerAc(self.grid)
        return self._model

    def checker_for(self, problem: ClearingProblem, grid_map: GridMap) -> AcChecker:
        """The checker of ``problem`` (its buses, MTUs, monitored branches and voltages)."""
        cols = grid_map.mtu_columns if grid_map.mtu_columns.size else np.zeros(problem.n_mtu, int)
        batch = self.model.batch(
            mtu_columns=cols,
            bus_ids=grid_map.real_bus_ids,
            branch_names=problem.branch_names,
            voltage_bus_ids=[int(name.split(":")[1]) for name in problem.vbus_names],
            profile_start_step=self.constraints.profile_start_step,
        )
        return _BatchChecker(batch, grid_map)


class _BatchChecker:
    """An :class:`~flexcoord.clearing.engine.AcChecker` over a prepared grid-layer batch."""

    def __init__(self, batch: Any, grid_map: GridMap) -> None:
        self.batch = batch
        self.grid_map = grid_map

    def check(self, p_mw: FloatArray, q_mvar: FloatArray) -> AcFlows:
        """AC flows and voltages of the base case plus ``(n_bus, n_mtu)`` injections."""
        flow, vm = self.batch.run(self.grid_map.to_grid(p_mw).T, self.grid_map.to_grid(q_mvar).T)
        return AcFlows(branch_flow_mw=flow, vm_pu=vm)
