"""Grid prequalification per impacted system operator, with the stored traffic light.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "grid_prequalification"
_INDEXED = ("owner_id", "operator_id", "status")


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("operator_id", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("max_up_mw", sa.Float(), nullable=True),
        sa.Column("max_down_mw", sa.Float(), nullable=True),
        sa.Column("windows", sa.JSON(), nullable=True),
        sa.Column("suspended_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assessment", sa.JSON(), nullable=True),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["party.id"], name=op.f("fk_grid_prequalification_owner_id_party")
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["party.id"], name=op.f("fk_grid_prequalification_operator_id_party")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_prequalification")),
        sa.UniqueConstraint(
            "owner_id",
            "resource_id",
            "operator_id",
            name=op.f("uq_grid_prequalification_owner_id"),
        ),
    )
    for column in _INDEXED:
        op.create_index(op.f(f"ix_{_TABLE}_{column}"), _TABLE, [column], unique=False)


def downgrade() -> None:
    for column in reversed(_INDEXED):
        op.drop_index(op.f(f"ix_{_TABLE}_{column}"), table_name=_TABLE)
    op.drop_table(_TABLE)
