"""Collecting validation: find every problem, report them all at once, build nothing half-way.

Each domain object checks its own invariants in ``__post_init__`` through an
:class:`IssueCollector`, which records one :class:`~flexcoord.errors.Issue` per broken rule (naming
the kind, the object id, the field and the value) and raises a single
:class:`~flexcoord.errors.InvalidInputError` at the end. :class:`IssueLog` and :func:`build_all` do
the same across many objects, so a file of 1,000 bids with 7 errors reports 7 issues in one raise.

The collector also coerces a few raw values (an enum given by its string value, a list of bus
indices given for a ``frozenset``), so rows read from JSON can be passed to the constructors as
they are. Anything else about raw input (ISO strings, durations) belongs to the pydantic schemas
at the edge.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from flexcoord.errors import NO_VALUE, InvalidInputError, Issue, format_value

__all__ = ["IssueCollector", "IssueLog", "build_all", "registered_choices"]

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class IssueCollector:
    """Records the issues of one object and raises them together.

    Args:
        kind: The class name reported in each issue (``"Bid"``).
        object_id: The id of the object being checked.

    Example:
        >>> from flexcoord.errors import InvalidInputError
        >>> c = IssueCollector("Bid", "b1")
        >>> c.non_negative("price_eur_per_mwh", -3.0)
        False
        >>> c.check(False, "divisible", "yes", "must be a bool")
        False
        >>> try:
        ...     c.raise_if_any()
        ... except InvalidInputError as err:
        ...     print(len(err.issues), err.issues[0].field)
        2 price_eur_per_mwh
    """

    __slots__ = ("issues", "kind", "object_id")

    def __init__(self, kind: str, object_id: object) -> None:
        self.kind = kind
        self.object_id = object_id if isinstance(object_id, str) and object_id else repr(object_id)
        self.issues: list[Issue] = []

    def add(self, field: str, value: object, message: str) -> None:
        """Record one issue unconditionally."""
        self.issues.append(
            Issue(
                kind=self.kind,
                object_id=self.object_id,
                field=field,
                value=value,
                message=message,
            )
        )

    def check(self, condition: bool, field: str, value: object, message: str) -> bool:
        """Record an issue unless ``condition`` holds; return ``condition``."""
        if not condition:
            self.add(field, value, message)
        return condition

    def identifier(self, field: str, value: object) -> bool:
        """A non-empty string id."""
        return self.check(
            isinstance(value, str) and value.strip() != "", field, value, "must be a non-empty id"
        )

    def optional_identifier(self, field: str, value: object) -> bool:
        """``None`` or a non-empty string id."""
        return value is None or self.identifier(field, value)

    def finite(self, field: str, value: object) -> bool:
        """A finite real number (not a bool, NaN or infinity)."""
        ok = _is_number(value) and math.isfinite(value)  # type: ignore[arg-type]
        return self.check(ok, field, value, "must be a finite number")

    def non_negative(self, field: str, value: object) -> bool:
        """A finite number >= 0."""
        if not self.finite(field, value):
            return False
        return self.check(value >= 0, field, value, "must be >= 0")  # type: ignore[operator]

    def positive(self, field: str, value: object) -> bool:
        """A finite number > 0."""
        if not self.finite(field, value):
            return False
        return self.check(value > 0, field, value, "must be > 0")  # type: ignore[operator]

    def in_range(self, field: str, value: object, low: float, high: float) -> bool:
        """A finite number in the closed range ``[low, high]``."""
        if not self.finite(field, value):
            return False
        ok = low <= value <= high  # type: ignore[operator]
        return self.check(ok, field, value, f"must be in [{low}, {high}]")

    def boolean(self, field: str, value: object) -> bool:
        """A real ``bool`` (not 0/1, not ``"yes"``)."""
        return self.check(isinstance(value, bool), field, value, "must be a bool")

    def duration(self, field: str, value: object, *, positive: bool = False) -> bool:
        """A ``timedelta`` >= 0 (> 0 when ``positive``)."""
        if not self.check(isinstance(value, timedelta), field, value, "must be a timedelta"):
            return False
        assert isinstance(value, timedelta)
        if positive:
            return self.check(value > timedelta(0), field, value, "must be > 0")
        return self.check(value >= timedelta(0), field, value, "must be >= 0")

    def utc(self, field: str, value: object) -> datetime | None:
        """A timezone-aware datetime, returned converted to UTC; naive ones are rejected."""
        if not isinstance(value, datetime):
            self.add(field, value, "must be a datetime")
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            self.add(field, value, "must be timezone-aware (naive datetimes are ambiguous)")
            return None
        return value.astimezone(UTC)

    def enum(self, field: str, value: object, enum_cls: type[E]) -> E | None:
        """A member of ``enum_cls``, also accepted as its string value; ``None`` if neither."""
        if isinstance(value, enum_cls):
            return value
        if isinstance(value, str):
            try:
                return enum_cls(value)
            except ValueError:
                pass
        allowed = ", ".join(member.value for member in enum_cls)
        self.add(field, value, f"must be one of {enum_cls.__name__} ({allowed})")
        return None

    def bus_set(self, field: str, value: object) -> frozenset[int]:
        """A collection of bus indices (ints >= 0), returned as a ``frozenset``."""
        items = self.collection(field, value)
        ok = all(isinstance(b, int) and not isinstance(b, bool) and b >= 0 for b in items)
        self.check(ok, field, value, "must hold bus indices (int >= 0)")
        return frozenset(items) if ok else frozenset()

    def id_set(self, field: str, value: object) -> frozenset[str]:
        """A collection of non-empty string ids, returned as a ``frozenset``."""
        items = self.collection(field, value)
        ok = all(isinstance(i, str) and i.strip() for i in items)
        self.check(ok, field, value, "must hold non-empty string ids")
        return frozenset(items) if ok else frozenset()

    def id_tuple(self, field: str, value: object) -> tuple[str, ...]:
        """An ordered collection of non-empty string ids, returned as a ``tuple``."""
        items = self.collection(field, value)
        ok = all(isinstance(i, str) and i.strip() for i in items)
        self.check(ok, field, value, "must hold non-empty string ids")
        return tuple(items) if ok else ()

    def collection(self, field: str, value: object) -> list[Any]:
        """The items of a collection (not a string or mapping), as a list; ``[]`` if not one."""
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
            self.add(field, value, "must be a collection")
            return []
        return list(value)

    def absorb(self, field: str, build: Callable[[], T]) -> T | None:
        """Build a nested value; re-file its issues under this object as ``field.<their field>``.

        Returns the built value, or ``None`` if it was invalid.
        """
        try:
            return build()
        except InvalidInputError as err:
            for issue in err.issues:
                self.add(f"{field}.{issue.field}", issue.value, issue.message)
            return None

    def raise_if_any(self) -> None:
        """Raise one :class:`InvalidInputError` carrying every recorded issue, if there is any."""
        if self.issues:
            raise InvalidInputError(self.issues)


def registered_choices(ids: Iterable[str], limit: int = 12) -> str:
    """The registered ids a reference may name, for a message (the first ``limit`` of them).

    Example:
        >>> registered_choices(["b", "a"]), registered_choices([])
        ("registered: 'a', 'b'", 'none registered')
    """
    known = sorted(ids)
    if not known:
        return "none registered"
    shown = ", ".join(format_value(i) for i in known[:limit])
    return f"registered: {shown}" + (f", ... ({len(known)} in all)" if len(known) > limit else "")


def set_field(obj: object, name: str, value: object) -> None:
    """Replace a field of a frozen dataclass during its own ``__post_init__`` (normalisation)."""
    object.__setattr__(obj, name, value)


class IssueLog:
    """Collects the issues of many objects or checks, then raises them together.

    Example:
        >>> from flexcoord.domain import Interval
        >>> from datetime import datetime, UTC
        >>> log = IssueLog()
        >>> t = datetime(2026, 6, 1, tzinfo=UTC)
        >>> log.attempt(lambda: Interval(start=t, end=t)) is None
        True
        >>> len(log.issues)
        1
    """

    __slots__ = ("issues",)

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def attempt(self, build: Callable[[], T]) -> T | None:
        """Call ``build``; on :class:`InvalidInputError` record its issues and return ``None``."""
        try:
            return build()
        except InvalidInputError as err:
            self.issues.extend(err.issues)
            return None

    def extend(self, issues: Iterable[Issue]) -> None:
        """Record issues found elsewhere."""
        self.issues.extend(issues)

    def raise_if_any(self) -> None:
        """Raise one :class:`InvalidInputError` with every recorded issue, if there is any."""
        if self.issues:
            raise InvalidInputError(self.issues)


def build_all(cls: type[T], rows: Iterable[Mapping[str, Any]]) -> tuple[T, ...]:
    """Build one object per row of keyword arguments, or raise once with the issues of every row.

    Unknown and missing keys are reported as issues too. Nothing is returned unless every row is
    valid, so a caller never holds a half-built set.

    Args:
        cls: A domain dataclass, e.g. :class:`~flexcoord.domain.Unit`.
        rows: Mappings of constructor keyword arguments.

    Returns:
        The objects, in row order.

    Raises:
        InvalidInputError: With the issues of all invalid rows.

    Example:
        >>> from flexcoord.domain import FlexibilityServiceProvider
        >>> fsps = build_all(FlexibilityServiceProvider, [{"id": "f1", "name": "Aggregator 1"}])
        >>> fsps[0].name
        'Aggregator 1'
    """
    names = {f.name for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    required = {
        f.name
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    log = IssueLog()
    built: list[T] = []
    for index, row in enumerate(rows):
        raw_id = row.get("id")
        object_id = raw_id if isinstance(raw_id, str) and raw_id else f"row {index}"
        c = IssueCollector(cls.__name__, object_id)
        for key in sorted(set(row) - names):
            c.add(key, row[key], "is not a field of " + cls.__name__)
        for key in sorted(required - set(row)):
            c.add(key, NO_VALUE, "is required")
        if c.issues:
            log.extend(c.issues)
            continue
        obj = log.attempt(lambda row=row: cls(**row))  # type: ignore[misc]
        if obj is not None:
            built.append(obj)
    log.raise_if_any()
    return tuple(built)
