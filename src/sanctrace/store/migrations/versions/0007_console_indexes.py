"""Console indexes: the dashboard's counts by severity and SLA, the queue's sorts (opened,
updated), its assignee and list-source filters, "take next", and today's decisions.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_cases_state_severity_due_assignee", "cases", ["state", "severity", "due", "assignee"]),
    ("ix_cases_severity_opened_at", "cases", ["severity", "opened_at"]),
    ("ix_cases_opened_at", "cases", ["opened_at"]),
    ("ix_cases_updated_at", "cases", ["updated_at"]),
    ("ix_cases_assignee_state_due", "cases", ["assignee", "state", "due"]),
    ("ix_alerts_status_severity", "alerts", ["status", "severity"]),
    ("ix_alerts_entity_id", "alerts", ["entity_id"]),
    ("ix_decisions_decided_at", "decisions", ["decided_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
