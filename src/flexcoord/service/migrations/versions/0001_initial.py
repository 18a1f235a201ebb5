"""Initial schema: parties, credentials, the register (areas, connection points, units, groups),
the audit chain with its head row, and the triggers that keep audit events append-only.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The ``prev_sha256`` of the first audit event (the head of an empty chain).
GENESIS_SHA256 = "0" * 64
#: Triggers refusing UPDATE and DELETE on audit events, per dialect.
_APPEND_ONLY = {
    "sqlite": (
        "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
        "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
    ),
    "postgresql": (
        "CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit events are append-only'; END $$",
        "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
        "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()",
    ),
}
_DROP_APPEND_ONLY = {
    "sqlite": (
        "DROP TRIGGER audit_event_no_update",
        "DROP TRIGGER audit_event_no_delete",
    ),
    "postgresql": (
        "DROP TRIGGER audit_event_no_truncate ON audit_event",
        "DROP TRIGGER audit_event_append_only ON audit_event",
        "DROP FUNCTION audit_event_append_only()",
    ),
}


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("party_id", sa.String(length=64), nullable=True),
        sa.Column("credential_id", sa.String(length=32), nullable=True),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("prev_sha256", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_event")),
        sa.UniqueConstraint("sha256", name=op.f("uq_audit_event_sha256")),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "party",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party")),
    )
    op.create_table(
        "credential",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("party_id", sa.String(length=64), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["party_id"], ["party.id"], name=op.f("fk_credential_party_id_party")
        ),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_credential")),
    )
    with op.batch_alter_table("credential", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credential_party_id"), ["party_id"], unique=False)

    op.create_table(
        "grid_area",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["party.id"], name=op.f("fk_grid_area_owner_id_party")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_area")),
    )
    with op.batch_alter_table("grid_area", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_area_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "resource_group",
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["party.id"], name=op.f("fk_resource_group_owner_id_party")
        ),
        sa.PrimaryKeyConstraint("owner_id", "id", name=op.f("pk_resource_group")),
    )
    op.create_table(
        "connection_point",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("area_id", sa.String(length=64), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["grid_area.id"], name=op.f("fk_connection_point_area_id_grid_area")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["party.id"], name=op.f("fk_connection_point_owner_id_party")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connection_point")),
    )
    with op.batch_alter_table("connection_point", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_connection_point_area_id"), ["area_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_connection_point_owner_id"), ["owner_id"], unique=False
        )

    op.create_table(
        "unit",
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("connection_point_id", sa.String(length=64), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_point_id"],
            ["connection_point.id"],
            name=op.f("fk_unit_connection_point_id_connection_point"),
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["party.id"], name=op.f("fk_unit_owner_id_party")),
        sa.PrimaryKeyConstraint("owner_id", "id", name=op.f("pk_unit")),
    )
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_unit_connection_point_id"), ["connection_point_id"], unique=False
        )

    op.create_table(
        "group_member",
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id", "group_id"],
            ["resource_group.owner_id", "resource_group.id"],
            name=op.f("fk_group_member_owner_id_resource_group"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id", "unit_id"],
            ["unit.owner_id", "unit.id"],
            name=op.f("fk_group_member_owner_id_unit"),
        ),
        sa.PrimaryKeyConstraint("owner_id", "group_id", "unit_id", name=op.f("pk_group_member")),
        sa.UniqueConstraint("owner_id", "unit_id", name=op.f("uq_group_member_owner_id")),
    )
    op.execute(
        sa.text("INSERT INTO audit_head (id, seq, sha256) VALUES (1, 0, :genesis)").bindparams(
            genesis=GENESIS_SHA256
        )
    )
    for statement in _APPEND_ONLY.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def downgrade() -> None:
    for statement in _DROP_APPEND_ONLY.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
    op.drop_table("group_member")
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_connection_point_id"))

    op.drop_table("unit")
    with op.batch_alter_table("connection_point", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connection_point_owner_id"))
        batch_op.drop_index(batch_op.f("ix_connection_point_area_id"))

    op.drop_table("connection_point")
    op.drop_table("resource_group")
    with op.batch_alter_table("grid_area", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_area_owner_id"))

    op.drop_table("grid_area")
    with op.batch_alter_table("credential", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credential_party_id"))

    op.drop_table("credential")
    op.drop_table("party")
    op.drop_table("audit_head")
    op.drop_table("audit_event")
