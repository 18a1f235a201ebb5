"""``flexcoord clear`` on the example market (JSON and CSV), JSON to stdout, bad input."""

from __future__ import annotations

import json
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
