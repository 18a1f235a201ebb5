"""Voltage and thermal limits of a converted grid, and vectorised detection of their violations.

Shared by the AC verification (:mod:`flexcoord.grid.pgm`) and the time-series assessment
(:mod:`flexcoord.grid.timeseries`).

Default limits, when the caller gives none:

* voltage band per bus: the bus table's ``min_vm_pu`` / ``max_vm_pu`` where present and finite
  (SimBench carries them: 0.965–1.055 pu at MV and LV, 0.90–1.10 pu at HV and EHV, the split of the
  EN 50160 band between voltage levels), else 0.95–1.05 pu, a common planning band;
* thermal limit per branch: the ``max_loading_percent`` column of ``line`` / ``trafo`` where present
  and finite (SimBench: 100 %, 50 % on some (n-1)-secured HV/MV transformers), else 100 %.

Comparisons are strict: a loading of exactly 100 % of a 100 % limit is no overload. Voltages of
out-of-service buses are ``NaN`` and never violate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from flexcoord.errors import InvalidInputError, Issue

if TYPE_CHECKING:
    from flexcoord.grid.pgm_conversion import PgmGrid

__all__ = [
    "DEFAULT_MAX_LOADING_PERCENT",
    "DEFAULT_VM_MAX_PU",
    "DEFAULT_VM_MIN_PU",
    "Limits",
    "ViolationKind",
    "ViolationMask",
    "asset_table",
    "categorical",
    "resolve_limits",
    "violation_arrays",
    "violation_frame",
    "violation_masks",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DEFAULT_VM_MIN_PU = 0.95
DEFAULT_VM_MAX_PU = 1.05
DEFAULT_MAX_LOADING_PERCENT = 100.0

VIOLATION_COLUMNS = ("step", "asset", "kind", "value", "limit", "voltage_level_kv", "name")


class ViolationKind(StrEnum):
    """What a violation is."""

    OVERLOAD = "overload"
    UNDERVOLTAGE = "undervoltage"
    OVERVOLTAGE = "overvoltage"


_KINDS = tuple(ViolationKind)  # codes 0, 1, 2


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Limits to check; ``None`` takes each asset's own limit from the network (module docstring).

    A number applies to every bus (voltages) or every branch (loading).

    Example:
        >>> Limits(vm_min_pu=0.9, vm_max_pu=1.1)
        Limits(vm_min_pu=0.9, vm_max_pu=1.1, max_loading_percent=None)
    """

    vm_min_pu: float | None = None
    vm_max_pu: float | None = None
    max_loading_percent: float | None = None

    def __post_init__(self) -> None:
        issues = [
            Issue(
                kind="Limits",
                object_id="limits",
                field=name,
                value=value,
                message="must be a finite number > 0",
            )
            for name in ("vm_min_pu", "vm_max_pu", "max_loading_percent")
            if (value := getattr(self, name)) is not None
            and not (math.isfinite(value) and value > 0)
        ]
        if (
            not issues
            and self.vm_min_pu is not None
            and self.vm_max_pu is not None
            and self.vm_min_pu >= self.vm_max_pu
        ):
            issues.append(
                Issue(
                    kind="Limits",
                    object_id="limits",
                    field="vm_min_pu",
                    value=self.vm_min_pu,
                    message=f"must be below vm_max_pu={self.vm_max_pu}",
                )
            )
        if issues:
            raise InvalidInputError(issues)


