"""A study's outcome as one self-contained HTML page: KPI table and plotly figures, offline.

:func:`study_report_html` turns the tidy tables of a study (:class:`ReportTables`: ``kpis``,
``awards``, ``settlement``, ``violations``) and, optionally, the study's pandapower network into
one HTML page; :func:`write_study_report` writes it atomically. The page needs no network: plotly's
JavaScript is inlined once, no script, style sheet or font is fetched from anywhere, so it opens
from a mail attachment or an air-gapped machine.

The page holds, each under a stable DOM id:

- ``fc-table-kpis``: every KPI per scheme, the mean over the study days;
- ``fc-plot-cost``, ``fc-plot-violations``, ``fc-plot-market``, ``fc-plot-revenue``: the figures
  of :mod:`flexcoord.simulation.study_figures` (which states what each shows);
- ``fc-plot-grid``: the network with each scheme's congested assets, only when a network is
  given (coordinates from the network, or a generic layout when it has none:
  :func:`flexcoord.grid.layout.network_layout`).

Title, metadata and every name from the tables are HTML-escaped.
"""

from __future__ import annotations

import contextlib
import html
import math
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from flexcoord.errors import NO_VALUE, InvalidInputError, Issue
from flexcoord.grid.layout import network_layout
from flexcoord.simulation import study_figures

__all__ = [
    "PAGE_STYLE",
    "REPORT_COLUMNS",
    "ReportTables",
    "plot_section",
    "study_report_html",
    "write_page",
    "write_study_report",
]

#: The columns each report table must have (more are allowed and ignored).
REPORT_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "kpis": (
        "scheme",
        "day",
        "realised_cost_eur",
        "bid_cost_eur",
        "availability_cost_eur",
        "penalty_eur",
        "violation_mwh",
        "violation_bus_hours",
        "unserved_mwh",
        "conflicts",
        "curtailed_res_mwh",
        "fsp_revenue_eur",
        "delivery_ratio",
    ),
    "awards": (
        "scheme",
        "day",
        "mtu",
        "market",
        "bid_id",
        "fsp_id",
        "direction",
        "quantity_mw",
        "price_eur_per_mwh",
    ),
    "settlement": ("scheme", "day", "party", "kind", "amount_eur"),
    "violations": ("scheme", "day", "mtu", "element", "kind", "value"),
}
_TEXT_COLUMNS = frozenset({"scheme", "day", "mtu", "market", "bid_id", "fsp_id", "direction"})
_TEXT_COLUMNS |= {"party", "kind", "element"}
_VIOLATION_KINDS = ("branch-flow", "voltage")
_DIRECTIONS = ("up", "down")
_PLOTS = (
    ("fc-plot-cost", study_figures.cost_figure),
    ("fc-plot-violations", study_figures.violation_figure),
    ("fc-plot-market", study_figures.market_figure),
    ("fc-plot-revenue", study_figures.revenue_figure),
)
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportTables:
    """The tables a study report reads, checked at construction.

    Attributes:
        kpis: one row per (scheme, day), the columns of ``REPORT_COLUMNS["kpis"]``.
        awards: one row per award: ``mtu`` a timezone-aware timestamp (the MTU's start),
            ``direction`` ``"up"`` or ``"down"``, ``quantity_mw`` and ``price_eur_per_mwh``.
        settlement: one row per (scheme, day, party, kind); ``amount_eur > 0`` is money the
            party receives.
        violations: one row per realised violation and MTU: ``element`` a bus or branch of the
            network (``"bus:5"``, ``"line:12"``, ``"trafo:0"``), ``kind`` ``"branch-flow"``
            (``value`` MW over the limit) or ``"voltage"`` (``value`` pu outside the band).
        mtu_duration_h: the length of one MTU, turning MW over a limit into MWh (default 0.25).

    Raises:
        InvalidInputError: a missing column (naming table and column), a non-numeric value
            column, a timezone-naive ``mtu``, an unknown ``kind`` or ``direction``, no KPI row,
            or a non-positive ``mtu_duration_h``; every issue at once.

    Example:
        >>> good = _example_tables()
        >>> ReportTables.of({"kpis": good.kpis.drop(columns="penalty_eur"), "awards": good.awards,
        ...                  "settlement": good.settlement, "violations": good.violations})
        Traceback (most recent call last):
        ...
        flexcoord.errors.InvalidInputError: 1 invalid input issue:
          - ReportTables 'kpis': field 'penalty_eur' is missing
    """

    kpis: pd.DataFrame
    awards: pd.DataFrame
    settlement: pd.DataFrame
    violations: pd.DataFrame
    mtu_duration_h: float = 0.25

    def __post_init__(self) -> None:
        issues = [
            issue for name in REPORT_COLUMNS for issue in _table_issues(name, getattr(self, name))
        ]
        if not (isinstance(self.mtu_duration_h, int | float) and self.mtu_duration_h > 0):
            issues.append(
                _issue("ReportTables", "mtu_duration_h", self.mtu_duration_h, "must be > 0")
            )
        if issues:
            raise InvalidInputError(issues)

    @classmethod
    def of(cls, tables: ReportTables | Mapping[str, pd.DataFrame] | Any) -> ReportTables:
        """The report tables of a mapping of tables by name, or of an object with one attribute
        per table (extra tables are ignored; an absent one is an issue naming it)."""
        if isinstance(tables, ReportTables):
            return tables
        get: Callable[[str], object] = (
            tables.get if isinstance(tables, Mapping) else lambda n: getattr(tables, n, None)
        )
        found = {name: get(name) for name in REPORT_COLUMNS}
        absent = [
            _issue("ReportTables", name, NO_VALUE, "is missing (a pandas DataFrame)")
            for name, frame in found.items()
            if not isinstance(frame, pd.DataFrame)
        ]
        if absent:
            raise InvalidInputError(absent)
        extra = {f.name: get(f.name) for f in fields(cls) if f.name not in REPORT_COLUMNS}
        extra = {k: v for k, v in extra.items() if v is not None}
        return cls(**found, **extra)  # type: ignore[arg-type]


