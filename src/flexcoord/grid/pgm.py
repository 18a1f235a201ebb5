"""AC power flow of a pandapower network with power-grid-model (PGM), and AC verification.

:func:`to_pgm` converts a pandapower network once (about 50 ms, see
:mod:`flexcoord.grid.pgm_conversion` for the three SimBench ↔ PGM fixes it applies) into a
:class:`PgmGrid`; every calculation afterwards goes through PGM's update mechanism, so the grid is
never mutated and one ``PgmGrid`` serves any number of operating points. A Newton–Raphson power
flow takes about 1 ms on a 97-bus MV grid and 4 ms on the 1,942-bus HV/MV grid (plus about 2 ms of
pandas around it), and :func:`run_ac_batch` runs many operating points in one call on all cores
(or as :data:`PGM_THREADING_ENV` says: a sweep's Dask workers set it to ``-1``, sequential, so
two workers on two cores do not each start a thread per core).

Sign conventions (pandapower's): injections (``Injections.bus_p_mw``) are positive into the grid
(generation up or consumption down) and positive ``bus_q_mvar`` injects reactive power; load and
storage setpoints are consumption-positive, sgen setpoints generation-positive, as in the
pandapower tables. Branch flows are taken at the *from* side (``line.from_bus``, ``trafo.hv_bus``),
positive into the branch. Transformer loading is current-based, like pandapower's default.

Branches are named ``"line:<index>"`` / ``"trafo:<index>"`` (pandapower table and index, in-service
ones, lines first), buses ``"bus:<index>"`` in violation tables, as elsewhere in ``flexcoord.grid``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from power_grid_model import CalculationMethod, ComponentType, initialize_array
from power_grid_model.errors import (  # type: ignore[attr-defined]  # re-exported, not in __all__
    PowerGridBatchError,
    PowerGridError,
)

from flexcoord.errors import GridError, InvalidInputError, Issue
from flexcoord.grid.pgm_conversion import (
    LOAD_KINDS,
    SK_IDEAL_SOURCE_MVA,
    PgmGrid,
    branch_loading_percent,
    select_branches,
    to_pgm,
)
from flexcoord.grid.violations import Limits, resolve_limits, violation_frame

__all__ = [
    "PGM_THREADING_ENV",
    "SK_IDEAL_SOURCE_MVA",
    "AcBatchResult",
    "AcResult",
    "AcVerification",
    "Injections",
    "PgmGrid",
    "pgm_threading",
    "run_ac",
    "run_ac_batch",
    "to_pgm",
    "verify_operating_point",
    "with_setpoints",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class Injections:
    """Changes to the base operating point; each row of a frame is one scenario.

    Columns are pandapower indices of the table the field names. ``bus_*`` are *added* injections
    at buses (positive into the grid), the other fields are *absolute* setpoints in the signs of
    the pandapower tables (load and storage consumption-positive, sgen generation-positive,
    before ``scaling``). Elements not named keep their base values. All given frames must share
    one row index (the scenario labels).

    Example:
        >>> one = Injections.single(bus_p_mw={40: 1.5}, sgen_p_mw={3: 0.0})
        >>> one.n_scenarios
        1
    """

    bus_p_mw: pd.DataFrame | None = None
    bus_q_mvar: pd.DataFrame | None = None
    load_p_mw: pd.DataFrame | None = None
    load_q_mvar: pd.DataFrame | None = None
    sgen_p_mw: pd.DataFrame | None = None
    sgen_q_mvar: pd.DataFrame | None = None
    storage_p_mw: pd.DataFrame | None = None
    storage_q_mvar: pd.DataFrame | None = None

    @classmethod
    def single(cls, **values: Mapping[int, float]) -> Injections:
        """One scenario from mappings ``{pandapower index: value}``, e.g. ``bus_p_mw={40: 1.5}``."""
        frames = {
            name: pd.DataFrame({int(k): [float(v)] for k, v in mapping.items()}, index=[0])
            for name, mapping in values.items()
            if mapping
        }
        return cls(**frames)

    def frames(self) -> dict[str, pd.DataFrame]:
        """The given frames by field name."""
        names = (
            "bus_p_mw",
            "bus_q_mvar",
            "load_p_mw",
            "load_q_mvar",
            "sgen_p_mw",
            "sgen_q_mvar",
            "storage_p_mw",
            "storage_q_mvar",
        )
        return {n: f for n in names if (f := getattr(self, n)) is not None}

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios (rows); 1 when no frame is given (the base case)."""
        frames = list(self.frames().values())
        return len(frames[0]) if frames else 1

    @property
    def index(self) -> pd.Index:
        """The scenario labels."""
        frames = list(self.frames().values())
        return frames[0].index if frames else pd.RangeIndex(1)

    def at(self, position: int) -> Injections:
        """The scenario at ``position`` (0-based row) as a one-scenario :class:`Injections`.

        Example:
            >>> two = Injections(bus_p_mw=pd.DataFrame({40: [1.0, 2.0]}, index=["a", "b"]))
            >>> two.at(1).bus_p_mw.to_dict()
            {40: {'b': 2.0}}
        """
        return self.take([position])

    def take(self, positions: Sequence[int]) -> Injections:
        """The scenarios at ``positions`` (0-based rows), with their labels, in that order."""
        return Injections(**{n: f.iloc[list(positions)] for n, f in self.frames().items()})

    def plus_bus(self, bus_p_mw: pd.DataFrame, bus_q_mvar: pd.DataFrame) -> Injections:
        """These scenarios with injections added at buses (frames on this :attr:`index`,
        summed with any ``bus_*`` frame already given).

        Example:
            >>> base = Injections(load_p_mw=pd.DataFrame({3: [1.0, 2.0]}))
            >>> more = base.plus_bus(pd.DataFrame({40: [0.5, 0.5]}), pd.DataFrame({40: [0.0, 0.1]}))
            >>> more.bus_p_mw.to_dict(), more.load_p_mw.shape
            ({40: {0: 0.5, 1: 0.5}}, (2, 1))
        """
        frames = self.frames()
        for name, added in (("bus_p_mw", bus_p_mw), ("bus_q_mvar", bus_q_mvar)):
            given = frames.get(name)
            frames[name] = added if given is None else _sum_frames(given, added)
        return Injections(**frames)


