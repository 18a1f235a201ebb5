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
def test_grid_assess_never_holds_the_per_step_table_and_streams_the_same_csv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Issue 12: a year of HV/MV peaked at 12.2 GB building the per-step table; it is never
    built now (the CSV streams chunk by chunk), and the CSV is what the table wrote."""
    from flexcoord.grid import model

    calls: list[tuple[bool, bool]] = []
    assess = model.GridModel.assess

    def spy(self: model.GridModel, **kwargs: object) -> object:
        calls.append((bool(kwargs.get("keep_violations", True)), kwargs["violations_csv"] is None))
        return assess(self, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(model.GridModel, "assess", spy)
    args = ["grid", "assess", "1-MV-rural--0-sw", "--start", "17280", "--steps", "2880"]
    lean = runner.invoke(app, [*args, "--json", "-"])
    csv = tmp_path / "v.csv"
    full = runner.invoke(app, [*args, "--json", "-", "--violations-csv", str(csv)])
    assert lean.exit_code == 0 and full.exit_code == 0, lean.output + full.output
    assert calls == [(False, True), (False, False)]
    lean_doc, full_doc = json.loads(lean.stdout), json.loads(full.stdout)
    assert lean_doc["summary"] and lean_doc["summary"] == full_doc["summary"]
    timing = ("elapsed_s", "steps_per_s")
    same = [{k: v for k, v in d["totals"].items() if k not in timing} for d in (lean_doc, full_doc)]
    assert same[0] == same[1]
    whole = assess(model.load_grid("1-MV-rural--0-sw"), start=17280, steps=2880)
    assert len(whole.violations) == full_doc["totals"]["violations"] > 0
    assert csv.read_bytes() == whole.violations.to_csv(index=False).encode()
    assert not list(tmp_path.glob(".v.csv.*"))  # no temporary file left


@pytest.mark.slow
def test_grid_assess_bad_window_is_a_clear_error() -> None:
    result = runner.invoke(
        app, ["grid", "assess", "1-MV-rural--0-sw", "--start", "35000", "--steps", "500"]
    )
    assert result.exit_code == 2
    assert "start" in result.output or "steps" in result.output
