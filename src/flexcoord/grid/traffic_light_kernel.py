"""The vectorised core of the traffic light: safe volumes of many resources over many MTUs.

One kind of constraint covers thermal and voltage limits alike: a monitored quantity ``v[n, t]``
(a branch flow in MW or a bus voltage in pu) with bounds ``lo[n] <= v <= hi[n]`` (already
margined) and a sensitivity ``a[n, r]`` per MW of resource ``r`` injected. In direction ``σ``
(+1 UP = more injection, −1 DOWN), the largest ``x >= 0`` with ``lo <= v + σ·a·x <= hi`` is::

    x[n, r, t] = (hi[n] - v[n, t]) / (σ·a)   if σ·a > 0
               = (lo[n] - v[n, t]) / (σ·a)   if σ·a < 0,   clipped at 0,

and the safe volume is the minimum over ``n``. A quantity already beyond a bound gets ``x = 0``
when the activation would worsen it and a positive ``x`` (up to the opposite bound) when it would
relieve it. ``|a| <= min_sensitivity``, or a full-range effect ``|a|·range <= min_effect``,
counts as no influence: otherwise a limit already violated in the forecast far away (e.g. a
high voltage in another feeder, reached through the upstream grid with 1e-5 pu/MW) would turn
every resource red.

Exact pruning: the safe volume is only needed up to the resource's range (beyond it the light is
green). Pair ``(n, r)`` can bind below the range only if ``|a|·range_r`` exceeds the tightest
slack ``min_t min(hi - v, v - lo)`` of ``n``; every other pair is skipped without changing the
result. In a radial distribution grid at normal loading this removes almost every pair; the kept
pairs are evaluated for all MTUs and both directions at once, sorted by resource, with a
segmented minimum (``np.minimum.reduceat``), in chunks of bounded memory.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["ConstraintSet", "SafeVolumes", "merge", "safe_volumes"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_CHUNK_ELEMENTS = 4_000_000  # pairs × MTUs × directions per chunk (~32 MB of float64)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConstraintSet:
    """Monitored quantities with margined bounds: ``value`` (n, T), ``lower`` / ``upper`` (n,)."""

    value: FloatArray
    lower: FloatArray
    upper: FloatArray
    min_sensitivity: float
    min_effect: float = 0.0

    @property
    def tightest_slack(self) -> FloatArray:
        """Per constraint, the smallest distance to a bound over the MTUs (negative if beyond)."""
        if self.value.shape[1] == 0:
            return np.full(len(self.value), np.inf)
        to_upper = self.upper - self.value.max(axis=1)
        to_lower = self.value.min(axis=1) - self.lower
        slack: FloatArray = np.minimum(to_upper, to_lower)
        return slack


@dataclass(frozen=True, slots=True, kw_only=True)
class SafeVolumes:
    """Per resource, MTU and direction (0 UP, 1 DOWN): safe volume and binding constraint.

    ``x_mw`` is capped at the resource's range; ``row`` is the binding constraint's row, or -1
    when nothing binds below the range; ``upper`` tells whether the upper bound binds.
    """

    x_mw: FloatArray  # (R, T, 2)
    row: IntArray  # (R, T, 2)
    upper: NDArray[np.bool_]  # (R, T, 2)


def safe_volumes(
    constraints: ConstraintSet, sensitivity: FloatArray, range_mw: FloatArray
) -> SafeVolumes:
    """Safe volumes of resources (columns of ``sensitivity``) against ``constraints``.

    Args:
        constraints: the monitored quantities and bounds (``n`` rows, ``T`` MTUs).
        sensitivity: ``(n, R)`` change of each quantity per MW injected by each resource.
        range_mw: ``(R,)`` the most each resource can move (the cap of the result).
    """
    value = constraints.value
    n_t = value.shape[1]
    n_r = sensitivity.shape[1]
    x = np.ascontiguousarray(np.broadcast_to(range_mw[:, None, None], (n_r, n_t, 2)), dtype=float)
    row = np.full((n_r, n_t, 2), -1, dtype=np.int64)
    upper = np.zeros((n_r, n_t, 2), dtype=bool)
    if n_r == 0 or n_t == 0 or len(value) == 0:
        return SafeVolumes(x_mw=x, row=row, upper=upper)
    magnitude = np.abs(sensitivity)
    effect = magnitude * range_mw[None, :]
    keep = (
        (magnitude > constraints.min_sensitivity)
        & (effect > constraints.min_effect)
        & (effect > constraints.tightest_slack[:, None])
    )
    res_of_pair, con_of_pair = np.nonzero(keep.T)  # sorted by resource
    if len(res_of_pair) == 0:
        return SafeVolumes(x_mw=x, row=row, upper=upper)
    # chunks of whole resources, each about _CHUNK_ELEMENTS large
    first = np.searchsorted(res_of_pair, np.arange(n_r + 1))
    through = first[1:]  # pairs up to and including resource i
    per_chunk = max(1, _CHUNK_ELEMENTS // (2 * n_t))
    cut = [0]
    while cut[-1] < n_r:
        nxt = int(np.searchsorted(through, first[cut[-1]] + per_chunk, side="right"))
        cut.append(min(max(nxt, cut[-1] + 1), n_r))
    bounds = first[cut]
    for p0, p1 in itertools.pairwise(bounds):
        if p0 == p1:
            continue
        _chunk(
            constraints,
            sensitivity,
            res_of_pair[p0:p1],
            con_of_pair[p0:p1],
            x=x,
            row=row,
            upper=upper,
        )
    return SafeVolumes(x_mw=x, row=row, upper=upper)


def _chunk(  # noqa: PLR0913 - private: one chunk's arrays (numba-style kernel)
    constraints: ConstraintSet,
    sensitivity: FloatArray,
    res: IntArray,
    con: IntArray,
    *,
    x: FloatArray,
    row: IntArray,
    upper: NDArray[np.bool_],
) -> None:
    """Fill ``x`` / ``row`` / ``upper`` for the resources of one chunk of (constraint, resource)
    pairs (sorted by resource, whole resources only)."""
    a = sensitivity[con, res]  # (P,)
    v = constraints.value[con]  # (P, T)
    starts = np.flatnonzero(np.r_[True, res[1:] != res[:-1]])
    resources = res[starts]
    n_pairs = len(res)
    pair_index = np.arange(n_pairs)[:, None]
    for d, sign in enumerate((1.0, -1.0)):
        signed = sign * a
        is_upper = signed > 0
        bound = np.where(is_upper, constraints.upper[con], constraints.lower[con])
        ratio = (bound[:, None] - v) / signed[:, None]
        np.maximum(ratio, 0.0, out=ratio)
        smallest = np.minimum.reduceat(ratio, starts, axis=0)  # (Rc, T)
        seg = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n_pairs]))
        hit = np.where(ratio <= smallest[seg], pair_index, n_pairs)
        binding = np.minimum.reduceat(hit, starts, axis=0)  # first pair reaching the minimum
        cap = x[resources, :, d]
        binds = smallest < cap
        x[resources, :, d] = np.where(binds, smallest, cap)
        row[resources, :, d] = np.where(binds, con[binding], row[resources, :, d])
        upper[resources, :, d] = np.where(binds, is_upper[binding], upper[resources, :, d])


def merge(first: SafeVolumes, second: SafeVolumes, offset: int) -> SafeVolumes:
    """The tighter of two results; rows of ``second`` are shifted by ``offset``."""
    take_second = second.x_mw < first.x_mw
    return SafeVolumes(
        x_mw=np.where(take_second, second.x_mw, first.x_mw),
        row=np.where(take_second, second.row + offset, first.row),
        upper=np.where(take_second, second.upper, first.upper),
    )
