"""The command line as users and scripts run it: exit codes, one-line errors, JSON output."""

from __future__ import annotations

import json

import pytest

from helpers import run
from sanctrace.store import open_database


@pytest.fixture
def db(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_version():
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("sanctrace ")


def test_nonsense_database_url_is_one_line_and_exit_2():
    result = run("lists", "status", db="nonsense://x")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "nonsense://x" in lines[0]
    assert "Traceback" not in result.stderr


def test_usage_error_exits_2(db):
    assert run("lists", "load", db=db).returncode == 2
    assert run("no-such-command").returncode == 2


def test_bad_list_file_names_file_and_line(db, fixtures, tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    text = (fixtures / "lists" / "ofac_csv" / "sdn.csv").read_text().splitlines()
    text[1] = '10002,"ONLY TWO"'
    (folder / "sdn.csv").write_text("\n".join(text) + "\n")
    result = run("lists", "load", str(folder), db=db)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {folder / 'sdn.csv'}:line 2: expected 12 columns, got 2"
    ]
    verbose = run("-v", "lists", "load", str(folder), db=db)
    assert verbose.returncode == 2 and "Traceback" in verbose.stderr
    missing = run("lists", "load", str(tmp_path / "nope.csv"), db=db)
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_name_screening_without_lists_is_unavailable(db, tmp_path):
    """No list loaded is never "no match": exit 3 and one line saying what to do."""
    open_database(db).dispose()  # a database that exists, without lists
    result = run("screen", "name", "Arkady Kornevsky", db=db)
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        "error: no sanctions list loaded; load one with: sanctrace lists load PATH"
    ]
    assert result.stdout == ""
    queries = tmp_path / "q.csv"
    queries.write_text("id,name\nq1,Arkady Kornevsky\n")
    bulk = run("screen", "names", str(queries), "--out", str(tmp_path / "o.csv"), db=db)
    assert bulk.returncode == 3 and not (tmp_path / "o.csv").exists()
    assert run("screen", "customers", db=db).returncode == 3


def test_diff_needs_both_snapshots_or_neither(db, fixtures):
    assert run("lists", "load", str(fixtures / "lists" / "ofac_csv"), db=db).returncode == 0
    result = run("lists", "diff", "us_ofac_sdn", "1", db=db)
    assert result.returncode == 2 and "give both OLD and NEW, or neither" in result.stderr
    unknown = run("lists", "diff", "nope", db=db)
    assert unknown.returncode == 2 and "no snapshots loaded" in unknown.stderr


def test_load_status_diff_and_address_screening(db, fixtures):
    folder = fixtures / "lists" / "ofac_csv"
    loaded = run("lists", "load", str(folder), db=db)
    assert loaded.returncode == 0, loaded.stderr
    assert "us_ofac_sdn: loaded snapshot 1" in loaded.stderr
    again = run("lists", "load", str(folder), db=db)
    assert "unchanged snapshot 1" in again.stderr
    status = json.loads(run("lists", "status", "--json", db=db).stdout)
    info = status["us_ofac_sdn"]
    assert set(info) >= {
        "snapshot",
        "entities",
        "schemas",
        "names",
        "addresses",
        "invalid_addresses",
        "warnings",
    }
    assert set(info["snapshot"]) >= {"id", "version", "sha256", "loaded_at"}
    assert info["entities"] == 4
    delta = json.loads(run("lists", "diff", "us_ofac_sdn", "--json", db=db).stdout)
    assert delta["old_snapshot"] is None and len(delta["added"]) == 4
    # The EVM address is listed in mixed case; any case finds it.
    hit = run("screen", "address", "0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", "--json", db=db)
    assert hit.returncode == 1
    hits = json.loads(hit.stdout)["hits"]
    assert [h["entity_id"] for h in hits] == ["us_ofac_sdn:10002"]
    clean = run("screen", "address", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", db=db)
    assert clean.returncode == 0 and "no list hit" in clean.stdout


def test_demo_writes_report(tmp_path, db):
    result = run("demo", "--customers", "600", db=db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = tmp_path / "demo-report" / "index.html"
    html = report.read_text()
    assert "demo_sdn" in html and 'id="wallet-hits"' in html
    truth = json.loads((tmp_path / "demo-world" / "truth.json").read_text())
    hits = (tmp_path / "demo-report" / "wallet_hits.csv").read_text().splitlines()[1:]
    found = {tuple(line.split(",")[:3:2]) for line in hits}
    planted = {(w["customer_id"], w["address"]) for w in truth["listed_wallets"]}
    assert planted and planted <= found
    # The on-chain step: the planted direct deposit is in the exposure file at one hop, and the
    # report draws its evidence path.
    direct_rows = [
        line.split(",")
        for line in (tmp_path / "demo-report" / "exposure.csv").read_text().splitlines()[1:]
    ]
    assert 'id="deposits"' in html and 'class="path"' in html
    assert any(r[-1] == "1" and float(r[-2]) == 1.0 for r in direct_rows)
    assert "ownership-chain" in html and "ORCHID STRAITS TRADING" in html
    # Deterministic: a second run regenerates the same world and finds the same hits, now
    # against the update (active since the first run: the older file is not loaded again).
    second = run("demo", "--customers", "600", db=db, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    again = (tmp_path / "demo-report" / "wallet_hits.csv").read_text().splitlines()[1:]
    assert [r.rsplit(",", 1)[0] for r in again] == [r.rsplit(",", 1)[0] for r in hits]
    assert {r.rsplit(",", 1)[1] for r in hits} == {"1"}
    assert {r.rsplit(",", 1)[1] for r in again} == {"2"}
