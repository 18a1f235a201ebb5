"""Every example market exists as JSON and as a CSV folder, and the two are the same market: equal
:class:`MarketFile` values, and (SimBench) the same clearing, down to the canonical hash.

The clearing follows ``flexcoord clear``'s pipeline (load, build the portfolio, to_domain, the
market span, grid constraints from the file's options, clear with the AC check), through the
library functions only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flexcoord.schemas import MarketFile, load_market_file

EXAMPLES = Path(__file__).parents[2] / "examples"
#: ``(JSON form, CSV form)`` of every example: ``<example>/market.json`` and ``<example>/csv``.
PAIRS = [
    (folder / "market.json", folder / "csv")
    for folder in sorted(EXAMPLES.iterdir())
    if (folder / "market.json").is_file() and (folder / "csv").is_dir()
]
GRID = "1-MV-rural--0-sw"


def test_there_is_an_example_in_both_forms() -> None:
    assert [p.parent.name for p, _ in PAIRS] == ["market"]


@pytest.mark.parametrize(("json_form", "csv_form"), PAIRS, ids=lambda p: p.parent.name)
def test_json_and_csv_forms_load_to_equal_market_files(json_form: Path, csv_form: Path) -> None:
    assert load_market_file(json_form) == load_market_file(csv_form)


def _clear(market: MarketFile, source: Path) -> tuple[str, float, float]:
    from flexcoord.clearing import ClearingOptions
    from flexcoord.clearing.ac import PgmAcCheck
    from flexcoord.clearing.grid_constraints import grid_constraints
    from flexcoord.clearing.market import clear
    from flexcoord.domain import market_span
    from flexcoord.grid.model import load_grid
    from flexcoord.grid.portfolio import build_portfolio

    grid = load_grid(GRID)
    register, needs, bids = market.to_domain(build_portfolio(grid), source=source)
    gc = grid_constraints(
        grid,
        intervals=market_span(needs, bids, source=str(source)),
        profile_start_step=market.profile_start_step,
        areas=market.areas,
        safety_margin=market.safety_margin,
        vm_min_pu=market.vm_min_pu,
        vm_max_pu=market.vm_max_pu,
    )
    result = clear(
        register,
        needs,
        bids,
        gc,
        ClearingOptions(ac_max_iterations=3),
        gate_closure_at=market.gate_closure_at,
        ac_checker=PgmAcCheck(grid, gc),
    )
    return result.canonical_hash(), result.procurement_cost_eur, result.penalty_cost_eur


@pytest.mark.slow
@pytest.mark.parametrize(("json_form", "csv_form"), PAIRS, ids=lambda p: p.parent.name)
def test_json_and_csv_forms_clear_to_the_same_hash(json_form: Path, csv_form: Path) -> None:
    from_json = _clear(load_market_file(json_form), json_form)
    from_csv = _clear(load_market_file(csv_form), csv_form)
    assert from_csv == from_json
    # the CSV folder once lacked the file-wide options and cleared with 220 k€ of penalties
    assert from_json[2] < 1_000.0
