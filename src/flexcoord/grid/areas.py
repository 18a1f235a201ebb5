"""Splitting a multi-voltage grid into a TSO area and DSO areas joined at coupling points.

Buses at or above ``tso_min_vn_kv`` (default 110 kV) form the TSO area; the buses below it fall
apart, once the transformers that cross the threshold are cut, into connected components: each is a
DSO area. The crossing transformers are the **coupling points** (the TSO–DSO interface), each
belonging to the DSO area on its low-voltage side.

The threshold is a choice, not physics: in Germany the 110 kV grid is run by DSOs, in most other
countries by the TSO. SimBench's HV/MV grids have a meshed 110 kV layer with 380/220 kV supply
points, which makes ``110`` the interesting default for TSO–DSO studies (TSO congestion in the
meshed 110 kV grid, DSO congestion in the radial MV feeders). Pass ``tso_min_vn_kv=220`` for the
German reading. A grid without any bus at the threshold (an MV grid fed by one ``ext_grid``) is one
or more DSO areas whose coupling point is the ``ext_grid`` itself.

**Control areas.** A grid whose buses carry a ``control_area`` label (a CGMES model with two or
more ``ControlArea``s, see :mod:`flexcoord.grid.cgmes`; decision 012) is cut by it instead: the
control area holding the highest nominal voltage (ties: the most buses at that voltage, then the
name) is the TSO area, each other control area a DSO area named after it (a part of it not
connected to the rest gets ``#2``, ...), and every in-service transformer or line joining the TSO
area to a DSO area is a coupling point (its TSO-side bus as ``hv_bus``). Buses in no control
area follow the voltage rule above. :func:`orient_tie_lines` turns the tie lines round so their
from-bus is the TSO side, which the interface flows (``p_from``, TSO → DSO positive) expect.

Areas are named after the model's regions where the grid carries them (a ``region`` bus column: the
``SubGeographicalRegion`` of a CGMES import, see :mod:`flexcoord.grid.cgmes`), else after
SimBench's ``subnet`` labels (``MV1.101``), and numbered otherwise, so names are stable for the same
grid.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from flexcoord.errors import InvalidInputError, Issue, NotFoundError

__all__ = [
    "AreaSplit",
    "CouplingPoint",
    "DsoArea",
    "connected_groups",
    "dead_end_side",
    "orient_tie_lines",
    "split_areas",
    "tso_control_area",
]

IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True, kw_only=True)
class CouplingPoint:
    """A TSO–DSO interface element: a transformer (``"trafo:3"``) or an ``ext_grid``.

    ``hv_bus`` is on the TSO side (``None`` for an ``ext_grid``, whose upstream grid is not
    modelled), ``lv_bus`` on the DSO side.
    """

    id: str
    hv_bus: int | None
    lv_bus: int
    rating_mva: float


@dataclass(frozen=True, slots=True, kw_only=True)
class DsoArea:
    """One connected distribution area below the TSO threshold."""

    id: str
    bus_ids: frozenset[int]
    coupling_points: tuple[CouplingPoint, ...]
    voltage_levels_kv: tuple[float, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class AreaSplit:
    """The TSO area and the DSO areas of a grid.

    Example:
        >>> from flexcoord.grid.loading import load_network
        >>> split = split_areas(load_network("1-MV-rural--0-sw"))
        >>> [a.id for a in split.dso_areas], [c.id for c in split.dso_areas[0].coupling_points]
        (['MV1.101'], ['trafo:0', 'trafo:1'])
    """

    tso_min_vn_kv: float
    tso_bus_ids: frozenset[int]
    dso_areas: tuple[DsoArea, ...]
    tso_control_area: str | None = None

    def area_of_bus(self) -> dict[int, str]:
        """``bus → area id`` for every in-service bus; the TSO area is called ``"tso"``."""
        out = dict.fromkeys(self.tso_bus_ids, "tso")
        for area in self.dso_areas:
            out.update(dict.fromkeys(area.bus_ids, area.id))
        return out

    @property
    def coupling_points(self) -> tuple[CouplingPoint, ...]:
        """Every coupling point of every DSO area."""
        return tuple(cp for area in self.dso_areas for cp in area.coupling_points)

    @property
    def area_ids(self) -> tuple[str, ...]:
        """``"tso"`` and every DSO area id: the names a monitored-area option accepts."""
        return ("tso", *(a.id for a in self.dso_areas))

    def dso_area(self, area_id: str) -> DsoArea:
        """The DSO area with this id.

        Raises:
            NotFoundError: no such DSO area; the message names the valid ids.
        """
        for area in self.dso_areas:
            if area.id == area_id:
                return area
        shown = area_id if len(area_id) <= 60 else area_id[:57] + "..."
        raise NotFoundError(
            f"no DSO area {shown!r} in this grid; DSO areas: {[a.id for a in self.dso_areas]}"
        )


def split_areas(net: Any, *, tso_min_vn_kv: float = 110.0) -> AreaSplit:
    """Split ``net`` (not modified) into a TSO area and DSO areas with their coupling points.

    Raises:
        InvalidInputError: ``tso_min_vn_kv`` is not a positive finite number.
    """
    if not (np.isfinite(tso_min_vn_kv) and tso_min_vn_kv > 0):
        raise InvalidInputError(
            [
                Issue(
                    kind="AreaSplit",
                    object_id="grid",
                    field="tso_min_vn_kv",
                    value=tso_min_vn_kv,
                    message="must be a positive number of kV",
                )
            ]
        )
    import pandapower.topology as top  # noqa: PLC0415  (lazy: pandapower's graph layer)

    bus = net.bus[net.bus.in_service.to_numpy(dtype=bool)]
    vn = bus.vn_kv.astype(float)
    graph = top.create_nxgraph(net, respect_switches=True, include_out_of_service=False)
    tso_area = tso_control_area(net)
    if tso_area is not None:
        return _split_by_control_areas(net, graph, tso_area, tso_min_vn_kv)
    tso = frozenset(int(b) for b in bus.index[vn.to_numpy() >= tso_min_vn_kv])
    low = [int(b) for b in bus.index if int(b) not in tso]
    crossing = _crossing_branches(net, tso, frozenset(low), lines=False)
    if not tso:
        ext = net.ext_grid[net.ext_grid.in_service.to_numpy(dtype=bool)]
        for idx, row in ext.iterrows():
            crossing.append(
                CouplingPoint(
                    id=f"ext_grid:{idx}", hv_bus=None, lv_bus=int(row.bus), rating_mva=float("inf")
                )
            )
    areas = _dso_areas(bus, graph, [(None, low)], crossing)
    return AreaSplit(tso_min_vn_kv=tso_min_vn_kv, tso_bus_ids=tso, dso_areas=areas)


def tso_control_area(net: Any) -> str | None:
    """The control area that is the TSO's, when the in-service buses carry two or more control
    areas (``net.bus["control_area"]``); else ``None``. It is the one holding the highest
    nominal voltage; ties go to the most buses at that voltage, then to the first name."""
    if "control_area" not in net.bus.columns:
        return None
    bus = net.bus[net.bus.in_service.to_numpy(dtype=bool) & net.bus.control_area.notna()]
    names = bus.control_area.astype(str)
    if names.nunique() < 2:
        return None
    vn = bus.vn_kv.astype(float)
    top = vn.groupby(names).max()
    at_top = (vn == top.reindex(names).to_numpy()).groupby(names).sum()
    ranked = sorted(top.index, key=lambda n: (-float(top[n]), -int(at_top[n]), str(n)))
    return str(ranked[0])


def orient_tie_lines(net: Any) -> int:
    """Turn round (in place) the lines from a DSO control area to the TSO's, so each tie line's
    from-bus is its TSO side; the number turned. For a network of one's own (an import)."""
    tso_area = tso_control_area(net)
    if tso_area is None or not len(net.line):
        return 0
    area = net.bus.control_area
    from_area = area.reindex(net.line.from_bus.astype(int))
    to_area = area.reindex(net.line.to_bus.astype(int)).to_numpy()
    in_dso_area = from_area.notna().to_numpy() & (from_area.to_numpy() != tso_area)
    flip = net.line.index[(to_area == tso_area) & in_dso_area]
    pairs = [
        (c, c.replace("from", "to"))
        for c in net.line.columns
        if "from" in c and c.replace("from", "to") in net.line.columns
    ]
    for first, second in pairs:
        values = net.line.loc[flip, [first, second]].to_numpy()
        net.line.loc[flip, first] = values[:, 1]
        net.line.loc[flip, second] = values[:, 0]
    return len(flip)


