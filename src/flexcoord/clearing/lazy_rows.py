"""Lazy grid rows: build only the branch and voltage rows that can bind, add the rest on demand.

A voltage row ``vm_min - v0 <= dV/dP · p + dV/dQ · q <= vm_max - v0`` is dense (one entry per
bus with an injection column, for P and for Q), a branch row ``-L' - f0 <= PTDF · p <= L' - f0``
nearly so, and on a radial MV grid almost all of them are slack at the optimum: the limits that
matter are those already near their bound in the base case. So the engine clears by
**constraint generation**:

1. *screen* (:func:`screened_rows`): build the voltage rows of the (bus, MTU) pairs whose
   base-case voltage lies within ``ClearingOptions.voltage_screen_pu`` of a limit (or outside
   the band), and the branch rows of the (branch, MTU) pairs whose ``|base flow|`` reaches
   ``branch_screen`` × the margined limit;
2. solve, then compute **every** monitored voltage and flow at the solution
   (:func:`missing_rows`: one matrix product per sensitivity, cheap next to a solve);
3. add the rows whose value lies outside its limit (by more than :data:`ROW_TOLERANCE_PU` /
   :data:`ROW_TOLERANCE_MW`) and solve again; stop when none does.

Why the result is the full formulation's: each round solves a relaxation of the full problem
(fewer rows and their slacks; at a point that meets a row its slacks are zero and cost
nothing). When the last round's point meets every row it was built without, it is feasible for
the full problem with the same objective, so it is optimal there too (for a MILP: within the
same gap). The dispatch is the same when the optimum is unique, which the tie-break makes the
rule. A MILP whose round ran a branch and bound (its LP relaxation was not integral) is rebuilt
with every branch row: a MIP incumbent within the gap depends on the rows built, and the branch
rows of such MILPs (penalty-dominated golden cases) must give the results they always gave.
Tested against the full build in ``tests/clearing/test_lazy_rows.py`` on cases where rows
are added in later rounds.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from flexcoord.clearing.dispatch import branch_overload_mw, outside_band
from flexcoord.clearing.formulation import BlockKind, Formulation
from flexcoord.clearing.options import ClearingOptions
from flexcoord.clearing.problem import BoolArray, ClearingProblem, FloatArray

__all__ = [
    "ROW_TOLERANCE_MW",
    "ROW_TOLERANCE_PU",
    "GridRows",
    "linearised_state",
    "missing_rows",
    "screened_rows",
]

#: A missing voltage row is added when its linearised voltage lies this far outside the band
#: (pu). Tight on purpose: the full formulation would price a violation at
#: ``voltage_penalty_eur_per_pu_h`` (1e8 €/pu·h), i.e. 0.025 € per 1e-9 pu in a quarter-hour.
ROW_TOLERANCE_PU = 1e-9
#: A missing branch row is added when its flow exceeds the margined limit by this much (MW).
ROW_TOLERANCE_MW = 1e-9


class GridRows(NamedTuple):
    """Which (branch, MTU) and (bus, MTU) rows are built (``None``: all of that kind)."""

    branch: BoolArray | None
    voltage: BoolArray | None

    def union(self, other: GridRows) -> GridRows:
        """Rows built in either."""
        return GridRows(_or(self.branch, other.branch), _or(self.voltage, other.voltage))

    def any(self) -> bool:
        """Whether any row is marked."""
        return any(m is not None and bool(m.any()) for m in self)


def _or(a: BoolArray | None, b: BoolArray | None) -> BoolArray | None:
    if a is None or b is None:
        return None
    return np.asarray(a | b, dtype=bool)


def screened_rows(problem: ClearingProblem, options: ClearingOptions) -> GridRows:
    """The rows the first round builds (see the module docstring); a kind whose lazy option is
    off is built whole (``None``)."""
    p = problem
    branch = voltage = None
    if options.lazy_branch_rows and p.n_branch:
        lim = (1.0 - p.safety_margin) * p.limit_mw
        branch = np.asarray(np.abs(p.base_flow_mw) >= options.branch_screen * lim[:, None])
    if options.lazy_voltage_rows and p.n_vbus:
        screen = options.voltage_screen_pu
        v0 = p.base_vm_pu
        near_upper = v0 >= p.vm_max_pu[:, None] - screen
        near_lower = v0 <= p.vm_min_pu[:, None] + screen
        voltage = np.asarray(near_upper | near_lower, dtype=bool)
    return GridRows(branch, voltage)


def linearised_state(
    problem: ClearingProblem, form: Formulation, col_value: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``(n_branch, n_mtu)`` flows and ``(n_vbus, n_mtu)`` voltages at a solution of ``form``:
    the base case plus PTDF, ``dV/dP`` and ``dV/dQ`` times the nodal injection columns."""
    p = problem
    flow = np.array(p.base_flow_mw, dtype=np.float64)
    vm = np.array(p.base_vm_pu, dtype=np.float64)
    for kind, sens in ((BlockKind.INJECTION_P, p.dvm_dp), (BlockKind.INJECTION_Q, p.dvm_dq)):
        block = form.col_blocks.get(kind)
        if block is None or not block.size:
            continue
        # MTU-major columns; a C-ordered copy, as OpenBLAS stalls on the transposed view
        inj = np.ascontiguousarray(col_value[block.start : block.stop].reshape(p.n_mtu, p.n_bus).T)
        if p.n_vbus:
            vm += sens @ inj
        if kind is BlockKind.INJECTION_P and p.n_branch:
            flow += p.ptdf @ inj
    return flow, vm


def missing_rows(
    problem: ClearingProblem, form: Formulation, col_value: FloatArray, built: GridRows
) -> GridRows:
    """The rows not built whose value at ``col_value`` breaks its limit (see the tolerances)."""
    p = problem
    flow, vm = linearised_state(p, form, col_value)
    branch = voltage = None
    if built.branch is not None:
        over = branch_overload_mw(flow, (1.0 - p.safety_margin) * p.limit_mw)
        branch = np.asarray((over > ROW_TOLERANCE_MW) & ~built.branch, dtype=bool)
    if built.voltage is not None:
        off = outside_band(vm, p.vm_min_pu[:, None], p.vm_max_pu[:, None])
        voltage = np.asarray((off > ROW_TOLERANCE_PU) & ~built.voltage, dtype=bool)
    return GridRows(branch, voltage)
