"""Monitored branches of a large grid: a contingency-free screening, with lazily computed PTDF rows.

A dense PTDF of every branch against every bus does not fit a national grid (SimBench
``1-EHVHVMVLV-mixed-all-0-sw``: 35,292 branches × 37,587 buses is 10.6 GB). A clearing needs the
sensitivities of the branches that can reach their limit, not of all, so it monitors those, as
TSOs choose their critical network elements (CNECs):

    branch ``l`` is monitored when  ``max_t |f0[l, t]| + swing[l]  >=  threshold · limit[l]``

with ``f0`` the base-case flow (in the unit of the limit: the thermal-equivalent MW of
:mod:`flexcoord.grid.thermal` when it comes from an AC power flow), and ``swing`` the worst case
the offered flexibility can move the flow by:

    ``swing[l] = Σ_b |PTDF[l, b]| · flex_mw[b]``

``flex_mw[b]`` the largest MW all bids (or units) at bus ``b`` can move together, in either
direction. No choice of the bids can move the DC flow further, so an unmonitored branch stays
within ``threshold · limit`` in the DC model whatever the clearing accepts; what the DC model
misses (losses, reactive flow, voltage) is what the AC check of the clearing measures, and
:func:`screening_error` counts the unmonitored branches the AC flow puts above their limit.

Radial branches need no solve. A branch whose removal splits the grid (a *bridge*: every
branch of a radial MV or LV feeder) carries, in the DC model, exactly the injections on its side
away from the slack buses: its PTDF row is ±1 there and 0 elsewhere, so its swing is the
flexibility on that side (one pass over the tree of the grid's 2-edge-connected components). Only
the meshed branches (EHV, HV, closed rings) are solved for their swing, and of the bridges only
the monitored ones for their rows.

The rows are computed with one sparse LU factorisation of the reduced DC susceptance matrix
``B_r`` (symmetric) and the transposed system: a PTDF row is ``B_r⁻¹ · Bf[l]ᵀ``, so rows come
``chunk`` at a time (:func:`iter_ptdf_rows`), never the whole matrix. The screening computes each
row once, keeps the monitored ones (in the bus order of :func:`~.sensitivities.compute_ptdf`) and
drops the rest: its memory is one chunk plus the monitored rows.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import NDArray

from flexcoord.errors import InvalidInputError, Issue
from flexcoord.grid.sensitivities import Ptdf, _lu_solve, dc_network

__all__ = [
    "BranchScreening",
    "ScreeningError",
    "iter_ptdf_rows",
    "screen_branches",
    "screening_error",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: PTDF rows solved per step of :func:`iter_ptdf_rows` (one dense ``n_bus × chunk`` block).
ROW_CHUNK = 512


@dataclass(frozen=True, slots=True, kw_only=True)
class BranchScreening:
    """The outcome of :func:`screen_branches`.

    Attributes:
        ptdf: the PTDF rows of the monitored branches (every in-service bus as a column).
        swing_mw: per monitored branch, the worst-case flow change of the flexibility.
        base_peak_mw: per monitored branch, ``max_t |f0|``.
        limit_mw: per monitored branch, its limit.
        threshold: the share of the limit that made a branch monitored.
        n_screened: branches screened (every in-service branch).
        n_radial: of them, the bridges (radial branches), screened without a solve.
        seconds: wall time of the screening (LU and every row).
    """

    ptdf: Ptdf
    swing_mw: FloatArray
    base_peak_mw: FloatArray
    limit_mw: FloatArray
    threshold: float
    n_screened: int
    n_radial: int
    seconds: float

    @property
    def branch_names(self) -> tuple[str, ...]:
        """The monitored branches."""
        return self.ptdf.branch_names


class _RowSolver:
    """One LU of the reduced susceptance matrix; PTDF rows solved ``chunk`` at a time."""

    def __init__(self, dc: Any) -> None:
        n_bus = dc.bbus.shape[0]
        is_ref = np.zeros(n_bus, dtype=bool)
        is_ref[dc.ref] = True
        nonref = np.flatnonzero(~is_ref)
        self.dc = dc
        self.lu = spla.splu(sp.csc_matrix(dc.bbus)[nonref][:, nonref])
        self.bf = sp.csr_matrix(dc.bf)[:, nonref]
        position = np.zeros(n_bus, dtype=np.int64)
        position[nonref] = np.arange(len(nonref))
        #: per in-service bus (PTDF column): its row among the solved unknowns, and whether it
        #: is a slack bus (column zero)
        self.cols = position[dc.bus_to_ppci]
        self.ref_cols = is_ref[dc.bus_to_ppci]

    def solve(self, pos: IntArray) -> FloatArray:
        """``(n_nonref, len(pos))``: the solved rows of the branches at ``pos``, untransposed."""
        rhs = self.bf[self.dc.branch_rows[pos]].toarray().T  # (n_nonref, k), Fortran-ordered
        out: FloatArray = _lu_solve(self.lu, rhs)
        return out

    def rows(self, solved: FloatArray, columns: IntArray | None = None) -> FloatArray:
        """PTDF rows ``(k, n_col)`` of solved rows at bus columns ``columns`` (all: ``None``)."""
        cols = self.cols if columns is None else self.cols[columns]
        ref = self.ref_cols if columns is None else self.ref_cols[columns]
        out = np.ascontiguousarray(solved[cols].T)
        out[:, ref] = 0.0
        return out


def iter_ptdf_rows(
    net: Any, *, chunk: int = ROW_CHUNK, dc: Any = None
) -> Iterator[tuple[IntArray, FloatArray]]:
    """PTDF rows of every in-service branch, ``chunk`` at a time, in :func:`branch_names` order.

    Yields ``(positions, rows)``: the branch positions (into ``dc.names``) and their
    ``(len(positions), n_bus)`` rows over the in-service buses (``compute_ptdf``'s columns, zero
    at the slack buses). One LU of the reduced susceptance matrix serves every chunk.
    """
    solver = _RowSolver(dc if dc is not None else dc_network(net))
    n_branch = len(solver.dc.branch_rows)
    for start in range(0, n_branch, chunk):
        pos = np.arange(start, min(start + chunk, n_branch), dtype=np.int64)
        yield pos, solver.rows(solver.solve(pos))


def _radial_swing(dc: Any, bus_flex: FloatArray) -> tuple[NDArray[np.bool_], FloatArray]:
    """Per branch (``dc.names`` order): whether it is a bridge with every slack bus on one side,
    and then the flexibility (``bus_flex`` per internal bus) on its other side.

    The bridges form a tree over the 2-edge-connected components, rooted at a slack bus's; a
    bridge whose far side holds a slack bus (a slack connected by a single line) joins slack
    buses, so its flow depends on both and it is solved like a meshed branch."""
    import networkx as nx  # noqa: PLC0415  (lazy: only the screening needs it)
    from scipy.sparse.csgraph import connected_components  # noqa: PLC0415

    n_bus = dc.bbus.shape[0]
    bf = sp.csr_matrix(dc.bf)[dc.branch_rows]
    ends = np.full((bf.shape[0], 2), -1, dtype=np.int64)
    counts = np.diff(bf.indptr)
    two = counts == 2  # a branch row has its two ends (a zero-impedance or open one has fewer)
    ends[two] = bf.indices[np.repeat(two, counts)].reshape(-1, 2)
    graph = nx.Graph()
    graph.add_nodes_from(range(n_bus))
    multiplicity: dict[tuple[int, int], int] = {}
    for a, b in ends[two].tolist():
        key = (min(a, b), max(a, b))
        multiplicity[key] = multiplicity.get(key, 0) + 1
    graph.add_edges_from(multiplicity)
    bridges = {
        (min(a, b), max(a, b))
        for a, b in nx.bridges(graph)
        if multiplicity[(min(a, b), max(a, b))] == 1
    }
    key_of = np.array([min(a, b) * n_bus + max(a, b) for a, b in ends.tolist()], dtype=np.int64)
    is_bridge = two & np.isin(key_of, [a * n_bus + b for a, b in bridges])
    # 2-edge-connected components: the graph without its bridges
    keep = ends[two & ~is_bridge]
    adjacency = sp.coo_matrix((np.ones(len(keep)), (keep[:, 0], keep[:, 1])), shape=(n_bus, n_bus))
    _, component = connected_components(adjacency, directed=False)
    root = component[dc.ref]
    radial = np.zeros(len(ends), dtype=bool)
    swing = np.zeros(len(ends))
    n_comp = int(component.max()) + 1
    comp_flex = np.bincount(component, weights=bus_flex, minlength=n_comp)
    # a bridge whose far side holds a slack bus joins slack buses: its flow is not an indicator
    comp_ref = np.bincount(root, minlength=n_comp).astype(float)
    tree = nx.Graph()
    tree.add_nodes_from(range(n_comp))
    bridge_pos = np.flatnonzero(is_bridge)
    comp_ends = component[ends[bridge_pos]]
    tree.add_edges_from(comp_ends.tolist())
    order = list(nx.bfs_tree(tree, int(root[0])))
    parent = dict(nx.bfs_predecessors(tree, int(root[0])))
    subtree = comp_flex.copy()
    subtree_ref = comp_ref.copy()
    for node in reversed(order):
        if node in parent:
            subtree[parent[node]] += subtree[node]
            subtree_ref[parent[node]] += subtree_ref[node]
    depth = {int(root[0]): 0}
    for node in order:
        if node in parent:
            depth[node] = depth[parent[node]] + 1
    for pos, (ca, cb) in zip(bridge_pos.tolist(), comp_ends.tolist(), strict=True):
        child = ca if depth.get(ca, -1) > depth.get(cb, -1) else cb
        if child in depth and subtree_ref[child] == 0:
            radial[pos] = True
            swing[pos] = subtree[child]
    return radial, swing


def _issue(field: str, value: object, message: str) -> Issue:
    return Issue(
        kind="BranchScreening", object_id="grid", field=field, value=value, message=message
    )


def screen_branches(  # noqa: PLR0913 - the grid, then keyword-only screening inputs
    net: Any,
    *,
    base_flow_mw: FloatArray,
    limit_mw: FloatArray,
    flex_bus_ids: Sequence[int] | IntArray,
    flex_mw: Sequence[float] | FloatArray,
    threshold: float = 1.0,
    chunk: int = ROW_CHUNK,
) -> BranchScreening:
    """Monitor the branches the flexibility can bring to ``threshold`` of their limit (module doc).

    Args:
        net: a pandapower network (not modified).
        base_flow_mw: ``(n_branch, T)`` base-case flows of every in-service branch, in
            :func:`~.sensitivities.branch_names` order.
        limit_mw: ``(n_branch,)`` their limits (already margined if the clearing keeps a margin).
        flex_bus_ids: pandapower buses with flexibility.
        flex_mw: per bus, the most MW its flexibility moves together (non-negative).
        threshold: share of the limit a branch must be able to reach to be monitored.
        chunk: PTDF rows per solve step.

    Raises:
        InvalidInputError: shapes that do not match the grid, negative flexibility or threshold.
    """
    t0 = time.perf_counter()
    dc = dc_network(net)
    n_branch = len(dc.names)
    base = np.asarray(base_flow_mw, dtype=float)
    limit = np.asarray(limit_mw, dtype=float)
    flex = np.asarray(flex_mw, dtype=float)
    buses = np.asarray(flex_bus_ids, dtype=np.int64)
    issues = []
    if base.ndim != 2 or base.shape[0] != n_branch:
        issues.append(_issue("base_flow_mw", base.shape, f"must be ({n_branch}, T)"))
    if limit.shape != (n_branch,):
        issues.append(_issue("limit_mw", limit.shape, f"must be ({n_branch},)"))
    if flex.shape != buses.shape or np.any(flex < 0) or not np.all(np.isfinite(flex)):
        issues.append(_issue("flex_mw", flex.shape, "must be one finite MW >= 0 per flex bus"))
    if not threshold > 0:
        issues.append(_issue("threshold", threshold, "must be > 0"))
    if issues:
        raise InvalidInputError(issues)
    ptdf_cols = Ptdf(
        matrix=np.zeros((0, len(dc.bus_ids))),
        branch_names=(),
        bus_ids=dc.bus_ids,
        slack_bus_ids=dc.bus_ids[np.isin(dc.bus_to_ppci, dc.ref)],
    ).bus_positions(buses)
    peak = np.max(np.abs(np.nan_to_num(base)), axis=1, initial=0.0)
    solver = _RowSolver(dc)
    bus_flex = np.zeros(dc.bbus.shape[0])
    np.add.at(bus_flex, dc.bus_to_ppci[ptdf_cols], flex)
    radial, radial_swing = _radial_swing(dc, bus_flex)
    swing_all = np.where(radial, radial_swing, 0.0)
    # the meshed branches: their swing from their solved rows, at the flexibility's unknowns
    # only (the slack buses' flexibility moves no flow)
    solved_rows = solver.cols[ptdf_cols]
    flex_solved = np.where(solver.ref_cols[ptdf_cols], 0.0, flex)
    meshed = np.flatnonzero(~radial)
    for start in range(0, len(meshed), chunk):
        pos = meshed[start : start + chunk]
        swing_all[pos] = flex_solved @ np.abs(solver.solve(pos)[solved_rows])
    monitored = np.flatnonzero(peak + swing_all >= threshold * limit).astype(np.int64)
    kept_rows: list[FloatArray] = []
    for start in range(0, len(monitored), chunk):
        kept_rows.append(solver.rows(solver.solve(monitored[start : start + chunk])))
    matrix = np.vstack(kept_rows) if kept_rows else np.zeros((0, len(dc.bus_ids)))
    ptdf = Ptdf(
        matrix=matrix,
        branch_names=tuple(dc.names[i] for i in monitored),
        bus_ids=dc.bus_ids,
        slack_bus_ids=dc.bus_ids[np.isin(dc.bus_to_ppci, dc.ref)],
    )
    return BranchScreening(
        ptdf=ptdf,
        swing_mw=swing_all[monitored],
        n_radial=int(radial.sum()),
        base_peak_mw=peak[monitored],
        limit_mw=limit[monitored],
        threshold=float(threshold),
        n_screened=n_branch,
        seconds=time.perf_counter() - t0,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ScreeningError:
    """Unmonitored branches above their limit in an AC power flow (:func:`screening_error`).

    Attributes:
        overloaded: names of the unmonitored branches above their limit in some MTU.
        worst_loading: the largest ``|flow| / limit`` over the unmonitored branches and MTUs.
        base_overloaded: of ``overloaded``, those already above their limit in the base case
            (the flexibility did not cause them; a screening with ``threshold`` <= 1 monitors
            every base-case overload the base flows show, so these come from a base case that
            differs from the one screened).
    """

    overloaded: tuple[str, ...]
    worst_loading: float
    base_overloaded: tuple[str, ...]


def screening_error(
    names: Sequence[str],
    monitored: Sequence[str],
    ac_flow_mw: FloatArray,
    limit_mw: FloatArray,
    base_flow_mw: FloatArray | None = None,
) -> ScreeningError:
    """The unmonitored branches an AC flow (after clearing) puts above their limit.

    Args:
        names: every branch (rows of the arrays).
        monitored: the monitored branches.
        ac_flow_mw: ``(n_branch, T)`` AC flows after the clearing (in the limit's unit).
        limit_mw: ``(n_branch,)`` limits.
        base_flow_mw: ``(n_branch, T)`` AC flows of the base case, to tell pre-existing
            overloads apart.
    """
    watched = set(monitored)
    free = np.array([n not in watched for n in names], dtype=bool)
    load = np.abs(np.nan_to_num(np.asarray(ac_flow_mw, dtype=float)))
    ratio = load / np.asarray(limit_mw, dtype=float)[:, None]
    over = free & np.any(ratio > 1.0, axis=1)
    base_over = np.zeros_like(over)
    if base_flow_mw is not None:
        base = np.abs(np.nan_to_num(np.asarray(base_flow_mw, dtype=float)))
        base_over = over & np.any(base > np.asarray(limit_mw)[:, None], axis=1)
    worst = float(np.max(ratio[free], initial=0.0)) if free.any() else 0.0
    return ScreeningError(
        overloaded=tuple(n for n, o in zip(names, over, strict=True) if o),
        worst_loading=worst,
        base_overloaded=tuple(n for n, o in zip(names, base_over, strict=True) if o),
    )
