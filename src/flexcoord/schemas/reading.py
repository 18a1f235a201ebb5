"""Bytes to data for input files that may be hostile: size, encoding, nesting and CSV dialects.

Every failure is an :class:`~flexcoord.errors.InvalidInputError` whose issues name the file (and
the line when known); nothing else escapes. The rules:

* a file larger than ``max_bytes`` (:data:`MAX_FILE_BYTES` by default) is refused from its size,
  before it is read (and a file that grows while read is cut off there and refused too);
* text is UTF-8, with or without a byte order mark; anything else (UTF-16, Latin-1, binary,
  NUL characters) is refused naming the first bad byte and its offset;
* JSON and TOML nesting deeper than :data:`MAX_NESTING_DEPTH` levels is refused (a market file
  needs five), so neither the parser nor the validation after it can recurse away;
* CSV: the delimiter (``,``, ``;`` or tab) is read off the header line; ``"`` quotes cells;
  any line ending works. Duplicate or unnamed columns holding cells, and rows with more cells
  than the header, are issues.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import stat
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from flexcoord.errors import NO_VALUE, InvalidInputError, Issue, format_value

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_NESTING_DEPTH",
    "MAX_TOML_BYTES",
    "CsvRow",
    "CsvTable",
    "file_issue",
    "parse_json",
    "read_csv",
    "read_json",
    "read_text",
    "read_toml",
]

#: Largest input file read (bytes); ``max_bytes=`` overrides it per call.
MAX_FILE_BYTES: Final = 64 * 1024 * 1024
#: Largest ``market.toml`` (bytes): it holds a handful of options.
MAX_TOML_BYTES: Final = 1024 * 1024
#: Deepest nesting of lists and objects accepted in a JSON or TOML file.
MAX_NESTING_DEPTH: Final = 64
_DELIMITERS: Final = (",", ";", "\t")


def file_issue(source: str | Path, message: str, *, line: int | None = None) -> Issue:
    """An issue about a file as a whole (or one of its lines).

    Example:
        >>> print(file_issue("m.json", "is empty"))
        m.json: is empty
    """
    return Issue(
        kind="",
        object_id="",
        field="",
        value=NO_VALUE,
        message=message,
        source=str(source),
        line=line,
    )


def _fail(source: str | Path, message: str, *, line: int | None = None) -> InvalidInputError:
    return InvalidInputError([file_issue(source, message, line=line)])


def _mib(n_bytes: int) -> str:
    return f"{n_bytes / 2**20:.1f} MiB" if n_bytes >= 2**20 else f"{n_bytes} bytes"


def read_text(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes`` bytes (a BOM is dropped).

    Raises:
        InvalidInputError: missing, not a regular file, unreadable, too large, or not UTF-8.
    """
    try:
        info = path.stat()
    except (OSError, ValueError) as exc:
        raise _fail(path, _os_message(exc)) from None
    if not stat.S_ISREG(info.st_mode):
        raise _fail(path, "is not a regular file")
    limit = f"the {_mib(max_bytes)} limit of an input file"
    if info.st_size > max_bytes:
        raise _fail(path, f"is {_mib(info.st_size)}: larger than {limit}")
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise _fail(path, _os_message(exc)) from None
    if len(data) > max_bytes:
        raise _fail(path, f"is larger than {limit}")
    return _decode(data, path)


