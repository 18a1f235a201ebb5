"""Forecast error per technology: seeded, autocorrelated, shrinking with the lead time.

:func:`forecast_profiles` turns the *realised* profiles of a day (what will happen) into the
forecast a market participant holds at a lead time (day ahead, intraday, near real time).

The model (choices documented here because no data source prescribes them):

- **Relative to the realised value.** The forecast of a value ``x_t`` is
  ``x_t · (1 + σ_L · z_t)``: ``σ`` is the relative (1 σ) error of the realised value, so PV has no
  error at night and a feeder's error scales with its output. The headline knob is PV's σ
  (``0.0 / 0.1 / 0.2``). ``σ = 0`` returns the realised input exactly (no draw is made).
- **Lead time.** ``σ_L = σ_DA · shrink[L]`` with the table :data:`DEFAULT_LEAD_SHRINK`
  (day ahead 1.0, intraday 0.5, near real time 0.25; our choice, in the range the literature on
  PV/load forecast skill over lead times gives).
- **Refinement, not a new draw.** The standardised errors are chained:
  ``z_DA``; ``z_ID = c · z_DA + √(1 − c²) · η_ID``; ``z_NRT = c · z_ID + √(1 − c²) · η_NRT``
  with ``c = lead_correlation`` (0.8): the intraday forecast corrects most of the day-ahead error
  and adds a small innovation, so a day-ahead and an intraday forecast of the same day agree in
  sign and shape. Each ``z`` has unit variance, so the error's σ is exactly ``σ_L``.
- **Within the day**, every ``z`` and ``η`` is an AR(1) series over the MTUs,
  ``z_t = ρ z_{t−1} + √(1 − ρ²) ε_t`` (``ρ = autocorrelation``, 0.9 per MTU: an error lasts a
  few hours, it is not white noise), stationary from the first MTU.
- **Across elements** of one technology (the columns of a ``(n_mtu, n_elem)`` array), a share
  ``spatial_correlation`` (0.7) of the variance is common to all of them (one weather, one
  forecast), the rest is each element's own: ``z = √r · z_common + √(1 − r) · z_own``.
- **Seeds.** Each (seed, day, technology, lead) has its own ``numpy`` generator from
  ``SeedSequence([seed, day_index, crc32(technology), lead code])``: adding a technology or
  changing one technology's σ leaves the other technologies' forecasts unchanged, and the same
  arguments give the same forecast. Element ``k``'s draws do not depend on how many elements
  follow it.
- **Physical clipping**: a forecast is never negative (no negative PV, wind, load, EV or heat-pump
  power; values are magnitudes) and, where ``capacity_mw`` is given, never above it.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from flexcoord.domain import Technology, Timeframe
from flexcoord.errors import InvalidInputError, Issue

__all__ = [
    "DEFAULT_LEAD_SHRINK",
    "DEFAULT_SIGMA_BY_TECHNOLOGY",
    "ForecastErrorSpec",
    "forecast_profiles",
]

FloatArray = NDArray[np.float64]

#: Relative day-ahead σ per technology (our choice): PV 10 %, wind 15 %, load 5 %, EV charging
#: 15 %, heat pumps 10 %.
DEFAULT_SIGMA_BY_TECHNOLOGY: Mapping[Technology, float] = {
    Technology.PV: 0.10,
    Technology.WIND: 0.15,
    Technology.GENERIC_LOAD: 0.05,
    Technology.EV_CHARGING: 0.15,
    Technology.HEAT_PUMP: 0.10,
}
#: σ at a lead time as a share of the day-ahead σ.
DEFAULT_LEAD_SHRINK: Mapping[Timeframe, float] = {
    Timeframe.DAY_AHEAD: 1.0,
    Timeframe.INTRADAY: 0.5,
    Timeframe.NEAR_REAL_TIME: 0.25,
}
_LEAD_ORDER = (Timeframe.DAY_AHEAD, Timeframe.INTRADAY, Timeframe.NEAR_REAL_TIME)
_LEAD_CODE = {Timeframe.DAY_AHEAD: 1, Timeframe.INTRADAY: 2, Timeframe.NEAR_REAL_TIME: 3}


def _issue(field_name: str, value: object, message: str) -> InvalidInputError:
    return InvalidInputError(
        [
            Issue(
                kind="ForecastErrorSpec",
                object_id="forecast_error",
                field=field_name,
                value=value,
                message=message,
            )
        ]
    )


def _unit_share(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= 1
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ForecastErrorSpec:
    """How wrong the forecasts are, per technology and lead time (see the module docstring).

    Attributes:
        sigma_by_technology: relative day-ahead σ (≥ 0) of the realised value, by technology
            (a :class:`~flexcoord.domain.Technology` or its value); a technology not named has
            no error.
        lead_shrink: σ at each lead time as a share of the day-ahead σ; must name day ahead,
            intraday and near real time, each in ``[0, 1]``, and not grow with a shorter lead.
        autocorrelation: AR(1) coefficient ρ of the error from one MTU to the next, in ``[0, 1)``.
        lead_correlation: correlation ``c`` of one lead's error with the previous lead's, in
            ``[0, 1]`` (1: the later forecast only scales the earlier error down).
        spatial_correlation: share of the error variance common to all elements of one
            technology, in ``[0, 1]``.

    Example:
        >>> spec = ForecastErrorSpec(sigma_by_technology={"pv": 0.2})
        >>> spec.sigma("pv", Timeframe.INTRADAY), spec.sigma("wind", Timeframe.DAY_AHEAD)
        (0.1, 0.0)
    """

    sigma_by_technology: Mapping[Technology, float] = field(
        default_factory=lambda: dict(DEFAULT_SIGMA_BY_TECHNOLOGY)
    )
    lead_shrink: Mapping[Timeframe, float] = field(
        default_factory=lambda: dict(DEFAULT_LEAD_SHRINK)
    )
    autocorrelation: float = 0.9
    lead_correlation: float = 0.8
    spatial_correlation: float = 0.7

    def __post_init__(self) -> None:
        issues: list[Issue] = []

        def add(name: str, value: object, message: str) -> None:
            issues.append(_issue(name, value, message).issues[0])

        sigmas: dict[Technology, float] = {}
        for tech, sigma in dict(self.sigma_by_technology).items():
            if tech not in set(Technology):
                add("sigma_by_technology", tech, "is not a technology")
            elif not (isinstance(sigma, int | float) and math.isfinite(sigma) and sigma >= 0):
                add(f"sigma_by_technology[{tech}]", sigma, "must be a finite number >= 0")
            else:
                sigmas[Technology(tech)] = float(sigma)
        shrink = {Timeframe(t): s for t, s in dict(self.lead_shrink).items() if t in set(Timeframe)}
        if set(shrink) != set(_LEAD_ORDER) or len(shrink) != len(dict(self.lead_shrink)):
            add(
                "lead_shrink",
                sorted(map(str, self.lead_shrink)),
                "must name exactly day_ahead, intraday and near_real_time",
            )
        elif not all(_unit_share(s) for s in shrink.values()):
            add("lead_shrink", dict(shrink), "must be numbers in [0, 1]")
        elif not shrink[_LEAD_ORDER[0]] >= shrink[_LEAD_ORDER[1]] >= shrink[_LEAD_ORDER[2]]:
            add("lead_shrink", dict(shrink), "must not grow as the lead time shortens")
        if not (_unit_share(self.autocorrelation) and self.autocorrelation < 1):
            add("autocorrelation", self.autocorrelation, "must be in [0, 1)")
        for name in ("lead_correlation", "spatial_correlation"):
            if not _unit_share(getattr(self, name)):
                add(name, getattr(self, name), "must be in [0, 1]")
        if issues:
            raise InvalidInputError(issues)
        object.__setattr__(self, "sigma_by_technology", sigmas)
        object.__setattr__(self, "lead_shrink", {t: float(s) for t, s in shrink.items()})

    def sigma(self, technology: Technology | str, lead: Timeframe) -> float:
        """The relative σ of ``technology``'s forecast at ``lead``."""
        day_ahead = self.sigma_by_technology.get(Technology(technology), 0.0)
        return day_ahead * self.lead_shrink[_lead(lead)]


