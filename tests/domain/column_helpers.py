"""Bids as the columns of :meth:`~flexcoord.domain.bid_table.BidTable.from_columns` (tests)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from flexcoord.domain import Bid


def _nan(value: object) -> object:
    return np.nan if value is None else value


def columns_of_rows(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The columns of bids given as ``Bid`` keyword rows (quantities as mappings or
    ``MtuQuantity``; optional fields may be left out)."""

    def get(row: Mapping[str, Any], name: str, default: object = None) -> Any:
        return row.get(name, default)

    def parts(row: Mapping[str, Any]) -> list[tuple[object, object, object]]:
        out = []
        for q in row["quantities"]:
            if isinstance(q, Mapping):
                out.append((q["start"], q["end"], q["quantity"]))
            else:
                out.append((q.interval.start, q.interval.end, q.quantity))
        return out

    slots = [parts(r) for r in rows]
    return dict(
        ids=[r["id"] for r in rows],
        fsp_ids=[r["fsp_id"] for r in rows],
        resource_ids=[r["resource_id"] for r in rows],
        product_ids=[r["product_id"] for r in rows],
        up=[str(r["direction"]) == "up" for r in rows],
        submitted_at=[r["submitted_at"] for r in rows],
        n_slots=[len(s) for s in slots],
        slot_start=[p[0] for s in slots for p in s],
        slot_end=[p[1] for s in slots for p in s],
        slot_quantity=[p[2] for s in slots for p in s],
        availability_price_eur_per_mw_h=[
            _nan(get(r, "availability_price_eur_per_mw_h")) for r in rows
        ],
        activation_price_eur_per_mwh=[_nan(get(r, "activation_price_eur_per_mwh")) for r in rows],
        divisible=[get(r, "divisible", True) for r in rows],
        min_acceptance=[_nan(get(r, "min_acceptance")) for r in rows],
        exclusive_set=[get(r, "exclusive_set") for r in rows],
        parent_bid_id=[get(r, "parent_bid_id") for r in rows],
        block=[get(r, "block", False) for r in rows],
        q_mvar_per_mw=[_nan(get(r, "q_mvar_per_mw")) for r in rows],
    )


_FIELDS = (
    "id",
    "fsp_id",
    "resource_id",
    "product_id",
    "direction",
    "quantities",
    "submitted_at",
    "availability_price_eur_per_mw_h",
    "activation_price_eur_per_mwh",
    "divisible",
    "min_acceptance",
    "exclusive_set",
    "parent_bid_id",
    "block",
    "q_mvar_per_mw",
)


def columns_of(bids: Sequence[Bid]) -> dict[str, Any]:
    """The columns of ``Bid`` objects."""
    return columns_of_rows([{name: getattr(b, name) for name in _FIELDS} for b in bids])
