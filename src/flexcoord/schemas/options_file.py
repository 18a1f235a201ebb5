"""Options files (a study, a plan, a sweep matrix): one TOML (or YAML) file of keys, read and
checked in one place.

:func:`load_options_file` reads the file and validates it against a pydantic model whose sections
forbid unknown keys; a bad file raises one :class:`~flexcoord.errors.InvalidInputError` listing
every issue, each naming the file and the key as the user wrote it (``forecast_error.pv must be
>= 0``); an unknown key is refused with the valid ones listed, so a typo is never silently
ignored. Shared by :mod:`flexcoord.schemas.study` and :mod:`flexcoord.schemas.plan`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

from flexcoord.errors import NO_VALUE, InvalidInputError, Issue
from flexcoord.schemas.pydantic_issues import field_path
from flexcoord.schemas.reading import file_issue, read_text

__all__ = ["load_options_file", "options_issues", "parse_options_file"]

Model = TypeVar("Model", bound=BaseModel)

_MESSAGES: Final = {
    "missing": "is required",
    "extra_forbidden": "is not a key of the {file}",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "date_type": "must be a date, e.g. 2026-06-01",
    "date_parsing": "must be a date, e.g. 2026-06-01",
    "date_from_datetime_inexact": "must be a date without a time, e.g. 2026-06-01",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be <= {le}",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
    "too_short": "must hold at least {min_length} item(s)",
    "too_long": "must hold at most {max_length} item(s)",
}


def _known_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        model = annotation
    return ", ".join(model.model_fields)


def options_issues(
    err: ValidationError, source: str, model: type[BaseModel], *, file: str = "file"
) -> list[Issue]:
    """``err`` of validating ``model`` as issues naming ``source`` and each key's path."""
    issues = []
    for error in err.errors():
        loc = tuple(error["loc"])
        template = _MESSAGES.get(error["type"], str(error["msg"]).removeprefix("Value error, "))
        try:
            message = template.format(file=file, **error.get("ctx", {}))
        except (KeyError, IndexError, ValueError):
            message = str(error["msg"])
        if error["type"] == "extra_forbidden":
            message += f" (known keys: {_known_keys(model, loc)})"
        value = NO_VALUE if error["type"] == "missing" else error.get("input")
        issues.append(
            Issue(
                kind="",
                object_id="",
                field=field_path(loc),
                value=value,
                message=message,
                source=source,
            )
        )
    return issues


def parse_options_file(path: Path, *, max_bytes: int) -> Any:
    """The data of a TOML file (or YAML, with PyYAML installed), at most ``max_bytes`` long.

    Raises:
        InvalidInputError: missing, unreadable, too large, or not TOML/YAML.
    """
    text = read_text(path, max_bytes=max_bytes)
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml  # type: ignore[import-untyped]  # noqa: PLC0415 - optional: YAML only
        except ImportError:
            raise InvalidInputError(
                [file_issue(path, "is YAML, which needs PyYAML (pip install pyyaml); or use TOML")]
            ) from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInputError([file_issue(path, f"is not valid YAML: {exc}")]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError([file_issue(path, f"is not valid TOML: {exc}")]) from None


def load_options_file(
    path: Path, model: type[Model], *, max_bytes: int, keys_hint: str, file: str = "study file"
) -> Model:
    """Read and validate ``path`` as ``model`` (module docstring).

    Raises:
        InvalidInputError: every issue of the file at once.
    """
    data = parse_options_file(path, max_bytes=max_bytes)
    if not isinstance(data, dict):
        raise InvalidInputError([file_issue(path, f"must be a table of keys ({keys_hint})")])
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise InvalidInputError(options_issues(err, str(path), model, file=file)) from None
