"""Markets: products, market sessions, needs and bids.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _owned_key(table: str) -> list[sa.Column[str] | sa.Constraint]:
    return [
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["market_session.id"],
            name=op.f(f"fk_{table}_session_id_market_session"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["party.id"], name=op.f(f"fk_{table}_owner_id_party")
        ),
        sa.PrimaryKeyConstraint("session_id", "owner_id", "id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "product",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["party.id"], name=op.f("fk_product_owner_id_party")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product")),
    )
    op.create_index(op.f("ix_product_owner_id"), "product", ["owner_id"], unique=False)
    op.create_table(
        "market_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("timeframe", sa.String(length=32), nullable=False),
        sa.Column("delivery_day", sa.Date(), nullable=False),
        sa.Column("gate_opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gate_closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["party.id"], name=op.f("fk_market_session_owner_id_party")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_market_session_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_session")),
    )
    for column in ("owner_id", "product_id", "delivery_day"):
        op.create_index(
            op.f(f"ix_market_session_{column}"), "market_session", [column], unique=False
        )
    op.create_table(
        "need",
        *_owned_key("need"),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "bid",
        *_owned_key("bid"),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("bid")
    op.drop_table("need")
    for column in ("delivery_day", "product_id", "owner_id"):
        op.drop_index(op.f(f"ix_market_session_{column}"), table_name="market_session")
    op.drop_table("market_session")
    op.drop_index(op.f("ix_product_owner_id"), table_name="product")
    op.drop_table("product")
