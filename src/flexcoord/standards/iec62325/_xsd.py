"""Validation against the official ENTSO-E XSDs, where a folder of them is given.

flexcoord does not ship the schemas: point ``schema_dir`` (or ``$FLEXCOORD_IEC62325_XSD_DIR``)
at a folder holding the files of :data:`XSD_FILES` and the code lists they import
(``urn-entsoe-eu-wgedi-codelists.xsd``, ``urn-entsoe-eu-local-extension-types.xsd``), as
published in the ENTSO-E EDI library. The schemas are trusted local files, read once per folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from lxml import etree

from flexcoord.errors import InvalidInputError, Issue
from flexcoord.standards.iec62325._common import Problem
from flexcoord.standards.schemas import folder_from_environment, load_schema

__all__ = ["XSD_DIR_VARIABLE", "XSD_FILES", "schema_dir_from_environment", "schema_problems"]

#: The schema file of each document flexcoord writes (root element → file).
XSD_FILES: Final = {
    "ReserveBid_MarketDocument": "iec62325-451-7-reservebiddocument_v7_4.xsd",
    "Activation_MarketDocument": "iec62325-451-7-activationdocument_v6_4.xsd",
    "ReserveAllocationResult_MarketDocument": "iec62325-451-7-reserveallocationresult_v6_5.xsd",
    "Acknowledgement_MarketDocument": "iec62325-451-1-acknowledgement_v9_0.xsd",
}
XSD_DIR_VARIABLE: Final = "FLEXCOORD_IEC62325_XSD_DIR"


def schema_dir_from_environment() -> Path | None:
    """``$FLEXCOORD_IEC62325_XSD_DIR`` as a path, or ``None`` when unset or empty."""
    return folder_from_environment(XSD_DIR_VARIABLE)


def _schema_for(root_name: str, schema_dir: Path) -> etree.XMLSchema:
    file = XSD_FILES.get(root_name)
    if file is None:
        raise InvalidInputError(
            [
                Issue(
                    kind="document",
                    object_id=root_name,
                    field="root",
                    value=root_name,
                    message="has no schema in flexcoord",
                )
            ]
        )
    path = schema_dir / file
    if not path.is_file():
        raise InvalidInputError(
            [
                Issue(
                    kind="schema folder",
                    object_id=str(schema_dir),
                    field="file",
                    value=file,
                    message="is missing",
                )
            ]
        )
    try:
        return load_schema(str(path.resolve()))
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError, OSError) as err:
        raise InvalidInputError(
            [
                Issue(
                    kind="schema",
                    object_id=str(path),
                    field="content",
                    value=file,
                    message=f"cannot be read: {err}",
                )
            ]
        ) from None


def schema_problems(root: etree._Element, schema_dir: Path) -> list[Problem]:
    """Every violation of ``root`` against its official schema (element path, message).

    Raises:
        InvalidInputError: The folder lacks the schema, or it cannot be read.
    """
    schema = _schema_for(etree.QName(root).localname, schema_dir)
    if schema.validate(root):
        return []
    problems = []
    for entry in schema.error_log:
        where = _element_path(root, entry.path) or f"line {entry.line}"
        problems.append(Problem(where, f"violates the schema: {entry.message}", "999"))
    return problems


def _element_path(root: etree._Element, xpath: str | None) -> str:
    """The element libxml2 names by ``xpath`` (``/*/*[11]/*[10]``), as the readers name it:
    ``Bid_TimeSeries[1]/divisible`` (local names, 1-based index among same-named siblings)."""
    if not xpath:
        return ""
    try:
        found = root.getroottree().xpath(xpath)
    except etree.XPathError:
        return ""
    if not isinstance(found, list) or not found or not isinstance(found[0], etree._Element):
        return ""
    parts = []
    el: etree._Element | None = found[0]
    while el is not None and el is not root:
        parent = el.getparent()
        name = etree.QName(el).localname
        same = [c for c in parent.iterchildren(el.tag)] if parent is not None else [el]
        parts.append(f"{name}[{same.index(el) + 1}]" if len(same) > 1 or el.getchildren() else name)
        el = parent
    return "/".join(reversed(parts)) or etree.QName(root).localname
