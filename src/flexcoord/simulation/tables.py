"""Result documents as tidy tables (pandas), written as CSV and Parquet.

:func:`clearing_tables` turns a clearing result document
(:func:`flexcoord.clearing.report.result_document`) into tables, :func:`coordination_tables` a
coordination document (:func:`~flexcoord.simulation.report.comparison_document` or
:func:`~flexcoord.simulation.report.chain_comparison_document`); :func:`write_tables` writes them
as ``<name>.csv`` / ``<name>.parquet``. One row per observation, one column per variable, units
in the column names (``docs/results.md`` lists every table and column). Lists in a document
(``buyer_ids``, a conflict's ``tso_bid_ids``) become ``;``-joined strings; MTUs stay ISO 8601
strings of their start (UTC).

Writing is atomic per run: every table is first written to a hidden temporary file in the target
folder, and only when all are written are they moved into place (``os.replace``). A failure
leaves the folder as it was: no half-written file, no temporary left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from flexcoord.clearing.costs import VIOLATION_KINDS
from flexcoord.errors import InvalidInputError, Issue

__all__ = [
    "AWARD_COLUMNS",
    "CLEARING_AWARD_COLUMNS",
    "CLEARING_NEED_COLUMNS",
    "CONFLICT_COLUMNS",
    "COST_COLUMNS",
    "COVERAGE_COLUMNS",
    "DISPATCH_COLUMNS",
    "FORMATS",
    "check_results_folder",
    "clearing_tables",
    "coordination_tables",
    "write_tables",
]

FORMATS = ("csv", "parquet")

COST_COLUMNS = (
    "total_cost_eur",
    "bid_cost_eur",
    "shortfall_penalty_eur",
    "violation_penalty_eur",
    *(f"violation_penalty_{kind}_eur" for kind in VIOLATION_KINDS),
    "penalty_share",
    "objective_eur",
    "procurement_cost_eur",
    "penalty_cost_eur",
)
CLEARING_AWARD_COLUMNS = ("bid_id", "mtu", "quantity_mw", "price_eur_per_mwh", "payment_eur")
CLEARING_NEED_COLUMNS = (
    "need_id",
    "mtu",
    "required_mw",
    "covered_mw",
    "shortfall_mw",
    "cleared_price_eur_per_mwh",
    "shortfall_reason",
)
_REJECTION_COLUMNS = ("bid_id", "reason", "detail")
_BINDING_COLUMNS = ("kind", "element", "side", "mtu", "dual_eur_per_unit", "violation", "text")
AWARD_COLUMNS = (
    "scheme",
    "timeframe",
    "market_id",
    "buyer_ids",
    "bid_id",
    "root_bid_id",
    "resource_id",
    "fsp_id",
    "mtu",
    "direction",
    "quantity_mw",
    "price_eur_per_mwh",
    "payment_eur",
)
DISPATCH_COLUMNS = (
    "scheme",
    "root_bid_id",
    "resource_id",
    "fsp_id",
    "mtu",
    "direction",
    "dispatched_mw",
)
COVERAGE_COLUMNS = ("scheme", "timeframe", "market_id", *CLEARING_NEED_COLUMNS)
CONFLICT_COLUMNS = (
    "scheme",
    "kind",
    "area_id",
    "mtu",
    "tso_bid_ids",
    "action",
    "tso_mw_before",
    "tso_mw_after",
    "reason",
)


def _cell(value: Any) -> Any:
    return ";".join(str(v) for v in value) if isinstance(value, list | tuple) else value


def _frame(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """``rows`` as a frame with exactly ``columns`` (missing fields are ``None``)."""
    records = [{c: _cell(r.get(c)) for c in columns} for r in rows]
    return pd.DataFrame.from_records(records, columns=list(columns))


def _flat_costs(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A document's cost fields as one flat row (per-kind penalties as their own columns)."""
    by_kind = doc["violation_penalty_by_kind_eur"]
    flat = {k: v for k, v in doc.items() if not isinstance(v, Mapping | list)}
    return flat | {f"violation_penalty_{k}_eur": by_kind[k] for k in VIOLATION_KINDS}


