"""Monitoring: exchange events, decisions and alerts.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("chain", sa.String(32)),
        sa.Column("asset", sa.String(64)),
        sa.Column("amount", sa.String(64)),
        sa.Column("address", sa.Text),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
    )
    op.create_index("ix_events_customer_id_time", "events", ["customer_id", "time"])
    op.create_index("ix_events_type_time", "events", ["type", "time"])
    op.create_index("ix_events_address", "events", ["address"])
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.String(36), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("snapshots", sa.JSON, nullable=False),
        sa.Column("rules_version", sa.String(64), nullable=False),
        sa.Column("engine_version", sa.String(32), nullable=False),
        sa.UniqueConstraint("decision_id", name="uq_decisions_decision_id"),
    )
    op.create_index("ix_decisions_event_id", "decisions", ["event_id"])
    op.create_index(
        "ix_decisions_customer_id_decided_at", "decisions", ["customer_id", "decided_at"]
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customer_id", sa.String(128)),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("summary_ja", sa.Text, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("evidence_key", sa.String(64), nullable=False),
        sa.Column("decision_id", sa.String(36)),
        sa.Column("event_id", sa.String(128)),
        sa.Column("snapshot_id", sa.Integer),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("ix_alerts_customer_id_time", "alerts", ["customer_id", "time"])
    op.create_index("ix_alerts_rule_time", "alerts", ["rule", "time"])
    op.create_index(
        "ix_alerts_rule_subject_evidence_key", "alerts", ["rule", "subject", "evidence_key"]
    )


def downgrade() -> None:
    op.drop_table("alerts")
    op.drop_table("decisions")
    op.drop_table("events")
