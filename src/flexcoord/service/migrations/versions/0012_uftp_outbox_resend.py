"""UFTP outbox: a rejected message an operator re-sent as a new one (``replaces_message_id``,
unique: a rejected message is re-sent once).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("uftp_outbox") as batch:
        batch.add_column(sa.Column("replaces_message_id", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(
            op.f("uq_uftp_outbox_replaces_message_id"), ["replaces_message_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("uftp_outbox") as batch:
        batch.drop_constraint(op.f("uq_uftp_outbox_replaces_message_id"), type_="unique")
        batch.drop_column("replaces_message_id")
