"""The bodies of the market endpoints: products, sessions, needs and bids.

Shapes only, reusing the market file's models (:mod:`flexcoord.schemas`) where they fit; every
rule is the domain's (:class:`~flexcoord.domain.Product`, :class:`~flexcoord.domain.Need`,
:class:`~flexcoord.domain.Bid`, :func:`~flexcoord.domain.market_issues`). What a body never holds
is what the service decides: the owner (``fsp_id``, ``buyer_id``), the product (the session's)
and the submission time (the server clock), so a body naming them is refused (422).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from flexcoord.schemas import LocationModel, ProductModel, QuantityModel
from flexcoord.schemas.models import UtcTime
from flexcoord.schemas.register import ObjectId

__all__ = [
    "DEFAULT_SCHEME",
    "MAX_BULK_BIDS",
    "BidDocumentIn",
    "BidDocumentOut",
    "BidIn",
    "BidOut",
    "BidStatus",
    "DecisionIn",
    "FspNeedOut",
    "GateState",
    "LocationIn",
    "NeedIn",
    "NeedOut",
    "PrequalificationIn",
    "PrequalificationOut",
    "PrequalificationStatus",
    "ProductIn",
    "ProductOut",
    "QuantityIn",
    "SessionIn",
    "SessionOut",
]

#: The coordination scheme a session is cleared under unless it names one.
DEFAULT_SCHEME: Final = "smartnet-common"
#: The most bids one bulk document may hold.
MAX_BULK_BIDS: Final = 4000
_AT = "2026-06-01T08:00:00Z"
_QUANTITY = {"start": "2026-06-02T10:00:00Z", "end": "2026-06-02T10:15:00Z", "quantity": 0.4}


def _config(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, json_schema_extra={"examples": [example]}
    )


class GateState(StrEnum):
    """A session's gate, by the server clock: ``scheduled`` before opening, ``open`` from
    opening until closure, ``sealed`` at and after closure (bids immutable)."""

    SCHEDULED = "scheduled"
    OPEN = "open"
    SEALED = "sealed"


class BidStatus(StrEnum):
    """A bid's status: ``submitted`` (its latest version counts) or ``withdrawn``."""

    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"


_PRODUCT = {
    "id": "da-congestion",
    "power_type": "active",
    "kind": "activation",
    "timeframe": "day_ahead",
    "resolution_minutes": 15,
    "min_quantity": 0.1,
    "lead_time_minutes": 15,
}


class ProductIn(ProductModel):
    """A product (fields of the market file's product; durations in minutes)."""

    model_config = _config(_PRODUCT)
    id: ObjectId


class ProductOut(ProductIn):
    """A defined product, with its market operator (``owner_id``)."""

    model_config = _config({**_PRODUCT, "owner_id": "mo", "created_at": _AT})
    owner_id: str
    created_at: datetime


_SESSION = {
    "id": "da-2026-06-02",
    "product_id": "da-congestion",
    "delivery_day": "2026-06-02",
    "gate_opens_at": "2026-06-01T06:00:00Z",
    "gate_closes_at": "2026-06-01T10:00:00Z",
    "scheme": "smartnet-common",
}


class SessionIn(BaseModel):
    """A market session: one product, one local delivery day (Europe/Brussels; 92, 96 or 100
    quarter-hours), the gate's opening and closure (UTC), and the coordination scheme it is
    cleared under (a preset id of ``flexcoord coordinate --list``; default
    ``smartnet-common``)."""

    model_config = _config(_SESSION)
    id: ObjectId
    product_id: ObjectId
    delivery_day: date
    gate_opens_at: UtcTime
    gate_closes_at: UtcTime
    scheme: ObjectId = DEFAULT_SCHEME


class SessionOut(SessionIn):
    """A session with its delivery span, its MTU count and its gate state now."""

    model_config = _config(
        {
            **_SESSION,
            "timeframe": "day_ahead",
            "delivery_start": "2026-06-01T22:00:00Z",
            "delivery_end": "2026-06-02T22:00:00Z",
            "mtu_count": 96,
            "state": "open",
            "owner_id": "mo",
            "created_at": _AT,
        }
    )
    timeframe: str
    delivery_start: datetime
    delivery_end: datetime
    mtu_count: int
    state: GateState
    owner_id: str
    created_at: datetime


class QuantityIn(QuantityModel):
    """One MTU ``[start, end)`` (ISO 8601 with offset) and its quantity (MW or Mvar)."""

    model_config = _config(_QUANTITY)


class LocationIn(LocationModel):
    """Where a need applies: ``buses``, ``area`` or ``coupling_point``."""

    model_config = _config({"kind": "area", "area_id": "mv-north"})


_NEED = {
    "id": "n-1",
    "location": {"kind": "area", "area_id": "mv-north"},
    "direction": "up",
    "quantities": [_QUANTITY],
    "activation_price_cap_eur_per_mwh": 300.0,
}


class NeedIn(BaseModel):
    """A need of the calling system operator (fields as :class:`~flexcoord.domain.Need`)."""

    model_config = _config(_NEED)
    id: ObjectId
    location: LocationIn
    direction: Literal["up", "down"]
    quantities: list[QuantityIn]
    activation_price_cap_eur_per_mwh: float | None = None
    availability_price_cap_eur_per_mw_h: float | None = None
    expected_activation_share: float | None = None


class NeedOut(NeedIn):
    """A posted need, with its session, product, buyer (``owner_id``) and posting time."""

    model_config = _config(
        {
            **_NEED,
            "session_id": "da-2026-06-02",
            "product_id": "da-congestion",
            "owner_id": "dso-north",
            "created_at": _AT,
        }
    )
    session_id: str
    product_id: str
    owner_id: str
    created_at: datetime


