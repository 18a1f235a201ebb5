"""pydantic validation errors as :class:`~flexcoord.errors.Issue` values, in the user's words.

An error inside ``products`` / ``needs`` / ``bids`` is reported against that object
(``Bid 'b1'``, or ``Bid 'bids[3]'`` when it has no usable id); one elsewhere is about the file as
a whole (an empty ``kind``). Where the error sits in the user's file (source, line, the field or
CSV column) is asked of a :data:`Locator`, so the JSON and CSV forms share this one translation.
Messages are ours (``must be a number``), never the model's class names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from pydantic import ValidationError

from flexcoord.errors import NO_VALUE, Issue

__all__ = ["Locator", "error_issue", "field_path", "issues_of", "json_locator"]

#: ``(section, index, rest of the pydantic location) -> (source, line, field)``; ``section`` and
#: ``index`` are ``None`` for a file-wide location.
Locator = Callable[[str | None, int | None, tuple[str | int, ...]], tuple[str, int | None, str]]

_SECTIONS: Final = {"products": "Product", "needs": "Need", "bids": "Bid"}
_OFFSET_EXAMPLE: Final = "e.g. 2026-06-01T12:00:00+00:00"
_MESSAGES: Final = {
    "missing": "is required",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "string_type": "must be a string",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_parsing_size": "must be a whole number of sensible size",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "timezone_aware": f"must carry a UTC offset, {_OFFSET_EXAMPLE}",
    "datetime_type": f"must be an ISO 8601 time with a UTC offset, {_OFFSET_EXAMPLE}",
    "datetime_parsing": f"must be an ISO 8601 time with a UTC offset, {_OFFSET_EXAMPLE}",
    "datetime_from_date_parsing": f"must be an ISO 8601 time with a UTC offset, {_OFFSET_EXAMPLE}",
    "datetime_object_invalid": f"must be an ISO 8601 time with a UTC offset, {_OFFSET_EXAMPLE}",
    "literal_error": "must be one of {expected}",
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be <= {le}",
    "too_short": "must hold at least {min_length} item(s)",
    "too_long": "must hold at most {max_length} item(s)",
    "enum": "must be one of {expected}",
    "string_too_short": "must hold at least {min_length} character(s)",
    "string_too_long": "must hold at most {max_length} characters",
    "string_pattern_mismatch": "must match {pattern}",
    "json_invalid": "must be valid JSON",
}


def field_path(loc: Sequence[str | int]) -> str:
    """A pydantic location as the user writes it: ``quantities[1].start``.

    Example:
        >>> field_path(("quantities", 1, "start")), field_path(("location", "kind"))
        ('quantities[1].start', 'location.kind')
    """
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def json_locator(source: str) -> Locator:
    """Where a JSON file's error sits: the file, no line, the field path inside the object."""

    def locate(
        section: str | None, index: int | None, rest: tuple[str | int, ...]
    ) -> tuple[str, int | None, str]:
        return source, None, field_path(rest)

    return locate


def _object_id(data: Any, section: str, index: int) -> str:
    try:
        raw = data[section][index].get("id")
    except (KeyError, IndexError, TypeError, AttributeError):
        raw = None
    return raw if isinstance(raw, str) and raw.strip() else f"{section}[{index}]"


def _message(error: Any, kind: str, whole: str = "the market file") -> str:
    kind_text = f"a {kind.lower()}" if kind else whole
    if error["type"] == "extra_forbidden":
        return f"is not a field of {kind_text}"
    template = _MESSAGES.get(error["type"])
    if template is None:
        return str(error["msg"])
    try:
        return template.format(**error.get("ctx", {}))
    except (KeyError, IndexError, ValueError):
        return str(error["msg"])


def issues_of(err: ValidationError, data: Any, locate: Locator) -> list[Issue]:
    """One issue per pydantic error of validating ``data`` as a market file."""
    issues = []
    for error in err.errors():
        loc: tuple[str | int, ...] = tuple(error["loc"])
        ctx = error.get("ctx") or {}
        kind, object_id, section, index = "", "", None, None
        if len(loc) >= 2 and loc[0] in _SECTIONS and isinstance(loc[1], int):
            section, index = str(loc[0]), loc[1]
            kind, object_id = _SECTIONS[section], _object_id(data, section, index)
            loc = loc[2:]
        if "field" in ctx:  # a model-level check naming its own field
            loc = (*loc, str(ctx["field"]))
        source, line, field = locate(section, index, loc)
        message = None
        if error["type"] == "model_type" and not field and section is None:
            message = "must be a JSON object (products, needs, bids and options)"
        issues.append(
            error_issue(
                error,
                kind=kind,
                object_id=object_id,
                field=field,
                source=source,
                line=line,
                message=message,
            )
        )
    return issues


def error_issue(  # noqa: PLR0913 - keyword-only: the fields of the one Issue it builds
    error: Any,
    *,
    kind: str,
    object_id: str,
    field: str,
    source: str | None = None,
    line: int | None = None,
    message: str | None = None,
    whole: str = "the market file",
) -> Issue:
    """One pydantic error (an item of ``ValidationError.errors()``) as an issue about ``kind``
    ``object_id``'s ``field``; ``whole`` names the input in an issue about no object.

    Example:
        >>> print(error_issue({"type": "missing", "loc": ("bus",), "msg": "", "input": {}},
        ...                   kind="Unit", object_id="u1", field="bus"))
        Unit 'u1': field 'bus' is required
    """
    ctx = error.get("ctx") or {}
    value = ctx.get("value", error.get("input")) if "field" in ctx else error.get("input")
    return Issue(
        kind=kind,
        object_id=object_id,
        field=field,
        value=NO_VALUE if error["type"] == "missing" or not field else value,
        message=message if message is not None else _message(error, kind, whole),
        source=source,
        line=line,
    )
