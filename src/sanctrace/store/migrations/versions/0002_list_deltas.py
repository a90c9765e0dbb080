"""List deltas between snapshots, and the record of downloads.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deltas",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("old_snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id")),
        sa.Column("new_snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id"), nullable=False),
        sa.Column("entity_id", sa.String(255), nullable=False),
        sa.Column("change", sa.String(8), nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
    )
    op.create_index(
        "ix_deltas_old_snapshot_id_new_snapshot_id",
        "deltas",
        ["old_snapshot_id", "new_snapshot_id"],
    )
    op.create_table(
        "fetches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("etag", sa.String(255)),
        sa.Column("last_modified", sa.String(64)),
        sa.Column("sha256", sa.String(64)),
        sa.Column("bytes", sa.BigInteger),
    )
    op.create_index("ix_fetches_source_url", "fetches", ["source", "url"])


def downgrade() -> None:
    op.drop_table("fetches")
    op.drop_table("deltas")
