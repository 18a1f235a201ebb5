"""AC power flows with pandapower for grids with voltage-controlled generators (PV buses).

power-grid-model has no voltage-controlled generator: on a grid whose plants hold their terminal
voltage (the 338 EHV/HV plants of SimBench ``1-EHVHVMVLV-mixed-all-0-sw``) its power flow is not
the grid's, and replacing the plants with fixed P/Q generators diverges on most profile steps.
pandapower's Newton-Raphson (``runpp``, with numba when installed) handles PV buses, so the AC
check of a clearing uses it there (:func:`needs_pandapower` says when).

:class:`PandapowerAc` keeps **one private copy** of the network, made once per grid, with an
extra static generator at every bus it has been asked to inject at (created on first use, zero
otherwise). :meth:`PandapowerAc.batch` prepares a :class:`PandapowerInjectionBatch` with the same
interface as :class:`flexcoord.grid.ac_batch.BusInjectionBatch`; each ``run`` is one ``runpp`` per
MTU, warm-started from the previous MTU's result (``init="results"``; a start from the DC power
flow when that does not converge). The base case of an MTU is the SimBench profile step
``profile_start_step + column`` (loads' P and Q, static generators' and storages' P, and the
plants' P where the grid gives them a profile), or the loaded snapshot when
``profile_start_step`` is ``None``. The plants keep their voltage set points.

Flows are the thermal equivalent in MW (:mod:`flexcoord.grid.thermal`): ``sign · loading / 100 ·
rating``, pandapower's current-based loading, the sign of the active power at the from side.
Not thread-safe: one copy, changed by every run; use one :class:`PandapowerAc` per thread.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from flexcoord.errors import GridError, InvalidInputError
from flexcoord.grid.thermal import flow_sign

__all__ = ["PandapowerAc", "PandapowerInjectionBatch", "needs_pandapower", "runpp_warm"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Name of the injection generators added to the private copy.
_INJECTION = "flexcoord-injection"


def needs_pandapower(net: Any) -> bool:
    """Whether the grid has an in-service voltage-controlled generator (``net.gen``), which
    power-grid-model cannot model."""
    gen = net.get("gen") if hasattr(net, "get") else None
    return gen is not None and len(gen) > 0 and bool(gen.in_service.to_numpy(dtype=bool).any())


#: pandapower's reuse of its internal model between runs of an unchanged network: only the
#: loads' / static generators' / storages' P and Q (``bus_pq``) and the plants' set points
#: (``gen``) are written again; the admittance matrix, the bus lookups and the connectivity check
#: are kept (bit-identical results, measured on the national grid).
_RECYCLE = {"bus_pq": True, "gen": True, "trafo": False}
#: Key of the private network that marks its stored internal model as reusable.
_RECYCLABLE = "flexcoord_recyclable"


def runpp_warm(net: Any, *, warm: bool, numba: bool) -> bool:
    """``runpp`` of ``net`` as it is set: from the last result when ``warm`` (else pandapower's
    ``"auto"`` start), from the DC power flow when that does not converge; whether either did.
    The one start rule of the AC check and of the time series.

    A warm run after a warm or ``"auto"`` run that converged reuses pandapower's internal model
    (``recycle``, :data:`_RECYCLE`): the caller only changes set points between warm runs
    (loads, static generators, storages, plants' P), never the network's elements, and says
    ``warm=False`` after it does."""
    import pandapower as pp  # noqa: PLC0415  (lazy: pandapower)

    recycle = warm and bool(net.get(_RECYCLABLE, False))
    net[_RECYCLABLE] = False
    try:
        if recycle:
            pp.runpp(net, init="results", numba=numba, recycle=_RECYCLE)
        else:
            pp.runpp(net, init="results" if warm else "auto", numba=numba)
        net[_RECYCLABLE] = True
    except pp.LoadflowNotConverged:
        try:
            pp.runpp(net, init="dc", numba=numba, max_iteration=30)
        except pp.LoadflowNotConverged:
            return False
    return True


class PandapowerAc:
    """One private, mutable copy of a grid's network for AC checks (module docstring).

    Args:
        grid: a :class:`~flexcoord.grid.model.GridModel` (its network is copied, never changed).
        numba: use pandapower's numba power flow (when numba is installed).
    """

    def __init__(self, grid: Any, *, numba: bool = True) -> None:
        import pandapower as pp  # noqa: PLC0415  (lazy: pandapower)

        self.grid = grid
        self.numba = numba
        self.lock = threading.Lock()
        net = copy.deepcopy(grid.net)
        net.sgen["name"] = net.sgen["name"].astype(object)
        self.net = net
        self._pp = pp
        self.injection_sgen: dict[int, int] = {}
        self._setpoints = _Setpoints.of(grid, net)
        self._warm = False

    def injection_elements(self, bus_ids: Sequence[int] | IntArray) -> IntArray:
        """The sgen index of the injection generator at each bus (created on first use)."""
        new = sorted({int(b) for b in bus_ids} - set(self.injection_sgen))
        if new:
            idx = self._pp.create_sgens(
                self.net, new, p_mw=0.0, q_mvar=0.0, name=_INJECTION, type="flexcoord"
            )
            self.injection_sgen.update(zip(new, (int(i) for i in idx), strict=True))
            self._warm = False
        return np.array([self.injection_sgen[int(b)] for b in bus_ids], dtype=np.int64)

    def batch(
        self,
        *,
        mtu_columns: IntArray,
        bus_ids: Sequence[int] | IntArray,
        branch_names: Sequence[str],
        voltage_bus_ids: Sequence[int] | IntArray,
        profile_start_step: int | None,
    ) -> PandapowerInjectionBatch:
        """A prepared batch (see :class:`PandapowerInjectionBatch`)."""
        return PandapowerInjectionBatch(
            self,
            mtu_columns=np.asarray(mtu_columns, dtype=np.int64),
            bus_ids=bus_ids,
            branch_names=branch_names,
            voltage_bus_ids=voltage_bus_ids,
            profile_start_step=profile_start_step,
        )

    def set_point(
        self, step: int | None, sgen_idx: IntArray, p_mw: FloatArray, q_mvar: FloatArray
    ) -> None:
        """Write the base case of profile ``step`` (``None``: the snapshot) plus the injections
        ``p_mw``/``q_mvar`` at the injection generators ``sgen_idx`` into the copy (every other
        injection generator at zero), one column assignment per table column."""
        sgen = self.net.sgen
        extra = sgen.index.get_indexer(list(self.injection_sgen.values()))
        at = sgen.index.get_indexer(sgen_idx)
        zero = np.zeros(len(extra))
        self._setpoints.apply(
            self.net,
            step,
            changes=(
                ("sgen", "p_mw", extra, zero),
                ("sgen", "q_mvar", extra, zero),
                ("sgen", "p_mw", at, np.asarray(p_mw, dtype=float)),
                ("sgen", "q_mvar", at, np.asarray(q_mvar, dtype=float)),
            ),
        )

    def solve(self) -> None:
        """``runpp`` of the copy as it is set, warm-started from the last result.

        Raises:
            GridError: the power flow does not converge, warm or from the DC power flow.
        """
        self._warm = runpp_warm(self.net, warm=self._warm, numba=self.numba)
        if not self._warm:
            raise GridError("AC power flow did not converge (pandapower)")

    def run_step(
        self, step: int | None, sgen_idx: IntArray, p_mw: FloatArray, q_mvar: FloatArray
    ) -> None:
        """:meth:`set_point` then :meth:`solve` (raises :class:`GridError` likewise)."""
        self.set_point(step, sgen_idx, p_mw, q_mvar)
        self.solve()


class PandapowerInjectionBatch:
    """The pandapower counterpart of :class:`~flexcoord.grid.ac_batch.BusInjectionBatch`:
    ``run`` gives ``(flow_mw, vm_pu)`` of the base case plus added injections, one ``runpp`` per
    MTU."""

    def __init__(  # noqa: PLR0913 - the model, then the batch description
        self,
        model: PandapowerAc,
        *,
        mtu_columns: IntArray,
        bus_ids: Sequence[int] | IntArray,
        branch_names: Sequence[str],
        voltage_bus_ids: Sequence[int] | IntArray,
        profile_start_step: int | None,
    ) -> None:
        self.model = model
        self.n_mtu = len(mtu_columns)
        self.steps: list[int | None] = [
            None if profile_start_step is None else int(profile_start_step + c) for c in mtu_columns
        ]
        self.sgen_idx = model.injection_elements(bus_ids)
        net = model.net
        names = list(branch_names)
        table = np.array([n.split(":", 1)[0] for n in names])
        index = np.array([int(n.split(":", 1)[1]) for n in names], dtype=np.int64)
        self._line = table == "line"
        self._trafo = table == "trafo"
        self._line_pos = net.line.index.get_indexer(index[self._line])
        self._trafo_pos = net.trafo.index.get_indexer(index[self._trafo])
        if (
            np.any(self._line_pos < 0)
            or np.any(self._trafo_pos < 0)
            or not np.all(self._line | self._trafo)
        ):
            raise KeyError("a branch the grid does not have")
        limits = model.grid.branch_limits()
        physical = dict(zip(limits.branch_names, limits.limit_mw.tolist(), strict=True))
        lf = np.ones(len(names))
        for tab, mask, pos in (
            ("line", self._line, self._line_pos),
            ("trafo", self._trafo, self._trafo_pos),
        ):
            frame = net[tab]
            if "max_loading_percent" in frame.columns and mask.any():
                pct = frame.max_loading_percent.to_numpy(dtype=float)[pos]
                lf[mask] = np.where(np.isfinite(pct) & (pct > 0), pct / 100.0, 1.0)
        self._rating_mw = np.array([physical[n] for n in names], dtype=float) / lf
        self._bus_pos = net.bus.index.get_indexer(np.asarray(voltage_bus_ids, dtype=np.int64))

    def run(self, p_mw: FloatArray, q_mvar: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``(flow_mw, vm_pu)``, each ``(n, n_mtu)``, of the base case plus ``(n_mtu, n_bus)``
        added MW and Mvar at the prepared buses.

        Raises:
            GridError: the power flow of an MTU does not converge.
        """
        p = np.asarray(p_mw, dtype=float)
        q = np.asarray(q_mvar, dtype=float)
        n_branch = len(self._rating_mw)
        flow = np.zeros((n_branch, self.n_mtu))
        vm = np.zeros((len(self._bus_pos), self.n_mtu))
        model = self.model
        with model.lock:
            for t, step in enumerate(self.steps):
                model.run_step(step, self.sgen_idx, p[t], q[t])
                net = model.net
                pf = np.zeros(n_branch)
                pt = np.zeros(n_branch)
                pct = np.zeros(n_branch)
                line, trafo = net.res_line, net.res_trafo
                pf[self._line] = line.p_from_mw.to_numpy()[self._line_pos]
                pt[self._line] = line.p_to_mw.to_numpy()[self._line_pos]
                pct[self._line] = line.loading_percent.to_numpy()[self._line_pos]
                pf[self._trafo] = trafo.p_hv_mw.to_numpy()[self._trafo_pos]
                pt[self._trafo] = trafo.p_lv_mw.to_numpy()[self._trafo_pos]
                pct[self._trafo] = trafo.loading_percent.to_numpy()[self._trafo_pos]
                pf, pt, pct = (np.nan_to_num(x) for x in (pf, pt, pct))
                flow[:, t] = flow_sign(pf, pt) * pct / 100.0 * self._rating_mw
                vm[:, t] = net.res_bus.vm_pu.to_numpy()[self._bus_pos]
        return flow, vm


class _Setpoints:
    """The profile setpoints of a grid's elements, written into the private copy per step."""

    def __init__(self, columns: list[tuple[str, str, FloatArray, FloatArray, IntArray]]) -> None:
        # (table, column, base values, relative profiles (steps, n_profile), profile per element)
        self.columns = columns

    @classmethod
    def of(cls, grid: Any, net: Any) -> _Setpoints:
        try:
            profiles = grid.profiles()
        except InvalidInputError:  # a grid without profiles: the snapshot only
            profiles = None
        return cls.from_profiles(profiles, net)

    @classmethod
    def from_profiles(cls, profiles: Any, net: Any) -> _Setpoints:
        """The setpoints of ``net``'s elements from SimBench ``profiles`` (``None``: none)."""
        columns: list[tuple[str, str, FloatArray, FloatArray, IntArray]] = []
        if profiles is not None:
            for table, column, series in (
                ("load", "p_mw", profiles.load_p),
                ("load", "q_mvar", profiles.load_q),
                ("sgen", "p_mw", profiles.sgen_p),
                ("storage", "p_mw", profiles.storage_p),
            ):
                if len(net[table]):
                    values = np.array(np.nan_to_num(net[table][column].to_numpy(dtype=float)))
                    columns.append((table, column, values, series.relative, series.position))
            gen_rel = _gen_profile(net)
            if gen_rel is not None:
                position = np.arange(len(net.gen), dtype=np.int64)
                base = np.array(
                    net.gen.p_mw.to_numpy(dtype=float)
                )  # a copy: apply writes the column
                columns.append(("gen", "p_mw", base, gen_rel, position))
        return cls(columns)

    def apply(
        self,
        net: Any,
        step: int | None,
        *,
        changes: Sequence[tuple[str, str, IntArray, FloatArray]] = (),
    ) -> None:
        """Write profile ``step`` (``None``: the snapshot), then ``changes`` (``(table, column,
        row positions, values)``, in their order), into ``net``: each column is assembled as one
        array and assigned once (a pandas write per element or slice costs about ten times more
        on the national grid's tables)."""
        arrays: dict[tuple[str, str], FloatArray] = {}

        def column_of(table: str, column: str) -> FloatArray:
            key = (table, column)
            if key not in arrays:
                arrays[key] = net[table][column].to_numpy(dtype=float, copy=True)
            return arrays[key]

        for table, column, base, relative, position in self.columns:
            values = base if step is None else base * relative[step, position]
            column_of(table, column)[: len(base)] = values
        for table, column, rows, values in changes:
            if len(rows):
                column_of(table, column)[rows] = values
        for (table, column), array in arrays.items():
            net[table][column] = array


def _gen_profile(net: Any) -> FloatArray | None:
    """``(steps, n_gen)`` relative P of the plants from ``net.profiles["powerplants"]``, or
    ``None`` when they have none."""
    gen = net.gen
    tables = net.get("profiles") if hasattr(net, "get") else None
    frame = tables.get("powerplants") if isinstance(tables, dict) else None
    if not len(gen) or frame is None or "profile" not in gen.columns:
        return None
    names = gen.profile.astype(object)
    if not any(isinstance(n, str) and n in frame.columns for n in names):
        return None
    out = np.ones((len(frame), len(gen)))
    for j, name in enumerate(names):
        if isinstance(name, str) and name in frame.columns:
            out[:, j] = frame[name].to_numpy(dtype=float)
    return out
