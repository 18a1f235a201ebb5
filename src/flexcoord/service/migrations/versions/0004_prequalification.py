"""Product prequalification: FSP applications and the procuring operators' decisions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "prequalification",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("operator_id", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspended_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["party.id"], name=op.f("fk_prequalification_owner_id_party")
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["party.id"], name=op.f("fk_prequalification_operator_id_party")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_prequalification_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prequalification")),
    )
    for column in ("owner_id", "operator_id"):
        op.create_index(
            op.f(f"ix_prequalification_{column}"), "prequalification", [column], unique=False
        )


def downgrade() -> None:
    for column in ("operator_id", "owner_id"):
        op.drop_index(op.f(f"ix_prequalification_{column}"), table_name="prequalification")
    op.drop_table("prequalification")
