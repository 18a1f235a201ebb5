"""The domain entry point: needs, bids and products (+ grid constraints) → a frozen result.

:func:`clear` is the one function the coordination schemes, the simulator, the service and the
CLI call. It

1. validates the market (:func:`flexcoord.domain.validate_market`: one
   :class:`~flexcoord.errors.InvalidInputError` with every issue, nothing solved on a half-valid
   market), plus the clearing's own checks (one MTU resolution per clearing, every MTU inside the
   grid constraints' base case);
2. maps the domain objects to a :class:`~flexcoord.clearing.problem.ClearingProblem`
   (:func:`build_problem`), keeping the domain ids as the problem's names;
3. clears it (:func:`~flexcoord.clearing.engine.clear_problem`), with an AC check when asked.

Mapping rules (see ``docs/clearing.md``):

* **MTUs**: every MTU any need or bid names, in time order, labelled by their ISO start.
* **Location of a need** → a bus set: its buses; the buses of a grid area; for a coupling point,
  the buses of every area it feeds (the DSO area behind it).
* **Location of a bid**: a unit's bus. A group whose units sit on several buses becomes one
  *virtual bus* ``group:<id>`` whose sensitivity columns are the units' columns weighted
  pro-rata to their power range (reactive range for reactive products): a MW accepted from the
  group is shared across its units' buses in that proportion. A group bid counts for a need only
  when the need's location holds every bus of the group.
* **Prices**: activation products clear on the activation price, availability products on the
  availability price (€/MW/h, times the MTU duration like energy); availability-and-activation
  products clear on ``availability + share · activation`` (``share`` = the mean expected
  activation share of the needs of that product) and pay the availability price at clearing
  (activation is paid at activation). A need's cap is the matching cap (for the combined kind
  ``availability cap + share · activation cap`` when both are given, else no cap).
* **Unit capability**: per unit, direction, power type and MTU the accepted MW of all bids using
  the unit stay within its range (``Register.p_range_mw``; ``q_range_mvar`` for reactive
  products); a group's bid takes from each member its share of the group's range (the virtual
  bus's weights). Availability and activation bids in one clearing both count: one MW is not
  sold twice in one clearing (:mod:`flexcoord.clearing.capability`).
* **Reactive power**: a reactive product's bid injects Mvar (UP = more injection);
  ``q_mvar_per_mw`` of an active bid adds that many Mvar per MW of signed active change.
* **Interface constraints** of the grid constraints (e.g. a DSO area's PQ region at its coupling
  point, :meth:`~flexcoord.clearing.grid_constraints.GridConstraints.with_interface`) map to the
  problem's bus columns with the same weights as the PTDF rows.
* **Implicit congestion management**: with grid constraints every monitored limit is soft and
  priced (:class:`~flexcoord.clearing.options.ClearingOptions`), so any bid - with or without a
  matching need - is accepted when it relieves a violation more cheaply than the penalty
  (redispatch). ``energy_balance=True`` adds counter-trading: accepted up and down active
  flexibility balance in every MTU.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

import numpy as np
from scipy import sparse

from flexcoord.clearing.engine import AcChecker, clear_problem
from flexcoord.clearing.grid_constraints import GridConstraints
from flexcoord.clearing.options import ClearingOptions
from flexcoord.clearing.problem import BoolArray, ClearingProblem, FloatArray, IntArray
from flexcoord.clearing.result import ClearingResult
from flexcoord.domain import (
    Bid,
    Direction,
    LocationKind,
    Need,
    PowerType,
    ProductKind,
    Register,
    validate_market,
)
from flexcoord.domain.resources import Unit
from flexcoord.errors import InvalidInputError, Issue

__all__ = ["AcCheckerFactory", "GridMap", "build_problem", "clear"]


@dataclass(frozen=True, slots=True, kw_only=True)
class GridMap:
    """How the problem's bus columns and MTUs map back to the grid.

    Attributes:
        real_bus_ids: pandapower bus per column of ``weights``.
        weights: ``(n_problem_bus, n_real_bus)`` share of a problem bus's injection at each real
            bus (identity rows for real buses, pro-rata rows for a group's virtual bus).
        mtu_columns: per problem MTU, its column in the grid constraints' intervals (empty
            without grid constraints).
    """

    real_bus_ids: IntArray
    weights: sparse.csr_array
    mtu_columns: IntArray

    def to_grid(self, values: FloatArray) -> FloatArray:
        """``(n_problem_bus, T)`` injections → ``(n_real_bus, T)``."""
        out: FloatArray = np.asarray(self.weights.T @ values, dtype=np.float64)
        return out


@runtime_checkable
class AcCheckerFactory(Protocol):
    """Builds the :class:`~flexcoord.clearing.engine.AcChecker` of one mapped problem."""

    def checker_for(self, problem: ClearingProblem, grid_map: GridMap) -> AcChecker:
        """The checker taking ``problem``'s ``(n_bus, n_mtu)`` injections."""
        ...


