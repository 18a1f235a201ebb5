"""The pydantic models of a market file: shapes, types and bounds, nothing of business rules.

Every business rule (non-negative quantities, MTUs on the product grid, known units, gate closure,
XOR / link consistency) is the domain's, so a file and an API request fail with the same
:class:`~flexcoord.errors.InvalidInputError` issues. What the models do check is what the domain
cannot be handed safely: every time carries a UTC offset and lies in a sane range (stored in UTC),
numbers are finite, durations are bounded, and the file-wide options (voltage band, safety
margin, profile step, areas) are consistent before a solver ever sees them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Final, Literal, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from flexcoord.domain import Bid, Need, Product, Register, build_all, market_issues
from flexcoord.errors import InvalidInputError, Issue

__all__ = [
    "CSV_FILES",
    "MAX_DURATION_MINUTES",
    "OPTION_FIELDS",
    "BidModel",
    "LocationModel",
    "MarketFile",
    "NeedModel",
    "ProductModel",
    "QuantityModel",
]

T = TypeVar("T")

#: Longest duration a product field may give (366 days, in minutes).
MAX_DURATION_MINUTES: Final = 366 * 24 * 60
#: Times outside these years are refused (far outside any market; UTC arithmetic would overflow).
_YEARS: Final = (1900, 2200)
#: Largest bus index or SimBench profile step (fits the int32 / int64 arrays of the grid code).
_MAX_INDEX: Final = 2**31 - 1
#: The FSP of a bid that names none and whose resource is unknown (its issue is the resource's).
_UNKNOWN_FSP: Final = "unknown-fsp"
#: The CSV file of each section of a CSV folder.
CSV_FILES: Final = {"products": "products.csv", "needs": "needs.csv", "bids": "bids.csv"}
#: The file-wide options: top-level JSON fields besides the sections; ``market.toml`` keys.
OPTION_FIELDS: Final = (
    "gate_closure_at",
    "profile_start_step",
    "areas",
    "safety_margin",
    "vm_min_pu",
    "vm_max_pu",
)


def _utc(value: datetime) -> datetime:
    low, high = _YEARS
    if not low <= value.year <= high:
        raise PydanticCustomError(
            "time_range",
            "must lie in the years {low} to {high}",
            {
                "low": low,
                "high": high,
            },
        )
    return value.astimezone(UTC)


def _non_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must be a non-empty id")
    return value


#: An ISO 8601 time with a UTC offset, stored in UTC.
UtcTime = Annotated[AwareDatetime, AfterValidator(_utc)]
Minutes = Annotated[int, Field(ge=0, le=MAX_DURATION_MINUTES)]
AreaId = Annotated[str, AfterValidator(_non_blank)]
BusId = Annotated[int, Field(ge=0, le=_MAX_INDEX)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class QuantityModel(_Model):
    """One MTU: ``[start, end)`` (ISO 8601 with offset) and a quantity (MW or Mvar)."""

    start: UtcTime
    end: UtcTime
    quantity: float


class LocationModel(_Model):
    """Where a need applies: ``buses`` (``bus_ids``), ``area`` (``area_id``) or
    ``coupling_point`` (``coupling_point_id``)."""

    kind: Literal["buses", "area", "coupling_point"]
    bus_ids: list[BusId] = Field(default_factory=list)
    area_id: str | None = None
    coupling_point_id: str | None = None


class ProductModel(_Model):
    """A product; durations in minutes."""

    id: str
    power_type: Literal["active", "reactive"] = "active"
    kind: Literal["availability", "activation", "availability_and_activation"] = "activation"
    timeframe: Literal["long_term", "day_ahead", "intraday", "near_real_time"] = "day_ahead"
    resolution_minutes: Minutes = 15
    duration_minutes: Minutes | None = None
    min_quantity: float = 0.0
    lead_time_minutes: Minutes = 0
    gate_closure_before_delivery_minutes: Minutes = 0

    def to_domain(self) -> Product:
        """The domain :class:`~flexcoord.domain.Product` (validated by its constructor)."""
        return Product(
            id=self.id,
            power_type=self.power_type,  # type: ignore[arg-type]
            kind=self.kind,  # type: ignore[arg-type]
            timeframe=self.timeframe,  # type: ignore[arg-type]
            resolution=timedelta(minutes=self.resolution_minutes),
            duration=timedelta(minutes=self.duration_minutes or self.resolution_minutes),
            min_quantity=self.min_quantity,
            lead_time=timedelta(minutes=self.lead_time_minutes),
            gate_closure_before_delivery=timedelta(
                minutes=self.gate_closure_before_delivery_minutes
            ),
        )


class NeedModel(_Model):
    """A need (fields as :class:`~flexcoord.domain.Need`)."""

    id: str
    buyer_id: str
    product_id: str
    location: LocationModel
    direction: Literal["up", "down"]
    created_at: UtcTime
    quantities: list[QuantityModel]
    activation_price_cap_eur_per_mwh: float | None = None
    availability_price_cap_eur_per_mw_h: float | None = None
    expected_activation_share: float | None = None

    def row(self) -> dict[str, Any]:
        """Constructor keywords of the domain need."""
        data = self.model_dump()
        loc = data["location"]
        data["location"] = {
            "kind": loc["kind"],
            **({"bus_ids": frozenset(loc["bus_ids"])} if loc["kind"] == "buses" else {}),
            **({"area_id": loc["area_id"]} if loc["kind"] == "area" else {}),
            **(
                {"coupling_point_id": loc["coupling_point_id"]}
                if loc["kind"] == "coupling_point"
                else {}
            ),
        }
        return data


class BidModel(_Model):
    """A bid (fields as :class:`~flexcoord.domain.Bid`); ``fsp_id`` defaults to the owner of the
    resource in the register."""

    id: str
    fsp_id: str | None = None
    resource_id: str
    product_id: str
    direction: Literal["up", "down"]
    submitted_at: UtcTime
    quantities: list[QuantityModel]
    availability_price_eur_per_mw_h: float | None = None
    activation_price_eur_per_mwh: float | None = None
    divisible: bool = True
    min_acceptance: float | None = None
    exclusive_set: str | None = None
    parent_bid_id: str | None = None
    block: bool = False
    q_mvar_per_mw: float | None = None

    def row(self, register: Register) -> dict[str, Any]:
        """Constructor keywords of the domain bid (the FSP filled in from the register)."""
        data = self.model_dump()
        if data["fsp_id"] is None:
            known = register.has("units", self.resource_id) or register.has(
                "groups", self.resource_id
            )
            data["fsp_id"] = register.resource(self.resource_id).fsp_id if known else _UNKNOWN_FSP
        return data


class MarketFile(_Model):
    """A whole market: products, needs, bids, and the file-wide options of clearing it on a grid.

    The options: ``gate_closure_at`` (market gate closure), ``profile_start_step`` (SimBench
    profile step of the first MTU, >= 0; else the grid's snapshot), ``areas`` (monitored areas,
    at least one; else the whole grid), ``safety_margin`` (share of every branch limit kept free,
    in [0, 1)), ``vm_min_pu`` / ``vm_max_pu`` (voltage band of every monitored bus, > 0, min below
    max; else the buses' own limits).
    """

    products: list[ProductModel] = Field(default_factory=list)
    needs: list[NeedModel] = Field(default_factory=list)
    bids: list[BidModel] = Field(default_factory=list)
    gate_closure_at: UtcTime | None = None
    profile_start_step: Annotated[int, Field(ge=0, le=_MAX_INDEX)] | None = None
    areas: Annotated[list[AreaId], Field(min_length=1)] | None = None
    safety_margin: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    vm_min_pu: Annotated[float, Field(gt=0.0)] | None = None
    vm_max_pu: Annotated[float, Field(gt=0.0)] | None = None

    @model_validator(mode="after")
    def _voltage_band(self) -> MarketFile:
        low, high = self.vm_min_pu, self.vm_max_pu
        if low is not None and high is not None and not low < high:
            raise PydanticCustomError(
                "voltage_band",
                "must be below vm_max_pu={high}",
                {"high": high, "field": "vm_min_pu", "value": low},
            )
        return self

    def to_domain(
        self, register: Register, *, source: str | Path | None = None
    ) -> tuple[Register, tuple[Need, ...], tuple[Bid, ...]]:
        """The register with the file's products added, and the domain needs and bids.

        Args:
            register: The register the file's bids and needs refer to (e.g. a grid portfolio).
            source: The path the file was loaded from: every issue then names it (for a CSV
                folder, the CSV file of the object).

        Raises:
            InvalidInputError: every constructor issue of every product, need and bid, and the
                market-level issues (unknown units, gate closure, links, ...) of the others.
        """
        issues: list[Issue] = []
        products = _build_each([p.to_domain for p in self.products], issues)
        needs = _build_each([_builder(Need, n.row()) for n in self.needs], issues)
        bids = _build_each([_builder(Bid, b.row(register)) for b in self.bids], issues)
        known = {p.id for p in products}
        merged = tuple(p for p in register.products if p.id not in known) + tuple(products)
        try:
            full = replace(register, products=merged)
        except InvalidInputError as err:  # e.g. two products of the file share an id
            issues += err.issues
            full = register
        issues += market_issues(full, needs, bids, gate_closure_at=self.gate_closure_at)
        issues = [i for i in issues if not (i.field == "fsp_id" and i.value == _UNKNOWN_FSP)]
        if issues:
            raise InvalidInputError(
                issues if source is None else [_attributed(i, Path(source)) for i in issues]
            )
        return full, needs, bids


def _builder(cls: type[T], row: dict[str, Any]) -> Callable[[], T]:
    return lambda: build_all(cls, [row])[0]


def _build_each(builders: list[Callable[[], T]], issues: list[Issue]) -> tuple[T, ...]:
    """Build each object; record the issues of those that fail."""
    built: list[T] = []
    for build in builders:
        try:
            built.append(build())
        except InvalidInputError as err:
            issues += err.issues
    return tuple(built)


def _attributed(issue: Issue, source: Path) -> Issue:
    """``issue`` naming the file its object came from: the JSON file, or the folder's CSV."""
    if not (source.is_dir() or source.suffix.lower() == ".csv"):
        return issue.at(str(source))
    folder = source if source.is_dir() else source.parent
    section = {"Product": "products", "Need": "needs", "Bid": "bids"}.get(issue.kind)
    return issue.at(str(folder / CSV_FILES[section]) if section else str(folder))