def resolve_limits(grid: PgmGrid, limits: Limits) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per-bus minimum and maximum voltage (pu) and per-branch maximum loading (percent).

    Aligned with ``grid.buses`` and ``grid.branches``.
    """
    buses, branches = grid.buses, grid.branches

    def pick(override: float | None, own: FloatArray, default: float) -> FloatArray:
        if override is not None:
            return np.full(len(own), float(override))
        return np.where(np.isfinite(own), own, default)

    vmin = pick(limits.vm_min_pu, buses["vm_min_pu"].to_numpy(dtype=float), DEFAULT_VM_MIN_PU)
    vmax = pick(limits.vm_max_pu, buses["vm_max_pu"].to_numpy(dtype=float), DEFAULT_VM_MAX_PU)
    lmax = pick(
        limits.max_loading_percent,
        branches["max_loading_percent"].to_numpy(dtype=float),
        DEFAULT_MAX_LOADING_PERCENT,
    )
    return vmin, vmax, lmax


def asset_table(grid: PgmGrid) -> pd.DataFrame:
    """Every checked asset, branches first then buses: ``asset``, ``voltage_level_kv``, ``name``.

    The row position is the asset code of :func:`violation_arrays`.
    """
    branches, buses = grid.branches, grid.buses
    return pd.DataFrame(
        {
            "asset": [*branches.index, *(f"bus:{b}" for b in buses.index)],
            "voltage_level_kv": np.concatenate(
                [branches["vn_kv"].to_numpy(dtype=float), buses["vn_kv"].to_numpy(dtype=float)]
            ),
            "name": [*branches["name"], *buses["name"]],
        }
    )


@dataclass(frozen=True, slots=True)
class ViolationMask:
    """Where one kind of violation occurs in a (steps × assets) block of results."""

    kind: int  # code: 0 overload, 1 undervoltage, 2 overvoltage
    mask: NDArray[np.bool_]  # (steps, branches or buses)
    values: FloatArray  # the checked values, same shape
    limit: FloatArray  # per column
    offset: int  # asset code of column 0 (0 for branches, number of branches for buses)


def violation_masks(
    vm_pu: FloatArray,
    loading_percent: FloatArray,
    vm_min_pu: FloatArray,
    vm_max_pu: FloatArray,
    max_loading_percent: FloatArray,
) -> tuple[ViolationMask, ViolationMask, ViolationMask]:
    """The overload, undervoltage and overvoltage masks (strict comparisons; ``NaN`` never)."""
    n_branch = loading_percent.shape[1]
    return (
        ViolationMask(
            0, loading_percent > max_loading_percent, loading_percent, max_loading_percent, 0
        ),
        ViolationMask(1, vm_pu < vm_min_pu, vm_pu, vm_min_pu, n_branch),
        ViolationMask(2, vm_pu > vm_max_pu, vm_pu, vm_max_pu, n_branch),
    )


def violation_arrays(  # noqa: PLR0913 - public: flows and limits, then keyword options
    vm_pu: FloatArray,
    loading_percent: FloatArray,
    vm_min_pu: FloatArray,
    vm_max_pu: FloatArray,
    max_loading_percent: FloatArray,
    *,
    masks: Sequence[ViolationMask] | None = None,
) -> tuple[IntArray, IntArray, IntArray, FloatArray, FloatArray]:
    """Every violation in (steps × buses) voltages and (steps × branches) loadings.

    Args:
        vm_pu, loading_percent: the results; vm_min_pu, vm_max_pu, max_loading_percent: limits.
        masks: :func:`violation_masks` of the same arguments, when already computed.

    Returns:
        ``step``, ``asset`` code (branch position, or number of branches + bus position),
        ``kind`` code (0 overload, 1 undervoltage, 2 overvoltage), ``value``, ``limit``;
        ordered by kind, then step, then asset.
    """
    if masks is None:
        masks = violation_masks(vm_pu, loading_percent, vm_min_pu, vm_max_pu, max_loading_percent)
    parts = []
    for m in masks:
        steps, cols = np.nonzero(m.mask)
        parts.append(
            (
                steps.astype(np.int64),
                (cols + m.offset).astype(np.int64),
                np.full(len(steps), m.kind, dtype=np.int64),
                m.values[steps, cols].astype(float),
                m.limit[cols].astype(float),
            )
        )
    step, asset, kind, value, lim = (np.concatenate(arrays) for arrays in zip(*parts, strict=True))
    return step, asset, kind, value, lim


def categorical(codes: NDArray[np.integer[Any]], categories: Any) -> pd.Categorical:
    """A categorical from integer codes (no per-row hashing: fast for millions of rows)."""
    return pd.Categorical.from_codes(cast("Sequence[int]", codes), categories=pd.Index(categories))


def violation_table(  # noqa: PLR0913 - public: as violation_arrays
    assets: pd.DataFrame,
    *,
    step: IntArray,
    asset: IntArray,
    kind: IntArray,
    value: FloatArray,
    limit: FloatArray,
) -> pd.DataFrame:
    """The tidy violation frame (columns :data:`VIOLATION_COLUMNS`) from :func:`violation_arrays`.

    ``asset``, ``kind`` and ``name`` are categoricals (cheap for a year of violations).
    """
    names = assets["name"].astype(object).where(assets["name"].notna(), "").astype(str)
    name_codes, name_uniques = pd.factorize(names)
    return pd.DataFrame(
        {
            "step": step,
            "asset": categorical(asset, assets["asset"]),
            "kind": categorical(kind, [str(k) for k in _KINDS]),
            "value": value,
            "limit": limit,
            "voltage_level_kv": assets["voltage_level_kv"].to_numpy()[asset],
            "name": categorical(name_codes[asset], name_uniques),
        }
    )


def violation_frame(  # noqa: PLR0913 - public: as violation_arrays
    grid: PgmGrid,
    *,
    vm_pu: FloatArray,
    loading_percent: FloatArray,
    vm_min_pu: FloatArray,
    vm_max_pu: FloatArray,
    max_loading_percent: FloatArray,
) -> pd.DataFrame:
    """:func:`violation_arrays` then :func:`violation_table` for ``grid``."""
    arrays = violation_arrays(vm_pu, loading_percent, vm_min_pu, vm_max_pu, max_loading_percent)
    step, asset, kind, value, limit = arrays
    return violation_table(
        asset_table(grid), step=step, asset=asset, kind=kind, value=value, limit=limit
    )