def clear(
    register: Register,
    needs: Sequence[Need],
    bids: Sequence[Bid],
    grid_constraints: GridConstraints | None = None,
    options: ClearingOptions | None = None,
    *,
    gate_closure_at: datetime | None = None,
    ac_checker: AcChecker | AcCheckerFactory | None = None,
    energy_balance: bool = False,
    require_prequalification: bool = False,
) -> ClearingResult:
    """Validate, map and clear one market; the one domain-level entry point.

    Args:
        register: products, units, groups, areas (e.g. ``build_portfolio(grid)`` plus products).
        needs: the explicit needs (may be empty: pure congestion management / redispatch).
        bids: the bids.
        grid_constraints: monitored branches and voltages with their base case
            (:func:`~flexcoord.clearing.grid_constraints.grid_constraints`); ``None`` clears
            without a grid (needs by location only).
        options: pricing, penalties, solver and AC-loop settings (``ac_max_iterations``).
        gate_closure_at: market gate closure; bids submitted later are input errors.
        ac_checker: an AC check of the cleared dispatch: an ``AcChecker`` over the problem's
            buses, or a factory such as :class:`flexcoord.clearing.ac.PgmAcCheck`.
        energy_balance: counter-trading - accepted up and down active MW balance per MTU.
        require_prequalification: missing product prequalification is an input error.

    Raises:
        InvalidInputError: every issue of the market, before anything is solved.

    Example (see ``tests/clearing/test_market.py`` for a complete market)::

        register = replace(build_portfolio(grid), products=(product,))
        gc = grid_constraints(grid, intervals=mtus, profile_start_step=96 * 150)
        result = clear(register, needs, bids, gc, ClearingOptions(ac_max_iterations=3),
                       ac_checker=PgmAcCheck(grid, gc))
    """
    validate_market(
        register,
        needs,
        bids,
        gate_closure_at=gate_closure_at,
        known_buses=(
            frozenset(int(b) for b in grid_constraints.bus_ids)
            if grid_constraints is not None
            else None
        ),
        require_prequalification=require_prequalification,
    )
    problem, grid_map = build_problem(
        register, needs, bids, grid_constraints, energy_balance=energy_balance
    )
    checker: AcChecker | None
    if ac_checker is None:
        checker = None
    elif isinstance(ac_checker, AcCheckerFactory):
        checker = ac_checker.checker_for(problem, grid_map)
    else:
        checker = ac_checker
    return clear_problem(problem, options, ac_checker=checker)


def _issue(field: str, value: object, message: str, kind: str = "Market") -> Issue:
    return Issue(kind=kind, object_id="market", field=field, value=value, message=message)


