"""T17, schemathesis over every operation of the app's OpenAPI document, once with the key of
each role (admin, tso, dso, fsp, market_operator), through the ASGI app over the battery's
database (PostgreSQL when available): 0 server errors, 0 responses outside their documented
status codes, content types and schemas. The number of generated requests is reported."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import checks as common_checks
from schemathesis.specs.openapi import checks as openapi_checks

from flexcoord.service import PERMISSIONS, Operation, Role, ServiceSettings, create_app
from tests.service.reliability.conftest import Database

#: Examples per operation and role, where the role may call it (the route runs) ...
EXAMPLES_PER_OPERATION = 15
#: ... and where it may not (the answer is the 403 given before the body is read).
EXAMPLES_FORBIDDEN = 3
CHECKS = [
    common_checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
]


def _keys(app: Any, admin_key: str) -> dict[Role, str]:
    """A party of every role and its key (the administrator's is the database's first)."""
    keys = {Role.ADMIN: admin_key}
    with TestClient(app) as client:
        auth = {"Authorization": f"Bearer {admin_key}"}
        for role in Role:
            if role is Role.ADMIN:
                continue
            body = {"id": f"fuzz-{role.value}", "name": role.value, "role": role.value}
            assert client.post("/v1/parties", json=body, headers=auth).status_code == 201
            r = client.post(f"/v1/parties/fuzz-{role.value}/credentials", headers=auth)
            keys[role] = r.json()["api_key"]
    return keys


def _examples(operation: Any, role: Role) -> int:
    name = operation.definition.raw.get("operationId")
    permitted = name not in set(Operation) or role in PERMISSIONS[Operation(name)]
    return EXAMPLES_PER_OPERATION if permitted else EXAMPLES_FORBIDDEN


def _fuzz(operation: Any, role: Role, key: str, found: list[str], counted: list[int]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=_examples(operation, role),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        counted[0] += 1
        try:
            case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)
        except Exception as failure:  # a check failed: collected, reported below
            found.append(f"{operation.label}: {type(failure).__name__}: {str(failure)[:400]}")

    run()


@pytest.mark.slow
def test_every_operation_with_every_roles_key(
    live_database: Database, record_property: Callable[[str, object], None]
) -> None:
    app = create_app(ServiceSettings(database_url=live_database.url))
    keys = _keys(app, live_database.admin_key)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    found: list[str] = []
    counted = [0]
    for role, key in keys.items():
        for operation in operations:
            before = len(found)
            _fuzz(operation, role, key, found, counted)
            found[before:] = [f"{role.value} {f}" for f in found[before:]]
    figures = (
        f"T17 on {live_database.backend}: {counted[0]} generated requests over "
        f"{len(operations)} operations x {len(keys)} roles (up to {EXAMPLES_PER_OPERATION} "
        f"examples per operation a role may call, {EXAMPLES_FORBIDDEN} where it may not); "
        f"{len(found)} failures (server errors, undocumented statuses "
        "or content types, response schema violations)"
    )
    print(f"\n{figures}")
    record_property("generated_requests", counted[0])
    record_property("failures", len(found))
    assert not found, (figures, found[:10])
    assert counted[0] >= len(operations) * len(keys)
