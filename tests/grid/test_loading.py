"""Grid loading: caching, independence of copies, unknown codes, the SimBench fixes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flexcoord.errors import InvalidInputError, NotFoundError
from flexcoord.grid.loading import PANDAPOWER_NETWORKS, load_network, simbench_codes
from flexcoord.grid.model import GridModel


def test_unknown_code_suggests_the_closest_ones() -> None:
    with pytest.raises(NotFoundError) as err:
        load_network("1-MV-nowhere--0-sw")
    message = str(err.value)
    assert "'1-MV-nowhere--0-sw'" in message
    assert "did you mean '1-MV-comm--0-sw'" in message and "flexcoord grid list" in message
    assert len(message) < 300  # not the 282 codes
    assert isinstance(err.value, LookupError)


def test_codes_match_in_any_case_and_name_the_canonical_code() -> None:
    from flexcoord.grid.loading import grid_catalogue, resolve_grid_code

    assert resolve_grid_code("1-mv-RURAL--0-sw").code == "1-MV-rural--0-sw"
    assert resolve_grid_code("CIGRE-MV").has_profiles is False
    assert {e.source for e in grid_catalogue()} == {"simbench", "pandapower"}
    with pytest.raises(NotFoundError, match=r"e\.g\. '1-MV-rural--0-sw'"):
        resolve_grid_code("zzzz")


def test_simbench_codes_are_many_and_sorted() -> None:
    codes = simbench_codes()
    assert len(codes) > 200
    assert list(codes) == sorted(codes)


@pytest.mark.slow
def test_copies_are_independent_and_fixed() -> None:
    first = load_network("1-MV-rural--0-sw")
    first.load.loc[:, "p_mw"] = 99.0
    second = load_network("1-mv-rural--0-sw")
    assert second.load.p_mw.max() < 99.0
    assert second.name == "1-MV-rural--0-sw"  # what messages about the network call it
    assert second.trafo.vector_group.notna().all()
    assert (second.trafo.tap_changer_type == "Ratio").all()


@pytest.mark.slow
@pytest.mark.parametrize("code", sorted(PANDAPOWER_NETWORKS))
def test_pandapower_networks_load_on_a_fresh_machine(
    code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no network cached (an empty cache folder and memory), each of pandapower's networks
    is built and loads under the suite's warnings-as-errors: mv-oberrhein runs pandapower's power
    flow while it is built and pandapower warns of its own file (this failed a fresh-clone CI run
    whose machine had no cache)."""
    from flexcoord.grid import loading

    monkeypatch.setenv("FLEXCOORD_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(loading, "_MEMORY", {})
    net = load_network(code)
    assert len(net.bus)
    assert list(tmp_path.rglob(f"{code}.pkl"))  # built, then cached for the next call
    if len(net.trafo):
        assert "tap_dependency_table" in net.trafo.columns


@pytest.mark.slow
def test_units_on_unknown_buses_are_reported_together(mv_rural: Any) -> None:
    with pytest.raises(InvalidInputError) as err:
        mv_rural.check_buses([("Unit", "u1", 5), ("Unit", "u2", 4242), ("Unit", "u3", -1)])
    issues = err.value.issues
    assert [(i.object_id, i.field, i.value) for i in issues] == [
        ("u2", "bus", 4242),
        ("u3", "bus", -1),
    ]


@pytest.mark.slow
def test_grid_info(mv_rural: Any) -> None:
    info = mv_rural.info()
    assert info["buses"] == 97 and info["lines"] == 99 and info["transformers"] == 2
    assert info["voltage_levels_kv"] == {"20": 95, "110": 2}
    assert info["profile_steps"] == 35136
    assert info["dso_areas"][0]["coupling_points"] == ["trafo:0", "trafo:1"]


def test_grid_model_on_hand_built_net(five_bus: Any) -> None:
    grid = GridModel(five_bus, code="five-bus")
    assert grid.ptdf().matrix.shape == (4, 5)
    assert grid.ptdf() is grid.ptdf()  # cached
    assert grid.branch_limits().branch_names == grid.ptdf().branch_names


@pytest.mark.slow
def test_assessment_rows_carry_area_and_operator(hvmv_mixed: Any) -> None:
    result = hvmv_mixed.assess(start=17280, steps=96)
    assert result.grid_name == "1-HVMV-mixed-all-0-sw"
    areas = hvmv_mixed.asset_areas()
    for frame in (result.violations, result.summary):
        assert (frame["area"].astype(str) == frame["asset"].astype(str).map(areas)).all()
        assert set(frame["operator"].astype(str)) <= {"tso", "dso"}
    tso_buses = {f"bus:{b}" for b in hvmv_mixed.areas.tso_bus_ids}
    tagged = result.summary.set_index("asset")["operator"].astype(str)
    assert all(
        (tagged[a] == "tso") == (a in tso_buses) for a in tagged.index if a.startswith("bus:")
    )
