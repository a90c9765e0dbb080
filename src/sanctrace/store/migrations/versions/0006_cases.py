"""Cases: users and API keys, console sessions, cases and their alerts and notes, decision
memory (suppressions), holds, the hash-chained audit log, legal holds, webhook deliveries and
tasks; alerts gain their listed entity and the suppression that muted them.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(None), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.UniqueConstraint("name", name="uq_users_name"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("name", name="uq_api_keys_name"),
    )
    op.create_index("ix_api_keys_prefix", "api_keys", ["prefix"])
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.UniqueConstraint("token_hash", name="uq_sessions_token_hash"),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(None), nullable=False),
        sa.Column("customer_id", sa.String(128)),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(64)),
        sa.Column("due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disposition", sa.String(24)),
        sa.Column("reason", sa.String(None)),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sa.String(64)),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("approved_by", sa.String(64)),
        sa.Column("approved_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_cases_state_due", "cases", ["state", "due"])
    op.create_index(
        "ix_cases_subject_type_subject_state", "cases", ["subject_type", "subject", "state"]
    )
    op.create_table(
        "case_alerts",
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id"), primary_key=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_case_alerts_alert_id", "case_alerts", ["alert_id"])
    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.String(None), nullable=False),
        sa.Column("content", sa.JSON),
    )
    op.create_index("ix_case_notes_case_id", "case_notes", ["case_id"])
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("entity_id", sa.String(255), nullable=False),
        sa.Column("entity_fingerprint", sa.String(64)),
        sa.Column("customer_fingerprint", sa.String(64)),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id")),
        sa.Column("decided_by", sa.String(64), nullable=False),
        sa.Column("approved_by", sa.String(64)),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_reason", sa.String(None)),
    )
    op.create_index(
        "ix_suppressions_customer_id_entity_id", "suppressions", ["customer_id", "entity_id"]
    )
    op.create_table(
        "holds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.String(36), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("chain", sa.String(32)),
        sa.Column("asset", sa.String(64)),
        sa.Column("amount", sa.String(64)),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id")),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(64)),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("reason", sa.String(None)),
        sa.UniqueConstraint("decision_id", name="uq_holds_decision_id"),
    )
    op.create_index("ix_holds_state", "holds", ["state"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(128), nullable=False),
        sa.Column("before", sa.JSON),
        sa.Column("after", sa.JSON),
        sa.Column("reason", sa.String(None)),
        sa.Column("record_type", sa.String(32), nullable=False),
        sa.Column("purged", sa.Boolean, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_log_object_type_object_id", "audit_log", ["object_type", "object_id"])
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(128), nullable=False),
        sa.Column("reason", sa.String(None), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_error", sa.String(None)),
        sa.Column("log", sa.JSON, nullable=False),
    )
    op.create_index(
        "ix_webhook_deliveries_delivered_at_next_attempt_at",
        "webhook_deliveries",
        ["delivered_at", "next_attempt_at"],
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(None), nullable=False),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id")),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("done_by", sa.String(64)),
        sa.Column("done_at", sa.DateTime(timezone=True)),
    )
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("entity_id", sa.String(255)))
        batch.add_column(sa.Column("suppressed_by", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("suppressed_by")
        batch.drop_column("entity_id")
    op.drop_table("tasks")
    op.drop_table("webhook_deliveries")
    op.drop_table("legal_holds")
    op.drop_table("audit_log")
    op.drop_table("holds")
    op.drop_table("suppressions")
    op.drop_table("case_notes")
    op.drop_table("case_alerts")
    op.drop_table("cases")
    op.drop_table("sessions")
    op.drop_table("api_keys")
    op.drop_table("users")
