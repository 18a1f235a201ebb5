"""The scenario's joint problem: the yardstick every scheme is priced on, and what it caches.

:class:`JointModel` is built once per scenario (:meth:`JointModel.of`) and shared by every scheme
run on it: the joint clearing problem (every need, every bid, every monitored limit of both grids),
its grid map, the grid views per set of areas, and two memos of pure functions that are expensive
and needed by some runs only — the DSO areas' linear models (:class:`DsoModelCache`, for
aggregated interface offers; passed in explicitly so the rounds of a timeframe chain share one)
and the AC checker of the joint problem (built on the first AC check).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from flexcoord.clearing import (
    AcChecker,
    AcFlows,
    ClearingOptions,
    ClearingProblem,
    nodal_injections,
)
from flexcoord.clearing.ac import ac_check
from flexcoord.clearing.market import GridMap, build_problem
from flexcoord.coordination.aggregation import DsoLinearModel
from flexcoord.coordination.evaluation import (
    DispatchCost,
    evaluate_dispatch,
    slot_index,
    slot_vector,
)
from flexcoord.coordination.identities import Dispatch, DispatchKey, Mtu
from flexcoord.coordination.inputs import CoordinationInput, GridViews
from flexcoord.coordination.interface import dso_models
from flexcoord.errors import InvalidInputError, Issue

__all__ = ["DsoModelCache", "JointModel"]

FloatArray = NDArray[np.float64]


class DsoModelCache:
    """The linear models of DSO areas (:func:`~flexcoord.coordination.interface.dso_models`),
    each built on first request (one power-grid-model batch per area, seconds on a SimBench HV/MV
    grid) and kept.

    A memo of a pure function of the grid, its limit overrides, the safety margin and the voltage
    setting: :meth:`fits` tells whether a scenario shares them (the rounds of a timeframe chain
    do), and :meth:`JointModel.of` refuses a cache that does not fit its scenario.
    """

    __slots__ = ("_models", "_scenario")

    def __init__(self, scenario: CoordinationInput) -> None:
        self._scenario = scenario
        self._models: dict[str, DsoLinearModel] = {}

    def fits(self, scenario: CoordinationInput) -> bool:
        """Whether ``scenario``'s DSO models are this cache's (same grid, limits and settings)."""
        s = self._scenario
        return (
            scenario.grid is s.grid
            and scenario.safety_margin == s.safety_margin
            and dict(scenario.limit_overrides_mw) == dict(s.limit_overrides_mw)
            and scenario.voltages == s.voltages
        )

    def models(self, areas: Sequence[str]) -> dict[str, DsoLinearModel]:
        """The linear model of each of ``areas``."""
        missing = [a for a in areas if a not in self._models]
        if missing:
            s = self._scenario
            self._models |= dso_models(
                s.grid,
                missing,
                safety_margin=s.safety_margin,
                limit_overrides_mw=s.limit_overrides_mw,
                voltages=s.voltages,
            )
        return {a: self._models[a] for a in areas}


class _AcCheckerMemo:
    """The AC checker of one joint problem, built on the first AC check."""

    __slots__ = ("_build", "_checker")

    def __init__(self, build: Callable[[], AcChecker]) -> None:
        self._build = build
        self._checker: AcChecker | None = None

    def checker(self) -> AcChecker:
        if self._checker is None:
            self._checker = self._build()
        return self._checker


@dataclass(frozen=True, slots=True, kw_only=True)
class JointModel:
    """The scenario's joint problem (every need, bid and monitored limit) and its grid map.

    Attributes:
        problem: the joint clearing problem (bids under their root ids).
        grid_map: its buses ↔ the grid's buses and its MTUs ↔ the scenario's.
        views: the scenario's grid constraints per set of areas.
        all_areas: every grid area of the register, sorted.
        bid_area: root bid id → grid area of its resource.
        dso_models: the DSO areas' linear models (a memo, see :class:`DsoModelCache`).
        slots: (root bid, MTU) → slot of ``problem``.
        mtu_duration_h: MTU → hours, for the problem's MTUs.
    """

    problem: ClearingProblem
    grid_map: GridMap
    views: GridViews
    all_areas: tuple[str, ...]
    bid_area: Mapping[str, str]
    dso_models: DsoModelCache
    slots: Mapping[DispatchKey, int]
    mtu_duration_h: Mapping[Mtu, float]
    ac_memo: _AcCheckerMemo = field(repr=False, compare=False)

    @classmethod
    def of(
        cls,
        scenario: CoordinationInput,
        views: GridViews | None = None,
        *,
        dso_models: DsoModelCache | None = None,
    ) -> JointModel:
        """Build it once per scenario; every scheme run reuses it.

        Raises:
            InvalidInputError: ``dso_models`` built for another grid, limits or settings.
        """
        if dso_models is not None and not dso_models.fits(scenario):
            raise InvalidInputError(
                [
                    Issue(
                        kind="JointModel",
                        object_id=scenario.name,
                        field="dso_models",
                        value="DsoModelCache",
                        message="was built for another grid, limit overrides, safety margin or "
                        "voltage setting",
                    )
                ]
            )
        views = views or GridViews(scenario)
        all_areas = tuple(sorted(a.id for a in scenario.register.areas))
        gc = views.constraints(all_areas)
        problem, grid_map = build_problem(scenario.register, scenario.needs, scenario.bids, gc)

        def ac_checker() -> AcChecker:
            return ac_check(scenario.grid, gc).checker_for(problem, grid_map)

        mtus = [Mtu.of_label(label) for label in problem.mtu_labels]
        return cls(
            problem=problem,
            grid_map=grid_map,
            views=views,
            all_areas=all_areas,
            bid_area={b.id: scenario.area_of_resource(b.resource_id) for b in scenario.bids},
            dso_models=dso_models or DsoModelCache(scenario),
            slots=slot_index(problem),
            mtu_duration_h=dict(zip(mtus, problem.mtu_duration_h.tolist(), strict=True)),
            ac_memo=_AcCheckerMemo(ac_checker),
        )

    @property
    def scenario(self) -> CoordinationInput:
        """The scenario the model was built for."""
        return self.views.scenario

    def slot_vector(self, dispatch: Dispatch) -> FloatArray:
        """Accepted MW per slot of the joint problem."""
        return slot_vector(self.problem, dispatch, index=self.slots)

    def evaluate(self, dispatch: Dispatch, options: ClearingOptions) -> DispatchCost:
        """The yardstick's cost of a dispatch (:func:`evaluate_dispatch` on the joint problem)."""
        return evaluate_dispatch(self.problem, self.slot_vector(dispatch), options)

    def problem_injections(self, dispatch: Dispatch) -> tuple[FloatArray, FloatArray]:
        """Active and reactive injections ``(n_problem_bus, T)`` of a dispatch."""
        return nodal_injections(self.problem, self.slot_vector(dispatch))

    def injections(self, dispatch: Dispatch) -> tuple[FloatArray, FloatArray]:
        """Active and reactive injections ``(n_real_bus, T)`` of a dispatch at real buses, in the
        scenario's MTUs (the joint problem keeps only the MTUs its bids and needs use)."""
        inj_p, inj_q = self.problem_injections(dispatch)
        n_t = len(self.scenario.intervals)
        cols = self.grid_map.mtu_columns
        p = np.zeros((len(self.grid_map.real_bus_ids), n_t))
        q = np.zeros_like(p)
        p[:, cols] = self.grid_map.to_grid(inj_p)
        q[:, cols] = self.grid_map.to_grid(inj_q)
        return p, q

    def ptdf_injections(self, dispatch: Dispatch) -> tuple[FloatArray, FloatArray]:
        """:meth:`injections` at the scenario's PTDF buses (``scenario.ptdf().bus_ids``: every
        in-service bus, screened or not), as :func:`~flexcoord.clearing.shift_forecast` takes
        them."""
        p_mw, q_mvar = self.injections(dispatch)
        bus_ids = self.scenario.ptdf().bus_ids
        column = {int(b): i for i, b in enumerate(bus_ids.tolist())}
        positions = [column[int(b)] for b in self.grid_map.real_bus_ids]
        inj_p = np.zeros((len(bus_ids), p_mw.shape[1]))
        inj_q = np.zeros_like(inj_p)
        inj_p[positions] = p_mw
        inj_q[positions] = q_mvar
        return inj_p, inj_q

    def ac_flows(self, dispatch: Dispatch) -> AcFlows:
        """AC flows and voltages of the joint problem's monitored branches and buses after the
        dispatch, on the scenario's base case: power-grid-model (one batch over the MTUs), or
        pandapower where the grid has voltage-controlled plants
        (:func:`~flexcoord.clearing.ac.ac_check`)."""
        return self.ac_memo.checker().check(*self.problem_injections(dispatch))
