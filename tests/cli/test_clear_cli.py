"""``flexcoord clear`` on the example market (JSON and CSV), JSON to stdout, bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flexcoord.cli.app import app

EXAMPLE = Path(__file__).parents[2] / "examples" / "market"
GRID = "1-MV-rural--0-sw"

pytestmark = pytest.mark.slow


def test_clear_json_market_writes_result(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    res = CliRunner().invoke(
        app, ["clear", str(EXAMPLE / "market.json"), "--grid", GRID, "--json", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "accepted bids" in res.output and "AC check: ok" in res.output
    doc = json.loads(out.read_text())
    assert {n["need_id"] for n in doc["needs"]} == {"dso-congestion", "tso-balancing"}
    assert doc["awards"] and doc["ac_check"]["converged"]
    # XOR: at most one of the two sgen:0 bids is accepted
    assert len({a["bid_id"] for a in doc["awards"]} & {"bid-sgen-0-up", "bid-sgen-0-down"}) <= 1


def test_clear_csv_folder_to_clean_stdout() -> None:
    res = CliRunner().invoke(
        app,
        [
            "clear",
            str(EXAMPLE / "csv" / "bids.csv"),
            "--grid",
            GRID,
            "--profile-start-step",
            str(96 * 150 + 48),
            "--area",
            "MV1.101",
            "--pricing",
            "pay-as-cleared",
            "--no-ac-check",
            "--json",
            "-",
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)  # stdout holds the JSON only
    assert doc["pricing"] == "pay-as-cleared" and doc["ac_check"] is None
    assert doc["awards"]


def test_bad_market_file_exits_2_with_every_issue(tmp_path: Path) -> None:
    doc = json.loads((EXAMPLE / "market.json").read_text())
    doc["bids"][0]["quantities"][0]["quantity"] = -1.0
    doc["bids"][1]["resource_id"] = "no-such-unit"
    doc["bids"][2]["direction"] = "sideways"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    res = CliRunner().invoke(app, ["clear", str(bad), "--grid", GRID, "--no-ac-check"])
    assert res.exit_code == 2
    assert "bid-sgen-0-up" in res.output and "direction" in res.output
    # pydantic shape errors come first; a file with only domain errors lists them all
    doc["bids"][2]["direction"] = "up"
    bad.write_text(json.dumps(doc))
    res = CliRunner().invoke(app, ["clear", str(bad), "--grid", GRID, "--no-ac-check"])
    assert res.exit_code == 2
    assert "bid-load-0" in res.output and "bid-load-1" in res.output


def test_six_bids_on_one_unit_never_exceed_its_capability(tmp_path: Path) -> None:
    """Issue 7: six 0.2 MW price steps on load:0 (range 0.23 MW) were all accepted (1.2 MW/MTU)."""
    doc = json.loads((EXAMPLE / "market.json").read_text())
    (template,) = [b for b in doc["bids"] if b["id"] == "bid-load-0"]
    steps = [
        dict(template, id=f"step-{k}", activation_price_eur_per_mwh=50.0 + 5.0 * k)
        for k in range(6)
    ]
    doc["bids"] = [b for b in doc["bids"] if b["id"] != "bid-load-0"] + steps
    market, out = tmp_path / "six.json", tmp_path / "result.json"
    market.write_text(json.dumps(doc))
    res = CliRunner().invoke(app, ["clear", str(market), "--grid", GRID, "--json", str(out)])
    assert res.exit_code == 0, res.output
    result = json.loads(out.read_text())
    per_mtu: dict[str, float] = {}
    for a in result["awards"]:
        if a["bid_id"].startswith("step-"):
            per_mtu[a["mtu"]] = per_mtu.get(a["mtu"], 0.0) + a["quantity_mw"]
    assert per_mtu and max(per_mtu.values()) <= 0.23 + 1e-6
    # the unit is sold out: the cheapest step in full, the next one cut, the others rejected
    assert per_mtu == {m: pytest.approx(0.23) for m in per_mtu}
    (cut,) = {c["bid_id"] for c in result["curtailments"]}
    assert cut == "step-1"
    rejected = {r["bid_id"]: r for r in result["rejections"] if r["bid_id"].startswith("step-")}
    assert set(rejected) == {"step-2", "step-3", "step-4", "step-5"}
    for r in [*rejected.values(), *result["curtailments"]]:
        assert r["reason"] == "unit-capability"
        assert "unit load:0 capability 0.23 MW up" in r["detail"], r["detail"]
    assert "cheaper bids step-0, step-1" in rejected["step-2"]["detail"]
    assert any(
        b["kind"] == "unit-capability" and b["element"] == "load:0" for b in result["binding"]
    )


def test_each_fsps_iec_documents_carry_its_awards_and_orders(tmp_path: Path) -> None:
    from flexcoord.standards.iec62325 import (
        Party,
        import_activation_orders,
        import_allocation_result,
    )

    out, docs = tmp_path / "result.json", tmp_path / "docs"
    args = ["clear", str(EXAMPLE / "market.json"), "--grid", GRID, "--no-ac-check"]
    res = CliRunner().invoke(app, [*args, "--json", str(out), "--documents", str(docs)])
    assert res.exit_code == 0, res.output
    result = json.loads(out.read_text())
    me = Party(id="10X1001A1001A094", role="A46")
    kw = {"acknowledger": me, "acknowledgement_id": "a", "schema_dir": None}
    awarded, ordered_mw = set(), 0.0
    for path in sorted(docs.glob("allocation-*.xml")):
        read = import_allocation_result(path.read_bytes(), now=datetime.now(UTC), **kw)
        assert read.accepted, read.problems
        awarded |= {(a.bid_id, a.mtu, round(a.quantity_mw, 6)) for a in read.objects[0].awards}
    for path in sorted(docs.glob("activation-orders-*.xml")):
        read = import_activation_orders(path.read_bytes(), now=datetime.now(UTC), **kw)
        assert read.accepted, read.problems
        ordered_mw += sum(o.quantity_mw for o in read.objects)
    assert awarded == {
        (a["bid_id"], a["mtu"], round(a["quantity_mw"], 6)) for a in result["awards"]
    }
    assert ordered_mw == pytest.approx(sum(a["quantity_mw"] for a in result["awards"]))


def test_a_bad_document_party_exits_2_before_any_work(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        [
            "clear",
            str(EXAMPLE / "market.json"),
            "--grid",
            GRID,
            "--documents",
            str(tmp_path / "docs"),
            "--document-party",
            "X" * 17,
        ],
    )
    assert res.exit_code == 2
    assert "--document-party" in res.output and "at most 16 characters" in res.output
    assert not (tmp_path / "docs").exists()
