"""The blocks of the clearing LP/MILP and the :class:`Formulation` that names them.

Every row and column belongs to one :class:`Block`: a contiguous range of one :class:`BlockKind`
whose members are (entity, MTU) pairs. The kind knows which entity its members index
(:class:`EntityKind`), so ``row_name(i)`` is ``<kind>[<entity id>,<mtu label>]``, e.g.
``bid-accept[b17,t03]`` or ``unit-capability[load:0,up,t03]``.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from flexcoord.clearing.capability import CapabilityRows, capability_label
from flexcoord.clearing.problem import ClearingProblem, FloatArray, IntArray

__all__ = ["Block", "BlockKind", "EntityKind", "Formulation"]

NDArrayInt8 = NDArray[np.int8]


class EntityKind(StrEnum):
    """What the members of a block index (``NONE``: nothing, e.g. the balance of one MTU)."""

    BID = "bid"
    XOR_SET = "xor set"
    NEED = "need"
    BUS = "bus"
    BRANCH = "branch"
    VBUS = "vbus"
    INTERFACE = "interface"
    INTERFACE_FLOW = "interface flow"
    CAPABILITY = "capability"
    NONE = "none"


class BlockKind(StrEnum):
    """The kinds of row and column blocks; the value is the name's prefix (``bid-accept[...]``).

    ``bid-select`` names both the binary columns of the XOR members and their rows.
    """

    BID_ACCEPT = "bid-accept"
    BID_MINIMUM = "bid-minimum"
    BID_MINIMUM_UPPER = "bid-minimum-upper"
    BID_MINIMUM_LOWER = "bid-minimum-lower"
    BID_SELECT = "bid-select"
    XOR = "xor"
    BID_PARENT = "bid-parent"
    PARENT_MIN = "parent-min"
    LINK = "link"
    NEED_SHORTFALL = "need-shortfall"
    NEED_COVER = "need-cover"
    INJECTION_P = "injection-p"
    INJECTION_Q = "injection-q"
    NODAL_P = "nodal-p"
    NODAL_Q = "nodal-q"
    BRANCH_FLOW = "branch-flow"
    BRANCH_OVER = "branch-over"
    BRANCH_UNDER = "branch-under"
    VOLTAGE = "voltage"
    VOLTAGE_OVER = "voltage-over"
    VOLTAGE_UNDER = "voltage-under"
    INTERFACE = "interface"
    INTERFACE_OVER = "interface-over"
    INTERFACE_UNDER = "interface-under"
    INTERFACE_FLOW = "interface-flow"
    INTERFACE_FLOW_DEF = "interface-flow-def"
    BALANCE = "balance"
    BALANCE_UP = "balance-up"
    BALANCE_DOWN = "balance-down"
    UNIT_CAPABILITY = "unit-capability"

    @property
    def entity(self) -> EntityKind:
        """The entity the block's members index."""
        return _ENTITY_OF[self]


_K, _E = BlockKind, EntityKind
#: The block kinds of each entity kind (every block kind exactly once).
_KINDS: dict[EntityKind, tuple[BlockKind, ...]] = {
    _E.BID: (
        _K.BID_ACCEPT,
        _K.BID_MINIMUM,
        _K.BID_MINIMUM_UPPER,
        _K.BID_MINIMUM_LOWER,
        _K.BID_SELECT,
        _K.BID_PARENT,
        _K.PARENT_MIN,
        _K.LINK,
    ),
    _E.XOR_SET: (_K.XOR,),
    _E.NEED: (_K.NEED_SHORTFALL, _K.NEED_COVER),
    _E.BUS: (_K.INJECTION_P, _K.INJECTION_Q, _K.NODAL_P, _K.NODAL_Q),
    _E.BRANCH: (_K.BRANCH_FLOW, _K.BRANCH_OVER, _K.BRANCH_UNDER),
    _E.VBUS: (_K.VOLTAGE, _K.VOLTAGE_OVER, _K.VOLTAGE_UNDER),
    _E.INTERFACE: (_K.INTERFACE, _K.INTERFACE_OVER, _K.INTERFACE_UNDER),
    _E.INTERFACE_FLOW: (_K.INTERFACE_FLOW, _K.INTERFACE_FLOW_DEF),
    _E.CAPABILITY: (_K.UNIT_CAPABILITY,),
    _E.NONE: (_K.BALANCE, _K.BALANCE_UP, _K.BALANCE_DOWN),
}
_ENTITY_OF = {kind: entity for entity, kinds in _KINDS.items() for kind in kinds}