def build_problem(
    register: Register,
    needs: Sequence[Need],
    bids: Sequence[Bid],
    grid_constraints: GridConstraints | None = None,
    *,
    energy_balance: bool = False,
) -> tuple[ClearingProblem, GridMap]:
    """Map a *validated* market to a :class:`ClearingProblem` and its :class:`GridMap`.

    One pass over the bids' quantity tuples; everything else is vectorised or per bid.

    Raises:
        InvalidInputError: mixed MTU resolutions, MTUs outside the grid constraints.
    """
    gc = grid_constraints
    products = {pid: register.product(pid) for pid in {b.product_id for b in bids}}
    products |= {pid: register.product(pid) for pid in {n.product_id for n in needs}}
    resolutions = sorted({p.resolution for p in products.values()})
    issues: list[Issue] = []
    if len(resolutions) > 1:
        issues.append(
            _issue(
                "products.resolution",
                [str(r) for r in resolutions],
                "one clearing needs one MTU resolution; clear the products separately",
            )
        )
    # --- MTUs and slots: the one pass over the quantity tuples ---------------------------------
    n_b = len(bids)
    starts = [mq.interval.start for b in bids for mq in b.quantities]
    slot_q = np.fromiter((mq.quantity for b in bids for mq in b.quantities), dtype=np.float64)
    per_bid = np.fromiter((len(b.quantities) for b in bids), dtype=np.int64, count=n_b)
    need_starts = [mq.interval.start for n in needs for mq in n.quantities]
    unique = sorted(set(starts) | set(need_starts))
    index = {t: i for i, t in enumerate(unique)}
    slot_mtu = np.fromiter((index[t] for t in starts), dtype=np.int64, count=len(starts))
    slot_bid = np.repeat(np.arange(n_b, dtype=np.int64), per_bid)
    n_t = len(unique)
    dur_h = resolutions[0].total_seconds() / 3600.0 if resolutions else 0.25
    mtu_columns = np.zeros(0, dtype=np.int64)
    if gc is not None:
        col = {iv.start: i for i, iv in enumerate(gc.intervals)}
        missing = [t.isoformat() for t in unique if t not in col]
        steps = sorted({iv.duration for iv in gc.intervals})
        if resolutions and steps and steps != [resolutions[0]]:
            issues.append(
                _issue(
                    "products.resolution",
                    str(resolutions[0]),
                    f"differs from the grid constraints' base-case step {[str(s) for s in steps]}: "
                    "build the grid constraints on the products' MTUs",
                )
            )
        elif missing:
            issues.append(
                _issue(
                    "mtus",
                    missing[:10],
                    "are outside the grid constraints' base case "
                    f"[{gc.intervals[0].start.isoformat()}, {gc.intervals[-1].end.isoformat()})",
                )
            )
        else:
            mtu_columns = np.array([col[t] for t in unique], dtype=np.int64)
    if issues:
        raise InvalidInputError(issues)

    # --- per bid ------------------------------------------------------------------------------
    kind_of = {pid: p.kind for pid, p in products.items()}
    reactive_of = {pid: p.power_type is PowerType.REACTIVE for pid, p in products.items()}
    share_of = _activation_shares(needs, products)
    avail = np.array(
        [
            np.nan
            if b.availability_price_eur_per_mw_h is None
            else b.availability_price_eur_per_mw_h
            for b in bids
        ],
        dtype=np.float64,
    )
    act = np.array(
        [
            np.nan if b.activation_price_eur_per_mwh is None else b.activation_price_eur_per_mwh
            for b in bids
        ],
        dtype=np.float64,
    )
    kinds = [kind_of[b.product_id] for b in bids]
    is_act = np.array([k is ProductKind.ACTIVATION for k in kinds], dtype=bool)
    is_both = np.array([k is ProductKind.AVAILABILITY_AND_ACTIVATION for k in kinds], dtype=bool)
    share = np.array([share_of.get(b.product_id, 0.0) for b in bids], dtype=np.float64)
    merit = np.where(
        is_act, act, np.where(is_both, avail + share * np.nan_to_num(act), avail)
    ).astype(np.float64)
    payment = np.where(is_act, act, avail).astype(np.float64)
    up = np.array([b.direction is Direction.UP for b in bids], dtype=bool)
    reactive = np.array([reactive_of[b.product_id] for b in bids], dtype=bool)
    indivisible = np.array([not b.divisible for b in bids], dtype=bool)
    min_mw = np.array(
        [(b.min_acceptance or 0.0) if b.divisible else 0.0 for b in bids], dtype=np.float64
    )
    block = np.array([b.block for b in bids], dtype=bool)
    q_per_mw = np.array([b.q_mvar_per_mw or 0.0 for b in bids], dtype=np.float64)
    submitted = np.array([b.submitted_at.timestamp() for b in bids], dtype=np.float64)
    bid_pos = {b.id: i for i, b in enumerate(bids)}
    parent = np.array(
        [-1 if b.parent_bid_id is None else bid_pos[b.parent_bid_id] for b in bids],
        dtype=np.int64,
    )
    xor_names = sorted({b.exclusive_set for b in bids if b.exclusive_set is not None})
    xor_pos = {name: i for i, name in enumerate(xor_names)}
    xor = np.array(
        [-1 if b.exclusive_set is None else xor_pos[b.exclusive_set] for b in bids],
        dtype=np.int64,
    )

    # --- buses: one column per real bus in use, one virtual column per multi-bus group ---------
    columns: dict[tuple[str, bool], int] = {}  # (resource id, reactive) → problem bus
    labels: list[str] = []
    label_pos: dict[str, int] = {}
    rows: list[list[tuple[int, float]]] = []
    real_pos: dict[int, int] = {}
    bus_sets: list[frozenset[int]] = []

    def column_of(resource_id: str, is_reactive: bool) -> int:
        key = (resource_id, is_reactive)
        found = columns.get(key)
        if found is not None:
            return found
        units = register.units_of(resource_id)
        weights: dict[int, float] = {}
        for u in units:
            bus = register.connection_point(u.connection_point_id).bus
            weights[bus] = weights.get(bus, 0.0) + _weight(u, is_reactive)
        if len(weights) == 1:
            (bus,) = weights
            label = str(bus)
            if label in label_pos:  # the real bus already has a column
                columns[key] = label_pos[label]
                return columns[key]
            weights = {bus: 1.0}
        else:
            label = f"group:{resource_id}" + (":q" if is_reactive else "")
            total = sum(weights.values())
            weights = (
                {b: w / total for b, w in weights.items()}
                if total > 0
                else {b: 1.0 / len(weights) for b in weights}
            )
        row = []
        for bus, w in sorted(weights.items()):
            row.append((real_pos.setdefault(bus, len(real_pos)), w))
        columns[key] = label_pos[label] = len(labels)
        labels.append(label)
        rows.append(row)
        bus_sets.append(frozenset(weights))
        return columns[key]

    bid_bus = np.array(
        [column_of(b.resource_id, bool(r)) for b, r in zip(bids, reactive, strict=True)],
        dtype=np.int64,
    )
    n_pb, n_real = len(labels), len(real_pos)
    w_rows = np.array([i for i, row in enumerate(rows) for _ in row], dtype=np.int64)
    w_cols = np.array([c for row in rows for c, _ in row], dtype=np.int64)
    w_vals = np.array([w for row in rows for _, w in row], dtype=np.float64)
    weights = sparse.csr_array((w_vals, (w_rows, w_cols)), shape=(n_pb, n_real))
    real_bus_ids = np.empty(n_real, dtype=np.int64)
    for bus, pos in real_pos.items():
        real_bus_ids[pos] = bus

    # --- needs ----------------------------------------------------------------------------------
    n_n = len(needs)
    required = np.zeros((n_n, n_t))
    for n, need in enumerate(needs):
        for mq in need.quantities:
            required[n, index[mq.interval.start]] = mq.quantity
    need_up = np.array([n.direction is Direction.UP for n in needs], dtype=bool)
    need_reactive = np.array([reactive_of[n.product_id] for n in needs], dtype=bool)
    cap = np.array([_cap(n, kind_of[n.product_id], share_of) for n in needs], dtype=np.float64)
    bid_product = np.array([b.product_id for b in bids], dtype=object)
    e_need: list[IntArray] = []
    e_slot: list[IntArray] = []
    for n, need in enumerate(needs):
        location = _location_buses(register, need)
        inside = np.array([s <= location for s in bus_sets], dtype=bool)
        ok_bid = (
            (bid_product == need.product_id)
            & (up == need_up[n])
            & (reactive == need_reactive[n])
            & (inside[bid_bus] if n_pb else np.zeros(n_b, dtype=bool))
        )
        if kind_of[need.product_id] is ProductKind.AVAILABILITY_AND_ACTIVATION:
            # each price cap the buyer gives holds for its own component, also when the other
            # is missing (then the merit-score cap is undefined)
            if need.availability_price_cap_eur_per_mw_h is not None:
                ok_bid &= np.nan_to_num(avail, nan=0.0) <= need.availability_price_cap_eur_per_mw_h
            if need.activation_price_cap_eur_per_mwh is not None:
                ok_bid &= np.nan_to_num(act, nan=0.0) <= need.activation_price_cap_eur_per_mwh
        slots = np.flatnonzero(ok_bid[slot_bid] & (required[n, slot_mtu] > 0))
        e_need.append(np.full(slots.shape[0], n, dtype=np.int64))
        e_slot.append(slots.astype(np.int64))

    # --- grid -----------------------------------------------------------------------------------
    grid: dict[str, object] = {}
    if gc is not None:
        gpos = {int(b): i for i, b in enumerate(gc.bus_ids)}
        ptdf_real = gc.ptdf[:, [gpos[int(b)] for b in real_bus_ids]]
        ipos = {int(b): i for i, b in enumerate(gc.injection_bus_ids)}
        have = np.array([int(b) in ipos for b in real_bus_ids], dtype=bool)
        take = np.array([ipos.get(int(b), 0) for b in real_bus_ids], dtype=np.int64)
        nv = len(gc.vbus_ids)
        dvp = np.zeros((nv, n_real))
        dvq = np.zeros((nv, n_real))
        if nv and have.any():
            dvp[:, have] = gc.dvm_dp[:, take[have]]
            dvq[:, have] = gc.dvm_dq[:, take[have]]
        wt = weights.T.toarray()
        real_cols = [gpos[int(b)] for b in real_bus_ids]
        if gc.n_interface:  # same weights as the PTDF: a group's virtual bus gets its units' mix
            grid |= dict(
                ic_names=gc.interface_names,
                ic_p=gc.interface_p[:, real_cols] @ wt,
                ic_q=gc.interface_q[:, real_cols] @ wt,
                ic_lower=gc.interface_lower[:, mtu_columns],
                ic_upper=gc.interface_upper[:, mtu_columns],
                if_names=gc.interface_flow_names,
                if_p=gc.interface_flow_p[:, real_cols] @ wt,
                if_q=gc.interface_flow_q[:, real_cols] @ wt,
                ic_flow=gc.interface_flow_coeff,
            )
        grid |= dict(
            branch_names=gc.branch_names,
            ptdf=ptdf_real @ wt,
            base_flow_mw=gc.base_flow_mw[:, mtu_columns],
            limit_mw=gc.limit_mw,
            safety_margin=gc.safety_margin,
            vbus_names=tuple(f"bus:{int(b)}" for b in gc.vbus_ids),
            dvm_dp=dvp @ wt,
            dvm_dq=dvq @ wt,
            base_vm_pu=gc.base_vm_pu[:, mtu_columns],
            vm_min_pu=gc.vm_min_pu,
            vm_max_pu=gc.vm_max_pu,
        )
    problem = ClearingProblem(
        mtu_labels=tuple(t.isoformat() for t in unique),
        mtu_duration_h=np.full(n_t, dur_h),
        bid_ids=tuple(b.id for b in bids),
        bid_submitted_s=submitted,
        bid_indivisible=indivisible,
        bid_block=block,
        bid_min_mw=min_mw,
        bid_xor=xor,
        bid_parent=parent,
        xor_names=tuple(xor_names),
        slot_bid=slot_bid,
        slot_mtu=slot_mtu,
        slot_quantity_mw=slot_q,
        slot_price_eur_per_mwh=merit[slot_bid],
        slot_payment_price_eur_per_mwh=payment[slot_bid],
        slot_up=up[slot_bid],
        slot_reactive=reactive[slot_bid],
        slot_bus=bid_bus[slot_bid],
        slot_q_mvar_per_mw=np.where(reactive, 0.0, q_per_mw)[slot_bid],
        need_ids=tuple(n.id for n in needs),
        need_required_mw=required,
        need_up=need_up,
        need_reactive=need_reactive,
        need_price_cap_eur_per_mwh=cap,
        eligible_need=np.concatenate(e_need) if e_need else np.zeros(0, np.int64),
        eligible_slot=np.concatenate(e_slot) if e_slot else np.zeros(0, np.int64),
        bus_ids=tuple(labels),
        energy_balance=energy_balance,
        **_capabilities(register, bids, up, reactive),  # type: ignore[arg-type]
        **grid,  # type: ignore[arg-type]
    )
    return problem, GridMap(real_bus_ids=real_bus_ids, weights=weights, mtu_columns=mtu_columns)