_BID = {
    "id": "b-1",
    "resource_id": "bess-1",
    "direction": "up",
    "quantities": [_QUANTITY],
    "activation_price_eur_per_mwh": 120.0,
}


class FspNeedOut(BaseModel):
    """A need as an FSP sees it: what is demanded, without the grid's topology.

    The location is only the grid areas it lies in (``grid_area_ids``: the need's area; the
    areas fed by its coupling point; the areas holding any of its buses) and, for a need at a
    TSO–DSO interface, its ``coupling_point_id``. Bus ids and branch names never appear, nor the
    buyer's ``expected_activation_share`` (its own forecast, not part of what is bought).
    """

    model_config = _config(
        {
            "id": "n-1",
            "session_id": "da-2026-06-02",
            "product_id": "da-congestion",
            "owner_id": "dso-north",
            "direction": "up",
            "quantities": [_QUANTITY],
            "activation_price_cap_eur_per_mwh": 300.0,
            "availability_price_cap_eur_per_mw_h": None,
            "grid_area_ids": ["mv-north"],
            "coupling_point_id": None,
            "created_at": _AT,
        }
    )
    id: str
    session_id: str
    product_id: str
    owner_id: str
    direction: Literal["up", "down"]
    quantities: list[QuantityIn]
    activation_price_cap_eur_per_mwh: float | None
    availability_price_cap_eur_per_mw_h: float | None
    grid_area_ids: list[str]
    coupling_point_id: str | None
    created_at: datetime


class BidIn(BaseModel):
    """A bid of the calling FSP (fields as :class:`~flexcoord.domain.Bid`, less those the
    service sets: ``fsp_id``, ``product_id``, ``submitted_at``)."""

    model_config = _config(_BID)
    id: ObjectId
    resource_id: ObjectId
    direction: Literal["up", "down"]
    quantities: list[QuantityIn]
    availability_price_eur_per_mw_h: float | None = None
    activation_price_eur_per_mwh: float | None = None
    divisible: bool = True
    min_acceptance: float | None = None
    exclusive_set: ObjectId | None = None
    parent_bid_id: ObjectId | None = None
    block: bool = False
    q_mvar_per_mw: float | None = None


class BidOut(BidIn):
    """A stored bid: its session, product, FSP (``owner_id``), status, version (1, then +1
    per replacement) and the server time of its latest version."""

    model_config = _config(
        {
            **_BID,
            "session_id": "da-2026-06-02",
            "product_id": "da-congestion",
            "owner_id": "fsp-a",
            "status": "submitted",
            "version": 1,
            "submitted_at": _AT,
        }
    )
    session_id: str
    product_id: str
    owner_id: str
    status: BidStatus
    version: int
    submitted_at: datetime


class BidDocumentIn(BaseModel):
    """A bulk document: 1 to 4,000 bids, accepted all together or not at all."""

    model_config = _config({"bids": [_BID]})
    bids: Annotated[list[BidIn], Field(min_length=1, max_length=MAX_BULK_BIDS)]


class BidDocumentOut(BaseModel):
    """An accepted bulk document: its bids' ids, in document order."""

    model_config = _config(
        {"session_id": "da-2026-06-02", "accepted": 1, "bid_ids": ["b-1"], "submitted_at": _AT}
    )
    session_id: str
    accepted: int
    bid_ids: list[str]
    submitted_at: datetime


class PrequalificationStatus(StrEnum):
    """Where an application for product prequalification stands."""

    REQUESTED = "requested"
    IN_PROGRESS = "in_progress"
    APPROVED = "approved"
    CONDITIONALLY_APPROVED = "conditionally_approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class PrequalificationIn(BaseModel):
    """An FSP's application: one of its units or groups, a product, the procuring operator."""

    model_config = _config(
        {"resource_id": "bess-1", "product_id": "da-congestion", "operator_id": "dso-north"}
    )
    resource_id: ObjectId
    product_id: ObjectId
    operator_id: ObjectId


class DecisionIn(BaseModel):
    """The procuring operator's decision: the new status; an approval gives its validity
    (kept from the earlier approval when lifting a suspension) and scope."""

    model_config = _config(
        {
            "status": "approved",
            "valid_from": "2026-01-01T00:00:00Z",
            "valid_until": "2027-01-01T00:00:00Z",
        }
    )
    status: PrequalificationStatus
    valid_from: UtcTime | None = None
    valid_until: UtcTime | None = None
    scope: Literal["common", "dedicated"] = "dedicated"


class PrequalificationOut(BaseModel):
    """An application and its decided state (``id`` is given by the service)."""

    model_config = _config(
        {
            "id": "5f0c6f1e2b7a4c1d9e8f7a6b5c4d3e2f",
            "owner_id": "fsp-a",
            "operator_id": "dso-north",
            "resource_id": "bess-1",
            "product_id": "da-congestion",
            "status": "approved",
            "scope": "dedicated",
            "valid_from": "2026-01-01T00:00:00Z",
            "valid_until": "2027-01-01T00:00:00Z",
            "suspended_from": None,
            "created_at": _AT,
            "updated_at": _AT,
        }
    )
    id: str
    owner_id: str
    operator_id: str
    resource_id: str
    product_id: str
    status: PrequalificationStatus
    scope: Literal["common", "dedicated"]
    valid_from: datetime | None
    valid_until: datetime | None
    suspended_from: datetime | None
    created_at: datetime
    updated_at: datetime
