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

import numpy as np
from numpy.typing import NDArray

__all__ = ["Conflict", "ConflictKind", "ConflictRule", "resolve_conflicts"]

FloatArray = NDArray[np.float64]
Key = tuple[str, str]  # (bid id, MTU label)


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
    mtu: str
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


def resolve_conflicts(
    tso: Mapping[Key, AwardInfo],
    dso: Mapping[Key, AwardInfo],
    rule: ConflictRule,
    dso_overload: Callable[[Mapping[Key, float]], dict[tuple[str, str], float]],
    *,
    tol_mw: float = 1e-6,
    tso_areas: frozenset[str] = frozenset({"tso"}),
) -> tuple[dict[Key, float], tuple[Conflict, ...]]:
    """Detect conflicts of TSO awards with DSO awards and limits; apply ``rule``.

    Args:
        tso: accepted TSO-market (bid, MTU) → info (only awards in DSO areas matter).
        dso: accepted DSO-market (bid, MTU) → info.
        rule: the scheme's rule.
        dso_overload: given TSO volumes ``{(bid, mtu): MW}``, the DSO branch overloads (MW above
            the margined limit, beyond what the DSO dispatch alone causes) per ``(area, mtu)``.
        tso_areas: the TSO's grid areas (awards there cannot conflict with a DSO).

    Returns:
        The TSO volumes after the rule, and the conflicts.
    """
    volumes = {k: v.mw for k, v in tso.items()}
    conflicts: list[Conflict] = []
    dso_units: dict[tuple[str, str], set[str]] = defaultdict(set)
    dso_dir: dict[tuple[str, str], set[bool]] = defaultdict(set)
    for (_, mtu), info in dso.items():
        if info.mw > tol_mw:
            dso_units[(mtu, "units")].update(info.unit_ids)
            dso_dir[(info.area_id, mtu)].add(info.up)

    def apply(
        keys: list[Key],
        kind: ConflictKind,
        area: str,
        mtu: str,
        reason: str,
        curtail_to: float | None,
    ) -> None:
        before = sum(volumes[k] for k in keys)
        if rule == ConflictRule.BLOCK:
            for k in keys:
                volumes[k] = 0.0
        elif rule == ConflictRule.CURTAIL and curtail_to is not None and before > 0:
            # every award scaled by one factor; an award the bid does not allow at the scaled
            # volume (indivisible, or below its minimum acceptance) is dropped whole, so the
            # curtailed dispatch is one the FSPs offered and no larger than the uniform scaling
            factor = max(0.0, min(1.0, curtail_to / before))
            for k in keys:
                scaled = volumes[k] * factor
                if factor < 1.0 and (not tso[k].divisible or scaled < tso[k].min_mw - tol_mw):
                    scaled = 0.0
                volumes[k] = scaled
        after = sum(volumes[k] for k in keys)
        conflicts.append(
            Conflict(
                kind=kind,
                area_id=area,
                mtu=mtu,
                tso_bid_ids=tuple(sorted(b for b, _ in keys)),
                action=rule,
                tso_mw_before=before,
                tso_mw_after=after,
                reason=reason,
            )
        )

    by_area_mtu: dict[tuple[str, str], list[Key]] = defaultdict(list)
    for key, info in sorted(tso.items()):
        if info.mw <= tol_mw or info.area_id in tso_areas:
            continue
        by_area_mtu[(info.area_id, key[1])].append(key)
        shared = set(info.unit_ids) & dso_units.get((key[1], "units"), set())
        if shared:
            apply(
                [key],
                ConflictKind.DOUBLE_ACTIVATION,
                info.area_id,
                key[1],
                f"unit(s) {sorted(shared)} already activated by the DSO in this MTU",
                curtail_to=0.0,
            )
    for (area, mtu), keys in sorted(by_area_mtu.items()):
        directions = dso_dir.get((area, mtu), set())
        opposing = [
            k for k in keys if (not tso[k].up) in directions and tso[k].up not in directions
        ]
        if opposing:
            dso_mw = sum(v.mw for (_, m), v in dso.items() if m == mtu and v.area_id == area)
            tso_mw = sum(volumes[k] for k in opposing)
            apply(
                opposing,
                ConflictKind.COUNTER_ACTIVATION,
                area,
                mtu,
                f"TSO activation opposes {dso_mw:.3f} MW the DSO activated in its area",
                curtail_to=max(0.0, tso_mw - dso_mw),
            )
    overload = dso_overload(volumes)
    for (area, mtu), over_mw in sorted(overload.items()):
        keys = [k for k in by_area_mtu.get((area, mtu), []) if volumes[k] > tol_mw]
        if not keys or over_mw <= tol_mw:
            continue
        total = sum(volumes[k] for k in keys)
        apply(
            keys,
            ConflictKind.DSO_LIMIT,
            area,
            mtu,
            f"TSO activations of {total:.3f} MW overload the DSO grid by {over_mw:.3f} MW",
            curtail_to=_safe_volume(keys, volumes, dso_overload, area, mtu, total),
        )
    return volumes, tuple(conflicts)


def _safe_volume(
    keys: list[Key],
    volumes: dict[Key, float],
    dso_overload: Callable[[Mapping[Key, float]], dict[tuple[str, str], float]],
    area: str,
    mtu: str,
    total: float,
) -> float:
    """Largest common scaling of ``keys`` that leaves no DSO overload (bisection, 30 steps)."""
    lo, hi = 0.0, 1.0
    trial = dict(volumes)
    for _ in range(30):
        mid = (lo + hi) / 2
        for k in keys:
            trial[k] = volumes[k] * mid
        if dso_overload(trial).get((area, mtu), 0.0) > 1e-6:
            hi = mid
        else:
            lo = mid
    return lo * total
