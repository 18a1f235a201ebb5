"""Actors, connection points, units and groups: construction invariants."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest

from flexcoord.domain import (
    ConnectionPoint,
    GridArea,
    Group,
    OperatorRole,
    SystemOperator,
    Technology,
    Unit,
)
from flexcoord.errors import InvalidInputError

from .conftest import issues_of


def make_unit(**overrides: Any) -> Unit:
    fields: dict[str, Any] = {
        "id": "u1",
        "fsp_id": "f",
        "connection_point_id": "cp1",
        "technology": "generic_generator",
        "p_min_mw": 0.0,
        "p_max_mw": 1.0,
    }
    fields.update(overrides)
    return Unit(**fields)


def test_enums_accept_their_string_values() -> None:
    assert SystemOperator(id="d", name="D", role="dso").role is OperatorRole.DSO
    assert make_unit(technology="chp").technology is Technology.CHP


def test_unknown_enum_value_is_reported() -> None:
    assert issues_of(lambda: SystemOperator(id="x", name="X", role="iso")) == {
        ("SystemOperator", "x", "role")
    }


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "1.0", True, None])
def test_unit_rejects_non_finite_power(bad: object) -> None:
    with pytest.raises(InvalidInputError) as info:
        make_unit(p_max_mw=bad)
    issue = info.value.issues[0]
    assert (issue.kind, issue.object_id, issue.field) == ("Unit", "u1", "p_max_mw")
    assert issue.value is bad


def test_unit_reports_every_problem_at_once() -> None:
    found = issues_of(
        lambda: make_unit(
            id="u9",
            fsp_id="",
            p_min_mw=2.0,
            p_max_mw=1.0,
            q_min_mvar=1.0,
            q_max_mvar=-1.0,
            min_power_factor=1.2,
            ramp_mw_per_min=0.0,
            activation_lead_time=timedelta(minutes=-1),
            min_duration=15,
        )
    )
    assert found == {
        ("Unit", "u9", f)
        for f in (
            "fsp_id",
            "p_max_mw",
            "q_max_mvar",
            "min_power_factor",
            "ramp_mw_per_min",
            "activation_lead_time",
            "min_duration",
        )
    }


def test_bess_requires_energy_limits() -> None:
    found = issues_of(lambda: make_unit(technology="bess", p_min_mw=-1.0))
    assert found == {("Unit", "u1", "energy_min_mwh"), ("Unit", "u1", "energy_max_mwh")}


def test_energy_limits_must_be_ordered_and_paired() -> None:
    assert issues_of(lambda: make_unit(energy_max_mwh=2.0)) == {("Unit", "u1", "energy_min_mwh")}
    assert issues_of(
        lambda: make_unit(energy_min_mwh=1.0, energy_max_mwh=2.0, energy_initial_mwh=3.0)
    ) == {("Unit", "u1", "energy_initial_mwh")}
    assert issues_of(lambda: make_unit(energy_min_mwh=3.0, energy_max_mwh=2.0)) == {
        ("Unit", "u1", "energy_max_mwh")
    }
    assert issues_of(lambda: make_unit(energy_min_mwh=-1.0, energy_max_mwh=2.0)) == {
        ("Unit", "u1", "energy_min_mwh")
    }


def test_heat_pump_energy_limits_are_optional() -> None:
    assert not make_unit(technology="heat_pump", p_min_mw=-1.0, p_max_mw=0.0).is_storage


@pytest.mark.parametrize(
    ("technology", "p_min_mw", "p_max_mw", "field"),
    [("pv", -0.1, 1.0, "p_min_mw"), ("heat_pump", -1.0, 0.5, "p_max_mw")],
)
def test_sign_convention_per_technology(
    technology: str, p_min_mw: float, p_max_mw: float, field: str
) -> None:
    assert issues_of(
        lambda: make_unit(technology=technology, p_min_mw=p_min_mw, p_max_mw=p_max_mw)
    ) == {("Unit", "u1", field)}


def test_valid_bess() -> None:
    unit = make_unit(
        technology="bess", p_min_mw=-1.0, p_max_mw=1.0, energy_min_mwh=0.0, energy_max_mwh=2.0
    )
    assert unit.p_range_mw == 2.0 and unit.is_storage


def test_units_are_frozen() -> None:
    unit = make_unit()
    with pytest.raises(AttributeError):
        unit.p_max_mw = 5.0  # type: ignore[misc]


def test_connection_point_and_area_checks() -> None:
    assert issues_of(lambda: ConnectionPoint(id="cp", bus=-1, area_id="")) == {
        ("ConnectionPoint", "cp", "bus"),
        ("ConnectionPoint", "cp", "area_id"),
    }
    assert issues_of(
        lambda: GridArea(id="a", operator_id="d", bus_ids=[], voltage_levels_kv=[0.0])
    ) == {("GridArea", "a", "bus_ids"), ("GridArea", "a", "voltage_levels_kv")}
    assert GridArea(id="a", operator_id="d", bus_ids=[1, 1, 2]).bus_ids == frozenset({1, 2})


def test_group_needs_units_without_duplicates() -> None:
    assert issues_of(lambda: Group(id="g", fsp_id="f", unit_ids=())) == {("Group", "g", "unit_ids")}
    with pytest.raises(InvalidInputError) as info:
        Group(id="g", fsp_id="f", unit_ids=("u1", "u2", "u1"))
    assert info.value.issues[0].value == ["u1"]
