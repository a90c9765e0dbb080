"""``sanctrace backup`` / ``restore`` (issue 16, item 9): a SQLite database with lists,
customers, decisions and an audit trail, and a chain store with a cluster map, backed up while
open, restored into a new place and found whole; damaged or unfinished backups and non-empty
targets refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from helpers import run
from monitor_helpers import LISTED, customer, load_list, withdrawal, write_list
from sanctrace.cases import audit, users
from sanctrace.errors import BadRequest, Conflict
from sanctrace.monitor.decisions import decide
from sanctrace.monitor.events import parse_event
from sanctrace.monitor.pipeline import process
from sanctrace.services.backup import (
    BACKUP_MANIFEST,
    BackupRequest,
    RestoreRequest,
    backup,
    restore,
)
from sanctrace.services.chain_data import chain_status, cluster_chain, load_chain
from sanctrace.services.context import Context
from sanctrace.settings import Settings
from sanctrace.store.tables import customers, decisions, snapshots

CHAIN_FILE = Path(__file__).parent / "fixtures" / "chain" / "btc" / "bigquery_block170.jsonl"


def _context(folder: Path) -> Context:
    return Context(Settings(db=f"sqlite:///{folder / 'sanctrace.db'}", data_dir=folder / "data"))


def _state(ctx: Context) -> dict:
    """Everything the test expects a restore to bring back."""
    with ctx.db.connect() as conn:
        rows = {
            "snapshots": conn.execute(
                sa.select(snapshots.c.id, snapshots.c.source, snapshots.c.sha256).order_by(
                    snapshots.c.id
                )
            ).all(),
            "customers": conn.execute(sa.select(customers.c.id).order_by(customers.c.id)).all(),
            "decisions": conn.execute(
                sa.select(decisions.c.event_id, decisions.c.decision).order_by(decisions.c.event_id)
            ).all(),
        }
    verified = audit.verify(ctx)
    return {
        **{k: [tuple(r) for r in v] for k, v in rows.items()},
        "audit": (verified.ok, verified.records, verified.head_id, verified.head_hash),
        "chain": [s.__dict__ for s in chain_status(ctx.chain_store)],
        "chain_manifest": ctx.chain_store.manifest(),
    }


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> tuple[Context, dict, Path]:
    """A working installation, backed up by the command while its database is open."""
    folder = tmp_path_factory.mktemp("source")
    ctx = _context(folder)
    load_list(ctx, write_list(folder / "list", 1))
    load_list(ctx, write_list(folder / "list", 2))  # two snapshots, a delta
    users.add_user(ctx, "alice", "admin", actor="test")  # audited
    process(ctx, [parse_event(customer(), "test"), parse_event(customer("C2"), "test")])
    assert decide(ctx, "withdrawal", withdrawal("w-block", address=LISTED)).decision == "block"
    assert decide(ctx, "withdrawal", withdrawal("w-allow")).decision == "allow"
    load_chain(ctx.chain_store, [CHAIN_FILE])
    cluster_chain(ctx.chain_store, "btc")
    state = _state(ctx)
    assert len(state["snapshots"]) == 2 and len(state["decisions"]) == 2 and state["audit"][0]
    assert state["chain_manifest"]["loads"]
    target = folder / "backup"
    # The command runs in another process while this one holds the database open.
    with ctx.db.connect() as held:
        held.execute(sa.select(snapshots.c.id)).all()
        result = run(
            "--data-dir", str(folder / "data"), "backup", str(target), "--json", db=ctx.settings.db
        )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["chain_loads"] == 1 and answer["schema_revision"]
    return ctx, state, target


def test_restore_into_a_new_place_finds_everything(source, tmp_path):
    _, state, backup_dir = source
    manifest = json.loads((backup_dir / BACKUP_MANIFEST).read_text())
    assert manifest["database"]["kind"] == "sqlite" and manifest["sanctrace"]
    assert all(len(e["sha256"]) == 64 for e in manifest["files"].values())
    assert "chain/manifest.json" in manifest["files"]
    assert any("/clusters/" in name for name in manifest["files"])
    target = _context(tmp_path / "restored")
    data_dir = str(target.settings.data_dir)
    result = run("--data-dir", data_dir, "restore", str(backup_dir), db=target.settings.db)
    assert result.returncode == 0, result.stderr
    assert f"verified {len(manifest['files'])} files" in result.stderr
    assert _state(target) == state  # every snapshot, customer, decision; the audit verifies
    cluster_maps = list((target.settings.chain_dir / "btc" / "clusters").glob("*/*.parquet"))
    assert cluster_maps
    # A second restore over it is refused, then allowed with --force.
    with pytest.raises(Conflict, match="--force"):
        restore(target, RestoreRequest(backup_dir))
    target.db.dispose()
    forced = restore(target, RestoreRequest(backup_dir, force=True))
    assert forced.replaced == [str(tmp_path / "restored" / "sanctrace.db"), data_dir + "/chain"]
    assert _state(_context(tmp_path / "restored")) == state


def test_damaged_or_unfinished_backups_are_refused(source, tmp_path):
    ctx, _, backup_dir = source
    copy = tmp_path / "copy"
    shutil.copytree(backup_dir, copy)
    part = next((copy / "chain" / "btc").rglob("part-*.parquet"))
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    target = _context(tmp_path / "t")
    with pytest.raises(BadRequest, match="checksum mismatch"):
        restore(target, RestoreRequest(copy))
    assert not (tmp_path / "t").exists()  # nothing touched before every file verified
    (copy / BACKUP_MANIFEST).unlink()
    with pytest.raises(BadRequest, match="did not finish"):
        restore(target, RestoreRequest(copy))
    with pytest.raises(Conflict, match="not empty"):
        backup(ctx, BackupRequest(backup_dir))


def test_postgresql_is_pointed_to_pg_dump(tmp_path):
    ctx = Context(
        Settings(db="postgresql://sanctrace@127.0.0.1:1/none", data_dir=tmp_path / "data")
    )
    with pytest.raises(BadRequest, match="pg_dump"):
        backup(ctx, BackupRequest(tmp_path / "b"))
    chain_only = backup(ctx, BackupRequest(tmp_path / "b", chain_only=True))
    assert chain_only.database is None and chain_only.chain_loads == 0
