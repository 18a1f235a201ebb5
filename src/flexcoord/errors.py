"""The exceptions flexcoord raises.

One root, :class:`FlexcoordError`; each subclass also inherits the builtin that fits it, so callers
can catch ``ValueError`` or ``LookupError`` without knowing flexcoord. Messages name the object id,
the field and the offending value.

Expected market outcomes (a need not covered, a bid rejected by the grid) are never exceptions: they
are values on the result, with a reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "FlexcoordError",
    "GridError",
    "InvalidInputError",
    "Issue",
    "NotFoundError",
    "SolverError",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Issue:
    """One problem found in the input: which object, which field, which value, and why.

    Example:
        >>> print(Issue(kind="Bid", object_id="b1", field="quantity", value=-1.0,
        ...             message="must be >= 0"))
        Bid 'b1': quantity=-1.0 must be >= 0
    """

    kind: str
    object_id: str
    field: str
    value: object
    message: str

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id!r}: {self.field}={self.value!r} {self.message}"


class FlexcoordError(Exception):
    """Root of every exception flexcoord raises on purpose."""


class InvalidInputError(FlexcoordError, ValueError):
    """Input that breaks a contract. Carries every issue found, not only the first.

    Example:
        >>> err = InvalidInputError([Issue(kind="Unit", object_id="u1", field="p_max_mw",
        ...                                value=float("nan"), message="must be a finite number")])
        >>> print(err)
        1 invalid input issue:
          - Unit 'u1': p_max_mw=nan must be a finite number
    """

    def __init__(self, issues: Sequence[Issue] | Iterable[Issue]) -> None:
        self.issues: tuple[Issue, ...] = tuple(issues)
        if not self.issues:
            raise ValueError("InvalidInputError needs at least one issue")
        n = len(self.issues)
        lines = [f"{n} invalid input issue{'s' if n != 1 else ''}:"]
        lines += [f"  - {issue}" for issue in self.issues]
        super().__init__("\n".join(lines))


class NotFoundError(FlexcoordError, LookupError):
    """A referenced object (grid code, bus, unit, product, ...) does not exist."""


class GridError(FlexcoordError, ValueError):
    """A grid that cannot be used as asked: islanded buses, a power flow that does not converge."""


class SolverError(FlexcoordError, RuntimeError):
    """The optimisation solver failed for a reason that is not a market outcome."""
