"""Sweeps: the sweep file, checks naming matrix keys before any cell runs, serial / 1 / 2 Dask
workers giving identical tables, resume, failing cells, and ``flexcoord sweep``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from flexcoord.cli.app import app
from flexcoord.errors import InvalidInputError
from flexcoord.grid.pgm import PGM_THREADING_ENV, pgm_threading
from flexcoord.schemas.sweep import SweepFile, load_sweep
from flexcoord.simulation import sweep as sweep_module
from flexcoord.simulation.study_run import TABLES
from flexcoord.simulation.sweep import CELL_COLUMNS, check_sweep, run_sweep
from tests.cli.test_edge import no_grid_load  # noqa: F401  (the fixture, used by name)

GRID = "1-MV-rural--0-sw"
EXAMPLE = Path(__file__).parents[2] / "examples" / "sweeps" / "mv-rural-schemes.toml"

_SWEEP = """\
name = "small"

[base]
grid = "1-MV-rural--0-sw"
start = 2026-06-01
days = 1

[matrix]
schemes = ["smartnet-local", "onenet-common"]
seeds = [0, 1]
"""

runner = CliRunner()


def _write(tmp_path: Path, text: str, name: str = "sweep.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _fields(err: pytest.ExceptionInfo[InvalidInputError]) -> set[str]:
    return {i.field for i in err.value.issues}


def _sweep(matrix: dict[str, Any], **base: Any) -> SweepFile:
    return SweepFile.model_validate(
        {"name": "t", "base": {"grid": GRID, "days": 1, **base}, "matrix": matrix}
    )


# --- the file and its checks (no grid loads) ----------------------------------------------------


def test_the_example_sweep_file_is_read_and_its_cells_are_the_product_in_matrix_order() -> None:
    sweep = load_sweep(EXAMPLE)
    cells = check_sweep(sweep, str(EXAMPLE))
    assert sweep.n_cells() == len(cells) == 8
    assert [c.id for c in cells[:3]] == [
        "scheme=smartnet-local_fe=1_seed=0",
        "scheme=smartnet-local_fe=1_seed=1",
        "scheme=smartnet-local_fe=2_seed=0",
    ]
    doubled = cells[2].study.forecast_error
    assert (doubled.pv, doubled.load, doubled.autocorrelation) == (0.2, 0.06, 0.9)
    assert cells[0].study.schemes == ("smartnet-local",)
    assert cells[0].study.outputs.report is False


def test_unknown_keys_empty_axes_and_repeated_values_are_named(tmp_path: Path) -> None:
    bad = _SWEEP.replace("seeds = [0, 1]", "seeds = [0, 1, 0]\ngrid = []\nyears = []")
    bad = bad.replace("days = 1", "days = 1\ncolour = 'red'")
    path = _write(tmp_path, bad)
    with pytest.raises(InvalidInputError) as err:
        load_sweep(path)
    assert _fields(err) == {"matrix.grid", "matrix.years", "base.colour"}
    text = str(err.value)
    assert "is not a key of the sweep file (known keys: grids, schemes, years" in text
    assert "matrix.years=[] must hold at least 1 item" in text
    path = _write(tmp_path, _SWEEP.replace("seeds = [0, 1]", "seeds = [0, 1, 0]"))
    with pytest.raises(InvalidInputError) as err:
        load_sweep(path)
    assert [(i.field, i.value, i.source) for i in err.value.issues] == [
        ("matrix.seeds[2]", 0, str(path))
    ]


@pytest.mark.usefixtures("no_grid_load")
def test_a_bad_cell_is_named_by_the_matrix_key_before_any_grid_loads() -> None:
    sweep = _sweep(
        {
            "grids": [GRID, "1-MV-nowhere"],
            "schemes": ["no-such-preset", "smartnet-local"],
            "years": [2030, 1990],
            "forecast_error": [1.0, 30.0],
        }
    )
    with pytest.raises(InvalidInputError) as err:
        check_sweep(sweep, "s.toml")
    fields = _fields(err)
    assert {"matrix.grids[1]", "matrix.schemes[0]", "matrix.years[1]"} <= fields
    assert "matrix.forecast_error[1]" in fields
    assert not any(f in fields for f in ("grid", "schemes", "year", "matrix.grids[0]"))
    text = str(err.value)
    assert "matrix.schemes[0]='no-such-preset' is not a preset (known: all," in text
    assert "matrix.forecast_error[1]=30.0 makes forecast_error.pv 3.0" in text
    assert "must be <= 2" in text
    assert text.count("matrix.grids[1]") == 1  # one issue, not one per cell


@pytest.mark.usefixtures("no_grid_load")
def test_all_and_a_preset_on_the_schemes_axis_repeat_it() -> None:
    with pytest.raises(InvalidInputError) as err:
        check_sweep(_sweep({"schemes": ["all", "smartnet-local"]}))
    assert _fields(err) == {"matrix.schemes[1]"}
    assert len(check_sweep(_sweep({"schemes": ["all"]}))) == 20


@pytest.mark.usefixtures("no_grid_load")
def test_the_cli_refuses_a_bad_matrix_with_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    bad = _SWEEP.replace(
        'schemes = ["smartnet-local"',
        'grids = ["1-MV-rural--0-sw", "x-y"]\nschemes = ["smartnet-local"',
    )
    path = _write(tmp_path, bad)
    res = runner.invoke(app, ["sweep", str(path), "--out", str(out)], env={"COLUMNS": "200"})
    assert res.exit_code == 2, res.output
    assert "matrix.grids[1]='x-y'" in res.stderr
    assert "Traceback" not in res.output
    assert not out.exists()
    res = runner.invoke(app, ["sweep", str(path), "--serial", "--scheduler", "tcp://h:1"])
    assert res.exit_code == 2 and "--serial" in res.stderr and "cannot be combined" in res.stderr
    good = _write(tmp_path, _SWEEP, "good.toml")
    res = runner.invoke(app, ["sweep", str(good), "--out", str(out), "--scheduler", "nowhere"])
    assert res.exit_code == 2, res.output
    assert "option '--scheduler': value='nowhere' cannot be reached" in res.stderr
    assert not out.exists()


def test_pgm_threading_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PGM_THREADING_ENV, raising=False)
    assert (pgm_threading(), pgm_threading(3)) == (0, 3)
    monkeypatch.setenv(PGM_THREADING_ENV, "-1")
    assert pgm_threading() == -1
    monkeypatch.setenv(PGM_THREADING_ENV, "many")
    with pytest.raises(InvalidInputError, match="FLEXCOORD_PGM_THREADING"):
        pgm_threading()


# --- running (grids load) -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("sweep") / "serial"
    sweep = load_sweep(_write(tmp_path_factory.mktemp("file"), _SWEEP))
    return sweep, run_sweep(sweep, folder=folder, serial=True)


@pytest.mark.slow
def test_serial_one_and_two_dask_workers_give_identical_tables(
    serial_run: Any, tmp_path: Path
) -> None:
    from dask.distributed import Client, LocalCluster

    sweep, serial = serial_run
    assert [r.status for r in serial.cells] == ["done"] * 4
    kpis = serial.tables["kpis"]
    assert tuple(kpis.columns[: len(CELL_COLUMNS)]) == CELL_COLUMNS
    assert kpis["year"].dtype == "Int64" and kpis["year"].isna().all()
    assert kpis["cell"].unique().tolist() == [c.cell.id for c in serial.cells]
    assert set(kpis["scheme"]) == {"smartnet-local", "onenet-common", "no-flexibility"}
    one = run_sweep(sweep, folder=tmp_path / "one", workers=1)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        two = run_sweep(sweep, folder=tmp_path / "two", scheduler=cluster.scheduler_address)
        assert len(client.scheduler_info()["workers"]) == 2
        threading = client.run(lambda: os.environ.get(PGM_THREADING_ENV))
        assert set(threading.values()) == {"-1"}  # each worker's power flows sequential
    for name in TABLES:
        on_disk = pd.read_parquet(serial.folder / f"{name}.parquet")
        pd.testing.assert_frame_equal(on_disk, serial.tables[name])
        for other in (one, two):
            pd.testing.assert_frame_equal(serial.tables[name], other.tables[name])
            written = pd.read_parquet(other.folder / f"{name}.parquet")
            pd.testing.assert_frame_equal(serial.tables[name], written)
    cells = pd.read_parquet(two.folder / "cells.parquet")
    assert cells["status"].tolist() == ["done"] * 4  # wall_s differs run to run: not compared


@pytest.mark.slow
def test_a_resumed_sweep_recomputes_no_cell(
    serial_run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sweep, serial = serial_run
    marks = sorted(serial.folder.glob("cells/*/cell.json"))
    before = [p.stat().st_mtime_ns for p in marks]
    calls: list[str] = []
    monkeypatch.setattr(sweep_module, "run_cell", lambda cell, source: calls.append(cell.id))
    again = run_sweep(sweep, folder=serial.folder, serial=True)
    assert calls == [] and len(marks) == 4
    assert [r.status for r in again.cells] == ["skipped"] * 4
    assert [p.stat().st_mtime_ns for p in marks] == before
    for name in TABLES:
        pd.testing.assert_frame_equal(again.tables[name], serial.tables[name])
    other = sweep.model_copy(update={"name": "another"})
    with pytest.raises(InvalidInputError, match="holds the results of another sweep"):
        run_sweep(other, folder=serial.folder, serial=True)


@pytest.mark.slow
def test_a_failing_cell_is_reported_with_its_parameters_and_the_others_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = sweep_module.run_study

    def flaky(study: Any, **kw: Any) -> Any:
        if study.seed == 1:
            raise RuntimeError("solver on fire")
        return real(study, **kw)

    text = _SWEEP.replace('["smartnet-local", "onenet-common"]', '["smartnet-local"]')
    path = _write(tmp_path, text)
    out = tmp_path / "out"
    monkeypatch.setattr(sweep_module, "run_study", flaky)
    res = runner.invoke(app, ["sweep", str(path), "--out", str(out), "--serial"])
    assert res.exit_code == 1, res.output
    assert "[2/2] scheme=smartnet-local_seed=1 failed: RuntimeError: solver on fire" in res.stderr
    assert "1 cell(s) failed" in res.stderr and "'seed': 1" in res.stderr
    cells = pd.read_parquet(out / "cells.parquet")
    assert cells["status"].tolist() == ["done", "failed"]
    assert cells["error"].tolist() == [None, "RuntimeError: solver on fire"]
    assert set(pd.read_parquet(out / "kpis.parquet")["seed"]) == {0}
    assert (out / "cells" / "scheme=smartnet-local_seed=0" / "cell.json").is_file()
    assert not (out / "cells" / "scheme=smartnet-local_seed=1" / "cell.json").exists()
    monkeypatch.setattr(sweep_module, "run_study", real)  # the failed cell runs again
    res = runner.invoke(app, ["sweep", str(path), "--out", str(out), "--serial"])
    assert res.exit_code == 0, res.output
    statuses = pd.read_parquet(out / "cells.parquet")["status"].tolist()
    assert statuses == ["skipped", "done"]
    assert set(pd.read_parquet(out / "kpis.parquet")["seed"]) == {0, 1}
