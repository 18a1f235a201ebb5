"""DSO needs from forecast voltage problems (``simulation.voltage_needs``) and their study keys."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandapower as pp
import pytest

from flexcoord.domain import Direction, Interval
from flexcoord.errors import InvalidInputError
from flexcoord.grid.forecast import OperatingForecast
from flexcoord.grid.model import GridModel
from flexcoord.grid.portfolio import build_portfolio
from flexcoord.schemas.study import StudyFile, load_study
from flexcoord.simulation.voltage_needs import dso_voltage_needs, voltage_problems
from tests.conftest import five_bus_two_level_net

T0 = datetime(2026, 6, 1, tzinfo=UTC)
CREATED = T0 - timedelta(hours=13)
MARGIN = 0.01
# the five-bus grid: 110 kV slack bus 0; DSO area dso-1 = buses 1 (transformer) - 2 (load),
# dso-2 = buses 3 - 4 (load); no bus carries a band, so every one has 0.95-1.05 pu


@pytest.fixture(scope="module")
def grid() -> GridModel:
    return GridModel(five_bus_two_level_net(), code="five-bus")


def _forecast(grid: GridModel, vm_pu: np.ndarray) -> OperatingForecast:
    n_t = vm_pu.shape[1]
    names = grid.ptdf().branch_names
    return OperatingForecast(
        intervals=tuple(
            Interval(start=T0 + k * timedelta(minutes=15), end=T0 + (k + 1) * timedelta(minutes=15))
            for k in range(n_t)
        ),
        branch_names=names,
        branch_flow_mw=np.zeros((len(names), n_t)),
        bus_ids=np.arange(5, dtype=np.int64),
        vm_pu=vm_pu,
        issued_at=CREATED,
    )


def _needs(grid: GridModel, vm_pu: np.ndarray, **kw: Any) -> list[Any]:
    return dso_voltage_needs(
        grid,
        build_portfolio(grid),
        _forecast(grid, vm_pu),
        created=CREATED,
        margin_pu=MARGIN,
        **kw,
    )


def _ac_vm_after(grid: GridModel, bus: int, p_mw: float) -> tuple[float, float]:
    """The AC voltage of ``bus`` at the grid's loaded point, and after injecting ``p_mw``."""
    net = copy.deepcopy(grid.net)
    pp.runpp(net)
    before = float(net.res_bus.vm_pu.at[bus])
    pp.create_sgen(net, bus, p_mw=p_mw)
    pp.runpp(net)
    return before, float(net.res_bus.vm_pu.at[bus])


def test_a_forecast_undervoltage_gives_an_upward_need_that_lifts_the_bus_back(
    grid: GridModel,
) -> None:
    vm = np.ones((5, 4))
    deficit = 0.0015
    vm[2, 1] = 0.95 - MARGIN - deficit  # bus 2 dips below its band (and margin) in MTU 1
    (need,) = _needs(grid, vm)
    assert need.direction is Direction.UP
    assert need.location.bus_ids == frozenset({2})
    assert need.buyer_id == "dso"
    quantities = [q.quantity for q in need.quantities]
    assert quantities[0] == quantities[2] == quantities[3] == 0.0
    # the MW raises the bus's AC voltage by the deficit (linearisation: within 5 %)
    before, after = _ac_vm_after(grid, 2, quantities[1])
    assert after - before == pytest.approx(deficit, rel=0.05)


def test_a_forecast_overvoltage_gives_a_downward_need_in_its_own_area(grid: GridModel) -> None:
    vm = np.ones((5, 4))
    deficit = 0.001
    vm[4, 2] = 1.05 + MARGIN + deficit
    (need,) = _needs(grid, vm)
    assert (need.direction, need.location.bus_ids) == (Direction.DOWN, frozenset({4}))
    assert "dso-2" in need.id and need.quantities[2].quantity > 0
    assert sum(q.quantity > 0 for q in need.quantities) == 1
    before, after = _ac_vm_after(grid, 4, -need.quantities[2].quantity)
    assert before - after == pytest.approx(deficit, rel=0.05)


def test_no_problem_no_need_and_the_margin_is_a_dead_band(grid: GridModel) -> None:
    assert _needs(grid, np.ones((5, 4))) == []
    vm = np.ones((5, 4))
    vm[2, 1] = 0.95 - MARGIN / 2  # outside the band, inside the margin
    vm[0, :] = 0.5  # the TSO's slack bus is no DSO's problem
    vm[3, :] = np.nan  # nor a bus without voltage (out of service)
    assert _needs(grid, vm) == []


