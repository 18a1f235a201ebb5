"""Seeded industrial sites of a DSO area with schedules and indivisible redispatch bids (I4RD).

Industry4Redispatch's demonstrator (L1043–L1067, L2144–L2161): industrial customers in a
distribution grid send the DSO their **schedules**, which the DSO's simplified model is computed
from, and offer **indivisible** redispatch bids with active power, a power factor, a price and
**XOR relations** between a site's alternatives. :func:`industrial_case` makes such a case on a
grid's DSO area. Choices (ours: the seed gives no numbers):

- **Sites**: industrial loads (``Technology.INDUSTRIAL_LOAD``) of 1–4 MW rating on distinct load
  buses of the area in one industrial park (two beyond six sites): the load buses nearest (in
  branch hops) to a random centre. Each site has its own FSP (``fsp:industry:<k>``); cos φ is
  drawn from 1.0, 0.95 and 0.9 (inductive); minimum consumption 20 % of the rating; half of them
  run two shifts (06:00–22:00 local time at 85 % of the rating, 30 % at night), the others
  continuously at 75 %, each MTU varied by 3 % (seeded).
- **Schedules**: the sites are new consumers, so their schedule is added to the grid's base case
  at their buses, with their power factor (:attr:`IndustrialCase.operating_points`).
- **Hosting** (a DSO's connection assessment, our numbers): with the schedules every MTU must keep
  the area's branches at most 80 % loaded and its voltages 0.01 pu inside their band, in AC (one
  power-grid-model batch over the MTUs) — or, where the grid's own base case is already beyond
  that, no further beyond it; otherwise every site's rating shrinks by 15 % and the check is
  repeated (up to 20 times). So the park is about as large as the grid hosts, the do-nothing
  point passes usual margins, and the flexibility offered is what makes the grid bind.
- **Bids**: per direction ``n_bids`` (at most 16, the Pareto enumeration's limit) as 1–3
  alternatives per site; a site's alternatives form one XOR set (``x:<site>:<direction>``).
  Alternative ``j`` of ``m`` offers about ``(j+1)/m`` of the site's typical room — UP (consume less)
  down to the minimum, DOWN (consume more) up to the rating — and is offered in every MTU whose
  schedule leaves that room. Activation prices: UP 80–250 €/MWh, DOWN 15–90 €/MWh per site, +30 %
  per deeper alternative. ``q_mvar_per_mw`` is the site's tan φ (a load reduction injects the
  reactive power it no longer draws), ``None`` at unity power factor.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from flexcoord.coordination.aggregation.dso_model import area_branches, area_flows
from flexcoord.coordination.aggregation.pareto import MAX_PARETO_BIDS
from flexcoord.domain import (
    Bid,
    ConnectionPoint,
    Direction,
    FlexibilityServiceProvider,
    Interval,
    MtuQuantity,
    PowerType,
    Product,
    ProductKind,
    Register,
    Technology,
    Timeframe,
    Unit,
)
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.grid.pgm import Injections, run_ac_batch
from flexcoord.grid.violations import Limits, resolve_limits

__all__ = ["INDUSTRY_PRODUCT_ID", "IndustrialCase", "IndustrialSite", "industrial_case"]

FloatArray = NDArray[np.float64]

#: The product the industrial bids offer: day-ahead redispatch activation, 15-min MTUs.
INDUSTRY_PRODUCT_ID = "p-i4rd-redispatch"

_LOCAL = ZoneInfo("Europe/Berlin")
_MIN_SHARE = 0.15
_RATING_MW = (1.0, 4.0)
_PARK_SIZE = 6
_COS_PHI = (1.0, 0.95, 0.9)
_SHIFT_HOURS = (6, 22)
_LEVEL = {True: (0.70, 0.25), False: (0.55, 0.55)}  # two shifts: (day, night) share of rating
_ALTERNATIVES = ((1, 2, 3), (0.4, 0.35, 0.25))
_PRICE = {Direction.UP: (80.0, 250.0), Direction.DOWN: (15.0, 90.0)}
_HOSTING_LOADING = 0.8
_HOSTING_VM_PU = 0.01
_ATTEMPTS = 20
_SHRINK = 0.85


@dataclass(frozen=True, slots=True, kw_only=True)
class IndustrialSite:
    """One industrial consumer: its unit in the register and how it runs.

    Attributes:
        unit_id: Its unit (``industry:<k>``), an ``INDUSTRIAL_LOAD``.
        fsp_id: Its FSP.
        bus: pandapower bus.
        rating_mw: Highest consumption.
        min_mw: Lowest consumption.
        cos_phi: Power factor (inductive).
        two_shifts: Runs 06:00–22:00 at a high level and low at night (else continuously).
    """

    unit_id: str
    fsp_id: str
    bus: int
    rating_mw: float
    min_mw: float
    cos_phi: float
    two_shifts: bool

    @property
    def q_mvar_per_mw(self) -> float | None:
        """tan φ: Mvar drawn per MW consumed (``None`` at unity power factor)."""
        return None if self.cos_phi >= 1.0 else math.tan(math.acos(self.cos_phi))


@dataclass(frozen=True, slots=True, kw_only=True)
class IndustrialCase:
    """Industrial sites of one DSO area over a day: register, schedules, base case and bids.

    Attributes:
        area_id: The DSO area.
        intervals: The MTUs.
        sites: The sites.
        schedule_mw: ``(n_site, n_mtu)`` scheduled consumption (≥ 0).
        operating_points: The base case per MTU with the schedules: the given base points plus
            each site's schedule drawn at its bus, with ``tan φ`` times it in Mvar.
        register: The input register plus the sites (units, connection points, FSPs) and the
            product :data:`INDUSTRY_PRODUCT_ID`.
        bids: Both directions' bids, UP first.
    """

    area_id: str
    intervals: tuple[Interval, ...]
    sites: tuple[IndustrialSite, ...]
    schedule_mw: FloatArray
    operating_points: Injections
    register: Register
    bids: tuple[Bid, ...]

    def bids_of(self, direction: Direction) -> tuple[Bid, ...]:
        """The bids of one direction."""
        return tuple(b for b in self.bids if b.direction is direction)


def industrial_case(  # noqa: PLR0913 - public: the grid, then keyword-only case options
    grid: Any,
    register: Register,
    *,
    intervals: Sequence[Interval],
    base_points: Injections,
    area_id: str | None = None,
    n_bids: int = 12,
    seed: int = 0,
    submitted_at: datetime | None = None,
) -> IndustrialCase:
    """Seeded industrial sites, schedules and bids in a DSO area (module docstring).

    Args:
        grid: The :class:`~flexcoord.grid.model.GridModel` ``register`` was built on.
        register: The grid's register (e.g. :func:`~flexcoord.grid.portfolio.build_portfolio`).
        intervals: The MTUs of the day.
        base_points: The grid's base case, one scenario per MTU (e.g.
            :func:`~flexcoord.grid.forecast.profile_operating_points`).
        area_id: The DSO area (``None``: the one with most buses, first by id on a tie).
        n_bids: Bids per direction, 1 to 16.
        seed: Seed; the same arguments give the same case.
        submitted_at: When the bids were submitted (default 14 h before the first MTU).

    Raises:
        InvalidInputError: ``n_bids`` out of range, base points not one per MTU, or no draw of
            sites the area can host.
        NotFoundError: unknown ``area_id``.
        GridError: a power flow does not converge.

    Example:
        >>> from datetime import date
        >>> from flexcoord.domain import market_time_units
        >>> from flexcoord.grid.forecast import profile_operating_points
        >>> from flexcoord.grid.model import load_grid
        >>> from flexcoord.grid.portfolio import build_portfolio
        >>> grid = load_grid("1-MV-rural--0-sw")
        >>> mtus = market_time_units(date(2026, 6, 2))[:4]
        >>> base = profile_operating_points(grid, start_step=96 * 152, steps=4)
        >>> case = industrial_case(grid, build_portfolio(grid), intervals=mtus, base_points=base,
        ...                        n_bids=6)
        >>> len(case.bids_of(Direction.UP)), len(case.bids_of(Direction.DOWN))
        (6, 6)
        >>> all(not b.divisible for b in case.bids), case.operating_points.n_scenarios
        (True, 4)
    """
    intervals = tuple(intervals)
    issues = []
    if not 1 <= n_bids <= MAX_PARETO_BIDS:
        issues.append(("n_bids", n_bids, f"must be 1 to {MAX_PARETO_BIDS}"))
    if not intervals or base_points.n_scenarios != len(intervals):
        issues.append(
            ("base_points", base_points.n_scenarios, "must hold one scenario per MTU (>= 1)")
        )
    if issues:
        raise _error(area_id, issues)
    split = grid.areas
    area = (
        split.dso_area(area_id)
        if area_id is not None
        else min(split.dso_areas, key=lambda a: (-len(a.bus_ids), a.id))
    )
    rng = np.random.default_rng(seed)
    counts = _alternatives(n_bids, rng)
    drawn = _sites(grid, area, len(counts), rng)
    noise = rng.standard_normal((len(drawn), len(intervals)))
    allowed = max(_hosting_excess(grid, area, base_points), 0.0) + 1e-9
    for attempt in range(_ATTEMPTS):
        sites = tuple(_scaled(site, _SHRINK**attempt) for site in drawn)
        schedule = _schedules(sites, intervals, noise)
        points = _with_schedules(base_points, sites, schedule)
        if _hosting_excess(grid, area, points) <= allowed:
            break
    else:
        raise _error(area.id, [("sites", len(drawn), "the area hosts none of the draws")])
    submitted = submitted_at or intervals[0].start - timedelta(hours=14)
    bids = tuple(
        bid
        for direction in (Direction.UP, Direction.DOWN)
        for bid in _bids(sites, counts, schedule, intervals, direction, submitted, rng)
    )
    return IndustrialCase(
        area_id=area.id,
        intervals=intervals,
        sites=sites,
        schedule_mw=schedule,
        operating_points=points,
        register=_with_sites(register, sites, area),
        bids=bids,
    )


def _error(area_id: str | None, issues: Sequence[tuple[str, object, str]]) -> InvalidInputError:
    return InvalidInputError(
        Issue(kind="IndustrialCase", object_id=area_id or "industry", field=f, value=v, message=m)
        for f, v, m in issues
    )


def _with_schedules(
    base: Injections, sites: Sequence[IndustrialSite], schedule: FloatArray
) -> Injections:
    """``base`` with each site drawing its schedule (and ``tan φ`` times it) at its bus."""
    buses = sorted({s.bus for s in sites})
    p = np.zeros((schedule.shape[1], len(buses)))
    q = np.zeros_like(p)
    for k, site in enumerate(sites):
        col = buses.index(site.bus)
        p[:, col] -= schedule[k]
        q[:, col] -= schedule[k] * (site.q_mvar_per_mw or 0.0)
    index = base.index
    return base.plus_bus(
        pd.DataFrame(p, index=index, columns=buses), pd.DataFrame(q, index=index, columns=buses)
    )


def _hosting_excess(grid: Any, area: Any, points: Injections) -> float:
    """How far the worst MTU goes beyond the hosting limits (module docstring), in AC: the
    largest of loading − 0.8 and the voltages' excursions beyond their band shrunk by 0.01 pu."""
    pgm = grid.pgm()
    buses = np.array(sorted(area.bus_ids), dtype=np.int64)
    flows = area_flows(
        grid,
        run_ac_batch(pgm, points),
        bus_ids=buses,
        branch_names=area_branches(grid, area.bus_ids, pgm.branches.index),
        coupling_point_ids=[cp.id for cp in area.coupling_points],
    )
    vmin, vmax, _ = resolve_limits(pgm, Limits())
    pos = pgm.buses.index.get_indexer(pd.Index(buses))
    loading = np.hypot(flows.p_from_mw, flows.q_from_mvar) / flows.s_max_mva
    return float(
        max(
            (loading - _HOSTING_LOADING).max(initial=-1.0),
            (vmin[pos] + _HOSTING_VM_PU - flows.vm_pu).max(),
            (flows.vm_pu - vmax[pos] + _HOSTING_VM_PU).max(),
        )
    )


