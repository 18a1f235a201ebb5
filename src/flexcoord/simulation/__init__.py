"""Simulation: seeded scenarios on SimBench grids, scheme runs over days, KPIs and reports.

The public API is named here and loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flexcoord._lazy import lazy_exports

_EXPORTS = {
    "build_coordination_scenario": "flexcoord.simulation.scenario",
    "build_timeframe_chain": "flexcoord.simulation.scenario",
    "chain_comparison_document": "flexcoord.simulation.report",
    "clearing_tables": "flexcoord.simulation.tables",
    "comparison_document": "flexcoord.simulation.report",
    "comparison_rows": "flexcoord.simulation.report",
    "coordination_tables": "flexcoord.simulation.tables",
    "scheme_document": "flexcoord.simulation.report",
    "write_tables": "flexcoord.simulation.tables",
}

__all__ = [
    "build_coordination_scenario",
    "build_timeframe_chain",
    "chain_comparison_document",
    "clearing_tables",
    "comparison_document",
    "comparison_rows",
    "coordination_tables",
    "scheme_document",
    "write_tables",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from flexcoord.simulation.report import (
        chain_comparison_document,
        comparison_document,
        comparison_rows,
        scheme_document,
    )
    from flexcoord.simulation.scenario import build_coordination_scenario, build_timeframe_chain
    from flexcoord.simulation.tables import clearing_tables, coordination_tables, write_tables
