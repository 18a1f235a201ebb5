"""Activation conflicts between a TSO's and a DSO's awards, and the scheme's rule for them.

Detected on the awards of one scheme run (seed INV-2, INV-3; TDX-ASSIST L1516; L328, L1043):

- ``double_activation``: one unit activated by both operators in the same MTU;
- ``counter_activation``: a TSO award in a DSO area in the opposite direction of a DSO award in the
  same area and MTU (the two operators pay to cancel each other);
- ``dso_limit``: the TSO's awards in a DSO area make a DSO branch exceed its (margined) limit in
  the linear model, where the DSO's own dispatch did not.

Each is handled by the scheme's :class:`ConflictRule`: ``block`` drops the offending TSO awards,
``curtail`` scales them down just enough (for ``dso_limit``) or by the overlapping volume, ``flag``
keeps them and records the conflict for the DSO. The reason is recorded on every conflict.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from flexcoord.coordination.identities import DispatchKey, Mtu

__all__ = [
    "AwardInfo",
    "Conflict",
    "ConflictKind",
    "ConflictRule",
    "DsoOverload",
    "ScaledOverload",
    "resolve_conflicts",
    "safe_scale",
]

_TOL_MW = 1e-6

DsoOverload = Callable[[Mapping[DispatchKey, float]], dict[tuple[str, Mtu], float]]
"""Given TSO volumes, the DSO branch overloads (MW above the margined limit, beyond what the DSO
dispatch alone causes) per (DSO area, MTU)."""

ScaledOverload = Callable[
    [Mapping[DispatchKey, float], list[DispatchKey], tuple[str, Mtu]], Callable[[float], float]
]
"""Given TSO volumes, the awards ``keys`` of one (DSO area, MTU) and that (area, MTU): the
function ``s → DsoOverload(volumes with the keys scaled by s)[(area, MTU)]``, the same figure
computed on that one area and MTU only (the curtailment's bisection calls it 30 times)."""


class ConflictKind(StrEnum):
    """What went wrong between the two operators' activations."""

    DOUBLE_ACTIVATION = "double_activation"
    COUNTER_ACTIVATION = "counter_activation"
    DSO_LIMIT = "dso_limit"


class ConflictRule(StrEnum):
    """What a scheme does with a conflict."""

    BLOCK = "block"
    CURTAIL = "curtail"
    FLAG = "flag"


@dataclass(frozen=True, slots=True, kw_only=True)
class Conflict:
    """One detected conflict and what was done about it."""

    kind: ConflictKind
    area_id: str
    mtu: Mtu
    tso_bid_ids: tuple[str, ...]
    action: ConflictRule
    tso_mw_before: float
    tso_mw_after: float
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AwardInfo:
    """What conflict detection needs to know of one accepted (bid, MTU)."""

    area_id: str
    unit_ids: tuple[str, ...]
    up: bool
    mw: float
    divisible: bool = True
    min_mw: float = 0.0


def resolve_conflicts(  # noqa: PLR0913 - four inputs and two keyword options, all used
    tso: Mapping[DispatchKey, AwardInfo],
    dso: Mapping[DispatchKey, AwardInfo],
    rule: ConflictRule,
    dso_overload: DsoOverload,
    *,
    tso_areas: frozenset[str] = frozenset({"tso"}),
    scaled_overload: ScaledOverload | None = None,
) -> tuple[dict[DispatchKey, float], tuple[Conflict, ...]]:
    """Detect conflicts of TSO awards with DSO awards and limits; apply ``rule``.

    Args:
        tso: accepted TSO-market (bid, MTU) → info (only awards in DSO areas matter).
        dso: accepted DSO-market (bid, MTU) → info.
        rule: the scheme's rule.
        dso_overload: see :data:`DsoOverload`.
        tso_areas: the TSO's grid areas (awards there cannot conflict with a DSO).
        scaled_overload: see :data:`ScaledOverload`; ``None``: the curtailment's bisection
            calls ``dso_overload`` on the whole dispatch at each step.

    Returns:
        The TSO volumes after the rule, and the conflicts (double activations, then counter
        activations, then DSO limits).
    """
    resolution = _Resolution(tso, rule)
    by_area_mtu = _double_activations(resolution, dso, tso_areas)
    _counter_activations(resolution, dso, by_area_mtu)
    _dso_limits(resolution, dso_overload, by_area_mtu, scaled_overload)
    return resolution.volumes, tuple(resolution.conflicts)


class _Resolution:
    """The TSO volumes and the conflicts found so far, while :func:`resolve_conflicts` runs."""

    def __init__(self, tso: Mapping[DispatchKey, AwardInfo], rule: ConflictRule) -> None:
        self.tso = tso
        self.rule = rule
        self.volumes = {k: v.mw for k, v in tso.items()}
        self.conflicts: list[Conflict] = []

    def apply(
        self,
        keys: list[DispatchKey],
        kind: ConflictKind,
        area: str,
        reason: str,
        curtail_to: float,
    ) -> None:
        """Record a conflict of ``keys`` (one area and MTU) and apply the rule to them."""
        volumes = self.volumes
        before = sum(volumes[k] for k in keys)
        if self.rule == ConflictRule.BLOCK:
            for k in keys:
                volumes[k] = 0.0
        elif self.rule == ConflictRule.CURTAIL and before > 0:
            # every award scaled by one factor; an award the bid does not allow at the scaled
            # volume (indivisible, or below its minimum acceptance) is dropped whole, so the
            # curtailed dispatch is one the FSPs offered and no larger than the uniform scaling
            factor = max(0.0, min(1.0, curtail_to / before))
            for k in keys:
                info = self.tso[k]
                scaled = volumes[k] * factor
                if factor < 1.0 and (not info.divisible or scaled < info.min_mw - _TOL_MW):
                    scaled = 0.0
                volumes[k] = scaled
        self.conflicts.append(
            Conflict(
                kind=kind,
                area_id=area,
                mtu=keys[0].mtu,
                tso_bid_ids=tuple(sorted(k.root for k in keys)),
                action=self.rule,
                tso_mw_before=before,
                tso_mw_after=sum(volumes[k] for k in keys),
                reason=reason,
            )
        )


def _double_activations(
    resolution: _Resolution, dso: Mapping[DispatchKey, AwardInfo], tso_areas: frozenset[str]
) -> dict[tuple[str, Mtu], list[DispatchKey]]:
    """Flag TSO awards on units the DSO activated in the same MTU; returns the TSO awards in DSO
    areas by (area, MTU)."""
    dso_units: dict[Mtu, set[str]] = defaultdict(set)
    for key, info in dso.items():
        if info.mw > _TOL_MW:
            dso_units[key.mtu].update(info.unit_ids)
    by_area_mtu: dict[tuple[str, Mtu], list[DispatchKey]] = defaultdict(list)
    for key, info in sorted(resolution.tso.items(), key=lambda item: item[0]):
        if info.mw <= _TOL_MW or info.area_id in tso_areas:
            continue
        by_area_mtu[(info.area_id, key.mtu)].append(key)
        shared = set(info.unit_ids) & dso_units.get(key.mtu, set())
        if shared:
            resolution.apply(
                [key],
                ConflictKind.DOUBLE_ACTIVATION,
                info.area_id,
                f"unit(s) {sorted(shared)} already activated by the DSO in this MTU",
                curtail_to=0.0,
            )
    return by_area_mtu


def _counter_activations(
    resolution: _Resolution,
    dso: Mapping[DispatchKey, AwardInfo],
    by_area_mtu: Mapping[tuple[str, Mtu], list[DispatchKey]],
) -> None:
    """Flag TSO awards opposing the direction of the DSO's awards in the same area and MTU."""
    dso_dir: dict[tuple[str, Mtu], set[bool]] = defaultdict(set)
    for key, info in dso.items():
        if info.mw > _TOL_MW:
            dso_dir[(info.area_id, key.mtu)].add(info.up)
    dso_mw_at: dict[tuple[str, Mtu], float] = defaultdict(float)  # summed once, in dso's order
    for key, info in dso.items():
        dso_mw_at[(info.area_id, key.mtu)] += info.mw
    tso = resolution.tso
    for (area, mtu), keys in sorted(by_area_mtu.items()):
        directions = dso_dir.get((area, mtu), set())
        opposing = [
            k for k in keys if (not tso[k].up) in directions and tso[k].up not in directions
        ]
        if not opposing:
            continue
        dso_mw = dso_mw_at.get((area, mtu), 0.0)
        tso_mw = sum(resolution.volumes[k] for k in opposing)
        resolution.apply(
            opposing,
            ConflictKind.COUNTER_ACTIVATION,
            area,
            f"TSO activation opposes {dso_mw:.3f} MW the DSO activated in its area",
            curtail_to=max(0.0, tso_mw - dso_mw),
        )


def _dso_limits(
    resolution: _Resolution,
    dso_overload: DsoOverload,
    by_area_mtu: Mapping[tuple[str, Mtu], list[DispatchKey]],
    scaled_overload: ScaledOverload | None,
) -> None:
    """Flag TSO awards that overload a DSO branch in their area and MTU."""
    volumes = resolution.volumes
    for (area, mtu), over_mw in sorted(dso_overload(volumes).items()):
        keys = [k for k in by_area_mtu.get((area, mtu), []) if volumes[k] > _TOL_MW]
        if not keys or over_mw <= _TOL_MW:
            continue
        total = sum(volumes[k] for k in keys)
        resolution.apply(
            keys,
            ConflictKind.DSO_LIMIT,
            area,
            f"TSO activations of {total:.3f} MW overload the DSO grid by {over_mw:.3f} MW",
            curtail_to=_safe_volume(
                _overload_at_scale(keys, volumes, dso_overload, (area, mtu), scaled_overload),
                total,
            ),
        )


def _overload_at_scale(
    keys: list[DispatchKey],
    volumes: Mapping[DispatchKey, float],
    dso_overload: DsoOverload,
    where: tuple[str, Mtu],
    scaled_overload: ScaledOverload | None,
) -> Callable[[float], float]:
    """``s →`` the DSO overload at ``where`` with ``keys`` scaled by ``s``."""
    if scaled_overload is not None:
        return scaled_overload(volumes, keys, where)
    trial = dict(volumes)

    def at(scale: float) -> float:
        for k in keys:
            trial[k] = volumes[k] * scale
        return dso_overload(trial).get(where, 0.0)

    return at


def safe_scale(
    keys: list[DispatchKey],
    volumes: Mapping[DispatchKey, float],
    dso_overload: DsoOverload,
    where: tuple[str, Mtu],
    scaled_overload: ScaledOverload | None = None,
) -> float:
    """Largest common scaling ``s`` in ``[0, 1]`` of the ``keys``' ``volumes`` (the others as
    they are) that leaves no DSO overload at ``where`` (bisection, 30 steps): the curtailment
    of :func:`resolve_conflicts` and the DSO-limit rule of
    :func:`~flexcoord.coordination.primacy.resolve_primacy` share it. ``scaled_overload``
    computes the overload on ``where`` alone (:data:`ScaledOverload`); ``None``: ``dso_overload``
    on the whole dispatch at each step."""
    return _safe_volume(
        _overload_at_scale(keys, volumes, dso_overload, where, scaled_overload), 1.0
    )


def _safe_volume(overload_at: Callable[[float], float], total: float) -> float:
    """Largest common scaling of the awards that leaves no DSO overload (bisection, 30 steps),
    times their ``total``."""
    lo, hi = 0.0, 1.0
    for _ in range(30):
        mid = (lo + hi) / 2
        if overload_at(mid) > 1e-6:
            hi = mid
        else:
            lo = mid
    return lo * total