def _alternatives(n_bids: int, rng: np.random.Generator) -> list[int]:
    """Bids per site (1–3), summing to ``n_bids``."""
    counts: list[int] = []
    while sum(counts) < n_bids:
        drawn = int(rng.choice(_ALTERNATIVES[0], p=_ALTERNATIVES[1]))
        counts.append(min(drawn, n_bids - sum(counts)))
    return counts


def _sites(grid: Any, area: Any, n: int, rng: np.random.Generator) -> tuple[IndustrialSite, ...]:
    net = grid.net
    loads = net.load[net.load["in_service"].astype(bool)]
    candidates = sorted({int(b) for b in loads["bus"] if int(b) in area.bus_ids}) or sorted(
        area.bus_ids
    )
    buses = _parks(grid, area, candidates, n, rng)
    ratings = np.round(rng.uniform(*_RATING_MW, size=n), 1)
    cos_phi = rng.choice(_COS_PHI, size=n)
    shifts = rng.random(n) < 0.5
    return tuple(
        IndustrialSite(
            unit_id=f"industry:{k}",
            fsp_id=f"fsp:industry:{k}",
            bus=int(buses[k]),
            rating_mw=float(ratings[k]),
            min_mw=round(_MIN_SHARE * float(ratings[k]), 3),
            cos_phi=float(cos_phi[k]),
            two_shifts=bool(shifts[k]),
        )
        for k in range(n)
    )


