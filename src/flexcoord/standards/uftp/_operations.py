"""Baselines ↔ D-Prognosis, meter data ↔ Metering, statements ↔ FlexSettlement (the operate
and settle phases of UFTP), with the shapeshifter-uftp dataclasses.

=========================  ==========================================================
UFTP                       flexcoord
=========================  ==========================================================
D-Prognosis ISP Power      a :class:`~flexcoord.operations.baselines.BaselineValue` per ISP
                           (``-mw·10⁶`` W: UFTP counts consumption positive)
Metering Profile Power     a :class:`~flexcoord.operations.baselines.MeterSeries` (kW, 3
                           decimals); ``EAN`` ↔ unit id via :attr:`UftpMarket.eans`
FlexOrderSettlement        an :class:`OrderSettlement`, built from a
                           :class:`~flexcoord.operations.statements.Statement` and the
                           :class:`~flexcoord.operations.verification.DeliveryVerification`
                           of the order's bid by :func:`order_settlements`
  Price / Penalty          Σ activation payments / −Σ penalty lines of the bid (EUR)
  NetSettlement            Price − Penalty
  ISP BaselinePower ...    baseline, ordered, metered, delivered power, PowerDeficiency
=========================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final

from shapeshifter_uftp.uftp import (
    ContractSettlement,
    ContractSettlementISP,
    ContractSettlementPeriod,
    DPrognosis,
    DPrognosisISP,
    FlexOrderSettlement,
    FlexOrderSettlementISP,
    FlexSettlement,
    Metering,
    MeteringISP,
    MeteringProfile,
    MeteringProfileEnum,
    MeteringUnit,
)
from xsdata.models.datatype import XmlDate, XmlDuration

from flexcoord.domain import Direction
from flexcoord.domain.time import Interval
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.operations.baselines import BaselineValue, MeterSeries
from flexcoord.operations.statements import LineKind, Statement
from flexcoord.operations.verification import DeliveryVerification
from flexcoord.standards.uftp._common import (
    Envelope,
    Exported,
    UftpMarket,
    decimal_of,
    intervals_of,
    isp_of,
    mw_of,
    watts,
)
from flexcoord.standards.uftp._market import _check_market, _expand, _flex_fields, _period

__all__ = [
    "OrderSettlement",
    "SettledIsp",
    "baseline_from_d_prognosis",
    "d_prognosis",
    "flex_settlement",
    "meter_from_metering",
    "metering",
    "order_settlements",
    "settlements_from_flex_settlement",
]

_KW: Final = Decimal("0.001")
_EUR: Final = Decimal("0.0001")


def _issue(message: str, field_name: str, value: object, text: str) -> Issue:
    return Issue(kind=message, object_id=message, field=field_name, value=value, message=text)


# --------------------------------------------------------------------------- D-Prognosis


def d_prognosis(  # noqa: PLR0913 - the baseline, then the message's keywords
    baseline: Sequence[BaselineValue],
    market: UftpMarket,
    *,
    fsp_id: str,
    congestion_point: str,
    envelope: Envelope,
    revision: int,
) -> Exported:
    """The D-Prognosis of an FSP's portfolio at a congestion point: its baseline per ISP.

    Raises:
        InvalidInputError: A value has insufficient data (a D-Prognosis gives every ISP).
    """
    missing = [str(v.interval) for v in baseline if v.mw is None]
    if missing or not baseline:
        raise InvalidInputError(
            [_issue("D-Prognosis", "baseline", missing, "needs a power in every ISP")]
        )
    market.domain_of(fsp_id)
    period = _period([v.interval for v in baseline], market, "D-Prognosis")
    msg = DPrognosis(
        **envelope.fields(),
        **_flex_fields(market, period, congestion_point),
        isps=[
            DPrognosisISP(power=-watts(v.mw or 0.0), start=isp_of(v.interval, period, market))
            for v in baseline
        ],
        revision=revision,
    )
    return Exported(message=msg)


def baseline_from_d_prognosis(msg: DPrognosis, market: UftpMarket) -> tuple[BaselineValue, ...]:
    """The baseline a D-Prognosis states (injection-positive MW per ISP).

    Raises:
        InvalidInputError: The message does not fit the market, or an ISP is out of bounds or
            given twice.
    """
    name = "D-Prognosis"
    period = _check_market(msg, market, name)
    market.location_of(msg.congestion_point, name)
    market.party_of(msg.sender_domain or "", name)
    return tuple(
        BaselineValue.of(i, mw_of(-isp.power))  # type: ignore[attr-defined]
        for i, isp in _expand(msg.isps, period, market, name)
    )


# --------------------------------------------------------------------------- Metering


def metering(
    unit_id: str, series: MeterSeries, market: UftpMarket, *, envelope: Envelope, revision: int
) -> Exported:
    """The Metering message of one unit's meter over one day: a ``Power`` profile in kW.

    A missing reading (``None``) is an ISP left out (the receiver reads it as missing).
    """
    readings = [r for r in series.readings if r.mw is not None]
    if not readings:
        raise InvalidInputError([_issue("Metering", "series", unit_id, "has no reading")])
    period = _period([r.interval for r in series.readings], market, "Metering")
    minutes = int(market.isp_duration.total_seconds() // 60)
    msg = Metering(
        **envelope.fields(),
        profiles=[
            MeteringProfile(
                profile_type=MeteringProfileEnum.POWER,
                unit=MeteringUnit.K_W,
                isps=[
                    MeteringISP(
                        start=isp_of(r.interval, period, market),
                        value=(-decimal_of(r.mw or 0.0) * 1000).quantize(_KW),
                    )
                    for r in readings
                ],
            )
        ],
        revision=revision,
        isp_duration=XmlDuration(f"PT{minutes}M"),
        time_zone=market.time_zone,
        period=XmlDate.from_date(period),
        ean=market.ean_of(unit_id),
    )
    lost: tuple[str, ...] = ()
    if len(readings) < len(series.readings):
        lost = (f"MeterSeries {unit_id}: {len(series.readings) - len(readings)} missing readings",)
    return Exported(message=msg, not_carried=lost)


def meter_from_metering(msg: Metering, market: UftpMarket) -> tuple[str, MeterSeries]:
    """The unit and meter series of a Metering message (its ``Power`` profile).

    Raises:
        InvalidInputError: The message does not fit the market, has no ``Power`` profile in
            kW, or an ISP is out of bounds or given twice. Energy and meter-reading profiles
            are not read (flexcoord meters mean power).
    """
    name = "Metering"
    period = _check_market(msg, market, name)
    unit_id = market.unit_of(msg.ean, name)
    power = [p for p in msg.profiles if p.profile_type == MeteringProfileEnum.POWER]
    if len(power) != 1 or power[0].unit != MeteringUnit.K_W:
        raise InvalidInputError(
            [_issue(name, "Profile", len(power), "needs one Power profile in kW")]
        )
    pairs = [
        (interval, isp)
        for isp in power[0].isps
        for interval in intervals_of(isp.start, 1, period, market, name)
    ]
    pairs.sort(key=lambda pair: pair[0].start)
    return unit_id, MeterSeries.of((i, float(-isp.value / 1000)) for i, isp in pairs)


# --------------------------------------------------------------------------- FlexSettlement


@dataclass(frozen=True, slots=True, kw_only=True)
class SettledIsp:
    """One ISP of a settled order (MW; baseline and metered power injection-positive,
    ordered, delivered and deficient flexibility non-negative in the order's direction)."""

    interval: Interval
    baseline_mw: float
    ordered_mw: float
    metered_mw: float
    delivered_mw: float
    deficiency_mw: float


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSettlement:
    """What a ``FlexOrderSettlement`` states about one order (one awarded bid).

    Attributes:
        order_reference: The FlexOrder's OrderReference.
        congestion_point: Its congestion point (entity address).
        direction: The order's direction.
        price_eur: What the FSP earns for the activation (Σ activation payment lines).
        penalty_eur: What it pays for not delivering (−Σ penalty lines, ≥ 0).
        isps: The settled ISPs.
    """

    order_reference: str
    congestion_point: str
    direction: Direction
    price_eur: Decimal
    penalty_eur: Decimal
    isps: tuple[SettledIsp, ...]

    @property
    def net_eur(self) -> Decimal:
        """Price minus penalty (UFTP's NetSettlement)."""
        return self.price_eur - self.penalty_eur


def _mw(mwh: float | None, interval: Interval) -> float:
    hours = interval.duration.total_seconds() / 3600
    return 0.0 if mwh is None else mwh / hours


def order_settlements(
    statement: Statement,
    verifications: Iterable[DeliveryVerification],
    *,
    orders: Mapping[str, tuple[str, str]],
) -> tuple[OrderSettlement, ...]:
    """The order settlements of one FSP's statement.

    Args:
        statement: The FSP's statement (its activation payment and penalty lines are read).
        verifications: The delivery verifications of its orders.
        orders: Bid id → (OrderReference, congestion point) of each FlexOrder settled.
    """
    by_bid: dict[str, list[DeliveryVerification]] = {}
    for v in verifications:
        by_bid.setdefault(v.bid_id, []).append(v)
    out = []
    for bid_id, (reference, congestion_point) in sorted(orders.items()):
        lines = [line for line in statement.lines if line.bid_id == bid_id]
        price = sum(
            (ln.amount.eur for ln in lines if ln.kind is LineKind.ACTIVATION_PAYMENT), Decimal(0)
        )
        penalty = -sum((ln.amount.eur for ln in lines if ln.kind is LineKind.PENALTY), Decimal(0))
        rows = sorted(by_bid.get(bid_id, []), key=lambda v: v.interval.start)
        isps = tuple(
            SettledIsp(
                interval=v.interval,
                baseline_mw=v.baseline_mw or 0.0,
                ordered_mw=_mw(v.ordered_mwh, v.interval),
                metered_mw=v.metered_mw or 0.0,
                delivered_mw=max(_mw(v.delivered_mwh, v.interval), 0.0),
                deficiency_mw=max(
                    _mw(v.ordered_mwh, v.interval) - _mw(v.delivered_mwh, v.interval), 0.0
                ),
            )
            for v in rows
        )
        direction = rows[0].direction if rows else Direction.UP
        out.append(
            OrderSettlement(
                order_reference=reference,
                congestion_point=congestion_point,
                direction=direction,
                price_eur=price,
                penalty_eur=penalty,
                isps=isps,
            )
        )
    return tuple(out)


def _flex_w(mw: float, direction: Direction) -> int:
    return -watts(mw) if direction is Direction.UP else watts(mw)


def _order_element(s: OrderSettlement, market: UftpMarket, period: date) -> FlexOrderSettlement:
    return FlexOrderSettlement(
        order_reference=s.order_reference,
        period=XmlDate.from_date(period),
        congestion_point=s.congestion_point,
        price=s.price_eur.quantize(_EUR),
        penalty=s.penalty_eur.quantize(_EUR),
        net_settlement=s.net_eur.quantize(_EUR),
        isps=[
            FlexOrderSettlementISP(
                start=isp_of(i.interval, period, market),
                baseline_power=-watts(i.baseline_mw),
                ordered_flex_power=_flex_w(i.ordered_mw, s.direction),
                actual_power=-watts(i.metered_mw),
                delivered_flex_power=_flex_w(i.delivered_mw, s.direction),
                power_deficiency=_flex_w(i.deficiency_mw, s.direction),
            )
            for i in s.isps
        ],
    )


def flex_settlement(
    settlements: Sequence[OrderSettlement], market: UftpMarket, *, envelope: Envelope
) -> Exported:
    """The FlexSettlement of one AGR's orders over one day.

    UFTP requires a ContractSettlement; flexcoord has no bilateral reservation contract in a
    statement, so one empty contract (ReservedPower 0 in the first ISP) is written and listed.
    """
    if not settlements or any(not s.isps for s in settlements):
        raise InvalidInputError(
            [_issue("FlexSettlement", "settlements", len(settlements), "need ISPs")]
        )
    period = _period([i.interval for s in settlements for i in s.isps], market, "FlexSettlement")
    xml_period = XmlDate.from_date(period)
    msg = FlexSettlement(
        **envelope.fields(),
        flex_order_settlements=[_order_element(s, market, period) for s in settlements],
        contract_settlements=[
            ContractSettlement(
                contract_id=market.product_id,
                periods=[
                    ContractSettlementPeriod(
                        period=xml_period, isps=[ContractSettlementISP(start=1, reserved_power=0)]
                    )
                ],
            )
        ],
        period_start=xml_period,
        period_end=xml_period,
        currency=market.currency,
    )
    return Exported(
        message=msg,
        not_carried=("FlexSettlement.ContractSettlement: flexcoord writes one empty contract",),
    )


def _flex_mw(w: int) -> float:
    return mw_of(abs(w))


def settlements_from_flex_settlement(
    msg: FlexSettlement, market: UftpMarket
) -> tuple[OrderSettlement, ...]:
    """The order settlements a FlexSettlement states (ContractSettlement is not read).

    Raises:
        InvalidInputError: Another currency than the market's, an unknown congestion point,
            NetSettlement ≠ Price − Penalty, or an ISP out of bounds or given twice.
    """
    name = "FlexSettlement"
    if msg.currency != market.currency:
        raise InvalidInputError([_issue(name, "Currency", msg.currency, "is not the market's")])
    out = []
    for element in msg.flex_order_settlements:
        market.location_of(element.congestion_point, name)
        if element.net_settlement != element.price - element.penalty:
            raise InvalidInputError(
                [_issue(name, "NetSettlement", str(element.net_settlement), "≠ Price − Penalty")]
            )
        pairs = _expand(element.isps, element.period.to_date(), market, name)
        flows = [isp.ordered_flex_power for _, isp in pairs if isp.ordered_flex_power]  # type: ignore[attr-defined]
        direction = Direction.UP if not flows or flows[0] < 0 else Direction.DOWN
        out.append(
            OrderSettlement(
                order_reference=element.order_reference or "",
                congestion_point=element.congestion_point,
                direction=direction,
                price_eur=element.price,
                penalty_eur=element.penalty,
                isps=tuple(
                    SettledIsp(
                        interval=i,
                        baseline_mw=mw_of(-isp.baseline_power),  # type: ignore[attr-defined]
                        ordered_mw=_flex_mw(isp.ordered_flex_power),  # type: ignore[attr-defined]
                        metered_mw=mw_of(-isp.actual_power),  # type: ignore[attr-defined]
                        delivered_mw=_flex_mw(isp.delivered_flex_power),  # type: ignore[attr-defined]
                        deficiency_mw=_flex_mw(isp.power_deficiency),  # type: ignore[attr-defined]
                    )
                    for i, isp in pairs
                ),
            )
        )
    return tuple(out)
