"""Time-series grid assessment: against pandapower on sampled steps, tables against raw arrays."""

from __future__ import annotations

import copy
import doctest
import json
from typing import Any

import numpy as np
import pandapower as pp
import pandas as pd
import pytest
import simbench

import flexcoord.grid.timeseries
from flexcoord.errors import GridError, InvalidInputError
from flexcoord.grid.loading import load_network
from flexcoord.grid.timeseries import GridAssessment, assess
from flexcoord.grid.timeseries_profiles import Profiles
from tests.conftest import MV_RURAL, three_bus_net

START = 16_000  # a week in June: PV feed-in and low load
STEPS = 672


@pytest.fixture(scope="module")
def mv_net() -> Any:
    net = load_network(MV_RURAL)
    # a storage unit without a profile (constant charging) exercises the storage path
    pp.create_storage(net, 40, p_mw=0.3, max_e_mwh=1.0, q_mvar=0.05)
    return net


@pytest.fixture(scope="module")
def week(mv_net: Any) -> GridAssessment:
    return assess(
        mv_net,
        start=START,
        steps=STEPS,
        chunk_steps=200,  # not a divisor of STEPS: a short last chunk
        vm_max_pu=1.04,  # tighter than SimBench's 1.055 so that the week has violations
        max_loading_percent=40.0,
        keep_results=True,
    )


@pytest.mark.slow
def test_profiles_equal_simbench_absolute_values(mv_net: Any) -> None:
    net = copy.deepcopy(mv_net)
    net.storage = net.storage.iloc[0:0]  # simbench cannot handle an element without a profile
    profiles = Profiles.of(net)
    expected = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
    n = profiles.n_steps
    for series, key in (
        (profiles.load_p, ("load", "p_mw")),
        (profiles.load_q, ("load", "q_mvar")),
        (profiles.sgen_p, ("sgen", "p_mw")),
    ):
        np.testing.assert_allclose(series.values(0, n), expected[key].to_numpy(), rtol=1e-12)


@pytest.mark.slow
def test_sampled_steps_match_pandapower(mv_net: Any, week: GridAssessment) -> None:
    assert week.vm_pu is not None
    assert week.loading_percent is not None
    profiles = Profiles.of(mv_net)
    for offset in (0, 301, STEPS - 1):
        t = START + offset
        net = copy.deepcopy(mv_net)
        net.load["p_mw"] = profiles.load_p.values(t, t + 1)[0]
        net.load["q_mvar"] = profiles.load_q.values(t, t + 1)[0]
        net.sgen["p_mw"] = profiles.sgen_p.values(t, t + 1)[0]
        pp.runpp(net, tolerance_mva=1e-9)
        ours = week.vm_pu.iloc[offset]
        assert (ours - net.res_bus.vm_pu).abs().max() < 1e-4
        loading = week.loading_percent.iloc[offset]
        assert abs(loading["line:10"] - net.res_line.loading_percent[10]) < 1e-2


@pytest.mark.slow
def test_violation_table_matches_raw_arrays(mv_net: Any, week: GridAssessment) -> None:
    assert week.vm_pu is not None
    assert week.loading_percent is not None
    violations = week.violations
    overloads = int((week.loading_percent.to_numpy() > 40.0).sum())
    vmin = mv_net.bus.min_vm_pu.to_numpy()
    under = int((week.vm_pu.to_numpy() < vmin).sum())
    over = int((week.vm_pu.to_numpy() > 1.04).sum())
    counts = violations.kind.value_counts()
    assert overloads > 0
    assert over > 0
    assert counts.get("overload", 0) == overloads
    assert counts.get("undervoltage", 0) == under
    assert counts.get("overvoltage", 0) == over

    # one row checked against the arrays, by time and asset
    row = violations[violations.kind == "overload"].iloc[-1]
    assert row.value == week.loading_percent.loc[row.time, row.asset]
    assert row.limit == 40.0
    assert str(row.time.tz) == "UTC"
    # labels are German wall-clock time: step START is label START, in UTC
    assert week.start_time == pd.Timestamp(
        pd.to_datetime(mv_net.profiles["load"]["time"].iloc[START], format="%d.%m.%Y %H:%M")
    ).tz_localize("Europe/Berlin")

    summary = week.summary
    assert summary.steps.sum() == len(violations)
    np.testing.assert_allclose(summary.hours, summary.steps * 0.25)
    worst = summary[summary.kind == "overload"].iloc[0]
    column = week.loading_percent[worst.asset]
    assert worst.worst_value == column.max()
    assert worst.first_time == column.index[column > 40.0][0]
    assert week.max_loading_percent == np.nanmax(week.loading_percent.to_numpy())
    assert week.per_step.violations.sum() == len(violations)
    assert week.steps == STEPS


