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
