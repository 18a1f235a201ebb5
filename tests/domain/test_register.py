"""The register: lookups, cross-references and group rules, all issues in one raise."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from flexcoord.domain import (
    ConnectionPoint,
    FlexibilityServiceProvider,
    Group,
    Register,
    Unit,
)
from flexcoord.errors import InvalidInputError, NotFoundError

from .conftest import issues_of, register_parts


def test_lookups(register: Register) -> None:
    assert register.unit("u1").technology == "pv"
    assert isinstance(register.resource("g1"), Group)
    assert register.units_of("g1") == (register.unit("u1"), register.unit("u2"))
    assert register.buses_of("g1") == frozenset({2, 3})
    assert register.coupling_point_of("u3") == "trafo:1"
    assert register.coupling_point_of("u-hv") is None
    assert register.group_of("u2") == register.group("g1")
    assert register.group_of("u3") is None
    assert register.p_range_mw("g1") == 3.0
    assert register.coupling_point_ids == frozenset({"trafo:0", "trafo:1"})
    with pytest.raises(NotFoundError, match="nope"):
        register.unit("nope")
    with pytest.raises(LookupError):
        register.resource("nope")
    assert register.find_resources(["g1", "nope", "u3", "g1"]) == (
        register.group("g1"),
        None,
        register.unit("u3"),
        register.group("g1"),
    )
    assert register.coupling_point_ids is register.coupling_point_ids  # kept, not rebuilt


def test_is_product_qualified(register: Register) -> None:
    at = datetime(2026, 6, 1, tzinfo=UTC)
    assert register.is_product_qualified("g1", "p-da", at)
    assert register.is_product_qualified("g1", "p-da", at, operator_id="tso")  # common scope
    assert not register.is_product_qualified("u1", "p-da", at)
    assert not register.is_product_qualified("g1", "p-da", datetime(2027, 6, 1, tzinfo=UTC))


def _with(**changes: object) -> Register:
    parts = register_parts()
    for key, value in changes.items():
        parts[key] = value
    return Register(**parts)


def test_group_rules_are_all_reported() -> None:
    parts = register_parts()
    groups = [
        Group(id="g1", fsp_id="fsp-a", unit_ids=("u1", "u2")),
        Group(id="g-mixed", fsp_id="fsp-a", unit_ids=("u2", "u3", "u4", "u-ghost")),
        Group(id="g-hv", fsp_id="fsp-a", unit_ids=("u-hv",)),
    ]
    with pytest.raises(InvalidInputError) as info:
        _with(groups=groups, product_prequalifications=parts["product_prequalifications"])
    by_group: dict[str, list[str]] = {}
    for issue in info.value.issues:
        assert (issue.kind, issue.field) == ("Group", "unit_ids")
        by_group.setdefault(issue.object_id, []).append(issue.message)
    messages = " | ".join(by_group["g-mixed"])
    assert "u-ghost" in str([i.value for i in info.value.issues])
    assert "not to the group's FSP" in messages  # u4 belongs to fsp-b
    assert "one coupling point" in messages  # u2/u4 behind trafo:0, u3 behind trafo:1
    assert "more than one group" in messages  # u2 also in g1
    assert set(by_group) == {"g1", "g-mixed"}


def test_transmission_units_group_within_one_area() -> None:
    parts = register_parts()
    extra_cp = ConnectionPoint(id="cp-hv0", bus=0, area_id="hv")
    extra = Unit(
        id="u-hv0",
        fsp_id="fsp-a",
        connection_point_id="cp-hv0",
        technology="hydro",
        p_min_mw=0.0,
        p_max_mw=5.0,
    )
    register = _with(
        connection_points=[*parts["connection_points"], extra_cp],
        units=[*parts["units"], extra],
        groups=[*parts["groups"], Group(id="g-hv", fsp_id="fsp-a", unit_ids=("u-hv", "u-hv0"))],
    )
    assert register.coupling_point_of("g-hv") is None
    assert issues_of(
        lambda: _with(groups=[Group(id="g1", fsp_id="fsp-a", unit_ids=("u-hv", "u1"))])
    ) == {("Group", "g1", "unit_ids")}


def test_unknown_references_and_duplicates_in_one_raise() -> None:
    parts = register_parts()
    found = issues_of(
        lambda: _with(
            fsps=[*parts["fsps"], FlexibilityServiceProvider(id="tso", name="clash")],
            connection_points=[
                *parts["connection_points"],
                ConnectionPoint(id="cp-bad", bus=9, area_id="mv", coupling_point_id="trafo:7"),
                ConnectionPoint(id="cp-lost", bus=1, area_id="lv"),
            ],
            units=[
                *parts["units"],
                Unit(
                    id="u-bad",
                    fsp_id="fsp-z",
                    connection_point_id="cp-none",
                    technology="pv",
                    p_min_mw=0,
                    p_max_mw=1,
                ),
                replace(parts["units"][0], p_max_mw=2.0),
            ],
            product_prequalifications=[
                replace(p, resource_id="g9", product_id="p9", procuring_operator_id="x")
                for p in parts["product_prequalifications"]
            ],
        )
    )
    assert found == {
        ("SystemOperator", "tso", "id"),
        ("FlexibilityServiceProvider", "tso", "id"),
        ("ConnectionPoint", "cp-bad", "bus"),
        ("ConnectionPoint", "cp-bad", "coupling_point_id"),
        ("ConnectionPoint", "cp-lost", "area_id"),
        ("Unit", "u-bad", "fsp_id"),
        ("Unit", "u-bad", "connection_point_id"),
        ("Unit", "u1", "id"),
        ("ProductPrequalification", "pq1", "resource_id"),
        ("ProductPrequalification", "pq1", "product_id"),
        ("ProductPrequalification", "pq1", "procuring_operator_id"),
    }


def test_register_rejects_wrong_object_types() -> None:
    assert issues_of(lambda: Register(units=[{"id": "u1"}])) == {("Register", "register", "units")}


def test_derived_each_builds_each_key_once_and_keeps_it(register: Register) -> None:
    """Values derived per key come back in the keys' order; each key is built once per register
    (a changed register starts empty)."""
    built: list[str] = []

    def build(key: str) -> int:
        built.append(key)
        return len(key)

    assert register.derived_each("test.length", ["a", "bb", "a"], build) == [1, 2, 1]
    assert register.derived_each("test.length", ["bb", "ccc"], build) == [2, 3]
    assert built == ["a", "bb", "ccc"]
    changed = replace(register, products=register.products)
    assert changed.derived_each("test.length", ["a"], build) == [1]
    assert built == ["a", "bb", "ccc", "a"]
