"""Name-screening matches of customers against list entities.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "screening_matches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "customer_id",
            sa.String(64),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("entity_id", sa.String(255), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id")),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("query_name", sa.Text, nullable=False),
        sa.Column("matched_name", sa.Text, nullable=False),
        sa.Column("explanation", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_reason", sa.Text),
    )
    op.create_index("ix_screening_matches_customer_id", "screening_matches", ["customer_id"])
    op.create_index("ix_screening_matches_entity_id", "screening_matches", ["entity_id"])


def downgrade() -> None:
    op.drop_table("screening_matches")
