"""Seeded scenarios on SimBench grids: one market day with congestion on both grids.

:func:`build_coordination_scenario` makes the identical input every coordination scheme is run and
compared on. The same arguments (and seed) give the same scenario.

How it is made (choices documented here because no data source prescribes them):

- **Grid and portfolio**: the SimBench grid, its TSO/DSO split (:mod:`flexcoord.grid.areas`) and
  DER portfolio with scenario additions (:func:`~flexcoord.grid.portfolio.build_portfolio`), one
  TSO and one DSO (one per DSO area with ``dso_per_area``), plus one commercial buyer (``brp``)
  for the integrated market.
- **Base case**: the SimBench profiles of ``profile_day`` (a 2016 local day) through
  power-grid-model, placed on the MTUs of ``market_day``. Its branch flows are the
  **thermal-equivalent flows** of :mod:`flexcoord.grid.thermal` (each branch's current as MW at
  nominal voltage, signed as its active power; ``FlowQuantity.THERMAL``), the quantity the thermal
  limits and the AC check are written in: limits, linear model and AC check speak of one quantity
  (``docs/decisions/008-thermal-equivalent-flows.md``).
- **Congestion by design**: SimBench's grids are not congested on most days, so the ``n_tso`` most
  loaded TSO branches get a limit of ``tso_tightening`` × their peak flow of the day and the
  ``n_dso`` most loaded DSO lines ``dso_tightening`` × theirs (``limit_overrides_mw``, in that
  quantity: congested in AC exactly as in the linear base case) — the approach of the ecosystem
  lab's clearing benchmark. A DSO line qualifies only when the dead-end side it feeds hosts at
  least twice its worst overload in flexible range (otherwise the congestion is not a market
  problem). Every market then has congestion to manage.
- **Needs**: the TSO posts a system-wide upward balancing need (``tso_need_mw`` in the afternoon
  hours); each congested DSO line's area gets a DSO need at the buses of its dead-end side for the
  overload, in the direction that relieves it; the BRP posts a small upward need.
- **Bids**: ``n_bids`` bids of one hour (4 MTUs) on units drawn from the portfolio (at least
  50 kW of range): generators offer down (curtailment), loads up (reduction), storage, EVs and
  heat pumps either way; quantities up to the unit's range (capped at ``max_bid_mw``), activation
  prices uniform in 20–200 €/MWh, a share ``indivisible_share`` indivisible. A share
  ``focus_share`` sits on units with a PTDF ≥ 0.05 on a congested TSO branch, starting where it is
  overloaded, and each DSO need gets bids at its buses in its direction and hours (see ``_bids``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from flexcoord.coordination.inputs import CoordinationInput
from flexcoord.coordination.timeframes import RoundKind, SubMarketRound, TimeframeChain
from flexcoord.domain import (
    Bid,
    Direction,
    Interval,
    Location,
    MtuQuantity,
    Need,
    OperatorRole,
    PowerType,
    Product,
    ProductKind,
    Register,
    SystemOperator,
    Technology,
    Timeframe,
    market_time_units,
)
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.grid.areas import dead_end_side
from flexcoord.grid.forecast import FlowQuantity, forecast_from_profiles, forecast_from_snapshot
from flexcoord.grid.model import GridModel, load_grid
from flexcoord.grid.portfolio import ScenarioAdditions, build_portfolio

__all__ = [
    "DsoCongestion",
    "build_coordination_scenario",
    "build_timeframe_chain",
    "chain_gate_closures",
    "chain_of",
    "congestion_plan",
    "dso_needs",
    "make_need",
    "profile_step_of",
]

_PROFILE_ORIGIN = datetime(2015, 12, 31, 23, tzinfo=UTC)  # SimBench step 0 = 2016-01-01 00:00 CET
_GENERATING = frozenset(
    {
        Technology.PV,
        Technology.WIND,
        Technology.HYDRO,
        Technology.BIOMASS,
        Technology.CHP,
        Technology.GENERIC_GENERATOR,
    }
)
_CONSUMING = frozenset({Technology.GENERIC_LOAD, Technology.INDUSTRIAL_LOAD})

PRODUCT_ID = "p-da-activation"


def profile_step_of(day: date) -> int:
    """The SimBench profile step where local (Berlin) day ``day`` of 2016 begins."""
    start = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo("Europe/Berlin"))
    return int((start.astimezone(UTC) - _PROFILE_ORIGIN) / timedelta(minutes=15))


def build_coordination_scenario(  # noqa: PLR0913 - public: the grid, then one keyword per scenario knob
    code: str | GridModel = "1-HVMV-mixed-all-0-sw",
    *,
    market_day: date = date(2026, 6, 2),
    profile_day: date | None = date(2016, 6, 1),
    n_mtu: int | None = None,
    n_bids: int = 1200,
    seed: int = 0,
    n_tso: int = 3,
    n_dso: int = 3,
    tso_tightening: float = 0.95,
    dso_tightening: float = 0.85,
    focus_share: float = 0.3,
    tso_need_mw: float = 8.0,
    max_bid_mw: float = 2.0,
    indivisible_share: float = 0.0,
    additions: ScenarioAdditions | None = None,
    safety_margin: float = 0.0,
    dso_per_area: bool = False,
) -> CoordinationInput:
    """A market day on a SimBench grid with congestion on the TSO and the DSO grid.

    ``dso_per_area``: each DSO area is run by its own DSO (``dso:<area>``, which buys the needs
    of its area) instead of one DSO (``dso``) for all, so a multi-level scheme opens one DSO
    market per area.

    Example:
        >>> s = build_coordination_scenario("1-MV-rural--0-sw", n_bids=50, n_tso=0, n_dso=1)
        >>> len(s.bids), sorted({n.buyer_id for n in s.needs})
        (50, ['brp', 'dso', 'tso'])
    """
    rng = np.random.default_rng(seed)
    grid = load_grid(code) if isinstance(code, str) else code
    additions = additions or ScenarioAdditions(
        batteries=20, ev_chargers=200, heat_pumps=100, seed=seed
    )
    register = build_portfolio(grid, additions=additions, dso_per_area=dso_per_area)
    product = Product(  # 15-minute MTUs and periods, no minimum quantity nor lead time
        id=PRODUCT_ID,
        power_type=PowerType.ACTIVE,
        kind=ProductKind.ACTIVATION,
        timeframe=Timeframe.DAY_AHEAD,
        gate_closure_before_delivery=timedelta(hours=12),
    )
    operators = (
        *register.operators,
        SystemOperator(id="brp", name="Balance responsible party", role=OperatorRole.BRP),
    )
    register = dataclasses.replace(register, operators=operators, products=(product,))

    intervals = market_time_units(market_day)[:n_mtu]
    issued = intervals[0].start - timedelta(hours=12)
    thermal = FlowQuantity.THERMAL  # limits, linear base and AC check: one quantity
    if profile_day is None:
        forecast = forecast_from_snapshot(
            grid, intervals=intervals, issued_at=issued, flows=thermal
        )
    else:
        forecast = forecast_from_profiles(
            grid,
            start_step=profile_step_of(profile_day),
            intervals=intervals,
            issued_at=issued,
            label="profiles",
            flows=thermal,
        )
    overrides, dso_needs = _congestion(
        grid, register, forecast, intervals, n_tso, n_dso, tso_tightening, dso_tightening
    )
    focus = _tso_focus_buses(grid, overrides)
    needs = list(dso_needs)
    n = len(intervals)
    afternoon = intervals[n * 13 // 24 : n * 17 // 24] or intervals  # 13:00–17:00 on a full day
    all_buses = frozenset(int(b) for b in grid.bus_ids())
    needs.append(
        make_need(
            "n-tso-balancing",
            "tso",
            Location.at_buses(all_buses),
            Direction.UP,
            afternoon,
            tso_need_mw,
            250.0,
            issued,
        )
    )
    needs.append(
        make_need(
            "n-brp",
            "brp",
            Location.at_buses(all_buses),
            Direction.UP,
            intervals[n * 3 // 4 : n * 3 // 4 + 4],
            1.0,
            150.0,
            issued,
        )
    )
    bids = _bids(
        register,
        intervals,
        n_bids,
        rng,
        max_bid_mw,
        indivisible_share,
        issued,
        focus,
        focus_share,
        dso_needs,
        _tso_hot_mtus(forecast, overrides, grid),
    )
    return CoordinationInput(
        name=f"{grid.code} {market_day.isoformat()} (base case {forecast.label}, seed {seed})",
        grid=grid,
        register=register,
        needs=tuple(needs),
        bids=bids,
        intervals=intervals,
        forecast=forecast,
        limit_overrides_mw=overrides,
        safety_margin=safety_margin,
        gate_closure_at=issued,
        profile_start_step=None if profile_day is None else profile_step_of(profile_day),
    )


def make_need(  # noqa: PLR0913 - public: one need's fields, as the scenarios build them
    need_id: str,
    buyer: str,
    location: Location,
    direction: Direction,
    intervals: tuple[Interval, ...],
    mw: float | np.ndarray,
    cap: float,
    created: datetime,
) -> Need:
    quantities = np.broadcast_to(np.asarray(mw, dtype=float), (len(intervals),))
    return Need(
        id=need_id,
        buyer_id=buyer,
        product_id=PRODUCT_ID,
        location=location,
        direction=direction,
        created_at=created,
        activation_price_cap_eur_per_mwh=cap,
        quantities=tuple(
            MtuQuantity(interval=iv, quantity=round(float(q), 4))
            for iv, q in zip(intervals, quantities, strict=True)
        ),
    )


def _tso_hot_mtus(forecast: Any, overrides: dict[str, float], grid: GridModel) -> np.ndarray:
    """Per MTU, whether a tightened TSO branch is above its limit in the base case."""
    areas = grid.asset_areas()
    tso = [n for n in overrides if areas.get(n) == "tso"]
    hot = np.zeros(forecast.n_steps, dtype=bool)
    for name in tso:
        hot |= np.abs(forecast.flow_of(name)) > overrides[name]
    return hot


def _tso_focus_buses(grid: GridModel, overrides: dict[str, float]) -> frozenset[int]:
    """Buses with a PTDF of at least 0.05 on a congested TSO branch (they can relieve it)."""
    areas = grid.asset_areas()
    tso = [n for n in overrides if areas.get(n) == "tso"]
    if not tso:
        return frozenset()
    ptdf = grid.ptdf()
    strong = np.abs(ptdf.matrix[ptdf.rows(tso)]).max(axis=0) >= 0.05
    return frozenset(int(b) for b in ptdf.bus_ids[strong])


@dataclass(frozen=True, slots=True, kw_only=True)
class DsoCongestion:
    """A DSO line tightened by design, and where and how flexibility relieves it.

    ``buses`` is the dead-end side the line feeds, ``direction`` what relieves it there.
    """

    branch: str
    limit_mw: float
    buses: frozenset[int]
    direction: Direction


def congestion_plan(  # noqa: PLR0913 - public: the grid, then the congestion knobs by keyword
    grid: GridModel,
    register: Register,
    forecast: Any,
    *,
    n_tso: int,
    n_dso: int,
    tso_tightening: float,
    dso_tightening: float,
) -> tuple[dict[str, float], tuple[DsoCongestion, ...]]:
    """Tighten the most loaded branches of ``forecast`` (its peak over its MTUs): the limit
    overrides, and the DSO lines among them with where flexibility relieves each.

    A DSO line qualifies only when the dead-end side it feeds hosts at least twice its worst
    overload in flexible range (else the congestion is not a market problem). A study calls this
    once on the realised flows of its whole period, so the limits hold for every day.
    """
    limits = dict(
        zip(grid.branch_limits().branch_names, grid.branch_limits().limit_mw.tolist(), strict=True)
    )
    areas = grid.asset_areas()
    flows = np.asarray(forecast.branch_flow_mw)
    names = forecast.branch_names
    peak = np.abs(flows).max(axis=1)
    loading = np.array([peak[i] / limits[n] if limits.get(n) else 0.0 for i, n in enumerate(names)])
    order = np.argsort(-loading, kind="stable")
    tso = [i for i in order if areas.get(names[i]) == "tso"][:n_tso]
    overrides = {names[i]: round(float(tso_tightening * peak[i]), 4) for i in tso}
    range_at: dict[int, float] = {}
    for unit in register.units:
        bus = register.connection_point(unit.connection_point_id).bus
        range_at[bus] = range_at.get(bus, 0.0) + unit.p_range_mw
    plan: list[DsoCongestion] = []
    for i in order:
        name = names[i]
        if len(plan) >= n_dso or areas.get(name) in ("tso", None) or not name.startswith("line:"):
            continue
        limit = round(float(dso_tightening * peak[i]), 4)
        over = np.maximum(np.abs(flows[i]) - limit, 0.0)
        side = dead_end_side(grid.net, int(name.split(":")[1]), grid.areas.dso_area(areas[name]))
        if side is None:
            continue
        buses, is_to_side = side
        if sum(range_at.get(b, 0.0) for b in buses) < 2.0 * float(over.max()):
            continue
        # positive flow runs from → to: a dead-end to-side imports it, so more injection there
        # (UP) relieves; a dead-end from-side exports it, so less injection (DOWN) relieves.
        worst = flows[i][int(np.argmax(over))]
        direction = Direction.UP if (worst > 0) == is_to_side else Direction.DOWN
        overrides[name] = limit
        plan.append(
            DsoCongestion(branch=name, limit_mw=limit, buses=frozenset(buses), direction=direction)
        )
    return overrides, tuple(plan)


def dso_needs(
    plan: tuple[DsoCongestion, ...],
    forecast: Any,
    *,
    created: datetime,
    price_cap_eur_per_mwh: float = 400.0,
    register: Register | None = None,
) -> list[Need]:
    """One DSO need per planned congestion: the forecast overload of its line per MTU, at the
    buses of its dead-end side, in the direction that relieves it. Its buyer is the operator of
    those buses' area in ``register`` when given, else ``dso``."""
    area_operator = {
        b: a.operator_id for a in (register.areas if register else ()) for b in a.bus_ids
    }
    return [
        make_need(
            f"n-dso-{c.branch}",
            area_operator.get(min(c.buses), "dso"),
            Location.at_buses(c.buses),
            c.direction,
            forecast.intervals,
            np.maximum(np.abs(forecast.flow_of(c.branch)) - c.limit_mw, 0.0),
            price_cap_eur_per_mwh,
            created,
        )
        for c in plan
    ]


