"""Attribution tags: tag sets (TagPacks, users' CSV) and their tags.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tag_sets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("files", sa.JSON, nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tag_count", sa.Integer, nullable=False),
        sa.Column("problems", sa.JSON, nullable=False),
        sa.UniqueConstraint("sha256", name="uq_tag_sets_sha256"),
    )
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "tag_set_id",
            sa.Integer,
            sa.ForeignKey("tag_sets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("chain", sa.String(64), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("category", sa.String(64)),
        sa.Column("abuse", sa.String(64)),
        sa.Column("actor", sa.Text),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("confidence", sa.Integer),
        sa.Column("jurisdiction", sa.Text),
        sa.Column("valid", sa.Boolean),
        sa.Column("reason", sa.Text),
        sa.Column("origin", sa.Text, nullable=False),
    )
    op.create_index("ix_tags_address", "tags", ["address"])
    op.create_index("ix_tags_tag_set_id", "tags", ["tag_set_id"])


def downgrade() -> None:
    op.drop_table("tags")
    op.drop_table("tag_sets")
