"""Linear sensitivities of a grid: PTDF (branch flow per injection) and voltage sensitivities.

Sign conventions (pandapower's): an injection is positive into the grid (generation up, or
consumption down); a branch flow is the active power at its *from* side (``line.from_bus``,
``trafo.hv_bus``) flowing into the branch, so a positive flow runs from → to.

PTDF. The DC model of the grid (pandapower's ``makeBdc`` on the internal ``ppci``) with every slack
(``ext_grid``) bus held at its angle: an injection at a non-slack bus is balanced by the slack buses
as the network splits it, exactly as pandapower's DC power flow does with several ``ext_grid``\\s.
Columns of slack buses are zero. Computed with one sparse LU factorisation of the reduced
susceptance matrix and one multi-right-hand-side solve (the dense PTDF of 1-HVMV-mixed is
1,836 × 1,942, 28 MB).

Voltage sensitivities. The inverse of the AC Newton–Raphson Jacobian at an operating point, solved
for the injection buses asked for: ``dvm_dp[m, k]`` is the change of the voltage magnitude at bus
``m`` (pu) per MW injected at bus ``k`` (and ``dvm_dq`` per Mvar), the slack absorbing the change.
Buses whose voltage is controlled (slack, PV) have zero rows.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import NDArray

from flexcoord.domain.bid_table import positions
from flexcoord.errors import GridError, NotFoundError

__all__ = [
    "BranchLimits",
    "Ptdf",
    "VoltageSensitivity",
    "branch_limits",
    "branch_names",
    "compute_ptdf",
    "compute_voltage_sensitivity",
    "dc_network",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True, kw_only=True)
class Ptdf:
    """Power transfer distribution factors of a grid.

    Attributes:
        matrix: ``(n_branch, n_bus)`` MW of branch flow per MW injected at the bus.
        branch_names: ``"line:<index>"`` / ``"trafo:<index>"`` per row (pandapower table and index).
        bus_ids: pandapower bus index per column (every in-service bus of the grid).
        slack_bus_ids: the buses held at their angle (their columns are zero).

    Example:
        >>> from flexcoord.grid.loading import load_network
        >>> ptdf = compute_ptdf(load_network("1-MV-rural--0-sw"))
        >>> ptdf.matrix.shape
        (101, 97)
    """

    matrix: FloatArray
    branch_names: tuple[str, ...]
    bus_ids: IntArray
    slack_bus_ids: IntArray

    def columns(self, buses: Sequence[int] | IntArray) -> FloatArray:
        """The PTDF columns of the given pandapower buses, in that order."""
        return self.matrix[:, self.bus_positions(buses)]

    def bus_positions(self, buses: Sequence[int] | IntArray) -> IntArray:
        """Column positions of pandapower buses; unknown buses raise :class:`NotFoundError`."""
        return _positions(self.bus_ids, buses, "bus")

    def rows(self, names: Sequence[str]) -> IntArray:
        """Row positions of branch names; unknown names raise :class:`NotFoundError`."""
        index = {name: i for i, name in enumerate(self.branch_names)}
        missing = [n for n in names if n not in index]
        if missing:
            raise NotFoundError(f"branches not in the PTDF: {missing[:10]}")
        return np.fromiter((index[n] for n in names), dtype=np.int64, count=len(names))


@dataclass(frozen=True, slots=True, kw_only=True)
class VoltageSensitivity:
    """Linearised voltage magnitudes around an AC operating point.

    Attributes:
        dvm_dp_pu_per_mw: ``(n_monitored, n_injection)`` pu per MW injected.
        dvm_dq_pu_per_mvar: ``(n_monitored, n_injection)`` pu per Mvar injected.
        monitored_bus_ids: pandapower bus per row.
        injection_bus_ids: pandapower bus per column.
        vm_pu: voltage magnitude of the monitored buses at the operating point.
    """

    dvm_dp_pu_per_mw: FloatArray
    dvm_dq_pu_per_mvar: FloatArray
    monitored_bus_ids: IntArray
    injection_bus_ids: IntArray
    vm_pu: FloatArray

    def predict(self, p_mw: FloatArray, q_mvar: FloatArray) -> FloatArray:
        """Voltages of the monitored buses after injecting ``p_mw`` / ``q_mvar`` per column."""
        return self.vm_pu + self.dvm_dp_pu_per_mw @ p_mw + self.dvm_dq_pu_per_mvar @ q_mvar


@dataclass(frozen=True, slots=True, kw_only=True)
class BranchLimits:
    """Thermal limits of branches expressed in MW at nominal voltage and unity power factor."""

    branch_names: tuple[str, ...]
    limit_mw: FloatArray


def branch_names(net: Any) -> tuple[str, ...]:
    """Names of the in-service branches, lines first then transformers (pandapower index order)."""
    lines = net.line.index[net.line.in_service.to_numpy(dtype=bool)]
    trafos = net.trafo.index[net.trafo.in_service.to_numpy(dtype=bool)]
    return (*(f"line:{i}" for i in lines), *(f"trafo:{i}" for i in trafos))


def branch_limits(net: Any) -> BranchLimits:
    """Thermal limits in MW: ``√3·V·I_max·df`` for lines and ``sn_mva·parallel·df`` for
    transformers (each times ``max_loading_percent`` when the grid carries it).

    The MW limit is the one a DC/PTDF model can check; the AC check (power-grid-model) uses the
    real current and apparent power, so a reactive flow the DC model ignores is caught there.
    """
    line = net.line[net.line.in_service.to_numpy(dtype=bool)]
    vn_kv = net.bus.vn_kv.reindex(line.from_bus).to_numpy(dtype=float)
    i_ka = line.max_i_ka.to_numpy(dtype=float) * line.parallel.to_numpy(dtype=float)
    line_mw = np.sqrt(3.0) * vn_kv * i_ka * line.df.to_numpy(dtype=float)
    line_mw *= _loading_factor(line)
    trafo = net.trafo[net.trafo.in_service.to_numpy(dtype=bool)]
    trafo_mw = (
        trafo.sn_mva.to_numpy(dtype=float)
        * trafo.parallel.to_numpy(dtype=float)
        * trafo.df.to_numpy(dtype=float)
    )
    trafo_mw *= _loading_factor(trafo)
    return BranchLimits(
        branch_names=branch_names(net), limit_mw=np.concatenate([line_mw, trafo_mw])
    )


def _loading_factor(table: Any) -> FloatArray:
    if "max_loading_percent" not in table.columns:
        return np.ones(len(table))
    values = table.max_loading_percent.to_numpy(dtype=float)
    return np.where(np.isfinite(values), values / 100.0, 1.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class _DcNetwork:
    bbus: sp.csc_matrix
    bf: sp.csr_matrix
    base_mva: float
    bus_ids: IntArray
    bus_to_ppci: IntArray
    branch_rows: IntArray
    names: tuple[str, ...]
    ref: IntArray


def _private_copy(net: Any) -> Any:
    """A copy of ``net`` that pandapower's internal conversion may scribble on.

    The conversion to ``ppc``/``ppci`` writes only private entries (``_options``,
    ``_pd2ppc_lookups``, ``_is_elements``, …), never the element tables, so a shallow copy with
    fresh private entries suffices (a deep copy of a 2,000-bus grid costs 35 ms).
    """
    work = copy.copy(net)
    for key in [k for k in work if str(k).startswith("_")]:
        value = net[key]
        # containers are copied one level deep (pandapower assigns into them); the DataFrame
        # templates (``_empty_res_*``) are only read
        if isinstance(value, dict):
            work[key] = {k: copy.copy(v) for k, v in value.items()}
        elif isinstance(value, list | set):
            work[key] = copy.copy(value)
    return work


def _check_lookup(work: Any, n_internal: int) -> IntArray:
    """pandapower bus → internal bus; in-service buses that pandapower dropped as unsupplied
    (their index points past the internal buses) raise :class:`GridError`."""
    bus_ids = work.bus.index[work.bus.in_service.to_numpy(dtype=bool)].to_numpy(dtype=np.int64)
    internal: IntArray = np.asarray(work._pd2ppc_lookups["bus"], dtype=np.int64)[bus_ids]
    islanded = bus_ids[(internal < 0) | (internal >= n_internal)]
    if len(islanded):
        shown = ", ".join(str(b) for b in islanded[:20])
        more = f" (and {len(islanded) - 20} more)" if len(islanded) > 20 else ""
        raise GridError(
            f"{len(islanded)} in-service bus(es) are islanded (not connected to any ext_grid): "
            f"{shown}{more}; put them out of service or connect them"
        )
    return internal


def dc_network(net: Any) -> _DcNetwork:
    """The DC susceptance matrices of ``net`` with the maps from pandapower to internal indices.

    ``net`` is not modified. Uses pandapower's internal ``ppci`` (the external ``ppc`` keeps
    auxiliary buses of open switches and is singular).

    Raises:
        GridError: the grid has islanded in-service buses.
    """
    from pandapower.auxiliary import _init_rundcpp_options  # noqa: PLC0415  (lazy: pandapower's internals, first PTDF only)
    from pandapower.pd2ppc import _pd2ppc  # noqa: PLC0415  (lazy: pandapower's internals)
    from pandapower.pypower.idx_brch import BR_STATUS  # noqa: PLC0415  (lazy: pandapower's internals)
    from pandapower.pypower.idx_bus import BUS_TYPE, REF  # noqa: PLC0415  (lazy: pandapower's internals)
    from pandapower.pypower.makeBdc import makeBdc  # noqa: PLC0415  (lazy: pandapower's internals)

    work = _private_copy(net)
    _init_rundcpp_options(
        work,
        trafo_model="t",
        trafo_loading="current",
        recycle=None,
        check_connectivity=True,
        switch_rx_ratio=2,
        trafo3w_losses="hv",
    )
    ppc, ppci = _pd2ppc(work)
    bus_to_ppci = _check_lookup(work, ppci["bus"].shape[0])
    bbus, bf, *_ = makeBdc(ppci["bus"], ppci["branch"])
    lookups = work._pd2ppc_lookups
    bus_ids = work.bus.index[work.bus.in_service.to_numpy(dtype=bool)].to_numpy(dtype=np.int64)
    in_service = ppc["branch"][:, BR_STATUS].real > 0
    if int(in_service.sum()) != ppci["branch"].shape[0]:
        raise GridError("internal branch mapping of pandapower changed; cannot build the PTDF")
    ppci_row = np.cumsum(in_service) - 1
    rows: list[IntArray] = []
    for table in ("line", "trafo"):
        if table not in lookups["branch"]:
            continue
        start, _ = lookups["branch"][table]
        active = work[table].in_service.to_numpy(dtype=bool)
        rows.append(ppci_row[start + np.flatnonzero(active)].astype(np.int64))
    ref = np.flatnonzero(ppci["bus"][:, BUS_TYPE].real == REF).astype(np.int64)
    return _DcNetwork(
        bbus=sp.csc_matrix(bbus),
        bf=sp.csr_matrix(bf),
        base_mva=float(ppci["baseMVA"]),
        bus_ids=bus_ids,
        bus_to_ppci=bus_to_ppci,
        branch_rows=np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64),
        names=branch_names(work),
        ref=ref,
    )


def compute_ptdf(net: Any, *, branches: Sequence[str] | None = None) -> Ptdf:
    """The PTDF of every in-service branch (or of ``branches``) against every in-service bus.

    Args:
        net: a pandapower network (not modified).
        branches: branch names (``"line:12"``, ``"trafo:3"``) to keep; all when ``None``.

    Raises:
        GridError: the grid has unsupplied (islanded) in-service buses.
        NotFoundError: a requested branch is not an in-service branch of the grid.
    """
    dc = dc_network(net)
    rows = dc.branch_rows
    names = dc.names
    if branches is not None:
        keep = _positions_by_name(names, branches)
        rows, names = rows[keep], tuple(names[i] for i in keep)
    matrix = ptdf_from_susceptance(dc.bbus, dc.bf[rows], dc.ref, columns=dc.bus_to_ppci)
    slack = dc.bus_ids[np.isin(dc.bus_to_ppci, dc.ref)]
    return Ptdf(matrix=matrix, branch_names=names, bus_ids=dc.bus_ids, slack_bus_ids=slack)


def ptdf_from_susceptance(
    bbus: Any, bf: Any, ref: IntArray, *, columns: IntArray | None = None
) -> FloatArray:
    """PTDF on internal indices: ``Bf[:, nonref] · Bbus[nonref, nonref]⁻¹``, zero at ``ref``.

    ``Bbus`` is symmetric, so one sparse LU of the reduced matrix solves ``Bbus_r X = Bf_rᵀ``;
    the right-hand side is handed over in Fortran order so that SuperLU needs no copy and ``Xᵀ``
    is C-contiguous. ``columns`` picks (and may repeat) internal buses for the output columns,
    in one gather.
    """
    n_bus = bbus.shape[0]
    is_ref = np.zeros(n_bus, dtype=bool)
    is_ref[ref] = True
    nonref = np.flatnonzero(~is_ref)
    reduced = sp.csc_matrix(bbus)[nonref][:, nonref]
    rhs = sp.csr_matrix(bf)[:, nonref].toarray().T  # Fortran-ordered view, no copy
    solved_t: FloatArray = _lu_solve(spla.splu(reduced), rhs).T  # (n_branch, n_nonref), C-order
    # position of every internal bus among the solved columns (reference buses: any column,
    # zeroed afterwards), then one gather into the output
    position = np.zeros(n_bus, dtype=np.int64)
    position[nonref] = np.arange(len(nonref))
    wanted = np.arange(n_bus) if columns is None else np.asarray(columns, dtype=np.int64)
    out = np.take(solved_t, position[wanted], axis=1)
    out[:, is_ref[wanted]] = 0.0
    return out


#: Right-hand sides per SuperLU solve call (see :func:`_lu_solve`).
_SOLVE_CHUNK = 16


def _lu_solve(lu: Any, rhs: FloatArray) -> FloatArray:
    """``lu.solve(rhs)`` for a dense ``rhs`` with many columns, ``_SOLVE_CHUNK`` columns a call.

    SuperLU's triangular solve slows down more than linearly in the number of right-hand sides
    handed over in one call (measured here on the 3,568-row Jacobian of 1-HVMV-mixed: 1 ms for
    10 columns, 78 ms for 50, 2.0 s for 400; the whole 3,884-column solve took 8.5 s), while each
    column is solved independently of the others: the chunked result is the same to the bit
    (checked on that Jacobian and the PTDF). The output is Fortran-ordered like ``lu.solve``'s.
    """
    n_col = rhs.shape[1]
    if n_col <= _SOLVE_CHUNK:
        out: FloatArray = lu.solve(rhs)
        return out
    out = np.empty(rhs.shape, dtype=np.float64, order="F")
    for start in range(0, n_col, _SOLVE_CHUNK):
        stop = min(start + _SOLVE_CHUNK, n_col)
        out[:, start:stop] = lu.solve(np.asfortranarray(rhs[:, start:stop]))
    return out


def compute_voltage_sensitivity(
    net: Any,
    *,
    injection_buses: Sequence[int] | IntArray | None = None,
    monitored_buses: Sequence[int] | IntArray | None = None,
) -> VoltageSensitivity:
    """Voltage sensitivities around the AC operating point of ``net`` as it is loaded.

    Args:
        net: a pandapower network (not modified); its loads and generators define the point.
        injection_buses: pandapower buses where power may be injected (all in-service buses when
            ``None``).
        monitored_buses: pandapower buses whose voltage is watched (all when ``None``).

    Raises:
        GridError: islanded buses, or the AC power flow does not converge.
    """
    import pandapower as pp  # noqa: PLC0415  (lazy: loads pandapower)

    work = copy.deepcopy(net)  # runpp writes result tables: a full copy protects ``net``
    try:
        pp.runpp(work, algorithm="nr", calculate_voltage_angles=True, numba=False)
    except pp.LoadflowNotConverged as exc:
        raise GridError("AC power flow did not converge at the operating point") from exc
    internal = work._ppc["internal"]
    _check_lookup(work, internal["bus"].shape[0])
    lookups = np.asarray(work._pd2ppc_lookups["bus"], dtype=np.int64)
    all_buses = work.bus.index[work.bus.in_service.to_numpy(dtype=bool)].to_numpy(dtype=np.int64)
    inj = all_buses if injection_buses is None else np.asarray(injection_buses, dtype=np.int64)
    mon = all_buses if monitored_buses is None else np.asarray(monitored_buses, dtype=np.int64)
    _positions(all_buses, inj, "injection bus")
    _positions(all_buses, mon, "monitored bus")
    pv = np.asarray(internal["pv"], dtype=np.int64)
    pq = np.asarray(internal["pq"], dtype=np.int64)
    pvpq = np.concatenate([pv, pq])
    jac = sp.csc_matrix(internal["J"])
    n_ppci = internal["bus"].shape[0]
    # Jacobian rows: [P at pvpq, Q at pq]; columns: [Va at pvpq, Vm at pq].
    p_row = np.full(n_ppci, -1, dtype=np.int64)
    p_row[pvpq] = np.arange(len(pvpq))
    q_row = np.full(n_ppci, -1, dtype=np.int64)
    q_row[pq] = len(pvpq) + np.arange(len(pq))
    inj_ppci = lookups[inj]
    rhs = np.zeros((jac.shape[0], 2 * len(inj)))
    cols = np.arange(len(inj))
    has_p = p_row[inj_ppci] >= 0
    rhs[p_row[inj_ppci[has_p]], cols[has_p]] = 1.0
    has_q = q_row[inj_ppci] >= 0
    rhs[q_row[inj_ppci[has_q]], len(inj) + cols[has_q]] = 1.0
    solution = _lu_solve(spla.splu(jac), rhs)
    vm_rows = q_row[lookups[mon]] - len(pvpq)  # position among the Vm unknowns
    watched = q_row[lookups[mon]] >= 0
    base_mva = float(internal["baseMVA"])
    dvm = np.zeros((len(mon), 2 * len(inj)))
    dvm[watched] = solution[len(pvpq) + vm_rows[watched]]
    # Sensitivity in pu/pu (per unit of baseMVA) → pu per MW. |V| in ppci Jacobian is per unit.
    dvm /= base_mva
    vm = work.res_bus.vm_pu.reindex(mon).to_numpy(dtype=float)
    return VoltageSensitivity(
        dvm_dp_pu_per_mw=np.ascontiguousarray(dvm[:, : len(inj)]),
        dvm_dq_pu_per_mvar=np.ascontiguousarray(dvm[:, len(inj) :]),
        monitored_bus_ids=mon,
        injection_bus_ids=inj,
        vm_pu=vm,
    )


def _positions(ids: IntArray, wanted: Sequence[int] | IntArray, what: str) -> IntArray:
    found = positions(ids, wanted)
    if np.any(found < 0):
        missing = np.asarray(wanted, dtype=np.int64)[found < 0][:10].tolist()
        raise NotFoundError(f"{what} {missing} not an in-service bus of the grid")
    return found


def _positions_by_name(names: tuple[str, ...], wanted: Sequence[str]) -> IntArray:
    index = {name: i for i, name in enumerate(names)}
    missing = [n for n in wanted if n not in index]
    if missing:
        raise NotFoundError(f"branches {missing[:10]} are not in-service branches of the grid")
    return np.fromiter((index[n] for n in wanted), dtype=np.int64, count=len(wanted))