def _weight(unit: Unit, reactive: bool) -> float:
    return float(unit.q_range_mvar if reactive else unit.p_range_mw)


def _capabilities(
    register: Register, bids: Sequence[Bid], up: BoolArray, reactive: BoolArray
) -> dict[str, object]:
    """The problem's unit-capability fields (:mod:`flexcoord.clearing.capability`).

    One capability per unit, direction and power type that a bid uses, limited to the unit's range
    in every MTU, ordered by unit id, direction (down first) and power type (active first). A
    unit's bid uses its unit's with weight 1, a group's bid each member's with the member's share
    of the group's range (the weights of the group's virtual bus; equal shares when the range is
    0; a member with no range takes nothing). Availability and activation bids count alike. One
    dictionary lookup per bid; the expansion to the members is vectorised.
    """
    n_b = len(bids)
    res_pos: dict[tuple[str, bool], int] = {}
    res_of_bid = np.fromiter(
        (
            res_pos.setdefault((b.resource_id, bool(r)), len(res_pos))
            for b, r in zip(bids, reactive, strict=True)
        ),
        dtype=np.int64,
        count=n_b,
    )
    unit_ids = sorted({u.id for rid, _ in res_pos for u in register.units_of(rid)})
    unit_pos = {u: i for i, u in enumerate(unit_ids)}
    m_unit: list[int] = []
    m_weight: list[float] = []
    m_count: list[int] = []
    for rid, is_reactive in res_pos:  # insertion order = resource index
        units = register.units_of(rid)
        ranges = np.array([_weight(u, is_reactive) for u in units], dtype=np.float64)
        total = float(ranges.sum())
        shares = ranges / total if total > 0 else np.full(len(units), 1.0 / len(units))
        m_unit += [unit_pos[u.id] for u in units]
        m_weight += shares.tolist()
        m_count.append(len(units))
    count = np.array(m_count, dtype=np.int64)
    per_bid = count[res_of_bid]
    use_bid = np.repeat(np.arange(n_b, dtype=np.int64), per_bid)
    within = np.arange(use_bid.shape[0]) - np.repeat(np.cumsum(per_bid) - per_bid, per_bid)
    member = np.repeat((np.cumsum(count) - count)[res_of_bid], per_bid) + within
    use_unit = np.array(m_unit, dtype=np.int64)[member]
    use_weight = np.array(m_weight, dtype=np.float64)[member]
    keep = use_weight > 0
    use_bid, use_unit, use_weight = use_bid[keep], use_unit[keep], use_weight[keep]
    key = (use_unit * 2 + up[use_bid]) * 2 + reactive[use_bid]
    keys, use_cap = np.unique(key, return_inverse=True)
    cap_unit = keys // 4
    cap_reactive = keys % 2 == 1
    units_used = [register.unit(u) for u in unit_ids]
    p_range = np.array([u.p_range_mw for u in units_used], dtype=np.float64)
    q_range = np.array([u.q_range_mvar for u in units_used], dtype=np.float64)
    return dict(
        cap_names=tuple(unit_ids[int(u)] for u in cap_unit),
        cap_up=(keys // 2) % 2 == 1,
        cap_reactive=cap_reactive,
        cap_limit_mw=np.where(cap_reactive, q_range[cap_unit], p_range[cap_unit]),
        cap_use_cap=use_cap.astype(np.int64),
        cap_use_bid=use_bid,
        cap_use_weight=use_weight,
    )


def _activation_shares(needs: Sequence[Need], products: Mapping[str, object]) -> dict[str, float]:
    """Mean expected activation share of the needs of each product (0 when none says)."""
    sums: dict[str, list[float]] = {}
    for n in needs:
        if n.expected_activation_share is not None:
            sums.setdefault(n.product_id, []).append(n.expected_activation_share)
    return {pid: float(np.mean(v)) for pid, v in sums.items() if pid in products}


def _cap(need: Need, kind: ProductKind, share_of: dict[str, float]) -> float:
    act, avail = need.activation_price_cap_eur_per_mwh, need.availability_price_cap_eur_per_mw_h
    if kind is ProductKind.ACTIVATION:
        return np.nan if act is None else float(act)
    if kind is ProductKind.AVAILABILITY:
        return np.nan if avail is None else float(avail)
    if act is None or avail is None:
        return np.nan
    return float(avail + share_of.get(need.product_id, 0.0) * act)


def _location_buses(register: Register, need: Need) -> frozenset[int]:
    loc = need.location
    if loc.kind is LocationKind.BUSES:
        return loc.bus_ids
    if loc.kind is LocationKind.AREA:
        assert loc.area_id is not None
        return register.area(loc.area_id).bus_ids
    cp = loc.coupling_point_id
    return frozenset().union(*(a.bus_ids for a in register.areas if cp in a.coupling_point_ids))