def _parks(
    grid: Any, area: Any, candidates: Sequence[int], n: int, rng: np.random.Generator
) -> list[int]:
    """``n`` buses in one or two industrial parks: around a random centre, the nearest
    candidates by branch hops (a bus may repeat only when the candidates run out)."""
    neighbours: dict[int, set[int]] = {}
    for name in area_branches(grid, area.bus_ids, grid.pgm().branches.index):
        a, b = grid.branch_ends()[name]
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    free = list(candidates)
    n_parks = 1 if n <= _PARK_SIZE else 2
    out: list[int] = []
    for park in range(n_parks):
        size = n // n_parks + (1 if park < n % n_parks else 0)
        centre = int(rng.choice(free or list(candidates)))
        hops = {centre: 0}
        frontier = [centre]
        while frontier:
            frontier = [b for a in frontier for b in sorted(neighbours.get(a, ())) if b not in hops]
            hops |= {b: max(hops.values()) + 1 for b in frontier}
        ranked = sorted(free, key=lambda b: (hops.get(b, len(hops)), b))
        chosen = ranked[:size] or [centre]
        out += [chosen[k % len(chosen)] for k in range(size)]
        free = [b for b in free if b not in chosen]
    return out


def _scaled(site: IndustrialSite, factor: float) -> IndustrialSite:
    rating = round(site.rating_mw * factor, 3)
    return dataclasses.replace(site, rating_mw=rating, min_mw=round(_MIN_SHARE * rating, 3))


