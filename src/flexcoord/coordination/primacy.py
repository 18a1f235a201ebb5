"""Primacy rules: which operator's instruction stands when the ESO's MW Dispatch and the DSO's own
flexibility procurement conflict (NGED / ESO, seed §7.21, L2215–L2221).

MW Dispatch is the ESO's (the TSO's) constraint-management service on distribution-connected
DERs: it instructs them to **reduce** output and pays them for the energy they would have
generated (L2215). Primacy "establishes agreed-upon rules to manage conflicts between the ESO and
DSO ... between DSO procurement and ESO constraint management ... decision-making based on the
overall value to the entire system" (L2219–L2221). The seed names no rule; these three are ours,
each a reading of that sentence, applied in this order (the first that decides a conflict wins):

1. :attr:`PrimacyRule.DSO_GRID_LIMIT` — an ESO instruction is refused (scaled down to what the
   DSO grid can host) where, with the DSO's dispatch, it would push a DSO branch above its
   margined limit where the DSO's own dispatch did not; and no other rule may let the ESO win a
   conflict whose outcome would do so. Grid safety is not traded against value: "actions taken by
   both operators are effective".
2. :attr:`PrimacyRule.SYSTEM_VALUE` — on a DER both operators instructed in the same MTU, the
   instruction whose value exceeds the other's by more than ``system_value_margin`` (a share:
   0.25 means 25 %) wins, the ESO's or the DSO's ("overall value to the entire system"). An
   instruction's value is its bid's activation price × MW × MTU hours: what its operator
   committed to pay for it, so a lower bound on what it is worth to that operator. Off when
   ``system_value_margin`` is ``None``.
3. :attr:`PrimacyRule.DSO_SERVICE` — otherwise the DSO's service has primacy on a DER it already
   dispatched in that MTU: the ESO's instruction on it is refused (DSO procurement first).

A conflict is one of two kinds (:class:`~flexcoord.coordination.conflicts.ConflictKind`):
``double_activation`` (a shared DER: an ESO instruction on a unit the DSO activated in the same
MTU, whatever the directions) and ``dso_limit``. An ESO turn-down opposing a DSO activation
elsewhere in the area is not a conflict by itself: it undoes the DSO's service only where it
overloads the branch the service relieved, which rule 1 catches. The losing instruction is not
dispatched: the ESO's refused MW are dropped from its awards, a DSO instruction the ESO won over
from the DSO's.

:func:`resolve_primacy` is pure (awards in, volumes and :class:`PrimacyDecision` records out),
like :func:`~flexcoord.coordination.conflicts.resolve_conflicts`; the scheme run wires it in
(:mod:`flexcoord.coordination.resolution`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from flexcoord.coordination.conflicts import (
    AwardInfo,
    ConflictKind,
    DsoOverload,
    ScaledOverload,
    safe_scale,
)
from flexcoord.coordination.identities import DispatchKey, Mtu
from flexcoord.errors import InvalidInputError, Issue

__all__ = [
    "Instruction",
    "PrimacyDecision",
    "PrimacyResolution",
    "PrimacyRule",
    "PrimacyRules",
    "Winner",
    "resolve_primacy",
]

_TOL_MW = 1e-6
_MIN_INSTRUCTION_MW = 1e-4  # a scaled instruction below 0.1 kW is refused (bisection residue)


class PrimacyRule(StrEnum):
    """The named primacy rules, in the order they are applied (see the module docstring)."""

    DSO_GRID_LIMIT = "dso_grid_limit"
    SYSTEM_VALUE = "system_value"
    DSO_SERVICE = "dso_service"


class Winner(StrEnum):
    """Whose instruction stands."""

    DSO = "dso"
    ESO = "eso"


@dataclass(frozen=True, slots=True, kw_only=True)
class PrimacyRules:
    """The agreed primacy rules of an ESO–DSO pair.

    Attributes:
        system_value_margin: how much (a share, ≥ 0) one instruction's value must exceed the
            other's for :attr:`PrimacyRule.SYSTEM_VALUE` to decide a shared-DER conflict;
            ``None`` leaves the rule out (the DSO's service then always keeps its DERs).

    Example:
        >>> PrimacyRules().rules
        (<PrimacyRule.DSO_GRID_LIMIT: 'dso_grid_limit'>, <PrimacyRule.SYSTEM_VALUE: \
'system_value'>, <PrimacyRule.DSO_SERVICE: 'dso_service'>)
        >>> [str(r) for r in PrimacyRules(system_value_margin=None).rules]
        ['dso_grid_limit', 'dso_service']
    """

    system_value_margin: float | None = 0.25

    def __post_init__(self) -> None:
        m = self.system_value_margin
        if m is None:
            return
        if isinstance(m, bool) or not isinstance(m, int | float) or not math.isfinite(m) or m < 0:
            raise InvalidInputError(
                [
                    Issue(
                        kind="PrimacyRules",
                        object_id="primacy",
                        field="system_value_margin",
                        value=m,
                        message="must be a finite number >= 0, or None to leave the rule out",
                    )
                ]
            )
        object.__setattr__(self, "system_value_margin", float(m))

    @property
    def rules(self) -> tuple[PrimacyRule, ...]:
        """The rules applied, in order."""
        value = () if self.system_value_margin is None else (PrimacyRule.SYSTEM_VALUE,)
        return (PrimacyRule.DSO_GRID_LIMIT, *value, PrimacyRule.DSO_SERVICE)


@dataclass(frozen=True, slots=True, kw_only=True)
class Instruction:
    """One operator's instruction to a DER in one MTU, as a market accepted it.

    ``value_eur`` is the bid's activation price × ``mw`` × the MTU's hours.
    """

    bid_id: str
    up: bool
    mw: float
    price_eur_per_mwh: float
    value_eur: float


@dataclass(frozen=True, slots=True, kw_only=True)
class PrimacyDecision:
    """One conflict between an ESO instruction and the DSO, and how the primacy rules decided it.

    Attributes:
        kind: ``double_activation`` (a shared DER) or ``dso_limit``.
        area_id: the DSO area of the ESO instruction's resource.
        mtu: the MTU.
        unit_ids: the units both operators instructed (empty for a ``dso_limit`` conflict).
        eso: the ESO's instruction, as its market accepted it.
        dso: the DSO's instructions on the shared units (empty for a ``dso_limit`` conflict).
        rule: the rule that decided.
        winner: whose instruction stands.
        eso_mw_after: the ESO instruction's MW after the decision (0 when refused, part of it
            when scaled down to what the DSO grid can host).
        reason: the decision in words.
    """

    kind: ConflictKind
    area_id: str
    mtu: Mtu
    unit_ids: tuple[str, ...]
    eso: Instruction
    dso: tuple[Instruction, ...]
    rule: PrimacyRule
    winner: Winner
    eso_mw_after: float
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PrimacyResolution:
    """The ESO's and the DSO's volumes after the primacy rules (MW per root bid and MTU, refused
    instructions at 0) and the decisions, shared DERs first, then DSO limits."""

    eso_mw: Mapping[DispatchKey, float]
    dso_mw: Mapping[DispatchKey, float]
    decisions: tuple[PrimacyDecision, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Awards:
    """Both operators' awards with what the rules read of them."""

    eso: Mapping[DispatchKey, AwardInfo]
    dso: Mapping[DispatchKey, AwardInfo]
    price_eur_per_mwh: Mapping[str, float]
    hours: Mapping[Mtu, float]

    def instruction(self, key: DispatchKey, info: AwardInfo) -> Instruction:
        price = self.price_eur_per_mwh[key.root]
        return Instruction(
            bid_id=key.root,
            up=info.up,
            mw=info.mw,
            price_eur_per_mwh=price,
            value_eur=price * info.mw * self.hours[key.mtu],
        )


