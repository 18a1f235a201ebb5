"""The flexibility register: every actor, resource, product and prequalification, cross-checked.

A :class:`Register` is built once from its objects; it checks every reference between them
(and the group rules of :mod:`flexcoord.domain.resources`) at construction and raises one
:class:`~flexcoord.errors.InvalidInputError` with all issues, so a register that exists is
consistent. Lookups raise :class:`~flexcoord.errors.NotFoundError`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from flexcoord.domain.actors import (
    FlexibilityServiceProvider,
    GridArea,
    MarketOperator,
    SystemOperator,
)
from flexcoord.domain.prequalification import GridPrequalification, ProductPrequalification
from flexcoord.domain.products import Product
from flexcoord.domain.resources import ConnectionPoint, Group, Resource, Unit
from flexcoord.domain.validation import IssueCollector, set_field
from flexcoord.domain.vocabulary import OperatorRole, PrequalificationScope
from flexcoord.errors import InvalidInputError, Issue, NotFoundError

__all__ = ["Register"]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

_COLLECTIONS: tuple[tuple[str, type], ...] = (
    ("operators", SystemOperator),
    ("areas", GridArea),
    ("fsps", FlexibilityServiceProvider),
    ("market_operators", MarketOperator),
    ("connection_points", ConnectionPoint),
    ("units", Unit),
    ("groups", Group),
    ("products", Product),
    ("product_prequalifications", ProductPrequalification),
    ("grid_prequalifications", GridPrequalification),
)
#: Collections that share one id space (an id names one object across the whole space).
_ID_SPACES: tuple[tuple[str, ...], ...] = (
    ("operators", "fsps", "market_operators"),
    ("areas",),
    ("connection_points",),
    ("units", "groups"),
    ("products",),
    ("product_prequalifications", "grid_prequalifications"),
)


def _index(items: Iterable[T]) -> dict[str, T]:
    return {item.id: item for item in items}  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True, kw_only=True)
class Register:
    """All registered objects of a market, with their cross-references checked.

    Attributes:
        operators: System operators (TSOs, DSOs).
        areas: Grid areas of the operators.
        fsps: Flexibility service providers.
        market_operators: Market operators.
        connection_points: Connection points of the units.
        units: Service-providing units.
        groups: Service-providing groups.
        products: Products traded.
        product_prequalifications: Product prequalification records.
        grid_prequalifications: Grid prequalification records.

    Example:
        >>> from flexcoord.domain import (ConnectionPoint, FlexibilityServiceProvider, GridArea,
        ...                               Group, SystemOperator, Unit)
        >>> reg = Register(
        ...     operators=[SystemOperator(id="dso", name="DSO", role="dso")],
        ...     areas=[GridArea(id="mv", operator_id="dso", bus_ids={1, 2},
        ...                     coupling_point_ids={"trafo:0"})],
        ...     fsps=[FlexibilityServiceProvider(id="f", name="F")],
        ...     connection_points=[ConnectionPoint(id=f"cp{b}", bus=b, area_id="mv",
        ...                                        coupling_point_id="trafo:0") for b in (1, 2)],
        ...     units=[Unit(id=f"u{b}", fsp_id="f", connection_point_id=f"cp{b}",
        ...                 technology="pv", p_min_mw=0, p_max_mw=0.5) for b in (1, 2)],
        ...     groups=[Group(id="g", fsp_id="f", unit_ids=("u1", "u2"))])
        >>> reg.coupling_point_of("g"), sorted(reg.buses_of("g"))
        ('trafo:0', [1, 2])
    """

    operators: tuple[SystemOperator, ...] = ()
    areas: tuple[GridArea, ...] = ()
    fsps: tuple[FlexibilityServiceProvider, ...] = ()
    market_operators: tuple[MarketOperator, ...] = ()
    connection_points: tuple[ConnectionPoint, ...] = ()
    units: tuple[Unit, ...] = ()
    groups: tuple[Group, ...] = ()
    products: tuple[Product, ...] = ()
    product_prequalifications: tuple[ProductPrequalification, ...] = ()
    grid_prequalifications: tuple[GridPrequalification, ...] = ()
    _by_id: dict[str, dict[str, Any]] = field(init=False, repr=False, compare=False)
    _group_of_unit: dict[str, str] = field(init=False, repr=False, compare=False)
    _units_of: dict[str, tuple[Unit, ...]] = field(init=False, repr=False, compare=False)
    _derived: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        c = IssueCollector("Register", "register")
        for name, cls in _COLLECTIONS:
            items = tuple(c.collection(name, getattr(self, name)))
            for item in items:
                c.check(isinstance(item, cls), name, item, f"must hold only {cls.__name__} objects")
            set_field(self, name, items)
        c.raise_if_any()
        set_field(self, "_by_id", {name: _index(getattr(self, name)) for name, _ in _COLLECTIONS})
        group_of_unit: dict[str, str] = {}
        for group in self.groups:
            for unit_id in group.unit_ids:
                group_of_unit.setdefault(unit_id, group.id)
        set_field(self, "_group_of_unit", group_of_unit)
        set_field(self, "_units_of", {})  # memo of units_of (the register is frozen)
        set_field(self, "_derived", {})
        issues = register_issues(self)
        if issues:
            raise InvalidInputError(issues)

    # --- lookups -------------------------------------------------------------------------------

    def _get(self, collection: str, kind: str, object_id: str) -> Any:
        try:
            return self._by_id[collection][object_id]
        except KeyError:
            raise NotFoundError(f"{kind} {object_id!r} is not registered") from None

    def has(self, collection: str, object_id: str) -> bool:
        """Whether ``collection`` (e.g. ``"units"``) holds an object with id ``object_id``."""
        return object_id in self._by_id[collection]

    def operator(self, operator_id: str) -> SystemOperator:
        """The system operator ``operator_id``."""
        return self._get("operators", "SystemOperator", operator_id)  # type: ignore[no-any-return]

    def area(self, area_id: str) -> GridArea:
        """The grid area ``area_id``."""
        return self._get("areas", "GridArea", area_id)  # type: ignore[no-any-return]

    def fsp(self, fsp_id: str) -> FlexibilityServiceProvider:
        """The flexibility service provider ``fsp_id``."""
        return self._get("fsps", "FlexibilityServiceProvider", fsp_id)  # type: ignore[no-any-return]

    def connection_point(self, connection_point_id: str) -> ConnectionPoint:
        """The connection point ``connection_point_id``."""
        return self._get(  # type: ignore[no-any-return]
            "connection_points", "ConnectionPoint", connection_point_id
        )

    def unit(self, unit_id: str) -> Unit:
        """The unit ``unit_id``."""
        return self._get("units", "Unit", unit_id)  # type: ignore[no-any-return]

    def group(self, group_id: str) -> Group:
        """The group ``group_id``."""
        return self._get("groups", "Group", group_id)  # type: ignore[no-any-return]

    def resource(self, resource_id: str) -> Resource:
        """The unit or group ``resource_id``."""
        if resource_id in self._by_id["units"]:
            return self.unit(resource_id)
        return self._get("groups", "Unit or Group", resource_id)  # type: ignore[no-any-return]

    def find_resources(self, resource_ids: Sequence[str]) -> tuple[Resource | None, ...]:
        """The unit or group of each id, ``None`` where none is registered (one lookup per id
        at C speed, for the thousands of resources a market's bids name)."""
        by_id: dict[str, Resource] = self.derived(
            "domain.register.resources", lambda: self._by_id["groups"] | self._by_id["units"]
        )
        return tuple(map(by_id.get, resource_ids))

    def product(self, product_id: str) -> Product:
        """The product ``product_id``."""
        return self._get("products", "Product", product_id)  # type: ignore[no-any-return]

    def group_of(self, unit_id: str) -> Group | None:
        """The group holding unit ``unit_id``, or ``None``."""
        group_id = self._group_of_unit.get(unit_id)
        return None if group_id is None else self.group(group_id)

    def derived(self, name: str, build: Callable[[], T]) -> T:
        """A value derived from this register alone, built by ``build`` on first use and kept.

        The register is frozen, so what is computed from it once (e.g. the clearing's bus
        weights of each resource) holds for every clearing on it; ``name`` says what it is
        (``"<module>.<what>"``). A changed register (``dataclasses.replace``) starts empty.
        """
        if name not in self._derived:
            self._derived[name] = build()
        return self._derived[name]  # type: ignore[no-any-return]

    def derived_each(self, name: str, keys: Sequence[K], build: Callable[[K], T]) -> list[T]:
        """``build(key)`` of each key, each built on first use and kept under ``name`` (as
        :meth:`derived`; the kept ones are read at C speed: thousands of resources a clearing).
        ``build`` never returns ``None``."""
        memo: dict[K, T] = self.derived(name, dict)
        found: list[T | None] = list(map(memo.get, keys))
        for i, value in enumerate(found):
            if value is None:  # not kept before this call; maybe built for an earlier key
                key = keys[i]
                kept = memo.get(key)
                found[i] = kept if kept is not None else memo.setdefault(key, build(key))
        return found  # type: ignore[return-value]

    def units_of(self, resource_id: str) -> tuple[Unit, ...]:
        """The units of a resource: itself for a unit, its members for a group."""
        found = self._units_of.get(resource_id)
        if found is None:
            resource = self.resource(resource_id)
            found = (
                (resource,)
                if isinstance(resource, Unit)
                else tuple(self.unit(u) for u in resource.unit_ids)
            )
            self._units_of[resource_id] = found
        return found

    def buses_of(self, resource_id: str) -> frozenset[int]:
        """The grid buses where a resource's units are connected."""
        return frozenset(
            self.connection_point(u.connection_point_id).bus for u in self.units_of(resource_id)
        )

    def coupling_point_of(self, resource_id: str) -> str | None:
        """The TSO–DSO coupling point behind which the resource sits (``None``: transmission)."""
        unit = self.units_of(resource_id)[0]
        return self.connection_point(unit.connection_point_id).coupling_point_id

    def impacted_operator_ids(self, resource_id: str) -> tuple[str, ...]:
        """The system operators whose grids a resource's flexibility impacts, sorted: the
        operator of each area hosting one of its connection points and, behind a coupling
        point, every TSO running an area that names the same coupling point (the TSO side of
        the interface transformer). A unit connected to a TSO's area impacts only that TSO.

        Example:
            >>> from flexcoord.domain import (ConnectionPoint, FlexibilityServiceProvider,
            ...                               GridArea, SystemOperator, Unit)
            >>> reg = Register(
            ...     operators=[SystemOperator(id="tso", name="T", role="tso"),
            ...                SystemOperator(id="dso", name="D", role="dso")],
            ...     areas=[GridArea(id="hv", operator_id="tso", bus_ids={0},
            ...                     coupling_point_ids={"trafo:0"}),
            ...            GridArea(id="mv", operator_id="dso", bus_ids={1},
            ...                     coupling_point_ids={"trafo:0"})],
            ...     fsps=[FlexibilityServiceProvider(id="f", name="F")],
            ...     connection_points=[
            ...         ConnectionPoint(id="cp0", bus=0, area_id="hv"),
            ...         ConnectionPoint(id="cp1", bus=1, area_id="mv",
            ...                         coupling_point_id="trafo:0")],
            ...     units=[Unit(id=f"u{b}", fsp_id="f", connection_point_id=f"cp{b}",
            ...                 technology="pv", p_min_mw=0, p_max_mw=1) for b in (0, 1)])
            >>> reg.impacted_operator_ids("u1"), reg.impacted_operator_ids("u0")
            (('dso', 'tso'), ('tso',))
        """
        impacted: set[str] = set()
        for unit in self.units_of(resource_id):
            point = self.connection_point(unit.connection_point_id)
            area = self.area(point.area_id)
            impacted.add(area.operator_id)
            if self.operator(area.operator_id).role is OperatorRole.TSO:
                continue
            couplings = (
                {point.coupling_point_id} if point.coupling_point_id else area.coupling_point_ids
            )
            impacted.update(
                other.operator_id
                for other in self.areas
                if other.id != area.id
                and other.coupling_point_ids & couplings
                and self.operator(other.operator_id).role is OperatorRole.TSO
            )
        return tuple(sorted(impacted))

    def p_range_mw(self, resource_id: str) -> float:
        """Width of the resource's active power range (sum over a group's units)."""
        return sum(u.p_range_mw for u in self.units_of(resource_id))

    def q_range_mvar(self, resource_id: str) -> float:
        """Width of the resource's reactive power range (sum over a group's units)."""
        return sum(u.q_range_mvar for u in self.units_of(resource_id))

    @property
    def coupling_point_ids(self) -> frozenset[str]:
        """Every coupling point named by an area or a connection point (kept: the register is
        frozen; 41,739 connection points on the national grid)."""
        return self.derived("domain.register.coupling_point_ids", self._coupling_point_ids)

    def _coupling_point_ids(self) -> frozenset[str]:
        named = {cp.coupling_point_id for cp in self.connection_points if cp.coupling_point_id}
        return frozenset().union(named, *(a.coupling_point_ids for a in self.areas))

    def is_product_qualified(
        self, resource_id: str, product_id: str, at: datetime, *, operator_id: str | None = None
    ) -> bool:
        """Whether a valid product prequalification covers the resource and product at ``at``.

        Args:
            resource_id: Unit or group id.
            product_id: Product id.
            at: The aware instant.
            operator_id: If given, only records granted by this operator, or of ``COMMON``
                scope, count.
        """
        return any(
            pq.resource_id == resource_id
            and pq.product_id == product_id
            and (
                operator_id is None
                or pq.procuring_operator_id == operator_id
                or pq.scope is PrequalificationScope.COMMON
            )
            and pq.is_valid_at(at)
            for pq in self.product_prequalifications
        )

    def grid_prequalifications_of(
        self, resource_id: str, at: datetime | None = None
    ) -> tuple[GridPrequalification, ...]:
        """The grid prequalifications of a resource, only those valid at ``at`` if given."""
        return tuple(
            g
            for g in self.grid_prequalifications
            if g.resource_id == resource_id and (at is None or g.is_valid_at(at))
        )


def _duplicate_issues(register: Register) -> list[Issue]:
    issues: list[Issue] = []
    for space in _ID_SPACES:
        counts = Counter(item.id for name in space for item in getattr(register, name))
        for name in space:
            for item in getattr(register, name):
                if counts[item.id] > 1:
                    issues.append(
                        Issue(
                            kind=type(item).__name__,
                            object_id=item.id,
                            field="id",
                            value=item.id,
                            message=f"is used by {counts[item.id]} objects among {'/'.join(space)}",
                        )
                    )
    return issues


def _unknown(
    c: IssueCollector, field_name: str, value: str | None, present: Mapping[str, Any], what: str
) -> bool:
    return value is None or c.check(
        value in present, field_name, value, f"is not a registered {what}"
    )


def register_issues(register: Register) -> list[Issue]:
    """Every broken cross-reference and group rule of ``register`` (empty if consistent)."""
    issues = _duplicate_issues(register)
    by_id = register._by_id
    for area in register.areas:
        c = IssueCollector("GridArea", area.id)
        _unknown(c, "operator_id", area.operator_id, by_id["operators"], "SystemOperator")
        issues += c.issues
    for cp in register.connection_points:
        c = IssueCollector("ConnectionPoint", cp.id)
        if _unknown(c, "area_id", cp.area_id, by_id["areas"], "GridArea"):
            area = by_id["areas"][cp.area_id]
            c.check(cp.bus in area.bus_ids, "bus", cp.bus, f"is not a bus of area {area.id!r}")
            if cp.coupling_point_id is not None:
                c.check(
                    cp.coupling_point_id in area.coupling_point_ids,
                    "coupling_point_id",
                    cp.coupling_point_id,
                    f"is not a coupling point of area {area.id!r}",
                )
        issues += c.issues
    for unit in register.units:
        c = IssueCollector("Unit", unit.id)
        _unknown(c, "fsp_id", unit.fsp_id, by_id["fsps"], "FlexibilityServiceProvider")
        _unknown(
            c,
            "connection_point_id",
            unit.connection_point_id,
            by_id["connection_points"],
            "ConnectionPoint",
        )
        issues += c.issues
    issues += _group_issues(register)
    for pq in register.product_prequalifications:
        c = IssueCollector("ProductPrequalification", pq.id)
        _unknown(
            c, "resource_id", pq.resource_id, {**by_id["units"], **by_id["groups"]}, "Unit or Group"
        )
        _unknown(c, "product_id", pq.product_id, by_id["products"], "Product")
        _unknown(
            c,
            "procuring_operator_id",
            pq.procuring_operator_id,
            by_id["operators"],
            "SystemOperator",
        )
        issues += c.issues
    for gpq in register.grid_prequalifications:
        c = IssueCollector("GridPrequalification", gpq.id)
        _unknown(
            c,
            "resource_id",
            gpq.resource_id,
            {**by_id["units"], **by_id["groups"]},
            "Unit or Group",
        )
        _unknown(
            c,
            "impacted_operator_id",
            gpq.impacted_operator_id,
            by_id["operators"],
            "SystemOperator",
        )
        issues += c.issues
    return issues


def _group_issues(register: Register) -> list[Issue]:
    by_id = register._by_id
    groups_of_unit: dict[str, list[str]] = defaultdict(list)
    issues: list[Issue] = []
    for group in register.groups:
        c = IssueCollector("Group", group.id)
        _unknown(c, "fsp_id", group.fsp_id, by_id["fsps"], "FlexibilityServiceProvider")
        places: dict[tuple[str | None, str | None], list[str]] = defaultdict(list)
        for unit_id in group.unit_ids:
            groups_of_unit[unit_id].append(group.id)
            if not _unknown(c, "unit_ids", unit_id, by_id["units"], "Unit"):
                continue
            unit: Unit = by_id["units"][unit_id]
            c.check(
                unit.fsp_id == group.fsp_id,
                "unit_ids",
                unit_id,
                f"belongs to FSP {unit.fsp_id!r}, not to the group's FSP {group.fsp_id!r}",
            )
            cp = by_id["connection_points"].get(unit.connection_point_id)
            if cp is not None:
                # Behind a coupling point, the coupling point decides; at transmission level
                # (no coupling point), the grid area does.
                key = (cp.coupling_point_id, None if cp.coupling_point_id else cp.area_id)
                places[key].append(unit_id)
        if len(places) > 1:
            described = "; ".join(
                f"{cp_id or 'area ' + str(area_id)}: {', '.join(units)}"
                for (cp_id, area_id), units in sorted(places.items(), key=str)
            )
            c.add(
                "unit_ids",
                group.unit_ids,
                f"must all sit behind one coupling point, found {described}",
            )
        issues += c.issues
    for unit_id, group_ids in sorted(groups_of_unit.items()):
        if len(group_ids) > 1:
            for group_id in group_ids:
                issues.append(
                    Issue(
                        kind="Group",
                        object_id=group_id,
                        field="unit_ids",
                        value=unit_id,
                        message=f"is in more than one group: {', '.join(group_ids)}",
                    )
                )
    return issues
