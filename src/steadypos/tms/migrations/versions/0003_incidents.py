"""Incidents (alerts grouped by dedup key, with the remedy's before/after figure), maintenance
records, training records, operators' errors and rules (policies).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
TIME = sa.DateTime(timezone=True)


def _incidents() -> None:
    op.create_table(
        "tms_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(length=120), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("cause", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("mid", sa.String(length=15), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.Column("opened_at", TIME, nullable=False),
        sa.Column("acked_at", TIME, nullable=True),
        sa.Column("acked_by", sa.String(length=80), nullable=True),
        sa.Column("resolved_at", TIME, nullable=True),
        sa.Column("resolved_by", sa.String(length=80), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("figure", sa.String(length=32), nullable=False),
        sa.Column("window_minutes", sa.Integer(), nullable=False),
        sa.Column("before", sa.Double(), nullable=True),
        sa.Column("after", sa.Double(), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("steps_done", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("dedup_key", "cause", "status", "mid", "merged_into"):
        op.create_index(op.f(f"ix_tms_incidents_{column}"), "tms_incidents", [column])


def _upkeep() -> None:
    op.create_table(
        "tms_maintenance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tid", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("scheduled_for", TIME, nullable=True),
        sa.Column("done_at", TIME, nullable=True),
        sa.Column("by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_tms_maintenance_tid"), "tms_maintenance", ["tid"])
    op.create_index(op.f("ix_tms_maintenance_done_at"), "tms_maintenance", ["done_at"])
    op.create_table(
        "tms_training",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("tid", sa.String(length=8), nullable=True),
        sa.Column("mid", sa.String(length=15), nullable=True),
        sa.Column("course", sa.String(length=100), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("at", TIME, nullable=False),
        sa.Column("done_at", TIME, nullable=True),
        sa.Column("by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_tms_training_operator"), "tms_training", ["operator"])
    op.create_index(op.f("ix_tms_training_mid"), "tms_training", ["mid"])
    op.create_table(
        "tms_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_key", sa.String(length=120), nullable=False),
        sa.Column("target", sa.JSON(), nullable=False),
        sa.Column("min_app_version", sa.String(length=32), nullable=True),
        sa.Column("grace_days", sa.Integer(), nullable=False),
        sa.Column("maintenance_interval_days", sa.Integer(), nullable=True),
        sa.Column("training_required", sa.Boolean(), nullable=False),
        sa.Column("missing_after_minutes", sa.Integer(), nullable=True),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("target_key"),
    )
    op.create_table(
        "tms_operator_errors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("tid", sa.String(length=8), nullable=False),
        sa.Column("mid", sa.String(length=15), nullable=False),
        sa.Column("cause", sa.String(length=40), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_tms_operator_errors_operator"), "tms_operator_errors", ["operator"])
    op.create_index(op.f("ix_tms_operator_errors_mid"), "tms_operator_errors", ["mid"])


def upgrade() -> None:
    _incidents()
    _upkeep()


def downgrade() -> None:
    for table in ("tms_operator_errors", "tms_policies", "tms_training", "tms_maintenance",
                  "tms_incidents"):
        op.drop_table(table)
