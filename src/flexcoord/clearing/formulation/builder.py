"""The accumulator one build fills: blocks of columns and rows, and the entries of the matrix.

Each constraint family (:mod:`flexcoord.clearing.formulation.constraints`) asks the
:class:`Builder` for new columns or rows of one :class:`BlockKind` and adds its matrix entries
at the offsets it got back; at the end the builder concatenates everything into the CSC matrix
and the bound, cost and integrality vectors. Nothing is looped over per bid or MTU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import sparse

from flexcoord.clearing.formulation.blocks import Block, BlockKind, NDArrayInt8
from flexcoord.clearing.problem import BoolArray, FloatArray, IntArray

__all__ = ["Builder", "Members", "SoftLimit", "Values"]

#: Matrix entries of a soft limit below this magnitude are dropped (PTDF round-off).
_PTDF_DROP = 1e-10

Values = FloatArray | float


class Members(NamedTuple):
    """What each row or column of a new block stands for: an entity and an MTU (``-1``: none)."""

    entity: IntArray
    mtu: IntArray

    @classmethod
    def whole(cls, entity: IntArray) -> Members:
        """One member per entity, for all MTUs at once."""
        return cls(entity, np.full(entity.shape[0], -1))

    @classmethod
    def mtu_major(cls, n: int, n_mtu: int) -> Members:
        """Every (entity, MTU) pair; member ``t · n + e`` is entity ``e`` in MTU ``t``."""
        return cls(np.tile(np.arange(n), n_mtu), np.repeat(np.arange(n_mtu), n))

    @classmethod
    def entity_major(cls, n: int, n_mtu: int) -> Members:
        """Every (entity, MTU) pair; member ``e · n_mtu + t`` is entity ``e`` in MTU ``t``."""
        return cls(np.repeat(np.arange(n), n_mtu), np.tile(np.arange(n_mtu), n))


@dataclass(frozen=True, slots=True, kw_only=True)
class SoftLimit:
    """``n`` rows per MTU of ``Σ_k terms[k].matrix · injection_k`` within ``[lower, upper]``
    (flattened per MTU: row ``t · n + i``), each with an over and an under slack priced at
    ``penalty`` per unit and hour.

    ``terms`` pairs a ``(n, m)`` matrix with the first column of the ``m`` columns per MTU it
    acts on (MTU-major, as the nodal injections with ``m = n_bus`` or the interface flows;
    ``-1``: those columns are not modelled, the term is skipped).

    ``members`` (default: every ``(i, t)``, MTU-major) keeps only some of the rows, e.g. the
    voltage rows a lazy clearing has found it needs; ``lower`` / ``upper`` are then per member.
    """

    rows: BlockKind
    over: BlockKind
    under: BlockKind
    lower: FloatArray
    upper: FloatArray
    penalty: float
    terms: tuple[tuple[FloatArray, int], ...]
    members: Members | None = None


@dataclass(slots=True)
class Builder:
    """Columns, rows and matrix entries of one formulation, in the order they were asked for."""

    n_mtu: int
    n_bus: int
    mtu_duration_h: FloatArray
    col_blocks: dict[BlockKind, Block] = field(default_factory=dict)
    row_blocks: dict[BlockKind, Block] = field(default_factory=dict)
    n_col: int = 0
    n_row: int = 0
    _rows: list[IntArray] = field(default_factory=list)
    _cols: list[IntArray] = field(default_factory=list)
    _vals: list[FloatArray] = field(default_factory=list)
    _cost: list[FloatArray] = field(default_factory=list)
    _col_lower: list[FloatArray] = field(default_factory=list)
    _col_upper: list[FloatArray] = field(default_factory=list)
    _integer: list[FloatArray] = field(default_factory=list)
    _row_lower: list[FloatArray] = field(default_factory=list)
    _row_upper: list[FloatArray] = field(default_factory=list)
    #: per first column of a block of per-MTU columns (the nodal injections), which of its
    #: columns can be non-zero (:meth:`mark_active`); soft rows leave the others' entries out
    active: dict[int, BoolArray] = field(default_factory=dict)

    def add(self, row: IntArray, col: IntArray, value: Values) -> None:
        """Matrix entries ``A[row[k], col[k]] += value[k]`` (a scalar ``value``: for all)."""
        self._rows.append(row.astype(np.int64, copy=False))
        self._cols.append(col.astype(np.int64, copy=False))
        self._vals.append(np.broadcast_to(np.asarray(value, dtype=np.float64), row.shape))

    def new_cols(
        self,
        kind: BlockKind,
        members: Members,
        cost: Values = 0.0,
        bounds: tuple[Values, Values] = (0.0, 1.0),
        integer: bool | BoolArray = False,
    ) -> int:
        """A block of columns with its costs, ``(lower, upper)`` bounds and integrality (a flag
        for all or one per column); returns its first column."""
        start, size = self.n_col, members.entity.shape[0]
        self.col_blocks[kind] = Block(kind, start, members.entity, members.mtu)
        self._cost.append(np.broadcast_to(np.asarray(cost, dtype=np.float64), (size,)))
        self._col_lower.append(np.broadcast_to(np.asarray(bounds[0], dtype=np.float64), (size,)))
        self._col_upper.append(np.broadcast_to(np.asarray(bounds[1], dtype=np.float64), (size,)))
        self._integer.append(np.broadcast_to(np.asarray(integer, dtype=np.float64), (size,)))
        self.n_col += size
        return start

    def new_rows(self, kind: BlockKind, members: Members, lower: Values, upper: Values) -> int:
        """A block of rows ``lower <= A x <= upper``; returns its first row."""
        start, size = self.n_row, members.entity.shape[0]
        self.row_blocks[kind] = Block(kind, start, members.entity, members.mtu)
        self._row_lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (size,)))
        self._row_upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (size,)))
        self.n_row += size
        return start

    def mark_active(self, start: int, active: BoolArray) -> None:
        """Only the columns ``start + k`` with ``active[k]`` of a block that rows reach through
        :class:`SoftLimit` terms can be non-zero (the others are fixed at 0 by their own rows):
        their coefficients are left out. On a national grid a bus has a bid in few of the MTUs,
        so a branch row over every bus and MTU would be ~25 times denser than it needs to be."""
        self.active[start] = np.asarray(active, dtype=bool)

    def soft_rows(self, limit: SoftLimit) -> None:
        """The rows of a soft limit with their over / under slacks (see :class:`SoftLimit`)."""
        n_t, n = self.n_mtu, limit.terms[0][0].shape[0]
        members = limit.members or Members.mtu_major(n, n_t)
        size = members.entity.shape[0]
        pen = limit.penalty * self.mtu_duration_h[members.mtu]
        over = self.new_cols(limit.over, members, pen, (0.0, np.inf))
        under = self.new_cols(limit.under, members, pen, (0.0, np.inf))
        rows = self.new_rows(limit.rows, members, limit.lower, limit.upper)
        for mat, start in limit.terms:
            if start < 0:
                continue
            ml, mk = np.nonzero(np.abs(mat) > _PTDF_DROP)
            active = self.active.get(start)
            if limit.members is None and active is not None:
                self._active_terms(rows, n, mat, ml, mk, start, active)
                continue
            if limit.members is None:
                tt = np.repeat(np.arange(n_t), ml.shape[0])
                row_k = rows + tt * n + np.tile(ml, n_t)
                col_k = tt * mat.shape[1] + np.tile(mk, n_t)
                self.add(row_k, start + col_k, np.tile(mat[ml, mk], n_t))
                continue
            # the entries of entity e are ml[first[e] : first[e] + count[e]] (row-major order)
            count = np.bincount(ml, minlength=n)
            first = np.cumsum(count) - count
            per = count[members.entity]
            row_of = np.repeat(np.arange(size), per)
            entry = np.arange(row_of.shape[0]) - np.repeat(np.cumsum(per) - per, per)
            entry += np.repeat(first[members.entity], per)
            col_k = members.mtu[row_of] * mat.shape[1] + mk[entry]
            if active is not None:
                keep = active[col_k]
                row_of, entry, col_k = row_of[keep], entry[keep], col_k[keep]
            self.add(rows + row_of, start + col_k, mat[ml[entry], mk[entry]])
        k = np.arange(size)
        self.add(rows + k, over + k, -1.0)
        self.add(rows + k, under + k, 1.0)

    def _active_terms(  # noqa: PLR0913 - the term and where its entries go
        self,
        rows: int,
        n: int,
        mat: FloatArray,
        ml: IntArray,
        mk: IntArray,
        start: int,
        active: BoolArray,
    ) -> None:
        """The entries ``mat[l, k]`` of row ``rows + t·n + l`` at column ``start + t·K + k`` for
        the active ``(t, k)`` only (``K`` = ``mat``'s columns, ``active`` MTU-major): built from
        the active pairs, so no entry of an inactive column is made first (on the national
        grid's TSO market: 96 MTUs × every monitored row × bus, ~1 % of them active)."""
        n_k = mat.shape[1]
        order = np.argsort(mk, kind="stable")  # the entries of column k: a run of count[k]
        ml, mk = ml[order], mk[order]
        count = np.bincount(mk, minlength=n_k)
        first = np.cumsum(count) - count
        tt, kk = np.nonzero(active.reshape(-1, n_k))
        per = count[kk]
        pair = np.repeat(np.arange(tt.shape[0]), per)
        entry = np.arange(pair.shape[0]) - np.repeat(np.cumsum(per) - per, per)
        entry += np.repeat(first[kk], per)
        t_of = tt[pair]
        self.add(
            rows + t_of * n + ml[entry], start + t_of * n_k + kk[pair], mat[ml[entry], kk[pair]]
        )

    def matrix(self) -> sparse.csc_array:
        """The constraint matrix, duplicates summed."""
        a = sparse.csc_array(
            (
                np.concatenate(self._vals) if self._vals else np.zeros(0),
                (
                    np.concatenate(self._rows) if self._rows else np.zeros(0, np.int64),
                    np.concatenate(self._cols) if self._cols else np.zeros(0, np.int64),
                ),
            ),
            shape=(self.n_row, self.n_col),
        )
        a.sum_duplicates()
        return a

    def columns(self) -> tuple[FloatArray, FloatArray, FloatArray, NDArrayInt8]:
        """Costs, lower and upper bounds and integrality of every column."""
        return (
            np.concatenate(self._cost),
            np.concatenate(self._col_lower),
            np.concatenate(self._col_upper),
            np.concatenate(self._integer).astype(np.int8),
        )

    def row_bounds(self) -> tuple[FloatArray, FloatArray]:
        """Lower and upper bounds of every row."""
        return (
            np.concatenate(self._row_lower) if self._row_lower else np.zeros(0),
            np.concatenate(self._row_upper) if self._row_upper else np.zeros(0),
        )
