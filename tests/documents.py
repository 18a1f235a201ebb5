"""Paths into JSON documents, for tests that edit an example document in one place."""

from __future__ import annotations

from typing import Any

__all__ = ["get", "paths"]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document: keys of objects and indices of lists, depth first."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths(v, (*prefix, i))
    return out


def get(doc: Any, path: tuple[Any, ...]) -> Any:
    """The value at ``path`` (as :func:`paths` gives it)."""
    for key in path:
        doc = doc[key]
    return doc
