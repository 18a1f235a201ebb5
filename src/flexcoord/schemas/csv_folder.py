"""The CSV folder form of a market file: ``products.csv``, ``needs.csv``, ``bids.csv`` and
``market.toml``, read into the same data as the JSON form, and written back from a
:class:`~flexcoord.schemas.models.MarketFile`.

Needs and bids have one row per object × MTU: the object's columns repeated on each row, plus
``start``, ``end``, ``quantity`` for the MTU. Consecutive rows with the same ``id`` are one
object (a second run of the same id later is a second object, reported as a duplicate id, as in
JSON); its repeated columns must agree. A need's location is ``location_kind`` plus ``location``
(bus ids separated by ``;``, an area id or a coupling point id). Empty cells are unset.
``market.toml`` holds the file-wide options under the JSON top-level names.

Reading keeps where each object came from (file and lines), so every issue names the CSV file,
the line and the column.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel

from flexcoord.errors import NO_VALUE, InvalidInputError, Issue, format_value
from flexcoord.schemas.models import (
    CSV_FILES,
    OPTION_FIELDS,
    BidModel,
    MarketFile,
    NeedModel,
    ProductModel,
)
from flexcoord.schemas.pydantic_issues import field_path
from flexcoord.schemas.reading import (
    MAX_FILE_BYTES,
    CsvRow,
    file_issue,
    read_csv,
    read_toml,
)

__all__ = ["OPTIONS_FILE", "CsvFolder", "read_csv_folder", "write_csv_folder"]

#: The file of a CSV folder holding the file-wide options.
OPTIONS_FILE: Final = "market.toml"
_MTU_COLUMNS: Final = ("start", "end", "quantity")
_LOCATION_COLUMNS: Final = ("location_kind", "location")
_MODELS: Final[dict[str, type[BaseModel]]] = {
    "products": ProductModel,
    "needs": NeedModel,
    "bids": BidModel,
}


def _columns(section: str) -> tuple[str, ...]:
    """The columns a section's CSV file may have, in the order the writer puts them."""
    names = [n for n in _MODELS[section].model_fields if n not in ("quantities", "location")]
    if section == "needs":
        names[3:3] = _LOCATION_COLUMNS
    return tuple(names) + (_MTU_COLUMNS if section != "products" else ())


@dataclass(frozen=True, slots=True)
class _Origin:
    """Where one object of a section came from: its first line and the line of each MTU."""

    line: int
    mtu_lines: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CsvFolder:
    """A CSV folder read: the data for :class:`MarketFile`, the issues found on the way, and
    where each object came from (for :meth:`locate`)."""

    folder: Path
    data: dict[str, Any]
    issues: tuple[Issue, ...]
    origins: dict[str, list[_Origin]]

    def locate(
        self, section: str | None, index: int | None, rest: tuple[str | int, ...]
    ) -> tuple[str, int | None, str]:
        """The :data:`~flexcoord.schemas.pydantic_issues.Locator` of this folder."""
        if section is None or index is None:
            return str(self.folder / OPTIONS_FILE), None, field_path(rest)
        source = str(self.folder / CSV_FILES[section])
        origin = self.origins[section][index]
        if rest and rest[0] == "quantities" and len(rest) >= 2 and isinstance(rest[1], int):
            line = origin.mtu_lines[rest[1]] if rest[1] < len(origin.mtu_lines) else origin.line
            return source, line, field_path(rest[2:3]) or "start"
        if rest and rest[0] == "location":
            column = "location_kind" if rest[1:2] in ((), ("kind",)) else "location"
            return source, origin.line, column
        return source, origin.line, field_path(rest)


def read_csv_folder(folder: Path, *, max_bytes: int = MAX_FILE_BYTES) -> CsvFolder:
    """Read a CSV folder into market-file data (not yet validated).

    Raises:
        InvalidInputError: the folder holds no needs or bids (other issues are returned).
    """
    issues: list[Issue] = []
    data: dict[str, Any] = {}
    origins: dict[str, list[_Origin]] = {}
    for section, name in CSV_FILES.items():
        objects, where = _read_section(folder / name, section, issues, max_bytes)
        data[section], origins[section] = objects, where
    issues += _unknown_files(folder)
    options = folder / OPTIONS_FILE
    if options.exists():
        data |= _read_options(options, issues)
    if not (data["needs"] or data["bids"] or issues):
        issues.append(file_issue(folder, "holds no needs.csv or bids.csv rows"))
    return CsvFolder(folder=folder, data=data, issues=tuple(issues), origins=origins)


