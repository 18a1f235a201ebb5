"""A real HTTP server for the reliability battery: a subprocess on a free port, and the market
the battery trades in, set up over HTTP.

Two ways to run the server:

* :func:`pinned_server` runs ``tests/service/reliability/pinned_serve.py``: the app of
  :func:`flexcoord.service.create_app` under uvicorn, with its clock standing still until
  :meth:`Server.start_clock` makes a chosen instant (``at``) fall on a chosen wall-clock
  second. The service code is untouched: the test-only clock lives in the script.
* :func:`serve_command`: the real ``flexcoord serve`` command line (system clock).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2

PINNED_SERVE = Path(__file__).with_name("pinned_serve.py")
READY_TIMEOUT_S = 30.0


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


@dataclass
class Server:
    """A server subprocess: its base URL, the process, and the log it writes."""

    base: str
    process: subprocess.Popen[bytes]
    log: Path
    origin_file: Path | None = None

    def start_clock(self, origin_epoch_s: float) -> None:
        """Make a pinned server's clock read its ``at`` at wall-clock ``origin_epoch_s``."""
        assert self.origin_file is not None
        written = self.origin_file.with_suffix(".tmp")
        written.write_text(repr(origin_epoch_s))
        written.replace(self.origin_file)

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> float:
        """Wait until ``/ready`` answers 200; the seconds it took."""
        started = time.monotonic()
        while True:
            try:
                if httpx2.get(f"{self.base}/ready", timeout=1).status_code == 200:
                    return time.monotonic() - started
            except httpx2.TransportError:
                pass
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() - started < timeout_s, "the server did not become ready"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _start(arguments: Sequence[str], port: int, log: Path) -> Server:
    handle = log.open("ab")
    process = subprocess.Popen(
        [sys.executable, *arguments], stdout=subprocess.DEVNULL, stderr=handle
    )
    handle.close()
    return Server(base=f"http://127.0.0.1:{port}", process=process, log=log)


def serve_command(database_url: str, port: int) -> list[str]:
    """The arguments of ``python -m flexcoord.cli`` ... ``serve`` for ``database_url``."""
    return [
        "-c",
        "from flexcoord.cli.app import main; main()",
        "serve",
        "--port",
        str(port),
        "--database-url",
        database_url,
    ]


def start_serve(database_url: str, log: Path, port: int | None = None) -> Server:
    """Start ``flexcoord serve`` (not waiting for it)."""
    port = port or free_port()
    return _start(serve_command(database_url, port), port, log)


@contextmanager
def pinned_server(database_url: str, log: Path, *, at: datetime) -> Iterator[Server]:
    """A running server whose clock stands 1 s before ``at`` until :meth:`Server.start_clock`,
    then runs at the wall clock's pace."""
    port = free_port()
    origin = log.with_suffix(".origin")
    server = _start(
        [str(PINNED_SERVE), database_url, str(port), at.isoformat(), str(origin)], port, log
    )
    server.origin_file = origin
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@dataclass
class Market:
    """The parties and keys of a market set up over HTTP."""

    base: str
    keys: dict[str, str] = field(default_factory=dict)

    def headers(self, party: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[party]}", **extra}

    def call(
        self, client: httpx2.Client, party: str, method: str, path: str, body: Any = None
    ) -> Any:
        r = client.request(method, f"{self.base}{path}", json=body, headers=self.headers(party))
        assert r.status_code < 300, (method, path, r.status_code, r.text)
        return r.json() if r.content else None

    def party(self, client: httpx2.Client, party_id: str, role: str) -> None:
        self.call(
            client, "admin", "POST", "/v1/parties", {"id": party_id, "name": party_id, "role": role}
        )
        issued = self.call(client, "admin", "POST", f"/v1/parties/{party_id}/credentials")
        self.keys[party_id] = issued["api_key"]


VALIDITY = {"valid_from": "2020-01-01T00:00:00Z", "valid_until": "2040-01-01T00:00:00Z"}
MTU = timedelta(minutes=15)


def set_up_market(
    base: str,
    admin_key: str,
    *,
    fsps: int,
    day: str,
    gate_opens_at: datetime,
    gate_closes_at: datetime,
) -> Market:
    """DSO ``dso`` with area ``mv`` and point ``cp``; market operator ``mo`` with product
    ``da`` and session ``s1`` of ``day``; FSPs ``fsp0``.. each with unit ``u``, prequalified."""
    market = Market(base=base, keys={"admin": admin_key})
    with httpx2.Client(timeout=30) as client:
        market.party(client, "dso", "dso")
        market.party(client, "mo", "market_operator")
        market.call(
            client,
            "dso",
            "POST",
            "/v1/grid-areas",
            {"id": "mv", "bus_ids": [1], "coupling_point_ids": ["t"]},
        )
        point = {"id": "cp", "bus": 1, "area_id": "mv", "coupling_point_id": "t"}
        market.call(client, "dso", "POST", "/v1/connection-points", point)
        market.call(
            client,
            "mo",
            "POST",
            "/v1/products",
            {"id": "da", "kind": "activation", "min_quantity": 0.1},
        )
        session = {
            "id": "s1",
            "product_id": "da",
            "delivery_day": day,
            "gate_opens_at": iso(gate_opens_at),
            "gate_closes_at": iso(gate_closes_at),
        }
        market.call(client, "mo", "POST", "/v1/sessions", session)
        for n in range(fsps):
            fsp = f"fsp{n}"
            market.party(client, fsp, "fsp")
            unit = {
                "id": "u",
                "connection_point_id": "cp",
                "technology": "generic_generator",
                "p_min_mw": 0.0,
                "p_max_mw": 5.0,
            }
            market.call(client, fsp, "POST", "/v1/units", unit)
            body = {"resource_id": "u", "product_id": "da", "operator_id": "dso"}
            record = market.call(client, fsp, "POST", "/v1/prequalifications", body)["id"]
            market.call(
                client,
                "dso",
                "POST",
                f"/v1/prequalifications/{record}/decisions",
                {"status": "approved", **VALIDITY},
            )
    return market


def bid(bid_id: str, first_mtu: datetime, k: int, *, mtus: int = 96) -> dict[str, Any]:
    """A one-MTU bid of unit ``u`` for MTU ``k`` (mod ``mtus``) of the day from ``first_mtu``."""
    start = first_mtu + (k % mtus) * MTU
    return {
        "id": bid_id,
        "resource_id": "u",
        "direction": "up",
        "quantities": [{"start": iso(start), "end": iso(start + MTU), "quantity": 0.5}],
        "activation_price_eur_per_mwh": 50.0 + k % 40,
    }
