"""Messaging: the transactional outbox and the parties' broker credentials.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_message",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("party_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=200), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ack_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["party_id"], ["party.id"], name=op.f("fk_outbox_message_party_id_party")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_message_message_id")),
    )
    op.create_index(
        op.f("ix_outbox_message_party_id"), "outbox_message", ["party_id"], unique=False
    )
    op.create_index(
        "ix_outbox_message_status_seq", "outbox_message", ["status", "seq"], unique=False
    )
    op.create_table(
        "broker_credential",
        sa.Column("party_id", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["party_id"], ["party.id"], name=op.f("fk_broker_credential_party_id_party")
        ),
        sa.PrimaryKeyConstraint("party_id", name=op.f("pk_broker_credential")),
    )


def downgrade() -> None:
    op.drop_table("broker_credential")
    op.drop_index("ix_outbox_message_status_seq", table_name="outbox_message")
    op.drop_index(op.f("ix_outbox_message_party_id"), table_name="outbox_message")
    op.drop_table("outbox_message")
