"""``flexcoord pareto``: options checked before any work, documents, tables and their width."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flexcoord.cli.app import app
from tests.cli.test_edge import no_grid_load  # noqa: F401  (the fixture, used by name)

GRID = "1-MV-rural--0-sw"
BASE = ["pareto", "--grid", GRID]
runner = CliRunner()


def _invoke(args: list[str], columns: int = 100) -> Any:
    return runner.invoke(app, args, env={"COLUMNS": str(columns)})


@pytest.mark.usefixtures("no_grid_load")
@pytest.mark.parametrize(
    ("args", "words"),
    [
        ([*BASE, "--bids", "0"], "--bids': value=0 must be an integer from 1 to 16"),
        ([*BASE, "--bids", "17"], "from 1 to 16"),
        ([*BASE, "--mtus", "0"], "--mtus"),
        ([*BASE, "--mtus", "97"], "from 1 to 96"),
        ([*BASE, "--seed", "-1"], "--seed"),
        ([*BASE, "--direction", "sideways"], "must be one of up, down"),
        ([*BASE, "--linearisation", "exact"], "must be one of shared, per-mtu"),
        ([*BASE, "--safety-margin", "1.0"], "--safety-margin"),
        ([*BASE, "--safety-margin", "nan"], "must be a number in [0, 1)"),
        ([*BASE, "--voltage-margin-pu", "-0.01"], "--voltage-margin-pu"),
        (["pareto", "--grid", "cigre-mv"], "no year-long SimBench profiles"),
        (["pareto"], "--grid': value=None is required"),
        (["pareto", "--grid", "1-mv-rurall--0-sw"], "did you mean '1-MV-rural--0-sw'"),
        ([*BASE, "--json", "-", "--format", "json"], "both write to stdout"),
    ],
)
def test_bad_options_exit_2_before_any_grid_is_loaded(args: list[str], words: str) -> None:
    res = _invoke(args)
    assert res.exit_code == 2, res.output
    assert words in res.stderr, res.stderr
    assert "Traceback" not in res.output and "work started" not in res.output


@pytest.mark.usefixtures("no_grid_load")
def test_every_option_issue_is_reported_at_once(tmp_path: Path) -> None:
    res = _invoke(
        [*BASE, "--bids", "0", "--mtus", "0", "--direction", "x", "--json", str(tmp_path / "n/a")]
    )
    assert res.exit_code == 2
    assert "4 invalid input issues" in res.stderr
    for option in ("--bids", "--mtus", "--direction", "--json"):
        assert option in res.stderr


@pytest.mark.slow
def test_an_unknown_area_is_refused_naming_the_areas() -> None:
    res = _invoke([*BASE, "--area", "MV9.999", "--mtus", "1"])
    assert res.exit_code == 2, res.output
    assert "is not a DSO area of 1-MV-rural--0-sw; areas: MV1.101" in res.stderr


@pytest.mark.slow
def test_a_run_writes_the_document_csv_and_tables_with_provenance(tmp_path: Path) -> None:
    out, folder = tmp_path / "pareto.json", tmp_path / "tables"
    args = [*BASE, "--mtus", "2", "--bids", "4", "--direction", "down", "--seed", "3"]
    res = _invoke([*args, "--json", str(out), "--format", "csv", "--tables", str(folder)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert len(rows) == 2 and rows[0]["mtu"] == "2026-06-01T22:00:00+00:00"
    assert {"combinations", "linear_feasible", "margin_rejected_dominating"} <= set(rows[0])
    doc = json.loads(out.read_text())
    assert next(iter(doc)) == "provenance"
    assert doc["provenance"]["grid"] == GRID and doc["provenance"]["schema_version"] == "1"
    assert doc["provenance"]["command"].startswith("flexcoord pareto --grid=")
    assert doc["direction"] == "down" and doc["seed"] == 3 and doc["safety_margin"] == 0.1
    assert [m["combinations"] for m in doc["mtus"]] == [int(r["combinations"]) for r in rows]
    assert doc["front"] and doc["front"][0]["bid_ids"] == []  # doing nothing is feasible
    assert len([b for b in doc["bids"] if b["direction"] == "down"]) == 4
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(
        f"pareto_{t}.{f}" for t in ("mtus", "front", "sites", "bids") for f in ("csv", "parquet")
    )


@pytest.mark.slow
def test_the_table_fits_80_columns_when_piped() -> None:
    res = _invoke([*BASE, "--mtus", "2", "--bids", "4", "--no-ac-check"], columns=80)
    assert res.exit_code == 0, res.output
    assert max(len(line) for line in res.stdout.splitlines()) <= 80
    assert "Pareto front per MTU" in res.stdout and "22:15" in res.stdout
    assert "(none)" in res.stdout and "i4rd:up:" in res.stdout  # ids as written, no emoji
