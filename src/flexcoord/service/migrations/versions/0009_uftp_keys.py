"""UFTP: the participants' public keys, with validity (rotation).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "uftp_key",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("domain", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("public_key", sa.String(length=200), nullable=False),
        sa.Column("valid_from", _AT, nullable=False),
        sa.Column("valid_until", _AT, nullable=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_uftp_key")),
        sa.UniqueConstraint("domain", "role", "public_key", name=op.f("uq_uftp_key_domain")),
    )


def downgrade() -> None:
    op.drop_table("uftp_key")
