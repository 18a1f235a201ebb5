"""Every document flexcoord writes fits the bindings that xsdata generated from its official
ENTSO-E XSD (``entsoe-apy``, the same schema versions), so the schema check runs in CI, where the
XSDs themselves cannot be (see :mod:`tests.standards.binding_check`). Each broken document below is
refused by the binding check; where the XSD folder is present, the XSD refuses each one too and
accepts the originals, which measures the binding check against the schema itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from entsoe.xml_models.iec62325_451_1_acknowledgement_v9_0 import AcknowledgementMarketDocument
from entsoe.xml_models.iec62325_451_7_activationdocument_v6_4 import ActivationMarketDocument
from entsoe.xml_models.iec62325_451_7_reserveallocationresult_v6_5 import (
    ReserveAllocationResultMarketDocument,
)
from entsoe.xml_models.iec62325_451_7_reservebiddocument_v7_4 import ReserveBidMarketDocument
from lxml import etree

from flexcoord.standards.iec62325 import XSD_FILES, schema_violations
from tests.standards.binding_check import binding_violations, mutants
from tests.standards.test_schemas import exported_documents

#: The binding of each root element flexcoord writes (the versions of ``XSD_FILES``).
BINDINGS: dict[str, type] = {
    "ReserveBid_MarketDocument": ReserveBidMarketDocument,
    "Activation_MarketDocument": ActivationMarketDocument,
    "ReserveAllocationResult_MarketDocument": ReserveAllocationResultMarketDocument,
    "Acknowledgement_MarketDocument": AcknowledgementMarketDocument,
}


def _documents() -> dict[str, tuple[bytes, type]]:
    """The documents of ``test_schemas``, each with the binding of its root element."""
    return {
        name: (xml, BINDINGS[etree.QName(etree.fromstring(xml)).localname])
        for name, xml in exported_documents().items()
    }


#: (document, what is broken, text replaced, its replacement): each one the XSD refuses.
BROKEN = [
    ("bids", "code not in its code list", b"<businessType>B74<", b"<businessType>ZZZ<"),
    ("bids", "required element missing", b"<mRID>doc-1</mRID>", b""),
    ("bids", "value breaks its pattern", b"<revisionNumber>1<", b"<revisionNumber>x<"),
    (
        "bids",
        "children out of sequence order",
        b"<revisionNumber>1</revisionNumber>\n  <type>A37</type>",
        b"<type>A37</type>\n  <revisionNumber>1</revisionNumber>",
    ),
    (
        "bids",
        "element more often than maxOccurs",
        b"<type>A37</type>",
        b"<type>A37</type><type>A37</type>",
    ),
    ("bids", "undeclared element", b"<type>A37</type>", b"<type>A37</type><colour>red</colour>"),
    ("bids", "undeclared attribute", b"<mRID>doc-1<", b'<mRID colour="red">doc-1<'),
    (
        "bids",
        "date-time with seconds",
        b"<start>2026-06-01T10:00Z<",
        b"<start>2026-06-01T10:00:00Z<",
    ),
    ("bids", "position below minInclusive", b"<position>1<", b"<position>0<"),
    ("bids", "quantity not a decimal", b"<quantity.quantity>1<", b"<quantity.quantity>abc<"),
    ("bids", "id longer than maxLength", b"<mRID>doc-1<", b"<mRID>" + b"d" * 61 + b"<"),
    (
        "bids",
        "required attribute missing",
        b' codingScheme="A01">10X1001A1001A094',
        b">10X1001A1001A094",
    ),
    ("bids", "party id longer than 16", b">10X1001A1001A094<", b">10X1001A1001A0945<"),
    ("bids", "resolution not a duration", b"<resolution>PT15M<", b"<resolution>15 minutes<"),
    ("bids", "wrong schema version", b"reservebiddocument:7:4", b"reservebiddocument:7:3"),
    ("bids", "text in an element of elements", b"<Period>", b"<Period>stray"),
    ("bids", "required child missing", b"<resolution>PT15M</resolution>", b""),
    ("bids", "flag not in its code list", b"<divisible>A01<", b"<divisible>A99<"),
    ("orders", "code not in its code list", b"<businessType>", b"<businessType>Z"),
    (
        "orders",
        "required element missing",
        b"<createdDateTime>2026-05-31T12:00:00Z</createdDateTime>",
        b"",
    ),
    ("responses", "undeclared element", b"</mRID>", b"</mRID><colour/>"),
    ("allocation", "code not in its code list", b"<type>", b"<type>Z"),
    ("allocation", "quantity not a decimal", b"<quantity>", b"<quantity>x"),
    ("ack-accepted", "code not in its code list", b"<code>", b"<code>Z"),
    ("ack-rejected", "required element missing", b"<mRID>a2</mRID>", b""),
]


def _break(name: str, old: bytes, new: bytes) -> tuple[bytes, type]:
    xml, binding = _documents()[name]
    assert old in xml, f"{name} has no {old!r}"
    return xml.replace(old, new, 1), binding


def test_the_bindings_are_those_of_the_schema_versions_flexcoord_writes() -> None:
    assert sorted(BINDINGS) == sorted(XSD_FILES)
    for root, binding in BINDINGS.items():
        version = XSD_FILES[root].removesuffix(".xsd").rsplit("_v", 1)[1].replace("_", ":")
        assert binding.Meta.namespace.endswith(version), root  # type: ignore[attr-defined]


def test_every_exported_document_fits_the_bindings_of_its_xsd() -> None:
    assert {name: binding_violations(xml, b) for name, (xml, b) in _documents().items()} == {
        name: [] for name in _documents()
    }


@pytest.mark.parametrize(
    ("name", "what", "old", "new"), BROKEN, ids=[f"{b[0]}: {b[1]}" for b in BROKEN]
)
def test_the_binding_check_refuses_a_broken_document(
    name: str, what: str, old: bytes, new: bytes
) -> None:
    assert binding_violations(*_break(name, old, new)), what


def test_the_binding_check_names_the_element_and_the_rule() -> None:
    xml, binding = _break("bids", b"<position>1<", b"<position>0<")
    (problem,) = binding_violations(xml, binding)
    assert problem == (
        "/ReserveBid_MarketDocument/Bid_TimeSeries[1]/Period[1]/Point[1]/position[1]: "
        "'0' breaks min_inclusive 1"
    )


def test_the_xsd_agrees_with_the_binding_check(xsd_dir: Path) -> None:
    """The measure of the binding check: on the same documents, the official XSDs accept every
    original and refuse every broken one."""
    for xml, _ in _documents().values():
        assert schema_violations(xml, xsd_dir) == ()
    refused = {
        (n, w): bool(schema_violations(*_xsd_input(n, o, x, xsd_dir))) for n, w, o, x in BROKEN
    }
    assert refused == dict.fromkeys(refused, True)


def _xsd_input(name: str, old: bytes, new: bytes, xsd_dir: Path) -> tuple[bytes, Path]:
    return _break(name, old, new)[0], xsd_dir


def test_the_xsd_and_the_binding_check_agree_on_every_systematic_mutant(xsd_dir: Path) -> None:
    """Each element deleted and duplicated, each value and attribute replaced or deleted, in
    every document: the official XSD and the binding check refuse and accept the same ones."""
    disagree = [
        (name, label)
        for name, (xml, binding) in _documents().items()
        for label, mutant in mutants(xml)
        if bool(schema_violations(mutant, xsd_dir)) != bool(binding_violations(mutant, binding))
    ]
    assert disagree == []
