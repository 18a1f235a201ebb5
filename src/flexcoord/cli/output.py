"""What commands print: tables that fit the terminal, CSV and JSON on stdout.

A printed table is a list of row mappings and a list of :class:`Column` values. At
``--format table`` the columns are shown left to right while they fit the console's width (80
when piped, unless ``COLUMNS`` says otherwise); the ones left out are named under the table, with
the hint to use ``--format csv`` or ``json``, which always carry every column with raw values.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.box import SIMPLE_HEAD
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["Column", "csv_text", "json_text", "print_table"]


def json_text(data: Any) -> str:
    """``data`` as indented JSON text, ending in a newline (NaN and infinities as ``null``)."""
    return json.dumps(_finite(data), indent=2, default=str, allow_nan=False) + "\n"


def _finite(data: Any) -> Any:
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, Mapping):
        return {str(k): _finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(v) for v in data]
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(value, default=str)
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return "" if value is None else value


def csv_text(rows: Sequence[Mapping[str, Any]], keys: Sequence[str] | None = None) -> str:
    """Rows as CSV text with a header: every key of the first row (or ``keys``), raw values."""
    keys = list(keys if keys is not None else (rows[0].keys() if rows else ()))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(keys)
    for row in rows:
        writer.writerow([_plain(row.get(k)) for k in keys])
    return out.getvalue()


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3f}"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


@dataclass(frozen=True, slots=True)
class Column:
    """One printed column: the row key, its header (``\\n`` for two lines) and how a value reads.

    ``keep`` columns are shown whatever the width (the row's name); the others are dropped from
    the right when the table would not fit. A ``wrap`` column (free text: a reason, a value) is
    always shown too, last, folded into whatever width is left (at least 16 characters).
    """

    key: str
    header: str
    text: Callable[[Any], str] = _text
    right: bool = False
    keep: bool = False
    wrap: bool = False

    def cell(self, row: Mapping[str, Any]) -> str:
        """The cell of ``row`` in this column."""
        return self.text(row.get(self.key))


def print_table(
    console: Console,
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    title: str | None = None,
    caption: str | None = None,
    styles: Sequence[str | None] | None = None,
) -> list[Column]:
    """Print ``rows`` as a table of the columns that fit ``console.width``; the columns shown."""
    cells = [[c.cell(r) for c in columns] for r in rows]
    widths = [
        max([*(len(line) for line in c.header.split("\n")), *(len(r[k]) for r in cells)])
        for k, c in enumerate(columns)
    ]
    wrapped = [k for k, c in enumerate(columns) if c.wrap]
    # each column costs its width, two padding spaces and one divider (SIMPLE_HEAD, no outer
    # padding): the table is Σ (width + 3) - 1 characters wide
    budget = console.width + 1 - sum(min(widths[k], 16) + 3 for k in wrapped)
    shown: list[int] = []
    used = 0
    for k, c in enumerate(columns):
        need = widths[k] + 3
        if c.wrap or c.keep or used + need <= budget:
            shown.append(k)
            used += 0 if c.wrap else need
    left = console.width + 1 - used - 3 * len(wrapped)
    share = max(16, left // max(len(wrapped), 1))
    table = Table(title=title, caption=caption, box=SIMPLE_HEAD, pad_edge=False)
    for k in shown:
        c = columns[k]
        table.add_column(
            c.header,
            justify="right" if c.right else "left",
            no_wrap=not c.wrap,
            overflow="fold" if c.wrap else "ellipsis",
            width=min(widths[k], share) if c.wrap else None,
            min_width=None if c.wrap else widths[k],
        )
    for i, r in enumerate(cells):
        style = styles[i] if styles is not None else None
        # cells as Text: an id is printed as written, never read as markup or an emoji code
        # (``i4rd:up:4:0`` would show an emoji for ``:up:``, a ``[/x]`` would be a markup error)
        table.add_row(*(Text(r[k]) for k in shown), style=style)
    console.print(table)
    hidden = [columns[k].header.replace("\n", " ") for k in range(len(columns)) if k not in shown]
    if hidden:
        console.print(
            f"{len(hidden)} more column(s) at this width ({', '.join(hidden)}): widen the "
            "terminal, or use --format csv or --format json for every column",
            highlight=False,
        )
    return [columns[k] for k in shown]
