"""The exceptions flexcoord raises.

One root, :class:`FlexcoordError`; each subclass also inherits the builtin that fits it, so callers
can catch ``ValueError`` or ``LookupError`` without knowing flexcoord. Messages name the object id,
the field and the offending value.

Expected market outcomes (a need not covered, a bid rejected by the grid) are never exceptions: they
are values on the result, with a reason.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Final

__all__ = [
    "MAX_PRINTED_ISSUES",
    "MAX_VALUE_CHARS",
    "NO_VALUE",
    "FlexcoordError",
    "GridError",
    "InvalidInputError",
    "Issue",
    "NotFoundError",
    "SolverError",
    "format_duration",
    "format_value",
]

#: Longest value an issue prints (ids and fields: 48, paths: 160); longer ones end in an ellipsis.
MAX_VALUE_CHARS: Final = 80
#: Issues an :class:`InvalidInputError` message lists; the rest are counted (all are in ``issues``).
MAX_PRINTED_ISSUES: Final = 100
_MAX_NAME_CHARS: Final = 48
_MAX_PATH_CHARS: Final = 160
_MAX_MESSAGE_CHARS: Final = 1000  # a safety net: messages are ours, some list valid choices
_MAX_DEPTH: Final = 4


class _NoValue(enum.Enum):
    NO_VALUE = "NO_VALUE"

    def __repr__(self) -> str:
        return "NO_VALUE"


#: The ``value`` of an issue about something absent (a missing field): nothing to echo.
NO_VALUE: Final = _NoValue.NO_VALUE


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _printable(text: str) -> str:
    """Control characters, lone surrogates and the like escaped: one safe line of text."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii")
        for c in text
    )


def format_duration(value: timedelta) -> str:
    """A duration in the user's words: whole minutes as ``"15 min"``, else seconds.

    Example:
        >>> format_duration(timedelta(hours=1)), format_duration(timedelta(seconds=90.5))
        ('60 min', '90.5 s')
    """
    seconds = value.total_seconds()
    if seconds % 60 == 0:
        return f"{int(seconds // 60)} min"
    return f"{seconds:g} s"


def format_value(value: object, limit: int = MAX_VALUE_CHARS) -> str:
    """How an issue echoes a value: bounded (``limit`` characters, then ``…``), one line,
    times in ISO 8601, durations in minutes, containers item by item.

    Example:
        >>> from datetime import UTC
        >>> format_value(datetime(2026, 6, 1, 12, tzinfo=UTC))
        '2026-06-01T12:00:00+00:00'
        >>> format_value("x" * 50_000_000)[-5:], len(format_value("x" * 50_000_000))
        ('xxxx…', 80)
    """
    return _printable(_cut(_render(value, limit + 1, 0), limit))


def _render(value: object, budget: int, depth: int) -> str:
    """``value`` as text, stopping once about ``budget`` characters are produced."""
    if isinstance(value, str):
        return repr(value[:budget])
    if isinstance(value, bytes | bytearray):
        return repr(bytes(value[:budget]))
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return repr(value) if value.bit_length() < 200 else f"<{value.bit_length()}-bit integer>"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, enum.Enum):
        return _render(value.value, budget, depth)
    if getattr(value, "shape", None) == () and hasattr(value, "item"):  # a numpy scalar
        return _render(value.item(), budget, depth)
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return _render_items(value, budget, depth)
    try:
        text = str(value) if type(value).__str__ is not object.__str__ else repr(value)
    except Exception:  # a value whose own repr fails must not hide the issue
        return f"<{type(value).__name__}>"
    return text[:budget]


def _render_items(value: object, budget: int, depth: int) -> str:
    if isinstance(value, Mapping):
        opening, closing = "{", "}"
        items: Iterable[str] = (
            f"{_render(k, budget, depth + 1)}: {_render(v, budget, depth + 1)}"
            for k, v in value.items()
        )
    else:
        assert isinstance(value, list | tuple | set | frozenset)
        opening, closing = ("[", "]") if isinstance(value, list) else ("(", ")")
        if isinstance(value, set | frozenset):
            opening, closing = "{", "}"
        items = (_render(v, budget, depth + 1) for v in value)
    if depth >= _MAX_DEPTH:
        return opening + "…" + closing
    parts: list[str] = []
    used = 0
    for text in items:
        parts.append(text)
        used += len(text) + 2
        if used > budget:
            break
    return opening + ", ".join(parts) + closing


