"""Domain objects → :class:`~flexcoord.clearing.problem.ClearingProblem` (:func:`build_problem`).

The mapping rules are :mod:`flexcoord.clearing.market`'s (its module docstring and
``docs/clearing.md``). :func:`build_problem` runs them as stages, each a small function of the
stages before it:

0. :func:`~flexcoord.domain.bid_table.bid_table` - the one pass over the bids (every field and
   quantity read once; :func:`~flexcoord.clearing.market.clear` shares it with the validation);
1. :func:`_mtus` - the MTUs of the (bid, MTU) slots, and the clearing's own input checks (one MTU
   resolution, every MTU inside the grid constraints' base case);
2. :func:`_bid_arrays` - prices, power types and acceptance rules per bid;
3. :class:`_BusColumns` - one problem bus per real bus in use, a virtual bus per multi-bus group;
4. :func:`_need_fields` - the needs' required MW, caps and the (need, slot) eligibility;
5. :func:`_grid_fields` - the grid constraints mapped onto the problem's bus columns and MTUs;
6. :func:`~flexcoord.clearing.capability.capability_fields` - the unit-capability rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import numpy as np
from scipy import sparse

from flexcoord.clearing.capability import range_of, resource_capability_fields
from flexcoord.clearing.grid_constraints import GridConstraints
from flexcoord.clearing.problem import BoolArray, ClearingProblem, FloatArray, IntArray
from flexcoord.domain import (
    Bid,
    Direction,
    LocationKind,
    Need,
    PowerType,
    Product,
    ProductKind,
    Register,
)
from flexcoord.domain.bid_table import BidTable, bid_table, positions
from flexcoord.errors import InvalidInputError, Issue

__all__ = ["GridMap", "build_problem"]


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


def build_problem(  # noqa: PLR0913 - public: the market, then keyword-only options
    register: Register,
    needs: Sequence[Need],
    bids: Sequence[Bid] | BidTable,
    grid_constraints: GridConstraints | None = None,
    *,
    energy_balance: bool = False,
    table: BidTable | None = None,
) -> tuple[ClearingProblem, GridMap]:
    """Map a *validated* market to a :class:`ClearingProblem` and its :class:`GridMap`.

    Reads the bids through their :func:`~flexcoord.domain.bid_table.bid_table` (``table``, when
    the caller has it: :func:`~flexcoord.clearing.market.clear` shares it with the validation);
    everything else is vectorised or per distinct resource. ``bids`` may be a table itself
    (e.g. of columns, :meth:`~flexcoord.domain.bid_table.BidTable.from_columns`).

    Raises:
        InvalidInputError: mixed MTU resolutions, MTUs outside the grid constraints.
    """
    if isinstance(bids, BidTable):
        table = bids
    elif table is None:
        table = bid_table(bids)
    products = {pid: register.product(pid) for pid in table.products}
    products |= {pid: register.product(pid) for pid in {n.product_id for n in needs}}
    mtus = _mtus(table, needs, products, grid_constraints)
    share_of = _activation_shares(needs, products)
    arr = _bid_arrays(table, products, share_of)
    buses = _BusColumns(register)
    keys, bid_use = _resource_keys(table, arr.reactive)
    bid_bus = buses.columns_of(keys)[bid_use]
    weights, real_bus_ids = buses.weights()
    grid: dict[str, object] = {}
    if grid_constraints is not None:
        grid = _grid_fields(grid_constraints, real_bus_ids, weights.T.tocsr(), mtus)
    slot_bid = table.slot_bid
    problem = ClearingProblem(
        mtu_labels=tuple(t.isoformat() for t in mtus.starts),
        mtu_duration_h=np.full(len(mtus.starts), mtus.duration_h),
        bid_ids=table.ids,
        bid_submitted_s=table.submitted_s,
        bid_indivisible=~table.divisible,
        bid_block=table.block,
        bid_min_mw=arr.min_mw,
        bid_xor=arr.xor,
        bid_parent=arr.parent,
        xor_names=arr.xor_names,
        slot_bid=slot_bid,
        slot_mtu=mtus.slot_mtu,
        slot_quantity_mw=table.slot_quantity,
        slot_price_eur_per_mwh=arr.merit[slot_bid],
        slot_payment_price_eur_per_mwh=arr.payment[slot_bid],
        slot_up=table.up[slot_bid],
        slot_reactive=arr.reactive[slot_bid],
        slot_bus=bid_bus[slot_bid],
        slot_q_mvar_per_mw=np.where(arr.reactive, 0.0, arr.q_per_mw)[slot_bid],
        need_ids=tuple(n.id for n in needs),
        bus_ids=tuple(buses.labels),
        energy_balance=energy_balance,
        **_need_fields(register, needs, products, share_of, table, arr, mtus, buses, bid_bus),  # type: ignore[arg-type]
        **resource_capability_fields(register, keys, bid_use, table.up, arr.reactive),  # type: ignore[arg-type]
        **grid,  # type: ignore[arg-type]
    )
    return problem, GridMap(
        real_bus_ids=real_bus_ids, weights=weights, mtu_columns=mtus.grid_columns
    )


def _resource_keys(table: BidTable, reactive: BoolArray) -> tuple[list[tuple[str, bool]], IntArray]:
    """The distinct (resource id, reactive) of the bids in order of first use, and each bid's
    index into them (:func:`~flexcoord.domain.bid_table.index_by_first_use` on codes)."""
    n_b = table.n_bid
    code = table.resource * 2 + reactive
    first = np.full(2 * len(table.resources), n_b, dtype=np.int64)
    np.minimum.at(first, code, np.arange(n_b, dtype=np.int64))
    used = np.flatnonzero(first < n_b)
    used = used[np.argsort(first[used], kind="stable")]
    index = np.full(first.shape[0], -1, dtype=np.int64)
    index[used] = np.arange(used.shape[0])
    keys = [(table.resources[int(c) // 2], bool(c % 2)) for c in used]
    return keys, index[code]


def _issue(field: str, value: object, message: str, kind: str = "Market") -> Issue:
    return Issue(kind=kind, object_id="market", field=field, value=value, message=message)


@dataclass(frozen=True, slots=True)
class _Mtus:
    """The problem's MTUs (in time order) and each slot's MTU."""

    starts: Sequence[datetime]
    position: dict[datetime, int]
    slot_mtu: IntArray
    duration_h: float
    grid_columns: IntArray  # per MTU, its column in the grid constraints (empty without)


def _mtus(
    table: BidTable,
    needs: Sequence[Need],
    products: Mapping[str, Product],
    gc: GridConstraints | None,
) -> _Mtus:
    """Every MTU a need or bid names, each slot's MTU, and the clearing's own input checks.

    Raises:
        InvalidInputError: mixed MTU resolutions, or MTUs the grid constraints do not cover.
    """
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
    starts: Sequence[datetime] = table.starts
    slot_mtu = table.slot_start
    index = {t: i for i, t in enumerate(starts)}
    need_starts = {mq.interval.start for n in needs for mq in n.quantities}
    if not need_starts <= index.keys():  # a need names an MTU no bid does: renumber
        starts = sorted(need_starts | index.keys())
        index = {t: i for i, t in enumerate(starts)}
        slot_mtu = np.array([index[t] for t in table.starts], dtype=np.int64)[slot_mtu]
    columns = np.zeros(0, dtype=np.int64)
    if gc is not None:
        found = _grid_columns(gc, starts, resolutions[0] if resolutions else None)
        if isinstance(found, Issue):
            issues.append(found)
        else:
            columns = found
    if issues:
        raise InvalidInputError(issues)
    return _Mtus(
        starts=starts,
        position=index,
        slot_mtu=slot_mtu,
        duration_h=resolutions[0].total_seconds() / 3600.0 if resolutions else 0.25,
        grid_columns=columns,
    )


def _grid_columns(
    gc: GridConstraints, starts: Sequence[datetime], resolution: timedelta | None
) -> IntArray | Issue:
    """Each MTU's column in the grid constraints' base case, or the issue why there is none."""
    col = {iv.start: i for i, iv in enumerate(gc.intervals)}
    steps = sorted({iv.duration for iv in gc.intervals})
    if resolution is not None and steps and steps != [resolution]:
        return _issue(
            "products.resolution",
            str(resolution),
            f"differs from the grid constraints' base-case step {[str(s) for s in steps]}: "
            "build the grid constraints on the products' MTUs",
        )
    missing = [t.isoformat() for t in starts if t not in col]
    if missing:
        return _issue(
            "mtus",
            missing[:10],
            "are outside the grid constraints' base case "
            f"[{gc.intervals[0].start.isoformat()}, {gc.intervals[-1].end.isoformat()})",
        )
    return np.array([col[t] for t in starts], dtype=np.int64)


@dataclass(frozen=True, slots=True)
class _BidArrays:
    """Per bid: its clearing price (merit order), payment price, power type and acceptance
    rules, from the table's fields (index ``product`` into the table's ``products``)."""

    avail: FloatArray  # €/MW/h, NaN when the bid has none
    act: FloatArray  # €/MWh, NaN when the bid has none
    merit: FloatArray
    payment: FloatArray
    reactive: BoolArray
    min_mw: FloatArray
    q_per_mw: FloatArray
    parent: IntArray
    xor: IntArray
    xor_names: tuple[str, ...]


def _bid_arrays(
    table: BidTable, products: Mapping[str, Product], share_of: Mapping[str, float]
) -> _BidArrays:
    """The per-bid arrays (prices per the mapping rules of :mod:`flexcoord.clearing.market`):
    per product, then vectorised."""
    t = table
    kinds = [products[pid].kind for pid in t.products]
    is_act = np.array([k is ProductKind.ACTIVATION for k in kinds], dtype=np.bool_)[t.product]
    is_both = np.array(
        [k is ProductKind.AVAILABILITY_AND_ACTIVATION for k in kinds], dtype=np.bool_
    )[t.product]
    share = np.array([share_of.get(pid, 0.0) for pid in t.products], dtype=np.float64)[t.product]
    reactive = np.array(
        [products[pid].power_type is PowerType.REACTIVE for pid in t.products], dtype=np.bool_
    )[t.product]
    avail_a, act_a = t.availability, t.activation
    sets = t.exclusive_sets
    xor = np.full(t.n_bid, -1, dtype=np.int64)
    xor_names: tuple[str, ...] = ()
    if sets.count(None) < t.n_bid:
        xor_names = tuple(sorted({x for x in sets if x is not None}))
        xor_pos: dict[str | None, int] = {name: i for i, name in enumerate(xor_names)}
        xor_pos[None] = -1
        xor = np.fromiter(map(xor_pos.__getitem__, sets), dtype=np.int64, count=t.n_bid)
    parent = np.full(t.n_bid, -1, dtype=np.int64)
    if t.parent_ids.count(None) < t.n_bid:
        bid_pos: dict[str | None, int] = {b: i for i, b in enumerate(t.ids)}
        bid_pos[None] = -1
        parent = np.fromiter(map(bid_pos.__getitem__, t.parent_ids), np.int64, count=t.n_bid)
    return _BidArrays(
        avail=avail_a,
        act=act_a,
        merit=np.where(
            is_act, act_a, np.where(is_both, avail_a + share * np.nan_to_num(act_a), avail_a)
        ).astype(np.float64),
        payment=np.where(is_act, act_a, avail_a).astype(np.float64),
        reactive=reactive,
        min_mw=np.where(t.divisible, np.nan_to_num(t.min_acceptance, nan=0.0), 0.0),
        q_per_mw=np.nan_to_num(t.q_mvar_per_mw, nan=0.0),
        parent=parent,
        xor=xor,
        xor_names=xor_names,
    )


class _BusColumns:
    """The problem's bus columns, made as bids name their resources: a real bus's column is
    labelled by the bus (``"12"``), a multi-bus group's virtual column ``group:<id>`` (``:q``
    for reactive), shared across its units' buses pro-rata to their range."""

    def __init__(self, register: Register) -> None:
        self.register = register
        self.columns: dict[tuple[str, bool], int] = {}  # (resource id, reactive) → problem bus
        self.labels: list[str] = []
        self.label_pos: dict[str, int] = {}
        self.rows: list[list[tuple[int, float]]] = []
        self.real_pos: dict[int, int] = {}
        self._kept: tuple[int, IntArray, IntArray, IntArray] | None = None

    def columns_of(self, keys: Sequence[tuple[str, bool]]) -> IntArray:
        """The column of each (resource id, reactive) key's bids (columns made on first use,
        in the keys' order; one tight loop over the keys, their labels and weights kept per
        register)."""
        found = self.register.derived_each(
            "clearing.mapping.resource_column", keys, partial(_resource_column, self.register)
        )
        out = np.empty(len(keys), dtype=np.int64)
        columns, label_pos, labels, rows, real_pos = (
            self.columns,
            self.label_pos,
            self.labels,
            self.rows,
            self.real_pos,
        )
        for i, key in enumerate(keys):
            col = columns.get(key)
            if col is None:
                label, row_weights = found[i]
                col = label_pos.get(label)
                if col is None:  # a new column (a real bus that has one already keeps it)
                    col = label_pos[label] = len(labels)
                    labels.append(label)
                    rows.append(
                        [(real_pos.setdefault(b, len(real_pos)), w) for b, w in row_weights]
                    )
                columns[key] = col
            out[i] = col
        return out

    def inside(self, location: frozenset[int]) -> BoolArray:
        """Per column, whether every bus of it lies in ``location``: for all columns at once, a
        mask over the bus ids and a count per column of its buses outside (36 needs x 8,700
        columns on the national grid without a set test each)."""
        row, _, bus = self._entries()
        loc = np.fromiter(location, dtype=np.int64, count=len(location))
        mask = np.zeros(int(max(bus.max(initial=-1), loc.max(initial=-1))) + 1, dtype=bool)
        mask[loc[loc >= 0]] = True
        outside = np.bincount(row, weights=~mask[bus], minlength=len(self.labels))
        inside: BoolArray = outside == 0
        return inside

    def _entries(self) -> tuple[IntArray, IntArray, IntArray]:
        """The column, the real column and its pandapower bus of each (column, bus) entry of
        :attr:`rows` (kept while no column is added)."""
        if self._kept is None or self._kept[0] != len(self.labels):
            row = np.array([i for i, r in enumerate(self.rows) for _ in r], dtype=np.int64)
            real = np.array([c for r in self.rows for c, _ in r], dtype=np.int64)
            self._kept = (len(self.labels), row, real, self._real_bus_ids()[real])
        return self._kept[1], self._kept[2], self._kept[3]

    def _real_bus_ids(self) -> IntArray:
        """The pandapower bus of each real column (the order of first use)."""
        return np.fromiter(self.real_pos, dtype=np.int64, count=len(self.real_pos))

    def weights(self) -> tuple[sparse.csr_array, IntArray]:
        """``(n_problem_bus, n_real_bus)`` shares and the pandapower bus of each real column."""
        w_rows, w_cols, _ = self._entries()
        w_vals = np.array([w for row in self.rows for _, w in row], dtype=np.float64)
        shape = (len(self.labels), len(self.real_pos))
        return sparse.csr_array((w_vals, (w_rows, w_cols)), shape=shape), self._real_bus_ids()


