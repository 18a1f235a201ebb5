"""The domain entry point: needs, bids and products (+ grid constraints) → a frozen result.

:func:`clear` is the one function the coordination schemes, the simulator, the service and the
CLI call. It

1. validates the market (:func:`flexcoord.domain.validate_market`: one
   :class:`~flexcoord.errors.InvalidInputError` with every issue, nothing solved on a half-valid
   market), plus the clearing's own checks (one MTU resolution per clearing, every MTU inside the
   grid constraints' base case);
2. maps the domain objects to a :class:`~flexcoord.clearing.problem.ClearingProblem`
   (:func:`build_problem`, staged in :mod:`flexcoord.clearing.mapping`), keeping the domain ids
   as the problem's names;
3. clears it (:func:`~flexcoord.clearing.engine.clear_problem`), with an AC check when asked.

Mapping rules (see ``docs/clearing.md``):

* **MTUs**: every MTU any need or bid names, in time order, labelled by their ISO start.
* **Location of a need** → a bus set: its buses; the buses of a grid area; for a coupling point,
  the buses of every area it feeds (the DSO area behind it).
* **Location of a bid**: a unit's bus. A group whose units sit on several buses becomes one
  *virtual bus* ``group:<id>`` whose sensitivity columns are the units' columns weighted
  pro-rata to their power range (reactive range for reactive products): a MW accepted from the
  group is shared across its units' buses in that proportion. A group bid counts for a need only
  when the need's location holds every bus of the group.
* **Prices**: activation products clear on the activation price, availability products on the
  availability price (€/MW/h, times the MTU duration like energy); availability-and-activation
  products clear on ``availability + share · activation`` (``share`` = the mean expected
  activation share of the needs of that product) and pay the availability price at clearing
  (activation is paid at activation). A need's cap is the matching cap (for the combined kind
  ``availability cap + share · activation cap`` when both are given, else no cap).
* **Unit capability**: per unit, direction, power type and MTU the accepted MW of all bids using
  the unit stay within its range (``Register.p_range_mw``; ``q_range_mvar`` for reactive
  products); a group's bid takes from each member its share of the group's range (the virtual
  bus's weights). Availability and activation bids in one clearing both count: one MW is not
  sold twice in one clearing (:mod:`flexcoord.clearing.capability`).
* **Reactive power**: a reactive product's bid injects Mvar (UP = more injection);
  ``q_mvar_per_mw`` of an active bid adds that many Mvar per MW of signed active change.
* **Interface constraints** of the grid constraints (e.g. a DSO area's PQ region at its coupling
  point, :meth:`~flexcoord.clearing.grid_constraints.GridConstraints.with_interface`) map to the
  problem's bus columns with the same weights as the PTDF rows.
* **Implicit congestion management**: with grid constraints every monitored limit is soft and
  priced (:class:`~flexcoord.clearing.options.ClearingOptions`), so any bid - with or without a
  matching need - is accepted when it relieves a violation more cheaply than the penalty
  (redispatch). ``energy_balance=True`` adds counter-trading: accepted up and down active
  flexibility balance in every MTU.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from flexcoord.clearing.engine import AcChecker, clear_problem
from flexcoord.clearing.grid_constraints import GridConstraints
from flexcoord.clearing.mapping import GridMap, build_problem
from flexcoord.clearing.options import ClearingOptions
from flexcoord.clearing.problem import ClearingProblem
from flexcoord.clearing.result import ClearingResult
from flexcoord.domain import Bid, Need, Register, validate_market
from flexcoord.domain.bid_table import BidTable, bid_table

__all__ = ["AcCheckerFactory", "GridMap", "build_problem", "clear"]  # the last two: .mapping


@runtime_checkable
class AcCheckerFactory(Protocol):
    """Builds the :class:`~flexcoord.clearing.engine.AcChecker` of one mapped problem."""

    def checker_for(self, problem: ClearingProblem, grid_map: GridMap) -> AcChecker:
        """The checker taking ``problem``'s ``(n_bus, n_mtu)`` injections."""
        ...


def clear(
    register: Register,
    needs: Sequence[Need],
    bids: Sequence[Bid] | BidTable,
    grid_constraints: GridConstraints | None = None,
    options: ClearingOptions | None = None,
    *,
    gate_closure_at: datetime | None = None,
    ac_checker: AcChecker | AcCheckerFactory | None = None,
    energy_balance: bool = False,
    require_prequalification: bool = False,
) -> ClearingResult:
    """Validate, map and clear one market; the one domain-level entry point.

    Args:
        register: products, units, groups, areas (e.g. ``build_portfolio(grid)`` plus products).
        needs: the explicit needs (may be empty: pure congestion management / redispatch).
        bids: the bids.
        grid_constraints: monitored branches and voltages with their base case
            (:func:`~flexcoord.clearing.grid_constraints.grid_constraints`); ``None`` clears
            without a grid (needs by location only).
        options: pricing, penalties, solver and AC-loop settings (``ac_max_iterations``).
        gate_closure_at: market gate closure; bids submitted later are input errors.
        ac_checker: an AC check of the cleared dispatch: an ``AcChecker`` over the problem's
            buses, or a factory such as :class:`flexcoord.clearing.ac.PgmAcCheck`.
        energy_balance: counter-trading - accepted up and down active MW balance per MTU.
        require_prequalification: missing product prequalification is an input error.

    Raises:
        InvalidInputError: every issue of the market, before anything is solved.

    Example (see ``tests/clearing/test_market.py`` for a complete market)::

        register = replace(build_portfolio(grid), products=(product,))
        gc = grid_constraints(grid, intervals=mtus, profile_start_step=96 * 150)
        result = clear(register, needs, bids, gc, ClearingOptions(ac_max_iterations=3),
                       ac_checker=PgmAcCheck(grid, gc))
    """
    # the bids read once, for the validation and the mapping
    table = bids if isinstance(bids, BidTable) else bid_table(bids)
    validate_market(
        register,
        needs,
        table,
        gate_closure_at=gate_closure_at,
        known_buses=(
            frozenset(grid_constraints.bus_ids.tolist()) if grid_constraints is not None else None
        ),
        require_prequalification=require_prequalification,
    )
    problem, grid_map = build_problem(
        register, needs, table, grid_constraints, energy_balance=energy_balance
    )
    checker: AcChecker | None
    if ac_checker is None:
        checker = None
    elif isinstance(ac_checker, AcCheckerFactory):
        checker = ac_checker.checker_for(problem, grid_map)
    else:
        checker = ac_checker
    return clear_problem(problem, options, ac_checker=checker)
