"""A small UFTP market (one DSO, one AGR, one congestion point) and flexcoord objects in it."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from flexcoord.domain import Bid, Location, Need
from flexcoord.domain.time import market_time_units
from flexcoord.standards.uftp import UftpMarket

DAY = date(2026, 6, 1)
CP = "ea1.2026-06.dso.example:cp-1"
DSO_DOMAIN = "dso.example"
AGR_DOMAIN = "agr.example"
NEED_ID = "0f8e3a52-6c1d-4b7e-9a1f-2d3c4b5a6978"
XOR_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
MARKET = UftpMarket(
    product_id="p-cm",
    congestion_points={CP: Location.in_area("mv-1")},
    domains={"dso-1": DSO_DOMAIN, "fsp-1": AGR_DOMAIN},
    resources={("fsp-1", CP): "g-1"},
    eans={"u-1": "E1234567890123456"},
)
ISPS = market_time_units(DAY, market_tz=MARKET.time_zone)
CREATED = datetime(2026, 5, 31, 9, tzinfo=UTC)


def need() -> Need:
    quantities = [
        {"start": i.start, "end": i.end, "quantity": q}
        for i, q in zip(ISPS[68:72], [0.0, 0.8, 1.25, 0.0], strict=True)
    ]
    return Need(
        id=NEED_ID,
        buyer_id="dso-1",
        product_id="p-cm",
        location=Location.in_area("mv-1"),
        direction="up",
        quantities=quantities,  # type: ignore[arg-type]
        created_at=CREATED,
    )


def bid(
    bid_id: str,
    *,
    price: float,
    quantities: list[float],
    min_acceptance: float | None,
    exclusive_set: str | None = XOR_ID,
    start: int = 69,
) -> Bid:
    return Bid(
        id=bid_id,
        fsp_id="fsp-1",
        resource_id="g-1",
        product_id="p-cm",
        direction="up",
        quantities=[  # type: ignore[arg-type]
            {"start": i.start, "end": i.end, "quantity": q}
            for i, q in zip(ISPS[start : start + len(quantities)], quantities, strict=True)
        ],
        submitted_at=CREATED + timedelta(hours=1),
        activation_price_eur_per_mwh=price,
        divisible=min_acceptance is not None,
        min_acceptance=min_acceptance,
        exclusive_set=exclusive_set,
        block=len(quantities) > 1,
    )


def xsd_dir() -> Path:
    value = os.environ.get("FLEXCOORD_UFTP_XSD_DIR", "").strip()
    path = Path(value) if value else Path(__file__).parents[3] / "shared" / "reference" / "uftp-xsd"
    if not (path / "UFTP-agr.xsd").is_file():
        pytest.skip("no folder of the official Shapeshifter XSDs ($FLEXCOORD_UFTP_XSD_DIR)")
    return path