def _os_message(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return "does not exist"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot be read: {exc.strerror}"
    return f"cannot be read: {exc}"


def _decode(data: bytes, source: Path) -> str:
    skip = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    hint = ""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        hint = " (a UTF-16 byte order mark: save the file as UTF-8)"
    try:
        text = data[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = skip + exc.start
        message = f"is not UTF-8 text: byte 0x{data[offset]:02x} at offset {offset}{hint}"
        raise _fail(source, message) from None
    nul = text.find("\x00")
    if nul >= 0:
        offset = skip + len(text[:nul].encode())
        raise _fail(source, f"is not UTF-8 text: byte 0x00 at offset {offset} (UTF-16?)")
    return text


def _too_deep(data: Any, limit: int) -> bool:
    """Whether lists / dicts nest deeper than ``limit`` (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def parse_json(text: str, source: str | Path) -> Any:
    """JSON text to data, refusing nesting deeper than :data:`MAX_NESTING_DEPTH`.

    Raises:
        InvalidInputError: empty, invalid JSON (with its line), too deep, or a number with
            thousands of digits.
    """
    if not text.strip():
        raise _fail(source, "is empty")
    try:
        data = json.loads(text)
    except RecursionError:
        raise _fail(source, f"has nesting deeper than {MAX_NESTING_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise _fail(
            source, f"is not valid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno
        ) from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        message = "holds a number with too many digits" if "digits" in str(exc) else str(exc)
        raise _fail(source, f"is not valid JSON: {message}") from None
    if isinstance(data, dict | list) and _too_deep(data, MAX_NESTING_DEPTH):
        raise _fail(source, f"has nesting deeper than {MAX_NESTING_DEPTH} levels")
    return data


def read_json(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> Any:
    """:func:`read_text` then :func:`parse_json`."""
    return parse_json(read_text(path, max_bytes=max_bytes), path)


def read_toml(path: Path, *, max_bytes: int = MAX_TOML_BYTES) -> dict[str, Any]:
    """The table of a TOML file (UTF-8, at most ``max_bytes``), nesting bounded as for JSON.

    Raises:
        InvalidInputError: unreadable, not UTF-8, invalid TOML (with its line), or too deep.
    """
    text = read_text(path, max_bytes=max_bytes)
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise _fail(path, f"has nesting deeper than {MAX_NESTING_DEPTH} levels") from None
    except tomllib.TOMLDecodeError as exc:
        raise _fail(path, f"is not valid TOML: {exc}") from None
    if _too_deep(data, MAX_NESTING_DEPTH):
        raise _fail(path, f"has nesting deeper than {MAX_NESTING_DEPTH} levels")
    return data


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One data row: its first line in the file and its non-empty cells by column."""

    line: int
    cells: dict[str, str]


@dataclass(frozen=True, slots=True)
class CsvTable:
    """A CSV file read: its header line and column names, rows and the issues found reading it."""

    header_line: int
    columns: tuple[str, ...]
    rows: tuple[CsvRow, ...]
    issues: tuple[Issue, ...]


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0].split("\r", 1)[0]
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _records(text: str, delimiter: str, source: Path) -> Iterator[tuple[int, list[str]]]:
    """``(first line, cells)`` per record; blank records skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            raise _fail(source, f"is not readable CSV: {exc}", line=line) from None
        if cells is None:
            return
        if any(c.strip() for c in cells):
            yield line, cells
        line = reader.line_num + 1


def read_csv(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> CsvTable:
    """The rows of a CSV file; empty cells are unset (absent from :attr:`CsvRow.cells`).

    Raises:
        InvalidInputError: the file cannot be read as text, or as CSV at all.
    """
    text = read_text(path, max_bytes=max_bytes)
    records = _records(text, _delimiter(text), path)
    first = next(records, None)
    if first is None:
        raise _fail(path, "has no header line")
    columns = tuple(name.strip() for name in first[1])
    issues = _header_issues(path, columns, first[0])
    rows = []
    for line, cells in records:
        if len(cells) > len(columns):
            extra = len(cells) - len(columns)
            message = f"has {extra} cell{'s' if extra > 1 else ''} more than the header"
            issues.append(file_issue(path, message, line=line))
        named = {name: cell for name, cell in zip(columns, cells, strict=False) if cell != ""}
        if "" in named:
            issues.append(file_issue(path, "has a cell in a column without a name", line=line))
            del named[""]
        rows.append(CsvRow(line=line, cells=named))
    return CsvTable(header_line=first[0], columns=columns, rows=tuple(rows), issues=tuple(issues))


def _header_issues(path: Path, columns: tuple[str, ...], line: int) -> list[Issue]:
    seen: set[str] = set()
    issues = []
    for name in columns:
        if name and name in seen:
            message = f"column {format_value(name)} appears twice in the header"
            issues.append(file_issue(path, message, line=line))
        seen.add(name)
    return issues