def _lead(lead: object) -> Timeframe:
    if lead not in _LEAD_CODE:
        raise _issue("lead", lead, "must be day_ahead, intraday or near_real_time")
    return Timeframe(str(lead))


def _ar1(rng: np.random.Generator, n_series: int, n_mtu: int, rho: float) -> FloatArray:
    """``n_series`` stationary unit-variance AR(1) series of ``n_mtu`` steps, shape (n_series,
    n_mtu); series ``k`` uses the generator's numbers ``k·n_mtu … (k+1)·n_mtu − 1``."""
    eps = rng.standard_normal((n_series, n_mtu))
    out = np.empty_like(eps)
    out[:, 0] = eps[:, 0]
    scale = math.sqrt(1.0 - rho * rho)
    for t in range(1, n_mtu):
        out[:, t] = rho * out[:, t - 1] + scale * eps[:, t]
    return out


def _standard_error(  # noqa: PLR0913 - private: the draw's key, then its shape
    spec: ForecastErrorSpec,
    technology: Technology,
    lead: Timeframe,
    seed: int,
    day_index: int,
    shape: tuple[int, int],
) -> FloatArray:
    """The standardised error ``z`` of one technology at ``lead``, shape (n_mtu, n_elem)."""
    n_mtu, n_elem = shape
    r = spec.spatial_correlation
    c = spec.lead_correlation
    z: FloatArray | None = None
    for step in _LEAD_ORDER[: _LEAD_ORDER.index(lead) + 1]:
        key = [seed, day_index, zlib.crc32(str(technology).encode()), _LEAD_CODE[step]]
        rng = np.random.default_rng(np.random.SeedSequence(key))
        common = _ar1(rng, 1, n_mtu, spec.autocorrelation)
        own = _ar1(rng, n_elem, n_mtu, spec.autocorrelation)
        draw = (math.sqrt(r) * common + math.sqrt(1.0 - r) * own).T
        z = draw if z is None else c * z + math.sqrt(1.0 - c * c) * draw
    assert z is not None
    return z


