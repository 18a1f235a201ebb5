"""The array-level engine: canonical order → formulation → HiGHS → result, and the AC loop.

AC verification: the cleared dispatch (nodal P and Q of the accepted flexibility, on top of the
operating point) is handed to an :class:`AcChecker` (the power-grid-model implementation lives in
:mod:`flexcoord.clearing.ac`). The difference between the AC and the linearised branch flows and
voltages is the *linearisation error*. With ``options.ac_max_iterations > 0`` the engine
re-linearises by offset correction - the base flows and voltages of the problem are shifted by that
error, so the linear model is exact at the last dispatch - and re-clears, until the AC check
shows no *new* violation or the iterations run out. A violation is new when the AC violation of a
branch or voltage exceeds the residual the linear clearing already priced there (a base-case
violation no bid can relieve stays as a priced residual, counted in ``priced_residuals``; it is not
a reason to iterate). The result carries an :class:`AcReport` with the residual
violations, the error of the last linearisation and the error before any re-clearing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from flexcoord.clearing.dispatch import branch_overload_mw, nodal_injections, outside_band
from flexcoord.clearing.extract import extract
from flexcoord.clearing.formulation import build_formulation
from flexcoord.clearing.lazy_rows import GridRows, missing_rows, screened_rows
from flexcoord.clearing.options import ClearingOptions
from flexcoord.clearing.problem import ClearingProblem, FloatArray, canonical
from flexcoord.clearing.result import AcReport, ClearingResult
from flexcoord.clearing.solve import solve

__all__ = ["AcChecker", "AcFlows", "clear_problem"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AcFlows:
    """AC branch flows (MW, signed as the PTDF rows; thermal checkers may return the apparent
    power with the sign of P) and bus voltages (pu) for every monitored branch / voltage and MTU."""

    branch_flow_mw: FloatArray
    vm_pu: FloatArray


class AcChecker(Protocol):
    """Runs an AC power flow of the operating point plus the cleared nodal injections."""

    def check(self, p_mw: FloatArray, q_mvar: FloatArray) -> AcFlows:
        """``p_mw``/``q_mvar``: (n_bus, n_mtu) injections of the accepted flexibility."""
        ...


def _clear_once(
    problem: ClearingProblem, options: ClearingOptions, rows: GridRows | None = None
) -> tuple[ClearingResult, GridRows | None]:
    """One clearing; with lazy grid rows, the rounds of :mod:`.lazy_rows` (starting from the
    screened rows and ``rows``, those a previous clearing needed). Returns the result and the
    grid rows it built (``None``: all)."""
    t0 = time.perf_counter()
    built = screened_rows(problem, options)
    if built.branch is None and built.voltage is None:
        form = build_formulation(problem, options)
        build_s = time.perf_counter() - t0
        raw = solve(form, options)
        return extract(form, raw, options, build_s), None
    if rows is not None:
        built = built.union(rows)
    build_s = pass_s = solve_s = duals_s = 0.0
    iterations = rounds = 0
    while True:
        t0 = time.perf_counter()
        form = build_formulation(
            problem, options, branch_rows=built.branch, voltage_rows=built.voltage
        )
        build_s += time.perf_counter() - t0
        raw = solve(form, options)
        pass_s, solve_s, duals_s = pass_s + raw.pass_s, solve_s + raw.solve_s, duals_s + raw.duals_s
        iterations += raw.simplex_iterations
        rounds += 1
        if form.is_mip and raw.mip_nodes > 0 and built.branch is not None:
            # a branch and bound ran: its incumbent within the gap depends on the rows built,
            # so a MILP keeps every branch row (the results it always had)
            built = GridRows(None, built.voltage)
            continue
        missing = missing_rows(problem, form, raw.col_value, built)
        if not missing.any():
            break
        built = built.union(missing)
    raw = replace(
        raw, pass_s=pass_s, solve_s=solve_s, duals_s=duals_s, simplex_iterations=iterations
    )
    result = extract(form, raw, options, build_s)
    return replace(result, stats=replace(result.stats, grid_rounds=rounds)), built


def clear_problem(
    problem: ClearingProblem,
    options: ClearingOptions | None = None,
    *,
    ac_checker: AcChecker | None = None,
) -> ClearingResult:
    """Clear ``problem``; with an ``ac_checker`` also verify (and re-clear) in AC.

    Example:
        >>> import numpy as np
        >>> p = ClearingProblem(
        ...     mtu_labels=("t0",), mtu_duration_h=np.array([1.0]),
        ...     bid_ids=("cheap", "dear"), bid_submitted_s=np.zeros(2),
        ...     bid_indivisible=np.zeros(2, bool), bid_block=np.zeros(2, bool),
        ...     bid_min_mw=np.zeros(2), bid_xor=np.array([-1, -1]), bid_parent=np.array([-1, -1]),
        ...     slot_bid=np.array([0, 1]), slot_mtu=np.array([0, 0]),
        ...     slot_quantity_mw=np.array([1.0, 5.0]), slot_price_eur_per_mwh=np.array([10., 20.]),
        ...     slot_up=np.ones(2, bool), slot_reactive=np.zeros(2, bool),
        ...     slot_bus=np.array([-1, -1]),
        ...     need_ids=("n",), need_required_mw=np.array([[2.0]]), need_up=np.array([True]),
        ...     need_reactive=np.array([False]), need_price_cap_eur_per_mwh=np.array([np.nan]),
        ...     eligible_need=np.array([0, 0]), eligible_slot=np.array([0, 1]))
        >>> r = clear_problem(p)
        >>> r.accepted_mw_by_bid()
        {'cheap': 1.0, 'dear': 1.0}
        >>> round(r.objective_eur, 2)
        30.0
    """
    options = options or ClearingOptions()
    current = canonical(problem)
    result, rows = _clear_once(current, options)
    if ac_checker is None:
        return result
    lim = (1.0 - current.safety_margin) * current.limit_mw
    first_err: tuple[float, float] | None = None
    iterations = 0
    while True:
        inj_p, inj_q = nodal_injections(result.problem, result.slot_accepted_mw)
        ac = ac_checker.check(inj_p, inj_q)
        d_flow = ac.branch_flow_mw - result.branch_flow_mw
        d_vm = ac.vm_pu - result.vm_pu
        err = (float(np.max(np.abs(d_flow), initial=0.0)), float(np.max(np.abs(d_vm), initial=0.0)))
        first_err = first_err or err
        br = branch_overload_mw(ac.branch_flow_mw, lim)
        vv = outside_band(ac.vm_pu, current.vm_min_pu[:, None], current.vm_max_pu[:, None])
        # a violation the linear model did not see (beyond its own priced residual) is new
        over = br - result.branch_violation_mw > options.ac_tolerance_mw
        v_over = vv - result.voltage_violation_pu > options.ac_tolerance_pu
        if not (over.any() or v_over.any()) or iterations >= options.ac_max_iterations:
            break
        current = current.with_operating_point(
            base_flow_mw=current.base_flow_mw + d_flow, base_vm_pu=current.base_vm_pu + d_vm
        )
        result, rows = _clear_once(current, options, rows)
        iterations += 1
    texts = [
        f"{current.branch_names[line]} {'upper' if ac.branch_flow_mw[line, t] > 0 else 'lower'} "
        f"limit at {current.mtu_labels[t]}: AC {ac.branch_flow_mw[line, t]:.3f} MW, "
        f"limit {lim[line]:.3f} MW"
        for line, t in zip(*np.nonzero(over), strict=True)
    ]
    texts += [
        f"{current.vbus_names[v]} voltage at {current.mtu_labels[t]}: AC {ac.vm_pu[v, t]:.5f} pu"
        for v, t in zip(*np.nonzero(v_over), strict=True)
    ]
    priced = int(np.count_nonzero((br > options.ac_tolerance_mw) & ~over))
    priced += int(np.count_nonzero((vv > options.ac_tolerance_pu) & ~v_over))
    report = AcReport(
        iterations=iterations,
        converged=not texts,
        max_branch_violation_mw=float(np.max(br, initial=0.0)),
        max_voltage_violation_pu=float(np.max(vv, initial=0.0)),
        linearisation_error_flow_mw=err[0],
        linearisation_error_vm_pu=err[1],
        initial_linearisation_error_flow_mw=first_err[0],
        initial_linearisation_error_vm_pu=first_err[1],
        violations=tuple(texts),
        priced_residuals=priced,
    )
    return replace(result, ac=report)