def _split_by_control_areas(net: Any, graph: Any, tso_area: str, tso_min_vn_kv: float) -> AreaSplit:
    bus = net.bus[net.bus.in_service.to_numpy(dtype=bool)]
    vn = bus.vn_kv.astype(float)
    area = bus.control_area
    outside = area.isna()
    tso = frozenset(
        int(b) for b in bus.index[(area == tso_area) | (outside & (vn >= tso_min_vn_kv))]
    )
    groups: list[tuple[str | None, list[int]]] = [
        (str(name), [int(b) for b in members.index])
        for name, members in bus[~outside & (area != tso_area)].groupby("control_area")
    ]
    groups.append((None, [int(b) for b in bus.index[outside] if int(b) not in tso]))
    low = frozenset(b for _, members in groups for b in members)
    crossing = _crossing_branches(net, tso, low, lines=True)
    areas = _dso_areas(bus, graph, groups, crossing)
    return AreaSplit(
        tso_min_vn_kv=tso_min_vn_kv,
        tso_bus_ids=tso,
        dso_areas=areas,
        tso_control_area=tso_area,
    )


def _crossing_branches(
    net: Any, tso: frozenset[int], low: frozenset[int], *, lines: bool
) -> list[CouplingPoint]:
    """The in-service transformers (and lines, with ``lines``) with one end in ``tso`` and the
    other in ``low``; the TSO end as ``hv_bus``."""
    out: list[CouplingPoint] = []
    trafo = net.trafo[net.trafo.in_service.to_numpy(dtype=bool)]
    for idx, row in trafo.iterrows():
        hv, lv = int(row.hv_bus), int(row.lv_bus)
        rating = float(row.sn_mva) * float(row.get("parallel", 1) or 1)
        if hv in tso and lv in low:
            out.append(CouplingPoint(id=f"trafo:{idx}", hv_bus=hv, lv_bus=lv, rating_mva=rating))
        elif lines and lv in tso and hv in low:
            out.append(CouplingPoint(id=f"trafo:{idx}", hv_bus=lv, lv_bus=hv, rating_mva=rating))
    if not lines:
        return out
    line = net.line[net.line.in_service.to_numpy(dtype=bool)]
    vn = net.bus.vn_kv.astype(float)
    for idx, row in line.iterrows():
        f, t = int(row.from_bus), int(row.to_bus)
        if (f in tso and t in low) or (t in tso and f in low):
            tso_end, dso_end = (f, t) if f in tso else (t, f)
            rating = (
                float(row.max_i_ka)
                * float(vn.at[f])
                * np.sqrt(3.0)
                * float(row.get("parallel", 1) or 1)
            )
            out.append(
                CouplingPoint(id=f"line:{idx}", hv_bus=tso_end, lv_bus=dso_end, rating_mva=rating)
            )
    return out


