"""Money over years: the annuity of an investment and present values (``docs/planning.md``).

The annuity method compares a one-off investment with a yearly cost: an investment of ``C``
over ``n`` years at the weighted average cost of capital ``i`` costs
``C · i(1+i)ⁿ / ((1+i)ⁿ − 1)`` a year (``C / n`` at ``i = 0``), plus its yearly OPEX.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["annual_cost_eur", "annuity_factor", "present_value_eur"]


def annuity_factor(wacc: float, lifetime_years: int) -> float:
    """The share of an investment paid each year over its lifetime at ``wacc``.

    Example:
        >>> round(annuity_factor(0.05, 40), 6), annuity_factor(0.0, 40)
        (0.058278, 0.025)
    """
    if wacc == 0:
        return 1.0 / lifetime_years
    growth = (1.0 + wacc) ** lifetime_years
    return wacc * growth / (growth - 1.0)


def annual_cost_eur(
    capex_eur: float, *, wacc: float, lifetime_years: int, opex_share: float
) -> float:
    """The yearly cost of an investment: its annuity plus OPEX (``opex_share`` × CAPEX).

    Example:
        >>> round(annual_cost_eur(100_000, wacc=0.05, lifetime_years=40, opex_share=0.01), 2)
        6827.82
    """
    return capex_eur * (annuity_factor(wacc, lifetime_years) + opex_share)


def present_value_eur(by_year: Mapping[int, float], *, base_year: int, wacc: float) -> float:
    """The value in ``base_year`` of yearly amounts, each discounted from its year:
    ``amount / (1 + wacc)^(year − base_year)``.

    Example:
        >>> round(present_value_eur({2026: 100.0, 2027: 105.0}, base_year=2026, wacc=0.05), 6)
        200.0
    """
    return sum(v / (1.0 + wacc) ** (y - base_year) for y, v in by_year.items())