def _schedules(
    sites: Sequence[IndustrialSite], intervals: Sequence[Interval], noise: FloatArray
) -> FloatArray:
    """``(n_site, n_mtu)`` consumption: the shift level × (1 + 3 % noise), within the range."""
    hours = np.array([iv.start.astimezone(_LOCAL).hour for iv in intervals])
    day = (hours >= _SHIFT_HOURS[0]) & (hours < _SHIFT_HOURS[1])
    rows = []
    for site, eps in zip(sites, noise, strict=True):
        high, low = _LEVEL[site.two_shifts]
        level = np.where(day, high, low) * site.rating_mw * (1.0 + 0.03 * eps)
        rows.append(np.round(np.clip(level, site.min_mw, site.rating_mw), 4))
    return np.array(rows, dtype=np.float64)


def _bids(  # noqa: PLR0913 - private: one site's parts, by keyword
    sites: Sequence[IndustrialSite],
    counts: Sequence[int],
    schedule: FloatArray,
    intervals: Sequence[Interval],
    direction: Direction,
    submitted: datetime,
    rng: np.random.Generator,
) -> list[Bid]:
    low, high = _PRICE[direction]
    out: list[Bid] = []
    for k, (site, m) in enumerate(zip(sites, counts, strict=True)):
        if direction is Direction.UP:
            room = schedule[k] - site.min_mw
        else:
            room = site.rating_mw - schedule[k]
        typical = float(np.median(room))
        base_price = float(rng.uniform(low, high))
        for j in range(m):
            quantity = round(max((j + 1) / m * typical * float(rng.uniform(0.8, 1.0)), 0.05), 3)
            offered = [iv for iv, r in zip(intervals, room, strict=True) if r >= quantity]
            if not offered:  # the site never has the room: offer its smallest step once
                offered = [intervals[int(np.argmax(room))]]
            out.append(
                Bid(
                    id=f"i4rd:{direction}:{k}:{j}",
                    fsp_id=site.fsp_id,
                    resource_id=site.unit_id,
                    product_id=INDUSTRY_PRODUCT_ID,
                    direction=direction,
                    quantities=tuple(MtuQuantity(interval=iv, quantity=quantity) for iv in offered),
                    submitted_at=submitted,
                    activation_price_eur_per_mwh=round(base_price * (1.0 + 0.3 * j), 2),
                    divisible=False,
                    exclusive_set=f"x:{site.unit_id}:{direction}" if m > 1 else None,
                    q_mvar_per_mw=site.q_mvar_per_mw,
                )
            )
    return out