def _dso_areas(
    bus: Any,
    graph: Any,
    groups: list[tuple[str | None, list[int]]],
    crossing: list[CouplingPoint],
) -> tuple[DsoArea, ...]:
    """The DSO areas: the connected parts of each group of buses, named after the group (a
    control area) or else after the model's regions, SimBench's subnets, or numbered."""
    import networkx as nx  # noqa: PLC0415  (lazy: networkx loads when areas are split)

    vn = bus.vn_kv.astype(float)
    subnet = bus["subnet"] if "subnet" in bus.columns else None
    region = bus["region"] if "region" in bus.columns else None
    parts = [
        (group, frozenset(int(b) for b in c))
        for group, members in groups
        for c in nx.connected_components(graph.subgraph(members))
    ]
    areas: list[DsoArea] = []
    used_names: Counter[str] = Counter()
    # Stable order: by smallest bus index of the component.
    for number, (group, component) in enumerate(sorted(parts, key=lambda p: min(p[1])), start=1):
        cps = tuple(sorted((cp for cp in crossing if cp.lv_bus in component), key=lambda c: c.id))
        name = group or _region_name(component, region) or _area_name(component, subnet, number)
        used_names[name] += 1
        if used_names[name] > 1:
            name = f"{name}#{used_names[name]}"
        levels = tuple(sorted({float(v) for v in vn.reindex(sorted(component))}, reverse=True))
        areas.append(
            DsoArea(id=name, bus_ids=component, coupling_points=cps, voltage_levels_kv=levels)
        )
    return tuple(areas)


