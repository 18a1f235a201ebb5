"""Money for settlement: integer euro cents, one rounding rule, floats converted once.

The engine (clearing, coordination) computes in floats; settlement must not. The rules:

* **Money is an integer number of euro cents** (:class:`Money`, ``cents: int``). Sums and
  differences are exact integer arithmetic; a float never re-enters (:class:`Money` refuses one).
* **One rounding rule**: :data:`ROUNDING` = ``ROUND_HALF_EVEN`` (banker's rounding), used for
  every rounding to the cent and to the :data:`QUANTUM` of a quantity or unit price.
* **Floats are converted once, at the boundary**: :func:`to_money` (€ → cents),
  :func:`to_quantity` (MW, MWh, h → :class:`~decimal.Decimal` with 6 decimals) and
  :func:`to_unit_price` (€/MWh, €/MW/h → ``Decimal`` with 6 decimals). A float is read as its
  shortest round-tripping decimal (``repr``): ``2.675`` is 2.675, not the binary
  2.67499999…, so ``to_money(2.675)`` is 2.68 (half to even).
* **An amount is rounded once**: :meth:`Money.of` rounds an exact ``Decimal`` product
  (quantity × unit price) to the cent.

NaN, infinities, bools and non-numbers raise :class:`~flexcoord.errors.InvalidInputError` naming
the field.

Example:
    >>> # 10.005 € and 0.25 h × 100.02 €/MW/h = 25.005 €: both halves round to even
    >>> a = to_money(10.005) + Money.of(to_quantity(0.25) * to_unit_price(100.02))
    >>> a, str(a), a.cents
    (Money(cents=3500), '35.00', 3500)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import Final

from flexcoord.errors import InvalidInputError, Issue

__all__ = [
    "CONTEXT",
    "MAX_MAGNITUDE",
    "QUANTUM",
    "ROUNDING",
    "Money",
    "to_money",
    "to_quantity",
    "to_unit_price",
]

#: The one rounding rule of settlement.
ROUNDING: Final = ROUND_HALF_EVEN
#: Resolution of quantities (MW, MWh, MW·h) and unit prices (€/MWh, €/MW/h): 6 decimals.
QUANTUM: Final = Decimal("0.000001")
_CENT: Final = Decimal("0.01")
#: Largest magnitude a float may have at the boundary (a quantity, a price, an amount in €).
MAX_MAGNITUDE: Final = 1e12
_MAX_EUR: Final = Decimal("1e40")  # any product of bounded figures is below it
#: The decimal context of settlement arithmetic: 60 significant digits (products of bounded
#: quantities and prices stay exact), half-to-even, invalid operations trapped.
CONTEXT: Final = Context(
    prec=60, rounding=ROUNDING, traps=[InvalidOperation, DivisionByZero, Overflow]
)


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class Money:
    """An amount of euros as an integer number of cents (may be negative).

    Example:
        >>> Money(cents=150) - Money(cents=200), -Money(cents=5), str(Money(cents=-7))
        (Money(cents=-50), Money(cents=-5), '-0.07')
        >>> Money.total([Money(cents=1), Money(cents=2)]).eur
        Decimal('0.03')
    """

    cents: int

    def __post_init__(self) -> None:
        if not isinstance(self.cents, int) or isinstance(self.cents, bool):
            raise InvalidInputError(
                [
                    Issue(
                        kind="Money",
                        object_id=repr(self.cents),
                        field="cents",
                        value=self.cents,
                        message="must be an int (use to_money for a float in euros)",
                    )
                ]
            )

    @classmethod
    def zero(cls) -> Money:
        """0.00 €."""
        return cls(cents=0)

    @classmethod
    def of(cls, eur: Decimal) -> Money:
        """An exact ``Decimal`` amount in euros, rounded to the cent (half to even)."""
        if not isinstance(eur, Decimal) or not eur.is_finite():
            raise _invalid("eur", eur, "must be a finite Decimal")
        if abs(eur) > _MAX_EUR:
            raise _invalid("eur", eur, f"must be at most {_MAX_EUR:.0e} in magnitude")
        with localcontext(CONTEXT):
            return cls(cents=int(eur.quantize(_CENT, rounding=ROUNDING).scaleb(2)))

    @classmethod
    def total(cls, amounts: Iterable[Money]) -> Money:
        """The exact sum of ``amounts`` (0.00 € for none)."""
        return cls(cents=sum(a.cents for a in amounts))

    @property
    def eur(self) -> Decimal:
        """The amount in euros, with exactly two decimals."""
        with localcontext(CONTEXT):
            return Decimal(self.cents).scaleb(-2).quantize(_CENT)

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(cents=self.cents + other.cents)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(cents=self.cents - other.cents)

    def __neg__(self) -> Money:
        return Money(cents=-self.cents)

    def __str__(self) -> str:
        """Fixed format: optional minus, euros, a point, two digits (``"-1234.50"``)."""
        return f"{self.eur:f}"


def _invalid(field: str, value: object, message: str) -> InvalidInputError:
    return InvalidInputError(
        [Issue(kind="Money", object_id=field, field=field, value=value, message=message)]
    )


def _decimal(x: float, field: str) -> Decimal:
    """The float's shortest round-tripping decimal; NaN, inf, bools, non-numbers and magnitudes
    above :data:`MAX_MAGNITUDE` refused."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise _invalid(field, x, "must be a real number")
    if not math.isfinite(x):
        raise _invalid(field, x, "must be a finite number")
    if abs(x) > MAX_MAGNITUDE:
        raise _invalid(field, x, f"must be at most {MAX_MAGNITUDE:.0e} in magnitude")
    return Decimal(repr(float(x))) if isinstance(x, float) else Decimal(x)


def _quantized(x: float, field: str, quantum: Decimal) -> Decimal:
    with localcontext(CONTEXT):
        return _decimal(x, field).quantize(quantum, rounding=ROUNDING)


def to_money(x_eur: float) -> Money:
    """An engine amount in euros (float) as :class:`Money`, rounded to the cent (half to even).

    Example:
        >>> to_money(2.675), to_money(0.125), to_money(-1.005)
        (Money(cents=268), Money(cents=12), Money(cents=-100))
        >>> to_money(float("nan"))
        Traceback (most recent call last):
        ...
        flexcoord.errors.InvalidInputError: 1 invalid input issue:
          - Money 'x_eur': x_eur=nan must be a finite number
    """
    with localcontext(CONTEXT):
        return Money(cents=int(_quantized(x_eur, "x_eur", _CENT).scaleb(2)))


def to_quantity(x: float, field: str = "quantity") -> Decimal:
    """A quantity (MW, MWh, h) as a ``Decimal`` rounded to 6 decimals (half to even).

    Example:
        >>> to_quantity(0.1 + 0.2)
        Decimal('0.300000')
    """
    return _quantized(x, field, QUANTUM)


def to_unit_price(x: float, field: str = "unit_price") -> Decimal:
    """A unit price (€/MWh, €/MW/h) as a ``Decimal`` rounded to 6 decimals (half to even).

    Example:
        >>> to_unit_price(120.5)
        Decimal('120.500000')
    """
    return _quantized(x, field, QUANTUM)
