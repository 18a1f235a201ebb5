"""Disaggregation of an interface activation back to units or bids (Redispatch 3.0 step 3, L2113).

The TSO activates ``quantity_mw`` at a coupling point in a direction (UP: the area's ``P_if``
falls by that much, i.e. more export / less import; DOWN: it rises). One LP finds the unit
setpoint changes (or accepted bid MW) that reproduce it **exactly in the linear model** (an
equality row with the loss-aware interface sensitivities; optionally a second one for the
reactive interface flow) within the units' ranges and the area's limits with the model's margin:

* ``objective="cost"``: bids — least cost at their prices; units (no prices) — least total
  movement ``Σ|ΔP|``;
* ``objective="pro_rata"``: closest (L1) to each resource's pro-rata share of the activation
  (share of its range — or bid quantity — in the direction).

The dispatch is then AC-verified with power-grid-model: the AC interface change, its mismatch
against the target, and any residual DSO limit violation are reported. A target the area cannot
deliver is an outcome, not an error: ``feasible=False`` with the largest deliverable quantity and
the dispatch that reaches it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from flexcoord.coordination.aggregation.bid_columns import bid_columns
from flexcoord.coordination.aggregation.dso_model import DsoLinearModel, UnitBoxes, ac_check
from flexcoord.coordination.aggregation.linear_program import (
    INF,
    LpArrays,
    highs_from_arrays,
    is_optimal,
    solution,
)
from flexcoord.domain import Bid, Direction, Register
from flexcoord.errors import InvalidInputError, Issue

__all__ = ["Disaggregation", "disaggregate"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class Disaggregation:
    """Setpoints behind an interface activation, with their AC check.

    Attributes:
        direction: Direction of the activation at the interface.
        target_mw: Requested interface quantity.
        feasible: Whether the target is deliverable within the linear DSO limits.
        reason: Why not (empty when feasible).
        max_feasible_mw: The largest deliverable quantity in ``direction``.
        delivered_mw: Linear interface quantity of the dispatch (= target when feasible).
        resource_ids: Unit ids or bid ids, in the order of the arrays below.
        dp_mw: Active change per unit (injection sign), or accepted MW per bid.
        dq_mvar: Reactive change per unit (injection sign); bids: from their power factor.
        ac_delivered_mw: Interface quantity of the dispatch in AC (``None`` if not checked).
        ac_mismatch_mw: ``ac_delivered_mw - delivered_mw``.
        ac_loading_ratio: Largest AC branch loading / limit in the area.
        ac_vm_excess_pu: Largest AC voltage excursion beyond the band (≤ 0: none).
        ac_ok: No AC limit violated.
    """

    direction: Direction
    target_mw: float
    feasible: bool
    reason: str
    max_feasible_mw: float
    delivered_mw: float
    resource_ids: tuple[str, ...]
    dp_mw: FloatArray
    dq_mvar: FloatArray
    ac_delivered_mw: float | None
    ac_mismatch_mw: float | None
    ac_loading_ratio: float | None
    ac_vm_excess_pu: float | None
    ac_ok: bool | None


def disaggregate(
    model: DsoLinearModel,
    *,
    direction: Direction,
    quantity_mw: float,
    units: UnitBoxes | None = None,
    bids: Sequence[Bid] | None = None,
    register: Register | None = None,
    delta_q_interface_mvar: float | None = None,
    objective: Literal["cost", "pro_rata"] = "cost",
    at: datetime | None = None,
    verify_ac: bool = True,
) -> Disaggregation:
    """Setpoints of the area's units (or bids) reproducing an interface activation.

    Args:
        model: The linearised DSO area (its margins apply).
        direction: UP or DOWN at the interface.
        quantity_mw: Interface quantity (≥ 0).
        units: Flexible units (give either ``units`` or ``bids`` with ``register``).
        bids: Bids of the area (divisible use: any MW up to the quantity).
        register: Resolves bids to units and buses.
        delta_q_interface_mvar: Required change of ``Q_if`` (TSO → DSO positive), or ``None``.
        objective: ``"cost"`` or ``"pro_rata"`` (module docstring).
        at: Instant selecting the bids' MTU.
        verify_ac: Run the AC check (needs a model from ``build_dso_model``).

    Raises:
        InvalidInputError: neither or both of ``units`` / ``bids``, a negative quantity.
    """
    direction = Direction(direction)
    issues: list[tuple[str, object, str]] = []
    if (units is None) == (bids is None) or (bids is not None and register is None):
        issues.append(("units/bids", None, "give either units, or bids with a register"))
    if not (np.isfinite(quantity_mw) and quantity_mw >= 0):
        issues.append(("quantity_mw", quantity_mw, "must be a finite number >= 0"))
    if issues:
        raise InvalidInputError(
            Issue(kind="Disaggregation", object_id=model.area_id, field=f, value=v, message=m)
            for f, v, m in issues
        )
    sign = 1.0 if direction is Direction.UP else -1.0
    if units is not None:
        e = model.incidence(units.bus_ids)
        zero = np.zeros_like(e)
        ep, eq = np.hstack([e, zero]), np.hstack([zero, e])
        lower = np.concatenate([units.dp_min_mw, units.dq_min_mvar])
        upper = np.concatenate([units.dp_max_mw, units.dq_max_mvar])
        price = np.zeros(len(lower))
        ids = units.unit_ids
        reach = units.dp_max_mw if sign > 0 else -units.dp_min_mw
        share = np.concatenate([sign * reach, np.zeros(units.n_units)])
        anchor = np.zeros(len(lower)) if objective == "cost" else share
        n_p = units.n_units
    else:
        assert bids is not None and register is not None
        cols = bid_columns(model, bids, register, at=at, direction=direction)
        ep, eq = cols.ep, cols.eq
        lower, upper = np.zeros(cols.n), cols.quantity_mw.copy()
        price = cols.price_eur_per_mwh.copy()
        ids = cols.ids
        share = cols.quantity_mw.copy()
        anchor = share if objective == "pro_rata" else np.zeros(cols.n)
        n_p = cols.n
    total = float(np.abs(share).sum())
    anchor = anchor * (quantity_mw / total) if total > 0 else anchor * 0.0
    n = len(lower)
    g_p, g_q = model.interface_rows(ep, eq)
    delivered = -sign * g_p
    rows = model.limit_rows(ep, eq, col_lower=lower, col_upper=upper)
    use_dev = objective == "pro_rata" or units is not None
    # columns: x (n), then deviations d (n) with d >= |x - anchor| when use_dev
    n_dev = n if use_dev else 0
    eye = np.eye(n)
    blocks = [np.hstack([rows.a, np.zeros((rows.n_rows, n_dev))])]
    lo_rows = [np.full(rows.n_rows, -INF)]
    up_rows = [rows.upper]
    names = list(rows.names)
    if use_dev:
        blocks += [np.hstack([eye, -eye]), np.hstack([-eye, -eye])]
        lo_rows += [np.full(n, -INF)] * 2
        up_rows += [anchor, -anchor]
        names += [f"deviation-upper[{i}]" for i in range(n)]
        names += [f"deviation-lower[{i}]" for i in range(n)]
    blocks.append(np.concatenate([delivered, np.zeros(n_dev)])[None, :])
    lo_rows.append(np.array([quantity_mw]))
    up_rows.append(np.array([quantity_mw]))
    names.append("interface-activation")
    if delta_q_interface_mvar is not None:
        blocks.append(np.concatenate([g_q, np.zeros(n_dev)])[None, :])
        lo_rows.append(np.array([delta_q_interface_mvar]))
        up_rows.append(np.array([delta_q_interface_mvar]))
        names.append("interface-reactive")
    cost = np.concatenate([price, np.ones(n_dev)])
    if use_dev and units is None:
        cost[:n] *= 1e-6  # pro-rata first, price only breaks ties
    arrays = LpArrays(
        cost=cost,
        col_lower=np.concatenate([lower, np.zeros(n_dev)]),
        col_upper=np.concatenate([upper, np.full(n_dev, INF)]),
        a=sp.csc_matrix(np.vstack(blocks)),
        row_lower=np.concatenate(lo_rows),
        row_upper=np.concatenate(up_rows),
        col_names=tuple(f"setpoint[{i}]" for i in range(n))
        + tuple(f"dev[{i}]" for i in range(n_dev)),
        row_names=tuple(names),
    )
    h = highs_from_arrays(arrays)
    h.run()
    # the largest deliverable quantity: drop the activation rows, maximise delivery
    probe = highs_from_arrays(
        LpArrays(
            cost=-delivered,
            col_lower=lower,
            col_upper=upper,
            a=sp.csc_matrix(rows.a),
            row_lower=np.full(rows.n_rows, -INF),
            row_upper=rows.upper,
            col_names=arrays.col_names[:n],
            row_names=rows.names,
        )
    )
    probe.run()
    max_mw = (
        float(solution(probe, "the largest deliverable quantity") @ delivered)
        if is_optimal(probe)
        else 0.0
    )
    if is_optimal(h):
        x = solution(h, "the disaggregation")[:n]
        feasible, reason = True, ""
    else:
        x = (
            solution(probe, "the largest deliverable quantity")
            if is_optimal(probe)
            else np.zeros(n)
        )
        feasible = False
        reason = (
            f"the DSO limits allow at most {max_mw:.3f} MW {direction.value} at the interface"
            if is_optimal(probe)
            else "no dispatch satisfies the DSO limits at the operating point"
        )
    if units is not None:
        dp, dq = x[:n_p], x[n_p:]
    else:
        dp = x
        dq = x * np.array([b.q_mvar_per_mw or 0.0 for b in cols.bids]) * sign
    lin = float(x @ delivered)
    ac_mw = mismatch = loading = vex = None
    ok = None
    if verify_ac:
        check = ac_check(model, (ep @ x)[None, :], (eq @ x)[None, :], threading=-1)
        ac_mw = float(-sign * (check.p_mw[0] - model.interface_p_mw))
        mismatch = ac_mw - lin
        loading, vex = float(check.loading_ratio[0]), float(check.vm_excess_pu[0])
        ok = bool(check.feasible[0])
    return Disaggregation(
        direction=direction,
        target_mw=float(quantity_mw),
        feasible=feasible,
        reason=reason,
        max_feasible_mw=max(max_mw, 0.0),
        delivered_mw=lin,
        resource_ids=ids,
        dp_mw=dp,
        dq_mvar=dq,
        ac_delivered_mw=ac_mw,
        ac_mismatch_mw=mismatch,
        ac_loading_ratio=loading,
        ac_vm_excess_pu=vex,
        ac_ok=ok,
    )
