"""`flexcoord client`: against the real app served by uvicorn, and a fake for the endpoints other
parts of the service are still building (awards, activations, messages)."""

from __future__ import annotations

import ast
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from typer.testing import CliRunner, Result

from flexcoord.cli.app import app as cli
from tests.service import conftest as service
from tests.service.conftest import Api, unit_body
from tests.service.markets import bid_body, market

SRC = Path(__file__).parents[2] / "src" / "flexcoord" / "cli"
# the service tests' fixtures: a migrated database per test, the app over it, a pinned clock
migrated_template, database_url = service.migrated_template, service.database_url
engine, clock, api = service.engine, service.clock, service.api


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(api: Api) -> Iterator[str]:
    """The test's app (its database, its pinned clock) on a real uvicorn in a thread."""
    port = _free_port()
    config = uvicorn.Config(
        api.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _run(
    base: str, key: str | None, *args: str, transport: httpx2.BaseTransport | None = None
) -> Result:
    env = {"FLEXCOORD_URL": base, "FLEXCOORD_API_KEY": key}
    return CliRunner().invoke(cli, ["client", *args], env=env, obj=transport)


@pytest.fixture
def as_fsp(api: Api, served: str) -> Callable[..., Result]:
    """Run `flexcoord client ARGS` as FSP ``fsp-a`` of the market helpers' market."""
    market(api, units=2)
    return lambda *args: _run(served, api.keys["fsp-a"], *args)


def _file(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def test_whoami_and_units_add_and_list(api: Api, as_fsp: Callable[..., Result], tmp_path: Path):
    r = as_fsp("whoami")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["party_id"] == "fsp-a"
    path = _file(tmp_path, "unit.json", unit_body("u9", "cp-mv-a-1"))
    first, retry = as_fsp("units", "add", path), as_fsp("units", "add", path)
    assert first.exit_code == 0 and retry.exit_code == 0, (first.output, retry.output)
    assert json.loads(first.stdout)["id"] == "u9"
    assert json.loads(retry.stdout) == json.loads(first.stdout)
    assert "already accepted" in retry.stderr
    listed = as_fsp("units", "list")
    assert [u["id"] for u in json.loads(listed.stdout)] == ["u1", "u2", "u9"]
    csv = as_fsp("units", "list", "--format", "csv").stdout.splitlines()
    assert csv[0].startswith("id,") and [line.split(",")[0] for line in csv[1:]] == [
        "u1",
        "u2",
        "u9",
    ]
    table = as_fsp("units", "list", "--format", "table")
    assert table.exit_code == 0 and "cp-mv-a-1" in table.stdout and "u9" in table.stdout


def test_groups_add(as_fsp: Callable[..., Result], tmp_path: Path) -> None:
    group = {"id": "g1", "unit_ids": ["u1", "u2"]}
    r = as_fsp("groups", "add", _file(tmp_path, "group.json", group))
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["unit_ids"] == ["u1", "u2"]


def test_sessions_and_needs_as_an_fsp(api: Api, as_fsp: Callable[..., Result]) -> None:
    need = {
        "id": "n1",
        "location": {"kind": "buses", "bus_ids": [1]},
        "direction": "up",
        "quantities": bid_body("x")["quantities"],
    }
    assert api.as_("dso-a", "POST", "/v1/sessions/s1/needs", json=need).status_code == 201
    sessions = json.loads(as_fsp("sessions", "list").stdout)
    assert [(s["id"], s["state"]) for s in sessions] == [("s1", "open")]
    assert json.loads(as_fsp("sessions", "list", "--day", "2026-06-03").stdout) == []
    (shown,) = json.loads(as_fsp("needs", "list", "--session", "s1").stdout)
    assert shown["grid_area_ids"] == ["mv-a"] and "location" not in shown


def test_a_bulk_document_retried_is_stored_once(
    api: Api, as_fsp: Callable[..., Result], tmp_path: Path, clock: Any
) -> None:
    document = _file(tmp_path, "bids.json", {"bids": [bid_body("b1"), bid_body("b2", "u2")]})
    runs = [as_fsp("bids", "submit", "--session", "s1", document) for _ in range(3)]
    assert [r.exit_code for r in runs] == [0, 0, 0], [r.output for r in runs]
    assert json.loads(runs[0].stdout)["accepted"] == 2
    assert all(json.loads(r.stdout) == json.loads(runs[0].stdout) for r in runs[1:])
    single = as_fsp(
        "bids", "submit", "--session", "s1", _file(tmp_path, "one.json", bid_body("b3"))
    )
    assert single.exit_code == 0, single.output
    assert json.loads(single.stdout)["status"] == "submitted"
    listed = json.loads(as_fsp("bids", "list", "--session", "s1").stdout)
    assert sorted(b["id"] for b in listed) == ["b1", "b2", "b3"]
    withdrawn = [as_fsp("bids", "withdraw", "--session", "s1", "b2") for _ in range(2)]
    assert [r.exit_code for r in withdrawn] == [0, 0], [r.output for r in withdrawn]
    assert json.loads(withdrawn[1].stdout)["status"] == "withdrawn"
    left = json.loads(as_fsp("bids", "list", "--session", "s1", "--status", "submitted").stdout)
    assert sorted(b["id"] for b in left) == ["b1", "b3"]
    clock.advance(timedelta(hours=2))
    late = as_fsp("bids", "submit", "--session", "s1", _file(tmp_path, "late.json", bid_body("b4")))
    assert late.exit_code == 2
    assert "409 Conflict" in late.stderr
    assert "MarketSession 's1': gate_closes_at=" in late.stderr


def test_an_explicit_key_reused_for_another_body_is_refused(
    as_fsp: Callable[..., Result], tmp_path: Path
) -> None:
    first = as_fsp(
        "bids",
        "submit",
        "--session",
        "s1",
        "--idempotency-key",
        "k1",
        _file(tmp_path, "a.json", bid_body("b1")),
    )
    assert first.exit_code == 0, first.output
    other = as_fsp(
        "bids",
        "submit",
        "--session",
        "s1",
        "--idempotency-key",
        "k1",
        _file(tmp_path, "b.json", bid_body("b2")),
    )
    assert other.exit_code == 2
    assert "header 'Idempotency-Key': value='k1' was used for another request" in other.stderr


def test_a_refusal_prints_every_issue_and_exits_2(
    as_fsp: Callable[..., Result], tmp_path: Path
) -> None:
    bad = {"bids": [bid_body("b1", "nope"), bid_body("b2", k=40, divisible="maybe")]}
    r = as_fsp("bids", "submit", "--session", "s1", _file(tmp_path, "bad.json", bad))
    assert r.exit_code == 2
    assert r.stdout == ""
    assert "422 Invalid input" in r.stderr and "request id " in r.stderr
    assert "Bid 'b2': divisible=" in r.stderr
    missing = as_fsp("bids", "list", "--session", "nope")
    assert missing.exit_code == 2
    assert "404 Not found" in missing.stderr and "MarketSession 'nope' does not exist" in (
        missing.stderr
    )
    assert "Traceback" not in r.output + missing.output


def test_a_wrong_or_missing_key_and_a_forbidden_call(api: Api, served: str) -> None:
    market(api)
    wrong = _run(served, "fck_0123456789abcdef_" + "A" * 43, "whoami")
    assert wrong.exit_code == 2 and "401 Unauthenticated" in wrong.stderr
    assert "FLEXCOORD_API_KEY" in wrong.stderr
    none = _run(served, None, "units", "list")
    assert none.exit_code == 2 and "option '--key'" in none.stderr
    forbidden = _run(served, api.keys["dso-a"], "units", "list")
    assert forbidden.exit_code == 2 and "403 Forbidden" in forbidden.stderr


def test_the_key_is_never_printed(api: Api, as_fsp: Callable[..., Result], tmp_path: Path):
    key = api.keys["fsp-a"]
    runs = [
        as_fsp("whoami", "--format", "table"),
        as_fsp("bids", "list", "--session", "nope"),
        as_fsp("units", "add", str(tmp_path / "missing.json")),
        as_fsp("--help"),
        _run("http://127.0.0.1:1", key, "whoami"),
    ]
    secret = key.split("_", 2)[2]  # fck_<key id>_<secret>; the secret itself may hold "_"
    assert all(secret not in r.output for r in runs)


def test_bad_files_exit_2_naming_the_file(as_fsp: Callable[..., Result], tmp_path: Path):
    missing = as_fsp("bids", "submit", "--session", "s1", str(tmp_path / "nope.json"))
    assert missing.exit_code == 2 and "nope.json: does not exist" in missing.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"bids": [\n  {"id": "b1",}\n]}')
    r = as_fsp("bids", "submit", "--session", "s1", str(broken))
    assert r.exit_code == 2 and "broken.json:2: is not valid JSON" in r.stderr
    listed = as_fsp("units", "add", _file(tmp_path, "list.json", [1, 2]))
    assert listed.exit_code == 2 and "must hold one JSON object" in listed.stderr
    assert "Traceback" not in missing.output + r.output + listed.output


def test_an_unreachable_service_exits_1_naming_the_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    r = _run(url, "fck_x", "whoami")
    assert r.exit_code == 1
    assert f"cannot reach the flexcoord service at {url}" in r.stderr
    bad_url = _run("localhost:8000", "fck_x", "whoami")
    assert bad_url.exit_code == 2 and "option '--url'" in bad_url.stderr


# --- the endpoints other parts of the service are building: a fake service ----------------------


class FakeService:
    """An httpx2 transport answering like the service would; it records the requests."""

    def __init__(self, answers: dict[tuple[str, str], httpx2.Response]) -> None:
        self.answers = answers
        self.seen: list[httpx2.Request] = []

    def transport(self) -> httpx2.MockTransport:
        def handle(request: httpx2.Request) -> httpx2.Response:
            self.seen.append(request)
            found = self.answers.get((request.method, request.url.raw_path.decode()))
            return found if found is not None else httpx2.Response(404, json=_problem(404))

        return httpx2.MockTransport(handle)


def _problem(status: int, *errors: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "about:blank",
        "title": {404: "Not found", 409: "Conflict"}.get(status, "X"),
        "status": status,
        "detail": "refused",
        "instance": "/",
        "request_id": "rid-1",
        "errors": list(errors),
    }


AWARD = {"id": "a1", "bid_id": "b1", "session_id": "s1", "quantity": 0.4}
ACTIVATION = {"id": "act-1", "bid_id": "b1", "start": "2026-06-02T10:00:00Z"}
MESSAGE = {"id": "m-7", "topic": "activation", "status": "delivered"}


@pytest.mark.parametrize(
    ("args", "method", "path", "answer"),
    [
        (("awards", "list", "--session", "s/1"), "GET", "/v1/sessions/s%2F1/awards", [AWARD]),
        (("activations", "list"), "GET", "/v1/activations", [ACTIVATION]),
        (("messages", "list"), "GET", "/v1/messages", [MESSAGE]),
        (
            ("messages", "ack", "m-7"),
            "POST",
            "/v1/messages/m-7/ack",
            {**MESSAGE, "status": "acknowledged"},
        ),
    ],
)
def test_the_new_endpoints_are_called_as_specified(
    args: tuple[str, ...], method: str, path: str, answer: Any
) -> None:
    fake = FakeService({(method, path): httpx2.Response(200, json=answer)})
    r = _run("https://flex.example.org/", "fck_k", *args, transport=fake.transport())
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == answer
    (request,) = fake.seen
    assert request.method == method
    assert request.url.raw_path.decode() == path
    assert request.url.host == "flex.example.org"
    assert request.headers["Authorization"] == "Bearer fck_k"


def test_a_fake_refusal_a_server_error_and_a_proxy_page() -> None:
    conflict = _problem(
        409,
        {
            "kind": "Message",
            "object_id": "m-7",
            "field": "status",
            "value": "'failed'",
            "message": "cannot be acknowledged",
        },
    )
    answers = {
        ("POST", "/v1/messages/m-7/ack"): httpx2.Response(409, json=conflict),
        ("GET", "/v1/activations"): httpx2.Response(
            500,
            json={**_problem(500), "detail": "internal error"},
            headers={"X-Request-ID": "rid-9"},
        ),
        ("GET", "/v1/messages"): httpx2.Response(
            502, text="<html>Bad gateway</html>", headers={"content-type": "text/html"}
        ),
    }
    fake = FakeService(answers)
    run = lambda *a: _run("http://svc:8000", "fck_k", *a, transport=fake.transport())  # noqa: E731
    refused = run("messages", "ack", "m-7")
    assert refused.exit_code == 2
    assert "Message 'm-7': status='failed' cannot be acknowledged" in refused.stderr
    failed = run("activations", "list")
    assert failed.exit_code == 1
    assert "answered GET http://svc:8000/v1/activations with 500" in failed.stderr
    assert "rid-9" in failed.stderr
    proxy = run("messages", "list")
    assert proxy.exit_code == 1 and "Bad gateway" in proxy.stderr
    assert "Traceback" not in refused.output + failed.output + proxy.output


def test_the_client_imports_nothing_of_the_service_nor_its_libraries() -> None:
    for name in ("client.py", "api_client.py"):
        tree = ast.parse((SRC / name).read_text())
        modules = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        modules += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [m for m in modules if m.startswith(("flexcoord.service", "fastapi"))], name
    code = (
        "import sys; from typer.testing import CliRunner; from flexcoord.cli.app import app\n"
        "r = CliRunner().invoke(app, ['client', 'bids', 'submit', '--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'httpx2', 'flexcoord.service')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_list_is_read_whole_page_by_page() -> None:
    seen: list[tuple[int, int]] = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        limit, offset = int(request.url.params["limit"]), int(request.url.params["offset"])
        seen.append((limit, offset))
        items = [{"id": f"u{n}"} for n in range(offset, min(offset + limit, 1005))]
        return httpx2.Response(200, json=items)

    r = _run("http://svc", "fck_k", "units", "list", transport=httpx2.MockTransport(handle))
    assert r.exit_code == 0, r.output
    assert [u["id"] for u in json.loads(r.stdout)] == [f"u{n}" for n in range(1005)]
    assert seen == [(1000, 0), (1000, 1000)]


def test_a_timeout_exits_1_and_a_malformed_key_or_url_exits_2() -> None:
    def slow(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("timed out", request=request)

    r = _run(
        "http://svc", "fck_k", "--timeout", "2", "whoami", transport=httpx2.MockTransport(slow)
    )
    assert r.exit_code == 1
    assert "the flexcoord service at http://svc did not answer GET /v1/me within 2 s" in r.stderr
    secret = "fck_0123_sécret"
    bad_key = _run("http://svc", secret, "whoami")
    assert bad_key.exit_code == 2 and "option '--key': is not an API key" in bad_key.stderr
    assert "sécret" not in bad_key.output
    for url in ("http://[::1", "ftp://svc", "http://svc/?x=1"):
        r = _run(url, "fck_k", "whoami")
        assert r.exit_code == 2 and "option '--url'" in r.stderr, (url, r.output)