def _sum_frames(given: pd.DataFrame, added: pd.DataFrame) -> pd.DataFrame:
    """``given + added`` on ``added``'s rows and the union of columns (missing columns count 0);
    a one-row ``given`` is broadcast over ``added``'s rows. In numpy: pandas' aligned ``add``
    with a fill value goes column by column (40 ms for 768 × 95 here)."""
    columns = given.columns.union(added.columns)
    total = given.reindex(columns=columns, fill_value=0.0).to_numpy(dtype=float) + added.reindex(
        columns=columns, fill_value=0.0
    ).to_numpy(dtype=float)
    return pd.DataFrame(total, index=added.index, columns=columns)


@dataclass(frozen=True, slots=True, kw_only=True)
class AcResult:
    """One AC power flow: voltages by pandapower bus index, flows by branch name."""

    vm_pu: pd.Series
    va_degree: pd.Series
    loading_percent: pd.Series
    p_from_mw: pd.Series
    q_from_mvar: pd.Series
    ext_grid_p_mw: pd.Series
    ext_grid_q_mvar: pd.Series


@dataclass(frozen=True, slots=True, kw_only=True)
class AcBatchResult:
    """Many AC power flows: frames with one row per scenario (labels of :attr:`Injections.index`).

    Columns as in :class:`AcResult`: pandapower bus indices, branch names, ext_grid indices.
    """

    vm_pu: pd.DataFrame
    va_degree: pd.DataFrame
    loading_percent: pd.DataFrame
    p_from_mw: pd.DataFrame
    q_from_mvar: pd.DataFrame
    ext_grid_p_mw: pd.DataFrame
    ext_grid_q_mvar: pd.DataFrame

    def scenario(self, label: Any) -> AcResult:
        """The result of one scenario by its label."""
        return AcResult(
            vm_pu=self.vm_pu.loc[label],
            va_degree=self.va_degree.loc[label],
            loading_percent=self.loading_percent.loc[label],
            p_from_mw=self.p_from_mw.loc[label],
            q_from_mvar=self.q_from_mvar.loc[label],
            ext_grid_p_mw=self.ext_grid_p_mw.loc[label],
            ext_grid_q_mvar=self.ext_grid_q_mvar.loc[label],
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AcVerification:
    """The AC check of one or more operating points against voltage and thermal limits.

    Attributes:
        result: the power flows.
        violations: one row per (scenario, asset) violation: ``scenario``, ``asset``
            (``"line:12"``, ``"trafo:3"``, ``"bus:40"``), ``kind`` (``"overload"``,
            ``"undervoltage"``, ``"overvoltage"``), ``value`` (loading in percent or voltage in
            pu), ``limit``, ``voltage_level_kv``, ``name``.
        limits: the limits checked.
    """

    result: AcBatchResult
    violations: pd.DataFrame
    limits: Limits

    @property
    def ok(self) -> bool:
        """True when no limit is violated."""
        return self.violations.empty


# --------------------------------------------------------------------------------------------
# calculation


def run_ac(
    grid: PgmGrid,
    injections: Injections | None = None,
    *,
    error_tolerance: float = 1e-8,
    max_iterations: int = 20,
) -> AcResult:
    """One AC power flow (Newton–Raphson) of the base case changed by ``injections``.

    Args:
        grid: the converted grid (:func:`to_pgm`).
        injections: at most one scenario; ``None`` runs the base case.
        error_tolerance: PGM's voltage tolerance in pu.
        max_iterations: Newton–Raphson iteration limit.

    Raises:
        GridError: the power flow does not converge (the message says which scenario and why).
        InvalidInputError: unknown element indices or non-finite values in ``injections``.

    Example:
        >>> from flexcoord.grid.loading import load_network
        >>> grid = to_pgm(load_network("1-MV-rural--0-sw"))
        >>> base = run_ac(grid)
        >>> more = run_ac(grid, Injections.single(bus_p_mw={40: 2.0}))
        >>> bool(more.vm_pu[40] > base.vm_pu[40])
        True
    """
    injections = injections or Injections()
    if injections.n_scenarios != 1:
        raise InvalidInputError(
            [
                Issue(
                    kind="Injections",
                    object_id="injections",
                    field="n_scenarios",
                    value=injections.n_scenarios,
                    message="must be 1 for run_ac; use run_ac_batch",
                )
            ]
        )
    batch = run_ac_batch(
        grid,
        injections,
        threading=-1,
        error_tolerance=error_tolerance,
        max_iterations=max_iterations,
    )
    return batch.scenario(batch.vm_pu.index[0])


#: Environment variable with the default power-grid-model threading of :func:`run_ac_batch`
#: (``0`` all hardware threads when unset, ``-1`` sequential, ``n`` threads): read at each call,
#: so a worker process that runs one task per core sets it once (``flexcoord sweep`` does).
PGM_THREADING_ENV = "FLEXCOORD_PGM_THREADING"


def pgm_threading(threading: int | None = None) -> int:
    """``threading`` if given, else :data:`PGM_THREADING_ENV`'s value, else ``0`` (all cores).

    Example:
        >>> pgm_threading(-1), pgm_threading() in (-1, 0) or pgm_threading() > 0
        (-1, True)
    """
    if threading is not None:
        return threading
    value = os.environ.get(PGM_THREADING_ENV, "").strip()
    try:
        return int(value) if value else 0
    except ValueError:
        raise InvalidInputError(
            [
                Issue(
                    kind="environment",
                    object_id=PGM_THREADING_ENV,
                    field="value",
                    value=value,
                    message="must be an integer (-1 sequential, 0 all cores, n threads)",
                )
            ]
        ) from None


def run_ac_batch(
    grid: PgmGrid,
    injections: Injections,
    *,
    threading: int | None = None,
    error_tolerance: float = 1e-8,
    max_iterations: int = 20,
) -> AcBatchResult:
    """AC power flows (Newton–Raphson) of many scenarios in one PGM batch call.

    Args:
        grid: the converted grid (:func:`to_pgm`).
        injections: the scenarios (one per row of its frames).
        threading: PGM threading: 0 all hardware threads, -1 sequential, n threads;
            ``None``: :func:`pgm_threading` (``FLEXCOORD_PGM_THREADING``, else 0).
        error_tolerance: PGM's voltage tolerance in pu.
        max_iterations: Newton–Raphson iteration limit.

    Raises:
        GridError: a scenario does not converge (named by its label).
        InvalidInputError: unknown element indices, non-finite values or frames whose row
            indices differ.

    Example:
        >>> from flexcoord.grid.loading import load_network
        >>> grid = to_pgm(load_network("1-MV-rural--0-sw"))
        >>> dp = pd.DataFrame({40: [0.0, 1.0, 2.0]}, index=["a", "b", "c"])
        >>> res = run_ac_batch(grid, Injections(bus_p_mw=dp))
        >>> res.vm_pu.shape
        (3, 97)
    """
    update = _update_data(grid, injections)
    outputs = {
        ComponentType.node: ["u_pu", "u_angle"],
        ComponentType.line: ["loading", "p_from", "q_from"],
        ComponentType.transformer: ["i_from", "i_to", "p_from", "q_from"],
        ComponentType.source: ["p", "q"],
    }
    outputs = {k: v for k, v in outputs.items() if k in grid.input_data}
    labels = injections.index
    try:
        out = grid.model.calculate_power_flow(
            update_data=update or None,
            threading=pgm_threading(threading),
            output_component_types=outputs,
            calculation_method=CalculationMethod.newton_raphson,
            error_tolerance=error_tolerance,
            max_iterations=max_iterations,
        )
    except PowerGridBatchError as exc:
        failed = [labels[i] for i in exc.failed_scenarios]
        messages = "; ".join(str(m).splitlines()[0] for m in exc.error_messages[:3])
        raise GridError(
            f"AC power flow (power-grid-model Newton-Raphson) failed for {len(failed)} of "
            f"{len(labels)} scenario(s) {failed[:10]}: {messages}"
        ) from exc
    except PowerGridError as exc:
        first = str(exc).splitlines()[0]
        raise GridError(f"AC power flow (power-grid-model Newton-Raphson) failed: {first}") from exc
    columns = {k: {a: np.atleast_2d(v) for a, v in cols.items()} for k, cols in out.items()}
    return _batch_result(grid, columns, labels)


def with_setpoints(grid: PgmGrid, injections: Injections) -> PgmGrid:
    """``grid`` with one scenario of ``injections`` made its base case (``grid`` is unchanged).

    A copy of the PGM model is updated once, so a batch over many scenarios on top of one
    operating point (a DSO model's perturbations, the combinations of a Pareto check) carries
    only what differs per scenario instead of the whole operating point in every scenario: the
    same power flows, a smaller update. ``bus_*`` frames set the bus injection elements; a later
    batch's ``bus_*`` frames *replace* them (pass them there, summed, when both are needed).

    Raises:
        InvalidInputError: more than one scenario, or what :func:`run_ac_batch` refuses.

    Example:
        >>> from flexcoord.grid.loading import load_network
        >>> grid = to_pgm(load_network("1-MV-rural--0-sw"))
        >>> point = Injections.single(sgen_p_mw={3: 0.0})
        >>> moved = with_setpoints(grid, point)
        >>> float(run_ac(moved).vm_pu[40]) == float(run_ac(grid, point).vm_pu[40])
        True
    """
    if injections.n_scenarios != 1:
        raise InvalidInputError(
            [
                Issue(
                    kind="Injections",
                    object_id="injections",
                    field="n_scenarios",
                    value=injections.n_scenarios,
                    message="must be 1 for with_setpoints",
                )
            ]
        )
    update = _update_data(grid, injections)
    model = grid.model.copy()
    if update:
        model.update(update_data={k: v.reshape(-1) for k, v in update.items()})
    return dataclasses.replace(grid, model=model)


def verify_operating_point(  # noqa: PLR0913 - public: the model, then keyword-only tolerances
    grid: PgmGrid,
    injections: Injections | None = None,
    *,
    vm_min_pu: float | None = None,
    vm_max_pu: float | None = None,
    max_loading_percent: float | None = None,
    threading: int | None = None,
) -> AcVerification:
    """Check operating points (base case changed by ``injections``) against the grid's limits.

    This is the AC re-check of a cleared dispatch: every scenario is one power flow, every
    branch loading above its limit and every bus voltage outside its band is a violation.

    Args:
        grid: the converted grid (:func:`to_pgm`).
        injections: one or more scenarios; ``None`` checks the base case.
        vm_min_pu: lower voltage limit for every bus; by default each bus's ``min_vm_pu``
            (else 0.95, see :mod:`flexcoord.grid.violations`).
        vm_max_pu: upper voltage limit for every bus; by default each bus's ``max_vm_pu``
            (else 1.05).
        max_loading_percent: thermal limit for every branch; by default each line's and
            transformer's ``max_loading_percent`` (else 100).
        threading: PGM threading for batches (0 all cores, -1 sequential; ``None``:
            :func:`pgm_threading`).

    Raises:
        GridError: a power flow does not converge.
        InvalidInputError: invalid ``injections`` or limits.

    Example:
        >>> from flexcoord.grid.loading import load_network
        >>> grid = to_pgm(load_network("1-MV-rural--0-sw"))
        >>> check = verify_operating_point(grid, Injections.single(bus_p_mw={40: 30.0}))
        >>> check.ok, sorted(set(check.violations.kind))
        (False, ['overload', 'overvoltage'])
    """
    injections = injections or Injections()
    limits = Limits(
        vm_min_pu=vm_min_pu, vm_max_pu=vm_max_pu, max_loading_percent=max_loading_percent
    )
    result = run_ac_batch(
        grid, injections, threading=threading if injections.n_scenarios > 1 else -1
    )
    vmin, vmax, lmax = resolve_limits(grid, limits)
    frame = violation_frame(
        grid,
        vm_pu=result.vm_pu.to_numpy(),
        loading_percent=result.loading_percent.to_numpy(),
        vm_min_pu=vmin,
        vm_max_pu=vmax,
        max_loading_percent=lmax,
    )
    steps = frame.pop("step").to_numpy()
    frame.insert(0, "scenario", result.vm_pu.index.to_numpy()[steps])
    return AcVerification(result=result, violations=frame, limits=limits)


# --------------------------------------------------------------------------------------------
# internals


def _batch_result(
    grid: PgmGrid, out: Mapping[Any, Mapping[str, np.ndarray]], labels: pd.Index
) -> AcBatchResult:
    buses = grid.buses
    node_ids = grid.input_data[ComponentType.node]["id"]
    pos = np.searchsorted(node_ids, buses["node_id"].to_numpy())
    off = ~buses["in_service"].to_numpy(dtype=bool)
    vm = out[ComponentType.node]["u_pu"][:, pos].astype(float)
    va = np.degrees(out[ComponentType.node]["u_angle"][:, pos])
    vm[:, off] = np.nan
    va[:, off] = np.nan
    branch_cols = grid.branches.index
    loading = branch_loading_percent(grid, out)
    p_parts, q_parts = [], []
    for table, ctype in (("line", ComponentType.line), ("trafo", ComponentType.transformer)):
        if (grid.branches["table"] == table).any():
            p_parts.append(select_branches(grid, table, out[ctype]["p_from"]) * 1e-6)
            q_parts.append(select_branches(grid, table, out[ctype]["q_from"]) * 1e-6)
    n = len(labels)
    p_from = np.concatenate(p_parts, axis=1) if p_parts else np.zeros((n, 0))
    q_from = np.concatenate(q_parts, axis=1) if q_parts else np.zeros((n, 0))
    src_ids = grid.input_data[ComponentType.source]["id"]
    src_pos = np.searchsorted(src_ids, grid.ext_grids["pgm_id"].to_numpy())
    source = out[ComponentType.source]
    bus_cols = buses.index
    ext_cols = grid.ext_grids.index

    def frame(values: np.ndarray, columns: pd.Index) -> pd.DataFrame:
        return pd.DataFrame(values, index=labels, columns=columns)

    return AcBatchResult(
        vm_pu=frame(vm, bus_cols),
        va_degree=frame(va, bus_cols),
        loading_percent=frame(loading.reshape(n, -1), branch_cols),
        p_from_mw=frame(p_from, branch_cols),
        q_from_mvar=frame(q_from, branch_cols),
        ext_grid_p_mw=frame(source["p"][:, src_pos] * 1e-6, ext_cols),
        ext_grid_q_mvar=frame(source["q"][:, src_pos] * 1e-6, ext_cols),
    )


def _update_data(grid: PgmGrid, injections: Injections) -> dict[Any, np.ndarray]:
    """PGM batch update arrays for ``injections``; validates indices, values and row labels."""
    frames = injections.frames()
    issues: list[Issue] = []
    labels = injections.index
    known = {
        "bus": grid.buses.index[grid.buses["injection_id"].to_numpy() >= 0],
        "load": grid.loads.index,
        "sgen": grid.sgens.index,
        "storage": grid.storages.index,
    }
    for name, frame in frames.items():
        table = name.split("_")[0]
        kind = table.capitalize()
        if not frame.index.equals(labels):
            message = f"differs from the first frame's index {list(labels[:5])}"
            issues.append(
                Issue(
                    kind="Injections",
                    object_id=name,
                    field="index",
                    value=list(frame.index[:5]),
                    message=message,
                )
            )
        suffix = " with an injection element" if table == "bus" else ""
        issues += [
            Issue(
                kind=kind,
                object_id=f"{table}:{col}",
                field=name,
                value=col,
                message=f"is not a {table} of this grid{suffix}",
            )
            for col in frame.columns
            if col not in known[table]
        ]
        values = frame.to_numpy(dtype=float)
        bad_rows, bad_cols = np.nonzero(~np.isfinite(values))
        issues += [
            Issue(
                kind=kind,
                object_id=f"{table}:{frame.columns[c]}",
                field=name,
                value=float(values[r, c]),
                message=f"must be finite (scenario {frame.index[r]!r})",
            )
            for r, c in zip(bad_rows[:20], bad_cols[:20], strict=True)
        ]
    if issues:
        raise InvalidInputError(issues)
    if not frames:
        return {}
    n = len(labels)

    def pair(p_name: str, q_name: str) -> tuple[list[Any], FloatArray, FloatArray]:
        p, q = frames.get(p_name), frames.get(q_name)
        cols = sorted({c for f in (p, q) if f is not None for c in f.columns})
        pv = (
            p.reindex(columns=cols).to_numpy(dtype=float)
            if p is not None
            else np.full((n, len(cols)), np.nan)
        )
        qv = (
            q.reindex(columns=cols).to_numpy(dtype=float)
            if q is not None
            else np.full((n, len(cols)), np.nan)
        )
        return cols, pv, qv

    gens, loads = [], []
    cols, p, q = pair("sgen_p_mw", "sgen_q_mvar")
    if len(cols):
        s = grid.sgens.loc[cols]
        scale = s["scaling"].to_numpy() * 1e6
        gens.append(_rows("sym_gen", s["pgm_id"].to_numpy(), p * scale, q * scale))
    cols, p, q = pair("bus_p_mw", "bus_q_mvar")
    if len(cols):
        ids = grid.buses.loc[cols, "injection_id"].to_numpy()
        gens.append(_rows("sym_gen", ids, np.nan_to_num(p) * 1e6, np.nan_to_num(q) * 1e6))
    cols, p, q = pair("load_p_mw", "load_q_mvar")
    if len(cols):
        ld = grid.loads.loc[cols]
        for kind in LOAD_KINDS:
            fp, fq = ld[f"p_{kind}"].to_numpy(), ld[f"q_{kind}"].to_numpy()
            if kind == "const_power" or np.any(fp) or np.any(fq):
                loads.append(
                    _rows("sym_load", ld[f"id_{kind}"].to_numpy(), p * fp * 1e6, q * fq * 1e6)
                )
    cols, p, q = pair("storage_p_mw", "storage_q_mvar")
    if len(cols):
        st = grid.storages.loc[cols]
        scale = st["scaling"].to_numpy() * 1e6
        loads.append(_rows("sym_load", st["pgm_id"].to_numpy(), p * scale, q * scale))
    update: dict[Any, np.ndarray] = {}
    if gens:
        update[ComponentType.sym_gen] = np.concatenate(gens, axis=1)
    if loads:
        update[ComponentType.sym_load] = np.concatenate(loads, axis=1)
    return update


def _rows(component: str, ids: np.ndarray, p_w: FloatArray, q_var: FloatArray) -> np.ndarray:
    """A (scenarios, elements) PGM update array; NaN keeps an element's base value."""
    n, k = p_w.shape
    rows = initialize_array("update", component, (n, k))
    rows["id"] = ids[None, :]
    rows["p_specified"] = p_w
    rows["q_specified"] = q_var
    return rows
