"""The bodies of a session's results: its clearing run, awards, activation orders, meter
readings and settlement statements."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field

from flexcoord.schemas.models import UtcTime
from flexcoord.schemas.register import ObjectId

__all__ = [
    "MAX_METER_READINGS",
    "ActivationOut",
    "AwardOut",
    "ClearingOut",
    "MeterReadingIn",
    "MeterUploadIn",
    "MeterUploadOut",
    "SettlementOut",
    "StatementOut",
]

#: The most readings one upload may hold (a day of 15-min readings of 1,000 units is 96,000:
#: send several).
MAX_METER_READINGS: Final = 20_000
_MTU = {"mtu_start": "2026-06-02T08:00:00Z", "mtu_end": "2026-06-02T08:15:00Z"}


def _config(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, json_schema_extra={"examples": [example]}
    )


class ClearingOut(BaseModel):
    """A session's clearing: ``pending`` until a worker claims the sealed session, then
    ``running``, ``done`` (results published) or ``failed`` (the issues are in ``summary``).
    ``result_sha256`` is the hash of the awards and orders; ``summary`` the counts and, for
    the market operator, the procurement per buyer and the clearing's times."""

    model_config = _config(
        {
            "session_id": "da-2026-06-02",
            "status": "done",
            "attempt": 1,
            "started_at": "2026-06-01T10:00:01Z",
            "finished_at": "2026-06-01T10:00:09Z",
            "result_sha256": "9f" * 32,
            "summary": {"scheme": "smartnet-common", "bids": 1200, "awards": 34, "orders": 51},
        }
    )
    session_id: str
    status: str
    attempt: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result_sha256: str | None = None
    summary: dict[str, Any] = Field(default_factory=dict)


class AwardOut(BaseModel):
    """An award: a bid's MW in one MTU bought in one market by one buyer, paid as bid (€/MWh
    for activation, €/MW/h for availability; ``payment_eur`` = MW × hours × price)."""

    model_config = _config(
        {
            "session_id": "da-2026-06-02",
            "owner_id": "fsp-a",
            "bid_id": "b-1",
            **_MTU,
            "market_id": "dso:dso-north",
            "buyer_id": "dso-north",
            "kind": "activation",
            "direction": "up",
            "quantity_mw": 0.4,
            "price_eur_per_unit": 120.0,
            "payment_eur": 12.0,
        }
    )
    session_id: str
    owner_id: str
    bid_id: str
    mtu_start: datetime
    mtu_end: datetime
    market_id: str
    buyer_id: str
    kind: str
    direction: str
    quantity_mw: float
    price_eur_per_unit: float
    payment_eur: float


class ActivationOut(BaseModel):
    """An activation order to one unit of the FSP (``owner_id``) over one MTU."""

    model_config = _config(
        {
            "id": "5d1f0c3e9a7b2d4f6e8a0c1b3d5f7e9a",
            "session_id": "da-2026-06-02",
            "owner_id": "fsp-a",
            "bid_id": "b-1",
            "unit_id": "bess-1",
            "buyer_id": "dso-north",
            **_MTU,
            "direction": "up",
            "quantity_mw": 0.4,
            "issued_at": "2026-06-01T10:00:09Z",
            "status": "acknowledged",
        }
    )
    id: str
    session_id: str
    owner_id: str
    bid_id: str
    unit_id: str
    buyer_id: str | None
    mtu_start: datetime
    mtu_end: datetime
    direction: str
    quantity_mw: float
    issued_at: datetime
    status: str = Field(
        "ordered",
        description="Where the order stands: ordered, or the FSP's last answer (acknowledged, "
        "failed, ...).",
    )


class MeterReadingIn(BaseModel):
    """A unit's mean active power over ``[start, end)`` (MW, injection positive)."""

    model_config = _config(
        {
            "unit_id": "bess-1",
            "start": "2026-06-02T08:00:00Z",
            "end": "2026-06-02T08:15:00Z",
            "mw": 0.4,
        }
    )
    unit_id: ObjectId
    start: UtcTime
    end: UtcTime
    mw: float


class MeterUploadIn(BaseModel):
    """Meter readings of the calling FSP's units, stored all together or not at all; a reading
    of an interval already uploaded replaces it."""

    model_config = _config(
        {
            "readings": [
                {
                    "unit_id": "bess-1",
                    "start": "2026-06-02T08:00:00Z",
                    "end": "2026-06-02T08:15:00Z",
                    "mw": 0.4,
                }
            ]
        }
    )
    readings: Annotated[list[MeterReadingIn], Field(min_length=1, max_length=MAX_METER_READINGS)]


class MeterUploadOut(BaseModel):
    """An accepted upload: readings stored, of which replacing an earlier one."""

    model_config = _config({"stored": 96, "replaced": 0, "uploaded_at": "2026-06-03T06:00:00Z"})
    stored: int
    replaced: int
    uploaded_at: datetime


class SettlementOut(BaseModel):
    """A session's settlement: ``requested`` by its market operator, then ``done`` by the
    worker (statements readable) or ``failed``; ``summary`` counts the statements and the
    activations withheld for want of meter data."""

    model_config = _config(
        {
            "session_id": "da-2026-06-02",
            "status": "done",
            "requested_at": "2026-06-03T06:00:00Z",
            "finished_at": "2026-06-03T06:00:02Z",
            "summary": {"statements": 4, "pending": 0},
        }
    )
    session_id: str
    status: str
    requested_at: datetime
    finished_at: datetime | None = None
    summary: dict[str, Any] = Field(default_factory=dict)


class StatementOut(BaseModel):
    """A party's settlement statement of a session: its lines (payments, penalties, residue;
    each with auction, counterparty, bid, MTU, quantity, price and amount), its net
    (``net_eur``, positive: the party receives), its roles in the settlement and the number of
    activations withheld for want of meter data (``pending``)."""

    model_config = _config(
        {
            "session_id": "da-2026-06-02",
            "party_id": "fsp-a",
            "net_eur": "12.00",
            "roles": ["fsp"],
            "pending": 0,
            "lines": [
                {
                    "auction_id": "dso:dso-north",
                    "party_role": "fsp",
                    "party_id": "fsp-a",
                    "counterparty_id": "dso-north",
                    "bid_id": "b-1",
                    "mtu": "2026-06-02T08:00:00+00:00",
                    "kind": "activation_payment",
                    "quantity": "0.100000",
                    "quantity_unit": "MWh",
                    "unit_price_eur": "120.000000",
                    "unit_price_unit": "EUR/MWh",
                    "amount_eur": "12.00",
                }
            ],
            "sha256": "3c" * 32,
            "created_at": "2026-06-03T06:05:00Z",
        }
    )
    session_id: str
    party_id: str
    net_eur: str
    roles: list[str]
    pending: int
    lines: list[dict[str, str]]
    sha256: str
    created_at: datetime
