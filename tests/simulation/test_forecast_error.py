"""Forecast error: seeded, exact at σ = 0, shrinking with the lead, each technology on its own."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexcoord.domain import Technology, Timeframe
from flexcoord.errors import InvalidInputError
from flexcoord.simulation.forecast_error import ForecastErrorSpec, forecast_profiles

DA, ID, NRT = Timeframe.DAY_AHEAD, Timeframe.INTRADAY, Timeframe.NEAR_REAL_TIME
N_MTU = 96
#: a PV day (bell from 06:00 to 20:00) and a flat load, both in MW
PV = np.clip(np.sin(np.linspace(-0.6, np.pi + 0.6, N_MTU)), 0.0, None)
LOAD = np.full(N_MTU, 2.0)


def _errors(spec: ForecastErrorSpec, lead: Timeframe, days: int) -> np.ndarray:
    """Relative errors of a constant load over ``days`` days, shape (days, n_mtu)."""
    return np.array(
        [
            forecast_profiles({"generic_load": LOAD}, spec, lead=lead, seed=3, day_index=d)[
                Technology.GENERIC_LOAD
            ]
            / LOAD
            - 1.0
            for d in range(days)
        ]
    )


@given(
    realised=st.lists(st.floats(0.0, 50.0), min_size=1, max_size=30),
    lead=st.sampled_from([DA, ID, NRT]),
    seed=st.integers(0, 2**32),
)
@settings(max_examples=50, deadline=None)
def test_sigma_zero_returns_exactly_the_realised_profile(
    realised: list[float], lead: Timeframe, seed: int
) -> None:
    spec = ForecastErrorSpec(sigma_by_technology={"pv": 0.0, "wind": 0.0})
    values = np.array(realised)
    out = forecast_profiles({"pv": values, "wind": values}, spec, lead=lead, seed=seed, day_index=0)
    assert np.array_equal(out[Technology.PV], values)
    assert np.array_equal(out[Technology.WIND], values)


def test_the_same_key_gives_the_same_forecast_and_another_day_another() -> None:
    spec = ForecastErrorSpec(sigma_by_technology={"pv": 0.2})
    one = forecast_profiles({"pv": PV}, spec, lead=DA, seed=7, day_index=4)[Technology.PV]
    again = forecast_profiles({"pv": PV}, spec, lead=DA, seed=7, day_index=4)[Technology.PV]
    other_day = forecast_profiles({"pv": PV}, spec, lead=DA, seed=7, day_index=5)[Technology.PV]
    other_seed = forecast_profiles({"pv": PV}, spec, lead=DA, seed=8, day_index=4)[Technology.PV]
    assert np.array_equal(one, again)
    assert not np.allclose(one, other_day)
    assert not np.allclose(one, other_seed)
    assert not np.allclose(one, PV)


def test_changing_or_adding_a_technology_leaves_the_others_unchanged() -> None:
    base = ForecastErrorSpec(sigma_by_technology={"pv": 0.1, "generic_load": 0.05})
    more = ForecastErrorSpec(sigma_by_technology={"pv": 0.3, "generic_load": 0.05, "wind": 0.2})
    a = forecast_profiles({"pv": PV, "generic_load": LOAD}, base, lead=ID, seed=1, day_index=2)
    b = forecast_profiles(
        {"pv": PV, "generic_load": LOAD, "wind": PV}, more, lead=ID, seed=1, day_index=2
    )
    assert np.array_equal(a[Technology.GENERIC_LOAD], b[Technology.GENERIC_LOAD])
    assert not np.allclose(a[Technology.PV], b[Technology.PV])


def test_error_std_matches_sigma_and_shrinks_from_day_ahead_to_intraday_to_near_real_time() -> None:
    spec = ForecastErrorSpec(sigma_by_technology={"generic_load": 0.1})
    std = {lead: float(_errors(spec, lead, 300).std()) for lead in (DA, ID, NRT)}
    assert std[DA] == pytest.approx(0.10, rel=0.1)
    assert std[ID] == pytest.approx(0.05, rel=0.1)
    assert std[NRT] == pytest.approx(0.025, rel=0.1)
    assert std[DA] > std[ID] > std[NRT]


def test_intraday_error_refines_the_day_ahead_error_rather_than_redrawing_it() -> None:
    spec = ForecastErrorSpec(sigma_by_technology={"generic_load": 0.1}, lead_correlation=0.8)
    da, intraday = _errors(spec, DA, 200).ravel(), _errors(spec, ID, 200).ravel()
    assert np.corrcoef(da, intraday)[0, 1] == pytest.approx(0.8, abs=0.05)
    independent = ForecastErrorSpec(sigma_by_technology={"generic_load": 0.1}, lead_correlation=0)
    da0, id0 = _errors(independent, DA, 200).ravel(), _errors(independent, ID, 200).ravel()
    assert abs(np.corrcoef(da0, id0)[0, 1]) < 0.05


def test_errors_are_autocorrelated_over_the_mtus_as_configured() -> None:
    for rho in (0.0, 0.9):
        spec = ForecastErrorSpec(sigma_by_technology={"generic_load": 0.1}, autocorrelation=rho)
        e = _errors(spec, DA, 300)
        lag1 = np.corrcoef(e[:, :-1].ravel(), e[:, 1:].ravel())[0, 1]
        assert lag1 == pytest.approx(rho, abs=0.05)


def test_elements_share_the_configured_part_of_the_error_and_keep_their_draws() -> None:
    spec = ForecastErrorSpec(sigma_by_technology={"pv": 0.1}, spatial_correlation=0.7)
    flat = np.ones((N_MTU, 3))
    errors = np.concatenate(
        [
            forecast_profiles({"pv": flat}, spec, lead=DA, seed=0, day_index=d)[Technology.PV] - 1
            for d in range(200)
        ]
    )
    assert np.corrcoef(errors[:, 0], errors[:, 1])[0, 1] == pytest.approx(0.7, abs=0.05)
    wider = forecast_profiles({"pv": np.ones((N_MTU, 5))}, spec, lead=DA, seed=0, day_index=0)
    narrow = forecast_profiles({"pv": flat}, spec, lead=DA, seed=0, day_index=0)
    assert np.array_equal(wider[Technology.PV][:, :3], narrow[Technology.PV])


@given(seed=st.integers(0, 10_000), sigma=st.floats(0.0, 2.0))
@settings(max_examples=40, deadline=None)
def test_forecasts_are_physical_never_negative_nor_above_capacity(seed: int, sigma: float) -> None:
    spec = ForecastErrorSpec(sigma_by_technology={"pv": sigma, "heat_pump": sigma})
    pv = np.column_stack([PV * 0.9, PV * 0.5])
    capacity = np.array([1.0, 0.6])
    out = forecast_profiles(
        {"pv": pv, "heat_pump": LOAD},
        spec,
        lead=DA,
        seed=seed,
        day_index=0,
        capacity_mw={"pv": capacity},
    )
    assert out[Technology.PV].shape == pv.shape
    assert np.all(out[Technology.PV] >= 0)
    assert np.all(out[Technology.PV] <= capacity)
    assert np.all(out[Technology.HEAT_PUMP] >= 0)
    assert np.all(out[Technology.PV][PV == 0] == 0)  # no PV error at night


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sigma_by_technology": {"pv": -0.1}}, "sigma_by_technology[pv]"),
        ({"sigma_by_technology": {"sunshine": 0.1}}, "sigma_by_technology"),
        ({"autocorrelation": 1.0}, "autocorrelation"),
        ({"lead_correlation": 1.5}, "lead_correlation"),
        ({"lead_shrink": {DA: 1.0, ID: 0.5}}, "lead_shrink"),
        ({"lead_shrink": {DA: 0.5, ID: 1.0, NRT: 0.2}}, "lead_shrink"),
    ],
)
def test_a_bad_spec_names_its_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        ForecastErrorSpec(**kwargs)  # type: ignore[arg-type]
    assert [i.field for i in err.value.issues] == [field]


@pytest.mark.parametrize(
    ("realised", "kwargs", "field"),
    [
        ({"pv": np.array([-1.0, 0.0])}, {}, "realised[pv]"),
        ({"pv": np.zeros((2, 2, 2))}, {}, "realised[pv]"),
        ({"pv": PV}, {"lead": Timeframe.LONG_TERM}, "lead"),
        ({"pv": PV}, {"seed": -1}, "seed"),
    ],
)
def test_bad_input_is_an_invalid_input_error_naming_the_field(
    realised: dict[str, np.ndarray], kwargs: dict[str, object], field: str
) -> None:
    arguments: dict[str, object] = {"lead": DA, "seed": 0, "day_index": 0} | kwargs
    with pytest.raises(InvalidInputError) as err:
        forecast_profiles(realised, ForecastErrorSpec(), **arguments)  # type: ignore[arg-type]
    assert err.value.issues[0].field == field