def resolve_primacy(  # noqa: PLR0913 - the two awards, what the rules read of them, the rules, the grid
    eso: Mapping[DispatchKey, AwardInfo],
    dso: Mapping[DispatchKey, AwardInfo],
    *,
    price_eur_per_mwh: Mapping[str, float],
    hours: Mapping[Mtu, float],
    rules: PrimacyRules,
    dso_overload: DsoOverload,
    scaled_overload: ScaledOverload | None = None,
) -> PrimacyResolution:
    """Decide every conflict of the ESO's awards in DSO areas with the DSO's awards and limits.

    Args:
        eso: the ESO market's accepted (bid, MTU) in DSO areas → info.
        dso: the DSO markets' accepted (bid, MTU) → info.
        price_eur_per_mwh: each root bid's activation price.
        hours: each MTU's duration.
        rules: the primacy rules.
        dso_overload: ``extra volumes → DSO overload per (area, MTU)`` beyond the DSO markets'
            dispatch alone (:data:`~flexcoord.coordination.conflicts.DsoOverload`); a DSO
            instruction the ESO won over enters it with minus its MW.
        scaled_overload: ``dso_overload`` on one (area, MTU) with some volumes scaled
            (:data:`~flexcoord.coordination.conflicts.ScaledOverload`), for the DSO-limit
            rule's bisection; ``None``: ``dso_overload`` on the whole dispatch at each step.

    Returns:
        The volumes after the rules and the decisions (shared DERs in key order, then DSO
        limits by area and MTU).

    Example:
        >>> from datetime import datetime, UTC
        >>> t = Mtu(datetime(2026, 6, 2, 10, tzinfo=UTC))
        >>> e = {DispatchKey("e1", t): AwardInfo(area_id="a", unit_ids=("pv",), up=False, mw=1.0)}
        >>> d = {DispatchKey("d1", t): AwardInfo(area_id="a", unit_ids=("pv",), up=True, mw=1.0)}
        >>> out = resolve_primacy(e, d, price_eur_per_mwh={"e1": 50.0, "d1": 45.0},
        ...                       hours={t: 1.0}, rules=PrimacyRules(),
        ...                       dso_overload=lambda volumes: {})
        >>> out.decisions[0].rule, out.decisions[0].winner, out.eso_mw[DispatchKey("e1", t)]
        (<PrimacyRule.DSO_SERVICE: 'dso_service'>, <Winner.DSO: 'dso'>, 0.0)
    """
    awards = _Awards(eso=eso, dso=dso, price_eur_per_mwh=price_eur_per_mwh, hours=hours)
    state = _State(eso={k: v.mw for k, v in eso.items()}, dso={k: v.mw for k, v in dso.items()})
    dso_by_unit: dict[tuple[str, Mtu], list[DispatchKey]] = defaultdict(list)
    for k, d in sorted(dso.items()):
        for unit in d.unit_ids:
            dso_by_unit[(unit, k.mtu)].append(k)
    for key in sorted(eso):
        shared = sorted({k for u in eso[key].unit_ids for k in dso_by_unit.get((u, key.mtu), [])})
        _shared_der(
            awards, state, key, [k for k in shared if state.dso[k] > _TOL_MW], rules, dso_overload
        )
    _dso_limits(awards, state, dso_overload, scaled_overload)
    return PrimacyResolution(
        eso_mw=dict(state.eso), dso_mw=dict(state.dso), decisions=tuple(state.decisions)
    )


