"""Thermal-equivalent branch flows: a branch's current as MW at nominal voltage, signed as ``P``.

The quantity the thermal limits of :func:`flexcoord.grid.sensitivities.branch_limits` are written
in (``√3·Vn·I_max`` for lines, ``sn`` for transformers, times ``max_loading_percent``), so a flow
and a limit in it compare current with current:

    ``thermal_mw = sign · loading / 100 · rating_mw``

with the current-based loading (:func:`flexcoord.grid.pgm_conversion.branch_loading_percent`, as
pandapower's: ``√3·Vn·I / rating`` for a line, the larger side of a transformer), ``rating_mw`` the
limit at 100 % loading (``limit_mw / max_loading_percent``), and ``sign`` the direction of the
active power (:func:`flow_sign`). At nominal voltage and unity power factor it equals ``P``; above
nominal voltage it is smaller than ``|P|`` (on the HV lines of 1-HVMV-mixed at about 1.07 pu,
about 7 % smaller), with reactive flow larger.

The AC check of a cleared dispatch (:class:`flexcoord.clearing.ac.PgmAcCheck`) reports it; a
forecast built with ``flows=FlowQuantity.THERMAL`` (:mod:`flexcoord.grid.forecast`) carries it,
and the seeded scenarios use such a forecast so that their tightened limits, their linear base
flows and the AC check are one quantity (``docs/decisions/008-thermal-equivalent-flows.md``).

The sign is that of the active power seen from the from side, read at the end carrying more of it
(``p_from``, or ``-p_to`` when ``|p_to| > |p_from|``: a branch open at its from end, or one whose
losses exceed its transfer). A branch with less than :data:`NO_FLOW_MW` at both ends (open at one
end and lossless, so power-grid-model leaves ``P`` at 0 or ±1e-13 MW) carries charging or
magnetising current only, which has no direction: it counts as positive (from → to). A sign taken
from that numerical noise would be random: it hid the current (``sign(0) = 0``) or flipped it
between two checks, moving the linearisation error and the engine's offset correction by twice
the current.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray
from power_grid_model import ComponentType

from flexcoord.grid.pgm_conversion import PgmGrid, branch_loading_percent, select_branches

__all__ = ["NO_FLOW_MW", "THERMAL_OUTPUTS", "branch_end_mw", "flow_sign", "thermal_flow_mw"]

FloatArray = NDArray[np.float64]

#: Active power (MW) below which a branch end carries none: far below any metered flow (1 W), far
#: above power-grid-model's numerical noise on a branch open at one end (about 1e-13 MW).
NO_FLOW_MW = 1e-6

#: The power-grid-model outputs :func:`thermal_flow_mw` reads.
THERMAL_OUTPUTS: dict[ComponentType, list[str]] = {
    ComponentType.line: ["p_from", "p_to", "loading"],
    ComponentType.transformer: ["p_from", "p_to", "i_from", "i_to"],
}


def flow_sign(p_from_mw: FloatArray, p_to_mw: FloatArray) -> FloatArray:
    """The direction (±1) of a branch's active power seen from its from side (module docstring).

    Example:
        >>> import numpy as np
        >>> flow_sign(np.array([2.0, -1e-13, 1e-3, 0.0]), np.array([-1.9, 0.0, 5e-3, 0.0]))
        array([ 1.,  1., -1.,  1.])
    """
    seen_from = np.where(np.abs(p_from_mw) >= np.abs(p_to_mw), p_from_mw, -p_to_mw)
    sign: FloatArray = np.where(np.abs(seen_from) < NO_FLOW_MW, 1.0, np.sign(seen_from))
    return sign


def branch_end_mw(
    grid: PgmGrid, out: Mapping[Any, Mapping[str, np.ndarray]], end: str = "p_from"
) -> FloatArray:
    """Active power (MW) at one end (``"p_from"`` / ``"p_to"``, positive into the branch) of every
    branch of ``grid.branches``, from columnar 2-D power-grid-model output ``(T, n_branch)``."""
    parts = [
        select_branches(grid, table, out[ctype][end]) * 1e-6
        for table, ctype in (("line", ComponentType.line), ("trafo", ComponentType.transformer))
        if (grid.branches["table"] == table).any()
    ]
    if not parts:
        return np.zeros((0, 0))
    return np.concatenate(parts, axis=1)


def thermal_flow_mw(
    grid: PgmGrid, out: Mapping[Any, Mapping[str, np.ndarray]], limit_mw: FloatArray
) -> FloatArray:
    """The thermal-equivalent flow ``(T, n_branch)`` of every branch of ``grid.branches``.

    Args:
        grid: the converted grid (:func:`flexcoord.grid.pgm.to_pgm`).
        out: columnar 2-D power-grid-model output with :data:`THERMAL_OUTPUTS`.
        limit_mw: per row of ``grid.branches``, the thermal limit of
            :func:`~flexcoord.grid.sensitivities.branch_limits` (at ``max_loading_percent``).
    """
    pct = grid.branches["max_loading_percent"].to_numpy(dtype=float)
    pct = np.where(np.isfinite(pct) & (pct > 0), pct, 100.0)
    rating_mw = np.asarray(limit_mw, dtype=float) / (pct / 100.0)
    sign = flow_sign(branch_end_mw(grid, out, "p_from"), branch_end_mw(grid, out, "p_to"))
    flow: FloatArray = sign * branch_loading_percent(grid, out) / 100.0 * rating_mw[None, :]
    return flow
