"""Money: integer cents, half-to-even rounding, floats converted once, NaN and inf refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flexcoord.errors import InvalidInputError
from flexcoord.operations.money import Money, to_money, to_quantity, to_unit_price

euros = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize(
    ("x_eur", "cents"),
    [
        (2.675, 268),  # read as 2.675 (its repr), not the binary 2.67499…; 7 is odd: up
        (2.665, 266),  # 6 is even: down
        (0.125, 12),
        (0.135, 14),
        (-1.005, -100),
        (-1.015, -102),
        (1e-9, 0),
        (19.99, 1999),
        (3, 300),
    ],
)
def test_to_money_rounds_half_to_even_on_the_decimal_the_float_prints_as(
    x_eur: float, cents: int
) -> None:
    assert to_money(x_eur) == Money(cents=cents)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), True, "1.00", None])
def test_to_money_refuses_nan_inf_and_non_numbers_naming_the_field(bad: object) -> None:
    with pytest.raises(InvalidInputError) as err:
        to_money(bad)  # type: ignore[arg-type]
    assert err.value.issues[0].field == "x_eur"


def test_a_quantity_or_price_names_its_own_field_when_refused() -> None:
    with pytest.raises(InvalidInputError) as err:
        to_quantity(float("nan"), "quantity_mw")
    assert err.value.issues[0].field == "quantity_mw"
    with pytest.raises(InvalidInputError, match="bid_price"):
        to_unit_price(float("inf"), "bid_price")


@pytest.mark.parametrize("bad", [1.5, 2.0, True, Decimal("1"), "3"])
def test_money_holds_only_integer_cents_never_a_float(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="cents"):
        Money(cents=bad)  # type: ignore[arg-type]


def test_money_arithmetic_and_format() -> None:
    a, b = Money(cents=1050), Money(cents=-2075)
    assert a + b == Money(cents=-1025)
    assert a - b == Money(cents=3125)
    assert -b == Money(cents=2075)
    assert str(b) == "-20.75"
    assert str(Money(cents=-5)) == "-0.05"
    assert str(Money.zero()) == "0.00"
    assert b.eur == Decimal("-20.75")
    assert a > b
    assert Money.of(Decimal("0.005")) == Money.zero()
    assert Money.of(Decimal("0.015")) == Money(cents=2)
    with pytest.raises(TypeError):
        a + 1.0  # type: ignore[operator]
    with pytest.raises(InvalidInputError):
        Money.of(Decimal("NaN"))
    with pytest.raises(InvalidInputError):
        Money.of(1.5)  # type: ignore[arg-type]


@given(st.lists(euros, max_size=40))
def test_sums_of_money_are_exact_the_sum_of_the_cent_roundings(xs: list[float]) -> None:
    amounts = [to_money(x) for x in xs]
    total = Money.total(amounts)
    assert isinstance(total.cents, int)
    exact = sum((Decimal(repr(x)).quantize(Decimal("0.01")) for x in xs), Decimal(0))
    assert total.eur == exact
    assert Money.total(reversed(amounts)) == total


@given(euros)
def test_to_money_is_within_half_a_cent_and_round_trips_its_text(x: float) -> None:
    m = to_money(x)
    assert abs(m.eur - Decimal(repr(x))) <= Decimal("0.005")
    assert to_money(float(str(m))) == m


def test_magnitudes_beyond_the_bound_are_refused_and_those_within_stay_exact() -> None:
    with pytest.raises(InvalidInputError, match="at most"):
        to_money(1e13)
    with pytest.raises(InvalidInputError, match="at most"):
        to_quantity(1e300, "quantity_mw")
    with pytest.raises(InvalidInputError, match="at most"):
        Money.of(Decimal("1e100"))
    big = to_quantity(1e12) * to_quantity(1e12) * to_unit_price(-1e12)
    assert Money.of(big).cents == -(10**38)
    assert Money(cents=10**42).eur == Decimal(10**40)