@dataclass(frozen=True, slots=True, kw_only=True)
class Issue:
    """One problem found in the input: where, which object, which field, which value, and why.

    ``kind`` and ``object_id`` name the object in the user's words (``Bid 'b1'``); an issue about
    the input as a whole (a file-wide field, an unreadable file) leaves ``kind`` empty. ``value``
    is :data:`NO_VALUE` when there is nothing to echo (a missing field). ``source`` is where the
    input came from (a file path) and ``line`` the line in it, when known. Printing cuts every
    part to a few dozen characters, so a hostile value never floods a terminal.

    Example:
        >>> print(Issue(kind="Bid", object_id="b1", field="quantity", value=-1.0,
        ...             message="must be >= 0", source="examples/market/market.json"))
        examples/market/market.json: Bid 'b1': quantity=-1.0 must be >= 0
        >>> print(Issue(kind="Bid", object_id="b1", field="quantities", value=NO_VALUE,
        ...             message="is required", source="bids.csv", line=3))
        bids.csv:3: Bid 'b1': field 'quantities' is required
    """

    kind: str
    object_id: str
    field: str
    value: object
    message: str
    source: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = ""
        if self.source is not None:
            where = _printable(_cut_path(self.source))
            where += f":{self.line}: " if self.line is not None else ": "
        what = ""
        if self.kind:
            what = _printable(_cut(self.kind, _MAX_NAME_CHARS))
            if self.object_id:
                what += " " + _printable(repr(_cut(self.object_id, _MAX_NAME_CHARS)))
            what += ": "
        field = _printable(_cut(self.field, _MAX_NAME_CHARS))
        message = _printable(_cut(self.message, _MAX_MESSAGE_CHARS))
        if not field:
            return f"{where}{what}{message}"
        if self.value is NO_VALUE:
            return f"{where}{what}field {field!r} {message}"
        return f"{where}{what}{field}={format_value(self.value)} {message}"

    def __repr__(self) -> str:
        return (
            f"Issue(kind={self.kind!r}, object_id={_cut(self.object_id, _MAX_NAME_CHARS)!r}, "
            f"field={_cut(self.field, _MAX_NAME_CHARS)!r}, value={format_value(self.value)}, "
            f"message={_cut(self.message, _MAX_MESSAGE_CHARS)!r}, source={self.source!r}, "
            f"line={self.line!r})"
        )

    def at(self, source: str, line: int | None = None) -> Issue:
        """This issue with ``source`` (and ``line``) filled in, unless it already names one."""
        if self.source is not None:
            return self
        return replace(self, source=source, line=line if line is not None else self.line)


def _cut_path(path: str) -> str:
    """A long path keeps its end (the file name) and loses its start."""
    return path if len(path) <= _MAX_PATH_CHARS else "…" + path[-(_MAX_PATH_CHARS - 1) :]


class FlexcoordError(Exception):
    """Root of every exception flexcoord raises on purpose."""


class InvalidInputError(FlexcoordError, ValueError):
    """Input that breaks a contract. Carries every issue found, not only the first.

    Example:
        >>> err = InvalidInputError([Issue(kind="Unit", object_id="u1", field="p_max_mw",
        ...                                value=float("nan"), message="must be a finite number")])
        >>> print(err)
        1 invalid input issue:
          - Unit 'u1': p_max_mw=nan must be a finite number
    """

    def __init__(self, issues: Sequence[Issue] | Iterable[Issue]) -> None:
        self.issues: tuple[Issue, ...] = tuple(issues)
        if not self.issues:
            raise ValueError("InvalidInputError needs at least one issue")
        n = len(self.issues)
        lines = [f"{n} invalid input issue{'s' if n != 1 else ''}:"]
        lines += [f"  - {issue}" for issue in self.issues[:MAX_PRINTED_ISSUES]]
        if n > MAX_PRINTED_ISSUES:
            lines.append(f"  ... and {n - MAX_PRINTED_ISSUES} more (all of them in .issues)")
        super().__init__("\n".join(lines))

    def with_source(self, source: str) -> InvalidInputError:
        """The same issues, each naming ``source`` unless it already names one.

        Example:
            >>> err = InvalidInputError([Issue(kind="Bid", object_id="b1", field="quantity",
            ...                                value=-1.0, message="must be >= 0")])
            >>> print(err.with_source("market.json").issues[0])
            market.json: Bid 'b1': quantity=-1.0 must be >= 0
        """
        return InvalidInputError(issue.at(source) for issue in self.issues)


class NotFoundError(FlexcoordError, LookupError):
    """A referenced object (grid code, bus, unit, product, ...) does not exist."""


class GridError(FlexcoordError, ValueError):
    """A grid that cannot be used as asked: islanded buses, a power flow that does not converge."""


class SolverError(FlexcoordError, RuntimeError):
    """The optimisation solver failed for a reason that is not a market outcome."""
