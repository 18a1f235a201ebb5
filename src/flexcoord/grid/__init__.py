"""The grid layer: SimBench / pandapower networks, TSO–DSO areas, sensitivities, AC power flow.

This is the only package that imports pandapower, simbench and power-grid-model. Its public API
is named here and loaded on first use (``import flexcoord.grid`` imports none of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flexcoord._lazy import lazy_exports

_EXPORTS = {
    "AreaSplit": "flexcoord.grid.areas",
    "DsoArea": "flexcoord.grid.areas",
    "GridEntry": "flexcoord.grid.loading",
    "GridModel": "flexcoord.grid.model",
    "NetworkLayout": "flexcoord.grid.layout",
    "OperatingForecast": "flexcoord.grid.forecast",
    "ScenarioAdditions": "flexcoord.grid.portfolio",
    "build_portfolio": "flexcoord.grid.portfolio",
    "forecast_from_profiles": "flexcoord.grid.forecast",
    "forecast_from_snapshot": "flexcoord.grid.forecast",
    "grid_catalogue": "flexcoord.grid.loading",
    "grid_of_year": "flexcoord.grid.growth",
    "load_grid": "flexcoord.grid.model",
    "load_network": "flexcoord.grid.loading",
    "network_layout": "flexcoord.grid.layout",
    "network_of_year": "flexcoord.grid.growth",
    "resolve_grid_code": "flexcoord.grid.loading",
}

__all__ = [
    "AreaSplit",
    "DsoArea",
    "GridEntry",
    "GridModel",
    "NetworkLayout",
    "OperatingForecast",
    "ScenarioAdditions",
    "build_portfolio",
    "forecast_from_profiles",
    "forecast_from_snapshot",
    "grid_catalogue",
    "grid_of_year",
    "load_grid",
    "load_network",
    "network_layout",
    "network_of_year",
    "resolve_grid_code",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from flexcoord.grid.areas import AreaSplit, DsoArea
    from flexcoord.grid.forecast import (
        OperatingForecast,
        forecast_from_profiles,
        forecast_from_snapshot,
    )
    from flexcoord.grid.growth import grid_of_year, network_of_year
    from flexcoord.grid.layout import NetworkLayout, network_layout
    from flexcoord.grid.loading import GridEntry, grid_catalogue, load_network, resolve_grid_code
    from flexcoord.grid.model import GridModel, load_grid
    from flexcoord.grid.portfolio import ScenarioAdditions, build_portfolio
