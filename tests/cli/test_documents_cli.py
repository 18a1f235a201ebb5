"""``flexcoord documents``: export a market file's bids, import documents with an
acknowledgement; bad or hostile input exits 2 naming file and element, writing no objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flexcoord.cli.app import app
from flexcoord.schemas import load_market_file
from flexcoord.standards.iec62325 import parse_acknowledgement

EXAMPLE = Path(__file__).parents[2] / "examples" / "market" / "market.json"
PARTIES = [
    "--sender",
    "10X1001A1001A094",
    "--receiver",
    "10X1001A1001A361",
    "--domain",
    "10YNL----------L",
]
runner = CliRunner()


def _export(tmp_path: Path) -> Path:
    doc = tmp_path / "bids.xml"
    result = runner.invoke(
        app,
        ["documents", "export-bids", str(EXAMPLE), "--out", str(doc), *PARTIES, "--fsp", "fsp-1"],
    )
    assert result.exit_code == 0, result.output
    assert "not carried: Bid 'bid-load-0': submitted_at" in result.output
    return doc


def test_exported_bids_import_back_as_the_market_files_bids(tmp_path: Path) -> None:
    doc = _export(tmp_path)
    ack, out = tmp_path / "ack.xml", tmp_path / "bids.json"
    result = runner.invoke(
        app, ["documents", "import", str(doc), "--ack", str(ack), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert parse_acknowledgement(ack.read_bytes()).accepted
    back = json.loads(out.read_text())["bids"]
    market = load_market_file(EXAMPLE)
    assert [b["id"] for b in back] == [b.id for b in market.bids]
    assert [b["quantities"][0]["quantity"] for b in back] == [
        b.quantities[0].quantity for b in market.bids
    ]


def test_a_bid_without_an_fsp_needs_the_fsp_option(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["documents", "export-bids", str(EXAMPLE), "--out", str(tmp_path / "x.xml"), *PARTIES]
    )
    assert result.exit_code == 2
    assert "Bid 'bid-load-0': field 'fsp_id'" in result.output and "give --fsp" in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_invalid_document_is_answered_a02_and_no_objects_are_written(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(_export(tmp_path).read_bytes().replace(b"<divisible>A01", b"<divisible>ZZ", 1))
    ack, out = tmp_path / "ack.xml", tmp_path / "objects.json"
    result = runner.invoke(
        app, ["documents", "import", str(bad), "--ack", str(ack), "--out", str(out)]
    )
    assert result.exit_code == 2
    assert f"{bad}: Bid_TimeSeries[1]/divisible: is 'ZZ'" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    answer = parse_acknowledgement(ack.read_bytes())
    # one reason from the reader, and one from the XSD when $FLEXCOORD_IEC62325_XSD_DIR is set
    assert [r.code for r in answer.reasons][:2] == ["A02", "999"]
    assert any("Bid_TimeSeries[1]/divisible" in r.text for r in answer.reasons)


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
        b"<r>" + b"x" * (17 * 1024 * 1024) + b"</r>",
    ],
    ids=["xxe", "oversized"],
)
def test_hostile_documents_exit_2_writing_nothing(tmp_path: Path, data: bytes) -> None:
    doc = tmp_path / "hostile.xml"
    doc.write_bytes(data)
    ack, out = tmp_path / "ack.xml", tmp_path / "objects.json"
    result = runner.invoke(
        app, ["documents", "import", str(doc), "--ack", str(ack), "--out", str(out)]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{doc}: " in result.output
    assert not out.exists()
    assert "root:x:0:0" not in result.output


def test_an_activation_response_is_imported_as_order_events(tmp_path: Path) -> None:
    from flexcoord.operations import OrderEvent
    from flexcoord.standards.iec62325 import activation_response_document
    from tests.standards.conftest import header
    from tests.standards.test_activation_allocation import ORDERS

    event = OrderEvent(
        order_id=ORDERS[0].id, status="failed", at=header().created_at, detail="unit tripped"
    )
    doc = tmp_path / "response.xml"
    doc.write_bytes(activation_response_document([event], {ORDERS[0].id: ORDERS[0]}, header()).xml)
    out = tmp_path / "events.json"
    result = runner.invoke(
        app,
        [
            "documents",
            "import",
            str(doc),
            "--ack",
            "-",
            "--out",
            str(out),
            "--party",
            "10X1001A1001A094",
            "--role",
            "A46",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "<code>A01</code>" in result.output
    (got,) = json.loads(out.read_text())["events"]
    assert (got["order_id"], got["status"], got["detail"]) == (
        str(ORDERS[0].id),
        "failed",
        "unit tripped",
    )
