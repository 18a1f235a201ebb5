"""Where a network's buses lie on a drawing: their coordinates and the branches between them.

A pandapower 3 network keeps bus coordinates as GeoJSON points in ``net.bus["geo"]`` (the
``bus_geodata`` table of pandapower 2 is gone; SimBench networks ship longitude / latitude there).
When every bus has a point, :func:`network_layout` uses them as they are (``source="geodata"``).
Otherwise it lays the whole network out anew with pandapower's generic coordinates
(``pandapower.plotting.create_generic_coordinates`` through igraph, on a copy: the caller's network
is never changed) and says so (``source="generic"``).

Elements are named as everywhere in :mod:`flexcoord.grid`: ``"bus:<index>"``, ``"line:<index>"``,
``"trafo:<index>"`` (pandapower table and index). Out-of-service elements are left out.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

__all__ = ["BRANCH_LAYOUT_COLUMNS", "BUS_LAYOUT_COLUMNS", "NetworkLayout", "network_layout"]

#: Columns of :attr:`NetworkLayout.buses`.
BUS_LAYOUT_COLUMNS = ("element", "name", "vn_kv", "x", "y")
#: Columns of :attr:`NetworkLayout.branches`.
BRANCH_LAYOUT_COLUMNS = ("element", "name", "from_element", "to_element")


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkLayout:
    """A network drawn as points and segments.

    Attributes:
        buses: one row per in-service bus: ``element`` (``"bus:5"``), ``name``, ``vn_kv``, ``x``,
            ``y`` (longitude / latitude for ``source="geodata"``, unitless otherwise).
        branches: one row per in-service line or transformer: ``element`` (``"line:12"``,
            ``"trafo:0"``), ``name``, ``from_element`` and ``to_element`` (bus elements; a
            transformer goes from its HV to its LV bus).
        source: ``"geodata"`` when the coordinates are the network's own, ``"generic"`` when they
            were laid out by :func:`network_layout` because some bus had none.
    """

    buses: pd.DataFrame
    branches: pd.DataFrame
    source: Literal["geodata", "generic"]


def network_layout(net: Any) -> NetworkLayout:
    """The drawing of a pandapower network: its own coordinates, or generic ones if any is missing.

    Example:
        >>> from flexcoord.grid.loading import load_network
        >>> layout = network_layout(load_network("1-MV-rural--0-sw"))
        >>> layout.source, len(layout.buses), len(layout.branches)
        ('geodata', 97, 101)
        >>> layout.branches.iloc[0]["element"], layout.branches.iloc[-1]["element"]
        ('line:0', 'trafo:1')
    """
    buses = net.bus[net.bus["in_service"].astype(bool)]
    points = _points(buses)
    source: Literal["geodata", "generic"] = "geodata"
    if points is None:
        points = _points(_generic_buses(net).loc[buses.index])
        source = "generic"
    assert points is not None  # the generic layout gives every bus a point
    table = pd.DataFrame(
        {
            "element": [f"bus:{int(i)}" for i in buses.index],
            "name": buses["name"].astype("string").fillna("").to_numpy(),
            "vn_kv": buses["vn_kv"].astype(float).to_numpy(),
            "x": [p[0] for p in points],
            "y": [p[1] for p in points],
        }
    )
    return NetworkLayout(buses=table, branches=_branches(net, set(buses.index)), source=source)


def _points(buses: pd.DataFrame) -> list[tuple[float, float]] | None:
    """Each bus's GeoJSON point as ``(x, y)``, or ``None`` when any bus has none."""
    if "geo" not in buses.columns:
        return None
    out: list[tuple[float, float]] = []
    for text in buses["geo"]:
        point = _point(text)
        if point is None:
            return None
        out.append(point)
    return out


def _point(text: object) -> tuple[float, float] | None:
    if not isinstance(text, str):
        return None
    try:
        shape = json.loads(text)
        x, y = shape["coordinates"][:2]
        return (float(x), float(y)) if shape.get("type") == "Point" else None
    except (ValueError, KeyError, TypeError):
        return None


def _generic_buses(net: Any) -> pd.DataFrame:
    """The bus table of a copy of ``net`` with pandapower's generic coordinates."""
    from pandapower import plotting  # noqa: PLC0415  (lazy: only when coordinates lack)

    laid_out = copy.deepcopy(net)
    plotting.create_generic_coordinates(laid_out, library="igraph", overwrite=True)
    return laid_out.bus  # type: ignore[no-any-return]


def _branches(net: Any, buses: set[int]) -> pd.DataFrame:
    rows: list[tuple[str, str, str, str]] = []
    for table, ends in (("line", ("from_bus", "to_bus")), ("trafo", ("hv_bus", "lv_bus"))):
        frame = net[table]
        for idx, row in frame[frame["in_service"].astype(bool)].iterrows():
            a, b = int(row[ends[0]]), int(row[ends[1]])
            if a in buses and b in buses:
                name = row["name"] if isinstance(row["name"], str) else ""
                rows.append((f"{table}:{int(idx)}", name, f"bus:{a}", f"bus:{b}"))
    return pd.DataFrame(rows, columns=list(BRANCH_LAYOUT_COLUMNS))
