"""Tidy tables of result documents, written as CSV and Parquet, atomically."""

from __future__ import annotations

import csv
from pathlib import Path
from unittest import mock

import pandas as pd
import pytest

from flexcoord.clearing import clear_problem
from flexcoord.clearing.report import result_document
from flexcoord.errors import InvalidInputError
from flexcoord.simulation import tables as tables_module
from flexcoord.simulation.report import comparison_document
from flexcoord.simulation.tables import (
    AWARD_COLUMNS,
    CLEARING_AWARD_COLUMNS,
    CLEARING_NEED_COLUMNS,
    COST_COLUMNS,
    COVERAGE_COLUMNS,
    DISPATCH_COLUMNS,
    clearing_tables,
    coordination_tables,
    write_tables,
)
from tests.clearing.test_engine import market
from tests.coordination.schemes_fixtures import scheme_outcomes


def coordination() -> dict[str, pd.DataFrame]:
    return coordination_tables(comparison_document(list(scheme_outcomes(0).values())))


def header(path: Path) -> list[str]:
    with path.open(newline="") as fh:
        return next(csv.reader(fh))


def test_clearing_tables_have_the_documented_columns(tmp_path: Path) -> None:
    result = clear_problem(market([{"price": 10.0}, {"price": 90.0}], need_mw=3.0, cap=50.0))
    tables = clearing_tables(result_document(result))
    write_tables(tables, tmp_path)
    assert header(tmp_path / "awards.csv") == list(CLEARING_AWARD_COLUMNS)
    assert header(tmp_path / "needs.csv") == list(CLEARING_NEED_COLUMNS)
    assert header(tmp_path / "costs.csv") == list(COST_COLUMNS)
    costs = pd.read_csv(tmp_path / "costs.csv")
    parts = costs[["bid_cost_eur", "shortfall_penalty_eur", "violation_penalty_eur"]].sum(axis=1)
    assert round(float(parts[0]), 2) == float(costs.loc[0, "total_cost_eur"])


def test_coordination_tables_have_the_documented_columns(tmp_path: Path) -> None:
    tables = coordination()
    paths = write_tables(tables, tmp_path)
    assert {p.name for p in paths} == {f"{n}.{f}" for n in tables for f in ("csv", "parquet")}
    assert header(tmp_path / "awards.csv") == list(AWARD_COLUMNS)
    assert header(tmp_path / "dispatch.csv") == list(DISPATCH_COLUMNS)
    assert header(tmp_path / "coverage.csv") == list(COVERAGE_COLUMNS)
    kpis = pd.read_csv(tmp_path / "kpis.csv")
    assert kpis["scheme"].is_unique and len(kpis) == len(scheme_outcomes(0))
    for column in ("total_cost_eur", "bid_cost_eur", "shortfall_penalty_eur", "penalty_share"):
        assert column in kpis.columns
    assert (tables["awards"]["quantity_mw"] > 0).all()
    assert tables["awards"]["buyer_ids"].map(type).eq(str).all()  # lists ;-joined


@pytest.mark.parametrize("name", ["awards", "kpis", "dispatch", "coverage", "conflicts"])
def test_parquet_reads_back_equal(tmp_path: Path, name: str) -> None:
    frame = coordination()[name]
    write_tables({name: frame}, tmp_path, formats=("parquet",))
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / f"{name}.parquet"), frame)


def test_a_failure_leaves_no_half_written_file(tmp_path: Path) -> None:
    good = pd.DataFrame({"a": [1.0]})
    write_tables({"kpis": good}, tmp_path, formats=("csv",))
    before = (tmp_path / "kpis.csv").read_bytes()
    calls = 0

    def flaky(frame: pd.DataFrame, path: Path, fmt: str) -> None:
        nonlocal calls
        calls += 1
        path.write_text("half")
        if calls == 3:
            raise OSError("disk full")

    with mock.patch.object(tables_module, "_write", flaky), pytest.raises(OSError):
        write_tables({"kpis": good, "awards": good}, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kpis.csv"]  # no temporaries
    assert (tmp_path / "kpis.csv").read_bytes() == before  # the old file untouched


def test_bad_formats_and_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="formats"):
        write_tables({"kpis": pd.DataFrame()}, tmp_path, formats=("xlsx",))
    with pytest.raises(InvalidInputError, match="plain file names"):
        write_tables({"../kpis": pd.DataFrame()}, tmp_path)
