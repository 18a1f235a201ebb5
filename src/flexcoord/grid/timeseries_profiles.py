"""SimBench profiles as power-grid-model update data, built per chunk of time steps.

The absolute values are those of ``simbench.get_absolute_values(net,
profiles_instead_of_study_cases=True)``: relative profile × the element's ``p_mw`` / ``q_mvar``
(an element without a profile keeps its value; loads use ``<profile>_pload`` / ``_qload``, sgens
the ``powerplants`` and ``renewables`` tables), times the element's ``scaling`` as pandapower
applies it. They are built here from the relative profiles (a few distinct columns) for one chunk
at a time: the same numbers without simbench's 0.3–0.5 s pandas merge and without year-long
absolute arrays in memory (gigabytes on the HV/MV grids).

Time: the profile labels (``01.01.2016 00:00`` …) are German wall-clock time: 35,136 gapless
quarter-hours whose labels skip 02:00–02:45 on 27 March and repeat them on 30 October 2016. They
are converted to UTC: step 0 is 2015-12-31 23:00 UTC, step ``i`` is ``i`` quarter-hours later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from power_grid_model import ComponentType

from flexcoord.errors import InvalidInputError, Issue
from flexcoord.grid.pgm_conversion import LOAD_KINDS, PgmGrid, network_name

__all__ = ["SIMBENCH_TIMEZONE", "ProfileSeries", "Profiles", "UpdateBuffers"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: The time zone of SimBench profile labels (German wall-clock time, with daylight saving).
SIMBENCH_TIMEZONE = "Europe/Berlin"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileSeries:
    """Absolute values of one (element table, column) = relative[:, position] × base."""

    relative: FloatArray  # (all steps, used profiles + 1 column of ones)
    position: IntArray  # per element, column of ``relative``
    base: FloatArray  # per element, p_mw / q_mvar × scaling

    def values(self, t0: int, t1: int) -> FloatArray:
        """Absolute values of steps ``[t0, t1)``, shape (steps, elements)."""
        return self.relative[t0:t1][:, self.position] * self.base

    def write(self, t0: int, t1: int, factor: FloatArray, *, out: FloatArray) -> None:
        """``out[:] = values(t0, t1) × factor`` with a single temporary."""
        np.multiply(self.relative[t0:t1][:, self.position], self.base * factor, out=out)


@dataclass(frozen=True, slots=True, kw_only=True)
class Profiles:
    load_p: ProfileSeries
    load_q: ProfileSeries
    sgen_p: ProfileSeries
    storage_p: ProfileSeries
    time_labels: pd.Series
    n_steps: int

    @classmethod
    def of(cls, net: Any) -> Profiles:
        name = network_name(net)
        tables = net.get("profiles") if hasattr(net, "get") else None
        if not isinstance(tables, dict) or not any(
            isinstance(t, pd.DataFrame) and len(t) for t in tables.values()
        ):
            raise InvalidInputError(
                [
                    Issue(
                        kind="Network",
                        object_id=name,
                        field="profiles",
                        value=None,
                        message="has no SimBench profiles (net.profiles with load, renewables, "
                        "powerplants, storage tables); the time-series assessment needs them",
                    )
                ]
            )
        lengths = {len(t) for t in tables.values() if isinstance(t, pd.DataFrame) and len(t)}
        reference = next(t for t in tables.values() if isinstance(t, pd.DataFrame) and len(t))
        if len(lengths) != 1 or "time" not in reference.columns:
            raise InvalidInputError(
                [
                    Issue(
                        kind="Network",
                        object_id=name,
                        field="profiles",
                        value=sorted(lengths),
                        message="profile tables must share one length and a time column",
                    )
                ]
            )
        n_steps = lengths.pop()
        issues: list[Issue] = []

        def series(
            element: str, column: str, sources: tuple[str, ...], suffix: str, scaled: bool
        ) -> ProfileSeries:
            table = net[element]
            base = _numbers(table, column, 0.0)
            if scaled:  # loads: the ZIP factors of PgmGrid.loads carry the scaling
                base = base * _numbers(table, "scaling", 1.0)
            wanted = table["profile"] if "profile" in table.columns else None
            if wanted is None or not wanted.notna().any():
                return ProfileSeries(
                    relative=np.ones((n_steps, 1)),
                    position=np.zeros(len(table), np.int64),
                    base=base,
                )
            names = (wanted.astype(object).where(wanted.notna(), None)).map(
                lambda p: None if p is None else f"{p}{suffix}"
            )
            needed = sorted({n for n in names if n is not None})
            found: dict[str, FloatArray] = {}
            for source in sources:
                frame = tables.get(source)
                if isinstance(frame, pd.DataFrame) and len(frame):
                    cols = [n for n in needed if n in frame.columns and n not in found]
                    if cols:
                        values = frame[cols].to_numpy(dtype=float)
                        found.update({c: values[:, i] for i, c in enumerate(cols)})
            missing = [n for n in needed if n not in found]
            issues.extend(
                Issue(
                    kind=element.capitalize(),
                    object_id=f"{element}:{i}",
                    field="profile",
                    value=n,
                    message=f"names a profile missing from net.profiles {list(sources)}",
                )
                for i, n in names.items()
                if n in missing
            )
            order = {n: k for k, n in enumerate(needed)}
            relative = np.column_stack(
                [*(found.get(n, np.ones(n_steps)) for n in needed), np.ones(n_steps)]
            )
            position = np.array(
                [order[n] if n is not None else len(needed) for n in names], dtype=np.int64
            )
            return ProfileSeries(relative=relative, position=position, base=base)

        result = cls(
            load_p=series("load", "p_mw", ("load",), "_pload", False),
            load_q=series("load", "q_mvar", ("load",), "_qload", False),
            sgen_p=series("sgen", "p_mw", ("powerplants", "renewables"), "", True),
            storage_p=series("storage", "p_mw", ("storage",), "", True),
            time_labels=reference["time"],
            n_steps=n_steps,
        )
        if issues:
            raise InvalidInputError(issues)
        return result

    def times(self, start: int, steps: int) -> tuple[pd.DatetimeIndex, float]:
        """UTC time stamps of the window and the step length in hours.

        The profile is a gapless series of equal steps; its labels are wall-clock time in
        :data:`SIMBENCH_TIMEZONE` (they jump from 01:45 to 03:00 on 27 March and repeat 02:00–02:45
        on 30 October 2016), so step ``i`` is at first label (as local time, in UTC) + i steps.
        """
        labels = self.time_labels.iloc[np.array([0, min(1, self.n_steps - 1)])]
        first, second = pd.to_datetime(labels, format="%d.%m.%Y %H:%M")
        step = second - first if self.n_steps > 1 else pd.Timedelta(minutes=15)
        origin = first.tz_localize(SIMBENCH_TIMEZONE).tz_convert("UTC")
        times = pd.date_range(origin + start * step, periods=steps, freq=step, name="time")
        return times, step / pd.Timedelta(hours=1)


def _numbers(table: pd.DataFrame, column: str, default: float) -> FloatArray:
    if column not in table.columns:
        return np.full(len(table), default)
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(values), values, default)


class UpdateBuffers:
    """Reusable columnar PGM update data for a chunk of steps; only p / q are refilled.

    Columnar (one contiguous (steps, elements) array per attribute) rather than PGM's row-based
    structured arrays: the profile values are written straight into place, and PGM reads the
    same numbers.
    """

    def __init__(self, grid: PgmGrid, profiles: Profiles, size: int) -> None:
        self.profiles = profiles
        loads = grid.loads
        # per ZIP part in use: its columns of the sym_load buffers and p / q factors to W / var
        self.load_parts: list[tuple[slice, FloatArray, FloatArray]] = []
        ids: list[IntArray] = []
        for kind in LOAD_KINDS:
            fp = loads[f"p_{kind}"].to_numpy(dtype=float)
            fq = loads[f"q_{kind}"].to_numpy(dtype=float)
            if len(loads) and (kind == "const_power" or fp.any() or fq.any()):
                n0 = len(ids) * len(loads)
                ids.append(loads[f"id_{kind}"].to_numpy())
                self.load_parts.append((slice(n0, n0 + len(loads)), fp * 1e6, fq * 1e6))
        self.n_load = len(ids) * len(loads)
        storage_ids = grid.storages["pgm_id"].to_numpy()
        self.storage_factor = np.full(len(storage_ids), 1e6)  # base already holds scaling
        n_rows = self.n_load + len(storage_ids)
        self.sym_load: dict[str, np.ndarray] = {
            "id": np.broadcast_to(
                np.concatenate([*ids, storage_ids]).astype(np.int32), (size, n_rows)
            ).copy(),
            "p_specified": np.empty((size, n_rows)),
            "q_specified": np.full((size, n_rows), np.nan),  # NaN: storage keeps its q
        }
        n_gen = len(grid.sgens)
        self.sym_gen: dict[str, np.ndarray] = {
            "id": np.broadcast_to(grid.sgens["pgm_id"].to_numpy(np.int32), (size, n_gen)).copy(),
            "p_specified": np.empty((size, n_gen)),
        }

    def fill(self, t0: int, t1: int) -> dict[Any, dict[str, np.ndarray]]:
        """The update data of steps ``[t0, t1)`` (views of the reused buffers)."""
        n = t1 - t0
        pr = self.profiles
        update: dict[Any, dict[str, np.ndarray]] = {}
        if self.sym_load["id"].shape[1]:
            p, q = self.sym_load["p_specified"][:n], self.sym_load["q_specified"][:n]
            for part, fp, fq in self.load_parts:
                pr.load_p.write(t0, t1, fp, out=p[:, part])
                pr.load_q.write(t0, t1, fq, out=q[:, part])
            if self.n_load < p.shape[1]:
                pr.storage_p.write(t0, t1, self.storage_factor, out=p[:, self.n_load :])
            update[ComponentType.sym_load] = {
                "id": self.sym_load["id"][:n],
                "p_specified": p,
                "q_specified": q,
            }
        if self.sym_gen["id"].shape[1]:
            p = self.sym_gen["p_specified"][:n]
            pr.sgen_p.write(t0, t1, np.full(p.shape[1], 1e6), out=p)
            update[ComponentType.sym_gen] = {"id": self.sym_gen["id"][:n], "p_specified": p}
        return update
