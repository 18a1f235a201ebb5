"""Conversion of a pandapower network to power-grid-model (PGM): :class:`PgmGrid`, :func:`to_pgm`.

The public entry point is :mod:`flexcoord.grid.pgm`, which re-exports both; this module holds the
conversion and the maps between pandapower indices and PGM ids.

Conversion (power-grid-model-io's ``PandaPowerConverter``) applies the three SimBench ↔ PGM fixes
of the ecosystem lab (§2a) on a deep copy of the caller's network:

1. transformers without a vector group get one derived from ``shift_degree`` and
2. transformers without a tap changer type get ``"Ratio"`` (both through
   :func:`flexcoord.grid.loading.apply_simbench_fixes`, a no-op on networks from ``load_network``;
   fix 2 means taps are applied as ``tap_pos`` says, as pandapower does once fixed);
3. every ``ext_grid`` gets ``s_sc_max_mva = 1e10``: a PGM ``source`` has an internal impedance
   derived from its short-circuit power while pandapower's ``ext_grid`` is an ideal slack; with
   1e10 MVA the source is ideal to within 1e-7 pu. Real short-circuit powers are deliberately
   ignored, so that PGM and pandapower solve the same problem.

pgm-io cannot convert ``storage``; storage units are added here as constant-power ``sym_load``\\s
(pandapower's sign: positive ``p_mw`` charges). Out-of-service buses are isolated (branch ends at
them opened, appliances at them switched off, as pandapower does) and report ``NaN`` voltages.

Transformer loading is current-based, like pandapower's default
(``max(I_hv·Vn_hv, I_lv·Vn_lv)·√3 / sn``), not PGM's power-based ``loading``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandapower.topology as top
import pandas as pd
from numpy.typing import NDArray
from power_grid_model import ComponentType, LoadGenType, PowerGridModel, initialize_array
from power_grid_model_io.converters import PandaPowerConverter

from flexcoord.errors import GridError, InvalidInputError, Issue
from flexcoord.grid.loading import apply_simbench_fixes

__all__ = [
    "LOAD_KINDS",
    "SK_IDEAL_SOURCE_MVA",
    "PgmGrid",
    "branch_loading_percent",
    "network_name",
    "select_branches",
    "to_pgm",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Short-circuit power given to every PGM source so that it behaves like pandapower's ideal slack.
SK_IDEAL_SOURCE_MVA = 1e10

#: The three parts pgm-io splits a pandapower load into (ZIP).
LOAD_KINDS = ("const_power", "const_impedance", "const_current")
_UNSUPPORTED = {
    "gen": "voltage-controlled generators (PV buses) are not supported by power-grid-model",
    "dcline": "DC lines are not supported by power-grid-model",
    "xward": "extended wards are not supported by power-grid-model-io",
    "impedance": "impedance elements are not supported by power-grid-model-io",
    "trafo3w": "three-winding transformers are not supported by flexcoord's PGM layer yet",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PgmGrid:
    """A pandapower network converted to power-grid-model, with the maps back to pandapower.

    Built by :func:`to_pgm`; treat every field as read-only (the arrays are write-protected).
    Calculations never change it: they pass PGM update data.

    Attributes:
        model: the PGM model of the base case.
        input_data: the PGM input arrays the model was built from.
        buses: one row per pandapower bus (index): ``node_id``, ``name``, ``vn_kv``,
            ``vm_min_pu`` / ``vm_max_pu`` (the default voltage band, see
            :class:`flexcoord.grid.violations.Limits`), ``in_service``, ``injection_id`` (the PGM
            ``sym_gen`` carrying :attr:`Injections.bus_p_mw` at that bus, -1 if none).
        branches: one row per in-service branch, indexed by name (``"line:12"``): ``table``,
            ``element`` (pandapower index), ``pgm_id``, ``name``, ``vn_kv`` (from bus / HV side),
            ``max_loading_percent`` (the default limit).
        loads: one row per pandapower load: ``id_const_power``, ``id_const_impedance``,
            ``id_const_current`` (pgm-io splits a load into three ``sym_load``\\s, ZIP) and the
            factors ``p_<kind>`` / ``q_<kind>`` (share × scaling) turning a setpoint into each part.
        sgens: per pandapower sgen: ``pgm_id``, ``scaling``.
        storages: per pandapower storage: ``pgm_id`` (a ``sym_load``), ``scaling``.
        ext_grids: per pandapower ext_grid: ``pgm_id`` (a ``source``).
        trafo_current_factor: per transformer row of ``input_data``, the factors turning
            ``i_from`` / ``i_to`` (A) into loading in percent (shape (2, n_trafo)).
    """

    model: Any
    input_data: Mapping[Any, np.ndarray]
    buses: pd.DataFrame
    branches: pd.DataFrame
    loads: pd.DataFrame
    sgens: pd.DataFrame
    storages: pd.DataFrame
    ext_grids: pd.DataFrame
    trafo_current_factor: FloatArray


# --------------------------------------------------------------------------------------------
# conversion


def to_pgm(net: Any, *, injection_buses: Iterable[int] | None = None) -> PgmGrid:  # noqa: PLR0915 - one pass over the pandapower tables, table by table; not split yet
    """Convert a pandapower network to power-grid-model, with the three SimBench fixes.

    The caller's network is not modified (the conversion works on a deep copy).

    Args:
        net: a pandapower network (e.g. from :func:`flexcoord.grid.loading.load_network`).
        injection_buses: pandapower bus indices that may carry :attr:`Injections.bus_p_mw`
            (a zero ``sym_gen`` each); ``None`` means every in-service bus, ``()`` none (the
            time-series assessment needs none).

    Returns:
        The converted grid with its maps back to pandapower.

    Raises:
        GridError: in-service buses not connected to any ``ext_grid`` (named), no ``ext_grid``, or
            an element power-grid-model cannot model (``gen``, ``dcline``, ``xward``,
            ``impedance``, ``trafo3w``).
        InvalidInputError: an injection bus that is not an in-service bus of the network.

    Example:
        >>> from flexcoord.grid.loading import load_network
        >>> grid = to_pgm(load_network("1-MV-rural--0-sw"))
        >>> len(grid.buses), len(grid.branches)
        (97, 101)
    """
    for table, why in _UNSUPPORTED.items():
        if table in net and len(net[table]) and net[table]["in_service"].any():
            raise GridError(f"network {network_name(net)!r} has {table} elements: {why}")
    in_service_ext = net.ext_grid[net.ext_grid["in_service"].astype(bool)]
    if in_service_ext.empty:
        raise GridError(f"network {network_name(net)!r} has no in-service ext_grid (slack)")
    unsupplied = sorted(int(b) for b in top.unsupplied_buses(net))
    if unsupplied:
        shown = ", ".join(f"bus:{b}" for b in unsupplied[:20])
        more = f" and {len(unsupplied) - 20} more" if len(unsupplied) > 20 else ""
        raise GridError(
            f"network {network_name(net)!r}: {len(unsupplied)} in-service bus(es) are not "
            f"connected to any ext_grid (islanded or unsupplied): {shown}{more}"
        )

    work = copy.deepcopy(net)
    apply_simbench_fixes(work)  # fixes 1 and 2
    work.ext_grid["s_sc_max_mva"] = SK_IDEAL_SOURCE_MVA  # fix 3
    storage = work.storage.copy()
    work.storage = work.storage.iloc[0:0]  # pgm-io cannot convert storage: added below
    converter = PandaPowerConverter()
    data, _ = converter.load_input_data(work, make_extra_info=False)
    idx = converter.idx
    next_id = int(converter.next_idx)

    # storage units as constant-power sym_loads (pandapower storage is consumption-positive)
    st_in = storage["in_service"].to_numpy(dtype=bool) if len(storage) else np.zeros(0, bool)
    st_scaling = _column(storage, "scaling", 1.0)
    st_rows = initialize_array("input", ComponentType.sym_load, len(storage))
    st_ids = np.arange(next_id, next_id + len(storage), dtype=np.int32)
    next_id += len(storage)
    if len(storage):
        st_rows["id"] = st_ids
        st_rows["node"] = idx[("bus", None)].loc[storage["bus"].to_numpy()].to_numpy()
        st_rows["status"] = st_in
        st_rows["type"] = LoadGenType.const_power
        st_rows["p_specified"] = storage["p_mw"].to_numpy(dtype=float) * st_scaling * 1e6
        st_rows["q_specified"] = _column(storage, "q_mvar", 0.0) * st_scaling * 1e6

    # one zero sym_gen per bus that may carry an added injection
    bus = work.bus
    bus_in = bus["in_service"].to_numpy(dtype=bool)
    if injection_buses is None:
        inj_buses = bus.index[bus_in].to_numpy(dtype=np.int64)
    else:
        inj_buses = np.asarray(list(injection_buses), dtype=np.int64)
        ok = set(bus.index[bus_in].tolist())
        bad = [int(b) for b in inj_buses if int(b) not in ok]
        if bad:
            raise InvalidInputError(
                Issue(
                    kind="Bus",
                    object_id=f"bus:{b}",
                    field="injection_buses",
                    value=b,
                    message="is not an in-service bus of the network",
                )
                for b in bad
            )
    inj_ids = np.arange(next_id, next_id + len(inj_buses), dtype=np.int32)
    inj_rows = initialize_array("input", ComponentType.sym_gen, len(inj_buses))
    inj_rows["id"] = inj_ids
    inj_rows["node"] = idx[("bus", None)].loc[inj_buses].to_numpy()
    inj_rows["status"] = 1
    inj_rows["type"] = LoadGenType.const_power
    inj_rows["p_specified"] = 0.0
    inj_rows["q_specified"] = 0.0

    data = dict(data)
    data[ComponentType.sym_load] = _concat(data.get(ComponentType.sym_load), st_rows)
    data[ComponentType.sym_gen] = _concat(data.get(ComponentType.sym_gen), inj_rows)
    _isolate(data, idx[("bus", None)].loc[bus.index[~bus_in]].to_numpy())
    for array in data.values():
        array.setflags(write=False)
    model = PowerGridModel(data)

    node_ids = idx[("bus", None)].loc[bus.index].to_numpy(dtype=np.int64)
    injection_id = pd.Series(-1, index=bus.index, dtype=np.int64)
    injection_id.loc[inj_buses] = inj_ids
    buses = pd.DataFrame(
        {
            "node_id": node_ids,
            "name": bus["name"].astype(object).where(bus["name"].notna(), None),
            "vn_kv": bus["vn_kv"].to_numpy(dtype=float),
            "vm_min_pu": _column(bus, "min_vm_pu", np.nan),
            "vm_max_pu": _column(bus, "max_vm_pu", np.nan),
            "in_service": bus_in,
            "injection_id": injection_id,
        },
        index=bus.index,
    )
    trafo_rows = data.get(ComponentType.transformer)
    return PgmGrid(
        model=model,
        input_data=data,
        buses=buses,
        branches=_branches(work, idx),
        loads=_loads(work, idx),
        sgens=pd.DataFrame(
            {
                "pgm_id": idx[("sgen", None)].loc[work.sgen.index].to_numpy()
                if len(work.sgen)
                else np.zeros(0, np.int64),
                "scaling": _column(work.sgen, "scaling", 1.0),
            },
            index=work.sgen.index,
        ),
        storages=pd.DataFrame({"pgm_id": st_ids, "scaling": st_scaling}, index=storage.index),
        ext_grids=pd.DataFrame(
            {"pgm_id": idx[("ext_grid", None)].loc[work.ext_grid.index].to_numpy()},
            index=work.ext_grid.index,
        ),
        trafo_current_factor=_trafo_current_factor(work, trafo_rows),
    )


def network_name(net: Any) -> str:
    """How messages name a pandapower network: its ``name`` (the grid code, as
    :func:`~flexcoord.grid.loading.load_network` sets it), else ``<unnamed>``."""
    name = net.get("name", "") if hasattr(net, "get") else ""
    return str(name) or "<unnamed>"


def _column(table: pd.DataFrame, column: str, default: float) -> FloatArray:
    if column not in table.columns:
        return np.full(len(table), default, dtype=float)
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(values), values, default)


def _concat(first: np.ndarray | None, second: np.ndarray) -> np.ndarray:
    return second if first is None else np.concatenate([first, second])


def _isolate(data: dict[Any, np.ndarray], nodes: np.ndarray) -> None:
    """Disconnect the given (out-of-service) nodes: branch ends there opened, appliances off.

    pandapower does the same: a line to an out-of-service bus stays energised from its other end.
    """
    if not len(nodes):
        return
    for array in data.values():
        fields = array.dtype.names or ()
        if "from_node" in fields:  # open the side at the bus: the other keeps line charging
            array["from_status"][np.isin(array["from_node"], nodes)] = 0
            array["to_status"][np.isin(array["to_node"], nodes)] = 0
        elif "node" in fields and "status" in fields:
            array["status"][np.isin(array["node"], nodes)] = 0


def _branches(net: Any, idx: Mapping[tuple[str, str | None], pd.Series]) -> pd.DataFrame:
    parts = []
    for table, bus_column in (("line", "from_bus"), ("trafo", "hv_bus")):
        frame = net[table]
        frame = frame[frame["in_service"].to_numpy(dtype=bool)]
        if frame.empty:
            continue
        parts.append(
            pd.DataFrame(
                {
                    "table": table,
                    "element": frame.index.to_numpy(dtype=np.int64),
                    "pgm_id": idx[(table, None)].loc[frame.index].to_numpy(dtype=np.int64),
                    "name": frame["name"].astype(object).where(frame["name"].notna(), None),
                    "vn_kv": net.bus["vn_kv"].loc[frame[bus_column]].to_numpy(dtype=float),
                    "max_loading_percent": _column(frame, "max_loading_percent", np.nan),
                },
                index=pd.Index([f"{table}:{i}" for i in frame.index], name="branch"),
            )
        )
    if not parts:
        return pd.DataFrame(
            columns=["table", "element", "pgm_id", "name", "vn_kv", "max_loading_percent"]
        )
    return pd.concat(parts)


def _loads(net: Any, idx: Mapping[tuple[str, str | None], pd.Series]) -> pd.DataFrame:
    load = net.load
    frame = pd.DataFrame(index=load.index)
    scaling = _column(load, "scaling", 1.0)
    shares = {
        "p_const_impedance": _column(load, "const_z_p_percent", 0.0) / 100.0,
        "p_const_current": _column(load, "const_i_p_percent", 0.0) / 100.0,
        "q_const_impedance": _column(load, "const_z_q_percent", 0.0) / 100.0,
        "q_const_current": _column(load, "const_i_q_percent", 0.0) / 100.0,
    }
    shares["p_const_power"] = 1.0 - shares["p_const_impedance"] - shares["p_const_current"]
    shares["q_const_power"] = 1.0 - shares["q_const_impedance"] - shares["q_const_current"]
    for kind in LOAD_KINDS:
        ids = idx[("load", kind)].loc[load.index] if len(load) else pd.Series(dtype=np.int64)
        frame[f"id_{kind}"] = ids.to_numpy(dtype=np.int64)
        frame[f"p_{kind}"] = shares[f"p_{kind}"] * scaling
        frame[f"q_{kind}"] = shares[f"q_{kind}"] * scaling
    return frame


def _trafo_current_factor(net: Any, rows: np.ndarray | None) -> FloatArray:
    if rows is None or not len(rows):
        return np.zeros((2, 0))
    df = _column(net.trafo, "df", 1.0)  # rows are in net.trafo order (pgm-io keeps it)
    # pandapower: loading = I·√3·V / (sn · parallel · df); PGM's sn already holds sn · parallel
    base = np.sqrt(3.0) * 100.0 / (df * rows["sn"])
    return np.vstack([base * rows["u1"], base * rows["u2"]])


def branch_loading_percent(
    grid: PgmGrid, out: Mapping[Any, Mapping[str, np.ndarray]]
) -> FloatArray:
    """Loading in percent of every branch of ``grid.branches`` from columnar 2-D PGM output.

    Needs ``line: loading`` and ``transformer: i_from, i_to`` in the output.
    """
    parts = []
    n = grid.branches["table"].value_counts()
    if n.get("line", 0):
        parts.append(select_branches(grid, "line", out[ComponentType.line]["loading"]) * 100.0)
    if n.get("trafo", 0):
        tr = out[ComponentType.transformer]
        f = grid.trafo_current_factor
        load = np.maximum(tr["i_from"] * f[0], tr["i_to"] * f[1])
        parts.append(select_branches(grid, "trafo", load))
    if not parts:
        return np.zeros((0, 0))
    return np.concatenate(parts, axis=1)


def select_branches(grid: PgmGrid, table: str, values: np.ndarray) -> FloatArray:
    """Columns of ``values`` (one per PGM element of ``table`` in input order) for our branches."""
    ctype = ComponentType.line if table == "line" else ComponentType.transformer
    ids = grid.input_data[ctype]["id"]
    wanted = grid.branches.loc[grid.branches["table"] == table, "pgm_id"].to_numpy()
    if len(wanted) == len(ids):  # all in service: input order == branch order
        return np.asarray(values, dtype=float)
    pos = np.searchsorted(ids, wanted)  # pgm-io generates increasing ids per table
    return np.asarray(values, dtype=float)[:, pos]
