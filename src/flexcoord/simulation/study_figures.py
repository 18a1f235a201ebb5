"""The plotly figures of the study report (:mod:`flexcoord.simulation.html_report`).

Each function takes validated report tables (see :class:`~flexcoord.simulation.html_report.
ReportTables`) and returns one ``plotly.graph_objects.Figure``; none reads a file or the network.
What each figure shows:

- :func:`cost_figure`: per scheme, the bid, availability and penalty costs summed over the study
  days as stacked bars, and the realised cost (also summed) as a marker on top. The realised cost
  is the simulator's own figure; it need not equal the sum of the three parts.
- :func:`violation_figure`: per scheme, the realised violations summed over the study days:
  energy over limits (MWh) and bus-hours outside the voltage band, side by side.
- :func:`market_figure`: per scheme and MTU, the awarded volume (MW, up and down apart; 0 in an
  MTU without awards) and the volume-weighted mean award price (EUR/MWh) over all markets (a gap
  where nothing is awarded); every MTU from the first to the last award, in UTC.
- :func:`revenue_figure`: per scheme, the net settlement of each FSP (``settlement`` rows whose
  ``party`` is an ``fsp_id`` of ``awards``; ``amount_eur > 0`` is money the party receives), the
  :data:`MAX_FSPS` largest by absolute total apart and the rest as "other FSPs".
- :func:`grid_figure`: the network's buses and branches; per scheme, each branch with branch-flow
  violations is drawn thick and coloured by its violation energy (MWh, summed over the study), and
  each bus with voltage violations coloured by its hours outside the band. A dropdown picks the
  scheme.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from flexcoord.grid.layout import NetworkLayout

if TYPE_CHECKING:
    from flexcoord.simulation.html_report import ReportTables

__all__ = [
    "MAX_FSPS",
    "cost_figure",
    "grid_figure",
    "market_figure",
    "revenue_figure",
    "violation_figure",
]

#: FSPs the revenue figure shows one by one; the others are summed into "other FSPs".
MAX_FSPS = 12
_COST_PARTS = (
    ("bid_cost_eur", "bid cost"),
    ("availability_cost_eur", "availability cost"),
    ("penalty_eur", "penalty"),
)
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
_MARGIN = {"l": 60, "r": 30, "t": 60, "b": 50}


def _schemes(tables: ReportTables) -> list[str]:
    """The schemes in the order they first appear in ``kpis``."""
    return [str(s) for s in pd.unique(tables.kpis["scheme"].astype(str))]


def _colour(schemes: list[str], scheme: str) -> str:
    return _PALETTE[schemes.index(scheme) % len(_PALETTE)] if scheme in schemes else "#7f7f7f"


def cost_figure(tables: ReportTables) -> go.Figure:
    """Cost per scheme: stacked bid / availability / penalty bars and the realised total."""
    schemes = _schemes(tables)
    totals = (
        tables.kpis.assign(scheme=tables.kpis["scheme"].astype(str))
        .groupby("scheme")
        .sum(numeric_only=True)
    )
    totals = totals.reindex(schemes)
    fig = go.Figure()
    for column, label in _COST_PARTS:
        fig.add_bar(x=schemes, y=totals[column].tolist(), name=label)
    fig.add_scatter(
        x=schemes,
        y=totals["realised_cost_eur"].tolist(),
        mode="markers",
        marker={"symbol": "diamond", "size": 12, "color": "black"},
        name="realised cost",
    )
    fig.update_layout(
        barmode="relative",
        title="Cost per scheme (sum over the study days)",
        yaxis_title="EUR",
        margin=_MARGIN,
    )
    return fig


def violation_figure(tables: ReportTables) -> go.Figure:
    """Realised violations per scheme: MWh over limits and bus-hours outside the voltage band."""
    schemes = _schemes(tables)
    kpis = tables.kpis.assign(scheme=tables.kpis["scheme"].astype(str))
    totals = kpis.groupby("scheme").sum(numeric_only=True).reindex(schemes)
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("Violation energy (MWh)", "Voltage violations (bus-hours)")
    )
    colours = [_colour(schemes, s) for s in schemes]
    for col, column in ((1, "violation_mwh"), (2, "violation_bus_hours")):
        fig.add_bar(
            x=schemes,
            y=totals[column].tolist(),
            marker_color=colours,
            name=column,
            showlegend=False,
            row=1,
            col=col,
        )
    fig.update_layout(title="Realised violations per scheme (sum over the study days)")
    fig.update_layout(margin={**_MARGIN, "t": 90})
    return fig


def market_figure(tables: ReportTables) -> go.Figure:
    """Awarded volumes (up, down) and the volume-weighted mean award price per scheme and MTU."""
    schemes = _schemes(tables)
    awards = tables.awards.assign(
        scheme=tables.awards["scheme"].astype(str),
        mtu=pd.to_datetime(tables.awards["mtu"], utc=True).dt.tz_localize(None),
        direction=tables.awards["direction"].astype(str).str.lower(),
        value_eur_per_h=tables.awards["quantity_mw"] * tables.awards["price_eur_per_mwh"],
    )
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=("Awarded volume (MW)", "Mean award price (EUR/MWh, volume-weighted)"),
    )
    axis = _mtu_axis(awards["mtu"], tables.mtu_duration_h)
    for scheme, group in awards.groupby("scheme", sort=False):
        colour = _colour(schemes, str(scheme))
        for direction, dash in (("up", "solid"), ("down", "dot")):
            rows = group[group["direction"] == direction]
            volume = rows.groupby("mtu")["quantity_mw"].sum().reindex(axis, fill_value=0.0)
            fig.add_scatter(
                x=axis.tolist(),
                y=volume.tolist(),
                mode="lines",
                line={"shape": "hv", "color": colour, "dash": dash},
                name=f"{scheme} {direction}",
                legendgroup=str(scheme),
                row=1,
                col=1,
            )
        by_mtu = group.groupby("mtu")[["value_eur_per_h", "quantity_mw"]].sum().reindex(axis)
        price = by_mtu["value_eur_per_h"] / by_mtu["quantity_mw"].where(by_mtu["quantity_mw"] > 0)
        fig.add_scatter(
            x=axis.tolist(),
            y=_with_gaps(price.to_numpy(dtype=float)),
            mode="lines",
            line={"shape": "hv", "color": colour},
            name=f"{scheme} price",
            legendgroup=str(scheme),
            row=2,
            col=1,
        )
    fig.update_xaxes(title_text="MTU start (UTC)", row=2, col=1)
    fig.update_layout(title="Volumes and prices over time", height=620)
    fig.update_layout(margin={**_MARGIN, "t": 90})
    return fig


def _mtu_axis(mtus: pd.Series, mtu_duration_h: float) -> pd.DatetimeIndex:
    """Every MTU from the first to the last award (so that MTUs without awards show as such)."""
    if mtus.empty:
        return pd.DatetimeIndex([])
    step = pd.Timedelta(hours=mtu_duration_h)
    return pd.date_range(mtus.min(), mtus.max(), freq=step).union(pd.DatetimeIndex(mtus.unique()))


def revenue_figure(tables: ReportTables) -> go.Figure:
    """Net settlement of each FSP per scheme, as stacked bars."""
    schemes = _schemes(tables)
    fsps = set(tables.awards["fsp_id"].astype(str))
    rows = tables.settlement.assign(
        scheme=tables.settlement["scheme"].astype(str),
        party=tables.settlement["party"].astype(str),
    )
    rows = rows[rows["party"].isin(fsps)]
    table = rows.pivot_table(
        index="party", columns="scheme", values="amount_eur", aggfunc="sum", fill_value=0.0
    ).reindex(columns=schemes, fill_value=0.0)
    order = table.abs().sum(axis=1).sort_values(ascending=False).index
    shown = table.loc[order[:MAX_FSPS]]
    fig = go.Figure()
    for party, values in shown.iterrows():
        fig.add_bar(x=schemes, y=values.tolist(), name=str(party))
    if len(order) > MAX_FSPS:
        fig.add_bar(x=schemes, y=table.loc[order[MAX_FSPS:]].sum().tolist(), name="other FSPs")
    title = "FSP revenues per scheme (net settlement, sum over the study days)"
    if table.empty:
        title += ": no settlement row names an FSP of the awards"
    fig.update_layout(barmode="relative", title=title, yaxis_title="EUR", margin=_MARGIN)
    return fig


def grid_figure(tables: ReportTables, layout: NetworkLayout) -> go.Figure:
    """The network, with each scheme's congested branches and buses highlighted (a dropdown)."""
    schemes = _schemes(tables)
    xy = layout.buses.set_index("element")[["x", "y"]]
    fig = go.Figure()
    fig.add_trace(_segments(layout.branches, xy, "branches", {"color": "#bbbbbb", "width": 1}))
    fig.add_trace(_bus_trace(layout.buses))
    per_scheme = [_scheme_traces(tables, layout, xy, scheme) for scheme in schemes]
    for traces in per_scheme:
        fig.add_traces(traces[:3])
    base = [True, True]
    buttons = [
        {
            "label": scheme,
            "method": "update",
            "args": [{"visible": base + [j == i for j in range(len(schemes)) for _ in range(3)]}],
        }
        for i, scheme in enumerate(schemes)
    ]
    for k, trace in enumerate(fig.data[2:]):
        trace.visible = k < 3
    source = "network coordinates" if layout.source == "geodata" else "generic layout"
    missing = sum(traces[3] for traces in per_scheme)
    title = f"Grid: congested assets per scheme ({source}"
    if layout.source == "generic":
        title += ": the network has no bus coordinates"
    title += ")" if not missing else f"; {missing} violated elements not in the network)"
    fig.update_layout(
        title=title,
        height=640,
        margin=_MARGIN,
        showlegend=False,
        updatemenus=[{"buttons": buttons, "x": 0.0, "y": 1.0, "xanchor": "left", "yanchor": "top"}],
        coloraxis={"colorscale": "Reds", "colorbar": {"title": "MWh", "x": 1.0}, "cmin": 0},
        coloraxis2={"colorscale": "Purples", "colorbar": {"title": "bus-h", "x": 1.1}, "cmin": 0},
        plot_bgcolor="white",
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=_aspect(layout))
    return fig