def _resource_column(
    register: Register, key: tuple[str, bool]
) -> tuple[str, tuple[tuple[int, float], ...]]:
    """The label and the (bus, share) weights, by bus, of a resource's column of one power type."""
    resource_id, is_reactive = key
    weights: dict[int, float] = {}
    for u in register.units_of(resource_id):
        bus = register.connection_point(u.connection_point_id).bus
        weights[bus] = weights.get(bus, 0.0) + range_of(u, is_reactive)
    if len(weights) == 1:
        (bus,) = weights
        label = str(bus)
        weights = {bus: 1.0}
    else:
        label = f"group:{resource_id}" + (":q" if is_reactive else "")
        total = sum(weights.values())
        weights = (
            {b: w / total for b, w in weights.items()}
            if total > 0
            else {b: 1.0 / len(weights) for b in weights}
        )
    return label, tuple(sorted(weights.items()))


def _need_fields(  # noqa: PLR0913 - the stages before it, by position
    register: Register,
    needs: Sequence[Need],
    products: Mapping[str, Product],
    share_of: Mapping[str, float],
    table: BidTable,
    arr: _BidArrays,
    mtus: _Mtus,
    buses: _BusColumns,
    bid_bus: IntArray,
) -> dict[str, object]:
    """The needs' fields of the problem: required MW, direction, power type, cap, and the
    eligible (need, slot) pairs - same product, direction and power type, every bus of the
    bid's resource inside the need's location, within each price cap the buyer gives."""
    n_n, n_t = len(needs), len(mtus.starts)
    required = np.zeros((n_n, n_t))
    for n, need in enumerate(needs):
        for mq in need.quantities:
            required[n, mtus.position[mq.interval.start]] = mq.quantity
    need_up = np.array([n.direction is Direction.UP for n in needs], dtype=bool)
    need_reactive = np.array(
        [products[n.product_id].power_type is PowerType.REACTIVE for n in needs], dtype=bool
    )
    cap = np.array(
        [_cap(n, products[n.product_id].kind, share_of) for n in needs], dtype=np.float64
    )
    product_pos = {pid: i for i, pid in enumerate(table.products)}
    slot_bid = table.slot_bid
    has_buses = len(buses.labels) > 0
    e_need: list[IntArray] = []
    e_slot: list[IntArray] = []
    for n, need in enumerate(needs):
        location = _location_buses(register, need)
        inside = buses.inside(location)
        ok_bid = (
            (table.product == product_pos.get(need.product_id, -1))
            & (table.up == need_up[n])
            & (arr.reactive == need_reactive[n])
            & (inside[bid_bus] if has_buses else np.zeros(table.n_bid, dtype=bool))
        )
        if products[need.product_id].kind is ProductKind.AVAILABILITY_AND_ACTIVATION:
            # each price cap the buyer gives holds for its own component, also when the other
            # is missing (then the merit-score cap is undefined)
            if need.availability_price_cap_eur_per_mw_h is not None:
                ok_bid &= (
                    np.nan_to_num(arr.avail, nan=0.0) <= need.availability_price_cap_eur_per_mw_h
                )
            if need.activation_price_cap_eur_per_mwh is not None:
                ok_bid &= np.nan_to_num(arr.act, nan=0.0) <= need.activation_price_cap_eur_per_mwh
        slots = np.flatnonzero(ok_bid[slot_bid] & (required[n, mtus.slot_mtu] > 0))
        e_need.append(np.full(slots.shape[0], n, dtype=np.int64))
        e_slot.append(slots.astype(np.int64))
    return dict(
        need_required_mw=required,
        need_up=need_up,
        need_reactive=need_reactive,
        need_price_cap_eur_per_mwh=cap,
        eligible_need=np.concatenate(e_need) if e_need else np.zeros(0, np.int64),
        eligible_slot=np.concatenate(e_slot) if e_slot else np.zeros(0, np.int64),
    )