def _unknown_files(folder: Path) -> list[Issue]:
    try:
        names = sorted(p.name for p in folder.iterdir() if p.suffix.lower() == ".csv")
    except OSError as exc:
        return [file_issue(folder, f"cannot be listed: {exc.strerror or exc}")]
    known = ", ".join(CSV_FILES.values())
    return [
        file_issue(folder / n, f"is not a file of a market folder ({known}, {OPTIONS_FILE})")
        for n in names
        if n not in CSV_FILES.values()
    ]


def _read_options(path: Path, issues: list[Issue]) -> dict[str, Any]:
    try:
        table = read_toml(path)
    except InvalidInputError as err:
        issues += err.issues
        return {}
    known = ", ".join(OPTION_FIELDS)
    for key in table:
        if key not in OPTION_FIELDS:
            message = f"option {format_value(key)} is unknown (the options: {known})"
            issues.append(file_issue(path, message))
    return {k: v for k, v in table.items() if k in OPTION_FIELDS}


def _column_issue(  # noqa: PLR0913 - private: the file, row and column of one issue
    path: Path | None, line: int | None, kind: str, object_id: str, column: str, message: str
) -> Issue:
    return Issue(
        kind=kind,
        object_id=object_id,
        field=column,
        value=NO_VALUE,
        message=message,
        source=None if path is None else str(path),
        line=line,
    )


def _read_section(
    path: Path, section: str, issues: list[Issue], max_bytes: int
) -> tuple[list[dict[str, Any]], list[_Origin]]:
    if not path.exists():
        return [], []
    try:
        table = read_csv(path, max_bytes=max_bytes)
    except InvalidInputError as err:
        issues += err.issues
        return [], []
    allowed = _columns(section)
    unknown = [c for c in table.columns if c and c not in allowed]
    for column in unknown:
        message = f"column {format_value(column)} is unknown (see docs/market-file.md)"
        issues.append(file_issue(path, message, line=table.header_line))
    issues += table.issues
    rows = [
        CsvRow(line=r.line, cells={k: v for k, v in r.cells.items() if k not in unknown})
        for r in table.rows
    ]
    if section == "products":
        return [r.cells for r in rows], [_Origin(line=r.line) for r in rows]
    return _objects(path, section, rows, issues)


def _objects(
    path: Path, section: str, rows: list[CsvRow], issues: list[Issue]
) -> tuple[list[dict[str, Any]], list[_Origin]]:
    """Runs of rows with one id become one object with one MTU per row."""
    kind = {"needs": "Need", "bids": "Bid"}[section]
    objects: list[dict[str, Any]] = []
    origins: list[_Origin] = []
    first: dict[str, str] = {}
    for row in rows:
        own = {k: v for k, v in row.cells.items() if k not in _MTU_COLUMNS}
        mtu = {k: row.cells[k] for k in _MTU_COLUMNS if k in row.cells}
        if "id" not in own:
            issues.append(_column_issue(path, row.line, kind, "", "id", "is required"))
            continue
        if objects and own["id"] == first.get("id"):
            issues += _differences(path, row.line, kind, own, first, origins[-1].line)
        else:
            first = own
            objects.append(_object(path, row.line, kind, own, issues))
            origins.append(_Origin(line=row.line))
        objects[-1]["quantities"].append(mtu)
        origins[-1].mtu_lines.append(row.line)
    return objects, origins


def _differences(  # noqa: PLR0913 - private: the two tables and where they came from
    path: Path, line: int, kind: str, own: dict[str, str], first: dict[str, str], first_line: int
) -> Iterator[Issue]:
    for column in sorted(set(own) | set(first)):
        if own.get(column) != first.get(column):
            yield Issue(
                kind=kind,
                object_id=own["id"],
                field=column,
                value=own.get(column, ""),
                message=f"differs from line {first_line} ({format_value(first.get(column, ''))});"
                f" the rows of one {kind.lower()} repeat its columns",
                source=str(path),
                line=line,
            )