def clearing_tables(document: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """A clearing result document as tables: ``awards``, ``needs``, ``rejections``, ``binding``
    and ``costs`` (one row, :data:`COST_COLUMNS`).

    Example:
        >>> doc = {"awards": [], "needs": [], "rejections": [], "binding": [],
        ...        "total_cost_eur": 3.0, "bid_cost_eur": 1.0, "shortfall_penalty_eur": 2.0,
        ...        "violation_penalty_eur": 0.0, "penalty_share": 0.666667,
        ...        "violation_penalty_by_kind_eur": dict.fromkeys(VIOLATION_KINDS, 0.0)}
        >>> tables = clearing_tables(doc)
        >>> sorted(tables), float(tables["costs"].loc[0, "shortfall_penalty_eur"])
        (['awards', 'binding', 'costs', 'needs', 'rejections'], 2.0)
    """
    return {
        "awards": _frame(document["awards"], CLEARING_AWARD_COLUMNS),
        "needs": _frame(document["needs"], CLEARING_NEED_COLUMNS),
        "rejections": _frame(document["rejections"], _REJECTION_COLUMNS),
        "binding": _frame(document["binding"], _BINDING_COLUMNS),
        "costs": _frame([_flat_costs(document)], COST_COLUMNS),
    }


def _scheme_rows(schemes: Sequence[Mapping[str, Any]], key: str) -> Iterable[Mapping[str, Any]]:
    """The ``key`` rows of every scheme document (and of every round of a chain document),
    each with its ``scheme``."""
    for doc in schemes:
        for part in [doc, *doc.get("rounds", ())]:
            value = part.get(key)
            if isinstance(value, list):  # a chain round's "conflicts" is a count
                yield from ({"scheme": doc["scheme"], **row} for row in value)


def coordination_tables(document: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """A coordination document as tables: ``kpis`` (the ``comparison`` rows, one per scheme, in
    their columns), ``awards``, ``dispatch``, ``coverage`` and ``conflicts`` (every scheme's
    rows with a ``scheme`` column; a chain's rounds add their ``timeframe``; a chain document
    has no conflicts table rows, only counts per round)."""
    rows = document["comparison"]
    columns = list(dict.fromkeys(c for r in rows for c in r))
    schemes = document["schemes"]
    return {
        "kpis": _frame(rows, columns),
        "awards": _frame(_scheme_rows(schemes, "awards"), AWARD_COLUMNS),
        "dispatch": _frame(_scheme_rows(schemes, "dispatch"), DISPATCH_COLUMNS),
        "coverage": _frame(_scheme_rows(schemes, "coverage"), COVERAGE_COLUMNS),
        "conflicts": _frame(_scheme_rows(schemes, "conflicts"), CONFLICT_COLUMNS),
    }


def _issue(field_name: str, value: object, message: str) -> InvalidInputError:
    return InvalidInputError(
        [
            Issue(
                kind="Tables",
                object_id="write_tables",
                field=field_name,
                value=value,
                message=message,
            )
        ]
    )


def _write(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False, engine="pyarrow")


def write_tables(
    tables: Mapping[str, pd.DataFrame],
    folder: Path,
    formats: Sequence[str] = FORMATS,
) -> tuple[Path, ...]:
    """Write every table as ``folder/<name>.<format>`` (``csv``: comma-separated with a header,
    no index; ``parquet``: pyarrow), all or nothing (see the module docstring).

    Returns:
        The paths written, in the order of ``tables`` then ``formats``.

    Raises:
        InvalidInputError: an unknown format, or a table name that is not a plain file name.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     paths = write_tables({"kpis": pd.DataFrame({"scheme": ["a"]})}, Path(folder))
        >>> [p.name for p in paths]
        ['kpis.csv', 'kpis.parquet']
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise _issue("formats", unknown, f"must be among {list(FORMATS)}")
    bad = [n for n in tables if not n or Path(n).name != n or n.startswith(".")]
    if bad:
        raise _issue("tables", bad, "names must be plain file names (no folder, no dot first)")
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for name, frame in tables.items():
            for fmt in formats:
                # a fresh hidden name in the same folder (same file system: os.replace is
                # atomic); created by the writer, so the file gets the usual permissions
                tmp = folder / f".{name}.{uuid.uuid4().hex}.{fmt}.tmp"
                staged.append((tmp, folder / f"{name}.{fmt}"))
                _write(frame, tmp, fmt)
    except BaseException:
        for tmp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise
    for tmp, final in staged:
        os.replace(tmp, final)
    return tuple(final for _, final in staged)


def check_results_folder(  # noqa: PLR0913 - the folder, then its manifest's facts by keyword
    folder: Path, *, manifest: str, sha_key: str, sha: str, what: str, source: str = ""
) -> None:
    """Refuse a results folder whose ``manifest`` (a JSON file in it) holds another run's
    ``sha_key``: a resumed run must be the same study or sweep (``what`` names it).

    Raises:
        InvalidInputError: naming ``outputs.folder``.
    """
    path = folder / manifest
    if not path.exists():
        return
    try:
        held = json.loads(path.read_text(encoding="utf-8")).get(sha_key)
    except (OSError, ValueError, AttributeError):
        held = None
    if held != sha:
        raise InvalidInputError(
            [
                Issue(
                    kind="",
                    object_id="",
                    field="outputs.folder",
                    value=str(folder),
                    message=f"holds the results of another {what} (or of this one with other "
                    "keys); choose another folder or delete it",
                    source=source,
                )
            ]
        )
