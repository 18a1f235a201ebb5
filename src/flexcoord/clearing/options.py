"""Options of one clearing: pricing rule, penalties, solver settings. Frozen; no global defaults."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from flexcoord.domain.validation import IssueCollector

__all__ = ["ClearingOptions", "PricingRule"]


class PricingRule(StrEnum):
    """How accepted bids are paid.

    * ``PAY_AS_BID``: each accepted bid-slot is paid its own (payment) price.
    * ``PAY_AS_CLEARED``: one price per need and MTU, the merit-order price of the most expensive
      accepted bid-slot serving that need (the *marginal accepted bid*, not a dual, so it is defined
      for MILP clearings too and never below an accepted bid). A slot serving several needs is paid
      the highest of their prices; a slot serving no need (pure redispatch) is paid as bid.
    * ``LOCATIONAL``: the locational marginal price of the slot's bus and MTU (from the duals of the
      LP, or of the LP with integers fixed for a MILP), never below the slot's own price
      (individual rationality; documented spread). Slots without a bus are paid as bid.
    """

    PAY_AS_BID = "pay-as-bid"
    PAY_AS_CLEARED = "pay-as-cleared"
    LOCATIONAL = "locational"


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearingOptions:
    """Options of one clearing.

    Penalties (documented, so a shortfall or an unrelievable violation is a priced value on the
    result, never an infeasible model):

    * shortfall of a need: its price cap (plus twice the tie-break, so a bid priced exactly at the
      cap is still accepted), or ``shortfall_penalty_eur_per_mwh`` (10,000 €/MWh) without a cap;
    * a branch flow above its limit: ``branch_penalty_eur_per_mwh`` (1,000,000 €/MWh);
    * a voltage outside its band: ``voltage_penalty_eur_per_pu_h`` (100,000,000 € per pu and hour,
      i.e. 1,000,000 € for 0.01 pu during one hour);
    * an energy imbalance under counter-trading: ``balance_penalty_eur_per_mwh`` (1,000,000 €/MWh);
    * an interface (injection) constraint exceeded: ``interface_penalty_eur_per_mwh`` per MW (or
      Mvar) and hour; ``None`` (default) takes the branch penalty
      (:attr:`interface_penalty`).

    Tie-break: ``tie_break_eur_per_mwh × (rank + 1) / n_bid`` is added to the merit-order price of
    the bid at position ``rank`` in the canonical order
    (:func:`flexcoord.clearing.problem.canonical`), so among equally priced bids the earlier
    submitted (then smaller id) wins. It is left out of every
    reported objective and price.

    Grid rows: with ``lazy_voltage_rows`` (default) the first solve has only the voltage rows of
    the (bus, MTU) pairs whose base voltage lies within ``voltage_screen_pu`` (0.01 pu) of a
    limit, with ``lazy_branch_rows`` (default) only the branch rows whose ``|base flow|`` reaches
    ``branch_screen`` (0.8) of the margined limit; rows the solution then breaks are added and
    the model solved again, until none is (:mod:`flexcoord.clearing.lazy_rows`; the same optimum
    as building every row, which setting the options to ``False`` does). A MILP that runs a
    branch and bound keeps every branch row (its incumbent within the gap would otherwise depend
    on the rows built).

    Example:
        >>> ClearingOptions(pricing=PricingRule.PAY_AS_CLEARED).mip_rel_gap
        0.001
    """

    pricing: PricingRule = PricingRule.PAY_AS_BID
    shortfall_penalty_eur_per_mwh: float = 1e4
    branch_penalty_eur_per_mwh: float = 1e6
    voltage_penalty_eur_per_pu_h: float = 1e8
    balance_penalty_eur_per_mwh: float = 1e6
    interface_penalty_eur_per_mwh: float | None = None
    tie_break_eur_per_mwh: float = 1e-4
    threads: int = 1
    time_limit_s: float = 60.0
    mip_rel_gap: float = 1e-3
    random_seed: int = 0
    milp_duals: bool = True
    explain: bool = True
    pass_names: bool = False
    tolerance_mw: float = 1e-6
    ac_max_iterations: int = 0
    ac_tolerance_mw: float = 1e-3
    ac_tolerance_pu: float = 1e-4
    lazy_voltage_rows: bool = True
    voltage_screen_pu: float = 0.01
    lazy_branch_rows: bool = True
    branch_screen: float = 0.8

    @property
    def interface_penalty(self) -> float:
        """The penalty of an interface constraint in €/MWh: the option, else the branch penalty."""
        value = self.interface_penalty_eur_per_mwh
        return self.branch_penalty_eur_per_mwh if value is None else value

    def __post_init__(self) -> None:
        c = IssueCollector("ClearingOptions", "options")
        try:  # a plain string ("pay-as-cleared") is the enum's value
            object.__setattr__(self, "pricing", PricingRule(self.pricing))
        except ValueError:
            c.add("pricing", self.pricing, f"must be one of {[str(r) for r in PricingRule]}")
        ip = self.interface_penalty_eur_per_mwh
        if ip is not None:
            c.check(
                math.isfinite(ip) and ip > 0,
                "interface_penalty_eur_per_mwh",
                ip,
                "must be a finite number > 0 (or None: the branch penalty)",
            )
        for name in (
            "shortfall_penalty_eur_per_mwh",
            "branch_penalty_eur_per_mwh",
            "voltage_penalty_eur_per_pu_h",
            "balance_penalty_eur_per_mwh",
            "time_limit_s",
            "tolerance_mw",
            "ac_tolerance_mw",
            "ac_tolerance_pu",
        ):
            value = getattr(self, name)
            c.check(math.isfinite(value) and value > 0, name, value, "must be a finite number > 0")
        screen = self.branch_screen
        c.check(
            math.isfinite(screen) and 0 <= screen <= 1,
            "branch_screen",
            screen,
            "must be a share in [0, 1]",
        )
        for name in ("voltage_screen_pu", "tie_break_eur_per_mwh"):
            value = getattr(self, name)
            c.check(
                math.isfinite(value) and value >= 0, name, value, "must be a finite number >= 0"
            )
        c.check(0.0 <= self.mip_rel_gap < 1.0, "mip_rel_gap", self.mip_rel_gap, "must be in [0, 1)")
        c.check(
            self.threads >= 1 and self.ac_max_iterations >= 0,
            "threads/ac_max_iterations",
            (self.threads, self.ac_max_iterations),
            "threads >= 1, ac_max_iterations >= 0",
        )
        c.raise_if_any()