class _State:
    """The volumes and the decisions so far, while :func:`resolve_primacy` runs."""

    def __init__(self, *, eso: dict[DispatchKey, float], dso: dict[DispatchKey, float]) -> None:
        self.eso = eso
        self.dso = dso
        self.dso_before = dict(dso)
        self.decisions: list[PrimacyDecision] = []

    def extra(self) -> dict[DispatchKey, float]:
        """What :data:`DsoOverload` is given: the ESO volumes and minus each DSO MW withdrawn."""
        withdrawn = {k: mw - self.dso_before[k] for k, mw in self.dso.items()}
        return self.eso | {k: mw for k, mw in withdrawn.items() if abs(mw) > 0.0}


def _shared_der(  # noqa: PLR0913 - one conflict: the awards, the state, its two sides, rules, grid
    awards: _Awards,
    state: _State,
    key: DispatchKey,
    shared: list[DispatchKey],
    rules: PrimacyRules,
    dso_overload: DsoOverload,
) -> None:
    """Decide the conflict of ESO award ``key`` with the DSO's awards ``shared`` on its units
    in its MTU, if any."""
    info = awards.eso[key]
    if state.eso[key] <= _TOL_MW or not shared:
        return
    units = set(info.unit_ids)
    eso_i = awards.instruction(key, info)
    dso_i = tuple(awards.instruction(k, awards.dso[k]) for k in shared)
    rule, winner, why = _by_value(rules, eso_i, dso_i)
    if winner is Winner.ESO:
        where = (info.area_id, key.mtu)
        before = dso_overload(state.extra()).get(where, 0.0)
        for k in shared:
            state.dso[k] = 0.0
        after = dso_overload(state.extra()).get(where, 0.0)
        if after > before + _TOL_MW:
            for k in shared:
                state.dso[k] = state.dso_before[k]
            rule, winner = PrimacyRule.DSO_GRID_LIMIT, Winner.DSO
            why = f"without the DSO's instruction a DSO branch would be {after:.3f} MW over"
    if winner is Winner.DSO:
        state.eso[key] = 0.0
    state.decisions.append(
        PrimacyDecision(
            kind=ConflictKind.DOUBLE_ACTIVATION,
            area_id=info.area_id,
            mtu=key.mtu,
            unit_ids=tuple(sorted(units & {u for k in shared for u in awards.dso[k].unit_ids})),
            eso=eso_i,
            dso=dso_i,
            rule=rule,
            winner=winner,
            eso_mw_after=state.eso[key],
            reason=why,
        )
    )


