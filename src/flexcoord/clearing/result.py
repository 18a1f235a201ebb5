"""The frozen clearing result: awards, prices, need coverage, binding limits, reasons.

Arrays are kept per slot / need / branch (read-only numpy), and records (:class:`Award`,
:class:`Rejection`, ...) are built on demand, so a 100k-bid result costs no object per slot.

Canonical hash (the determinism contract, T6): SHA-256 of a compact JSON with sorted keys holding

* awards sorted by (bid id, MTU label): accepted kW, price in cents/MWh and payment in cents
  (all rounded half-to-even to integers);
* needs sorted by (need id, MTU): covered kW, shortfall kW, cleared price in cents/MWh;
* rejections sorted by bid id: the reason code;
* the objective in cents.

``objective_eur`` is the solver's objective without the tie-break; ``procurement_cost_eur`` and
``penalty_cost_eur`` are recomputed from the reported (rounded) quantities, so their sum may differ
from it by solver tolerances times the penalties.

Duals (locational prices) are left out unless the pricing rule is ``locational`` (then they are in
the award prices already), because a degenerate LP may have several valid duals.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from flexcoord.clearing.capability import capability_detail
from flexcoord.clearing.options import PricingRule
from flexcoord.clearing.problem import ClearingProblem, FloatArray, IntArray

__all__ = [
    "AcReport",
    "Award",
    "BindingConstraint",
    "ClearingResult",
    "Curtailment",
    "NeedCoverage",
    "Rejection",
    "RejectionReason",
    "SolverStats",
]


class RejectionReason(StrEnum):
    """Why a bid got nothing (first matching reason in this order)."""

    NO_QUANTITY = "no-quantity"
    PARENT_NOT_ACCEPTED = "parent-not-accepted"
    EXCLUDED_BY_XOR = "excluded-by-xor-member"
    PRICE_ABOVE_CAP = "price-above-cap"
    UNIT_CAPABILITY = "unit-capability"
    NO_MATCHING_NEED = "no-matching-need"
    GRID_LIMIT = "grid-limit"
    MINIMUM_ACCEPTANCE = "minimum-acceptance-or-indivisible"
    NEED_COVERED = "need-covered-by-cheaper-bids"
    NOT_ECONOMIC = "not-economic"


_REASONS = tuple(RejectionReason)
_DETAILS = {
    RejectionReason.NO_QUANTITY: "offers 0 MW",
    RejectionReason.PRICE_ABOVE_CAP: "price above the cap of every matching need",
    RejectionReason.NO_MATCHING_NEED: "no need at its location, direction, power type and MTUs",
    RejectionReason.MINIMUM_ACCEPTANCE: (
        "indivisible, block or minimum quantity larger than what the need can take"
    ),
    RejectionReason.NEED_COVERED: "the matching needs were covered by cheaper bids",
    RejectionReason.NOT_ECONOMIC: "accepting it would raise the total cost",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Award:
    """One accepted bid in one MTU."""

    bid_id: str
    mtu: str
    quantity_mw: float
    price_eur_per_mwh: float
    payment_eur: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejection:
    """A bid with nothing accepted, and why."""

    bid_id: str
    reason: RejectionReason
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Curtailment:
    """A bid accepted in one MTU, but less than offered because of a limit, and why.

    Only the unit-capability rule reports curtailments today (``reason`` is
    :attr:`RejectionReason.UNIT_CAPABILITY`): a bid cut because the need was covered, or by a grid
    limit, is not listed.
    """

    bid_id: str
    mtu: str
    offered_mw: float
    accepted_mw: float
    reason: RejectionReason
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NeedCoverage:
    """Coverage of one need in one MTU; a shortfall carries its price and reason."""

    need_id: str
    mtu: str
    required_mw: float
    covered_mw: float
    shortfall_mw: float
    cleared_price_eur_per_mwh: float
    marginal_price_eur_per_mwh: float
    shortfall_reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BindingConstraint:
    """A limit that binds (or is exceeded) at the optimum, in domain words.

    ``kind`` is ``"branch-flow"``, ``"voltage"`` or ``"interface"`` (a named interface
    constraint, e.g. one halfplane of a DSO area's PQ region; ``element`` is its name), or
    ``"unit-capability"`` (a unit fully sold in one direction: ``element`` is the unit id, with
    ``:q`` for its reactive capability, ``side`` the direction ``"up"``/``"down"``).
    """

    kind: str
    element: str
    side: str
    mtu: str
    dual_eur_per_unit: float
    violation: float
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SolverStats:
    """Sizes, status and the time of each stage (summed over the solves of a clearing with
    lazy grid rows; ``grid_rounds``: how many solves it took, sizes are the last one's)."""

    n_rows: int
    n_cols: int
    n_nonzeros: int
    n_integer: int
    status: str
    optimal: bool
    mip_gap: float
    simplex_iterations: int
    mip_nodes: int
    build_s: float
    solve_s: float
    duals_s: float
    extract_s: float
    grid_rounds: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class AcReport:
    """The AC re-check of the cleared dispatch (and of each re-linearised re-clearing).

    ``violations`` names the AC violations the linear clearing did not price (those caused by the
    linearisation error); ``converged`` is true when there are none. ``priced_residuals`` counts
    the (element, MTU) AC violations that the clearing priced as unrelievable residuals (e.g. a
    base-case overload no bid can relieve). ``max_*_violation`` cover both. The
    ``initial_linearisation_error_*`` are of the first clearing, before any re-clearing.
    """

    iterations: int
    converged: bool
    max_branch_violation_mw: float
    max_voltage_violation_pu: float
    linearisation_error_flow_mw: float
    linearisation_error_vm_pu: float
    initial_linearisation_error_flow_mw: float
    initial_linearisation_error_vm_pu: float
    violations: tuple[str, ...]
    priced_residuals: int = 0


def _empty_2d() -> FloatArray:
    return np.zeros((0, 0))


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearingResult:
    """The outcome of one clearing (see the module docstring for the canonical hash).

    ``interface_value`` is ``ic_p · p + ic_q · q`` of the accepted flexibility per interface
    constraint and MTU (``(n_interface, n_mtu)``, in the constraint's own unit: MW for a PQ-region
    halfplane), ``interface_violation`` how far it lies outside ``[ic_lower, ic_upper]``.
    ``slot_capability_ref`` is, per slot not fully accepted, ``c · n_mtu + t`` of the unit
    capability that is full (sold out) there, else -1.
    """

    problem: ClearingProblem
    pricing: PricingRule
    slot_accepted_mw: FloatArray
    slot_price_eur_per_mwh: FloatArray
    slot_payment_eur: FloatArray
    need_covered_mw: FloatArray
    need_shortfall_mw: FloatArray
    need_cleared_price_eur_per_mwh: FloatArray
    need_marginal_price_eur_per_mwh: FloatArray
    lmp_eur_per_mwh: FloatArray
    branch_flow_mw: FloatArray
    branch_violation_mw: FloatArray
    vm_pu: FloatArray
    voltage_violation_pu: FloatArray
    balance_violation_mw: FloatArray
    interface_value: FloatArray = field(default_factory=_empty_2d)
    interface_violation: FloatArray = field(default_factory=_empty_2d)
    slot_capability_ref: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    objective_eur: float
    procurement_cost_eur: float
    penalty_cost_eur: float
    binding: tuple[BindingConstraint, ...]
    rejection_code: NDArray[np.int8]
    rejection_ref: IntArray
    shortfall_reasons: tuple[str, ...]
    stats: SolverStats
    ac: AcReport | None = None

    def awards(self) -> tuple[Award, ...]:
        """Every accepted bid-slot, in canonical (bid, MTU) order."""
        p = self.problem
        acc = np.flatnonzero(self.slot_accepted_mw > 0)
        return tuple(
            Award(
                bid_id=p.bid_ids[int(p.slot_bid[s])],
                mtu=p.mtu_labels[int(p.slot_mtu[s])],
                quantity_mw=float(self.slot_accepted_mw[s]),
                price_eur_per_mwh=float(self.slot_price_eur_per_mwh[s]),
                payment_eur=float(self.slot_payment_eur[s]),
            )
            for s in acc
        )

    def accepted_mw_by_bid(self) -> dict[str, float]:
        """Total accepted MW (summed over MTUs) of every bid with something accepted."""
        p = self.problem
        tot = np.bincount(p.slot_bid, weights=self.slot_accepted_mw, minlength=p.n_bid)
        return {p.bid_ids[int(b)]: float(tot[b]) for b in np.flatnonzero(tot > 0)}

    def coverage(self) -> tuple[NeedCoverage, ...]:
        """Coverage of every need in every MTU with a required quantity."""
        p = self.problem
        out = []
        k = 0
        for n in range(p.n_need):
            for t in range(p.n_mtu):
                req = float(p.need_required_mw[n, t])
                if req <= 0:
                    continue
                short = float(self.need_shortfall_mw[n, t])
                reason = self.shortfall_reasons[k] if short > 0 else ""
                k += short > 0
                out.append(
                    NeedCoverage(
                        need_id=p.need_ids[n],
                        mtu=p.mtu_labels[t],
                        required_mw=req,
                        covered_mw=float(self.need_covered_mw[n, t]),
                        shortfall_mw=short,
                        cleared_price_eur_per_mwh=float(self.need_cleared_price_eur_per_mwh[n, t]),
                        marginal_price_eur_per_mwh=float(
                            self.need_marginal_price_eur_per_mwh[n, t]
                        ),
                        shortfall_reason=reason,
                    )
                )
        return tuple(out)

    def curtailments(self) -> tuple[Curtailment, ...]:
        """Every slot accepted in part because a unit capability is sold out, in slot order."""
        p = self.problem
        x = self.slot_accepted_mw
        ref = self.slot_capability_ref
        cut = np.flatnonzero((x > 0) & (ref >= 0)) if ref.size else np.zeros(0, np.int64)
        return tuple(
            Curtailment(
                bid_id=p.bid_ids[int(p.slot_bid[s])],
                mtu=p.mtu_labels[int(p.slot_mtu[s])],
                offered_mw=float(p.slot_quantity_mw[s]),
                accepted_mw=float(x[s]),
                reason=RejectionReason.UNIT_CAPABILITY,
                detail=capability_detail(p, x, int(ref[s]), int(p.slot_bid[s])),
            )
            for s in cut
        )

    def rejections(self) -> tuple[Rejection, ...]:
        """Every bid with nothing accepted, with its reason, in canonical bid order."""
        return tuple(self._rejection(int(b)) for b in np.flatnonzero(self.rejection_code >= 0))

    def rejection_of(self, bid_id: str) -> Rejection | None:
        """The rejection of ``bid_id``, or ``None`` when something of it was accepted."""
        b = self.problem.bid_ids.index(bid_id)
        return self._rejection(b) if self.rejection_code[b] >= 0 else None

    def _rejection(self, b: int) -> Rejection:
        p = self.problem
        reason = _REASONS[int(self.rejection_code[b])]
        ref = int(self.rejection_ref[b])
        if reason is RejectionReason.GRID_LIMIT:
            line, t = divmod(ref, p.n_mtu)
            if line < p.n_branch:
                side = "upper" if self.branch_flow_mw[line, t] > 0 else "lower"
                detail = f"{p.branch_names[line]} {side} limit at {p.mtu_labels[t]}"
            elif line >= p.n_branch + p.n_interface:
                v = line - p.n_branch - p.n_interface
                side = "upper" if self.vm_pu[v, t] >= p.vm_max_pu[v] - 1e-7 else "lower"
                detail = f"{p.vbus_names[v]} voltage {side} limit at {p.mtu_labels[t]}"
            else:
                c = line - p.n_branch
                at_lower = self.interface_value[c, t] <= p.ic_lower[c, t] + 1e-6
                side = "lower" if at_lower else "upper"
                detail = f"interface constraint {p.ic_names[c]} {side} limit at {p.mtu_labels[t]}"
        elif reason is RejectionReason.UNIT_CAPABILITY:
            detail = capability_detail(p, self.slot_accepted_mw, ref, b)
        elif reason is RejectionReason.PARENT_NOT_ACCEPTED:
            detail = f"parent bid {p.bid_ids[ref]} not accepted"
        elif reason is RejectionReason.EXCLUDED_BY_XOR:
            detail = f"excluded by accepted XOR member {p.bid_ids[ref]}"
        else:
            detail = _DETAILS[reason]
        return Rejection(bid_id=p.bid_ids[b], reason=reason, detail=detail)

    def canonical_json(self) -> str:
        """The canonical JSON the hash is taken of (integer kW and cents)."""
        p = self.problem

        def kw(x: float) -> int:
            return int(np.rint(x * 1000.0))

        def ct(x: float) -> int | None:
            return None if not np.isfinite(x) else int(np.rint(x * 100.0))

        awards = sorted(
            (a.bid_id, a.mtu, kw(a.quantity_mw), ct(a.price_eur_per_mwh), ct(a.payment_eur))
            for a in self.awards()
            if kw(a.quantity_mw) > 0
        )
        needs = sorted(
            (
                p.need_ids[n],
                p.mtu_labels[t],
                kw(self.need_covered_mw[n, t]),
                kw(self.need_shortfall_mw[n, t]),
                ct(self.need_cleared_price_eur_per_mwh[n, t]),
            )
            for n in range(p.n_need)
            for t in range(p.n_mtu)
        )
        rejections = sorted((r.bid_id, str(r.reason)) for r in self.rejections())
        doc = {
            "awards": awards,
            "needs": needs,
            "rejections": rejections,
            "objective_cents": ct(self.objective_eur),
            "pricing": str(self.pricing),
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"))

    def canonical_hash(self) -> str:
        """SHA-256 (hex) of :meth:`canonical_json`.

        Example:
            >>> len(ClearingResult.canonical_hash.__doc__ or "") > 0
            True
        """
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()
