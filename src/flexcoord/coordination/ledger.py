"""The double-clearing guard: no bid is cleared more than once across linked sub-markets.

Bids move between sub-markets (DSO market → TSO market, availability → activation, intraday →
near-real-time). A forwarded bid is a new :class:`~flexcoord.domain.Bid` whose id names the market
it was forwarded to (``"b17>tso-da"``); the ledger knows its **root** (``"b17"``). The rule it
enforces (OneNet Northern's "bid uniqueness among sub-markets to prevent double clearing", L665):

- a root bid accepted in one sub-market (any quantity in any MTU) is never offered again: the
  ledger's :meth:`ClearingLedger.unused` drops it, and :meth:`ClearingLedger.record` refuses a
  result that accepts a bid whose root was already cleared elsewhere — raising
  :class:`DoubleClearingError` and recording nothing;
- a market may record a result only for bids the ledger handed to it (a bid smuggled in under an
  unknown id is refused the same way).

Partial residuals are not forwarded: a divisible bid half-accepted in the DSO market is *cleared*.
This is the strict reading of "uniqueness" and keeps settlement simple (one award per bid); a scheme
wanting to forward residual volume must say so as a new bid from the FSP.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from flexcoord.domain import Bid
from flexcoord.errors import FlexcoordError

__all__ = ["ClearingLedger", "DoubleClearingError", "forwarded_id", "root_of"]

_SEPARATOR = ">"


class DoubleClearingError(FlexcoordError, RuntimeError):
    """A sub-market result would clear a bid that was already cleared (or never offered)."""


def forwarded_id(bid_id: str, market_id: str) -> str:
    """The id of ``bid_id`` forwarded to ``market_id`` (``"b17>tso-da"``)."""
    return f"{bid_id}{_SEPARATOR}{market_id}"


def root_of(bid_id: str) -> str:
    """The original bid id of a (possibly repeatedly) forwarded bid id."""
    return bid_id.split(_SEPARATOR, 1)[0]


@dataclass(slots=True)
class ClearingLedger:
    """Which root bids are cleared, where, and how much; which bids each market was offered.

    Example:
        >>> ledger = ClearingLedger()
        >>> ledger.offer("dso", ["b1", "b2"])
        >>> ledger.record("dso", {"b1": 0.4, "b2": 0.0})
        >>> sorted(ledger.cleared)
        ['b1']
        >>> ledger.offer("tso", ["b2>tso"])
        >>> ledger.record("tso", {"b2>tso": 0.1})
        >>> ledger.cleared_in("b2")
        'tso'
    """

    cleared: dict[str, str] = field(default_factory=dict)  # root → market that cleared it
    volume_mw: dict[str, float] = field(default_factory=dict)  # root → accepted MW (sum of MTUs)
    offered: dict[str, set[str]] = field(default_factory=dict)  # market → bid ids offered
    exclusive_set_of: dict[str, str] = field(default_factory=dict)  # root → root of its XOR set
    cleared_sets: set[str] = field(default_factory=set)  # XOR sets with a cleared member
    history: list[tuple[str, str, float]] = field(default_factory=list)  # (market, bid id, MW)

    def cleared_in(self, bid_id: str) -> str | None:
        """The market that cleared the root of ``bid_id``, or ``None``."""
        return self.cleared.get(root_of(bid_id))

    def offer(
        self,
        market_id: str,
        bid_ids: Iterable[str],
        *,
        exclusive_sets: Mapping[str, str] | None = None,
    ) -> None:
        """Note that ``market_id`` is offered these bids; refuse any whose root is cleared.

        ``exclusive_sets`` (bid id → XOR set id) lets the ledger keep a set's other members out
        of every later market once one member clears, wherever they are offered."""
        ids = list(bid_ids)
        for bid_id, set_id in (exclusive_sets or {}).items():
            self.exclusive_set_of[root_of(bid_id)] = root_of(set_id)
        already = [b for b in ids if root_of(b) in self.cleared]
        if already:
            raise DoubleClearingError(
                f"market {market_id!r} offered bids already cleared elsewhere: "
                + ", ".join(f"{b} (in {self.cleared[root_of(b)]!r})" for b in already[:10])
            )
        self.offered.setdefault(market_id, set()).update(ids)

    def record(
        self, market_id: str, accepted_mw: Mapping[str, float], *, tol_mw: float = 1e-6
    ) -> None:
        """Record a market's accepted volume per bid id (MW summed over MTUs).

        All-or-nothing: on any violation nothing is recorded.

        Raises:
            DoubleClearingError: a bid accepted whose root was already cleared, a bid not offered
                to this market, or two accepted bids of one root in this market.
        """
        offered = self.offered.get(market_id, set())
        accepted = {b: float(v) for b, v in accepted_mw.items() if float(v) > tol_mw}
        problems = [f"{b} was not offered to {market_id!r}" for b in accepted if b not in offered]
        problems += [
            f"{b} already cleared in {self.cleared[root_of(b)]!r}"
            for b in accepted
            if root_of(b) in self.cleared
        ]
        roots = [root_of(b) for b in accepted]
        problems += [
            f"two bids of root {r} accepted"
            for r in sorted({r for r in roots if roots.count(r) > 1})
        ]
        if problems:
            raise DoubleClearingError(f"market {market_id!r}: " + "; ".join(problems[:10]))
        for bid_id, mw in accepted.items():
            root = root_of(bid_id)
            self.cleared[root] = market_id
            if root in self.exclusive_set_of:
                self.cleared_sets.add(self.exclusive_set_of[root])
            self.volume_mw[root] = mw
            self.history.append((market_id, bid_id, mw))

    def unused(self, bids: Iterable[Bid]) -> tuple[Bid, ...]:
        """The bids that may still clear: their root is not cleared anywhere, and no member of
        their exclusive (XOR) set is (accepting a sibling later would break the XOR)."""
        pool = tuple(bids)
        taken = {
            root_of(b.exclusive_set)
            for b in pool
            if b.exclusive_set is not None and root_of(b.id) in self.cleared
        } | self.cleared_sets
        return tuple(
            b
            for b in pool
            if root_of(b.id) not in self.cleared
            and (b.exclusive_set is None or root_of(b.exclusive_set) not in taken)
        )

    def forward(self, bids: Iterable[Bid], market_id: str) -> tuple[Bid, ...]:
        """The unused ``bids`` as new bids for ``market_id`` (ids :func:`forwarded_id`), offered.

        XOR sets and parent links are renamed consistently, so they keep holding inside the
        target market; a child whose parent is not forwarded loses nothing but its link target
        and is dropped (a linked child may only clear with its parent).
        """
        unused = self.unused(bids)
        ids = {b.id for b in unused}
        out = []
        for bid in unused:
            if bid.parent_bid_id is not None and bid.parent_bid_id not in ids:
                continue
            out.append(
                replace(
                    bid,
                    id=forwarded_id(bid.id, market_id),
                    exclusive_set=None
                    if bid.exclusive_set is None
                    else forwarded_id(bid.exclusive_set, market_id),
                    parent_bid_id=None
                    if bid.parent_bid_id is None
                    else forwarded_id(bid.parent_bid_id, market_id),
                )
            )
        self.offer(market_id, [b.id for b in out])
        return tuple(out)
