"""Parameters, releases and staged rollouts, telemetry: templates and versions, assignments,
releases, rollouts and the terminals offered, heartbeats and session counts, log uploads, alerts;
and the terminal's parameter and telemetry columns.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tms_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(length=120), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("cause", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("mid", sa.String(length=15), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_tms_alerts_dedup_key"), "tms_alerts", ["dedup_key"], unique=False)
    op.create_index(op.f("ix_tms_alerts_mid"), "tms_alerts", ["mid"], unique=False)
    op.create_table(
        "tms_heartbeats",
        sa.Column("tid", sa.String(length=8), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("app_version", sa.String(length=32), nullable=False),
        sa.Column("params_version", sa.Integer(), nullable=False),
        sa.Column("battery_pct", sa.Integer(), nullable=True),
        sa.Column("power", sa.String(length=16), nullable=True),
        sa.Column("cpu_temp_c", sa.Integer(), nullable=True),
        sa.Column("mem_free_mb", sa.Integer(), nullable=True),
        sa.Column("mem_total_mb", sa.Integer(), nullable=True),
        sa.Column("storage_free_mb", sa.Integer(), nullable=True),
        sa.Column("signal_dbm", sa.Integer(), nullable=True),
        sa.Column("printer", sa.String(length=16), nullable=True),
        sa.Column("pending_reversals", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("open_batch", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("tid", "ts"),
    )
    op.create_table(
        "tms_log_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tid", sa.String(length=8), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("bad_lines", sa.Integer(), nullable=False),
        sa.Column("episodes", sa.Integer(), nullable=False),
        sa.Column("cause", sa.String(length=40), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tid", "sha256"),
    )
    op.create_index(op.f("ix_tms_log_uploads_tid"), "tms_log_uploads", ["tid"], unique=False)
    op.create_table(
        "tms_param_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "tms_releases",
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.Column("compatible", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("package", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_table(
        "tms_session_counts",
        sa.Column("tid", sa.String(length=8), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("app_version", sa.String(length=32), nullable=False),
        sa.Column("started", sa.Integer(), nullable=False),
        sa.Column("crashed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tid", "ts", "app_version"),
    )
    op.create_index(
        op.f("ix_tms_session_counts_app_version"),
        "tms_session_counts",
        ["app_version"],
        unique=False,
    )
    op.create_index(op.f("ix_tms_session_counts_ts"), "tms_session_counts", ["ts"], unique=False)
    op.create_table(
        "tms_param_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.JSON(), nullable=False),
        sa.Column("terminals", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["tms_param_templates.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_tms_param_assignments_template_id"),
        "tms_param_assignments",
        ["template_id"],
        unique=False,
    )
    op.create_table(
        "tms_param_versions",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["tms_param_templates.id"],
        ),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_index(
        op.f("ix_tms_param_versions_template_id"),
        "tms_param_versions",
        ["template_id"],
        unique=False,
    )
    op.create_table(
        "tms_rollouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release", sa.String(length=32), nullable=False),
        sa.Column("target", sa.JSON(), nullable=False),
        sa.Column("stages", sa.JSON(), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("min_sessions", sa.Integer(), nullable=False),
        sa.Column("max_crash_free_drop", sa.Double(), nullable=False),
        sa.Column("observe_minutes", sa.Integer(), nullable=False),
        sa.Column("reason", sa.JSON(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["release"],
            ["tms_releases.version"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_tms_rollouts_release"), "tms_rollouts", ["release"], unique=False)
    op.create_index(op.f("ix_tms_rollouts_state"), "tms_rollouts", ["state"], unique=False)
    op.create_table(
        "tms_rollout_terminals",
        sa.Column("rollout_id", sa.Integer(), nullable=False),
        sa.Column("tid", sa.String(length=8), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("from_version", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rollout_id"],
            ["tms_rollouts.id"],
        ),
        sa.PrimaryKeyConstraint("rollout_id", "tid"),
    )
    op.create_index(
        op.f("ix_tms_rollout_terminals_tid"), "tms_rollout_terminals", ["tid"], unique=False
    )
    op.add_column("tms_terminals", sa.Column("template_id", sa.Integer(), nullable=True))
    op.add_column(
        "tms_terminals",
        sa.Column("assigned_version", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("tms_terminals", sa.Column("params_version", sa.Integer(), nullable=True))
    op.add_column("tms_terminals", sa.Column("reported_params", sa.JSON(), nullable=True))
    op.add_column(
        "tms_terminals",
        sa.Column("params_flag", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "tms_terminals",
        sa.Column("params_push", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("tms_terminals", sa.Column("app_version", sa.String(length=32), nullable=True))
    op.add_column(
        "tms_terminals", sa.Column("last_heartbeat", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("tms_terminals", sa.Column("health", sa.JSON(), nullable=True))
    op.add_column(
        "tms_terminals",
        sa.Column("pending_reversals", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("tms_terminals", sa.Column("open_batch", sa.Integer(), nullable=True))
    op.add_column("tms_terminals", sa.Column("release_report", sa.JSON(), nullable=True))
    op.create_index(
        op.f("ix_tms_terminals_last_heartbeat"), "tms_terminals", ["last_heartbeat"], unique=False
    )
    op.create_index(
        op.f("ix_tms_terminals_template_id"), "tms_terminals", ["template_id"], unique=False
    )


def downgrade() -> None:
    with op.batch_alter_table("tms_terminals") as batch:
        batch.drop_column("release_report")
        batch.drop_column("open_batch")
        batch.drop_column("pending_reversals")
        batch.drop_column("health")
        batch.drop_column("last_heartbeat")
        batch.drop_column("app_version")
        batch.drop_column("params_push")
        batch.drop_column("params_flag")
        batch.drop_column("reported_params")
        batch.drop_column("params_version")
        batch.drop_column("assigned_version")
        batch.drop_column("template_id")
    op.drop_index(op.f("ix_tms_terminals_template_id"), table_name="tms_terminals")
    op.drop_index(op.f("ix_tms_terminals_last_heartbeat"), table_name="tms_terminals")
    op.drop_index(op.f("ix_tms_rollout_terminals_tid"), table_name="tms_rollout_terminals")
    op.drop_table("tms_rollout_terminals")
    op.drop_index(op.f("ix_tms_rollouts_state"), table_name="tms_rollouts")
    op.drop_index(op.f("ix_tms_rollouts_release"), table_name="tms_rollouts")
    op.drop_table("tms_rollouts")
    op.drop_index(op.f("ix_tms_param_versions_template_id"), table_name="tms_param_versions")
    op.drop_table("tms_param_versions")
    op.drop_index(op.f("ix_tms_param_assignments_template_id"), table_name="tms_param_assignments")
    op.drop_table("tms_param_assignments")
    op.drop_index(op.f("ix_tms_session_counts_ts"), table_name="tms_session_counts")
    op.drop_index(op.f("ix_tms_session_counts_app_version"), table_name="tms_session_counts")
    op.drop_table("tms_session_counts")
    op.drop_table("tms_releases")
    op.drop_table("tms_param_templates")
    op.drop_index(op.f("ix_tms_log_uploads_tid"), table_name="tms_log_uploads")
    op.drop_table("tms_log_uploads")
    op.drop_table("tms_heartbeats")
    op.drop_index(op.f("ix_tms_alerts_mid"), table_name="tms_alerts")
    op.drop_index(op.f("ix_tms_alerts_dedup_key"), table_name="tms_alerts")
    op.drop_table("tms_alerts")
