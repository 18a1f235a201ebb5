"""Builders for the IEC 62325 document tests, and the folder of official XSDs.

flexcoord does not ship the ENTSO-E schemas: the XSD tests run where ``$FLEXCOORD_IEC62325_XSD_DIR``
or ``shared/reference/iec62325-xsd`` beside the repository holds them, and are skipped otherwise.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from flexcoord.domain import Bid
from flexcoord.standards.iec62325 import Header, Party

T0 = datetime(2026, 6, 1, 10, tzinfo=UTC)
CREATED = datetime(2026, 5, 31, 12, tzinfo=UTC)
BSP = Party(id="10X1001A1001A094", role="A46")
TSO = Party(id="10X1001A1001A361", role="A04")
AREA = "10YNL----------L"


def mtu(i: int, mw: float, minutes: int = 15) -> dict[str, Any]:
    start = T0 + timedelta(minutes=minutes * i)
    return {"start": start, "end": start + timedelta(minutes=minutes), "quantity": mw}


def bid(bid_id: str = "b1", **kw: Any) -> Bid:
    fields: dict[str, Any] = {
        "id": bid_id,
        "fsp_id": "fsp-1",
        "resource_id": "u1",
        "product_id": "p-da",
        "direction": "up",
        "quantities": [mtu(0, 1.0), mtu(1, 2.5)],
        "submitted_at": CREATED,
        "activation_price_eur_per_mwh": 120.5,
    }
    fields.update(kw)
    return Bid(**fields)


def header(document_id: str = "doc-1", sender: Party = BSP, receiver: Party = TSO) -> Header:
    return Header(
        document_id=document_id,
        created_at=CREATED,
        sender=sender,
        receiver=receiver,
        domain_id=AREA,
    )


def _schema_dir() -> Path | None:
    value = os.environ.get("FLEXCOORD_IEC62325_XSD_DIR", "").strip()
    candidates = [Path(value)] if value else []
    candidates.append(Path(__file__).parents[3] / "shared" / "reference" / "iec62325-xsd")
    for path in candidates:
        if (path / "urn-entsoe-eu-wgedi-codelists.xsd").is_file():
            return path
    return None


@pytest.fixture
def xsd_dir() -> Path:
    path = _schema_dir()
    if path is None:
        pytest.skip("no folder of the official ENTSO-E XSDs ($FLEXCOORD_IEC62325_XSD_DIR)")
    return path
