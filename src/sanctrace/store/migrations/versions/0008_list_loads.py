"""Durable list loads: the re-screen job each load writes in its own transaction, the
record of every activation (load, re-load, rollback), and a snapshot's publication date.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("snapshots", sa.Column("published", sa.String(10)))
    op.create_table(
        "rescreen_jobs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("old_snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id")),
        sa.Column("new_snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("result", sa.JSON),
    )
    op.create_index("ix_rescreen_jobs_finished_at", "rescreen_jobs", ["finished_at"])
    op.create_table(
        "snapshot_activations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id"), nullable=False),
        sa.Column("previous_id", sa.Integer, sa.ForeignKey("snapshots.id")),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_snapshot_activations_source", "snapshot_activations", ["source"])


def downgrade() -> None:
    op.drop_index("ix_snapshot_activations_source", table_name="snapshot_activations")
    op.drop_table("snapshot_activations")
    op.drop_index("ix_rescreen_jobs_finished_at", table_name="rescreen_jobs")
    op.drop_table("rescreen_jobs")
    with op.batch_alter_table("snapshots") as batch:
        batch.drop_column("published")
