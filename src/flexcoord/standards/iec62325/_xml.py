"""Hardened XML reading and the value formats of IEC 62325-451 documents.

Incoming documents are untrusted. :func:`parse_document` refuses, before anything is built from
them: a document larger than ``max_bytes``; any document type declaration (ESMP documents never
have one, and it is where entity expansion — billion laughs — and external entities — XXE — live);
entity references; and XML that is not well formed. The lxml parser itself is hardened too
(no entity resolution, no network, no DTD loading, no huge trees), so a declaration that slipped
past the byte check still expands nothing and fetches nothing.

Values: ESMP date-times are UTC with a ``Z``; instants of documents (``createdDateTime``) carry
seconds, interval bounds minutes only. Decimals are written in plain notation (no exponent), from
the shortest representation that reads back as the same float.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

from lxml import etree

from flexcoord.errors import FlexcoordError

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "HostileDocumentError",
    "child",
    "decimal_text",
    "duration_text",
    "instant_text",
    "minute_text",
    "parse_document",
    "parse_duration",
]

#: The largest document read (bytes): a day of 15-minute bids of a large pool is far below it.
MAX_DOCUMENT_BYTES: Final = 16 * 1024 * 1024

_DOCTYPE = re.compile(rb"<!\s*DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)


class HostileDocumentError(FlexcoordError, ValueError):
    """A document refused before it was read: too large, a DTD or entity, or not well formed.

    ``element`` names where (``"document"`` or the line), ``reason`` why.
    """

    def __init__(self, element: str, reason: str) -> None:
        super().__init__(f"{element}: {reason}")
        self.element = element
        self.reason = reason


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_document(data: bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> etree._Element:
    """The root element of ``data``, read with a hardened parser.

    Raises:
        HostileDocumentError: ``data`` is larger than ``max_bytes``, declares a document type or an
            entity, references an entity, or is not well-formed XML.

    Example:
        >>> parse_document(b"<a><b>1</b></a>").findtext("b")
        '1'
        >>> try:
        ...     parse_document(b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')
        ... except HostileDocumentError as err:
        ...     print(err.reason[:48])
        declares a document type (DTD): IEC 62325 docume
    """
    if len(data) > max_bytes:
        raise HostileDocumentError(
            "document", f"is {len(data):,} bytes, more than the limit of {max_bytes:,}"
        )
    if _DOCTYPE.search(data) or _ENTITY.search(data):
        raise HostileDocumentError(
            "document",
            "declares a document type (DTD): IEC 62325 documents have none, and entity "
            "expansion and external entities are refused",
        )
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as err:
        raise HostileDocumentError(
            f"line {err.lineno}", f"is not well-formed XML: {err.msg}"
        ) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise HostileDocumentError("document", "declares a document type (DTD): refused")
    for node in root.iter(etree.Entity):
        raise HostileDocumentError(f"line {node.sourceline}", f"references the entity {node.text}")
    return root


def child(
    parent: etree._Element, namespace: str, name: str, text: str | None = None
) -> etree._Element:
    """A new element ``{namespace}name`` at the end of ``parent`` (with ``text``)."""
    el = etree.SubElement(parent, f"{{{namespace}}}{name}")
    if text is not None:
        el.text = text
    return el


def instant_text(value: datetime) -> str:
    """An ESMP_DateTime: UTC to the second, with ``Z`` (``2026-06-01T10:00:00Z``)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def minute_text(value: datetime) -> str:
    """A YMDHM_DateTime (interval bound): UTC to the minute, with ``Z`` (``2026-06-01T10:00Z``)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def decimal_text(value: float) -> str:
    """A float as an xs:decimal in plain notation that reads back as the same float.

    Example:
        >>> decimal_text(1e-05), decimal_text(2.5), decimal_text(120.0)
        ('0.00001', '2.5', '120')
    """
    text = format(Decimal(repr(float(value))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def duration_text(value: timedelta) -> str:
    """An xs:duration of whole minutes (``PT15M``, ``PT60M``)."""
    return f"PT{int(value.total_seconds() // 60)}M"


_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")


def parse_duration(text: str) -> timedelta | None:
    """A day/time xs:duration (``PT15M``, ``PT1H``, ``P1D``), or ``None`` if it is not one.

    Example:
        >>> parse_duration("PT1H30M"), parse_duration("P1M")
        (datetime.timedelta(seconds=5400), None)
    """
    m = _DURATION.fullmatch(text.strip())
    if m is None or not any(m.groups()) or text.strip().endswith("T"):
        return None
    days, hours, minutes, seconds = (int(g) if g else 0 for g in m.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
