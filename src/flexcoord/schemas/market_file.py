"""The market file: products, needs and bids as JSON or as a CSV folder (``docs/market-file.md``).

pydantic checks shapes and types only; every business rule (non-negative quantities, MTUs on the
product grid, known units, gate closure, XOR / link consistency) is the domain's, so a file and an
API request fail with the same :class:`~flexcoord.errors.InvalidInputError` issues. pydantic
errors are turned into issues too (kind = the model, object id = its ``id`` or position).

CSV: a folder holding ``products.csv``, ``needs.csv`` and ``bids.csv``; needs and bids have one row
per object × MTU (the object's columns repeated, rows of one id together, in time order), with
``start``, ``end``, ``quantity`` for the MTU; a need's location is ``location_kind`` plus
``location`` (bus ids separated by ``;``, an area id or a coupling point id). Empty cells are
unset.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flexcoord.domain import Bid, Need, Product, Register, build_all, market_issues
from flexcoord.errors import InvalidInputError, Issue

T = TypeVar("T")

__all__ = [
    "BidModel",
    "LocationModel",
    "MarketFile",
    "NeedModel",
    "ProductModel",
    "QuantityModel",
    "load_market_file",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QuantityModel(_Model):
    """One MTU: ``[start, end)`` (ISO 8601 with offset) and a quantity (MW or Mvar)."""

    start: datetime
    end: datetime
    quantity: float


class LocationModel(_Model):
    """Where a need applies: ``buses`` (``bus_ids``), ``area`` (``area_id``) or
    ``coupling_point`` (``coupling_point_id``)."""

    kind: Literal["buses", "area", "coupling_point"]
    bus_ids: list[int] = Field(default_factory=list)
    area_id: str | None = None
    coupling_point_id: str | None = None


class ProductModel(_Model):
    """A product; durations in minutes."""

    id: str
    power_type: Literal["active", "reactive"] = "active"
    kind: Literal["availability", "activation", "availability_and_activation"] = "activation"
    timeframe: Literal["long_term", "day_ahead", "intraday", "near_real_time"] = "day_ahead"
    resolution_minutes: int = 15
    duration_minutes: int | None = None
    min_quantity: float = 0.0
    lead_time_minutes: int = 0
    gate_closure_before_delivery_minutes: int = 0

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
    created_at: datetime
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
    submitted_at: datetime
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
            data["fsp_id"] = register.resource(self.resource_id).fsp_id if known else "unknown-fsp"
        return data


class MarketFile(_Model):
    """A whole market: products, needs, bids, and how to clear it on a grid."""

    products: list[ProductModel] = Field(default_factory=list)
    needs: list[NeedModel] = Field(default_factory=list)
    bids: list[BidModel] = Field(default_factory=list)
    gate_closure_at: datetime | None = None
    profile_start_step: int | None = None
    areas: list[str] | None = None
    safety_margin: float = 0.0
    vm_min_pu: float | None = None
    vm_max_pu: float | None = None

    def to_domain(self, register: Register) -> tuple[Register, tuple[Need, ...], tuple[Bid, ...]]:
        """The register with the file's products added, and the domain needs and bids.

        Raises:
            InvalidInputError: every constructor issue of every product, need and bid, together
                with the market-level issues (unknown units, gate closure, ...) of the others.
        """
        issues: list[Issue] = []
        products: list[Product] = []
        for p in self.products:
            try:
                products.append(p.to_domain())
            except InvalidInputError as err:
                issues += err.issues
        needs = _build_each(Need, [n.row() for n in self.needs], issues)
        bids = _build_each(Bid, [b.row(register) for b in self.bids], issues)
        known = {p.id for p in products}
        merged = tuple(p for p in register.products if p.id not in known) + tuple(products)
        full = replace(register, products=merged)
        if issues:
            # report the market-level issues of the objects that did build, in the same error
            issues += market_issues(full, needs, bids, gate_closure_at=self.gate_closure_at)
            raise InvalidInputError(issues)
        return full, needs, bids


def _build_each(cls: type[T], rows: list[dict[str, Any]], issues: list[Issue]) -> tuple[T, ...]:
    built: list[T] = []
    for row in rows:
        try:
            built += build_all(cls, [row])
        except InvalidInputError as err:
            issues += err.issues
    return tuple(built)


def _pydantic_issues(err: ValidationError, data: Any) -> list[Issue]:
    out = []
    for e in err.errors():
        loc = e["loc"]
        kind, object_id = "MarketFile", "file"
        if len(loc) >= 2 and loc[0] in ("products", "needs", "bids") and isinstance(loc[1], int):
            kind = str(loc[0])[:-1].capitalize()
            try:
                object_id = str(data[loc[0]][loc[1]].get("id", f"#{loc[1]}"))
            except (KeyError, IndexError, TypeError, AttributeError):
                object_id = f"#{loc[1]}"
            loc = loc[2:]
        out.append(
            Issue(
                kind=kind,
                object_id=object_id,
                field=".".join(str(x) for x in loc),
                value=e.get("input"),
                message=e["msg"],
            )
        )
    return out


def _file_issue(path: Path, message: str) -> InvalidInputError:
    return InvalidInputError(
        [
            Issue(
                kind="MarketFile",
                object_id=str(path),
                field="path",
                value=str(path),
                message=message,
            )
        ]
    )


def load_market_file(path: str | Path) -> MarketFile:
    """Read a market file: a ``.json`` file, or a folder (or one of its files) of CSVs.

    Raises:
        InvalidInputError: unreadable file, or shape / type issues (all of them).
    """
    path = Path(path)
    if not path.exists():
        raise _file_issue(path, "does not exist")
    if path.is_dir() or path.suffix.lower() == ".csv":
        folder = path if path.is_dir() else path.parent
        data: Any = _read_csv_folder(folder)
    else:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise _file_issue(path, f"is not readable JSON: {exc}") from None
    try:
        return MarketFile.model_validate(data)
    except ValidationError as err:
        raise InvalidInputError(_pydantic_issues(err, data)) from None


def _cells(row: dict[str, str]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k and v not in ("", None)}


def _grouped(rows: list[dict[str, str]], extra: str) -> list[dict[str, Any]]:
    objects: dict[str, dict[str, Any]] = {}
    for row in rows:
        cells = _cells(row)
        q = {k: cells.pop(k) for k in ("start", "end", "quantity") if k in cells}
        obj = objects.setdefault(str(cells.get("id")), {**cells, "quantities": []})
        obj["quantities"].append(q)
        if extra == "need" and "location_kind" in cells:
            kind = cells["location_kind"]
            value = cells.get("location", "")
            loc: dict[str, Any] = {"kind": kind}
            if kind == "buses":
                loc["bus_ids"] = [int(b) for b in str(value).split(";") if b.strip()]
            elif kind == "area":
                loc["area_id"] = value
            else:
                loc["coupling_point_id"] = value
            obj["location"] = loc
            obj.pop("location_kind", None)
    return list(objects.values())


def _read_csv_folder(folder: Path) -> dict[str, Any]:
    def read(name: str) -> list[dict[str, str]]:
        file = folder / name
        if not file.exists():
            return []
        with file.open(newline="") as fh:
            return list(csv.DictReader(fh))

    data: dict[str, Any] = {
        "products": [_cells(r) for r in read("products.csv")],
        "needs": _grouped(read("needs.csv"), "need"),
        "bids": _grouped(read("bids.csv"), "bid"),
    }
    if not (data["needs"] or data["bids"]):
        raise _file_issue(folder, "holds no needs.csv or bids.csv rows")
    return data