@pytest.mark.slow
def test_times_are_the_profile_labels_in_utc(mv_net: Any) -> None:
    profiles = Profiles.of(mv_net)
    times, step_h = profiles.times(0, profiles.n_steps)
    assert step_h == 0.25
    assert times[0] == pd.Timestamp("2015-12-31 23:00", tz="UTC")
    local = times.tz_convert("Europe/Berlin").strftime("%d.%m.%Y %H:%M")
    assert list(local) == list(mv_net.profiles["load"]["time"])
    days = pd.Series(1, index=times.tz_convert("Europe/Berlin")).groupby(lambda t: t.date()).size()
    assert sorted(set(days)) == [92, 96, 100]


@pytest.mark.slow
def test_summary_without_violation_table(mv_net: Any, week: GridAssessment) -> None:
    lean = assess(
        mv_net,
        start=START,
        steps=STEPS,
        vm_max_pu=1.04,
        max_loading_percent=40.0,
        keep_violations=False,
    )
    assert lean.violations.empty
    pd.testing.assert_frame_equal(lean.summary, week.summary)
    assert lean.totals()["violations"] == len(week.violations)


@pytest.mark.slow
def test_to_dict_is_json(week: GridAssessment) -> None:
    data = json.loads(json.dumps(week.to_dict(), allow_nan=False))
    assert data["totals"]["steps"] == STEPS
    assert len(data["violations"]) == len(week.violations)
    assert data["summary"][0]["first_time"].endswith("+00:00")


@pytest.mark.slow
def test_progress_and_default_limits(mv_net: Any) -> None:
    calls: list[tuple[int, int]] = []
    result = assess(
        mv_net, start=START, steps=192, chunk_steps=96, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(0, 192), (96, 192), (192, 192)]
    assert result.vm_pu is None
    assert result.limits.vm_max_pu is None


@pytest.mark.slow
def test_unsupplied_bus_is_a_grid_error(mv_net: Any) -> None:
    net = copy.deepcopy(mv_net)
    island = pp.create_bus(net, vn_kv=20.0)
    with pytest.raises(GridError, match=f"bus:{island}"):
        assess(net, steps=96)


@pytest.mark.slow
def test_window_outside_profiles_is_invalid(mv_net: Any) -> None:
    with pytest.raises(InvalidInputError, match="start/steps"):
        assess(mv_net, start=35_100, steps=96)


def test_network_without_profiles_is_invalid() -> None:
    with pytest.raises(InvalidInputError, match="profiles"):
        assess(three_bus_net())


@pytest.mark.slow
def test_examples() -> None:
    result = doctest.testmod(flexcoord.grid.timeseries, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.slow
def test_non_converged_steps_are_reported_not_raised(mv_net: Any) -> None:
    net = copy.deepcopy(mv_net)
    net.load["scaling"] = 12.0  # far beyond what the feeders carry: a voltage collapse at peak
    result = assess(net, steps=192)
    assert result.non_converged_times
    assert result.totals()["non_converged_steps"] == len(result.non_converged_times)
    failed = result.per_step.loc[list(result.non_converged_times)]
    assert failed.min_vm_pu.isna().all()
    assert (failed.violations == 0).all()
