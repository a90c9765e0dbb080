"""Foundation: list snapshots, entities, names, crypto addresses, customers and wallets.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "snapshots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("version", sa.String(64)),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("files", sa.JSON, nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entity_count", sa.Integer, nullable=False),
        sa.Column("name_count", sa.Integer, nullable=False),
        sa.Column("address_count", sa.Integer, nullable=False),
        sa.Column("invalid_address_count", sa.Integer, nullable=False),
        sa.Column("stats", sa.JSON, nullable=False),
        sa.Column("warnings", sa.JSON, nullable=False),
        sa.UniqueConstraint("source", "sha256", name="uq_snapshots_source_sha256"),
    )
    op.create_table(
        "active_snapshots",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id"), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "entities",
        sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id"), primary_key=True),
        sa.Column("entity_id", sa.String(255), primary_key=True),
        sa.Column("schema", sa.String(32), nullable=False),
        sa.Column("source_id", sa.String(255), nullable=False),
        sa.Column("caption", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
    )
    op.create_table(
        "entity_names",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id"), nullable=False),
        sa.Column("entity_id", sa.String(255), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("script", sa.String(16), nullable=False),
        sa.Column("lang", sa.String(8)),
    )
    op.create_index(
        "ix_entity_names_snapshot_id_entity_id", "entity_names", ["snapshot_id", "entity_id"]
    )
    op.create_table(
        "crypto_addresses",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id"), nullable=False),
        sa.Column("entity_id", sa.String(255), nullable=False),
        sa.Column("asset", sa.String(16), nullable=False),
        sa.Column("chain", sa.String(16), nullable=False),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("raw", sa.String(255), nullable=False),
        sa.Column("valid", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(255)),
    )
    op.create_index("ix_crypto_addresses_address", "crypto_addresses", ["address"])
    op.create_index("ix_crypto_addresses_snapshot_id", "crypto_addresses", ["snapshot_id"])
    op.create_table(
        "customers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("country", sa.String(2)),
        sa.Column("birth_date", sa.String(10)),
        sa.Column("nationality", sa.String(2)),
        sa.Column("residence", sa.String(2)),
        sa.Column("incorporated", sa.String(10)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
    )
    op.create_table(
        "customer_names",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "customer_id",
            sa.String(64),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("script", sa.String(16), nullable=False),
    )
    op.create_index("ix_customer_names_customer_id", "customer_names", ["customer_id"])
    op.create_table(
        "wallets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "customer_id",
            sa.String(64),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("chain", sa.String(16), nullable=False),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "chain", "address", "customer_id", name="uq_wallets_chain_address_customer_id"
        ),
    )
    op.create_index("ix_wallets_address", "wallets", ["address"])


def downgrade() -> None:
    for table in (
        "wallets",
        "customer_names",
        "customers",
        "crypto_addresses",
        "entity_names",
        "entities",
        "active_snapshots",
        "snapshots",
    ):
        op.drop_table(table)
