"""The grid of a year: scenario years give SimBench's scenario nets, years between interpolate."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from flexcoord.errors import InvalidInputError
from flexcoord.grid.growth import SCENARIO_YEARS, grid_of_year, network_of_year, year_issues
from flexcoord.grid.loading import load_network
from flexcoord.grid.model import load_grid

CODE = "1-MV-rural--0-sw"
TABLES = ("bus", "line", "trafo", "switch", "ext_grid", "load", "sgen", "storage")


def _scenario(scenario: int) -> str:
    return CODE.replace("--0-", f"--{scenario}-")


def _totals(net: Any) -> dict[str, float]:
    sgen = net.sgen
    return {
        "pv_mw": float(sgen.p_mw[sgen.type.isin(["PV_MV", "lv_RES"])].sum()),
        "wind_mw": float(sgen.p_mw[sgen.type.str.startswith("Wind")].sum()),
        "sgen_mw": float(sgen.p_mw.sum()),
        "load_mw": float(net.load.p_mw.sum()),
        "storage_mw": float(-net.storage.p_mw.sum()),
        "storage_mwh": float(net.storage.max_e_mwh.sum()),
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    ("year", "scenario"), [(2016, 0), (2024, 1), (2034, 2), (2005, 0), (2050, 2)]
)
def test_a_scenario_year_or_one_outside_gives_the_scenario_net_itself(
    year: int, scenario: int
) -> None:
    net, expected = network_of_year(CODE, year), load_network(_scenario(scenario))
    for table in TABLES:
        pd.testing.assert_frame_equal(net[table], expected[table], obj=table)
    for name, frame in expected.profiles.items():
        pd.testing.assert_frame_equal(net.profiles[name], frame, obj=name)
    grid = grid_of_year(CODE, year)
    assert grid.code == _scenario(scenario)
    pd.testing.assert_frame_equal(grid.net.sgen, load_grid(_scenario(scenario)).net.sgen)


@pytest.mark.slow
@pytest.mark.parametrize("year", [2020, 2029])
def test_a_mid_year_lies_on_the_line_between_its_two_scenarios(year: int) -> None:
    (s0, y0), (s1, y1) = (
        ((0, 2016), (1, 2024)) if year < SCENARIO_YEARS[1] else ((1, 2024), (2, 2034))
    )
    f = (year - y0) / (y1 - y0)
    got = _totals(network_of_year(CODE, year))
    low, high = _totals(load_network(_scenario(s0))), _totals(load_network(_scenario(s1)))
    grew = [k for k in got if low[k] != high[k]]
    assert {"pv_mw", "load_mw", "storage_mw"} <= set(grew)
    for key in got:
        assert got[key] == pytest.approx(low[key] + f * (high[key] - low[key]), rel=1e-9), key
        if key in grew:
            assert min(low[key], high[key]) < got[key] < max(low[key], high[key]), key


@pytest.mark.slow
def test_installed_capacity_grows_monotonically_with_the_year() -> None:
    totals = pd.DataFrame([_totals(network_of_year(CODE, y)) for y in range(2014, 2037, 2)])
    assert (totals.diff().iloc[1:] >= -1e-9).all().all(), totals


@pytest.mark.slow
def test_each_profiles_summed_absolute_series_is_the_linear_blend() -> None:
    def load_series_mw(net: Any, steps: slice) -> pd.Series:
        table = net.profiles["load"].iloc[steps]
        out = {}
        for profile, group in net.load.groupby("profile"):
            out[profile] = table[f"{profile}_pload"].to_numpy() * group.p_mw.sum()
        return pd.Series({k: np.asarray(v) for k, v in out.items()})

    steps = slice(96 * 20, 96 * 20 + 96)
    mid = load_series_mw(network_of_year(CODE, 2029), steps)
    low = load_series_mw(load_network(_scenario(1)), steps)
    high = load_series_mw(load_network(_scenario(2)), steps)
    changed = [p for p in mid.index if not np.allclose(low[p], high[p])]
    assert changed  # the LV profiles differ between scenarios
    for profile in mid.index:
        np.testing.assert_allclose(mid[profile], 0.5 * (low[profile] + high[profile]), rtol=1e-9)


@pytest.mark.slow
def test_a_mid_year_grid_is_a_full_grid_model_on_the_later_scenarios_assets() -> None:
    grid = grid_of_year(CODE, 2020)
    later = load_grid(_scenario(1))
    assert grid.code == f"{CODE}@2020" and grid is grid_of_year(CODE, 2020)
    assert len(grid.net.line) == len(later.net.line) > len(load_network(CODE).line)
    assert [a.id for a in grid.areas.dso_areas] == [a.id for a in later.areas.dso_areas]
    assessment = grid.assess(start=96 * 150, steps=8)
    assert assessment.grid_name == grid.code and len(assessment.summary) >= 0
    assert grid.profiles().n_steps == later.profiles().n_steps


@pytest.mark.parametrize(
    ("code", "year", "message"),
    [
        (CODE, 1999, "must be in 2000..2060"),
        (CODE, 2061, "must be in 2000..2060"),
        (CODE, 2029.5, "must be a whole number"),
        (CODE, True, "must be a whole number"),
        ("1-MV-rural--2-sw", 2029, "needs the grid code's scenario 0"),
        ("cigre-mv", 2029, "needs a SimBench grid with scenarios"),
        ("1-MV-nowhere--0-sw", 2029, "needs a SimBench grid with scenarios"),
    ],
)
def test_a_bad_year_or_grid_code_is_one_issue_naming_the_key(
    code: str, year: Any, message: str
) -> None:
    issues = year_issues(code, year, field="year", source="s.toml")
    assert [(i.field, i.source) for i in issues] == [("year", "s.toml")]
    assert message in issues[0].message
    with pytest.raises(InvalidInputError, match="year"):
        network_of_year(code, year)


class _Net(dict[str, Any]):
    """The two tables of a pandapower net that element matching reads, by key and attribute."""

    __getattr__ = dict.__getitem__


def test_elements_match_by_name_on_bus_names_and_one_sided_ones_scale() -> None:
    from flexcoord.grid.growth import _blend_elements

    def net(buses: list[str], loads: list[tuple[str, str, float]]) -> _Net:
        bus = pd.DataFrame({"name": buses}, index=range(10, 10 + len(buses)))
        index = {n: i for i, n in zip(bus.index, bus.name, strict=True)}
        rows = [{"name": n, "bus": index[b], "p_mw": p, "sn_mva": np.nan} for n, b, p in loads]
        return _Net(bus=bus, load=pd.DataFrame(rows))

    earlier = net(["b1", "b2"], [("kept", "b1", 1.0), ("retired", "b2", 2.0)])
    later = net(["new", "b1", "b2"], [("kept", "b1", 3.0), ("added", "new", 4.0)])
    out = _blend_elements(earlier, later, "load", 0.25).set_index("name")
    assert out.loc["kept", "p_mw"] == pytest.approx(1.5)  # 1 + 0.25·(3 − 1)
    assert out.loc["added", "p_mw"] == pytest.approx(1.0)  # 0.25·4
    assert out.loc["retired", "p_mw"] == pytest.approx(1.5)  # 0.75·2
    assert out.loc["retired", "bus"] == 12  # "b2" on the later net's bus index
    assert out["sn_mva"].isna().all()
