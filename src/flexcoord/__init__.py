"""flexcoord: an open platform for TSO–DSO coordination through grid-aware flexibility markets.

The public API, importable from here (loaded on first use, so ``import flexcoord`` is cheap)::

    import flexcoord as fc

    grid = fc.load_grid("1-MV-rural--0-sw")
    scenario = fc.build_coordination_scenario(grid, n_bids=200)
    outcome = fc.run_scheme(fc.preset("onenet-common"), scenario)

Packages: :mod:`flexcoord.domain` (values and validation), :mod:`flexcoord.grid` (SimBench /
pandapower / power-grid-model), :mod:`flexcoord.clearing` (the engine on HiGHS),
:mod:`flexcoord.coordination` (schemes), :mod:`flexcoord.simulation` (scenarios, reports),
:mod:`flexcoord.schemas` (the market file), :mod:`flexcoord.errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flexcoord._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    # grid
    "GridModel": "flexcoord.grid.model",
    "load_grid": "flexcoord.grid.model",
    "grid_catalogue": "flexcoord.grid.loading",
    "build_portfolio": "flexcoord.grid.portfolio",
    # clearing
    "ClearingOptions": "flexcoord.clearing",
    "ClearingProblem": "flexcoord.clearing",
    "ClearingResult": "flexcoord.clearing",
    "PricingRule": "flexcoord.clearing",
    "clear": "flexcoord.clearing.market",
    "clear_problem": "flexcoord.clearing",
    "grid_constraints": "flexcoord.clearing.grid_constraints",
    "result_document": "flexcoord.clearing.report",
    # coordination
    "PRESETS": "flexcoord.coordination.presets",
    "SchemeConfig": "flexcoord.coordination.config",
    "preset": "flexcoord.coordination.presets",
    "run_scheme": "flexcoord.coordination.runner",
    "run_chain": "flexcoord.coordination.timeframes",
    # simulation and files
    "build_coordination_scenario": "flexcoord.simulation.scenario",
    "build_timeframe_chain": "flexcoord.simulation.scenario",
    "comparison_document": "flexcoord.simulation.report",
    "load_market_file": "flexcoord.schemas",
    # errors
    "FlexcoordError": "flexcoord.errors",
    "InvalidInputError": "flexcoord.errors",
    "Issue": "flexcoord.errors",
    "NotFoundError": "flexcoord.errors",
}

__all__ = [
    "PRESETS",
    "ClearingOptions",
    "ClearingProblem",
    "ClearingResult",
    "FlexcoordError",
    "GridModel",
    "InvalidInputError",
    "Issue",
    "NotFoundError",
    "PricingRule",
    "SchemeConfig",
    "__version__",
    "build_coordination_scenario",
    "build_portfolio",
    "build_timeframe_chain",
    "clear",
    "clear_problem",
    "comparison_document",
    "grid_catalogue",
    "grid_constraints",
    "load_grid",
    "load_market_file",
    "preset",
    "result_document",
    "run_chain",
    "run_scheme",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from flexcoord.clearing import (
        ClearingOptions,
        ClearingProblem,
        ClearingResult,
        PricingRule,
        clear_problem,
    )
    from flexcoord.clearing.grid_constraints import grid_constraints
    from flexcoord.clearing.market import clear
    from flexcoord.clearing.report import result_document
    from flexcoord.coordination.config import SchemeConfig
    from flexcoord.coordination.presets import PRESETS, preset
    from flexcoord.coordination.runner import run_scheme
    from flexcoord.coordination.timeframes import run_chain
    from flexcoord.errors import FlexcoordError, InvalidInputError, Issue, NotFoundError
    from flexcoord.grid.loading import grid_catalogue
    from flexcoord.grid.model import GridModel, load_grid
    from flexcoord.grid.portfolio import build_portfolio
    from flexcoord.schemas import load_market_file
    from flexcoord.simulation.report import comparison_document
    from flexcoord.simulation.scenario import build_coordination_scenario, build_timeframe_chain
