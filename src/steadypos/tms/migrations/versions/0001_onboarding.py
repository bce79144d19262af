"""Onboarding and activation: users, tokens, login throttle, applications, merchants, terminals,
audit log, sequences.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tms_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("legal_name", sa.String(length=200), nullable=False),
        sa.Column("licence_no", sa.String(length=18), nullable=False),
        sa.Column("contact_name", sa.String(length=100), nullable=False),
        sa.Column("contact_phone", sa.String(length=11), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("settlement_account", sa.String(length=32), nullable=False),
        sa.Column("terminals_requested", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("mid", sa.String(length=15), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_tms_applications_licence_no"), "tms_applications", ["licence_no"], unique=False
    )
    op.create_table(
        "tms_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.String(length=40), nullable=False),
        sa.Column("mid", sa.String(length=15), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_tms_audit_at"), "tms_audit", ["at"], unique=False)
    op.create_index(op.f("ix_tms_audit_entity_id"), "tms_audit", ["entity_id"], unique=False)
    op.create_index(op.f("ix_tms_audit_mid"), "tms_audit", ["mid"], unique=False)
    op.create_table(
        "tms_login_throttle",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "tms_sequences",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "tms_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("mid", sa.String(length=15), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "tms_merchants",
        sa.Column("mid", sa.String(length=15), nullable=False),
        sa.Column("legal_name", sa.String(length=200), nullable=False),
        sa.Column("licence_no", sa.String(length=18), nullable=False),
        sa.Column("contact_name", sa.String(length=100), nullable=False),
        sa.Column("contact_phone", sa.String(length=11), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("settlement_account", sa.String(length=32), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["tms_applications.id"],
        ),
        sa.PrimaryKeyConstraint("mid"),
        sa.UniqueConstraint("licence_no"),
    )
    op.create_table(
        "tms_tokens",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("tid", sa.String(length=8), nullable=True),
        sa.Column("csrf", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["tms_users.id"],
        ),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_table(
        "tms_terminals",
        sa.Column("tid", sa.String(length=8), nullable=False),
        sa.Column("mid", sa.String(length=15), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("brand", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("firmware", sa.String(length=64), nullable=False),
        sa.Column("mac_algorithm", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("carrier", sa.String(length=64), nullable=True),
        sa.Column("tracking_no", sa.String(length=64), nullable=True),
        sa.Column("code_hash", sa.String(length=200), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pending_tmk", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["mid"],
            ["tms_merchants.mid"],
        ),
        sa.PrimaryKeyConstraint("tid"),
    )
    op.create_index(op.f("ix_tms_terminals_mid"), "tms_terminals", ["mid"], unique=False)
    op.create_index(op.f("ix_tms_terminals_model"), "tms_terminals", ["model"], unique=False)
    op.create_index(op.f("ix_tms_terminals_serial"), "tms_terminals", ["serial"], unique=False)
    op.create_index(op.f("ix_tms_terminals_status"), "tms_terminals", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_tms_terminals_status"), table_name="tms_terminals")
    op.drop_index(op.f("ix_tms_terminals_serial"), table_name="tms_terminals")
    op.drop_index(op.f("ix_tms_terminals_model"), table_name="tms_terminals")
    op.drop_index(op.f("ix_tms_terminals_mid"), table_name="tms_terminals")
    op.drop_table("tms_terminals")
    op.drop_table("tms_tokens")
    op.drop_table("tms_merchants")
    op.drop_table("tms_users")
    op.drop_table("tms_sequences")
    op.drop_table("tms_login_throttle")
    op.drop_index(op.f("ix_tms_audit_mid"), table_name="tms_audit")
    op.drop_index(op.f("ix_tms_audit_entity_id"), table_name="tms_audit")
    op.drop_index(op.f("ix_tms_audit_at"), table_name="tms_audit")
    op.drop_table("tms_audit")
    op.drop_index(op.f("ix_tms_applications_licence_no"), table_name="tms_applications")
    op.drop_table("tms_applications")
