"""``flexcoord plan``: a bad plan file exits 2 naming every key before any power flow, writing
nothing; a one-year plan writes its tables, manifest and report, and each decision follows
from its costs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from flexcoord.cli.app import app

GOOD = """
name = "one year"
grid = "1-MV-rural--0-sw"
start_year = 2040
horizon = 2040

[additions]
heat_pump_mw = { 2026 = 0.5, 2045 = 8.0 }

[[prices]]
name = "base"

[[prices]]
name = "high feed-in"
feed_in_eur_per_mwh = 160.0
"""


def test_a_bad_plan_exits_2_naming_every_key_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\ngrid = "1-MV-rural--0-sw"\nhorizn = 2040\n[costs]\nwacc = -1\n')
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["plan", str(bad), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "costs.wacc" in res.output and "horizn" in res.output and "known keys" in res.output
    assert "Traceback" not in res.output
    grid = tmp_path / "grid.toml"
    grid.write_text('name = "x"\ngrid = "1-MV-nowhere--0-sw"\n[growth]\npv = { 2040 = -1.0 }\n')
    res = CliRunner().invoke(app, ["plan", str(grid), "--out", str(tmp_path / "a" / "b")])
    assert res.exit_code == 2
    for key in ("grid", "--out"):
        assert key in res.output, key
    market = tmp_path / "market.toml"
    market.write_text(
        'name = "x"\ngrid = "1-MV-rural--0-sw"\n'
        '[market]\npreset = "onenet-fragmented"\nassets = ["line:9999"]\n'
    )
    res = CliRunner().invoke(app, ["plan", str(market), "--out", str(out)])
    assert res.exit_code == 2 and "market.assets[0]" in res.output, res.output
    res = CliRunner().invoke(app, ["plan", str(tmp_path / "missing.toml")])
    assert res.exit_code == 2 and "missing.toml" in res.output
    assert not out.exists() and not (tmp_path / "flexcoord-plan").exists()


@pytest.mark.slow
def test_a_one_year_plan_writes_tables_report_and_decisions_that_follow_its_costs(
    tmp_path: Path,
) -> None:
    spec = tmp_path / "plan.toml"
    spec.write_text(GOOD)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["plan", str(spec), "--out", str(out)])
    assert res.exit_code == 0, res.output
    for name in ("crossover", "decisions", "flexibility", "payments", "reinforcement"):
        assert (out / f"{name}.parquet").is_file() and (out / f"{name}.csv").is_file(), name
    assert json.loads((out / "plan.json").read_text())["years"] == [2040]
    crossover = pd.read_parquet(out / "crossover.parquet")
    assert {"line:44", "bus:15"} <= set(crossover["asset"])
    reinforcement = pd.read_parquet(out / "reinforcement.parquet")
    assert reinforcement["verified"].all() and (reinforcement["steps_after"] == 0).all()
    flex = pd.read_parquet(out / "flexibility.parquet").set_index(["asset", "kind", "scenario"])
    for row in crossover.itertuples(index=False):
        f = flex.loc[(row.asset, row.kind, row.scenario)]
        cheaper = bool(f["removes_violation"]) and f["cost_eur"] <= row.reinforcement_eur_per_year
        assert row.crossover == ("none in horizon" if cheaper else "2040"), row
    # the dearer feed-in tariff never makes curtailment-based flexibility cheaper
    pv = flex[flex["pv_curtailed_mwh"] > 0]
    by = pv["cost_eur"].unstack("scenario")
    assert (by["high feed-in"] >= by["base"]).all()
    page = (out / "report.html").read_text()
    assert 'id="fc-table-crossover"' in page and 'id="fc-plot-asset-0"' in page
    assert "<script src=" not in page  # offline: plotly inlined
    assert res.output.strip().splitlines()[-1] == str(out.resolve())
