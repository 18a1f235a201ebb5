"""UFTP: the delivery outbox of flexcoord's FlexOrders and FlexSettlements, and declared
baselines (D-Prognosis).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".", maxsplit=1)[0]
    return sa.ForeignKeyConstraint([column], [target], name=op.f(f"fk_{table}_{column}_{referred}"))


def upgrade() -> None:
    op.create_table(
        "uftp_outbox",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("party_id", sa.String(length=64), nullable=False),
        sa.Column("message_type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.String(length=200), nullable=False),
        sa.Column("recipient_domain", sa.String(length=200), nullable=False),
        sa.Column("recipient_role", sa.String(length=8), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _AT, nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("sent_at", _AT, nullable=True),
        sa.Column("answered_at", _AT, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("rejection_reason", sa.String(length=500), nullable=True),
        _fk("uftp_outbox", "party_id", "party.id"),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_uftp_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_uftp_outbox_message_id")),
    )
    op.create_index(op.f("ix_uftp_outbox_party_id"), "uftp_outbox", ["party_id"], unique=False)
    op.create_index(
        "ix_uftp_outbox_status_next_attempt_at",
        "uftp_outbox",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_table(
        "baseline_value",
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("start", _AT, nullable=False),
        sa.Column("end", _AT, nullable=False),
        sa.Column("mw", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=24), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", _AT, nullable=False),
        _fk("baseline_value", "owner_id", "party.id"),
        sa.PrimaryKeyConstraint("owner_id", "unit_id", "start", name=op.f("pk_baseline_value")),
    )


def downgrade() -> None:
    op.drop_table("baseline_value")
    op.drop_index("ix_uftp_outbox_status_next_attempt_at", table_name="uftp_outbox")
    op.drop_index(op.f("ix_uftp_outbox_party_id"), table_name="uftp_outbox")
    op.drop_table("uftp_outbox")