def _check_array(technology: object, values: object) -> FloatArray:
    array = np.asarray(values, dtype=float)
    if array.ndim not in (1, 2) or array.shape[0] == 0:
        raise _issue(f"realised[{technology}]", array.shape, "must be (n_mtu,) or (n_mtu, n_elem)")
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise _issue(
            f"realised[{technology}]", float(np.nanmin(array)), "must be finite MW magnitudes >= 0"
        )
    return array


def forecast_profiles(  # noqa: PLR0913 - public: the profiles and spec, then the draw's key
    realised: Mapping[Technology | str, FloatArray],
    spec: ForecastErrorSpec,
    *,
    lead: Timeframe,
    seed: int,
    day_index: int,
    capacity_mw: Mapping[Technology | str, FloatArray | float] | None = None,
) -> dict[Technology, FloatArray]:
    """The forecast at ``lead`` of each technology's realised profile (see the module docstring).

    Args:
        realised: per technology, the realised MW magnitudes (≥ 0; consumption as a positive
            number), shape ``(n_mtu,)`` (one aggregate) or ``(n_mtu, n_elem)`` (one column per
            element).
        spec: the error model.
        lead: day ahead, intraday or near real time.
        seed: the study's seed (≥ 0).
        day_index: the day's number in the study (≥ 0); each day has its own draws.
        capacity_mw: optional upper bound per technology (a number or an array broadcastable to
            the profile, e.g. each PV system's installed capacity per column).

    Returns:
        Per technology, the forecast with the shape of its input.

    Raises:
        InvalidInputError: a bad shape, a negative or non-finite value, a bad lead, seed or day.

    Example:
        >>> pv = np.array([0.0, 0.5, 1.0, 0.5])
        >>> spec = ForecastErrorSpec(sigma_by_technology={"pv": 0.2})
        >>> f = forecast_profiles({"pv": pv}, spec, lead=Timeframe.DAY_AHEAD, seed=1, day_index=0)
        >>> float(f[Technology.PV][0]), bool(np.all(f[Technology.PV] >= 0))
        (0.0, True)
        >>> zero = ForecastErrorSpec(sigma_by_technology={"pv": 0.0})
        >>> forecast_profiles({"pv": pv}, zero, lead=Timeframe.DAY_AHEAD, seed=1,
        ...                   day_index=0)[Technology.PV].tolist()
        [0.0, 0.5, 1.0, 0.5]
    """
    lead = _lead(lead)
    for name, value in (("seed", seed), ("day_index", day_index)):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 0:
            raise _issue(name, value, "must be an integer >= 0")
    caps = {Technology(t): v for t, v in (capacity_mw or {}).items()}
    out: dict[Technology, FloatArray] = {}
    for tech_key, values in realised.items():
        if tech_key not in set(Technology):
            raise _issue("realised", tech_key, "is not a technology")
        technology = Technology(tech_key)
        array = _check_array(technology, values)
        sigma = spec.sigma(technology, lead)
        if sigma == 0.0:
            out[technology] = array.copy()
            continue
        matrix = array.reshape(array.shape[0], -1)
        z = _standard_error(spec, technology, lead, int(seed), int(day_index), matrix.shape)
        forecast = np.maximum(matrix * (1.0 + sigma * z), 0.0).reshape(array.shape)
        if technology in caps:
            forecast = np.minimum(forecast, np.asarray(caps[technology], dtype=float))
        out[technology] = forecast
    return out
