"""TSO/DSO split and coupling points."""

from __future__ import annotations

from typing import Any

import pytest

from flexcoord.errors import InvalidInputError
from flexcoord.grid.areas import split_areas


def test_five_bus_has_one_tso_bus_and_two_dso_areas(five_bus: Any) -> None:
    split = split_areas(five_bus)
    assert split.tso_bus_ids == frozenset({0})
    assert [len(a.bus_ids) for a in split.dso_areas] == [2, 2]
    assert [[cp.id for cp in a.coupling_points] for a in split.dso_areas] == [
        ["trafo:0"],
        ["trafo:1"],
    ]
    cp = split.dso_areas[1].coupling_points[0]
    assert (cp.hv_bus, cp.lv_bus, cp.rating_mva) == (0, 3, 25.0)
    assert split.area_of_bus() == {0: "tso", 1: "dso-1", 2: "dso-1", 3: "dso-2", 4: "dso-2"}


def test_threshold_above_every_bus_makes_ext_grid_the_coupling_point(five_bus: Any) -> None:
    split = split_areas(five_bus, tso_min_vn_kv=220.0)
    assert split.tso_bus_ids == frozenset()
    assert len(split.dso_areas) == 1
    assert [cp.id for cp in split.dso_areas[0].coupling_points] == ["ext_grid:0"]


def test_bad_threshold_names_the_field(five_bus: Any) -> None:
    with pytest.raises(InvalidInputError, match="tso_min_vn_kv"):
        split_areas(five_bus, tso_min_vn_kv=float("nan"))


@pytest.mark.slow
def test_hvmv_mixed_areas(hvmv_mixed: Any) -> None:
    split = hvmv_mixed.areas
    net = hvmv_mixed.net
    assert len(split.tso_bus_ids) == int((net.bus.vn_kv >= 110).sum())
    # every in-service bus is in exactly one area
    covered = [b for a in split.dso_areas for b in a.bus_ids]
    assert len(covered) == len(set(covered)) == len(net.bus) - len(split.tso_bus_ids)
    # every HV/MV transformer is a coupling point of the area on its LV side
    cps = {cp.id: cp for cp in split.coupling_points}
    hv_mv = net.trafo[
        (net.bus.vn_kv.reindex(net.trafo.hv_bus).to_numpy() >= 110)
        & (net.bus.vn_kv.reindex(net.trafo.lv_bus).to_numpy() < 110)
    ]
    assert set(cps) == {f"trafo:{i}" for i in hv_mv.index}
    for area in split.dso_areas:
        assert area.coupling_points, area.id
        assert all(
            cp.lv_bus in area.bus_ids and cp.hv_bus in split.tso_bus_ids
            for cp in area.coupling_points
        )
    assert len({a.id for a in split.dso_areas}) == len(split.dso_areas)


def _control_area_grid() -> Any:
    """A TSO control area T (220 kV bus 0, 110 kV bus 1), a DSO control area D of 110 kV
    (bus 2, fed by a tie line drawn from the DSO side, and bus 3), and a 20 kV bus 4 in no
    control area below the TSO's transformer."""
    import pandapower as pp

    net = pp.create_empty_network()
    for vn_kv in (220.0, 110.0, 110.0, 110.0, 20.0):
        pp.create_bus(net, vn_kv=vn_kv)
    pp.create_ext_grid(net, 0)
    pp.create_transformer(net, 0, 1, std_type="100 MVA 220/110 kV")
    pp.create_line(net, 2, 1, length_km=5.0, std_type="149-AL1/24-ST1A 110.0")  # DSO → TSO
    pp.create_line(net, 2, 3, length_km=5.0, std_type="149-AL1/24-ST1A 110.0")
    pp.create_transformer(net, 1, 4, std_type="40 MVA 110/20 kV")
    pp.create_load(net, 3, p_mw=10.0)
    net.bus["control_area"] = ["T", "T", "D", "D", None]
    return net


def test_control_areas_cut_the_areas_and_tie_lines_are_coupling_points() -> None:
    from flexcoord.grid.areas import orient_tie_lines, tso_control_area

    net = _control_area_grid()
    assert tso_control_area(net) == "T"  # the highest voltage, not the most buses
    assert orient_tie_lines(net) == 1
    assert (int(net.line.from_bus.at[0]), int(net.line.to_bus.at[0])) == (1, 2)
    split = split_areas(net)
    assert split.tso_control_area == "T"
    assert split.tso_bus_ids == frozenset({0, 1})  # bus 2 is 110 kV but the DSO's
    assert split.area_of_bus() == {0: "tso", 1: "tso", 2: "D", 3: "D", 4: "dso-2"}
    d, outside = split.dso_areas
    (tie,) = d.coupling_points
    assert (tie.id, tie.hv_bus, tie.lv_bus) == ("line:0", 1, 2)
    assert tie.rating_mva == pytest.approx(float(net.line.max_i_ka.at[0]) * 110.0 * 3**0.5)
    assert [cp.id for cp in outside.coupling_points] == ["trafo:1"]  # the voltage rule there


def test_one_control_area_leaves_the_voltage_rule(five_bus: Any) -> None:
    import copy

    net = copy.deepcopy(five_bus)
    net.bus["control_area"] = "ONLY"
    assert split_areas(net) == split_areas(five_bus)
