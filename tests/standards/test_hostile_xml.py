"""Hostile documents (XXE, billion laughs, oversized, not XML) are rejected with an
acknowledgement that says why, and give nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexcoord.standards.iec62325 import import_reserve_bids, reserve_bid_document
from tests.standards.conftest import CREATED, TSO, bid, header


def _answer(data: bytes, **kw: object):  # type: ignore[no-untyped-def]
    out = import_reserve_bids(data, acknowledger=TSO, acknowledgement_id="ack-1", now=CREATED, **kw)  # type: ignore[arg-type]
    assert not out.accepted and out.objects == ()
    assert [r.code for r in out.acknowledgement.reasons] == ["A02", "999"]
    return out.problems[0]


def test_an_external_entity_is_refused_and_the_file_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    good = reserve_bid_document([bid()], header()).xml.decode()
    xxe = good.replace(
        "<?xml version='1.0' encoding='UTF-8'?>",
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>',
    ).replace("<mRID>b1</mRID>", "<mRID>&x;</mRID>")
    problem = _answer(xxe.encode())
    assert problem.startswith("document: declares a document type (DTD)")
    assert "TOP-SECRET" not in problem


def test_billion_laughs_is_refused_without_expanding() -> None:
    lol = ['<!ENTITY l0 "lol">'] + [f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)]
    data = f'<?xml version="1.0"?><!DOCTYPE r [{"".join(lol)}]><r>&l9;</r>'.encode()
    assert _answer(data).startswith("document: declares a document type (DTD)")


def test_a_document_type_hidden_in_utf16_is_refused_too() -> None:
    data = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>'
    problem = _answer(data.encode("utf-16"))
    assert problem.startswith("document: declares a document type (DTD)")


def test_an_oversized_document_is_refused_from_its_size() -> None:
    data = reserve_bid_document([bid()], header()).xml
    problem = _answer(data, max_bytes=len(data) - 1)
    assert problem == f"document: is {len(data):,} bytes, more than the limit of {len(data) - 1:,}"


@pytest.mark.parametrize("data", [b"", b"<a>", b"\xff\xfe\x00garbage", b"<a></b>"])
def test_what_is_not_xml_is_refused_naming_the_line(data: bytes) -> None:
    assert "is not well-formed XML" in _answer(data)
