"""Reading CIM RDF/XML documents element by element (the CGMES import's small XML layer)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

__all__ = ["cim_rows", "strip_id", "terminal_nodes"]


def strip_id(rdf_id: object) -> str:
    """An rdf:ID / rdf:resource without its ``#`` and leading ``_`` (``"#_B5"`` → ``"B5"``)."""
    return str(rdf_id).removeprefix("#").removeprefix("_")


def cim_rows(data: bytes | ET.Element, element: str) -> Iterable[dict[str, str]]:
    """Each ``cim:<element>`` of a CIM document as ``{attribute: text or resource id}``; the
    element's own id under ``""``."""
    root = data if isinstance(data, ET.Element) else ET.fromstring(data)
    rdf = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
    for node in root:
        if not node.tag.endswith("}" + element):
            continue
        row: dict[str, str] = {"": strip_id(node.get(f"{rdf}ID") or node.get(f"{rdf}about") or "")}
        for child in node:
            name = child.tag.rsplit("}", 1)[-1].split(".", 1)[-1]
            resource = child.get(f"{rdf}resource")
            row[name] = strip_id(resource) if resource is not None else (child.text or "")
        yield row


def terminal_nodes(tp: bytes) -> dict[str, str]:
    """``terminal id → topological node id`` from a TP profile document."""
    return {
        row[""]: row["TopologicalNode"]
        for row in cim_rows(tp, "Terminal")
        if "TopologicalNode" in row
    }
