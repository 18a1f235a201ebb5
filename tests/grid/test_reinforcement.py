"""The reinforcement of each violating asset removes its violation in the re-run assessment."""

from __future__ import annotations

import pytest

from flexcoord.grid.growth_path import GrowthPath, network_on_path
from flexcoord.grid.reinforcement import apply_reinforcement, reinforce, remaining_violation
from flexcoord.grid.timeseries import assess
from flexcoord.schemas.plan import CostsSection

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def congested() -> object:
    return network_on_path(GrowthPath(code="1-MV-rural--0-sw", heat_pump_mw={2045: 8.0}), 2045)


@pytest.mark.parametrize(("asset", "kind"), [("line:44", "overload"), ("bus:15", "overvoltage")])
def test_the_measure_removes_the_violation_in_the_re_run_assessment(
    congested: object, asset: str, kind: str
) -> None:
    summary = assess(congested, keep_violations=False).summary
    assert ((summary["asset"] == asset) & (summary["kind"] == kind)).any()
    r = reinforce(congested, asset, kind, costs=CostsSection())
    assert r.verified and r.steps_before > 0 and r.steps_after == 0
    assert remaining_violation(apply_reinforcement(congested, r), asset, kind) == 0
    assert remaining_violation(congested, asset, kind) == r.steps_before  # caller's net unchanged
    per_km = CostsSection().mv_cable_rural_eur_per_km
    assert r.capex_eur == pytest.approx(r.length_km * per_km)
    dearer = reinforce(
        congested, asset, kind, costs=CostsSection(mv_cable_rural_eur_per_km=2 * per_km)
    )
    assert dearer.capex_eur == pytest.approx(2 * r.capex_eur)
