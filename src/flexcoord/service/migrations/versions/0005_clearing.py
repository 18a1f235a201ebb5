"""Clearing: the session's scheme, clearing runs, awards, activation orders, meter readings,
settlement runs and statements.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".", maxsplit=1)[0]
    return sa.ForeignKeyConstraint([column], [target], name=op.f(f"fk_{table}_{column}_{referred}"))


def upgrade() -> None:
    with op.batch_alter_table("market_session") as batch:
        batch.add_column(
            sa.Column(
                "scheme", sa.String(length=64), nullable=False, server_default="smartnet-common"
            )
        )
    op.create_table(
        "clearing_run",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("lease_until", _AT, nullable=False),
        sa.Column("started_at", _AT, nullable=False),
        sa.Column("finished_at", _AT, nullable=True),
        sa.Column("result_sha256", sa.String(length=64), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        _fk("clearing_run", "session_id", "market_session.id"),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_clearing_run")),
    )
    op.create_table(
        "award",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("bid_id", sa.String(length=64), nullable=False),
        sa.Column("mtu_start", _AT, nullable=False),
        sa.Column("market_id", sa.String(length=64), nullable=False),
        sa.Column("buyer_id", sa.String(length=64), nullable=False),
        sa.Column("mtu_end", _AT, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("quantity_mw", sa.Float(), nullable=False),
        sa.Column("price_eur_per_unit", sa.Float(), nullable=False),
        sa.Column("payment_eur", sa.Float(), nullable=False),
        _fk("award", "session_id", "market_session.id"),
        _fk("award", "owner_id", "party.id"),
        _fk("award", "buyer_id", "party.id"),
        sa.PrimaryKeyConstraint(
            "session_id",
            "owner_id",
            "bid_id",
            "mtu_start",
            "market_id",
            "buyer_id",
            name=op.f("pk_award"),
        ),
    )
    op.create_index(op.f("ix_award_buyer_id"), "award", ["buyer_id"], unique=False)
    op.create_table(
        "activation_order",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("bid_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("buyer_id", sa.String(length=64), nullable=True),
        sa.Column("mtu_start", _AT, nullable=False),
        sa.Column("mtu_end", _AT, nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("quantity_mw", sa.Float(), nullable=False),
        sa.Column("issued_at", _AT, nullable=False),
        _fk("activation_order", "session_id", "market_session.id"),
        _fk("activation_order", "owner_id", "party.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activation_order")),
    )
    for column in ("session_id", "owner_id", "buyer_id"):
        op.create_index(
            op.f(f"ix_activation_order_{column}"), "activation_order", [column], unique=False
        )
    op.create_table(
        "meter_reading",
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("start", _AT, nullable=False),
        sa.Column("end", _AT, nullable=False),
        sa.Column("mw", sa.Float(), nullable=False),
        sa.Column("uploaded_at", _AT, nullable=False),
        _fk("meter_reading", "owner_id", "party.id"),
        sa.PrimaryKeyConstraint("owner_id", "unit_id", "start", name=op.f("pk_meter_reading")),
    )
    op.create_table(
        "statement",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("party_id", sa.String(length=64), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        _fk("statement", "session_id", "market_session.id"),
        _fk("statement", "party_id", "party.id"),
        sa.PrimaryKeyConstraint("session_id", "party_id", name=op.f("pk_statement")),
    )

    op.create_table(
        "settlement_run",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", _AT, nullable=False),
        sa.Column("finished_at", _AT, nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        _fk("settlement_run", "session_id", "market_session.id"),
        _fk("settlement_run", "requested_by", "party.id"),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_settlement_run")),
    )


def downgrade() -> None:
    op.drop_table("settlement_run")
    op.drop_table("statement")
    op.drop_table("meter_reading")
    for column in ("buyer_id", "owner_id", "session_id"):
        op.drop_index(op.f(f"ix_activation_order_{column}"), table_name="activation_order")
    op.drop_table("activation_order")
    op.drop_index(op.f("ix_award_buyer_id"), table_name="award")
    op.drop_table("award")
    op.drop_table("clearing_run")
    with op.batch_alter_table("market_session") as batch:
        batch.drop_column("scheme")
