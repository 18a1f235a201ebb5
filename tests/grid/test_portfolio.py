"""DER portfolio from a grid: units per element, areas, deterministic additions."""

from __future__ import annotations

from typing import Any

import pytest

from flexcoord.domain import Technology
from flexcoord.errors import InvalidInputError
from flexcoord.grid.model import GridModel
from flexcoord.grid.portfolio import ScenarioAdditions, build_portfolio, sgen_technology


def test_five_bus_portfolio_maps_loads_to_buses_and_areas(five_bus: Any) -> None:
    reg = build_portfolio(GridModel(five_bus, code="five"))
    assert [u.id for u in reg.units] == ["load:0", "load:1"]
    assert [(u.p_min_mw, u.p_max_mw) for u in reg.units] == [(-4.0, 0.0), (-4.0, 0.0)]
    assert [(cp.id, cp.bus, cp.area_id, cp.coupling_point_id) for cp in reg.connection_points] == [
        ("cp:2", 2, "dso-1", "trafo:0"),
        ("cp:4", 4, "dso-2", "trafo:1"),
    ]
    assert sorted(o.id for o in reg.operators) == ["dso", "tso"]
    assert reg.coupling_point_of("load:1") == "trafo:1"


def test_one_dso_per_area_on_request(five_bus: Any) -> None:
    reg = build_portfolio(GridModel(five_bus, code="five"), dso_per_area=True)
    assert sorted(o.id for o in reg.operators) == ["dso:dso-1", "dso:dso-2", "tso"]
    assert {a.id: a.operator_id for a in reg.areas} == {
        "tso": "tso",
        "dso-1": "dso:dso-1",
        "dso-2": "dso:dso-2",
    }


def test_additions_are_seeded_and_on_distribution_load_buses(five_bus: Any) -> None:
    grid = GridModel(five_bus, code="five")
    add = ScenarioAdditions(ev_chargers=3, heat_pumps=2, batteries=1, seed=4)
    first, second = build_portfolio(grid, additions=add), build_portfolio(grid, additions=add)
    assert first == second
    added = [u for u in first.units if not u.id.startswith("load:")]
    assert [u.technology for u in added] == [Technology.EV_CHARGING] * 3 + [
        Technology.HEAT_PUMP
    ] * 2 + [Technology.BESS]
    assert {first.connection_point(u.connection_point_id).bus for u in added} <= {2, 4}
    bess = added[-1]
    assert (bess.energy_min_mwh, bess.energy_max_mwh, bess.energy_initial_mwh) == (0.0, 1.0, 0.5)


def test_bad_additions_name_every_field() -> None:
    with pytest.raises(InvalidInputError) as err:
        ScenarioAdditions(ev_chargers=-1, battery_p_mw=float("nan"))
    assert {i.field for i in err.value.issues} == {"ev_chargers", "battery_p_mw"}


def test_sgen_types() -> None:
    assert sgen_technology("PV_MV") is Technology.PV
    assert sgen_technology("Wind_MV") is Technology.WIND
    assert sgen_technology("lv_RES") is Technology.GENERIC_GENERATOR
    assert sgen_technology(None) is Technology.GENERIC_GENERATOR


@pytest.mark.slow
def test_hvmv_portfolio_has_every_element(hvmv_mixed: Any) -> None:
    net = hvmv_mixed.net
    reg = build_portfolio(hvmv_mixed, additions=ScenarioAdditions(ev_chargers=100, batteries=10))
    assert len(reg.units) == len(net.sgen) + len(net.load) + 110
    dso_area_ids = {a.id for a in hvmv_mixed.areas.dso_areas}
    for unit in reg.units:
        cp = reg.connection_point(unit.connection_point_id)
        assert (
            cp.bus == int(getattr(net, unit.id.split(":")[0]).bus.at[int(unit.id.split(":")[1])])
            if unit.id.split(":")[0] in ("sgen", "load")
            else cp.area_id in dso_area_ids
        )


@pytest.mark.slow
def test_a_distribution_only_grid_has_a_tso_operator_but_no_empty_tso_area() -> None:
    grid = GridModel.load("1-LV-rural1--0-sw")  # no bus at or above 110 kV
    assert not grid.areas.tso_bus_ids
    reg = build_portfolio(grid)
    assert "tso" in {o.id for o in reg.operators}
    assert "tso" not in {a.id for a in reg.areas}
    assert {a.id for a in reg.areas} == {a.id for a in grid.areas.dso_areas}
