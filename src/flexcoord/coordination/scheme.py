"""Run any coordination scheme on a scenario, with the one clearing engine.

:func:`run_scheme` is a pipeline of frozen values: the scheme's market model (a named strategy of
:data:`~flexcoord.coordination.market_models.MARKET_MODELS`) clears its sub-markets, each one
call to :func:`flexcoord.clearing.market.clear` on the base case moved by the markets before it;
the TSO's awards in DSO areas are checked for conflicts with the DSOs' awards and limits and
handled by the scheme's rule (:mod:`flexcoord.coordination.resolution`); the final dispatch is
priced on the scenario's joint problem (:class:`~flexcoord.coordination.joint.JointModel`), so
schemes compare on one yardstick, and its KPIs are computed
(:class:`~flexcoord.coordination.kpis.SchemeKpis`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass

from flexcoord.clearing import ClearingOptions
from flexcoord.coordination.config import SchemeConfig
from flexcoord.coordination.conflicts import Conflict
from flexcoord.coordination.evaluation import DispatchCost
from flexcoord.coordination.identities import DispatchKey
from flexcoord.coordination.inputs import CoordinationInput
from flexcoord.coordination.joint import JointModel
from flexcoord.coordination.kpis import (
    SchemeKpis,
    ac_violation,
    dso_overload_added_mwh,
    scheme_kpis,
)
from flexcoord.coordination.ledger import ClearingLedger
from flexcoord.coordination.market_models import planned_markets, run_markets
from flexcoord.coordination.market_tasks import MarketClient
from flexcoord.coordination.markets import MarketRun, SchemeContext
from flexcoord.coordination.mw_dispatch import MwDispatchSettlement, mw_dispatch_settlement
from flexcoord.coordination.primacy import PrimacyDecision
from flexcoord.coordination.resolution import dso_dispatch, final_dispatch
from flexcoord.progress import Progress, ProgressCounter

__all__ = ["SchemeOutcome", "default_options", "run_scheme"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemeOutcome:
    """What a scheme did on a scenario and what it cost.

    Attributes:
        config: the scheme.
        markets: its sub-markets, in clearing order.
        accepted_mw: the final dispatch (after the conflict rule), MW per root bid and MTU.
        conflicts: the conflicts found and what the rule did.
        cost: the final dispatch on the joint yardstick.
        kpis: :class:`~flexcoord.coordination.kpis.SchemeKpis`.
        wall_s: the run's wall time (the shared :class:`JointModel` build excluded).
        primacy: with primacy rules (``config.primacy``), how they decided each conflict.
        mw_dispatch: with primacy rules, the ESO's MW Dispatch settlement (lost generation MWh
            × bid price, per dispatched turn-down); ``None`` otherwise.
    """

    config: SchemeConfig
    markets: tuple[MarketRun, ...]
    accepted_mw: Mapping[DispatchKey, float]
    conflicts: tuple[Conflict, ...]
    cost: DispatchCost
    kpis: SchemeKpis
    wall_s: float
    primacy: tuple[PrimacyDecision, ...] = ()
    mw_dispatch: MwDispatchSettlement | None = None

    @property
    def solver_s(self) -> float:
        """Sum of the HiGHS times of all sub-markets."""
        return sum(m.solver_s for m in self.markets)


def default_options() -> ClearingOptions:
    """The clearing options of scheme runs: no per-bid explanations (not reported), and an
    interface-schedule (balance) penalty one order below the branch penalty, so a DSO that must
    hold its interface schedule (shared balancing responsibility) still keeps its own grid within
    limits first when it cannot do both."""
    return ClearingOptions(explain=False, balance_penalty_eur_per_mwh=1e5)


def run_scheme(  # noqa: PLR0913 - the public signature: two inputs, five keyword options
    config: SchemeConfig,
    scenario: CoordinationInput,
    *,
    joint: JointModel | None = None,
    options: ClearingOptions | None = None,
    ac_check: bool = True,
    progress: Progress | None = None,
    client: MarketClient | None = None,
) -> SchemeOutcome:
    """Run one scheme on one scenario (see the module docstring).

    With ``ac_check`` the final dispatch (and the DSO markets' dispatch alone) are verified in AC
    with power-grid-model: the KPIs then carry the residual AC violations on the TSO and DSO grids
    and the AC DSO violations caused by TSO activations.

    ``progress`` (:mod:`flexcoord.progress`) is called as each step starts: every planned
    sub-market (``"clearing market dso:<operator>"``, stage ``"market"``), the pricing on the
    joint problem (``"evaluation"``) and, with ``ac_check``, the AC check (``"ac-check"``).

    ``client`` (a ``dask.distributed.Client``): the independent markets of a stage — the DSO
    markets of every scheme that clears them first — are solved in parallel on its cluster, one
    task each, the register scattered to every worker once
    (:mod:`flexcoord.coordination.market_tasks`); the outcome is identical to the run without
    it (same awards, KPIs and markets), only ``wall_s`` and the solver times differ.

    Example:
        >>> from flexcoord.coordination import preset
        >>> from flexcoord.simulation.scenario import build_coordination_scenario
        >>> s = build_coordination_scenario("1-MV-rural--0-sw", n_bids=40, n_mtu=8)
        >>> outcome = run_scheme(preset("onenet-multi-level"), s, ac_check=False)
        >>> [str(m.id) for m in outcome.markets]
        ['dso:dso', 'tso']
    """
    start = time.perf_counter()
    joint = joint or JointModel.of(scenario)
    options = options or default_options()
    ctx = SchemeContext.of(config, scenario, joint, options, client=client)
    counter = ProgressCounter(
        progress, total=planned_markets(config, len(ctx.dso_ids)) + 1 + int(ac_check)
    )
    state = run_markets(ctx.reporting_to(counter), ClearingLedger())
    final = final_dispatch(ctx, state)
    counter.step("evaluation", "pricing the dispatch on the joint problem")
    cost = joint.evaluate(final.accepted_mw, options)
    without_tso = dso_dispatch(state)
    caused = dso_overload_added_mwh(joint, cost, joint.evaluate(without_tso, options))
    kpis = scheme_kpis(ctx, state, final, cost, caused)
    if ac_check:
        counter.step("ac-check", "checking the dispatch in AC")
        ac, dso_only = ac_violation(joint, final.accepted_mw), ac_violation(joint, without_tso)
        kpis = dataclasses.replace(
            kpis,
            ac_violation=ac,
            ac_dso_violation_caused_by_tso_mwh=max(0.0, ac.dso_mwh - dso_only.dso_mwh),
        )
    return SchemeOutcome(
        config=config,
        markets=state.markets,
        accepted_mw=final.accepted_mw,
        conflicts=final.conflicts,
        cost=cost,
        kpis=kpis,
        wall_s=time.perf_counter() - start,
        primacy=final.primacy,
        mw_dispatch=None
        if config.primacy is None
        else mw_dispatch_settlement(ctx, state, final.accepted_mw),
    )
