"""Settlement lines and statements: who receives what from whom, printed byte for byte the same.

Sign convention (one, everywhere): a line's ``amount`` is seen from its ``party``: **positive =
the party receives, negative = the party pays**. An FSP's availability or activation payment is
positive and its penalty negative; a buyer's charge is negative and the penalty credited to it
positive; the market operator's residue line is what it keeps (positive) or funds (negative).
Over the lines of one auction the amounts sum to exactly 0.00 €.

Printing is reproducible: lines sorted by :meth:`SettlementLine.sort_key`, quantities and unit
prices with 6 decimals, amounts with 2, CSV with ``\\n`` line ends, JSON with sorted keys and
decimals as strings (never floats), no timestamps.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

from flexcoord.operations.money import QUANTUM, Money

__all__ = ["LineKind", "PartyRole", "SettlementLine", "Statement"]


class PartyRole(StrEnum):
    """The role of a party in a settlement (also the order of statements)."""

    FSP = "fsp"
    BUYER = "buyer"
    MARKET_OPERATOR = "market-operator"


class LineKind(StrEnum):
    """What a line settles (also the order of lines of one bid and MTU)."""

    AVAILABILITY_PAYMENT = "availability_payment"
    ACTIVATION_PAYMENT = "activation_payment"
    PENALTY = "penalty"
    RESIDUE = "residue"


_ROLE_ORDER: Final = {r: i for i, r in enumerate(PartyRole)}
_KIND_ORDER: Final = {k: i for i, k in enumerate(LineKind)}
#: The units of a line's quantity and unit price, by kind.
QUANTITY_UNIT: Final = {
    LineKind.AVAILABILITY_PAYMENT: ("MW·h", "EUR/MW/h"),
    LineKind.ACTIVATION_PAYMENT: ("MWh", "EUR/MWh"),
    LineKind.PENALTY: ("MWh", "EUR/MWh"),
    LineKind.RESIDUE: ("", ""),
}
CSV_COLUMNS: Final = (
    "auction_id",
    "party_role",
    "party_id",
    "counterparty_id",
    "bid_id",
    "mtu",
    "kind",
    "quantity",
    "quantity_unit",
    "unit_price_eur",
    "unit_price_unit",
    "amount_eur",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SettlementLine:
    """One amount one party receives (> 0) or pays (< 0) in one auction.

    ``quantity`` is MW·h (availability: MW × hours) or MWh (activation, penalty), ``unit_price_eur``
    €/MW/h or €/MWh; ``amount`` is ``quantity × unit_price_eur`` rounded once to the cent, with
    the party's sign. A residue line has neither quantity nor price (``None``), nor bid or MTU
    (``""``); its counterparty is the auction's buyers collectively (``""``).
    """

    auction_id: str
    party_role: PartyRole
    party_id: str
    counterparty_id: str
    bid_id: str
    mtu: str
    kind: LineKind
    quantity: Decimal | None
    unit_price_eur: Decimal | None
    amount: Money

    def sort_key(self) -> tuple[str, int, str, str, str, int, str]:
        """Auction, role, party, bid, MTU, kind, counterparty: a total order of valid lines."""
        return (
            self.auction_id,
            _ROLE_ORDER[self.party_role],
            self.party_id,
            self.bid_id,
            self.mtu,
            _KIND_ORDER[self.kind],
            self.counterparty_id,
        )

    def row(self) -> dict[str, str]:
        """The line as text fields (the CSV row and the JSON object)."""
        quantity_unit, price_unit = QUANTITY_UNIT[self.kind]
        return {
            "auction_id": self.auction_id,
            "party_role": str(self.party_role),
            "party_id": self.party_id,
            "counterparty_id": self.counterparty_id,
            "bid_id": self.bid_id,
            "mtu": self.mtu,
            "kind": str(self.kind),
            "quantity": _fixed(self.quantity),
            "quantity_unit": quantity_unit,
            "unit_price_eur": _fixed(self.unit_price_eur),
            "unit_price_unit": price_unit,
            "amount_eur": str(self.amount),
        }


def _fixed(value: Decimal | None) -> str:
    return "" if value is None else f"{value.quantize(QUANTUM):f}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Statement:
    """The lines of one party (in one role) over every auction, sorted, with totals.

    ``total`` is the party's net amount (> 0: it receives); ``totals_by_kind`` the sum per line
    kind present, in :class:`LineKind` order.
    """

    party_role: PartyRole
    party_id: str
    lines: tuple[SettlementLine, ...]

    @classmethod
    def of(cls, role: PartyRole, party_id: str, lines: list[SettlementLine]) -> Statement:
        """The statement of ``party_id`` in ``role`` from its lines (in any order)."""
        return cls(
            party_role=role,
            party_id=party_id,
            lines=tuple(sorted(lines, key=SettlementLine.sort_key)),
        )

    @property
    def total(self) -> Money:
        """Net amount of the party: what it receives minus what it pays."""
        return Money.total(line.amount for line in self.lines)

    @property
    def totals_by_kind(self) -> dict[LineKind, Money]:
        """Net amount per line kind present, in :class:`LineKind` order."""
        return {
            kind: Money.total(line.amount for line in self.lines if line.kind is kind)
            for kind in LineKind
            if any(line.kind is kind for line in self.lines)
        }

    def to_csv(self) -> str:
        """The lines as CSV (header :data:`CSV_COLUMNS`, ``\\n`` line ends), no total row."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(line.row() for line in self.lines)
        return out.getvalue()

    def to_json(self) -> str:
        """The statement as JSON: party, totals and lines; sorted keys, decimals as strings."""
        doc = {
            "party_role": str(self.party_role),
            "party_id": self.party_id,
            "total_eur": str(self.total),
            "totals_by_kind_eur": {str(k): str(v) for k, v in self.totals_by_kind.items()},
            "lines": [line.row() for line in self.lines],
        }
        return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