def _with_sites(register: Register, sites: Sequence[IndustrialSite], area: Any) -> Register:
    existing = {cp.id for cp in register.connection_points}
    coupling = min(cp.id for cp in area.coupling_points) if area.coupling_points else None
    new_cps = [
        ConnectionPoint(id=f"cp:{bus}", bus=bus, area_id=area.id, coupling_point_id=coupling)
        for bus in sorted({s.bus for s in sites})
        if f"cp:{bus}" not in existing
    ]
    product = Product(  # 15-minute MTUs and periods, no minimum quantity nor lead time
        id=INDUSTRY_PRODUCT_ID,
        power_type=PowerType.ACTIVE,
        kind=ProductKind.ACTIVATION,
        timeframe=Timeframe.DAY_AHEAD,
        gate_closure_before_delivery=timedelta(hours=12),
    )
    return dataclasses.replace(
        register,
        fsps=(
            *register.fsps,
            *(
                FlexibilityServiceProvider(id=s.fsp_id, name=f"Industrial site {s.unit_id}")
                for s in sites
            ),
        ),
        connection_points=(*register.connection_points, *new_cps),
        units=(
            *register.units,
            *(
                Unit(
                    id=s.unit_id,
                    fsp_id=s.fsp_id,
                    connection_point_id=f"cp:{s.bus}",
                    technology=Technology.INDUSTRIAL_LOAD,
                    p_min_mw=-s.rating_mw,
                    p_max_mw=0.0,
                    min_power_factor=s.cos_phi,
                )
                for s in sites
            ),
        ),
        products=(*register.products, product)
        if not any(p.id == INDUSTRY_PRODUCT_ID for p in register.products)
        else register.products,
    )
