"""The study file: one TOML (or YAML) file describing a simulation study (``docs/simulation.md``).

A study names the grid, the period, DER growth, forecast error, FSP behaviour, the schemes, the
seed and the outputs. :func:`load_study` reads it and checks every key *before anything runs*: a
bad file raises one :class:`~flexcoord.errors.InvalidInputError` listing every issue, each naming
the file and the key as the user wrote it (``forecast_error.pv must be >= 0``); unknown keys are
refused with the valid ones listed, so a typo is never silently ignored.

Example:
    >>> study = StudyFile.model_validate({"name": "w", "grid": "1-MV-rural--0-sw", "days": 2})
    >>> study.days, study.start.isoformat(), study.forecast_error.pv
    (2, '2026-06-01', 0.1)
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from flexcoord.schemas.options_file import load_options_file

__all__ = [
    "MAX_STUDY_DAYS",
    "BaselineSection",
    "CongestionSection",
    "ForecastErrorSection",
    "FspSection",
    "GrowthSection",
    "NeedsSection",
    "OutputsSection",
    "SettlementSection",
    "StudyFile",
    "load_study",
]

#: The longest study: one leap year of market days.
MAX_STUDY_DAYS: Final = 366
_MAX_STUDY_BYTES: Final = 1 << 20  # a study file is a page of options, not data


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class CongestionSection(_Section):
    """Congestion by design (as ``build_coordination_scenario``): the ``n_tso`` most loaded TSO
    branches get ``tso_tightening`` × their peak realised flow of the study period as limit, the
    ``n_dso`` most loaded DSO lines (with enough flexibility behind them) ``dso_tightening`` ×."""

    n_tso: int = Field(default=3, ge=0, le=50)
    n_dso: int = Field(default=3, ge=0, le=50)
    tso_tightening: float = Field(default=0.95, gt=0, le=2)
    dso_tightening: float = Field(default=0.85, gt=0, le=2)


class GrowthSection(_Section):
    """DER added to the grid's own (SimBench's scenario 0/1/2 is in the grid code, or the
    study's ``year`` sets it)."""

    batteries: int = Field(default=20, ge=0, le=100_000)
    ev_chargers: int = Field(default=200, ge=0, le=100_000)
    heat_pumps: int = Field(default=100, ge=0, le=100_000)


class ForecastErrorSection(_Section):
    """Relative 1-σ day-ahead forecast error per technology; intraday and near-real-time errors
    shrink from it (``simulation.forecast_error``). 0 everywhere is the perfect forecast."""

    pv: float = Field(default=0.1, ge=0, le=2)
    wind: float = Field(default=0.1, ge=0, le=2)
    load: float = Field(default=0.03, ge=0, le=2)
    ev: float = Field(default=0.1, ge=0, le=2)
    heat_pump: float = Field(default=0.05, ge=0, le=2)
    autocorrelation: float = Field(default=0.9, ge=0, lt=1)


class FspSection(_Section):
    """How FSPs (aggregators) pool units, price and deliver."""

    markup: float = Field(default=0.1, ge=0, le=10)
    units_per_aggregator: int = Field(default=25, ge=1, le=100_000)
    delivery_noise: float = Field(default=0.05, ge=0, le=1)
    failure_rate: float = Field(default=0.02, ge=0, le=1)
    sustain_h: float = Field(default=4.0, ge=0.25, le=24)


class NeedsSection(_Section):
    """The TSO's balancing requirement (the DSOs' and the TSO's congestion needs come from the
    forecast), whether the DSOs also buy for their forecast voltage problems and from how far
    beyond the band and the bus's level of the day (``dso_voltage_margin_pu``; see
    :mod:`flexcoord.simulation.voltage_needs`), and the buyers' price caps."""

    tso_balancing_mw: float = Field(default=8.0, ge=0, le=10_000)
    tso_price_cap_eur_per_mwh: float = Field(default=250.0, gt=0, le=100_000)
    dso_price_cap_eur_per_mwh: float = Field(default=400.0, gt=0, le=100_000)
    dso_voltage: bool = True
    dso_voltage_margin_pu: float = Field(default=0.01, ge=0, le=0.2)


class BaselineSection(_Section):
    """Which baseline verifies delivery, and the tolerance band of the verification."""

    method: Literal["declared_schedule", "x_of_y", "meter_before_after", "rolling_average"] = (
        "declared_schedule"
    )
    tolerance: float = Field(default=0.1, ge=0, le=1)


class SettlementSection(_Section):
    """Penalty for under-delivery: undelivered MWh × the bid's price × ``penalty_factor``."""

    penalty_factor: float = Field(default=1.5, ge=0, le=100)


class OutputsSection(_Section):
    """Where results go: tables (Parquet and/or CSV) and the HTML report."""

    folder: str = "flexcoord-study"
    formats: tuple[Literal["parquet", "csv"], ...] = ("parquet", "csv")
    report: bool = True

    @field_validator("folder")
    @classmethod
    def _folder(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a folder")
        return value


class StudyFile(_Section):
    """A study (module docstring). ``start`` is the first market day; its profiles are SimBench's
    of the same local day of 2016 (the profile year). ``schemes`` holds preset names, or
    ``["all"]`` for every preset of the seed. ``year`` (optional) builds the grid of that year
    from SimBench's scenarios (:func:`flexcoord.grid.growth.grid_of_year`): the grid code must
    then be of scenario 0; its range and the code are checked by
    :func:`flexcoord.simulation.study.check_study`."""

    name: str = Field(min_length=1, max_length=120)
    grid: str = Field(min_length=1, max_length=200)
    year: int | None = Field(default=None, strict=True)
    start: date = date(2026, 6, 1)
    days: int = Field(default=7, ge=1, le=MAX_STUDY_DAYS)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    schemes: tuple[str, ...] = ("all",)
    congestion: CongestionSection = CongestionSection()
    growth: GrowthSection = GrowthSection()
    forecast_error: ForecastErrorSection = ForecastErrorSection()
    fsp: FspSection = FspSection()
    needs: NeedsSection = NeedsSection()
    baseline: BaselineSection = BaselineSection()
    settlement: SettlementSection = SettlementSection()
    outputs: OutputsSection = OutputsSection()

    @field_validator("schemes")
    @classmethod
    def _schemes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError('must name at least one preset (or "all")')
        return value


def load_study(path: str | Path) -> StudyFile:
    """Read and check a study file (``.toml``, or ``.yaml``/``.yml`` with PyYAML installed).

    Raises:
        InvalidInputError: the file is missing, unreadable, not TOML/YAML, or any key is unknown,
            of the wrong type or out of range (all issues at once, each naming the key). Whether
            the grid code exists and the schemes are known presets is checked by the simulator
            before it loads the grid (:func:`flexcoord.simulation.study.check_study`).
    """
    return load_options_file(
        Path(path), StudyFile, max_bytes=_MAX_STUDY_BYTES, keys_hint="name, grid, ..."
    )