def _object(
    path: Path, line: int, kind: str, own: dict[str, str], issues: list[Issue]
) -> dict[str, Any]:
    obj: dict[str, Any] = {k: v for k, v in own.items() if k not in _LOCATION_COLUMNS}
    obj["quantities"] = []
    if kind == "Need" and "location_kind" in own:
        loc_kind, value = own["location_kind"], own.get("location")
        location: dict[str, Any] = {"kind": loc_kind}
        if loc_kind == "buses":
            location["bus_ids"] = _bus_ids(value or "", path, line, own["id"], issues)
        elif loc_kind == "area" and value is not None:
            location["area_id"] = value
        elif loc_kind == "coupling_point" and value is not None:
            location["coupling_point_id"] = value
        obj["location"] = location
    return obj


def _bus_ids(text: str, path: Path, line: int, need_id: str, issues: list[Issue]) -> list[int]:
    ids = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        try:
            ids.append(int(part))
        except ValueError:
            message = (
                f"must hold bus ids (whole numbers) separated by ';', not {format_value(part)}"
            )
            issues.append(
                Issue(
                    kind="Need",
                    object_id=need_id,
                    field="location",
                    value=text,
                    message=message,
                    source=str(path),
                    line=line,
                )
            )
    return ids


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def write_csv_folder(market: MarketFile, folder: str | Path) -> Path:
    """Write ``market`` as a CSV folder (the inverse of reading one): what
    :func:`~flexcoord.schemas.load_market_file` reads back from ``folder`` equals ``market``.

    Columns whose value is the default for every object are left out. Returns the folder.

    Raises:
        InvalidInputError: ``market`` holds what the CSV form cannot carry: a need or bid without
            MTUs, or a need location with fields of another kind of location.
    """
    folder = Path(folder)
    tables = {
        "products": [p.model_dump(exclude_defaults=True) for p in market.products],
        "needs": [row for n in market.needs for row in _rows(n, "Need")],
        "bids": [row for b in market.bids for row in _rows(b, "Bid")],
    }
    folder.mkdir(parents=True, exist_ok=True)
    for section, rows in tables.items():
        keep = {k for row in rows for k in row} | {"id"}
        columns = [c for c in _columns(section) if c in keep]
        with (folder / CSV_FILES[section]).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows([_cell(row.get(c)) for c in columns] for row in rows)
    options = market.model_dump(include=set(OPTION_FIELDS), exclude_defaults=True)
    lines = [f"{k} = {_toml_value(v)}" for k, v in options.items()]
    (folder / OPTIONS_FILE).write_text(
        "# File-wide options of the market (the top-level fields of the JSON form).\n"
        + "".join(line + "\n" for line in lines),
        encoding="utf-8",
    )
    return folder


def _rows(obj: NeedModel | BidModel, kind: str) -> list[dict[str, Any]]:
    own = obj.model_dump(exclude_defaults=True, exclude={"quantities", "location"})
    own["id"] = obj.id
    if isinstance(obj, NeedModel):
        own |= _location_cells(obj)
    if not obj.quantities:
        message = "must hold at least one MTU to be written as CSV"
        raise InvalidInputError([_column_issue(None, None, kind, obj.id, "quantities", message)])
    return [own | q.model_dump() for q in obj.quantities]


def _location_cells(need: NeedModel) -> dict[str, Any]:
    loc = need.location
    values = {
        "buses": ";".join(str(b) for b in loc.bus_ids) or None,
        "area": loc.area_id,
        "coupling_point": loc.coupling_point_id,
    }
    others = [k for k, v in values.items() if k != loc.kind and v]
    if others:
        raise InvalidInputError(
            [
                Issue(
                    kind="Need",
                    object_id=need.id,
                    field="location",
                    value=NO_VALUE,
                    message=f"of kind {loc.kind!r} also sets {others}: CSV cannot carry them",
                )
            ]
        )
    return {"location_kind": loc.kind, "location": values[loc.kind]}


def _toml_value(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)
