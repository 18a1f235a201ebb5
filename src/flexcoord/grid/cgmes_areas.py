"""The control areas of a CGMES model as bus labels (``net.bus["control_area"]``).

A model with two or more ``ControlArea``s says who operates which part of the grid;
:func:`~flexcoord.grid.areas.split_areas` then cuts the TSO/DSO areas by these labels instead of
the voltage threshold (see ``docs/cgmes.md``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from typing import Any

from flexcoord.grid.areas import orient_tie_lines
from flexcoord.grid.cgmes_rdf import cim_rows, strip_id, terminal_nodes

__all__ = ["label_control_areas"]


def label_control_areas(net: Any, eq: bytes, tp: bytes) -> tuple[str, ...]:
    """Set ``net.bus["control_area"]`` from the model's ControlAreas (two or more); their names.

    The network is cut at the branches that carry a TieFlow; each connected part takes the area
    of the tie-flow terminals and the ControlAreaGeneratingUnits' machines in it (the most
    frequent one, should they disagree). A part with neither stays without a control area.
    """
    if b"ControlArea" not in eq:
        return ()
    root = ET.fromstring(eq)
    names = {r[""]: r.get("name") or r[""] for r in cim_rows(root, "ControlArea")}
    if len(names) < 2:
        return ()
    import networkx as nx  # noqa: PLC0415  (lazy)
    import pandapower.topology as top  # noqa: PLC0415  (lazy)

    node_of_terminal = terminal_nodes(tp)
    column = net.bus["cim_topnode"] if "cim_topnode" in net.bus.columns else net.bus.origin_id
    bus_of_node = {strip_id(o): int(b) for b, o in zip(net.bus.index, column, strict=True)}
    seeds: list[tuple[int, str]] = []
    tie_terminals: set[str] = set()
    for row in cim_rows(root, "TieFlow"):
        tie_terminals.add(row.get("Terminal", ""))
        bus = bus_of_node.get(node_of_terminal.get(row.get("Terminal", ""), ""))
        if bus is not None and row.get("ControlArea") in names:
            seeds.append((bus, names[row["ControlArea"]]))
    seeds += _generating_unit_seeds(root, names, node_of_terminal, bus_of_node)
    ties = {
        (table, int(idx))
        for table, sides in (("line", ("from", "to")), ("trafo", ("hv", "lv")))
        for side in sides
        if f"terminal_{side}" in net[table].columns
        for idx, terminal in zip(net[table].index, net[table][f"terminal_{side}"], strict=True)
        if terminal is not None and strip_id(terminal) in tie_terminals
    }
    graph = top.create_nxgraph(net, respect_switches=True, include_out_of_service=False)
    graph.remove_edges_from([(a, b, k) for a, b, k in graph.edges(keys=True) if k in ties])
    label: dict[int, str] = {}
    for part in nx.connected_components(graph):
        found = Counter(area for bus, area in seeds if bus in part)
        if found:
            area = min(found, key=lambda a: (-found[a], a))
            label |= dict.fromkeys((int(b) for b in part), area)
    if len(set(label.values())) < 2:
        return ()
    net.bus["control_area"] = [label.get(int(b)) for b in net.bus.index]
    orient_tie_lines(net)
    return tuple(sorted(set(label.values())))


def _generating_unit_seeds(
    eq: ET.Element,
    names: dict[str, str],
    node_of_terminal: dict[str, str],
    bus_of_node: dict[str, int],
) -> list[tuple[int, str]]:
    """``(bus, control area)`` of each ControlAreaGeneratingUnit's synchronous machines."""
    area_of_unit = {
        r.get("GeneratingUnit", ""): names[r["ControlArea"]]
        for r in cim_rows(eq, "ControlAreaGeneratingUnit")
        if r.get("ControlArea") in names
    }
    if not area_of_unit:
        return []
    unit_of_machine = {
        r[""]: r.get("GeneratingUnit", "") for r in cim_rows(eq, "SynchronousMachine")
    }
    out: list[tuple[int, str]] = []
    for row in cim_rows(eq, "Terminal"):
        unit = unit_of_machine.get(row.get("ConductingEquipment", ""), "")
        bus = bus_of_node.get(node_of_terminal.get(row[""], ""))
        if unit in area_of_unit and bus is not None:
            out.append((bus, area_of_unit[unit]))
    return out