def _issue(kind: str, field: str, value: object, message: str, object_id: str = "") -> Issue:
    return Issue(kind=kind, object_id=object_id, field=field, value=value, message=message)


def _table_issues(name: str, frame: object) -> list[Issue]:
    """Every issue of one table: type, columns, value types and vocabularies."""
    if not isinstance(frame, pd.DataFrame):
        return [_issue("ReportTables", name, type(frame).__name__, "must be a pandas DataFrame")]
    missing = [c for c in REPORT_COLUMNS[name] if c not in frame.columns]
    issues = [_issue("ReportTables", c, NO_VALUE, "is missing", name) for c in missing]
    issues += [
        _issue("ReportTables", c, str(frame[c].dtype), "must be numeric", name)
        for c in REPORT_COLUMNS[name]
        if c in frame.columns
        and c not in _TEXT_COLUMNS
        and len(frame)  # an empty table's columns may be of any type
        and not pd.api.types.is_numeric_dtype(frame[c])
    ]
    if "mtu" in frame.columns and len(frame) and not _tz_aware(frame["mtu"]):
        issues.append(
            _issue("ReportTables", "mtu", str(frame["mtu"].dtype), "must be timezone-aware", name)
        )
    if name == "kpis" and frame.empty:
        issues.append(
            _issue("ReportTables", "rows", 0, "must hold at least one (scheme, day)", name)
        )
    issues += _vocabulary(name, frame, "kind" if name == "violations" else "", _VIOLATION_KINDS)
    issues += _vocabulary(name, frame, "direction" if name == "awards" else "", _DIRECTIONS)
    return issues


def _tz_aware(column: pd.Series) -> bool:
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return True
    return column.dtype == object and all(getattr(v, "tzinfo", None) is not None for v in column)


def _vocabulary(
    name: str, frame: pd.DataFrame, column: str, allowed: tuple[str, ...]
) -> list[Issue]:
    if not column or column not in frame.columns:
        return []
    unknown = sorted(set(frame[column].astype(str).str.lower()) - set(allowed))
    if not unknown:
        return []
    return [_issue("ReportTables", column, unknown, f"must be among {list(allowed)}", name)]


def study_report_html(
    tables: ReportTables | Mapping[str, pd.DataFrame] | Any,
    *,
    net: Any | None,
    title: str,
    meta: Mapping[str, str],
) -> str:
    """The study report as one self-contained HTML page (see the module docstring).

    Args:
        tables: :class:`ReportTables`, or a mapping / object holding the four tables by name.
        net: the study's pandapower network for the grid view, or ``None`` for no grid view.
        title: the page's heading.
        meta: lines shown under the title (seed, grid code, days, version, ...), in order.

    Raises:
        InvalidInputError: tables that break :class:`ReportTables`' rules.

    Example:
        >>> page = study_report_html(_example_tables(), net=None, title="Demo", meta={"seed": "1"})
        >>> page.startswith("<!DOCTYPE html>"), 'id="fc-plot-cost"' in page, "fc-plot-grid" in page
        (True, True, False)
    """
    report = ReportTables.of(tables)
    figures = [(div_id, build(report)) for div_id, build in _PLOTS]
    if net is not None:
        figures.append(("fc-plot-grid", study_figures.grid_figure(report, network_layout(net))))
    plots = [
        plot_section(figure, div_id, include_js=i == 0)
        for i, (div_id, figure) in enumerate(figures)
    ]
    note = "" if net is not None else "<p>No network was given: the grid view is left out.</p>"
    return _page(title, meta, _kpi_table(report.kpis), plots, note)


