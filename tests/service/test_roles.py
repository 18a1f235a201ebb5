"""The role → operation table is the behaviour: every operation × every role, and the docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flexcoord.service import PERMISSIONS, Operation, Role
from tests.service.conftest import Api

DOCS = Path(__file__).parents[2] / "docs" / "service.md"


def _routes(api: Api) -> dict[str, tuple[str, str]]:
    """Operation name → (method, path), from the OpenAPI document (operationId = name)."""
    paths = api.client.get("/openapi.json").json()["paths"]
    return {
        spec["operationId"]: (method.upper(), path)
        for path, methods in paths.items()
        for method, spec in methods.items()
    }


def test_every_operation_has_one_route_and_every_v1_route_an_operation(api: Api) -> None:
    operations = set(Operation)
    routed = [
        name
        for name, (_, path) in _routes(api).items()
        if path.startswith("/v1") or name in operations  # /metrics is an operation off /v1
    ]
    assert sorted(routed) == sorted(Operation)
    assert set(PERMISSIONS) == set(Operation)


def test_each_role_may_call_exactly_the_operations_the_table_grants(api: Api) -> None:
    for role in Role:
        if role is not Role.ADMIN:
            api.party(f"p-{role.value}", role.value)
    keys = {Role.ADMIN: "admin", **{r: f"p-{r.value}" for r in Role if r is not Role.ADMIN}}
    behaviour: dict[tuple[Operation, Role], bool] = {}
    for name, (method, template) in _routes(api).items():
        if name not in set(Operation):
            continue
        path = re.sub(r"\{[^}]+\}", "nothing-here", template)
        for role, party in keys.items():
            r = api.as_(party, method, path, json={} if method == "POST" else None)
            assert r.status_code != 401, (name, role, r.text)
            assert r.status_code < 500, (name, role, r.text)
            behaviour[Operation(name), role] = r.status_code != 403
    table = {(op, role): role in PERMISSIONS[op] for op in Operation for role in Role}
    assert behaviour == table
    print(f"\n{len(behaviour)} (operation, role) calls match the table")


@pytest.mark.parametrize(
    "header", [None, "Bearer nope", "Basic abc", "Bearer fck_0123456789abcdef_" + "A" * 43]
)
def test_every_operation_refuses_a_missing_or_wrong_key_with_401(
    api: Api, header: str | None
) -> None:
    for name, (method, template) in _routes(api).items():
        if name not in set(Operation):
            continue
        path = re.sub(r"\{[^}]+\}", "x", template)
        headers = {} if header is None else {"Authorization": header}
        r = api.client.request(method, path, headers=headers)
        assert r.status_code == 401, (name, r.text)
        assert r.headers["WWW-Authenticate"] == "Bearer"


def _documented_table() -> dict[Operation, frozenset[Role]]:
    text = DOCS.read_text()
    section = text.split("## Roles and operations", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    header = next(line for line in section.splitlines() if line.startswith("| Operation"))
    roles = [Role(c.strip().strip("`")) for c in header.strip("|").split("|")[1:]]
    table = {}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        table[Operation(cells[0].strip("`"))] = frozenset(
            role for role, cell in zip(roles, cells[1:], strict=True) if cell == "yes"
        )
    return table


def test_the_documented_table_is_the_table() -> None:
    assert _documented_table() == dict(PERMISSIONS)
