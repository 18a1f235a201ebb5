"""Block kinds: string-compatible names, one entity kind each, names built by lookup."""

from __future__ import annotations

import numpy as np

from flexcoord.clearing import ClearingOptions
from flexcoord.clearing.formulation import BlockKind, EntityKind, build_formulation
from flexcoord.clearing.problem import canonical
from tests.clearing.markets import random_market


def test_every_block_kind_has_an_entity_kind() -> None:
    assert {kind: kind.entity for kind in BlockKind}[BlockKind.PARENT_MIN] is EntityKind.BID
    assert BlockKind.XOR.entity is EntityKind.XOR_SET
    assert BlockKind.VOLTAGE_UNDER.entity is EntityKind.VBUS
    assert BlockKind.BALANCE_DOWN.entity is EntityKind.NONE
    assert BlockKind.UNIT_CAPABILITY.entity is EntityKind.CAPABILITY
    assert {k.entity for k in BlockKind} == set(EntityKind)


def test_block_kinds_are_the_names_strings() -> None:
    form = build_formulation(canonical(random_market(np.random.default_rng(3))), ClearingOptions())
    assert form.col_blocks["bid-accept"] is form.col_blocks[BlockKind.BID_ACCEPT]
    assert f"{BlockKind.NEED_COVER}" == "need-cover" == BlockKind("need-cover")
    for blocks in (form.col_blocks, form.row_blocks):
        for key, block in blocks.items():
            assert key is block.kind and isinstance(key, BlockKind)
    names = form.col_names() + form.row_names()
    assert all(name.split("[")[0] in set(BlockKind) for name in names)
    assert form.col_name(0).startswith("bid-accept[b")


def test_entity_labels_are_looked_up_by_the_kinds_entity() -> None:
    problem = canonical(random_market(np.random.default_rng(5)))
    form = build_formulation(problem, ClearingOptions())
    assert form.entity_label(BlockKind.BRANCH_OVER, 1) == problem.branch_names[1]
    assert form.entity_label("nodal-q", 2) == problem.bus_ids[2]
    assert form.entity_label(BlockKind.LINK, 0) == problem.bid_ids[0]
    assert form.entity_label(BlockKind.XOR, 4) == "xor4"  # no XOR names
    assert form.entity_label(BlockKind.BALANCE, -1) == "-"
