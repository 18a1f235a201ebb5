"""The real server: `flexcoord serve` migrates, serves, and keeps the audit chain whole under
concurrent writers."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from flexcoord.cli.app import app as cli
from flexcoord.service import open_engine, verify_chain
from flexcoord.service.tables import AuditEventRow, UnitRow

CLIENTS, UNITS_EACH = 8, 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """A running `flexcoord serve` on a fresh SQLite file: (base URL, database URL, admin key)."""
    url = f"sqlite:///{tmp_path / 'live.db'}"
    init = CliRunner().invoke(cli, ["service", "init", "--database-url", url])
    assert init.exit_code == 0, init.output
    key = init.stdout.strip().splitlines()[-1]
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from flexcoord.cli.app import main; main()",
            "serve",
            "--port",
            str(port),
            "--database-url",
            url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx2.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.1)
        yield base, url, key
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _post(base: str, key: str, path: str, body: dict[str, object]) -> int:
    response = httpx2.post(
        f"{base}{path}", json=body, timeout=30, headers={"Authorization": f"Bearer {key}"}
    )
    return response.status_code


def test_concurrent_writers_lose_nothing_and_keep_one_chain(
    served: tuple[str, str, str],
) -> None:
    base, url, admin = served
    for party, role in (("dso", "dso"), ("fsp", "fsp")):
        assert _post(base, admin, "/v1/parties", {"id": party, "name": party, "role": role}) == 201
    keys = {
        party: httpx2.post(
            f"{base}/v1/parties/{party}/credentials",
            timeout=30,
            headers={"Authorization": f"Bearer {admin}"},
        ).json()["api_key"]
        for party in ("dso", "fsp")
    }
    assert (
        _post(
            base,
            keys["dso"],
            "/v1/grid-areas",
            {"id": "mv", "bus_ids": [1], "coupling_point_ids": ["t0"]},
        )
        == 201
    )
    assert (
        _post(
            base,
            keys["dso"],
            "/v1/connection-points",
            {"id": "cp", "bus": 1, "area_id": "mv", "coupling_point_id": "t0"},
        )
        == 201
    )

    def client(n: int) -> list[int]:
        return [
            _post(
                base,
                keys["fsp"],
                "/v1/units",
                {
                    "id": f"u{n}-{i}",
                    "connection_point_id": "cp",
                    "technology": "pv",
                    "p_min_mw": 0,
                    "p_max_mw": 0.1,
                },
            )
            for i in range(UNITS_EACH)
        ]

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = [s for batch in pool.map(client, range(CLIENTS)) for s in batch]
    elapsed = time.perf_counter() - started
    assert statuses == [201] * (CLIENTS * UNITS_EACH)
    engine = open_engine(url)
    with Session(engine) as session:
        units = session.scalar(select(func.count()).select_from(UnitRow))
        report = verify_chain(session)
        seqs = session.scalars(select(AuditEventRow.seq).order_by(AuditEventRow.seq)).all()
    engine.dispose()
    assert units == CLIENTS * UNITS_EACH
    assert report.intact, report.issues
    assert seqs == list(range(1, len(seqs) + 1))
    print(
        f"\n{CLIENTS * UNITS_EACH} units from {CLIENTS} concurrent clients in {elapsed:.2f} s "
        f"({CLIENTS * UNITS_EACH / elapsed:.0f}/s); audit chain of {report.events} events intact"
    )


def test_racing_requests_with_one_key_change_once(served: tuple[str, str, str]) -> None:
    base, _, admin = served
    body = {"id": "race", "name": "Race", "role": "fsp"}

    def send(_: int) -> tuple[int, bool]:
        r = httpx2.post(
            f"{base}/v1/parties",
            json=body,
            timeout=30,
            headers={"Authorization": f"Bearer {admin}", "Idempotency-Key": "race-1"},
        )
        return r.status_code, r.headers.get("Idempotent-Replayed") == "true"

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(send, range(CLIENTS)))
    fresh = [a for a in answers if a == (201, False)]
    assert len(fresh) == 1, answers
    assert all(a in {(201, True), (409, False)} for a in answers if a not in fresh), answers
    assert send(0) == (201, True)