def test_a_bus_outside_its_band_all_day_needs_only_its_excursions(grid: GridModel) -> None:
    vm = np.ones((5, 6))
    vm[2, :] = 0.93  # the structural offset of the day: a tap's job, no need
    assert _needs(grid, vm) == []
    vm[2, 3] = 0.93 - MARGIN - 0.001  # an excursion below the day's level
    (need,) = _needs(grid, vm)
    assert need.direction is Direction.UP
    assert [q.quantity > 0 for q in need.quantities] == [False, False, False, True, False, False]


def test_a_problem_beyond_the_reach_of_the_areas_flexibility_posts_no_need(
    grid: GridModel,
) -> None:
    vm = np.ones((5, 4))
    vm[2, 1] = 0.95 - MARGIN - 0.01  # about 8 MW at bus 2, which hosts a 4 MW load
    (problem,) = voltage_problems(
        grid, build_portfolio(grid), _forecast(grid, vm), margin_pu=MARGIN
    )
    assert not problem.reachable and problem.quantity_mw.max() > problem.flexible_range_mw / 2
    assert _needs(grid, vm) == []
    assert len(_needs(grid, vm, reach_factor=0.0)) == 1


def test_bad_rule_values_are_refused_naming_the_field(grid: GridModel) -> None:
    vm = np.ones((5, 4))
    with pytest.raises(InvalidInputError) as err:
        _needs(grid, vm, reach_factor=float("nan"), min_need_mw=-1.0)
    assert {i.field for i in err.value.issues} == {"min_need_mw"}
    with pytest.raises(InvalidInputError) as err:
        voltage_problems(
            grid, build_portfolio(grid), _forecast(grid, vm), margin_pu=-0.1, reach_factor=np.inf
        )
    assert {i.field for i in err.value.issues} == {"margin_pu", "reach_factor"}


_STUDY = """\
name = "v"
grid = "1-MV-rural--2-sw"
days = 1
schemes = ["smartnet-local"]

[needs]
dso_voltage = {on}
dso_voltage_margin_pu = {margin}
"""


def test_the_study_keys_default_on_and_bad_values_name_the_key(tmp_path: Path) -> None:
    assert StudyFile.model_validate({"name": "x", "grid": "g"}).needs.dso_voltage is True
    path = tmp_path / "s.toml"
    path.write_text(_STUDY.format(on="false", margin="0.005"), encoding="utf-8")
    study = load_study(path)
    assert (study.needs.dso_voltage, study.needs.dso_voltage_margin_pu) == (False, 0.005)
    path.write_text(_STUDY.format(on='"maybe"', margin="-0.01"), encoding="utf-8")
    with pytest.raises(InvalidInputError) as err:
        load_study(path)
    assert {i.field for i in err.value.issues} == {
        "needs.dso_voltage",
        "needs.dso_voltage_margin_pu",
    }
    text = str(err.value)
    assert "must be true or false" in text and "must be >= 0" in text


@pytest.mark.slow
def test_a_study_day_with_voltage_needs_posts_them_and_runs() -> None:
    from flexcoord.simulation.day_run import run_day
    from flexcoord.simulation.study import day_market, plan_study

    def day(on: bool) -> Any:
        study = StudyFile.model_validate(
            {
                "name": "v",
                "grid": "1-MV-rural--2-sw",  # 2034 PV: feeder ends above 1.055 pu at noon
                "days": 1,
                "schemes": ["smartnet-local"],
                "needs": {"dso_voltage": on, "dso_voltage_margin_pu": 0.0},
            }
        )
        plan = plan_study(study)
        return plan, day_market(plan, 0)

    _, off = day(False)
    plan, on = day(True)
    voltage = [n for n in on.base.needs if n.id.startswith("n-dso-voltage-")]
    assert voltage and all(n.direction is Direction.DOWN for n in voltage)
    assert [n.id for n in on.base.needs if n not in voltage] == [n.id for n in off.base.needs]
    # every need reaches the markets of the day's chain, every round
    chain = on.chains[plan.presets[0].timeframes]
    posted = {n.id.rsplit("@", 1)[0] for r in chain.rounds for n in r.needs}
    assert {n.id for n in voltage} <= posted
    outcome = run_day(plan, on, plan.presets[0])
    assert outcome.kpis["ordered_mwh"] > 0
