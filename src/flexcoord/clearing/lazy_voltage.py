"""Lazy voltage rows: build only the (bus, MTU) voltage rows that can bind, add the rest on demand.

A voltage row ``vm_min - v0 <= dV/dP · p + dV/dQ · q <= vm_max - v0`` is dense (one entry per
bus with an injection column, for P and for Q), and on a radial MV grid almost all of them are
slack at the optimum: the voltages that matter are those already near a limit in the base case.
So the engine clears by **constraint generation**:

1. *screen*: build the rows of the (bus, MTU) pairs whose base-case voltage lies within
   ``ClearingOptions.voltage_screen_pu`` of a limit (or outside the band)
   (:func:`screened_rows`);
2. solve, then compute **every** monitored bus's linearised voltage at the solution
   (:func:`missing_rows`: one matrix product per sensitivity, cheap next to a solve);
3. add the rows whose voltage lies outside its band (by more than :data:`ROW_TOLERANCE_PU`) and
   solve again; stop when none does.

Why the result is the full formulation's: each round solves a relaxation of the full problem
(fewer rows and their slacks; at a point that meets a row its slacks are zero and cost
nothing). When the last round's
point meets every missing row, it is feasible for the full problem with the same objective, so it
is optimal there too (for a MILP: within the same gap). The dispatch is the same when the optimum
is unique, which the tie-break makes the rule. Tested against the full build in
``tests/clearing/test_lazy_voltage.py`` on a case where rows are added in later rounds.
"""

from __future__ import annotations

import numpy as np

from flexcoord.clearing.dispatch import outside_band
from flexcoord.clearing.formulation import BlockKind, Formulation
from flexcoord.clearing.problem import BoolArray, ClearingProblem, FloatArray

__all__ = ["ROW_TOLERANCE_PU", "linearised_vm_pu", "missing_rows", "screened_rows"]

#: A missing row is added when its linearised voltage lies this far outside the band (pu).
#: Tight on purpose: a violation the full formulation would price costs
#: ``voltage_penalty_eur_per_pu_h`` (1e8 €/pu·h) per pu, i.e. 0.025 € per 1e-9 pu in a
#: quarter-hour.
ROW_TOLERANCE_PU = 1e-9


def screened_rows(problem: ClearingProblem, screen_pu: float) -> BoolArray:
    """``(n_vbus, n_mtu)``: the pairs whose base voltage lies within ``screen_pu`` of a limit
    (or outside the band): the rows the first round builds."""
    p = problem
    v0 = p.base_vm_pu
    near_upper = v0 >= p.vm_max_pu[:, None] - screen_pu
    near_lower = v0 <= p.vm_min_pu[:, None] + screen_pu
    return np.asarray(near_upper | near_lower, dtype=bool)


def linearised_vm_pu(
    problem: ClearingProblem, form: Formulation, col_value: FloatArray
) -> FloatArray:
    """``(n_vbus, n_mtu)`` linearised voltages at a solution of ``form``: the base voltages plus
    ``dV/dP`` and ``dV/dQ`` times the nodal injection columns."""
    p = problem
    vm = np.array(p.base_vm_pu, dtype=np.float64)
    for kind, sens in ((BlockKind.INJECTION_P, p.dvm_dp), (BlockKind.INJECTION_Q, p.dvm_dq)):
        block = form.col_blocks.get(kind)
        if block is None or not block.size:
            continue
        inj = col_value[block.start : block.stop].reshape(p.n_mtu, p.n_bus)  # MTU-major
        vm += sens @ inj.T
    return vm


def missing_rows(
    problem: ClearingProblem, form: Formulation, col_value: FloatArray, built: BoolArray
) -> BoolArray:
    """The (bus, MTU) pairs without a row whose linearised voltage at ``col_value`` lies
    outside the band by more than :data:`ROW_TOLERANCE_PU`."""
    p = problem
    vm = linearised_vm_pu(p, form, col_value)
    off = outside_band(vm, p.vm_min_pu[:, None], p.vm_max_pu[:, None])
    return np.asarray((off > ROW_TOLERANCE_PU) & ~built, dtype=bool)
