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

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from flexcoord.coordination.aggregation.bid_columns import bid_columns, capability_rows
from flexcoord.coordination.aggregation.dso_model import (
    DsoLinearModel,
    LinearRows,
    UnitBoxes,
    ac_check,
)
from flexcoord.coordination.aggregation.linear_program import (
    INF,
    LpArrays,
    csc_of_dense,
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


def disaggregate(  # noqa: PLR0913 - the public signature: a model and nine keyword options
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
    request = _Request(
        direction=Direction(direction),
        quantity_mw=quantity_mw,
        units=units,
        bids=bids,
        register=register,
        delta_q_interface_mvar=delta_q_interface_mvar,
        objective=objective,
        at=at,
        verify_ac=verify_ac,
    )
    _check(model, request)
    cols = _columns(model, request)
    g_p, g_q = model.interface_rows(cols.ep, cols.eq)
    delivered = -request.sign * g_p
    rows = model.limit_rows(cols.ep, cols.eq, col_lower=cols.lower, col_upper=cols.upper)
    if cols.capability is not None:
        rows = rows.plus(cols.capability)
    solved = _solve(request, cols, rows, delivered, g_q)
    return _result(model, request, cols, solved, delivered)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Request:
    """The options of one :func:`disaggregate` call."""

    direction: Direction
    quantity_mw: float
    units: UnitBoxes | None
    bids: Sequence[Bid] | None
    register: Register | None
    delta_q_interface_mvar: float | None
    objective: Literal["cost", "pro_rata"]
    at: datetime | None
    verify_ac: bool

    @property
    def sign(self) -> float:
        return 1.0 if self.direction is Direction.UP else -1.0

    @property
    def with_deviations(self) -> bool:
        """Whether the LP has deviation columns ``d >= |x - anchor|`` (pro rata, or units)."""
        return self.objective == "pro_rata" or self.units is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Columns:
    """The LP's setpoint columns: units' ΔP then ΔQ, or bids' accepted MW."""

    ep: FloatArray
    eq: FloatArray
    lower: FloatArray
    upper: FloatArray
    price: FloatArray
    ids: tuple[str, ...]
    anchor: FloatArray  # the pro-rata target of each column (zeros for least cost)
    n_p: int  # active columns
    q_per_mw: FloatArray | None  # bids: reactive MW per accepted MW (their power factor)
    capability: LinearRows | None = None  # bids: their units' capability rows


def _check(model: DsoLinearModel, request: _Request) -> None:
    issues: list[tuple[str, object, str]] = []
    units, bids = request.units, request.bids
    if (units is None) == (bids is None) or (bids is not None and request.register is None):
        issues.append(("units/bids", None, "give either units, or bids with a register"))
    if not (np.isfinite(request.quantity_mw) and request.quantity_mw >= 0):
        issues.append(("quantity_mw", request.quantity_mw, "must be a finite number >= 0"))
    if issues:
        raise InvalidInputError(
            Issue(kind="Disaggregation", object_id=model.area_id, field=f, value=v, message=m)
            for f, v, m in issues
        )


def _columns(model: DsoLinearModel, request: _Request) -> _Columns:
    sign, units = request.sign, request.units
    if units is not None:
        e = model.incidence(units.bus_ids)
        zero = np.zeros_like(e)
        lower = np.concatenate([units.dp_min_mw, units.dq_min_mvar])
        reach = units.dp_max_mw if sign > 0 else -units.dp_min_mw
        share = np.concatenate([sign * reach, np.zeros(units.n_units)])
        columns = _Columns(
            ep=np.hstack([e, zero]),
            eq=np.hstack([zero, e]),
            lower=lower,
            upper=np.concatenate([units.dp_max_mw, units.dq_max_mvar]),
            price=np.zeros(len(lower)),
            ids=units.unit_ids,
            anchor=np.zeros(len(lower)) if request.objective == "cost" else share,
            n_p=units.n_units,
            q_per_mw=None,
        )
    else:
        assert request.bids is not None and request.register is not None
        cols = bid_columns(
            model, request.bids, request.register, at=request.at, direction=request.direction
        )
        share = cols.quantity_mw.copy()
        columns = _Columns(
            ep=cols.ep,
            eq=cols.eq,
            lower=np.zeros(cols.n),
            upper=cols.quantity_mw.copy(),
            price=cols.price_eur_per_mwh.copy(),
            ids=cols.ids,
            anchor=share if request.objective == "pro_rata" else np.zeros(cols.n),
            n_p=cols.n,
            q_per_mw=np.array([b.q_mvar_per_mw or 0.0 for b in cols.bids]),
            capability=capability_rows(cols),
        )
    total = float(np.abs(share).sum())
    anchor = columns.anchor * (request.quantity_mw / total) if total > 0 else columns.anchor * 0.0
    return dataclasses.replace(columns, anchor=anchor)


def _activation_lp(
    request: _Request,
    cols: _Columns,
    rows: LinearRows,
    delivered: FloatArray,
    g_q: FloatArray,
) -> LpArrays:
    """The disaggregation LP: setpoints within ranges and limits delivering exactly the target
    (columns: x, then deviations d >= |x - anchor| when the request has them)."""
    n = len(cols.lower)
    n_dev = n if request.with_deviations else 0
    eye = np.eye(n)
    blocks = [np.hstack([rows.a, np.zeros((rows.n_rows, n_dev))])]
    lo_rows = [np.full(rows.n_rows, -INF)]
    up_rows = [rows.upper]
    names = list(rows.names)
    if request.with_deviations:
        blocks += [np.hstack([eye, -eye]), np.hstack([-eye, -eye])]
        lo_rows += [np.full(n, -INF)] * 2
        up_rows += [cols.anchor, -cols.anchor]
        names += [f"deviation-upper[{i}]" for i in range(n)]
        names += [f"deviation-lower[{i}]" for i in range(n)]
    blocks.append(np.concatenate([delivered, np.zeros(n_dev)])[None, :])
    lo_rows.append(np.array([request.quantity_mw]))
    up_rows.append(np.array([request.quantity_mw]))
    names.append("interface-activation")
    if request.delta_q_interface_mvar is not None:
        blocks.append(np.concatenate([g_q, np.zeros(n_dev)])[None, :])
        lo_rows.append(np.array([request.delta_q_interface_mvar]))
        up_rows.append(np.array([request.delta_q_interface_mvar]))
        names.append("interface-reactive")
    cost = np.concatenate([cols.price, np.ones(n_dev)])
    if request.with_deviations and request.units is None:
        cost[:n] *= 1e-6  # pro-rata first, price only breaks ties
    return LpArrays(
        cost=cost,
        col_lower=np.concatenate([cols.lower, np.zeros(n_dev)]),
        col_upper=np.concatenate([cols.upper, np.full(n_dev, INF)]),
        a=csc_of_dense(np.vstack(blocks)),
        row_lower=np.concatenate(lo_rows),
        row_upper=np.concatenate(up_rows),
        col_names=tuple(f"setpoint[{i}]" for i in range(n))
        + tuple(f"dev[{i}]" for i in range(n_dev)),
        row_names=tuple(names),
    )


def _largest_delivery_lp(cols: _Columns, rows: LinearRows, delivered: FloatArray) -> LpArrays:
    """The largest deliverable quantity: no activation rows, delivery maximised."""
    return LpArrays(
        cost=-delivered,
        col_lower=cols.lower,
        col_upper=cols.upper,
        a=csc_of_dense(rows.a),
        row_lower=np.full(rows.n_rows, -INF),
        row_upper=rows.upper,
        col_names=tuple(f"setpoint[{i}]" for i in range(len(cols.lower))),
        row_names=rows.names,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Solved:
    """The LP's setpoints (the largest deliverable dispatch when the target is not) and
    whether the target is deliverable."""

    x: FloatArray
    feasible: bool
    reason: str
    max_feasible_mw: float


def _solve(
    request: _Request,
    cols: _Columns,
    rows: LinearRows,
    delivered: FloatArray,
    g_q: FloatArray,
) -> _Solved:
    # one instance: the activation LP is read before the probe replaces it
    h = highs_from_arrays(_activation_lp(request, cols, rows, delivered, g_q))
    h.run()
    x_act = solution(h, "the disaggregation")[: len(cols.lower)] if is_optimal(h) else None
    probe = highs_from_arrays(_largest_delivery_lp(cols, rows, delivered), into=h)
    probe.run()
    max_mw = (
        float(solution(probe, "the largest deliverable quantity") @ delivered)
        if is_optimal(probe)
        else 0.0
    )
    n = len(cols.lower)
    if x_act is not None:
        return _Solved(
            x=x_act,
            feasible=True,
            reason="",
            max_feasible_mw=max(max_mw, 0.0),
        )
    if is_optimal(probe):
        x = solution(probe, "the largest deliverable quantity")
        reason = (
            f"the DSO limits allow at most {max_mw:.3f} MW {request.direction.value} at the "
            "interface"
        )
    else:
        x, reason = np.zeros(n), "no dispatch satisfies the DSO limits at the operating point"
    return _Solved(x=x, feasible=False, reason=reason, max_feasible_mw=max(max_mw, 0.0))


def _result(
    model: DsoLinearModel,
    request: _Request,
    cols: _Columns,
    solved: _Solved,
    delivered: FloatArray,
) -> Disaggregation:
    """The setpoints of the solution and their AC check."""
    x = solved.x
    if cols.q_per_mw is None:
        dp, dq = x[: cols.n_p], x[cols.n_p :]
    else:
        dp, dq = x, x * cols.q_per_mw * request.sign
    lin = float(x @ delivered)
    ac_mw = mismatch = loading = vex = None
    ok = None
    if request.verify_ac:
        check = ac_check(model, (cols.ep @ x)[None, :], (cols.eq @ x)[None, :], threading=-1)
        ac_mw = float(-request.sign * (check.p_mw[0] - model.interface_p_mw))
        mismatch = ac_mw - lin
        loading, vex = float(check.loading_ratio[0]), float(check.vm_excess_pu[0])
        ok = bool(check.feasible[0])
    return Disaggregation(
        direction=request.direction,
        target_mw=float(request.quantity_mw),
        feasible=solved.feasible,
        reason=solved.reason,
        max_feasible_mw=solved.max_feasible_mw,
        delivered_mw=lin,
        resource_ids=cols.ids,
        dp_mw=dp,
        dq_mvar=dq,
        ac_delivered_mw=ac_mw,
        ac_mismatch_mw=mismatch,
        ac_loading_ratio=loading,
        ac_vm_excess_pu=vex,
        ac_ok=ok,
    )
