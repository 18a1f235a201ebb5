"""Bids from devices: the cost-based offers of pooled devices (:mod:`.devices`).

Bids (:func:`device_bids`) are one hour long (``DevicePooling.bid_mtus`` = 4 MTUs),
divisible, with one quantity per MTU: what the pool's devices can do from that MTU on and hold
for ``DevicePooling.sustain_mtus`` MTUs, given their forecast and state, rounded *down* to
0.1 kW. Activations in several MTUs share the same recovery room (an EV's later MTUs, a
battery's SoC): an activation longer than the sustained block, or several blocks close together,
may ask more than that room, and :func:`~flexcoord.simulation.devices.apply_activation` then
delivers less than ordered; it never breaks a physical rule.

Units are pooled per aggregator (the unit's FSP), behind one coupling point, per technology and
spec, ``units_per_pool`` at a time: :func:`device_pools` gives the
:class:`~flexcoord.domain.Group` of each pool of two or more (add them to the register); a pool
of one bids as its unit. Price = the device's marginal cost
(:meth:`~flexcoord.simulation.devices.DeviceSpec.cost_eur_per_mwh`) × (1 + markup).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from flexcoord.domain import Bid, Direction, Group, Interval, MtuQuantity, PowerType, Product
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.simulation.devices import Device, DeviceSpec, capability_mw, default_baseline_mw

__all__ = ["DevicePooling", "device_bids", "device_pools"]

FloatArray = NDArray[np.float64]
_QUANTUM_MW = 1e-4  # bid quantities are rounded down to 0.1 kW


def _issue(kind: str, object_id: str, field: str, value: object, message: str) -> Issue:
    return Issue(kind=kind, object_id=object_id, field=field, value=value, message=message)


@dataclass(frozen=True, slots=True, kw_only=True)
class DevicePooling:
    """How aggregators bid their devices.

    Attributes:
        units_per_pool: devices of one FSP, coupling point and technology bid together, this
            many at a time (1: every device bids alone).
        bid_mtus: MTUs per bid (4: one-hour bids of 15-min MTUs).
        sustain_mtus: how many MTUs in a row the offered MW can be held from any MTU (1: each
            MTU alone). Energy-limited devices (batteries, heat pumps, EVs) offer less per MTU
            the longer they must hold it (:func:`~flexcoord.simulation.devices.capability_mw`).
    """

    units_per_pool: int = 1
    bid_mtus: int = 4
    sustain_mtus: int = 1

    def __post_init__(self) -> None:
        issues = [
            _issue("DevicePooling", "pooling", name, getattr(self, name), "must be an integer >= 1")
            for name in ("units_per_pool", "bid_mtus", "sustain_mtus")
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 1)
        ]
        if issues:
            raise InvalidInputError(issues)


def _pools(devices: Iterable[Device], pooling: DevicePooling) -> list[list[Device]]:
    keyed: dict[tuple[str, str, str, DeviceSpec], list[Device]] = {}
    for d in sorted(devices, key=lambda d: d.unit_id):
        keyed.setdefault((d.fsp_id, d.place, d.technology, d.spec), []).append(d)
    size = pooling.units_per_pool
    return [
        members[i : i + size]
        for key in sorted(keyed, key=lambda k: k[:3])
        for members in (keyed[key],)
        for i in range(0, len(members), size)
    ]


def _pool_id(members: Sequence[Device]) -> str:
    if len(members) == 1:
        return members[0].unit_id
    return f"pool:{members[0].fsp_id}:{members[0].technology}:{members[0].unit_id}"


def device_pools(
    devices: Iterable[Device], *, pooling: DevicePooling | None = None
) -> tuple[Group, ...]:
    """The groups of the pools of two or more devices (add them to the register's groups)."""
    return tuple(
        Group(id=_pool_id(m), fsp_id=m[0].fsp_id, unit_ids=tuple(d.unit_id for d in m))
        for m in _pools(devices, pooling or DevicePooling())
        if len(m) > 1
    )


def device_bids(  # noqa: PLR0913 - public: devices and forecasts, then keyword-only bid options
    devices: Iterable[Device],
    forecast_mw: Mapping[str, FloatArray],
    *,
    mtus: Sequence[Interval],
    product: Product,
    submitted_at: datetime,
    markup: float = 0.0,
    pooling: DevicePooling | None = None,
) -> tuple[Bid, ...]:
    """Cost-based bids of the devices' flexibility, per pool, direction and hour.

    Args:
        devices: the devices.
        forecast_mw: per unit id, its forecast schedule (signed, ``(n_mtu,)``); a device not
            in it bids on its :func:`baseline_mw` (curtailment devices need one).
        mtus: the MTUs the forecasts are on.
        product: the product bid for (active power).
        submitted_at: the bids' submission time (before the product's gate closure).
        markup: price = marginal cost × (1 + markup), ``markup >= 0``.
        pooling: how devices are pooled and how long a bid is (:class:`DevicePooling`).

    Returns:
        Divisible bids with a quantity per MTU, each at most what the pool can do in that MTU.
    """
    if product.power_type is not PowerType.ACTIVE or not (
        isinstance(markup, int | float) and math.isfinite(markup) and markup >= 0
    ):
        raise InvalidInputError(
            [
                _issue(
                    "Product",
                    product.id,
                    "power_type/markup",
                    (product.power_type, markup),
                    "device bids need an active-power product and a markup >= 0",
                )
            ]
        )
    pooling = pooling or DevicePooling()
    bids: list[Bid] = []
    for members in _pools(devices, pooling):
        up, down = np.zeros(len(mtus)), np.zeros(len(mtus))
        for d in members:
            baseline = (
                forecast_mw[d.unit_id] if d.unit_id in forecast_mw else default_baseline_mw(d, mtus)
            )
            d_up, d_down = capability_mw(d, baseline, mtus=mtus, sustain_mtus=pooling.sustain_mtus)
            up, down = up + d_up, down + d_down
        for direction, quantity in ((Direction.UP, up), (Direction.DOWN, down)):
            cost = members[0].spec.cost_eur_per_mwh(members[0].kind, direction)
            if cost is not None:
                bids += _pool_bids(
                    members,
                    direction,
                    quantity,
                    cost * (1 + markup),
                    mtus=mtus,
                    product=product,
                    submitted_at=submitted_at,
                    width=pooling.bid_mtus,
                )
    return tuple(bids)


def _pool_bids(  # noqa: PLR0913 - private: one pool's bids of one direction, by keyword
    members: Sequence[Device],
    direction: Direction,
    quantity: FloatArray,
    price: float,
    *,
    mtus: Sequence[Interval],
    product: Product,
    submitted_at: datetime,
    width: int,
) -> list[Bid]:
    resource = _pool_id(members)
    floored = np.floor(quantity / _QUANTUM_MW) * _QUANTUM_MW
    out = []
    for start in range(0, len(mtus), width):
        items = tuple(
            MtuQuantity(interval=mtus[t], quantity=round(float(floored[t]), 4))
            for t in range(start, min(start + width, len(mtus)))
            if floored[t] > 0
        )
        if items:
            out.append(
                Bid(
                    id=f"{product.id}:{resource}:{direction}:{start}",
                    fsp_id=members[0].fsp_id,
                    resource_id=resource,
                    product_id=product.id,
                    direction=direction,
                    quantities=items,
                    submitted_at=submitted_at,
                    activation_price_eur_per_mwh=round(price, 2),
                )
            )
    return out
