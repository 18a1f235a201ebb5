"""What FSPs see of needs: what is demanded, where by grid area, and nothing of the topology.

An FSP must see every need of a session to bid for it, but not the grid behind it: a need's
location may name buses (pandapower indices of the operator's grid model), which an FSP never
sees. :func:`fsp_need` shows a need as :class:`~flexcoord.service.market_schemas.FspNeedOut`:
its direction, MTUs and quantities, price caps, product and buyer, and its location only as
grid area ids (:func:`grid_areas_of`) and, for a need at a TSO–DSO interface, the coupling
point id. The operators' own view (``NeedOut``, the need as posted) is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.service.market_schemas import FspNeedOut, LocationIn, NeedIn
from flexcoord.service.tables import GridAreaRow, MarketSessionRow, NeedRow

__all__ = ["AreaFootprint", "fsp_need", "fsp_needs", "grid_areas_of"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AreaFootprint:
    """A registered grid area as far as locating a need goes: its buses and coupling points."""

    id: str
    bus_ids: frozenset[int]
    coupling_point_ids: frozenset[str]

    @classmethod
    def of(cls, row: GridAreaRow) -> AreaFootprint:
        """The footprint of a stored grid area."""
        return cls(
            id=row.id,
            bus_ids=frozenset(row.spec["bus_ids"]),
            coupling_point_ids=frozenset(row.spec.get("coupling_point_ids", ())),
        )


def grid_areas_of(location: LocationIn, areas: Iterable[AreaFootprint]) -> list[str]:
    """The ids of the grid areas a need's location lies in, sorted: an area location its area;
    a coupling point the areas it feeds; buses every area holding one of them (an empty list
    when no registered area holds them).

    Example:
        >>> mv = AreaFootprint(id="mv-a", bus_ids=frozenset({1, 2}),
        ...                    coupling_point_ids=frozenset({"trafo:mv-a"}))
        >>> hv = AreaFootprint(id="hv", bus_ids=frozenset({0}), coupling_point_ids=frozenset())
        >>> grid_areas_of(LocationIn(kind="buses", bus_ids=[2, 0]), [mv, hv])
        ['hv', 'mv-a']
        >>> grid_areas_of(LocationIn(kind="coupling_point", coupling_point_id="trafo:mv-a"),
        ...               [mv, hv])
        ['mv-a']
    """
    if location.kind == "area":
        return [location.area_id] if location.area_id is not None else []
    if location.kind == "coupling_point":
        return sorted(a.id for a in areas if location.coupling_point_id in a.coupling_point_ids)
    buses = frozenset(location.bus_ids)
    return sorted(a.id for a in areas if a.bus_ids & buses)


def fsp_need(row: NeedRow, product_id: str, areas: Sequence[AreaFootprint]) -> FspNeedOut:
    """A stored need as an FSP sees it."""
    need = NeedIn.model_validate(row.spec)
    return FspNeedOut(
        id=need.id,
        session_id=row.session_id,
        product_id=product_id,
        owner_id=row.owner_id,
        direction=need.direction,
        quantities=need.quantities,
        activation_price_cap_eur_per_mwh=need.activation_price_cap_eur_per_mwh,
        availability_price_cap_eur_per_mw_h=need.availability_price_cap_eur_per_mw_h,
        grid_area_ids=grid_areas_of(need.location, areas),
        coupling_point_id=need.location.coupling_point_id,
        created_at=row.created_at,
    )


def fsp_needs(
    session: Session, session_row: MarketSessionRow, *, limit: int, offset: int
) -> list[FspNeedOut]:
    """Every need of a session (every buyer's), as FSPs see them, in (buyer, id) order."""
    query = (
        select(NeedRow)
        .where(NeedRow.session_id == session_row.id)
        .order_by(NeedRow.owner_id, NeedRow.id)
        .limit(limit)
        .offset(offset)
    )
    rows = session.scalars(query).all()
    if not rows:
        return []
    areas = [AreaFootprint.of(a) for a in session.scalars(select(GridAreaRow)).all()]
    return [fsp_need(r, session_row.product_id, areas) for r in rows]