def _region_name(component: frozenset[int], region: Any) -> str | None:
    """The most common model region of the component's buses (ties: the first by name)."""
    if region is None:
        return None
    labels = region.reindex(sorted(component)).dropna().astype(str)
    if labels.empty:
        return None
    counts = Counter(labels)
    top = max(counts.values())
    return str(min(label for label, n in counts.items() if n == top))


def _area_name(component: frozenset[int], subnet: Any, number: int) -> str:
    if subnet is None:
        return f"dso-{number}"
    labels = subnet.reindex(sorted(component)).dropna().astype(str)
    # SimBench labels look like "MV1.101", "MV1.101_LV1.101_Feeder1", "HV1_MV1.101": take the part
    # naming the highest voltage level that appears as a whole subnet of its own.
    roots = [lab.split("_")[0] for lab in labels if not lab.startswith(("HV", "EHV"))]
    if not roots:
        return f"dso-{number}"
    name: str = Counter(roots).most_common(1)[0][0]
    return name


def dead_end_side(net: Any, line: int, area: DsoArea) -> tuple[frozenset[int], bool] | None:
    """The buses of ``area`` beyond line ``line`` away from the area's coupling points, and
    whether that is the line's to-side; ``None`` when the line is in a mesh (both of its sides
    still reach a coupling point with the line removed). Closed switches count, out-of-service
    elements do not.

    Example:
        >>> from flexcoord.grid.model import load_grid
        >>> grid = load_grid("1-MV-rural--0-sw")
        >>> side = dead_end_side(grid.net, 0, grid.areas.dso_areas[0])
        >>> side is None or isinstance(side[1], bool)
        True
    """
    import networkx as nx  # noqa: PLC0415  (lazy: networkx loads when asked)
    import pandapower.topology as top  # noqa: PLC0415  (lazy: pandapower's graph layer)

    graph = top.create_nxgraph(net, respect_switches=True, include_out_of_service=False)
    f, t = int(net.line.from_bus.at[line]), int(net.line.to_bus.at[line])
    for key in [
        k for (a, b, k) in graph.edges(keys=True) if {a, b} == {f, t} and k == ("line", line)
    ]:
        graph.remove_edge(f, t, key)
    feeding = {cp.lv_bus for cp in area.coupling_points}
    for bus, is_to in ((t, True), (f, False)):
        component = nx.node_connected_component(graph, bus)
        if not component & feeding:
            return frozenset(int(b) for b in component if int(b) in area.bus_ids), is_to
    return None


def connected_groups(net: Any, buses: Iterable[int]) -> tuple[frozenset[int], ...]:
    """``buses`` split into the connected sets of the part of the grid they make up on their
    own (two of them are in one set when a path of lines, transformers and closed switches
    joins them through buses of the set only), ordered by their smallest bus. Buses not in
    service belong to no set.

    Example:
        >>> from flexcoord.grid.loading import load_network
        >>> net = load_network("1-MV-rural--0-sw")
        >>> [sorted(g) for g in connected_groups(net, [4, 5, 7])]  # lines 4-5, 5-6, 6-7
        [[4, 5], [7]]
    """
    import networkx as nx  # noqa: PLC0415  (lazy: networkx loads when asked)
    import pandapower.topology as top  # noqa: PLC0415  (lazy: pandapower's graph layer)

    wanted = sorted({int(b) for b in buses})

    graph = top.create_nxgraph(net, respect_switches=True, include_out_of_service=False)
    present = [b for b in wanted if b in graph]
    groups = [
        frozenset(int(b) for b in c) for c in nx.connected_components(graph.subgraph(present))
    ]
    return tuple(sorted(groups, key=min))
