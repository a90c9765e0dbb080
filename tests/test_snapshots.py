"""Snapshots: immutable loads, activation only after success, deltas, status."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from sanctrace.lists.base import ParseError
from sanctrace.lists.snapshots import diff, load_lists, status
from sanctrace.store import open_database
from sanctrace.store.tables import entities, snapshots

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def ofac_set(fixtures, tmp_path) -> Path:
    folder = tmp_path / "ofac_v1"
    shutil.copytree(fixtures / "lists" / "ofac_csv", folder)
    return folder


def counts(db) -> tuple[int, int]:
    with db.connect() as conn:
        snaps = conn.execute(sa.select(sa.func.count()).select_from(snapshots)).scalar_one()
        ents = conn.execute(sa.select(sa.func.count()).select_from(entities)).scalar_one()
    return snaps, ents


def test_load_status_and_same_file_twice(db_url, ofac_set):
    db = open_database(db_url)
    (first,) = load_lists(db, [ofac_set])
    assert first.created and first.source == "us_ofac_sdn" and first.format == "ofac_csv"
    assert (first.entities, first.addresses, first.invalid_addresses) == (4, 4, 1)
    (again,) = load_lists(db, [ofac_set])
    assert not again.created and again.snapshot_id == first.snapshot_id
    assert counts(db) == (1, 4)
    info = status(db)["us_ofac_sdn"]
    assert info["snapshot"]["id"] == first.snapshot_id
    assert len(info["snapshot"]["sha256"]) == 64
    assert info["schemas"] == {"LegalEntity": 2, "Person": 1, "Vessel": 1}
    assert info["addresses"] == {"ETH": 1, "USDT": 1, "XBT": 2}
    assert info["invalid_addresses"] == 1
    db.dispose()


def test_newer_snapshot_yields_a_correct_stored_diff(db_url, ofac_set, tmp_path):
    db = open_database(db_url)
    (old,) = load_lists(db, [ofac_set])
    newer = tmp_path / "ofac_v2"
    shutil.copytree(ofac_set, newer)
    sdn = (newer / "sdn.csv").read_text().splitlines()
    sdn = [line for line in sdn if not line.startswith("10003,")]  # vessel delisted
    sdn = [line.replace("Gender Male", "Gender Male; nationality Ukraine") for line in sdn]
    sdn.append(
        '10005,"NOVYI, Entry","individual","RUSSIA-EO14024",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- '
    )
    (newer / "sdn.csv").write_text("\n".join(sdn) + "\n")
    alt = (newer / "alt.csv").read_text().replace("PRIMER EXCHANGE", "PRIMER EXCHANGE LTD")
    (newer / "alt.csv").write_text(alt)
    (new,) = load_lists(db, [newer])
    assert new.delta == {"added": 1, "removed": 1, "changed": 2}
    delta = diff(db, "us_ofac_sdn")
    assert delta.old_snapshot == old.snapshot_id and delta.new_snapshot == new.snapshot_id
    assert delta.added == ["us_ofac_sdn:10005"]
    assert delta.removed == ["us_ofac_sdn:10003"]
    assert delta.changed == {
        "us_ofac_sdn:10001": ["nationality", "notes"],
        "us_ofac_sdn:10004": ["alias"],
    }
    # The reverse direction is computed on demand and mirrors it.
    back = diff(db, "us_ofac_sdn", new.snapshot_id, old.snapshot_id)
    assert back.added == ["us_ofac_sdn:10003"] and back.removed == ["us_ofac_sdn:10005"]
    db.dispose()


def test_malformed_file_leaves_previous_snapshot_active(db_url, ofac_set, tmp_path):
    db = open_database(db_url)
    (good,) = load_lists(db, [ofac_set])
    broken = tmp_path / "broken"
    shutil.copytree(ofac_set, broken)
    lines = (broken / "sdn.csv").read_text().splitlines()
    lines.insert(3, '10099,"TRUNCATED')
    (broken / "sdn.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ParseError, match="sdn.csv"):
        load_lists(db, [broken])
    assert status(db)["us_ofac_sdn"]["snapshot"]["id"] == good.snapshot_id
    assert counts(db) == (1, 4)
    db.dispose()


KILL_SCRIPT = """
import sys
from pathlib import Path
from sanctrace.lists.snapshots import load_lists
from sanctrace.store import open_database

def stop_mid_load(n):
    # Hand control to the test, which kills this process inside the open transaction.
    print("mid-load", flush=True)
    sys.stdin.readline()

load_lists(open_database(sys.argv[1]), [Path(sys.argv[2])], progress=stop_mid_load)
print("finished", flush=True)
"""


def test_killed_load_leaves_previous_snapshot_intact(db_url, ofac_set, shared_data):
    db = open_database(db_url)
    (good,) = load_lists(db, [ofac_set])
    big = shared_data / "lists" / "ofac" / "2024-05-03" / "sdn.csv.gz"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, db_url, str(big)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout.readline().strip() == "mid-load"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    db.dispose()
    db = open_database(db_url)
    assert status(db)["us_ofac_sdn"]["snapshot"]["id"] == good.snapshot_id
    assert counts(db) == (1, 4)
    if db.engine.dialect.name == "sqlite":
        with db.connect() as conn:
            assert conn.execute(sa.text("PRAGMA integrity_check")).scalar_one() == "ok"
    # And the same file loads cleanly afterwards.
    (full,) = load_lists(db, [big])
    assert full.created and full.entities > 14000
    db.dispose()


def test_ftm_file_keeps_ids_and_ownership(db_url, shared_data):
    db = open_database(db_url)
    (result,) = load_lists(db, [shared_data / "entities" / "zala_aero_network.ftm.json"])
    assert result.format == "ftm_json" and result.entities == 91
    info = status(db)[result.source]
    assert info["schemas"]["Ownership"] == 14
    with db.connect() as conn:
        row = conn.execute(
            sa.select(entities.c.data).where(entities.c.schema == "Ownership").limit(1)
        ).scalar_one()
    assert row["properties"]["owner"] and row["properties"]["asset"]
    db.dispose()


def test_un_file_by_detection(db_url, shared_data):
    db = open_database(db_url)
    (result,) = load_lists(db, [shared_data / "lists" / "un" / "UN_consolidated_2026-02-27.xml"])
    assert result.source == "un_sc_sanctions" and result.version == "2026-02-27"
    assert status(db)["un_sc_sanctions"]["schemas"] == {"LegalEntity": 273, "Person": 730}
    db.dispose()


def test_identity_is_content_not_names(db_url, shared_data, tmp_path):
    """A list file set is known by its format and bytes: a renamed copy is the same snapshot."""
    db = open_database(db_url)
    original = shared_data / "lists" / "un" / "UN_consolidated_2026-02-27.xml"
    (first,) = load_lists(db, [original])
    renamed = tmp_path / "un-latest.xml"
    shutil.copyfile(original, renamed)
    (again,) = load_lists(db, [renamed])
    assert not again.created and again.snapshot_id == first.snapshot_id
    db.dispose()
