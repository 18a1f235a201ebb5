"""The plan file: one TOML file describing a planning study, flexibility against reinforcement
over a growth path (``docs/planning.md``).

:func:`load_plan` reads it and checks every key before anything runs (as the study file:
unknown keys refused with the valid ones listed, each issue naming the file and the key).

Example:
    >>> plan = PlanFile.model_validate({"name": "p", "grid": "1-MV-rural--0-sw"})
    >>> plan.start_year, plan.horizon, plan.costs.mv_cable_rural_eur_per_km, plan.prices[0].name
    (2026, 2045, 80000.0, 'base')
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from flexcoord.schemas.options_file import load_options_file
from flexcoord.schemas.study import OutputsSection

__all__ = [
    "AdditionsSection",
    "CostsSection",
    "FlexibilitySection",
    "MarketSection",
    "PlanFile",
    "PlanOutputs",
    "PriceScenarioSection",
    "load_plan",
]

_MAX_PLAN_BYTES: Final = 1 << 20
_GROWTH_KEYS: Final = ("pv", "wind", "generic_load", "bess", "biomass", "hydro")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class CostsSection(_Section):
    """The reinforcement cost catalogue (``docs/planning.md`` gives each figure's source).

    Cables including earthwork and the transformers: dena-Verteilnetzstudie (Deutsche
    Energie-Agentur, "Ausbau- und Innovationsbedarf der Stromverteilnetze in Deutschland bis
    2030", 2012), the figures issue 11 quotes. Overhead lines, lifetimes, OPEX and WACC are
    flexcoord's assumptions, stated as such in ``docs/planning.md``; every figure is
    overridable.
    """

    lv_cable_rural_eur_per_km: float = Field(default=60_000.0, gt=0)
    lv_cable_urban_eur_per_km: float = Field(default=100_000.0, gt=0)
    mv_cable_rural_eur_per_km: float = Field(default=80_000.0, gt=0)
    mv_cable_urban_eur_per_km: float = Field(default=140_000.0, gt=0)
    hv_line_eur_per_km: float = Field(default=1_000_000.0, gt=0)
    mv_lv_transformer_eur: float = Field(default=10_000.0, gt=0)
    hv_mv_transformer_eur: float = Field(default=1_000_000.0, gt=0)
    cable_lifetime_years: int = Field(default=40, ge=1, le=100)
    transformer_lifetime_years: int = Field(default=40, ge=1, le=100)
    opex_share_per_year: float = Field(default=0.01, ge=0, le=0.5)
    wacc: float = Field(default=0.05, ge=0, le=0.5)
    area: Literal["rural", "urban", "auto"] = "auto"


class PriceScenarioSection(_Section):
    """A price scenario of the DER owner's opportunity cost (``docs/planning.md``)."""

    name: str = Field(min_length=1, max_length=60)
    retail_eur_per_mwh: float = Field(default=300.0, ge=0, le=10_000)
    feed_in_eur_per_mwh: float = Field(default=80.0, ge=0, le=10_000)
    load_shift_eur_per_mwh: float = Field(default=30.0, ge=0, le=10_000)


class FlexibilitySection(_Section):
    """TDFlex's rule-based local flexibility (``planning.local_flex``)."""

    pv_curtailment: bool = True
    ev_night_charging: bool = True
    heat_pump_shift: bool = True
    heat_pump_shift_h: float = Field(default=2.0, gt=0, le=12)
    bess: Literal["none", "excess", "schedule"] = "schedule"
    bess_charge_hours: tuple[int, int] = (13, 14)
    bess_discharge_hours: tuple[int, int] = (18, 20)
    ev_night_hours: tuple[int, int] = (23, 6)
    ev_evening_hours: tuple[int, int] = (16, 23)


class MarketSection(_Section):
    """Market-procured flexibility (``planning.market_flex``): the simulator's markets under
    ``preset`` on each overloaded line's violating days, in ``years`` (empty: every planned
    year) and for ``assets`` (empty: every overloaded line)."""

    preset: str = Field(min_length=1, max_length=80)
    years: tuple[int, ...] = ()
    assets: tuple[str, ...] = ()
    seed: int = Field(default=0, ge=0, le=2**32 - 1)


class AdditionsSection(_Section):
    """Explicit heat pumps and EV chargers: installed MW at some years."""

    heat_pump_mw: dict[int, float] = Field(default_factory=dict)
    ev_mw: dict[int, float] = Field(default_factory=dict)


class PlanOutputs(OutputsSection):
    """Where results go (as a study's, in another default folder)."""

    folder: str = "flexcoord-plan"


class PlanFile(_Section):
    """A planning study (module docstring): the grid (SimBench, scenario 0), the years
    ``start_year..horizon`` every ``step_years``, the growth (``growth.<technology>``: multipliers
    at some years; ``additions``: heat pumps and EV chargers), the flexibility rules, the price
    scenarios (the first is the base case), optionally the market that prices flexibility the
    second way, the cost catalogue and the outputs."""

    name: str = Field(min_length=1, max_length=120)
    grid: str = Field(min_length=1, max_length=200)
    start_year: int = Field(default=2026, ge=2016, le=2060, strict=True)
    horizon: int = Field(default=2045, ge=2016, le=2060, strict=True)
    step_years: int = Field(default=1, ge=1, le=10, strict=True)
    growth: dict[Literal[_GROWTH_KEYS], dict[int, float]] = Field(  # type: ignore[valid-type]
        default_factory=dict
    )
    additions: AdditionsSection = AdditionsSection()
    flexibility: FlexibilitySection = FlexibilitySection()
    prices: tuple[PriceScenarioSection, ...] = (PriceScenarioSection(name="base"),)
    market: MarketSection | None = None
    costs: CostsSection = CostsSection()
    outputs: PlanOutputs = PlanOutputs()

    @model_validator(mode="after")
    def _years(self) -> PlanFile:
        if self.horizon < self.start_year:
            raise ValueError(f"horizon {self.horizon} must not be before start_year")
        names = [p.name for p in self.prices]
        if not names:
            raise ValueError("prices must hold at least one scenario")
        if len(set(names)) != len(names):
            raise ValueError(f"prices: scenario names must be unique, got {names}")
        return self

    def years(self) -> tuple[int, ...]:
        """The planned years: ``start_year`` every ``step_years``, and ``horizon``."""
        years = list(range(self.start_year, self.horizon + 1, self.step_years))
        if years[-1] != self.horizon:
            years.append(self.horizon)
        return tuple(years)


def load_plan(path: str | Path) -> PlanFile:
    """Read and check a plan file.

    Raises:
        InvalidInputError: every issue of the file at once, each naming its key.
    """
    return load_options_file(
        Path(path),
        PlanFile,
        max_bytes=_MAX_PLAN_BYTES,
        keys_hint="name, grid, ...",
        file="plan file",
    )
