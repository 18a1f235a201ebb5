"""The file-wide options of a market file checked against the grid it is cleared on.

Some options can only be judged once the grid is known: ``profile_start_step`` must leave the
market's MTUs inside the grid's SimBench profiles, and ``areas`` must name areas of the grid.
:func:`grid_option_issues` reports them against the market file and its field, in the file's
words, before the grid code would fail on them in its own (``OperatingForecast 'forecast'``,
a ``KeyError`` for an unknown area).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flexcoord.errors import InvalidInputError, Issue, format_value
from flexcoord.schemas.csv_folder import OPTIONS_FILE
from flexcoord.schemas.market_file import market_form
from flexcoord.schemas.models import MarketFile

__all__ = ["grid_option_issues"]


def _option_issue(source: str | None, field: str, value: object, message: str) -> Issue:
    return Issue(kind="", object_id="", field=field, value=value, message=message, source=source)


def _options_source(source: str | Path | None) -> str | None:
    if source is None:
        return None
    path = Path(source)
    if market_form(path) == "csv":
        return str((path if path.is_dir() else path.parent) / OPTIONS_FILE)
    return str(path)


def grid_option_issues(  # noqa: PLR0913 - one parameter per CLI option it checks
    market: MarketFile,
    grid: Any,
    *,
    n_mtu: int,
    source: str | Path | None = None,
    profile_start_step: int | None = None,
    areas: Sequence[str] | None = None,
) -> list[Issue]:
    """The issues of the market's options on ``grid`` (empty when they fit).

    Args:
        market: The loaded market file.
        grid: The :class:`~flexcoord.grid.model.GridModel` it is cleared on.
        n_mtu: The number of MTUs of the market (``len(market_span(needs, bids, ...))``).
        source: The path the market was loaded from (for a CSV folder, issues name its
            ``market.toml``).
        profile_start_step: Overrides the file's option (then the issue names no file).
        areas: Overrides the file's option likewise.

    Example:
        >>> from flexcoord.grid.model import load_grid
        >>> market = MarketFile(profile_start_step=35_100, areas=["MV1.101", "MV9"])
        >>> step, areas = grid_option_issues(market, load_grid("1-MV-rural--0-sw"), n_mtu=96,
        ...                                  source="m.json")
        >>> print(step.field, step.message)
        profile_start_step must leave the 96 MTUs within the 35136 profile steps (at most 35040)
        >>> print(areas)
        m.json: areas=['MV1.101', 'MV9'] name 'MV9', not an area of the grid (MV1.101, tso)
    """
    from flexcoord.grid.timeseries_profiles import Profiles  # noqa: PLC0415  (lazy: loads pandapower)

    issues = []
    step, step_source = profile_start_step, None
    if step is None:
        step, step_source = market.profile_start_step, _options_source(source)
    if step is not None:
        try:
            n_steps = Profiles.of(grid.net).n_steps
        except InvalidInputError:
            n_steps = 0
        if step + n_mtu > n_steps:
            message = (
                f"must leave the {n_mtu} MTUs within the {n_steps} profile steps "
                f"(at most {max(n_steps - n_mtu, 0)})"
                if n_steps
                else "needs SimBench profiles, and the grid has none"
            )
            issues.append(_option_issue(step_source, "profile_start_step", step, message))
    chosen, areas_source = areas, None
    if chosen is None:
        chosen, areas_source = market.areas, _options_source(source)
    known = sorted({a.id for a in grid.areas.dso_areas} | {"tso"})
    unknown = [a for a in chosen or () if a not in known]
    if unknown:
        names = ", ".join(format_value(a) for a in unknown)
        message = f"name {names}, not an area of the grid ({', '.join(known)})"
        issues.append(_option_issue(areas_source, "areas", list(chosen or ()), message))
    return issues