def _congestion(  # noqa: PLR0913 - private: the scenario's parts, by keyword
    grid: GridModel,
    register: Register,
    forecast: Any,
    intervals: tuple[Interval, ...],
    n_tso: int,
    n_dso: int,
    tso_tightening: float,
    dso_tightening: float,
) -> tuple[dict[str, float], list[Need]]:
    """The scenario's congestion: :func:`congestion_plan` on its own forecast, and the needs."""
    overrides, plan = congestion_plan(
        grid,
        register,
        forecast,
        n_tso=n_tso,
        n_dso=n_dso,
        tso_tightening=tso_tightening,
        dso_tightening=dso_tightening,
    )
    created = intervals[0].start - timedelta(hours=12)
    return overrides, dso_needs(plan, forecast, created=created, register=register)


def _bids(  # noqa: PLR0913 - private: the scenario's bid knobs
    register: Register,
    intervals: tuple[Interval, ...],
    n_bids: int,
    rng: np.random.Generator,
    max_bid_mw: float,
    indivisible_share: float,
    submitted: datetime,
    focus: frozenset[int],
    focus_share: float,
    dso_needs: list[Need],
    tso_hot: np.ndarray,
) -> tuple[Bid, ...]:
    """Random bids, with the flexibility where and when the congestion is.

    - ``focus_share`` of them on units that can relieve the TSO congestion, starting in an MTU
      where it occurs;
    - for every DSO need, ``focus_share × n_bids / 10`` (at least 4) on units at its buses able to
      move in the need's direction, offering that direction, covering an MTU where it has a
      quantity;
    - the rest anywhere, anytime.
    """
    units = [u for u in register.units if u.p_range_mw >= 0.05]
    bus = {cp.id: cp.bus for cp in register.connection_points}
    width = min(4, len(intervals))
    n_start = len(intervals) - width + 1
    chosen = rng.choice(len(units), size=n_bids, replace=True)
    starts = rng.integers(0, n_start, size=n_bids)
    forced: dict[int, Direction] = {}
    focused = [i for i, u in enumerate(units) if bus[u.connection_point_id] in focus]
    if focused:
        pick = np.flatnonzero(rng.random(n_bids) < focus_share)
        chosen[pick] = rng.choice(focused, size=len(pick), replace=True)
        hot = np.flatnonzero(tso_hot)
        if len(hot):
            starts[pick] = np.clip(
                rng.choice(hot, size=len(pick)) - rng.integers(0, width, len(pick)), 0, n_start - 1
            )
    per_need = max(4, int(focus_share * n_bids / 10))
    slot = 0
    for need in dso_needs:
        able = _CONSUMING if need.direction == Direction.UP else _GENERATING
        local = [
            i
            for i, u in enumerate(units)
            if bus[u.connection_point_id] in need.location.bus_ids
            and (u.technology in able or u.technology not in _GENERATING | _CONSUMING)
        ]
        when = [t for t, q in enumerate(need.quantities) if q.quantity > 0]
        for _ in range(per_need if local and when else 0):
            if slot < n_bids:
                chosen[slot] = rng.choice(local)
                t = int(rng.choice(when)) - int(rng.integers(0, width))
                starts[slot] = min(max(t, 0), n_start - 1)
                forced[slot] = need.direction
                slot += 1
    fractions = rng.uniform(0.3, 1.0, size=n_bids)
    prices = rng.uniform(20.0, 200.0, size=n_bids)
    either = rng.random(n_bids) < 0.5
    indivisible = rng.random(n_bids) < indivisible_share
    out = []
    for k in range(n_bids):
        unit = units[int(chosen[k])]
        if k in forced:
            direction = forced[k]
        elif unit.technology in _GENERATING:
            direction = Direction.DOWN
        elif unit.technology in _CONSUMING:
            direction = Direction.UP
        else:
            direction = Direction.UP if either[k] else Direction.DOWN
        quantity = round(float(min(unit.p_range_mw, max_bid_mw) * fractions[k]), 4)
        window = intervals[int(starts[k]) : int(starts[k]) + width]
        out.append(
            Bid(
                id=f"b{k:05d}",
                fsp_id=unit.fsp_id,
                resource_id=unit.id,
                product_id=PRODUCT_ID,
                direction=direction,
                submitted_at=submitted - timedelta(hours=1),
                activation_price_eur_per_mwh=round(float(prices[k]), 2),
                divisible=not bool(indivisible[k]),
                quantities=tuple(MtuQuantity(interval=iv, quantity=quantity) for iv in window),
            )
        )
    return tuple(out)


