"""UFTP keys: who manages each key, the configuration file or the admin API (``source``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("uftp_key") as batch:
        batch.add_column(
            sa.Column("source", sa.String(length=8), server_default="config", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("uftp_key") as batch:
        batch.drop_column("source")
