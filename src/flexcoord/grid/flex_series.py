"""Element time series for planning: which elements can relieve an asset, their year-long
active power, and a network whose chosen elements follow new series on chosen days
(``docs/planning.md``).

Signs are pandapower's per table: ``sgen`` injection positive, ``load`` and ``storage``
consumption (charging) positive.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from flexcoord.grid.sensitivities import compute_ptdf, compute_voltage_sensitivity
from flexcoord.grid.timeseries_profiles import Profiles

__all__ = ["FLEX_TABLES", "element_series", "relieving_elements", "with_series"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

FLEX_TABLES: Final = ("sgen", "load", "storage")
#: A branch flow share (PTDF) or voltage sensitivity (share of the largest) from which an
#: element's bus counts as relieving: the buses behind the branch in a radial feeder.
_SHARE: Final = 0.5
_PROFILE_TABLE: Final = {"sgen": "renewables", "load": "load", "storage": "storage"}


def relieving_elements(net: Any, asset: str) -> dict[str, IntArray]:
    """Per table, the in-service elements whose active power moves ``asset``'s loading or
    voltage: for a branch, buses whose PTDF on it is at least 0.5 in magnitude (in a radial
    feeder, the buses behind it); for a bus, buses whose voltage sensitivity at it is at least
    half the largest (the buses of its feeder)."""
    table, _, number = asset.partition(":")
    if table == "bus":
        sens = compute_voltage_sensitivity(net, monitored_buses=[int(number)])
        row = np.asarray(sens.dvm_dp_pu_per_mw)[0]
        top = float(np.max(np.abs(row))) if row.size else 0.0
        buses = (
            set(np.asarray(sens.injection_bus_ids)[np.abs(row) >= _SHARE * top].tolist())
            if top > 0
            else set()
        )
    else:
        ptdf = compute_ptdf(net, branches=[asset])
        row = ptdf.matrix[0]
        buses = set(np.asarray(ptdf.bus_ids)[np.abs(row) >= _SHARE].tolist())
    out: dict[str, IntArray] = {}
    for name in FLEX_TABLES:
        frame = net[name]
        keep = frame["bus"].isin(buses) & frame["in_service"].astype(bool)
        out[name] = frame.index[keep.to_numpy()].to_numpy(dtype=np.int64)
    return out


def element_series(net: Any, table: str, indices: IntArray) -> FloatArray:
    """The year-long active power (MW, steps × elements) of ``table``'s ``indices``."""
    profiles = Profiles.of(net)
    series = {"sgen": profiles.sgen_p, "load": profiles.load_p, "storage": profiles.storage_p}[
        table
    ]
    position = net[table].index.get_indexer(indices)
    values = series.values(0, profiles.n_steps)[:, position]
    if table == "load":  # the load series leave the scaling to the power flow
        values = values * net[table]["scaling"].to_numpy(dtype=float)[position]
    return values


def with_series(net: Any, rows: IntArray, changed: Mapping[str, Mapping[int, FloatArray]]) -> Any:
    """A copy of ``net`` whose profiles hold only the steps ``rows`` and whose ``changed``
    elements (table → element → MW over ``rows``) follow their new series."""
    out = copy.deepcopy(net)
    profiles = {
        k: v.iloc[rows].reset_index(drop=True)
        for k, v in out.profiles.items()
        if isinstance(v, pd.DataFrame) and len(v)
    }
    for table, elements in changed.items():
        frame = out[table]
        target = profiles[_PROFILE_TABLE[table]]
        new_columns: dict[str, FloatArray] = {}
        for index, series in elements.items():
            base = float(frame.at[index, "p_mw"]) * float(frame.at[index, "scaling"])
            name = f"flex {table} {index}"
            relative = np.asarray(series, dtype=float) / base if base else np.zeros(len(rows))
            if table == "load":
                old = frame.at[index, "profile"]
                q = profiles["load"].get(f"{old}_qload")
                new_columns[f"{name}_pload"] = relative
                new_columns[f"{name}_qload"] = (
                    q.to_numpy(dtype=float) if q is not None else np.zeros(len(rows))
                )
            else:
                new_columns[name] = relative
            frame.at[index, "profile"] = name
        profiles[_PROFILE_TABLE[table]] = pd.concat(
            [target, pd.DataFrame(new_columns, index=target.index)], axis=1
        )
    out.profiles = profiles
    return out
