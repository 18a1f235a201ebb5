"""``flexcoord coordinate``: presets list, one preset and all schemes on a small seeded scenario,
the example market file, and option errors (exit 2 naming the option and the valid ids)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flexcoord.cli.app import app
from flexcoord.coordination import PRESETS

EXAMPLE = Path(__file__).parents[2] / "examples" / "market"
GRID = "1-MV-rural--0-sw"
SMALL = ["--grid", GRID, "--bids", "60", "--seed", "0"]
KPI_COLUMNS = {
    "total_cost_eur",
    "bid_cost_eur",
    "activated_mwh",
    "forwarded_bids",
    "residual_violation_tso_mwh",
    "residual_violation_dso_mwh",
    "dso_violation_caused_by_tso_mwh",
    "ac_violation_tso_mwh",
    "ac_violation_dso_mwh",
    "ac_voltage_violation_pu_h",
    "ac_dso_violation_caused_by_tso_mwh",
    "conflicts_double_activation",
    "conflicts_counter_activation",
    "conflicts_dso_limit",
    "liquidity_root_bids_per_need",
    "liquidity_root_bids",
    "liquidity_units",
    "liquidity_fsps",
    "curtailed_renewable_mwh",
    "markets",
    "wall_s",
    "solver_s",
    "cheapest",
}


def _invoke(args: list[str]) -> Any:
    return CliRunner().invoke(app, ["coordinate", *args], env={"COLUMNS": "200"})


def test_list_presets_shows_every_preset() -> None:
    res = _invoke(["--list-presets"])
    assert res.exit_code == 0, res.output
    assert "smartnet-centralised" in res.stdout and "onenet-slovenia" in res.stdout
    assert "evolvdso-pq-region" in res.stdout and "pq_region" in res.stdout
    res = _invoke(["--list-presets", "--json", "-"])
    rows = json.loads(res.stdout)
    assert [r["id"] for r in rows] == [p.id for p in PRESETS]
    assert {"title", "market_model", "tso_access_to_ders", "source"} <= set(rows[0])
    assert {"market_model_strategy", "stakeholders", "notes"} <= set(rows[0])


def test_list_presets_json_exports_every_scheme_config_field() -> None:
    import dataclasses

    from flexcoord.coordination.config import SchemeConfig
    from flexcoord.coordination.primacy import PrimacyRules

    res = _invoke(["--list-presets", "--json", "-"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    names = [f.name for f in dataclasses.fields(SchemeConfig)]
    # every field, in the dataclass's order, then the strategy the preset runs
    assert all(list(row) == [*names, "market_model_strategy"] for row in rows)
    by_id = {r["id"]: r for r in rows}
    cyprus = by_id["onenet-cyprus"]
    assert cyprus["timeframes"] == ["intraday", "near_real_time"]
    assert cyprus["product_kinds"] == ["availability", "activation"]
    assert cyprus["availability_obliges_activation_bid"] is True
    assert cyprus["stakeholders"] == ["TSO", "DSO", "SP", "IMO"]
    assert by_id["onenet-czech-republic"]["power_types"] == ["active", "reactive"]
    assert by_id["nged-mw-dispatch"]["primacy"] == {"system_value_margin": 0.25}
    assert by_id["nged-mw-dispatch"]["market_model_strategy"] == "mw_dispatch"
    # plain JSON values only, and each preset is rebuilt from its row (str enums equal values)
    for preset_row, config in zip(rows, PRESETS, strict=True):
        primacy = preset_row.pop("primacy")  # the MW Dispatch presets' rules, else None
        assert all(isinstance(v, str | bool | list) for v in preset_row.values())
        fields = {k: v for k, v in preset_row.items() if k != "market_model_strategy"}
        rebuilt = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
        rebuilt["primacy"] = None if primacy is None else PrimacyRules(**primacy)
        assert SchemeConfig(**rebuilt) == config


@pytest.mark.slow
def test_one_preset_on_a_small_seeded_scenario_json_to_stdout() -> None:
    res = _invoke([*SMALL, "--preset", "smartnet-centralised", "--json", "-"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)  # stdout holds the JSON only; tables went to stderr
    assert "coordination schemes" in res.stderr and "sub-markets" in res.stderr
    assert doc["scenario"]["bids"] == 60 and doc["scenario"]["grid"] == GRID
    assert [r["scheme"] for r in doc["comparison"]] == ["smartnet-centralised"]
    row = doc["comparison"][0]
    assert set(row) >= KPI_COLUMNS
    assert {f"procurement_{b}_eur" for b in doc["buyers"]} <= set(row)
    assert {f"shortfall_{b}_mwh" for b in doc["buyers"]} <= set(row)
    assert row["cheapest"] is True and row["markets"] == 1
    # the centralised scheme ignores the DSO grid: its DSO violations are reported, never < 0
    assert row["dso_violation_caused_by_tso_mwh"] >= 0.0
    assert row["ac_dso_violation_caused_by_tso_mwh"] >= 0.0  # AC-checked by default
    assert row["ac_violation_dso_mwh"] >= 0.0 and row["ac_voltage_violation_pu_h"] is None
    run = doc["schemes"][0]
    assert run["markets"][0]["id"] == "common" and run["markets"][0]["buyer_ids"] == ["tso"]
    assert row["conflicts_dso_limit"] == sum(c["kind"] == "dso_limit" for c in run["conflicts"])


@pytest.mark.slow
def test_all_schemes_compared_in_preset_order(tmp_path: Path) -> None:
    out = tmp_path / "comparison.json"
    res = _invoke([*SMALL, "--all", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "★" in res.stdout and "onenet-cyprus" in res.stdout
    doc = json.loads(out.read_text())
    rows = doc["comparison"]
    assert [r["scheme"] for r in rows] == [p.id for p in PRESETS]
    cheapest = min(r["total_cost_eur"] for r in rows)
    assert any(r["cheapest"] for r in rows)
    assert all(r["total_cost_eur"] <= cheapest + 1e-6 for r in rows if r["cheapest"])
    by_id = {r["scheme"]: r for r in rows}
    # DSO-only pilots leave the TSO's need unserved; the joint common market serves both
    assert by_id["onenet-spain"]["procurement_tso_eur"] == 0.0
    assert by_id["smartnet-common"]["markets"] == 1
    assert by_id["onenet-multi-level"]["markets"] == 2
    # the common market minimises the yardstick: no scheme with the same buyers beats it
    for scheme in ("smartnet-local", "onenet-multi-level", "onenet-fragmented"):
        assert by_id["smartnet-common"]["total_cost_eur"] <= by_id[scheme]["total_cost_eur"] + 1e-3


@pytest.mark.slow
def test_example_market_file_under_a_preset() -> None:
    res = _invoke(
        [
            str(EXAMPLE / "market.json"),
            *("--grid", GRID, "--preset", "onenet-common", "--no-ac-check", "--json", "-"),
        ]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["scenario"]["needs_per_buyer"] == {"dso": 1, "tso": 1}
    assert doc["scenario"]["mtus"] == 2
    assert set(doc["buyers"]) == {"dso", "tso"}
    assert doc["comparison"][0]["activated_mwh"] > 0.0
    assert doc["comparison"][0]["ac_violation_dso_mwh"] is None  # --no-ac-check


def test_unknown_preset_exits_2_naming_the_valid_ids() -> None:
    res = _invoke(["--grid", GRID, "--preset", "no-such-scheme"])
    assert res.exit_code == 2
    assert "--preset" in res.output and "no-such-scheme" in res.output
    assert "smartnet-common" in res.output and "onenet-poland" in res.output


def test_options_that_do_not_fit_exit_2() -> None:
    res = _invoke(["--grid", GRID])  # neither --preset nor --all
    assert res.exit_code == 2 and "--all" in res.output
    res = _invoke(["--grid", GRID, "--all", "--preset", "smartnet-common"])
    assert res.exit_code == 2 and "cannot be combined" in res.output
    res = _invoke(["--all"])  # no grid
    assert res.exit_code == 2 and "--grid" in res.output
    res = _invoke([str(EXAMPLE / "market.json"), "--grid", GRID, "--all", "--bids", "5"])
    assert res.exit_code == 2 and "--bids" in res.output


@pytest.mark.slow
def test_market_file_with_an_unknown_buyer_exits_2(tmp_path: Path) -> None:
    doc = json.loads((EXAMPLE / "market.json").read_text())
    doc["needs"][0]["buyer_id"] = "dso-nowhere"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    res = _invoke([str(bad), "--grid", GRID, "--preset", "smartnet-common"])
    assert res.exit_code == 2
    assert "dso-congestion" in res.output and "buyer_id" in res.output and "brp" in res.output


@pytest.mark.slow
def test_market_file_ac_check_starts_from_the_markets_base_case() -> None:
    """The AC check of a market file runs on the file's profile step, as the markets clear: with
    no accepted bid its flows are the linear base flows up to the linearisation error (the
    reactive flow of lightly loaded MV cables, at most 0.2 MW here; on the grid's snapshot
    instead of the profile step a line showed 1.47 MW in AC against -0.57 MW linear)."""
    from flexcoord.cli.coordinate import market_file_input
    from flexcoord.coordination.runner import JointModel
    from flexcoord.grid.model import load_grid
    from flexcoord.schemas import load_market_file

    market = load_market_file(EXAMPLE / "market.json")
    scenario = market_file_input(market, load_grid(GRID), source="market.json")
    assert scenario.profile_start_step == market.profile_start_step == 14448
    joint = JointModel.of(scenario)
    ac = joint.ac_flows({}).branch_flow_mw
    linear = joint.problem.base_flow_mw
    assert float(abs(ac - linear).max()) < 0.25
    loaded = abs(linear) > 0.25  # where the flow is well above that error, the signs agree
    assert loaded.any() and (ac[loaded] * linear[loaded] > 0).all()


def test_cluster_options_that_do_not_fit_exit_2() -> None:
    res = _invoke([*SMALL, "--all", "--workers", "0"])
    assert res.exit_code == 2 and "--workers" in res.output
    res = _invoke([str(EXAMPLE / "market.json"), "--grid", GRID, "--all", "--dso-per-area"])
    assert res.exit_code == 2 and "--dso-per-area" in res.output


@pytest.mark.slow
def test_an_unreachable_scheduler_exits_2_naming_it() -> None:
    """The scenario is built first (MV rural), then the client waits its 10 s for the address."""
    res = _invoke([*SMALL, "--all", "--scheduler", "tcp://127.0.0.1:9", "--no-ac-check"])
    assert res.exit_code == 2 and "--scheduler" in res.output and "cannot be reached" in res.output


@pytest.mark.slow
def test_dso_markets_on_two_local_workers_give_the_serial_comparison() -> None:
    """``--workers 2``: each DSO area's market (``--dso-per-area``) solved on a local Dask
    cluster; the document is the serial one but for the run times."""
    args = ["--grid", "1-HVMV-mixed-all-0-sw", "--bids", "200", "--mtus", "4", "--dso-per-area"]
    args += ["--preset", "onenet-multi-level", "--no-ac-check", "--json", "-"]
    serial = _invoke(args)
    parallel = _invoke([*args, "--workers", "2"])
    assert serial.exit_code == 0 and parallel.exit_code == 0, parallel.output
    assert "DSO markets solved on 2 local Dask worker(s)" in parallel.stderr

    def outcome(doc: dict[str, Any]) -> Any:
        rows = [
            {k: v for k, v in r.items() if k not in ("wall_s", "solver_s")}
            for r in doc["comparison"]
        ]
        markets = [
            {k: v for k, v in m.items() if k != "solver_s"} for m in doc["schemes"][0]["markets"]
        ]
        return rows, markets, doc["schemes"][0]["conflicts"]

    serial_doc, parallel_doc = json.loads(serial.stdout), json.loads(parallel.stdout)
    assert sum(m["id"].startswith("dso:") for m in serial_doc["schemes"][0]["markets"]) == 18
    assert outcome(parallel_doc) == outcome(serial_doc)
