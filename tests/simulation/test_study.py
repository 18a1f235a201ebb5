"""The study file, the study runner (resume, reproducibility) and ``flexcoord simulate``."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from flexcoord.cli.app import app
from flexcoord.errors import InvalidInputError
from flexcoord.schemas.study import StudyFile, load_study
from flexcoord.simulation.study import check_study
from flexcoord.simulation.study_run import TABLES, run_study

_STUDY = """\
name = "two-days"
grid = "1-MV-rural--0-sw"
start = 2026-06-01
days = 2
seed = 3
schemes = ["smartnet-centralised", "smartnet-local"]

[forecast_error]
pv = 0.2

[outputs]
formats = ["parquet", "csv"]
report = false
"""


def _write(tmp_path: Path, text: str, name: str = "study.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_study_file_is_read_with_defaults(tmp_path: Path) -> None:
    study = load_study(_write(tmp_path, _STUDY))
    assert (study.days, study.seed, study.forecast_error.pv) == (2, 3, 0.2)
    assert study.forecast_error.wind == 0.1  # default
    assert study.schemes == ("smartnet-centralised", "smartnet-local")


def test_every_bad_key_is_named_with_the_file(tmp_path: Path) -> None:
    bad = _STUDY.replace("pv = 0.2", "pv = -1\nsolar = 2").replace("days = 2", 'days = "x"')
    path = _write(tmp_path, bad)
    with pytest.raises(InvalidInputError) as err:
        load_study(path)
    found = {(i.field, i.source) for i in err.value.issues}
    assert found == {
        ("days", str(path)),
        ("forecast_error.pv", str(path)),
        ("forecast_error.solar", str(path)),
    }
    text = str(err.value)
    assert "forecast_error.pv=-1 must be >= 0" in text
    assert "is not a key of the study file (known keys: pv, wind" in text


def test_unknown_grid_preset_and_too_long_period_are_refused_before_any_grid_loads() -> None:
    study = StudyFile.model_validate(
        {
            "name": "x",
            "grid": "1-MV-nowhere",
            "start": "2026-12-30",
            "days": 5,
            "schemes": ["smartnet-local", "no-such-scheme"],
        }
    )
    with pytest.raises(InvalidInputError) as err:
        check_study(study, "s.toml")
    assert [i.field for i in err.value.issues] == ["grid", "schemes", "days"]
    assert "is not a preset" in str(err.value) and "profile year" in str(err.value)


def test_the_cli_gives_exit_code_2_and_no_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, _STUDY.replace("days = 2", "days = 0"))
    result = CliRunner().invoke(app, ["simulate", str(path)])
    assert result.exit_code == 2
    assert "days=0 must be >= 1" in result.output
    assert "Traceback" not in result.output
    missing = CliRunner().invoke(app, ["simulate", str(tmp_path / "none.toml")])
    assert missing.exit_code == 2 and "none.toml" in missing.output


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((folder / "tables").iterdir())
    }


@pytest.mark.slow
def test_a_study_runs_resumes_and_reproduces_bit_for_bit(tmp_path: Path) -> None:
    study = load_study(_write(tmp_path, _STUDY))
    first = run_study(study, folder=tmp_path / "a")
    assert (first.days_run, first.days_resumed) == (2, 0)
    every = first.tables["kpis"]
    assert set(every["scheme"]) == {"smartnet-centralised", "smartnet-local", "no-flexibility"}
    # the reference row: the realised day without a market, on the same yardstick
    none = every[every["scheme"] == "no-flexibility"].set_index("day")
    assert (none["violation_mwh"] == none["violation_mwh_no_flex"]).all()
    assert (none["bid_cost_eur"] == 0).all() and (none["unserved_mwh"] > 0).all()
    assert np.allclose(
        none["realised_cost_eur"], none["violation_cost_eur"] + none["unserved_cost_eur"]
    )
    kpis = every[every["scheme"] != "no-flexibility"]
    assert (kpis.groupby("day")["unserved_mwh"].max() <= none["unserved_mwh"] + 1e-9).all()
    assert (kpis["liquidity_units"] > 0).all() and (kpis["liquidity_fsps"] >= 1).all()
    assert sorted(kpis["day"].unique()) == ["2026-06-01", "2026-06-02"]
    for name in TABLES:
        frame = first.tables[name]
        if len(frame):
            assert {"study", "scheme", "day"} <= set(frame.columns), name
    # physics: the realised check sees the study's tightened limits; delivery never exceeds
    # what the units' physics allowed (a ratio far above 1 would be a sign error)
    deliveries = first.tables["deliveries"]
    assert len(deliveries) and (deliveries["ordered_mwh"] > 0).all()
    # a re-run into a new folder gives the same bytes
    second = run_study(study, folder=tmp_path / "b")
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    # resuming the first folder computes nothing and gives the same tables
    again = run_study(study, folder=tmp_path / "a")
    assert (again.days_run, again.days_resumed) == (0, 2)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    pd.testing.assert_frame_equal(again.tables["kpis"], second.tables["kpis"])


@pytest.mark.slow
def test_a_folder_of_another_study_is_refused(tmp_path: Path) -> None:
    study = load_study(_write(tmp_path, _STUDY.replace("days = 2", "days = 1")))
    run_study(study, folder=tmp_path / "out")
    other = study.model_copy(update={"seed": 4})
    with pytest.raises(InvalidInputError) as err:
        run_study(other, folder=tmp_path / "out")
    assert err.value.issues[0].field == "outputs.folder"


@pytest.mark.slow
def test_a_killed_run_keeps_its_completed_days_and_resumes(tmp_path: Path) -> None:
    path = _write(tmp_path, _STUDY.replace("days = 2", "days = 3"))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "flexcoord.cli.app", "simulate", str(path), "--out", str(out)]
    env = {**os.environ, "COLUMNS": "100"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    days = out / "days"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (days.is_dir() and any(days.glob("2026-*"))):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = sorted(p.name for p in days.glob("2026-*"))
    assert (done and not (out / "tables").exists()) or len(done) == 3
    result = CliRunner().invoke(app, ["simulate", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "resumed" in result.output
    assert sorted(p.name for p in days.glob("2026-*")) == ["2026-06-01", "2026-06-02", "2026-06-03"]
    assert not list(days.glob(".*"))  # no staging folder survived the resume


@pytest.mark.slow
def test_demo_runs_every_preset_and_prints_where_its_report_is(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    args = ["demo", "--days", "1", "--grid", "1-MV-rural--0-sw", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert str(out.resolve()) in result.output
    kpis = pd.read_parquet(out / "tables" / "kpis.parquet")
    assert kpis["scheme"].nunique() == 21  # every preset and the no-flexibility reference
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="fc-plot-grid"' in page and '<script src="http' not in page


@pytest.mark.slow
@pytest.mark.parametrize(
    "method", ["declared_schedule", "x_of_y", "meter_before_after", "rolling_average"]
)
def test_every_baseline_verifies_a_day_and_missing_data_is_never_zero(method: str) -> None:
    from flexcoord.simulation.day_run import run_day
    from flexcoord.simulation.study import day_market, plan_study

    study = StudyFile.model_validate(
        {
            "name": "b",
            "grid": "1-MV-rural--0-sw",
            "days": 1,
            "schemes": ["smartnet-local"],
            "baseline": {"method": method},
        }
    )
    plan = plan_study(study)
    outcome = run_day(plan, day_market(plan, 0), plan.presets[0])
    d = outcome.deliveries
    assert (d["status"] == "delivered").sum() > len(d) / 2
    missing = d[d["status"] == "insufficient_data"]
    assert missing["delivered_mwh"].isna().all()
    assert d.loc[d["status"] != "insufficient_data", "delivered_mwh"].notna().all()


def test_an_unwritable_output_folder_is_named_by_its_key(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    text = _STUDY.replace("[outputs]\n", f'[outputs]\nfolder = "{blocker / "out"}"\n')
    path = _write(tmp_path, text)
    result = CliRunner().invoke(app, ["simulate", str(path)])
    assert result.exit_code == 2
    assert f"{path}: outputs.folder=" in result.output and "is not a folder" in result.output
    assert not (blocker.parent / "out").exists()


@pytest.mark.parametrize(
    "path", sorted(Path(__file__).parents[2].joinpath("examples", "study").rglob("*.toml"))
)
def test_every_example_study_file_passes_its_checks(path: Path) -> None:
    study = load_study(path)
    check_study(study, str(path))  # grid code, presets, period: no grid is loaded


def test_a_grid_without_profiles_is_refused_before_it_loads(tmp_path: Path) -> None:
    path = _write(tmp_path, _STUDY.replace('grid = "1-MV-rural--0-sw"', 'grid = "mv-oberrhein"'))
    result = CliRunner().invoke(app, ["simulate", str(path)])
    assert result.exit_code == 2
    assert "grid='mv-oberrhein' has no year-long SimBench profiles" in result.output
    demo = CliRunner().invoke(app, ["demo", "--grid", "nowhere", "--out", str(tmp_path / "d")])
    assert demo.exit_code == 2 and "option '--grid'" in demo.output
    assert not (tmp_path / "d").exists()


@pytest.mark.slow
def test_batteries_deliver_what_they_offer_when_fsps_offer_what_they_can_sustain() -> None:
    """1-HVMV-mixed, a perfect forecast and exact devices: with the default ``sustain_h`` (4 h,
    the TSO need's length) the batteries deliver their orders in full; offering each MTU alone
    (``sustain_h = 0.25``) over-promises their SoC and they fail more than half of it."""
    from flexcoord.simulation.day_run import run_day
    from flexcoord.simulation.study import day_market, plan_study

    def battery_delivery(sustain_h: float) -> float:
        study = StudyFile.model_validate(
            {
                "name": "sustain",
                "grid": "1-HVMV-mixed-all-0-sw",
                "days": 1,
                "schemes": ["smartnet-common"],
                "fsp": {"sustain_h": sustain_h, "delivery_noise": 0.0, "failure_rate": 0.0},
                "forecast_error": {"pv": 0, "wind": 0, "load": 0, "ev": 0, "heat_pump": 0},
            }
        )
        plan = plan_study(study)
        d = run_day(plan, day_market(plan, 0), plan.presets[0]).deliveries
        bess = d[d["unit_id"].str.startswith("bess")]
        assert bess["ordered_mwh"].sum() > 1.0  # the batteries are bought
        return float(bess["delivered_mwh"].sum() / bess["ordered_mwh"].sum())

    assert battery_delivery(4.0) >= 0.99
    assert battery_delivery(0.25) < 0.6


@pytest.mark.slow
def test_availability_awards_are_verified_and_reported_in_the_day_loop() -> None:
    """A OneNet preset buys availability day-ahead and activates near real time: every award is
    verified (offered as obliged, calls delivered) and its share reported; none is forfeited,
    since each is backed by the unit's activation bid."""
    from flexcoord.simulation.day_run import run_day
    from flexcoord.simulation.study import day_market, plan_study

    study = StudyFile.model_validate(
        {"name": "a", "grid": "1-MV-rural--0-sw", "days": 1, "schemes": ["onenet-common"]}
    )
    plan = plan_study(study)
    outcome = run_day(plan, day_market(plan, 0), plan.presets[0])
    kpis = outcome.kpis
    assert float(kpis["availability_mw_h"]) > 0
    assert 0.5 <= float(kpis["availability_verified_share"]) <= 1.0
    assert float(kpis["availability_not_offered_mw_h"]) == 0.0
    paid = outcome.settlement[outcome.settlement["kind"] == "availability_payment"]
    assert len(paid) > 0


def test_a_bad_year_is_refused_naming_its_key_before_the_grid_loads(tmp_path: Path) -> None:
    for written, message in (('"2029"', "must be a whole number"), ("2029.5", "whole number")):
        path = _write(tmp_path, _STUDY.replace("days = 2", f"days = 2\nyear = {written}"))
        with pytest.raises(InvalidInputError) as err:
            load_study(path)
        assert [(i.field, i.source) for i in err.value.issues] == [("year", str(path))]
        assert message in str(err.value)
    for grid, year, message in (
        ("1-MV-rural--0-sw", 2070, "year=2070 must be in 2000..2060"),
        ("1-MV-rural--1-sw", 2029, "needs the grid code's scenario 0"),
        ("cigre-mv", 2029, "needs a SimBench grid with scenarios 0/1/2"),
    ):
        study = StudyFile.model_validate({"name": "y", "grid": grid, "year": year})
        with pytest.raises(InvalidInputError) as err:
            check_study(study, "s.toml")
        assert "year" in [i.field for i in err.value.issues] and message in str(err.value)


@pytest.mark.slow
def test_a_study_with_a_year_plans_on_the_grid_of_that_year() -> None:
    from flexcoord.grid.growth import network_of_year
    from flexcoord.simulation.day_run import run_day
    from flexcoord.simulation.study import day_market, plan_study

    study = StudyFile.model_validate(
        {
            "name": "y",
            "grid": "1-MV-rural--0-sw",
            "year": 2029,
            "days": 1,
            "schemes": ["smartnet-local"],
        }
    )
    plan = plan_study(study)
    assert plan.grid.code == "1-MV-rural--0-sw@2029"
    expected = network_of_year("1-MV-rural--0-sw", 2029)
    assert plan.grid.net.sgen.p_mw.sum() == pytest.approx(expected.sgen.p_mw.sum())
    assert len(plan.grid.net.storage) == len(expected.storage) > 0
    assert plan.devices  # the [growth] devices are added on the year's grid
    outcome = run_day(plan, day_market(plan, 0), plan.presets[0])
    assert len(outcome.deliveries) and (outcome.deliveries["ordered_mwh"] > 0).all()


@pytest.mark.slow
def test_days_on_two_dask_workers_give_the_serial_tables_bit_for_bit(tmp_path: Path) -> None:
    """The parallel path (days dealt out to two Dask workers, the last round split scheme by
    scheme) writes the same bytes as the serial one, with the no-flexibility reference."""
    study = load_study(_write(tmp_path, _STUDY.replace("days = 2", "days = 3")))
    serial = run_study(study, folder=tmp_path / "serial")
    parallel = run_study(study, folder=tmp_path / "parallel", workers=2)
    assert (parallel.days_run, serial.days_run) == (3, 3)
    assert _digests(tmp_path / "serial") == _digests(tmp_path / "parallel")
    assert "no-flexibility" in set(parallel.tables["kpis"]["scheme"])