#: The id of entity ``e`` of each kind, for names.
_LABEL: dict[EntityKind, Callable[[ClearingProblem, int], str]] = {
    _E.BID: lambda p, e: p.bid_ids[e],
    _E.XOR_SET: lambda p, e: p.xor_names[e] if p.xor_names else f"xor{e}",
    _E.NEED: lambda p, e: p.need_ids[e],
    _E.BUS: lambda p, e: p.bus_ids[e],
    _E.BRANCH: lambda p, e: p.branch_names[e],
    _E.VBUS: lambda p, e: p.vbus_names[e],
    _E.INTERFACE: lambda p, e: p.ic_names[e],
    _E.INTERFACE_FLOW: lambda p, e: p.if_names[e],
    _E.CAPABILITY: capability_label,
    _E.NONE: lambda p, e: str(e),
}


@dataclass(frozen=True, slots=True)
class Block:
    """A contiguous range of rows or columns of one kind; ``entity``/``mtu`` index each member
    (``-1``: none)."""

    kind: BlockKind
    start: int
    entity: IntArray
    mtu: IntArray

    @property
    def size(self) -> int:
        """Number of rows or columns in the block."""
        return int(self.entity.shape[0])

    @property
    def stop(self) -> int:
        """One past the last index of the block."""
        return self.start + self.size


@dataclass(frozen=True, slots=True, kw_only=True)
class Formulation:
    """The LP/MILP arrays of one problem and the maps from rows/columns back to the problem."""

    problem: ClearingProblem
    a_matrix: sparse.csc_array
    col_cost: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    row_lower: FloatArray
    row_upper: FloatArray
    integrality: NDArrayInt8
    col_blocks: dict[BlockKind, Block]
    row_blocks: dict[BlockKind, Block]
    slot_col: IntArray
    tie_break_cost: FloatArray
    eligible_need: IntArray
    eligible_slot: IntArray
    shortfall_price_eur_per_mwh: FloatArray
    capability: CapabilityRows

    @property
    def n_col(self) -> int:
        """Number of columns."""
        return int(self.col_cost.shape[0])

    @property
    def n_row(self) -> int:
        """Number of rows."""
        return int(self.row_lower.shape[0])

    @property
    def is_mip(self) -> bool:
        """Whether any column is integer."""
        return bool(self.integrality.any())

    def col_name(self, j: int) -> str:
        """The domain name of column ``j``, e.g. ``bid-accept[b17,t03]``."""
        return self._name(self.col_blocks, j)

    def row_name(self, i: int) -> str:
        """The domain name of row ``i``, e.g. ``branch-flow[line_12,t03]``."""
        return self._name(self.row_blocks, i)

    def col_names(self) -> list[str]:
        """Every column name, in column order."""
        return [self.col_name(j) for j in range(self.n_col)]

    def row_names(self) -> list[str]:
        """Every row name, in row order."""
        return [self.row_name(i) for i in range(self.n_row)]

    def block_of(self, blocks: dict[BlockKind, Block], index: int) -> Block:
        """The block holding ``index``."""
        ordered = sorted((b for b in blocks.values() if b.size), key=lambda b: b.start)
        k = bisect.bisect_right([b.start for b in ordered], index) - 1
        if k < 0 or index >= ordered[k].stop:
            raise IndexError(index)
        return ordered[k]

    def entity_label(self, kind: BlockKind | str, entity: int) -> str:
        """The id of entity ``entity`` of a block kind (bid id, need id, bus, branch, ...)."""
        if entity < 0:
            return "-"
        return _LABEL[BlockKind(kind).entity](self.problem, entity)

    def _name(self, blocks: dict[BlockKind, Block], index: int) -> str:
        block = self.block_of(blocks, index)
        k = index - block.start
        ent = self.entity_label(block.kind, int(block.entity[k]))
        t = int(block.mtu[k])
        parts = [ent] if ent != "-" else []
        if t >= 0:
            parts.append(self.problem.mtu_labels[t])
        return f"{block.kind}[{','.join(parts)}]"