# --- timeframe chains ---------------------------------------------------------------------------
_CHAIN_TIMEFRAMES = (
    Timeframe.LONG_TERM,
    Timeframe.DAY_AHEAD,
    Timeframe.INTRADAY,
    Timeframe.NEAR_REAL_TIME,
)
_CHAIN_PREFIX = {
    Timeframe.LONG_TERM: "lt",
    Timeframe.DAY_AHEAD: "da",
    Timeframe.INTRADAY: "id",
    Timeframe.NEAR_REAL_TIME: "nrt",
}
_FORWARD_TIMEFRAMES = (Timeframe.LONG_TERM, Timeframe.DAY_AHEAD)
_BID_WEIGHT = {
    Timeframe.LONG_TERM: 0.2,
    Timeframe.DAY_AHEAD: 0.3,
    Timeframe.INTRADAY: 0.3,
    Timeframe.NEAR_REAL_TIME: 0.2,
}


def chain_gate_closures(day_start: datetime) -> dict[Timeframe, datetime]:
    """The (virtual) gate closures of a chain whose first MTU starts at ``day_start`` (D 00:00).

    LT: D−7 days; DA: D−1 12:00 (12 h before D 00:00); ID: D 00:00 − 2 h; NRT: the virtual gate
    closure 1 h before the first MTU (L667). The brief's "ID = D 00:00 − 1 h" would coincide with
    the NRT virtual gate closure on a chain whose first MTU is D 00:00, and rounds need strictly
    increasing gate closures, so ID closes one hour earlier.
    """
    return {
        Timeframe.LONG_TERM: day_start - timedelta(days=7),
        Timeframe.DAY_AHEAD: day_start - timedelta(hours=12),
        Timeframe.INTRADAY: day_start - timedelta(hours=2),
        Timeframe.NEAR_REAL_TIME: day_start - timedelta(hours=1),
    }


