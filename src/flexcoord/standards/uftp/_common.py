"""What every UFTP mapping shares: the market a message belongs to, the envelope of a message,
ISP numbers ↔ flexcoord intervals, watts ↔ megawatts and the sign convention.

UFTP power is in whole watts, **positive towards the prosumer (consumption)**; flexcoord
quantities are non-negative MW with a :class:`~flexcoord.domain.Direction` (``UP`` = more
injection). So an ``UP`` flexibility of ``q`` MW is ``-q·10⁶`` W in UFTP, ``DOWN`` is ``+q·10⁶`` W,
and a meter or baseline power ``mw`` (injection positive) is ``-mw·10⁶`` W.
ISPs are numbered from 1 within the ``Period`` (a local day in the message's ``TimeZone``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Final

from flexcoord.domain import Direction, Location
from flexcoord.domain.time import Interval, market_time_units
from flexcoord.errors import InvalidInputError, Issue

__all__ = [
    "UFTP_VERSION",
    "Envelope",
    "Exported",
    "UftpMarket",
    "direction_of",
    "intervals_of",
    "isp_of",
    "message_id_for",
    "mw_of",
    "watts",
]

#: The Shapeshifter version flexcoord writes (the package also reads 3.0.0).
UFTP_VERSION: Final = "3.1.0"
_NAMESPACE: Final = uuid.UUID("6f1d2c1e-5a0b-4a43-9d3e-1f2c7c0f3a11")


@dataclass(frozen=True, slots=True, kw_only=True)
class UftpMarket:
    """The agreements of one UFTP market that the messages take for granted.

    Attributes:
        product_id: The flexcoord product traded (written as ``ServiceType``/``ContractID``).
        congestion_points: Congestion point entity address → flexcoord location of the needs.
        domains: flexcoord party id → its UFTP Internet domain (both directions are looked up).
        resources: ``(fsp_id, congestion point)`` → the FSP's resource there (UFTP offers name
            no resource: the AGR's portfolio at the congestion point is one flexcoord resource).
        eans: flexcoord unit id → the EAN of its meter (``Metering``).
        isp_duration: The ISP length (``ISP-Duration``).
        time_zone: The IANA zone of the ``Period`` days.
        currency: ISO 4217 code of every price.
    """

    product_id: str
    congestion_points: Mapping[str, Location]
    domains: Mapping[str, str]
    resources: Mapping[tuple[str, str], str] = field(default_factory=dict)
    eans: Mapping[str, str] = field(default_factory=dict)
    isp_duration: timedelta = timedelta(minutes=15)
    time_zone: str = "Europe/Amsterdam"
    currency: str = "EUR"

    def congestion_point_of(self, location: Location) -> str:
        """The entity address of ``location``; InvalidInputError when it has none."""
        for address, known in self.congestion_points.items():
            if known == location:
                return address
        raise _invalid("UftpMarket", "congestion_points", location, "has no congestion point")

    def location_of(self, address: str, message: str) -> Location:
        """The location of congestion point ``address`` (rejected as unknown otherwise)."""
        location = self.congestion_points.get(address)
        if location is None:
            raise _invalid(message, "CongestionPoint", address, "is not a known congestion point")
        return location

    def domain_of(self, party_id: str) -> str:
        """The Internet domain of flexcoord party ``party_id``."""
        domain = self.domains.get(party_id)
        if domain is None:
            raise _invalid("UftpMarket", "domains", party_id, "has no UFTP domain")
        return domain

    def party_of(self, domain: str, message: str) -> str:
        """The flexcoord party whose domain is ``domain``."""
        for party_id, known in self.domains.items():
            if known == domain:
                return party_id
        raise _invalid(message, "SenderDomain", domain, "is not a known participant")

    def resource_of(self, fsp_id: str, congestion_point: str, message: str) -> str:
        """The resource of ``fsp_id`` at ``congestion_point``."""
        resource = self.resources.get((fsp_id, congestion_point))
        if resource is None:
            raise _invalid(
                message, "CongestionPoint", congestion_point, f"has no resource of {fsp_id}"
            )
        return resource

    def ean_of(self, unit_id: str) -> str:
        """The EAN of ``unit_id``'s meter."""
        ean = self.eans.get(unit_id)
        if ean is None:
            raise _invalid("UftpMarket", "eans", unit_id, "has no EAN")
        return ean

    def unit_of(self, ean: str, message: str) -> str:
        """The unit metered by ``ean``."""
        for unit_id, known in self.eans.items():
            if known == ean:
                return unit_id
        raise _invalid(message, "EAN", ean, "is not a known meter")


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    """The metadata of one UFTP message (the ``PayloadMessage`` attributes)."""

    sender_domain: str
    recipient_domain: str
    message_id: str
    conversation_id: str
    time_stamp: datetime

    @classmethod
    def new(cls, sender_domain: str, recipient_domain: str, *, at: datetime) -> Envelope:
        """A fresh envelope (random message and conversation ids)."""
        return cls(
            sender_domain=sender_domain,
            recipient_domain=recipient_domain,
            message_id=str(uuid.uuid4()),
            conversation_id=str(uuid.uuid4()),
            time_stamp=at,
        )

    def fields(self) -> dict[str, str]:
        """The keyword arguments of a shapeshifter-uftp message."""
        return {
            "version": UFTP_VERSION,
            "sender_domain": self.sender_domain,
            "recipient_domain": self.recipient_domain,
            "message_id": self.message_id,
            "conversation_id": self.conversation_id,
            "time_stamp": self.time_stamp.astimezone(UTC).isoformat(),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Exported:
    """A UFTP message written from flexcoord objects.

    Attributes:
        message: The shapeshifter-uftp message dataclass (serialise it with ``to_xml``).
        not_carried: What the message cannot hold of the objects given (``object.field: why``);
            empty when nothing is lost.
    """

    message: object
    not_carried: tuple[str, ...] = ()


def _invalid(kind: str, field_name: str, value: object, message: str) -> InvalidInputError:
    return InvalidInputError(
        [Issue(kind=kind, object_id=kind, field=field_name, value=value, message=message)]
    )


def message_id_for(flexcoord_id: str) -> tuple[str, bool]:
    """The MessageID standing for a flexcoord id: the id itself when it is a UUID (``True``:
    carried), else a name-based UUID (``False``: the receiver knows the object by the UUID)."""
    try:
        return str(uuid.UUID(flexcoord_id)), True
    except ValueError:
        return str(uuid.uuid5(_NAMESPACE, flexcoord_id)), False


def watts(mw: float) -> int:
    """Megawatts as whole watts."""
    return round(mw * 1_000_000)


def mw_of(w: int) -> float:
    """Whole watts as megawatts."""
    return w / 1_000_000


def direction_of(power_w: int) -> Direction:
    """The flexcoord direction of a UFTP flexibility power (negative: less consumption = UP)."""
    return Direction.UP if power_w < 0 else Direction.DOWN


def signed_w(quantity_mw: float, direction: Direction) -> int:
    """A flexcoord quantity as UFTP watts (UP negative)."""
    w = watts(quantity_mw)
    return -w if direction is Direction.UP else w


def _units(period: date, market: UftpMarket) -> tuple[Interval, ...]:
    return market_time_units(period, resolution=market.isp_duration, market_tz=market.time_zone)


def isp_of(interval: Interval, period: date, market: UftpMarket) -> int:
    """The ISP number (from 1) of ``interval`` in ``period``."""
    units = _units(period, market)
    try:
        return units.index(interval) + 1
    except ValueError:
        raise _invalid(
            "ISP", "interval", str(interval), f"is not an ISP of {period.isoformat()}"
        ) from None


def intervals_of(
    start: int, duration: int, period: date, market: UftpMarket, message: str
) -> tuple[Interval, ...]:
    """The intervals of ISPs ``start`` … ``start + duration - 1`` of ``period``."""
    units = _units(period, market)
    if start < 1 or duration < 1 or start + duration - 1 > len(units):
        raise _invalid(
            message,
            "ISP",
            f"Start={start} Duration={duration}",
            f"is outside the {len(units)} ISPs of {period.isoformat()}",
        )
    return units[start - 1 : start - 1 + duration]


def period_of(interval: Interval, market: UftpMarket) -> date:
    """The local day (``Period``) an interval starts in."""
    from zoneinfo import ZoneInfo  # noqa: PLC0415 - only when a period is derived

    return interval.start.astimezone(ZoneInfo(market.time_zone)).date()


def decimal_of(value: float) -> Decimal:
    """A float as the decimal it prints as (no binary noise)."""
    return Decimal(repr(value))
