"""The ``flexcoord grid`` commands through Typer's runner: JSON output, tables, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from flexcoord.cli.app import app

runner = CliRunner()


def test_unknown_grid_code_is_a_clear_error_with_exit_code_2() -> None:
    result = runner.invoke(app, ["grid", "info", "1-MV-nowhere--0-sw"])
    assert result.exit_code == 2
    assert "'1-MV-nowhere--0-sw'" in result.output
    assert "did you mean '1-MV-comm--0-sw'" in result.output  # the closest codes, not all 282
    assert "flexcoord grid list" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_grid_info_json() -> None:
    result = runner.invoke(app, ["grid", "info", "1-MV-rural--0-sw", "--json", "-"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["buses"] == 97
    assert data["dso_areas"][0]["coupling_points"] == ["trafo:0", "trafo:1"]


@pytest.mark.slow
def test_grid_info_table() -> None:
    result = runner.invoke(app, ["grid", "info", "1-MV-rural--0-sw"])
    assert result.exit_code == 0, result.output
    assert "MV1.101" in result.output and "trafo:0" in result.output


@pytest.mark.slow
def test_grid_assess_json_and_violations_csv(tmp_path: Path) -> None:
    csv = tmp_path / "violations.csv"
    args = ["grid", "assess", "1-MV-rural--0-sw", "--start", "17280", "--steps", "2880"]
    result = runner.invoke(app, [*args, "--json", "-", "--violations-csv", str(csv)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["totals"]["steps"] == 2880
    assert set(data) == {"provenance", "totals", "summary"}  # the per-step table goes to the CSV
    assert data["provenance"]["grid"] == "1-MV-rural--0-sw"
    table = pd.read_csv(csv)
    assert {"time", "asset", "area", "operator", "kind", "value", "limit"} <= set(table.columns)
    assert len(table) == sum(row["steps"] for row in data["summary"])
    assert set(table["operator"]) <= {"tso", "dso"}


@pytest.mark.slow
def test_grid_assess_bad_window_is_a_clear_error() -> None:
    result = runner.invoke(
        app, ["grid", "assess", "1-MV-rural--0-sw", "--start", "35000", "--steps", "500"]
    )
    assert result.exit_code == 2
    assert "start" in result.output or "steps" in result.output