def build_timeframe_chain(  # noqa: PLR0913 - public: the grid, then keyword-only chain options
    code_or_grid: str | GridModel = "1-HVMV-mixed-all-0-sw",
    *,
    timeframes: tuple[Timeframe, ...] = _CHAIN_TIMEFRAMES,
    seed: int = 0,
    expected_activation_share: float = 0.3,
    long_term_capacity_share: float = 0.5,
    availability_cap_eur_per_mw_h: float = 40.0,
    **scenario_kw: Any,
) -> TimeframeChain:
    """The seeded scenario of :func:`build_coordination_scenario` as a chain of sub-markets.

    The grid, portfolio, base case, congestion (limit overrides) and bids come from
    :func:`build_coordination_scenario` with the same arguments (``scenario_kw``, ``seed``);
    that function's output is not changed. On top (a second generator seeded ``seed + 1``):

    - **Products**, one per timeframe, all at 15-min resolution: the *availability rounds*
      availability-and-activation (``p-<tf>-availability``; needs carry
      ``expected_activation_share``), the others activation (``p-<tf>-activation``). The
      availability rounds are LT and DA when ``timeframes`` has either; a chain without both
      that starts later (``timeframes=preset("onenet-cyprus").timeframes``: intraday then
      near real time) buys availability in its first round, as the Cyprus pilot's intraday
      availability market with an obligation to bid near real time (seed L673) — a scheme's
      first timeframe is where it reserves, and without an availability round an obligation
      scheme would procure nothing. Gate closures: :func:`chain_gate_closures`; each
      product's ``gate_closure_before_delivery`` is its round's lead to D 00:00.
    - **Needs** per round, from the scenario's TSO and DSO needs ``C`` (MW per MTU): the
      availability rounds buy ``C`` as capacity, split LT ``long_term_capacity_share`` / DA the
      rest (all of it in a single availability round), with an availability cap of
      ``availability_cap_eur_per_mw_h`` and the need's activation cap. The activation rounds
      buy the activation actually needed: ID a seeded share ``s ~ U(0.2, 0.6)`` (per need) of
      ``C``, NRT the forecast error ``e ~ U(0.05, 0.25) × C`` (per need); a single activation
      round buys ``s·C + e``. The BRP's need stays an activation need of the first activation
      round.
    - **Bids**: every scenario bid, with an availability price ``U(2, 20)`` €/MW/h added (both
      prices), is assigned a round at random (weights LT 0.2, DA 0.3, ID 0.3, NRT 0.2 over the
      rounds present) and submitted one hour before that round's gate closure.

    Example:
        >>> chain = build_timeframe_chain("1-MV-rural--0-sw", n_bids=40, n_tso=0, n_dso=1)
        >>> [str(r.timeframe) for r in chain.rounds]
        ['long_term', 'day_ahead', 'intraday', 'near_real_time']
    """
    _check_timeframes(timeframes)
    base = build_coordination_scenario(code_or_grid, seed=seed, **scenario_kw)
    return chain_of(
        base,
        timeframes=timeframes,
        seed=seed,
        expected_activation_share=expected_activation_share,
        long_term_capacity_share=long_term_capacity_share,
        availability_cap_eur_per_mw_h=availability_cap_eur_per_mw_h,
    )


