"""``GridModel``: one loaded grid and the views derived from it, computed once and cached.

Everything above the grid layer (clearing, coordination, simulation, CLI, service) talks to a
``GridModel`` rather than to pandapower. The network inside is never mutated: every computation that
needs to change it (a power flow writes result tables) works on a copy.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from flexcoord.errors import InvalidInputError, Issue
from flexcoord.grid.areas import AreaSplit, split_areas
from flexcoord.grid.loading import load_network, resolve_grid_code
from flexcoord.grid.sensitivities import (
    BranchLimits,
    Ptdf,
    VoltageSensitivity,
    branch_limits,
    compute_ptdf,
    compute_voltage_sensitivity,
)
from flexcoord.grid.timeseries import GridAssessment
from flexcoord.grid.violations import categorical

if TYPE_CHECKING:
    from flexcoord.grid.pgm import PgmGrid
    from flexcoord.grid.timeseries_profiles import Profiles

__all__ = ["GridModel", "load_grid"]


class GridModel:
    """A grid with its TSO–DSO areas, sensitivities and limits.

    Args:
        net: a pandapower network; the model keeps it and never changes it — do not change it
            afterwards either.
        code: the name it was loaded under (a SimBench code, a pandapower network name, or any
            label for a network built by hand).
        tso_min_vn_kv: voltage threshold between TSO and DSO areas (see :mod:`.areas`).

    Example:
        >>> grid = load_grid("1-MV-rural--0-sw")
        >>> grid.info()["buses"], [a.id for a in grid.areas.dso_areas]
        (97, ['MV1.101'])
    """

    def __init__(self, net: Any, *, code: str, tso_min_vn_kv: float = 110.0) -> None:
        self._net = net
        self.code = code
        self.tso_min_vn_kv = tso_min_vn_kv
        self._lock = threading.RLock()
        self._cache: dict[str, Any] = {}

    @classmethod
    def load(cls, code: str, *, tso_min_vn_kv: float = 110.0) -> GridModel:
        """Load a SimBench code or pandapower network name (see :func:`.loading.load_network`)."""
        canonical = resolve_grid_code(code).code
        return cls(load_network(canonical), code=canonical, tso_min_vn_kv=tso_min_vn_kv)

    @property
    def net(self) -> Any:
        """The pandapower network. Read it; never modify it (copy it first)."""
        return self._net

    def _cached(self, key: str, build: Any) -> Any:
        with self._lock:
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]

    @property
    def areas(self) -> AreaSplit:
        """The TSO area and DSO areas with their coupling points."""
        result: AreaSplit = self._cached(
            "areas", lambda: split_areas(self._net, tso_min_vn_kv=self.tso_min_vn_kv)
        )
        return result

    def ptdf(self) -> Ptdf:
        """PTDF of every in-service branch against every in-service bus (cached)."""
        result: Ptdf = self._cached("ptdf", lambda: compute_ptdf(self._net))
        return result

    def branch_limits(self) -> BranchLimits:
        """Thermal branch limits in MW, in the PTDF's row order (cached)."""
        result: BranchLimits = self._cached("limits", lambda: branch_limits(self._net))
        return result

    def pgm(self) -> PgmGrid:
        """The grid converted to power-grid-model (:func:`~flexcoord.grid.pgm.to_pgm`, a zero
        injection element at every in-service bus), converted once: it is read-only, every
        calculation passes update data."""
        from flexcoord.grid.pgm import to_pgm  # noqa: PLC0415  (lazy: loads power-grid-model)

        result: PgmGrid = self._cached("pgm", lambda: to_pgm(self._net))
        return result

    def profiles(self) -> Profiles:
        """The SimBench profile tables of the grid, read once.

        Raises:
            InvalidInputError: the grid has no profiles.
        """
        from flexcoord.grid.timeseries_profiles import Profiles  # noqa: PLC0415  (lazy: loads pandapower)

        result: Profiles = self._cached("profiles", lambda: Profiles.of(self._net))
        return result

    def branch_ends(self) -> dict[str, tuple[int, int]]:
        """Every line and transformer by name (``"line:12"``, ``"trafo:3"``): its (from, to) or
        (HV, LV) pandapower buses."""

        def build() -> dict[str, tuple[int, int]]:
            out: dict[str, tuple[int, int]] = {}
            for table, a, b in (("line", "from_bus", "to_bus"), ("trafo", "hv_bus", "lv_bus")):
                frame = self._net[table]
                out |= {
                    f"{table}:{i}": (int(x), int(y))
                    for i, x, y in zip(frame.index, frame[a], frame[b], strict=True)
                }
            return out

        result: dict[str, tuple[int, int]] = self._cached("branch_ends", build)
        return result

    def voltage_sensitivity(self) -> VoltageSensitivity:
        """Voltage sensitivities of every bus to injections at every bus, at the loaded
        operating point (cached)."""
        result: VoltageSensitivity = self._cached(
            "vsens", lambda: compute_voltage_sensitivity(self._net)
        )
        return result

    def asset_areas(self) -> dict[str, str]:
        """``asset name → area id`` for buses (``"bus:7"``), lines and transformers.

        A line belongs to the area of its from-bus; a transformer to the area of its
        low-voltage bus, so a coupling transformer is the DSO's (it belongs to the DSO area it
        feeds, like its coupling point); the TSO area is ``"tso"``.
        """

        def build() -> dict[str, str]:
            area_of_bus = self.areas.area_of_bus()
            net = self._net
            out = {f"bus:{b}": a for b, a in area_of_bus.items()}
            for idx, bus in zip(net.line.index, net.line.from_bus, strict=True):
                out[f"line:{idx}"] = area_of_bus.get(int(bus), "out_of_service")
            for idx, bus in zip(net.trafo.index, net.trafo.lv_bus, strict=True):
                out[f"trafo:{idx}"] = area_of_bus.get(int(bus), "out_of_service")
            return out

        result: dict[str, str] = self._cached("asset_areas", build)
        return result

    def assess(
        self,
        *,
        start: int = 0,
        steps: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        **options: Any,
    ) -> GridAssessment:
        """The year-long (or ``start``/``steps`` window) congestion assessment of this grid.

        :func:`flexcoord.grid.timeseries.assess` on this grid's network (``options`` are its
        keyword options, e.g. ``keep_violations`` or ``violations_csv``), with each violation
        and summary row tagged with the ``area`` of its asset (``"tso"`` or a DSO area id) and
        the ``operator`` role that must buy flexibility for it (``"tso"`` / ``"dso"``); a
        streamed ``violations_csv`` carries the same two columns.
        """
        from flexcoord.grid.timeseries import assess  # noqa: PLC0415  (lazy: loads pandapower)

        areas = self.asset_areas()

        def tag(frame: Any) -> Any:
            # looked up per distinct asset, not per row (a year has millions of rows)
            frame = frame.copy()
            assets = frame["asset"].astype("category").cat
            codes = assets.codes.to_numpy()
            used, row_used = np.unique(codes, return_inverse=True)
            names = assets.categories.astype(str).to_numpy()[used]
            area_of = np.array([areas.get(a, "unknown") for a in names], dtype=object)
            area_names, area_code = np.unique(area_of, return_inverse=True)
            role = np.array(["tso" if a == "tso" else "dso" for a in area_names], dtype=object)
            role_names, role_code = np.unique(role, return_inverse=True)
            row_area = area_code[row_used]
            frame.insert(1, "area", categorical(row_area, area_names))
            frame.insert(2, "operator", categorical(role_code[row_area], role_names))
            return frame

        result = assess(self._net, start=start, steps=steps, progress=progress, tag=tag, **options)
        return dataclasses.replace(result, grid_name=self.code)

    def bus_ids(self) -> frozenset[int]:
        """The in-service buses."""
        bus = self._net.bus
        return frozenset(int(b) for b in bus.index[bus.in_service.to_numpy(dtype=bool)])

    def check_buses(self, refs: Iterable[tuple[str, str, int]]) -> None:
        """Check that each ``(kind, object id, bus)`` names an in-service bus of this grid.

        Raises:
            InvalidInputError: with one issue per object on an unknown or out-of-service bus.
        """
        known = self.bus_ids()
        issues = [
            Issue(
                kind=kind,
                object_id=oid,
                field="bus",
                value=bus,
                message=f"is not an in-service bus of grid {self.code!r}",
            )
            for kind, oid, bus in refs
            if bus not in known
        ]
        if issues:
            raise InvalidInputError(issues)

    def info(self) -> dict[str, Any]:
        """A JSON-serialisable description: sizes, voltage levels, DER, areas, profiles."""
        net = self._net
        split = self.areas
        vn = net.bus.vn_kv.astype(float)
        sgen_types: Counter[str] = Counter(str(t) for t in net.sgen.get("type", []))
        profiles = getattr(net, "profiles", None) or {}
        steps = max((len(df) for df in profiles.values()), default=0)
        return {
            "code": self.code,
            "buses": len(net.bus),
            "voltage_levels_kv": {
                f"{k:g}": int(v) for k, v in vn.value_counts().sort_index().items()
            },
            "lines": len(net.line),
            "transformers": len(net.trafo),
            "ext_grids": len(net.ext_grid),
            "loads": len(net.load),
            "load_p_mw": round(float(net.load.p_mw.sum()), 3),
            "sgens": len(net.sgen),
            "sgen_p_mw": round(float(net.sgen.p_mw.sum()), 3),
            "sgen_types": dict(sorted(sgen_types.items())),
            "storages": len(net.storage),
            "generators": len(net.gen),
            "profile_steps": steps,
            "regions": _regions(net),
            "tso_min_vn_kv": split.tso_min_vn_kv,
            "tso_control_area": split.tso_control_area,
            "tso_buses": len(split.tso_bus_ids),
            "dso_areas": [
                {
                    "id": a.id,
                    "buses": len(a.bus_ids),
                    "voltage_levels_kv": list(a.voltage_levels_kv),
                    "coupling_points": [cp.id for cp in a.coupling_points],
                    "coupling_capacity_mva": float(
                        np.sum([cp.rating_mva for cp in a.coupling_points])
                    ),
                }
                for a in split.dso_areas
            ],
        }


def _regions(net: Any) -> dict[str, int]:
    """``region → buses`` of a grid whose buses carry the model's regions (a CGMES import)."""
    if "region" not in net.bus.columns:
        return {}
    counts = net.bus["region"].dropna().astype(str).value_counts()
    return {str(k): int(v) for k, v in sorted(counts.items())}


@lru_cache(maxsize=8)
def load_grid(code: str, *, tso_min_vn_kv: float = 110.0) -> GridModel:
    """A shared, cached :class:`GridModel` for a grid code (read-only: never modify its net)."""
    return GridModel.load(code, tso_min_vn_kv=tso_min_vn_kv)
