"""AC power flows of a grid's base case per MTU plus added bus injections: one PGM batch.

The grid layer's half of the clearing engine's AC check (:mod:`flexcoord.clearing.ac` maps a
problem's buses, branches and voltages to it). :class:`BusInjectionBatch` is prepared once per
set of MTU columns, buses, branches and voltage buses; each :meth:`BusInjectionBatch.run` is one
power-grid-model batch over the MTUs:

- the base case of every MTU: the SimBench profile step ``profile_start_step + column`` (the
  profile tables are read once per grid), or the loaded network's snapshot when
  ``profile_start_step`` is ``None``;
- plus the given MW / Mvar at buses, through the zero injection element
  :func:`~flexcoord.grid.pgm.to_pgm` puts at every in-service bus.

Branch flows are the *thermal equivalent* in MW (:mod:`flexcoord.grid.thermal`), against each
branch's **physical** limit (a caller may have tightened its limits without the branch carrying
any less current).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from power_grid_model import CalculationMethod, ComponentType
from power_grid_model.errors import PowerGridError  # type: ignore[attr-defined]

from flexcoord.errors import GridError
from flexcoord.grid.thermal import THERMAL_OUTPUTS, thermal_flow_mw
from flexcoord.grid.timeseries_profiles import Profiles, UpdateBuffers

__all__ = ["BusInjectionBatch"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_OUTPUTS: dict[ComponentType, list[str]] = {ComponentType.node: ["u_pu"], **THERMAL_OUTPUTS}


@dataclass(frozen=True, slots=True)
class _Plan:
    """Positions into the PGM model of one prepared batch."""

    injection_ids: NDArray[np.int32]
    branch_pos: IntArray
    node_pos: IntArray
    limit_mw: FloatArray


class BusInjectionBatch:
    """One prepared AC batch (module docstring).

    Args:
        grid: a :class:`~flexcoord.grid.model.GridModel` (its cached PGM conversion is used).
        mtu_columns: the profile column of each MTU (``(n_mtu,)``, relative to
            ``profile_start_step``).
        bus_ids: the pandapower buses that :meth:`run` adds injections at.
        branch_names: the branches whose flows :meth:`run` returns, in this order.
        voltage_bus_ids: the buses whose voltages :meth:`run` returns, in this order.
        profile_start_step: the SimBench step of column 0, or ``None`` for the snapshot.
        threading: power-grid-model threading (-1 sequential, 0 all cores).

    Raises:
        KeyError: a bus or branch the grid does not have (callers map their own ids first).
    """

    def __init__(  # noqa: PLR0913 - grid, then the keyword-only batch description
        self,
        grid: Any,
        *,
        mtu_columns: IntArray,
        bus_ids: Sequence[int] | IntArray,
        branch_names: Sequence[str],
        voltage_bus_ids: Sequence[int] | IntArray,
        profile_start_step: int | None,
        threading: int = -1,
    ) -> None:
        self.pgm = grid.pgm()
        self.threading = threading
        self.n_mtu = len(mtu_columns)
        self.base = _base_update(grid, self.pgm, np.asarray(mtu_columns), profile_start_step)
        self._plan = _plan(grid, self.pgm, bus_ids, branch_names, voltage_bus_ids)

    def update_data(self, p_mw: FloatArray, q_mvar: FloatArray) -> dict[Any, dict[str, Any]]:
        """The power-grid-model batch update :meth:`run` calculates: the base case plus
        ``(n_mtu, n_bus)`` added MW and Mvar as generators at the prepared buses."""
        plan = self._plan
        n = self.n_mtu
        ids = np.broadcast_to(plan.injection_ids, (n, plan.injection_ids.shape[0]))
        update = {k: dict(v) for k, v in self.base.items()}
        p_w, q_var = np.asarray(p_mw) * 1e6, np.asarray(q_mvar) * 1e6
        gen = update.get(ComponentType.sym_gen)
        if gen is None:
            update[ComponentType.sym_gen] = {"id": ids, "p_specified": p_w, "q_specified": q_var}
        else:
            base_q = gen.get("q_specified", np.full(gen["p_specified"].shape, np.nan))
            update[ComponentType.sym_gen] = {
                "id": np.concatenate([gen["id"], ids], axis=1),
                "p_specified": np.concatenate([gen["p_specified"], p_w], axis=1),
                "q_specified": np.concatenate([base_q, q_var], axis=1),
            }
        return update

    def run(self, p_mw: FloatArray, q_mvar: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``(flow_mw, vm_pu)``, each ``(n, n_mtu)``, of the base case plus ``(n_mtu, n_bus)``
        added MW and Mvar at the prepared buses.

        Raises:
            GridError: the power flow of an MTU does not converge.
        """
        plan = self._plan
        update = self.update_data(p_mw, q_mvar)
        outputs = {k: v for k, v in _OUTPUTS.items() if k in self.pgm.input_data}
        try:
            out = self.pgm.model.calculate_power_flow(
                update_data=update,
                threading=self.threading,
                output_component_types=outputs,
                calculation_method=CalculationMethod.newton_raphson,
            )
        except PowerGridError as exc:
            raise GridError(f"AC check of the cleared dispatch did not converge: {exc}") from exc
        flow = thermal_flow_mw(self.pgm, out, plan.limit_mw)[:, plan.branch_pos].T
        vm = np.asarray(out[ComponentType.node]["u_pu"], dtype=float)[:, plan.node_pos].T
        return np.ascontiguousarray(flow), np.ascontiguousarray(vm)


def _plan(
    grid: Any,
    pgm: Any,
    bus_ids: Sequence[int] | IntArray,
    branch_names: Sequence[str],
    voltage_bus_ids: Sequence[int] | IntArray,
) -> _Plan:
    injection_ids = pgm.buses.loc[list(bus_ids), "injection_id"].to_numpy().astype(np.int32)
    position = {name: i for i, name in enumerate(pgm.branches.index)}
    limits = grid.branch_limits()
    physical = dict(zip(limits.branch_names, limits.limit_mw.tolist(), strict=True))
    node_ids = pgm.input_data[ComponentType.node]["id"]
    return _Plan(
        injection_ids=injection_ids,
        branch_pos=np.array([position[n] for n in branch_names], dtype=np.int64),
        node_pos=np.searchsorted(
            node_ids, pgm.buses.loc[list(voltage_bus_ids), "node_id"].to_numpy()
        ).astype(np.int64),
        limit_mw=np.array([physical[n] for n in pgm.branches.index], dtype=float),
    )


def _base_update(
    grid: Any, pgm: Any, mtu_columns: IntArray, start: int | None
) -> dict[Any, dict[str, np.ndarray]]:
    """PGM columnar update of the base case at the MTU columns (empty for the snapshot)."""
    if start is None or not mtu_columns.size:
        return {}
    profiles: Profiles = grid.profiles()
    cols = mtu_columns.astype(np.int64)
    lo, hi = int(cols.min()), int(cols.max()) + 1
    update = UpdateBuffers(pgm, profiles, hi - lo).fill(start + lo, start + hi)
    pick = cols - lo
    return {
        comp: {attr: np.ascontiguousarray(arr[pick]) for attr, arr in data.items()}
        for comp, data in update.items()
    }
