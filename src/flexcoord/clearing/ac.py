"""AC verification of a cleared dispatch with power-grid-model: the engine's ``AcChecker``.

:class:`PgmAcCheck` is built once per grid and constraints (it converts the grid to
power-grid-model once and keeps the profile tables); :meth:`PgmAcCheck.checker_for` gives the
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
from power_grid_model import CalculationMethod, ComponentType
from power_grid_model.errors import PowerGridError  # type: ignore[attr-defined]

from flexcoord.clearing.engine import AcChecker, AcFlows
from flexcoord.clearing.grid_constraints import GridConstraints
from flexcoord.clearing.market import GridMap
from flexcoord.clearing.problem import ClearingProblem, FloatArray
from flexcoord.errors import GridError
from flexcoord.grid.thermal import THERMAL_OUTPUTS, thermal_flow_mw

__all__ = ["PgmAcCheck", "PgmAcChecker"]

_OUTPUTS: dict[ComponentType, list[str]] = {ComponentType.node: ["u_pu"], **THERMAL_OUTPUTS}


class PgmAcCheck:
    """Factory of power-grid-model AC checkers for one grid and its :class:`GridConstraints`.

    Args:
        grid: the :class:`~flexcoord.grid.model.GridModel` the constraints were built from.
        constraints: the grid constraints (their ``profile_start_step`` sets the base case).
        threading: power-grid-model threading of the batch (-1 sequential, 0 all cores).
    """

    def __init__(self, grid: Any, constraints: GridConstraints, *, threading: int = -1) -> None:
        from flexcoord.grid.pgm import to_pgm  # noqa: PLC0415  (lazy: loads pandapower)

        self.grid = grid
        self.constraints = constraints
        self.threading = threading
        # a zero injection element at every in-service bus; a GridModel's own conversion is
        # reused (read-only: every calculation passes update data)
        self.pgm = grid.pgm() if callable(getattr(grid, "pgm", None)) else to_pgm(grid.net)
        self._profiles: Any = None

    def checker_for(self, problem: ClearingProblem, grid_map: GridMap) -> AcChecker:
        """The checker of ``problem`` (its buses, MTUs, monitored branches and voltages)."""
        return PgmAcChecker(self, problem, grid_map)

    def base_update(self, mtu_columns: Any) -> dict[Any, dict[str, np.ndarray]]:
        """PGM columnar update of the base case at the constraints' MTU columns (may be empty)."""
        start = self.constraints.profile_start_step
        if start is None:
            return {}
        from flexcoord.grid.timeseries_profiles import (  # noqa: PLC0415  (lazy: loads pandapower)
            Profiles,
            UpdateBuffers,
        )

        if self._profiles is None:
            self._profiles = Profiles.of(self.grid.net)
        cols = np.asarray(mtu_columns, dtype=np.int64)
        lo, hi = int(cols.min()), int(cols.max()) + 1
        buffers = UpdateBuffers(self.pgm, self._profiles, hi - lo)
        update = buffers.fill(start + lo, start + hi)
        pick = cols - lo
        return {
            comp: {attr: np.ascontiguousarray(arr[pick]) for attr, arr in data.items()}
            for comp, data in update.items()
        }


class PgmAcChecker:
    """The AC checker of one problem (see the module docstring)."""

    def __init__(self, factory: PgmAcCheck, problem: ClearingProblem, grid_map: GridMap) -> None:
        pgm = factory.pgm
        self.factory = factory
        self.grid_map = grid_map
        self.n_mtu = problem.n_mtu
        cols = grid_map.mtu_columns if grid_map.mtu_columns.size else np.zeros(problem.n_mtu, int)
        self.base = factory.base_update(cols)
        self.injection_ids = (
            pgm.buses.loc[grid_map.real_bus_ids, "injection_id"].to_numpy().astype(np.int32)
        )
        branches = pgm.branches
        position = {name: i for i, name in enumerate(branches.index)}
        self.branch_pos = np.array([position[n] for n in problem.branch_names], dtype=np.int64)
        # the physical limits, not the problem's: a caller may have tightened the limits (a
        # scenario's designed congestion) without the branch carrying any less current
        limits = factory.grid.branch_limits()
        physical = dict(zip(limits.branch_names, limits.limit_mw.tolist(), strict=True))
        self.limit_mw = np.array([physical[n] for n in branches.index], dtype=float)
        node_ids = pgm.input_data[ComponentType.node]["id"]
        vbus = [int(name.split(":")[1]) for name in problem.vbus_names]
        self.node_pos = np.searchsorted(node_ids, pgm.buses.loc[vbus, "node_id"].to_numpy())

    def check(self, p_mw: FloatArray, q_mvar: FloatArray) -> AcFlows:
        """AC flows and voltages of the base case plus ``(n_bus, n_mtu)`` injections."""
        pgm = self.factory.pgm
        n = self.n_mtu
        p_real = self.grid_map.to_grid(p_mw).T * 1e6
        q_real = self.grid_map.to_grid(q_mvar).T * 1e6
        ids = np.broadcast_to(self.injection_ids, (n, self.injection_ids.shape[0]))
        update = {k: dict(v) for k, v in self.base.items()}
        gen = update.get(ComponentType.sym_gen)
        if gen is None:
            update[ComponentType.sym_gen] = {
                "id": ids,
                "p_specified": p_real,
                "q_specified": q_real,
            }
        else:
            base_q = gen.get("q_specified", np.full(gen["p_specified"].shape, np.nan))
            update[ComponentType.sym_gen] = {
                "id": np.concatenate([gen["id"], ids], axis=1),
                "p_specified": np.concatenate([gen["p_specified"], p_real], axis=1),
                "q_specified": np.concatenate([base_q, q_real], axis=1),
            }
        outputs = {k: v for k, v in _OUTPUTS.items() if k in pgm.input_data}
        try:
            out = pgm.model.calculate_power_flow(
                update_data=update,
                threading=self.factory.threading,
                output_component_types=outputs,
                calculation_method=CalculationMethod.newton_raphson,
            )
        except PowerGridError as exc:
            raise GridError(f"AC check of the cleared dispatch did not converge: {exc}") from exc
        flow = thermal_flow_mw(pgm, out, self.limit_mw)[:, self.branch_pos].T
        vm = np.asarray(out[ComponentType.node]["u_pu"], dtype=float)[:, self.node_pos].T
        return AcFlows(branch_flow_mw=np.ascontiguousarray(flow), vm_pu=np.ascontiguousarray(vm))