def _aspect(layout: NetworkLayout) -> float:
    """Degrees of latitude drawn as long as the same distance in longitude."""
    if layout.source != "geodata" or layout.buses.empty:
        return 1.0
    latitude = float(layout.buses["y"].mean())
    return 1.0 / max(math.cos(math.radians(latitude)), 0.1) if abs(latitude) <= 90 else 1.0


def _ends(
    branches: pd.DataFrame, xy: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each branch's end coordinates: ``(x0, y0, x1, y1)``."""
    start = xy.reindex(branches["from_element"])
    end = xy.reindex(branches["to_element"])
    return (
        start["x"].to_numpy(dtype=float),
        start["y"].to_numpy(dtype=float),
        end["x"].to_numpy(dtype=float),
        end["y"].to_numpy(dtype=float),
    )


def _segments(
    branches: pd.DataFrame, xy: pd.DataFrame, name: str, line: dict[str, Any]
) -> go.Scatter:
    """One line trace drawing every branch as a segment (a gap between segments)."""
    x0, y0, x1, y1 = _ends(branches, xy)
    gap = np.full(len(x0), np.nan)
    xs = np.column_stack([x0, x1, gap]).ravel()
    ys = np.column_stack([y0, y1, gap]).ravel()
    return go.Scatter(
        x=_with_gaps(xs), y=_with_gaps(ys), mode="lines", line=line, name=name, hoverinfo="skip"
    )


def _with_gaps(values: np.ndarray) -> list[float | None]:
    return [None if math.isnan(v) else float(v) for v in values]


def _bus_trace(buses: pd.DataFrame) -> go.Scatter:
    return go.Scatter(
        x=buses["x"].tolist(),
        y=buses["y"].tolist(),
        mode="markers",
        marker={"size": 5, "color": "#555555"},
        text=[
            f"{e} {n} ({v:g} kV)"
            for e, n, v in zip(*(buses[c] for c in ("element", "name", "vn_kv")), strict=True)
        ],
        hoverinfo="text",
        name="buses",
    )


def _scheme_traces(
    tables: ReportTables, layout: NetworkLayout, xy: pd.DataFrame, scheme: str
) -> tuple[go.Scatter, go.Scatter, go.Scatter, int]:
    """A scheme's congested branches (segments, midpoints) and buses, and how many violated
    elements the network does not have."""
    rows = tables.violations[tables.violations["scheme"].astype(str) == scheme]
    flows = rows[rows["kind"] == "branch-flow"].groupby("element")["value"].sum()
    mwh = (flows * tables.mtu_duration_h).rename("mwh")
    hours = rows[rows["kind"] == "voltage"].groupby("element").size() * tables.mtu_duration_h
    branches = layout.branches.merge(mwh, left_on="element", right_index=True)
    buses = layout.buses.merge(hours.rename("hours"), left_on="element", right_index=True)
    missing = len(set(mwh.index) - set(branches["element"])) + len(
        set(hours.index) - set(buses["element"])
    )
    thick = _segments(branches, xy, f"{scheme} congested", {"color": "#d62728", "width": 4})
    x0, y0, x1, y1 = _ends(branches, xy)
    mids = go.Scatter(
        x=((x0 + x1) / 2).tolist(),
        y=((y0 + y1) / 2).tolist(),
        mode="markers",
        marker={"size": 11, "color": branches["mwh"].tolist(), "coloraxis": "coloraxis"},
        text=[
            f"{scheme}: {e} {n}: {v:.3f} MWh"
            for e, n, v in zip(branches["element"], branches["name"], branches["mwh"], strict=True)
        ],
        hoverinfo="text",
        name=f"{scheme} branches",
    )
    volt = go.Scatter(
        x=buses["x"].tolist(),
        y=buses["y"].tolist(),
        mode="markers",
        marker={
            "size": 11,
            "color": buses["hours"].tolist(),
            "coloraxis": "coloraxis2",
            "symbol": "square",
        },
        text=[
            f"{scheme}: {e} {n}: {h:g} h outside the voltage band"
            for e, n, h in zip(buses["element"], buses["name"], buses["hours"], strict=True)
        ],
        hoverinfo="text",
        name=f"{scheme} buses",
    )
    return thick, mids, volt, missing
