"""What every standard's XSD validation shares: the schema folder from an environment variable,
and an official schema loaded once, hardened (no network, no entities)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from lxml import etree

__all__ = ["folder_from_environment", "load_schema"]


def folder_from_environment(variable: str) -> Path | None:
    """``$variable`` as a path, or ``None`` when unset or empty."""
    value = os.environ.get(variable, "").strip()
    return Path(value) if value else None


@functools.lru_cache(maxsize=16)
def load_schema(path: str) -> etree.XMLSchema:
    """The XSD at ``path`` (its includes resolved locally, never over the network), cached."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(path, parser=parser))
