"""The DSO markets of a stage solved on a Dask client give the outcome of the serial run.

``run_scheme(..., client=...)`` submits each DSO market of a scheme's first stage as one task
(the register scattered once) and records the results in DSO order: awards, markets, conflicts
and KPIs must be those of the run without a client, whichever order the tasks finish in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest

from flexcoord.coordination import (
    PRESETS,
    CoordinationInput,
    JointModel,
    SchemeOutcome,
    preset,
    run_chain,
    run_scheme,
)
from flexcoord.coordination.config import MarketModel
from flexcoord.domain import OperatorRole
from flexcoord.grid.portfolio import ScenarioAdditions
from flexcoord.simulation.scenario import build_coordination_scenario, build_timeframe_chain
from tests.coordination.schemes_fixtures import two_level_grid

#: Presets that clear DSO markets first.
_DSO_FIRST = tuple(c.id for c in PRESETS if c.market_model != MarketModel.COMMON and c.dso_buys)


class _Deferred:
    """A future of an in-process task, run when gathered."""

    def __init__(self, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.func, self.args = func, args


class _InProcessClient:
    """A stand-in for ``dask.distributed.Client`` that records what it is sent and runs the
    tasks when gathered, the last submitted first (a cluster finishes them in any order)."""

    def __init__(self) -> None:
        self.scattered = 0
        self.submitted: list[Callable[..., Any]] = []

    def scatter(self, data: Any, *, broadcast: bool = False, hash: bool = True) -> Any:
        assert broadcast and not hash
        self.scattered += 1
        return ("scattered", data)

    def submit(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        assert kwargs == {"pure": False}
        self.submitted.append(func)
        register = args[0][1]
        return _Deferred(func, (register, *args[1:]))

    def gather(self, futures: list[_Deferred]) -> list[Any]:
        done = {id(f): f.func(*f.args) for f in reversed(futures)}
        return [done[id(f)] for f in futures]


def _plain(value: Any) -> Any:
    """A frozen value as comparable builtins (arrays as lists)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _comparable(outcome: SchemeOutcome) -> dict[str, Any]:
    """What a user reads of an outcome (run times left out), exactly."""
    return {
        "accepted_mw": dict(outcome.accepted_mw),
        "markets": [
            (str(m.id), m.needs, m.bids_offered, dict(m.accepted_mw), m.result.objective_eur)
            for m in outcome.markets
        ],
        "conflicts": _plain(outcome.conflicts),
        "cost": _plain(outcome.cost),
        "kpis": _plain(outcome.kpis),
    }


def _two_dso_scenario() -> CoordinationInput:
    """The two-level grid with one DSO per MV feeder, both feeders' lines tightened."""
    return build_coordination_scenario(
        two_level_grid(),
        profile_day=None,
        n_mtu=4,
        n_bids=40,
        n_tso=1,
        n_dso=2,
        tso_need_mw=2.0,
        max_bid_mw=1.5,
        additions=ScenarioAdditions(batteries=2, ev_chargers=6, heat_pumps=4, seed=0),
        dso_per_area=True,
    )


def test_a_scenario_with_a_dso_per_area_has_each_need_bought_by_its_areas_dso() -> None:
    s = _two_dso_scenario()
    dsos = s.operators_of_role(OperatorRole.DSO)
    assert len(dsos) == 2 and all(len(s.areas_of(d)) == 1 for d in dsos)
    dso_needs = [n for n in s.needs if n.buyer_id.startswith("dso")]
    assert dso_needs and {n.buyer_id for n in dso_needs} <= set(dsos)
    for need in dso_needs:
        (area,) = s.areas_of(need.buyer_id)
        assert need.location.bus_ids <= s.register.area(area).bus_ids


@pytest.mark.parametrize("preset_id", _DSO_FIRST)
def test_dso_markets_solved_as_tasks_give_the_serial_outcome(preset_id: str) -> None:
    s = _two_dso_scenario()
    joint = JointModel.of(s)
    serial = run_scheme(preset(preset_id), s, joint=joint, ac_check=False)
    client = _InProcessClient()
    tasks = run_scheme(preset(preset_id), s, joint=joint, ac_check=False, client=client)
    assert _comparable(tasks) == _comparable(serial)
    dso_markets = [m for m in serial.markets if str(m.id).startswith("dso:")]
    assert len(dso_markets) == 2  # both DSOs' markets ran, as two tasks on one scatter
    assert len(client.submitted) == 2 and client.scattered == 1


def test_each_rounds_dso_markets_solved_as_tasks_give_the_serial_chain() -> None:
    chain = build_timeframe_chain(
        two_level_grid(),
        profile_day=None,
        n_mtu=4,
        n_bids=40,
        n_tso=1,
        n_dso=2,
        tso_need_mw=2.0,
        max_bid_mw=1.5,
        additions=ScenarioAdditions(batteries=2, ev_chargers=6, heat_pumps=4, seed=0),
        dso_per_area=True,
    )
    config = preset("onenet-multi-level")
    serial = run_chain(config, chain, ac_check=False)
    client = _InProcessClient()
    tasks = run_chain(config, chain, ac_check=False, client=client)
    assert len(serial.rounds) == 2 and len(client.submitted) == 2 * len(serial.rounds)
    for a, b in zip(serial.rounds, tasks.rounds, strict=True):
        assert dict(a.accepted_mw) == dict(b.accepted_mw)
        assert [dict(m.accepted_mw) for m in a.markets] == [dict(m.accepted_mw) for m in b.markets]
    assert _plain(tasks.kpis) == _plain(serial.kpis)
    assert dict(tasks.activation_mw) == dict(serial.activation_mw)


@pytest.mark.slow
def test_onenet_multi_level_on_two_dask_workers_is_the_serial_run() -> None:
    """Two worker processes, 18 DSO markets (one DSO per MV area of 1-HVMV-mixed)."""
    from dask.distributed import Client, LocalCluster

    s = build_coordination_scenario("1-HVMV-mixed-all-0-sw", n_mtu=8, n_bids=400, dso_per_area=True)
    joint = JointModel.of(s)
    presets = ("onenet-multi-level", "smartnet-local")
    serial = {p: run_scheme(preset(p), s, joint=joint, ac_check=False) for p in presets}
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        on_dask = {
            p: run_scheme(preset(p), s, joint=joint, ac_check=False, client=client) for p in presets
        }
        assert len(client.scheduler_info()["workers"]) == 2
    for p in presets:
        dso = [m for m in serial[p].markets if str(m.id).startswith("dso:")]
        assert len(dso) == 18 and sum(bool(m.accepted_mw) for m in dso) >= 2
        assert _comparable(on_dask[p]) == _comparable(serial[p])
