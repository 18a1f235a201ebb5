"""A planning study as one self-contained HTML page (offline, as the study report).

Per congested asset, a figure like the seed paper's Figure 30 (TDFlex): the yearly cost of
local flexibility under each price scenario against the reinforcement's yearly cost (annuity
plus OPEX), the crossover year marked, and the asset's peak (loading, or voltage) of each year
on a second axis. Above them, the crossover table. DOM ids: ``fc-table-crossover`` and
``fc-plot-asset-<n>`` in the crossover table's order.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from flexcoord.schemas.plan import PlanFile
from flexcoord.simulation.html_report import PAGE_STYLE, plot_section, write_page

__all__ = ["asset_figure", "plan_report_html", "write_plan_report"]

_PEAK = {
    "overload": ("loading_percent", "peak loading (%)"),
    "overvoltage": ("vm_max_pu", "highest voltage (pu)"),
    "undervoltage": ("vm_min_pu", "lowest voltage (pu)"),
}


def asset_figure(
    asset: str, kind: str, tables: Mapping[str, pd.DataFrame], plan: PlanFile
) -> go.Figure:
    """The Figure-30 view of one asset (module docstring)."""
    decisions = tables["decisions"]
    mine = decisions[(decisions["asset"] == asset) & (decisions["kind"] == kind)]
    figure = go.Figure()
    for name, rows in mine.groupby("scenario", sort=False):
        figure.add_trace(
            go.Scatter(
                x=rows["year"],
                y=rows["flexibility_eur_per_year"],
                mode="lines+markers",
                name=f"flexibility ({name})",
            )
        )
    annual = float(mine["reinforcement_eur_per_year"].iloc[0]) if len(mine) else math.nan
    years = list(plan.years())
    if math.isfinite(annual):
        figure.add_trace(
            go.Scatter(
                x=years,
                y=[annual] * len(years),
                mode="lines",
                line={"dash": "dash", "color": "black"},
                name="reinforcement (annuity + OPEX)",
            )
        )
    crossover = tables["crossover"]
    base = crossover[
        (crossover["asset"] == asset)
        & (crossover["kind"] == kind)
        & (crossover["scenario"] == plan.prices[0].name)
    ]
    if len(base) and not pd.isna(base["crossover_year"].iloc[0]):
        year = int(base["crossover_year"].iloc[0])
        figure.add_vline(x=year, line={"color": "firebrick"}, annotation_text=f"crossover {year}")
    quantity, label = _PEAK[kind]
    peaks = tables["peaks"]
    peak = peaks[(peaks["asset"] == asset) & (peaks["quantity"] == quantity)]
    figure.add_trace(
        go.Scatter(
            x=peak["year"],
            y=peak["peak"],
            mode="lines",
            line={"color": "grey", "dash": "dot"},
            name=label,
            yaxis="y2",
        )
    )
    figure.update_layout(
        title=f"{asset} {kind}: flexibility against reinforcement",
        xaxis={"title": "year", "dtick": max(1, plan.step_years)},
        yaxis={"title": "€ per year", "rangemode": "tozero"},
        yaxis2={"title": label, "overlaying": "y", "side": "right", "showgrid": False},
        legend={"orientation": "h", "y": -0.2},
        margin={"t": 50},
    )
    return figure


def _crossover_table(crossover: pd.DataFrame) -> str:
    columns = [
        "asset",
        "kind",
        "scenario",
        "first_violation_year",
        "crossover",
        "flexibility_eur_per_year_at_horizon",
        "reinforcement_eur_per_year",
        "reinforcement_capex_eur",
        "npv_of_deferral_eur",
        "measure",
    ]
    shown = crossover[[c for c in columns if c in crossover.columns]]
    return shown.to_html(
        index=False,
        table_id="fc-table-crossover",
        classes="fc-table",
        float_format=lambda v: "" if math.isnan(v) else f"{v:,.0f}",
        border=0,
        escape=True,
        na_rep="",
    )


def plan_report_html(plan: PlanFile, tables: Mapping[str, pd.DataFrame]) -> str:
    """The planning report page (module docstring)."""
    crossover = tables["crossover"]
    assets = (
        crossover[["asset", "kind"]].drop_duplicates().itertuples(index=False, name=None)
        if len(crossover)
        else []
    )
    plots = [
        plot_section(asset_figure(a, k, tables, plan), f"fc-plot-asset-{n}", include_js=n == 0)
        for n, (a, k) in enumerate(assets)
    ]
    meta = {
        "grid": plan.grid,
        "years": f"{plan.start_year}–{plan.horizon} every {plan.step_years}",
        "price scenarios": ", ".join(p.name for p in plan.prices),
        "WACC": f"{plan.costs.wacc:.1%}",
    }
    items = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in meta.items())
    title = html.escape(f"{plan.name}: flexibility against reinforcement")
    body = (
        _crossover_table(crossover)
        if len(crossover)
        else "<p>No asset is violated in any planned year.</p>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>{PAGE_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{title}</h1>\n<dl>{items}</dl>\n<h2>Crossover per congested asset</h2>\n"
        f"{body}\n" + "\n".join(plots) + "\n</body>\n</html>\n"
    )


def write_plan_report(path: Path, plan: PlanFile, tables: Mapping[str, pd.DataFrame]) -> Path:
    """Write :func:`plan_report_html` to ``path`` atomically; returns ``path``."""
    return write_page(path, plan_report_html(plan, tables))