def _check_timeframes(timeframes: tuple[Timeframe, ...]) -> list[Timeframe]:
    order = [t for t in _CHAIN_TIMEFRAMES if t in set(timeframes)]
    if not order:
        raise InvalidInputError(
            [
                Issue(
                    kind="TimeframeChain",
                    object_id="build_timeframe_chain",
                    field="timeframes",
                    value=[str(t) for t in timeframes],
                    message="must name at least one of long_term, day_ahead, intraday, "
                    "near_real_time",
                )
            ]
        )
    return order


def chain_of(  # noqa: PLR0913 - public: the base scenario, then keyword-only chain options
    base: CoordinationInput,
    *,
    timeframes: tuple[Timeframe, ...] = _CHAIN_TIMEFRAMES,
    seed: int = 0,
    expected_activation_share: float = 0.3,
    long_term_capacity_share: float = 0.5,
    availability_cap_eur_per_mw_h: float = 40.0,
    intraday_forecast: Any = None,
) -> TimeframeChain:
    """A single-round scenario ``base`` as a chain of sub-markets (the products, needs and bid
    rounds of :func:`build_timeframe_chain`, which calls this on its scenario). A study passes
    each day's scenario and its ``intraday_forecast`` (the near-real-time activation check's)."""
    order = _check_timeframes(timeframes)
    rng = np.random.default_rng(seed + 1)
    day_start = base.intervals[0].start
    gates = chain_gate_closures(day_start)
    reserving = _availability_rounds(order)
    products = {
        t: Product(
            id=f"p-{_CHAIN_PREFIX[t]}-{'availability' if t in reserving else 'activation'}",
            power_type=PowerType.ACTIVE,
            kind=(
                ProductKind.AVAILABILITY_AND_ACTIVATION
                if t in reserving
                else ProductKind.ACTIVATION
            ),
            timeframe=t,
            resolution=timedelta(minutes=15),
            duration=timedelta(minutes=15),
            gate_closure_before_delivery=day_start - gates[t],
        )
        for t in order
    }
    register = dataclasses.replace(base.register, products=tuple(products.values()))
    needs = _chain_needs(
        base.needs,
        order,
        products,
        gates,
        rng,
        expected_activation_share,
        long_term_capacity_share,
        availability_cap_eur_per_mw_h,
    )
    weights = np.array([_BID_WEIGHT[t] for t in order])
    assigned = rng.choice(len(order), size=len(base.bids), p=weights / weights.sum())
    availability = rng.uniform(2.0, 20.0, size=len(base.bids))
    bids = tuple(
        dataclasses.replace(
            b,
            product_id=products[order[int(k)]].id,
            availability_price_eur_per_mw_h=round(float(a), 2),
            submitted_at=gates[order[int(k)]] - timedelta(hours=1),
        )
        for b, k, a in zip(base.bids, assigned, availability, strict=True)
    )
    chain_base = dataclasses.replace(
        base,
        name=f"{base.name} chain {'/'.join(str(t) for t in order)}",
        register=register,
        needs=tuple(n for t in order for n in needs[t]),
        bids=bids,
        gate_closure_at=None,
    )
    rounds = tuple(
        SubMarketRound(
            timeframe=t,
            product_id=products[t].id,
            kind=RoundKind.of(products[t]),
            gate_closure_at=gates[t],
            needs=tuple(needs[t]),
        )
        for t in order
    )
    return TimeframeChain(base=chain_base, rounds=rounds, intraday_forecast=intraday_forecast)