def _by_value(
    rules: PrimacyRules, eso: Instruction, dso: tuple[Instruction, ...]
) -> tuple[PrimacyRule, Winner, str]:
    """Rules 2 and 3 on a shared DER: the clearly more valuable instruction, else the DSO's."""
    eso_eur, dso_eur = eso.value_eur, sum(d.value_eur for d in dso)
    margin = rules.system_value_margin
    values = f"ESO {eso_eur:.2f} € against DSO {dso_eur:.2f} €"
    if margin is not None:
        if eso_eur > (1.0 + margin) * dso_eur:
            return PrimacyRule.SYSTEM_VALUE, Winner.ESO, f"{values}: ESO above by > {margin:.0%}"
        if dso_eur > (1.0 + margin) * eso_eur:
            return PrimacyRule.SYSTEM_VALUE, Winner.DSO, f"{values}: DSO above by > {margin:.0%}"
    return PrimacyRule.DSO_SERVICE, Winner.DSO, f"{values}: the DSO already dispatched the DER"


def _dso_limits(
    awards: _Awards,
    state: _State,
    dso_overload: DsoOverload,
    scaled_overload: ScaledOverload | None,
) -> None:
    """Rule 1 on what is left: scale the ESO's awards in each overloaded (area, MTU) down to
    what the DSO grid can host (an award its bid does not allow at the scaled volume is
    dropped whole)."""
    by_area_mtu: dict[tuple[str, Mtu], list[DispatchKey]] = defaultdict(list)
    for key, info in sorted(awards.eso.items()):
        by_area_mtu[(info.area_id, key.mtu)].append(key)
    for where, over_mw in sorted(dso_overload(state.extra()).items()):
        keys = [k for k in by_area_mtu.get(where, []) if state.eso[k] > _TOL_MW]
        if not keys or over_mw <= _TOL_MW:
            continue
        before = {k: state.eso[k] for k in keys}
        factor = safe_scale(keys, state.extra(), dso_overload, where, scaled_overload)
        for k in keys:
            info = awards.eso[k]
            scaled = before[k] * factor
            if factor < 1.0 and (not info.divisible or scaled < info.min_mw - _TOL_MW):
                scaled = 0.0
            scaled = 0.0 if scaled < _MIN_INSTRUCTION_MW else scaled
            state.eso[k] = scaled
            state.decisions.append(
                PrimacyDecision(
                    kind=ConflictKind.DSO_LIMIT,
                    area_id=where[0],
                    mtu=where[1],
                    unit_ids=(),
                    eso=awards.instruction(k, info),
                    dso=(),
                    rule=PrimacyRule.DSO_GRID_LIMIT,
                    winner=Winner.DSO,
                    eso_mw_after=scaled,
                    reason=f"the ESO's {sum(before.values()):.3f} MW here overload the DSO grid "
                    f"by {over_mw:.3f} MW; scaled by {factor:.3f}",
                )
            )
