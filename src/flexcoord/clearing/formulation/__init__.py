"""The clearing LP/MILP as scipy.sparse blocks, ready for ``highspy.HighsLp``.

Columns (in this order; every block is a contiguous range):

==================  ==========================================================================
``bid-accept``      acceptance ratio ``r`` in [0, 1] of one *acceptance unit*: a slot for an
                    ordinary bid, the whole bid for a block bid (one ratio across its MTUs).
                    Accepted MW of slot ``s`` = ``q_s · r``. Binary for indivisible bids.
``bid-minimum``     binary ``z`` per unit of a divisible bid with a minimum acceptance quantity:
                    ``ratio_min · z <= r <= z`` (``ratio_min = q_min / q``; for a block, ``q`` is
                    its largest MTU quantity).
``bid-select``      binary ``u`` per XOR member: ``r <= u`` for each of its units,
                    ``Σ u <= 1`` over the set (divisible members use the binary too, so at most
                    one member of a set is accepted at all).
``bid-parent``      ``ρ`` in [0, 1] per parent bid, ``ρ <= r`` for each parent unit; each unit of a
                    child has ``r_child <= ρ_parent``: a child's ratio never exceeds its parent's
                    lowest ratio, so a child is accepted only if its parent is (linear, no binary).
``injection-p/q``   free nodal injection per bus and MTU (only when grid rows - branch, voltage
                    or interface - exist).
``interface-flow``  free column per interface flow and MTU (a DSO area's ``P_if`` / ``Q_if``),
                    only when interface constraints exist and the problem names flows.
``need-shortfall``  ``[0, Q]`` per need and MTU, priced at the need's cap (see options).
``branch-over/under``, ``voltage-over/under``, ``interface-over/under``, ``balance-up/down``:
                    non-negative slacks of the soft grid limits, the interface constraints and
                    the counter-trading balance, priced by the options.
==================  ==========================================================================

Rows: ``need-cover`` (Σ eligible accepted MW + shortfall >= Q), the bid-structure rows above,
``nodal-p``/``nodal-q`` (injection = Σ signed accepted MW at the bus; an active slot with
``slot_q_mvar_per_mw = k`` also adds ``k`` × its signed MW to ``nodal-q``), ``branch-flow`` (ranged:
``-L' - f0 <= Σ PTDF · p - over + under <= L' - f0`` with ``L' = (1 - margin) · L``), ``voltage``
(ranged on ``dvm_dp · p + dvm_dq · q``), ``interface`` (ranged:
``ic_lower <= ic_p · p + ic_q · q + ic_flow · flow - over + under <= ic_upper``, one row per
named interface constraint and MTU), ``interface-flow-def`` (``flow - if_p · p - if_q · q = 0``
per interface flow and MTU), ``balance`` and ``unit-capability`` (hard, no slack:
``Σ weight · q_s · r <= cap_limit_mw`` per unit capability and MTU, named
``unit-capability[<unit>,<up|down>,<mtu>]``, emitted only where the offered quantities exceed the
capability; see :mod:`flexcoord.clearing.capability`).

Eligibility: a (need, slot) pair from the problem counts only when direction and power type match
and the slot's price does not exceed the need's cap. A slot counts fully for every need it is
eligible for (a MW at a bus helps each need located there).

Layout: :mod:`.blocks` holds the block kinds (:class:`BlockKind`, each knowing the entity its
members index) and the :class:`Formulation`; :mod:`.builder` the accumulator a build fills;
:mod:`.constraints` one ``define_<family>`` function per family, called by
:func:`build_formulation` in the order of the blocks.
"""

from __future__ import annotations

import numpy as np

from flexcoord.clearing.formulation.blocks import Block, BlockKind, EntityKind, Formulation
from flexcoord.clearing.formulation.builder import Builder
from flexcoord.clearing.formulation.constraints import (
    define_acceptance_units,
    define_balance,
    define_branch_flows,
    define_interfaces,
    define_links,
    define_minimum_acceptance,
    define_needs,
    define_nodal_injections,
    define_unit_capability,
    define_voltages,
    define_xor,
    eligible_pairs,
)
from flexcoord.clearing.options import ClearingOptions
from flexcoord.clearing.problem import BoolArray, ClearingProblem

__all__ = [
    "Block",
    "BlockKind",
    "EntityKind",
    "Formulation",
    "build_formulation",
    "eligible_pairs",
]


def build_formulation(
    problem: ClearingProblem,
    options: ClearingOptions,
    *,
    branch_rows: BoolArray | None = None,
    voltage_rows: BoolArray | None = None,
) -> Formulation:
    """Build the LP/MILP of ``problem`` (expected in canonical order) as CSC arrays.

    Vectorised over slots, MTUs and branches; no Python loop per bid or MTU. ``voltage_rows``
    (``(n_vbus, n_mtu)`` booleans, default all) keeps only the marked voltage rows, ``branch_rows``
    (``(n_branch, n_mtu)``) the marked branch rows.
    """
    p = problem
    b = Builder(n_mtu=p.n_mtu, n_bus=p.n_bus, mtu_duration_h=p.mtu_duration_h)
    units = define_acceptance_units(b, p, options)
    define_minimum_acceptance(b, p, units)
    define_xor(b, p, units)
    define_links(b, p, units)
    needs = define_needs(b, p, options, units)
    injections = define_nodal_injections(b, p, units)
    define_branch_flows(b, p, options, injections, branch_rows)
    define_voltages(b, p, options, injections, voltage_rows)
    define_interfaces(b, p, options, injections)
    define_balance(b, p, options, units)
    capability = define_unit_capability(b, p, units)
    col_cost, col_lower, col_upper, integrality = b.columns()
    row_lower, row_upper = b.row_bounds()
    tie_break_cost = np.zeros(b.n_col)
    tie_break_cost[units.start : units.start + units.size] = units.tie_break_cost
    return Formulation(
        problem=p,
        a_matrix=b.matrix(),
        col_cost=col_cost,
        col_lower=col_lower,
        col_upper=col_upper,
        row_lower=row_lower,
        row_upper=row_upper,
        integrality=integrality,
        col_blocks=b.col_blocks,
        row_blocks=b.row_blocks,
        slot_col=units.slot_col,
        tie_break_cost=tie_break_cost,
        eligible_need=needs.eligible_need,
        eligible_slot=needs.eligible_slot,
        shortfall_price_eur_per_mwh=needs.shortfall_price_eur_per_mwh,
        capability=capability,
    )