def _availability_rounds(order: list[Timeframe]) -> frozenset[Timeframe]:
    """The rounds of a chain that buy availability (see :func:`build_timeframe_chain`)."""
    forward = frozenset(t for t in order if t in _FORWARD_TIMEFRAMES)
    if forward or len(order) < 2:
        return forward
    return frozenset(order[:1])


def _chain_needs(  # noqa: PLR0913 - private: the chain's parts, by keyword
    needs: tuple[Need, ...],
    order: list[Timeframe],
    products: dict[Timeframe, Product],
    gates: dict[Timeframe, datetime],
    rng: np.random.Generator,
    share: float,
    long_term_share: float,
    availability_cap: float,
) -> dict[Timeframe, list[Need]]:
    """Each round's needs from the scenario's needs (see :func:`build_timeframe_chain`)."""
    lt, da = Timeframe.LONG_TERM, Timeframe.DAY_AHEAD
    idt, nrt = Timeframe.INTRADAY, Timeframe.NEAR_REAL_TIME
    reserving = [t for t in order if products[t].kind.has_availability]
    activation_rounds = [t for t in order if t not in reserving]
    capacity_share = {t: 1.0 for t in reserving}
    if lt in reserving and da in reserving:
        capacity_share |= {lt: long_term_share, da: 1.0 - long_term_share}
    out: dict[Timeframe, list[Need]] = {t: [] for t in order}
    system = [n for n in needs if n.buyer_id != "brp"]
    known = rng.uniform(0.2, 0.6, size=len(system))
    error = rng.uniform(0.05, 0.25, size=len(system))
    for i, n in enumerate(system):
        factor = {
            idt: known[i] + (0.0 if nrt in activation_rounds else error[i]),
            nrt: error[i] + (0.0 if idt in activation_rounds else known[i]),
        } | capacity_share
        for t in order:
            kind = products[t].kind
            out[t].append(
                dataclasses.replace(
                    n,
                    id=f"{n.id}@{t}",
                    product_id=products[t].id,
                    created_at=min(n.created_at, gates[t] - timedelta(hours=1)),
                    quantities=tuple(
                        MtuQuantity(
                            interval=mq.interval, quantity=round(mq.quantity * factor[t], 4)
                        )
                        for mq in n.quantities
                    ),
                    availability_price_cap_eur_per_mw_h=(
                        availability_cap if kind.has_availability else None
                    ),
                    expected_activation_share=share if kind.has_availability else None,
                )
            )
    if activation_rounds:
        first = activation_rounds[0]
        out[first] += [
            dataclasses.replace(n, id=f"{n.id}@{first}", product_id=products[first].id)
            for n in needs
            if n.buyer_id == "brp"
        ]
    return out