def plot_section(figure: go.Figure, div_id: str, *, include_js: bool) -> str:
    """``figure`` as an offline HTML section under ``div_id`` (plotly's JavaScript inlined
    when ``include_js``: once per page)."""
    div = figure.to_html(
        full_html=False, include_plotlyjs=include_js, div_id=div_id, config=_PLOT_CONFIG
    )
    return f'<section class="fc-figure">{div}</section>'


def _kpi_table(kpis: pd.DataFrame) -> str:
    """Every KPI per scheme, the mean over the study days (in the order of the schemes' rows)."""
    columns = [c for c in REPORT_COLUMNS["kpis"] if c not in ("scheme", "day")]
    frame = kpis.assign(scheme=kpis["scheme"].astype(str))
    means = frame.groupby("scheme", sort=False)[columns].mean()
    means.insert(0, "days", frame.groupby("scheme", sort=False)["day"].nunique())
    return means.reset_index().to_html(
        index=False,
        table_id="fc-table-kpis",
        classes="fc-table",
        float_format=lambda v: "" if math.isnan(v) else f"{v:,.2f}",
        border=0,
        escape=True,
    )


#: The report pages' style sheet (inlined: the page fetches nothing).
PAGE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
h1 { font-size: 1.5rem; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0 1rem; }
dt { font-weight: 600; }
.fc-table { border-collapse: collapse; font-size: 0.85rem; }
.fc-table th, .fc-table td { padding: 0.2rem 0.6rem; border-bottom: 1px solid #ddd; }
.fc-table td { text-align: right; }
.fc-figure { margin: 1.5rem 0; }
"""


def _page(title: str, meta: Mapping[str, str], table: str, plots: list[str], note: str) -> str:
    items = "".join(
        f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(str(v))}</dd>" for k, v in meta.items()
    )
    heading = html.escape(title)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{heading}</title>\n<style>{PAGE_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{heading}</h1>\n<dl>{items}</dl>\n"
        f"<h2>KPIs per scheme (mean over the study days)</h2>\n{table}\n{note}\n"
        + "\n".join(plots)
        + "\n</body>\n</html>\n"
    )


def write_study_report(
    path: Path | str,
    tables: ReportTables | Mapping[str, pd.DataFrame] | Any,
    *,
    net: Any | None,
    title: str,
    meta: Mapping[str, str],
) -> Path:
    """Write :func:`study_report_html` to ``path``, atomically: the page goes to a hidden
    temporary file in the same folder, then replaces ``path`` (``os.replace``). On any failure
    ``path`` is left as it was and no temporary file remains. Returns ``path``.
    """
    return write_page(path, study_report_html(tables, net=net, title=title, meta=meta))


def write_page(path: Path | str, page: str) -> Path:
    """Write an HTML ``page`` to ``path`` atomically (:func:`write_study_report`); returns it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    try:
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return target


def _example_tables() -> ReportTables:
    """A one-scheme, one-MTU study (for the examples)."""
    mtu = pd.Timestamp("2026-06-01T12:00", tz="UTC")
    kpis = {c: [0.0] for c in REPORT_COLUMNS["kpis"]} | {"scheme": ["joint"], "day": ["2026-06-01"]}
    base = {"scheme": ["joint"], "day": ["2026-06-01"]}
    return ReportTables(
        kpis=pd.DataFrame(kpis),
        awards=pd.DataFrame(
            base
            | {
                "mtu": [mtu],
                "market": ["local"],
                "bid_id": ["b1"],
                "fsp_id": ["f1"],
                "direction": ["up"],
                "quantity_mw": [1.0],
                "price_eur_per_mwh": [50.0],
            }
        ),
        settlement=pd.DataFrame(base | {"party": ["f1"], "kind": ["award"], "amount_eur": [12.5]}),
        violations=pd.DataFrame(
            base | {"mtu": [mtu], "element": ["line:0"], "kind": ["branch-flow"], "value": [0.4]}
        ),
    )