def _times(dense: FloatArray, wt: sparse.csr_array) -> FloatArray:
    """``dense @ wt`` for a sparse ``wt`` (real bus × problem bus), as a dense C-ordered array:
    one pass over ``wt``'s entries (a dense ``wt`` is ``n_bus²``: 0.7 GB and minutes of matrix
    product for 9,000 bid buses on a national grid)."""
    out: FloatArray = np.ascontiguousarray(np.asarray((wt.T @ dense.T).T, dtype=np.float64))
    return out


def _grid_fields(
    gc: GridConstraints, real_bus_ids: IntArray, wt: sparse.csr_array, mtus: _Mtus
) -> dict[str, object]:
    """The grid constraints on the problem's bus columns (``wt``: real bus × problem bus
    shares, sparse, the same for the PTDF, the voltage sensitivities and the interface rows)
    and MTUs."""
    cols = mtus.grid_columns
    real_cols = positions(gc.bus_ids, real_bus_ids)
    if (real_cols < 0).any():
        missing = real_bus_ids[real_cols < 0][:10].tolist()
        raise ValueError(f"buses {missing} of the bids are not buses of the grid constraints")
    take = positions(gc.injection_bus_ids, real_bus_ids)
    have = take >= 0
    nv = len(gc.vbus_ids)
    dvp = np.zeros((nv, len(real_bus_ids)))
    dvq = np.zeros((nv, len(real_bus_ids)))
    if nv and have.any():
        dvp[:, have] = gc.dvm_dp[:, take[have]]
        dvq[:, have] = gc.dvm_dq[:, take[have]]
    grid: dict[str, object] = {}
    if gc.n_interface:  # same weights as the PTDF: a group's virtual bus gets its units' mix
        grid |= dict(
            ic_names=gc.interface_names,
            ic_p=_times(gc.interface_p[:, real_cols], wt),
            ic_q=_times(gc.interface_q[:, real_cols], wt),
            ic_lower=gc.interface_lower[:, cols],
            ic_upper=gc.interface_upper[:, cols],
            if_names=gc.interface_flow_names,
            if_p=_times(gc.interface_flow_p[:, real_cols], wt),
            if_q=_times(gc.interface_flow_q[:, real_cols], wt),
            ic_flow=gc.interface_flow_coeff,
        )
    return grid | dict(
        branch_names=gc.branch_names,
        ptdf=_times(gc.ptdf[:, real_cols], wt),
        base_flow_mw=gc.base_flow_mw[:, cols],
        limit_mw=gc.limit_mw,
        safety_margin=gc.safety_margin,
        vbus_names=tuple(f"bus:{int(b)}" for b in gc.vbus_ids),
        dvm_dp=_times(dvp, wt),
        dvm_dq=_times(dvq, wt),
        base_vm_pu=gc.base_vm_pu[:, cols],
        vm_min_pu=gc.vm_min_pu,
        vm_max_pu=gc.vm_max_pu,
    )


def _activation_shares(needs: Sequence[Need], products: Mapping[str, object]) -> dict[str, float]:
    """Mean expected activation share of the needs of each product (0 when none says)."""
    sums: dict[str, list[float]] = {}
    for n in needs:
        if n.expected_activation_share is not None:
            sums.setdefault(n.product_id, []).append(n.expected_activation_share)
    return {pid: float(np.mean(v)) for pid, v in sums.items() if pid in products}


def _cap(need: Need, kind: ProductKind, share_of: Mapping[str, float]) -> float:
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
