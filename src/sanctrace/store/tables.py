"""The database schema, as SQLAlchemy Core tables (migrations in ``migrations/``)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# --- sanctions lists -------------------------------------------------------------------
snapshots = sa.Table(
    "snapshots",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("format", sa.String(32), nullable=False),
    sa.Column("version", sa.String(64)),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("files", sa.JSON, nullable=False),
    sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("entity_count", sa.Integer, nullable=False, default=0),
    sa.Column("name_count", sa.Integer, nullable=False, default=0),
    sa.Column("address_count", sa.Integer, nullable=False, default=0),
    sa.Column("invalid_address_count", sa.Integer, nullable=False, default=0),
    sa.Column("stats", sa.JSON, nullable=False),
    sa.Column("warnings", sa.JSON, nullable=False),
    # ISO publication date (migration 0008): the file's date, --version, or the server's
    # Last-Modified; what keeps loads monotonic.
    sa.Column("published", sa.String(10)),
    sa.UniqueConstraint("source", "sha256"),
)

active_snapshots = sa.Table(
    "active_snapshots",
    metadata,
    sa.Column("source", sa.String(64), primary_key=True),
    sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id"), nullable=False),
    sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
)

entities = sa.Table(
    "entities",
    metadata,
    sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id"), primary_key=True),
    sa.Column("entity_id", sa.String(255), primary_key=True),
    sa.Column("schema", sa.String(32), nullable=False),
    sa.Column("source_id", sa.String(255), nullable=False),
    sa.Column("caption", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
)

entity_names = sa.Table(
    "entity_names",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id"), nullable=False),
    sa.Column("entity_id", sa.String(255), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("script", sa.String(16), nullable=False),
    sa.Column("lang", sa.String(8)),
    sa.Index(None, "snapshot_id", "entity_id"),
)

crypto_addresses = sa.Table(
    "crypto_addresses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id"), nullable=False),
    sa.Column("entity_id", sa.String(255), nullable=False),
    sa.Column("asset", sa.String(16), nullable=False),
    sa.Column("chain", sa.String(16), nullable=False),
    sa.Column("address", sa.String(255), nullable=False),
    sa.Column("raw", sa.String(255), nullable=False),
    sa.Column("valid", sa.Boolean, nullable=False),
    sa.Column("reason", sa.String(255)),
    sa.Index(None, "address"),
    sa.Index(None, "snapshot_id"),
)

# --- the exchange's own customers ----------------------------------------------------------
customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # person | company
    sa.Column("country", sa.String(2)),
    sa.Column("birth_date", sa.String(10)),
    sa.Column("nationality", sa.String(2)),
    sa.Column("residence", sa.String(2)),
    sa.Column("incorporated", sa.String(10)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
)

customer_names = sa.Table(
    "customer_names",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "customer_id",
        sa.String(64),
        sa.ForeignKey("customers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # legal | reading | latin | alias
    sa.Column("script", sa.String(16), nullable=False),
    sa.Index(None, "customer_id"),
)

wallets = sa.Table(
    "wallets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "customer_id",
        sa.String(64),
        sa.ForeignKey("customers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("chain", sa.String(16), nullable=False),
    sa.Column("address", sa.String(255), nullable=False),
    sa.Column("purpose", sa.String(16), nullable=False),  # deposit | withdrawal
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("chain", "address", "customer_id"),
    sa.Index(None, "address"),
)

# --- list deltas and downloads (migration 0002) ---------------------------------------------
deltas = sa.Table(
    "deltas",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("old_snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id")),
    sa.Column("new_snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id"), nullable=False),
    sa.Column("entity_id", sa.String(255), nullable=False),
    sa.Column("change", sa.String(8), nullable=False),  # added | removed | changed
    sa.Column("fields", sa.JSON, nullable=False),
    sa.Index(None, "old_snapshot_id", "new_snapshot_id"),
)

fetches = sa.Table(
    "fetches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("etag", sa.String(255)),
    sa.Column("last_modified", sa.String(64)),
    sa.Column("sha256", sa.String(64)),
    sa.Column("bytes", sa.BigInteger),
    sa.Index(None, "source", "url"),
)

# --- name screening of customers (migration 0003) --------------------------------------------
screening_matches = sa.Table(
    "screening_matches",
    metadata,
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
    sa.Column("status", sa.String(16), nullable=False),  # open | retired
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("retired_reason", sa.Text),
    sa.Index(None, "customer_id"),
    sa.Index(None, "entity_id"),
)

# --- attribution tags (migration 0004) ---------------------------------------------------------
tag_sets = sa.Table(
    "tag_sets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # tagpack | csv
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("files", sa.JSON, nullable=False),
    sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("tag_count", sa.Integer, nullable=False, default=0),
    sa.Column("problems", sa.JSON, nullable=False),
    sa.UniqueConstraint("sha256"),
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "tag_set_id",
        sa.Integer,
        sa.ForeignKey("tag_sets.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("address", sa.Text, nullable=False),  # canonical form (chain.addresses)
    sa.Column("chain", sa.String(64), nullable=False),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("category", sa.String(64)),
    sa.Column("abuse", sa.String(64)),
    sa.Column("actor", sa.Text),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("confidence", sa.Integer),  # 0–100
    sa.Column("jurisdiction", sa.Text),
    sa.Column("valid", sa.Boolean),  # null: no validator for the chain
    sa.Column("reason", sa.Text),
    sa.Column("origin", sa.Text, nullable=False),  # file and tag number or line
    sa.Index(None, "address"),
    sa.Index(None, "tag_set_id"),
)

# --- monitoring: events, decisions, alerts (migration 0005) ------------------------------------
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(128), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("customer_id", sa.String(128), nullable=False),
    # Copied out of the payload for the lookback and the windowed rules.
    sa.Column("chain", sa.String(32)),
    sa.Column("asset", sa.String(64)),
    sa.Column("amount", sa.String(64)),  # the decimal string as sent
    sa.Column("address", sa.Text),  # deposit: the exchange's address; withdrawal: destination
    sa.Column("payload", sa.JSON, nullable=False),  # the validated record, as JSON
    sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("event_id"),
    sa.Index(None, "customer_id", "time"),
    sa.Index(None, "type", "time"),
    sa.Index(None, "address"),
)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("decision_id", sa.String(36), nullable=False),
    sa.Column("event_id", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # deposit | withdrawal
    sa.Column("customer_id", sa.String(128), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decision", sa.String(8), nullable=False),  # allow | hold | block
    sa.Column("reasons", sa.JSON, nullable=False),
    sa.Column("inputs", sa.JSON, nullable=False),  # the exact request
    sa.Column("snapshots", sa.JSON, nullable=False),  # {source: snapshot id}
    sa.Column("rules_version", sa.String(64), nullable=False),
    sa.Column("engine_version", sa.String(32), nullable=False),
    sa.UniqueConstraint("decision_id"),
    sa.Index(None, "event_id"),
    sa.Index(None, "customer_id", "decided_at"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("customer_id", sa.String(128)),  # null: no customer known (a counterparty)
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("action", sa.String(8), nullable=False),  # alert | hold | block
    sa.Column("subject", sa.Text, nullable=False),  # what it is about: an address, a name …
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("summary_ja", sa.Text, nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("evidence_key", sa.String(64), nullable=False),  # duplicates share it
    sa.Column("decision_id", sa.String(36)),
    sa.Column("event_id", sa.String(128)),
    sa.Column("snapshot_id", sa.Integer),  # the list snapshot that caused it (lookback)
    sa.Column("count", sa.Integer, nullable=False, default=1),
    sa.Column("status", sa.String(16), nullable=False),  # open | closed
    sa.Column("entity_id", sa.String(255)),  # the listed entity it is about, when one
    sa.Column("suppressed_by", sa.Integer),  # the suppression (decision memory) that muted it
    sa.Index(None, "customer_id", "time"),
    sa.Index(None, "rule", "time"),
    sa.Index(None, "rule", "subject", "evidence_key"),
)

# --- cases: users, keys, cases, holds, audit, webhooks, tasks (migration 0006) -----------------
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),  # analyst | approver | admin | auditor
    sa.Column("password_hash", sa.Text, nullable=False),  # argon2id
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.UniqueConstraint("name"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),  # shown, and the lookup
    sa.Column("key_hash", sa.String(64), nullable=False),  # SHA-256 of the whole key
    sa.Column("scopes", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("name"),
    sa.Index(None, "prefix"),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False),  # SHA-256 of the cookie's token
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.UniqueConstraint("token_hash"),
)

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subject_type", sa.String(16), nullable=False),  # customer | counterparty
    sa.Column("subject", sa.Text, nullable=False),  # the customer id, or the address
    sa.Column("customer_id", sa.String(128)),
    # open | in_review | pending_approval | closed | reopened
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("assignee", sa.String(64)),
    sa.Column("due", sa.DateTime(timezone=True), nullable=False),
    # true_match | false_positive | not_sanctions_related | escalated
    sa.Column("disposition", sa.String(24)),
    sa.Column("reason", sa.Text),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("closed_by", sa.String(64)),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
    sa.Column("approved_by", sa.String(64)),
    sa.Column("approved_at", sa.DateTime(timezone=True)),
    sa.Index(None, "subject_type", "subject", "state"),
    sa.Index(None, "state", "due"),
)

case_alerts = sa.Table(
    "case_alerts",
    metadata,
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), primary_key=True),
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id"), primary_key=True),
    sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index(None, "alert_id"),
)

case_notes = sa.Table(
    "case_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # comment | attachment
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("text", sa.Text, nullable=False),  # the comment, or the attachment's name
    sa.Column("content", sa.JSON),  # an attachment: evidence captured as JSON at the time
    sa.Index(None, "case_id"),
)

suppressions = sa.Table(
    "suppressions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("customer_id", sa.String(128), nullable=False),
    sa.Column("entity_id", sa.String(255), nullable=False),
    sa.Column("entity_fingerprint", sa.String(64)),  # the listed record as decided on
    sa.Column("customer_fingerprint", sa.String(64)),  # the customer's screened data
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id")),
    sa.Column("decided_by", sa.String(64), nullable=False),
    sa.Column("approved_by", sa.String(64)),
    # pending_approval | active | invalidated | expired
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_reason", sa.Text),
    sa.Index(None, "customer_id", "entity_id"),
)

holds = sa.Table(
    "holds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("decision_id", sa.String(36), nullable=False),
    sa.Column("event_id", sa.String(128), nullable=False),
    sa.Column("customer_id", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # deposit | withdrawal
    sa.Column("chain", sa.String(32)),
    sa.Column("asset", sa.String(64)),
    sa.Column("amount", sa.String(64)),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id")),
    # held | release_pending | released | rejected
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("requested_by", sa.String(64)),  # who asked for the release (the maker)
    sa.Column("decided_by", sa.String(64)),  # who approved the release or rejected
    sa.Column("reason", sa.Text),
    sa.UniqueConstraint("decision_id"),
    sa.Index(None, "state"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),  # a user, a key, or "system"
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("object_type", sa.String(32), nullable=False),
    sa.Column("object_id", sa.String(128), nullable=False),
    sa.Column("before", sa.JSON),
    sa.Column("after", sa.JSON),
    sa.Column("reason", sa.Text),
    sa.Column("record_type", sa.String(32), nullable=False),  # for retention
    sa.Column("purged", sa.Boolean, nullable=False, default=False),  # content gone, hash kept
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index(None, "object_type", "object_id"),
)

legal_holds = sa.Table(
    "legal_holds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("object_type", sa.String(32), nullable=False),
    sa.Column("object_id", sa.String(128), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("released_at", sa.DateTime(timezone=True)),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_type", sa.String(64), nullable=False),  # e.g. hold.released
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    sa.Column("last_status", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("log", sa.JSON, nullable=False),  # every attempt: time, status, error
    sa.Index(None, "delivered_at", "next_attempt_at"),
)

tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),  # completed_transfer_notification
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id")),
    sa.Column("state", sa.String(16), nullable=False),  # open | done
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("done_by", sa.String(64)),
    sa.Column("done_at", sa.DateTime(timezone=True)),
)

# --- the console's queue and dashboard (migration 0007) ----------------------------------------
# Counts by severity and SLA read the indexes alone; the queue's sorts and filters walk one.
CONSOLE_INDEXES = (
    sa.Index(
        "ix_cases_state_severity_due_assignee",
        cases.c.state,
        cases.c.severity,
        cases.c.due,
        cases.c.assignee,
    ),
    sa.Index("ix_cases_severity_opened_at", cases.c.severity, cases.c.opened_at),
    sa.Index("ix_cases_opened_at", cases.c.opened_at),
    sa.Index("ix_cases_updated_at", cases.c.updated_at),
    sa.Index("ix_cases_assignee_state_due", cases.c.assignee, cases.c.state, cases.c.due),
    sa.Index("ix_alerts_status_severity", alerts.c.status, alerts.c.severity),
    sa.Index("ix_alerts_entity_id", alerts.c.entity_id),
    sa.Index("ix_decisions_decided_at", decisions.c.decided_at),
)

# --- durable list loads (migration 0008) -------------------------------------------------------
# The customer re-screen a load owes, written in the load's own transaction; done when finished.
rescreen_jobs = sa.Table(
    "rescreen_jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("old_snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id")),
    sa.Column("new_snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id"), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("result", sa.JSON),
    sa.Index("ix_rescreen_jobs_finished_at", "finished_at"),
)

# Every switch of a source's active snapshot: a load, a re-load, a deliberate rollback.
snapshot_activations = sa.Table(
    "snapshot_activations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id"), nullable=False),
    sa.Column("previous_id", sa.Integer, sa.ForeignKey("snapshots.id")),
    sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("reason", sa.String(16), nullable=False),  # load | reload | rollback
    sa.Column("note", sa.Text),
    sa.Index("ix_snapshot_activations_source", "source"),
)
