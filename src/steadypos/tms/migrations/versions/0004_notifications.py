"""Notification hooks, their outbox, and when an incident was escalated.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tms_notify_hooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_tms_notify_hooks_owner"), "tms_notify_hooks", ["owner"])
    op.create_table(
        "tms_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idem_key", sa.String(length=120), nullable=False),
        sa.Column("hook_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", TIME, nullable=False),
        sa.Column("delivered_at", TIME, nullable=True),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idem_key"),
    )
    for column in ("hook_id", "incident_id", "next_at"):
        op.create_index(op.f(f"ix_tms_notifications_{column}"), "tms_notifications", [column])
    op.add_column("tms_incidents", sa.Column("escalated_at", TIME, nullable=True))


def downgrade() -> None:
    op.drop_column("tms_incidents", "escalated_at")
    op.drop_table("tms_notifications")
    op.drop_table("tms_notify_hooks")
