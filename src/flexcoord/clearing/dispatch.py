"""The dispatch kernel: what accepted flexibility does to the grid, written once.

Every layer that turns accepted MW into physics calls these functions — the engine (the AC
check's injections), the extraction (binding limits and residual violations), the cost split of
the objective (:mod:`flexcoord.clearing.costs`), and the coordination layer (the flows a market
leaves for the next one, the forecast a later round clears on):

* :func:`nodal_injections` — accepted MW per slot → signed active and reactive injections per bus
  and MTU (an up slot injects ``+x``, a down slot ``-x``; an active slot with
  ``slot_q_mvar_per_mw = k`` adds ``k`` × its signed MW of reactive power);
* :func:`grid_state` — those injections → linearised branch flows, bus voltages and interface
  values on the problem's base case;
* :func:`violations` — what the state breaks: MW over each branch's (margined) limit, pu
  outside each voltage band, interface values outside their bounds, and the signed active
  imbalance of an energy-balanced market; :func:`branch_overload_mw` and
  :func:`outside_band` are the same rules for flows and voltages from elsewhere (the AC check);
* :func:`shortfall_price_eur_per_mwh` — the price of a need's uncovered MWh in the objective;
* :func:`shift_constraints` and :func:`shift_forecast` — a base case moved by injections that
  markets cleared earlier (flows through the PTDF, voltages through dV/dP and dV/dQ).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from flexcoord.clearing.options import ClearingOptions
from flexcoord.clearing.problem import ClearingProblem, FloatArray
from flexcoord.domain.bid_table import positions

if TYPE_CHECKING:
    from flexcoord.clearing.grid_constraints import GridConstraints

__all__ = [
    "GridState",
    "Violations",
    "branch_overload_mw",
    "grid_state",
    "nodal_injections",
    "outside_band",
    "shift_constraints",
    "shift_forecast",
    "shortfall_price_eur_per_mwh",
    "violations",
]


def nodal_injections(
    problem: ClearingProblem, slot_mw: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Active and reactive injections ``(n_bus, n_mtu)`` of ``slot_mw`` (MW per slot).

    Slots without a bus (``slot_bus < 0``) inject nowhere.

    Example:
        >>> from flexcoord.clearing.problem import ClearingProblem
        >>> p = ClearingProblem(
        ...     mtu_labels=("t0",), mtu_duration_h=np.array([0.25]), bid_ids=("up", "down"),
        ...     bid_submitted_s=np.zeros(2), bid_indivisible=np.array([False, False]),
        ...     bid_block=np.array([False, False]), bid_min_mw=np.zeros(2),
        ...     bid_xor=np.array([-1, -1]), bid_parent=np.array([-1, -1]),
        ...     slot_bid=np.array([0, 1]), slot_mtu=np.array([0, 0]),
        ...     slot_quantity_mw=np.array([2.0, 1.0]), slot_price_eur_per_mwh=np.array([1.0, 1.0]),
        ...     slot_up=np.array([True, False]), slot_reactive=np.array([False, False]),
        ...     slot_bus=np.array([0, 0]), bus_ids=("7",), eligible_need=np.zeros(0, np.int64),
        ...     eligible_slot=np.zeros(0, np.int64))
        >>> p_mw, q_mvar = nodal_injections(p, np.array([1.5, 0.5]))
        >>> p_mw.tolist(), q_mvar.tolist()
        ([[1.0]], [[0.0]])
    """
    p = problem
    x = np.asarray(slot_mw, dtype=np.float64)
    signed = np.where(p.slot_up, x, -x)
    located = p.slot_bus >= 0
    act = located & ~p.slot_reactive
    shape = (p.n_bus, p.n_mtu)
    cell = p.slot_bus * p.n_mtu + p.slot_mtu  # sums per (bus, MTU) cell, in slot order as
    size = shape[0] * shape[1]  # np.add.at would (bincount: one pass, no 2-D scatter)
    inj_p = np.bincount(cell[act], weights=signed[act], minlength=size)
    # Q: a reactive slot's own Mvar, an active slot's Mvar per signed MW
    q_of = np.where(p.slot_reactive, signed, signed * p.slot_q_mvar_per_mw)
    inj_q = np.bincount(cell[located], weights=q_of[located], minlength=size)
    return inj_p.reshape(shape).astype(np.float64, copy=False), inj_q.reshape(shape).astype(
        np.float64, copy=False
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class GridState:
    """The linearised grid after a dispatch, on the problem's base case.

    Attributes:
        p_mw: ``(n_bus, T)`` active injections of the flexibility.
        q_mvar: ``(n_bus, T)`` reactive injections.
        flow_mw: ``(n_branch, T)`` branch flows: base flow plus PTDF × ``p_mw``.
        vm_pu: ``(n_vbus, T)`` voltages: base plus dV/dP × ``p_mw`` plus dV/dQ × ``q_mvar``.
        interface: ``(n_interface, T)`` values of the interface constraints.
    """

    p_mw: FloatArray
    q_mvar: FloatArray
    flow_mw: FloatArray
    vm_pu: FloatArray
    interface: FloatArray


def grid_state(problem: ClearingProblem, slot_mw: FloatArray) -> GridState:
    """Flows, voltages and interface values after ``slot_mw`` (MW per slot)."""
    p = problem
    inj_p, inj_q = nodal_injections(p, slot_mw)
    n_t = p.n_mtu
    flow = p.base_flow_mw + p.ptdf @ inj_p if p.n_branch else np.zeros((0, n_t))
    vm = p.base_vm_pu + p.dvm_dp @ inj_p + p.dvm_dq @ inj_q if p.n_vbus else np.zeros((0, n_t))
    value = p.ic_p_total @ inj_p + p.ic_q_total @ inj_q if p.n_interface else np.zeros((0, n_t))
    return GridState(p_mw=inj_p, q_mvar=inj_q, flow_mw=flow, vm_pu=vm, interface=value)


def branch_overload_mw(flow_mw: FloatArray, limit_mw: FloatArray) -> FloatArray:
    """``(n_branch, T)`` MW of ``|flow|`` above each branch's ``(n_branch,)`` limit (0 within)."""
    return np.clip(np.abs(flow_mw) - limit_mw[:, None], 0.0, None)


def outside_band(value: FloatArray, lower: FloatArray, upper: FloatArray) -> FloatArray:
    """How far ``value`` lies outside ``[lower, upper]`` (element-wise; bounds broadcast)."""
    return np.clip(value - upper, 0.0, None) + np.clip(lower - value, 0.0, None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Violations:
    """What a dispatch breaks on the linearised grid (every array ``(n, T)``, ``balance_mw``
    ``(T,)``).

    Attributes:
        branch_mw: MW above each branch's limit less the problem's safety margin.
        voltage_pu: pu outside each monitored bus's voltage band.
        interface: outside each interface constraint's bounds (its own unit).
        balance_mw: signed accepted active MW (up positive) per MTU of an energy-balanced
            market (zeros otherwise: nothing to balance).
    """

    branch_mw: FloatArray
    voltage_pu: FloatArray
    interface: FloatArray
    balance_mw: FloatArray


def violations(problem: ClearingProblem, state: GridState, slot_mw: FloatArray) -> Violations:
    """The :class:`Violations` of ``state``, the grid after ``slot_mw``."""
    p = problem
    n_t = p.n_mtu
    balance: FloatArray = np.zeros(n_t)
    if p.energy_balance:
        active = ~p.slot_reactive
        signed = np.where(p.slot_up, 1.0, -1.0) * slot_mw
        balance = np.bincount(p.slot_mtu[active], weights=signed[active], minlength=n_t).astype(
            np.float64
        )
    return Violations(
        branch_mw=(
            branch_overload_mw(state.flow_mw, (1.0 - p.safety_margin) * p.limit_mw)
            if p.n_branch
            else np.zeros((0, n_t))
        ),
        voltage_pu=(
            outside_band(state.vm_pu, p.vm_min_pu[:, None], p.vm_max_pu[:, None])
            if p.n_vbus
            else np.zeros((0, n_t))
        ),
        interface=(
            outside_band(state.interface, p.ic_lower, p.ic_upper)
            if p.n_interface
            else np.zeros((0, n_t))
        ),
        balance_mw=balance,
    )


def shortfall_price_eur_per_mwh(problem: ClearingProblem, options: ClearingOptions) -> FloatArray:
    """Per need, the objective's price of an uncovered MWh: the buyer's price cap plus twice the
    tie-break (so covering never loses to shortfall at the cap), else the options' penalty."""
    cap = problem.need_price_cap_eur_per_mwh
    return np.where(
        np.isfinite(cap),
        cap + 2.0 * options.tie_break_eur_per_mwh,
        options.shortfall_penalty_eur_per_mwh,
    )


def _gather(target_ids: NDArray[Any], bus_ids: NDArray[np.int64], values: FloatArray) -> FloatArray:
    """Rows of ``values`` (one per pandapower bus of ``bus_ids``) summed onto the rows of
    ``target_ids``; buses that are not targets are left out."""
    target = np.asarray(target_ids, dtype=np.int64)
    out = np.zeros((len(target), values.shape[1]))
    if not len(target) or not len(bus_ids):
        return out
    pos = positions(target, bus_ids)
    known = pos >= 0
    np.add.at(out, pos[known], values[known])
    return out


def shift_constraints(
    gc: GridConstraints, bus_ids: NDArray[np.int64], p_mw: FloatArray, q_mvar: FloatArray
) -> GridConstraints:
    """``gc`` with its base case moved by injections ``p_mw``/``q_mvar`` (``(n, T)`` at the
    pandapower buses ``bus_ids``) of markets cleared earlier: flows through the PTDF, voltages
    through dV/dP and dV/dQ. Injections at buses ``gc`` does not model are left out."""
    if not np.any(p_mw) and not np.any(q_mvar):
        return gc
    buses = np.asarray(bus_ids, dtype=np.int64)
    base_flow = gc.base_flow_mw + gc.ptdf @ _gather(gc.bus_ids, buses, p_mw)
    base_vm = gc.base_vm_pu
    if len(gc.vbus_ids):
        vp = _gather(gc.injection_bus_ids, buses, p_mw)
        vq = _gather(gc.injection_bus_ids, buses, q_mvar)
        base_vm = gc.base_vm_pu + gc.dvm_dp @ vp + gc.dvm_dq @ vq
    return dataclasses.replace(gc, base_flow_mw=base_flow, base_vm_pu=base_vm)


def shift_forecast(  # noqa: PLR0913 - public: the grid, forecast and injections, then two options
    grid: Any,
    forecast: Any,
    p_mw: FloatArray,
    q_mvar: FloatArray,
    *,
    ptdf: Any = None,
    voltages: bool = True,
) -> Any:
    """``forecast`` (an :class:`~flexcoord.grid.forecast.OperatingForecast`) moved by injections
    ``(n_bus, T)`` at the PTDF's buses (``ptdf.bus_ids``): branch flows through the PTDF,
    voltages through the grid's dV/dP and dV/dQ. Later markets and rounds clear on it.

    ``ptdf``: the rows to move (a :class:`~flexcoord.grid.sensitivities.Ptdf`; default the
    grid's full ``grid.ptdf()``); the other branches keep their forecast flow (on a screened
    grid, those no flexibility can load). ``voltages=False`` leaves the voltages as forecast
    (no whole-grid voltage sensitivities: a national grid's are a dense bus × bus inverse)."""
    if not np.any(p_mw) and not np.any(q_mvar):
        return forecast
    ptdf = ptdf if ptdf is not None else grid.ptdf()
    flows = np.array(forecast.branch_flow_mw, dtype=float)
    flows[forecast.branch_rows(ptdf.branch_names)] += ptdf.matrix @ p_mw
    vm = np.array(forecast.vm_pu, dtype=float)
    if voltages:
        sens = grid.voltage_sensitivity()
        positions = ptdf.bus_positions(sens.injection_bus_ids)
        vm[forecast.bus_rows(sens.monitored_bus_ids)] += (
            sens.dvm_dp_pu_per_mw @ p_mw[positions] + sens.dvm_dq_pu_per_mvar @ q_mvar[positions]
        )
    return dataclasses.replace(forecast, branch_flow_mw=flows, vm_pu=vm)
