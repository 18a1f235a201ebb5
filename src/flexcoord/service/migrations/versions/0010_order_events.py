"""Why a bid got nothing (``rejection``) and the FSPs' answers to activation orders
(``order_event``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rejection",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("bid_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=48), nullable=False),
        sa.Column("detail", sa.String(length=512), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["market_session.id"],
            name=op.f("fk_rejection_session_id_market_session"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["party.id"], name=op.f("fk_rejection_owner_id_party")
        ),
        sa.PrimaryKeyConstraint("session_id", "owner_id", "bid_id", name=op.f("pk_rejection")),
    )
    op.create_table(
        "order_event",
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.String(length=512), nullable=False),
        sa.Column("document_id", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["activation_order.id"],
            name=op.f("fk_order_event_order_id_activation_order"),
        ),
        sa.PrimaryKeyConstraint("order_id", "seq", name=op.f("pk_order_event")),
    )
    op.create_index(
        op.f("ix_order_event_document_id"), "order_event", ["document_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_order_event_document_id"), table_name="order_event")
    op.drop_table("order_event")
    op.drop_table("rejection")
