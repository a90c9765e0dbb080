"""List loads serialised and monotonic: older files refused, deliberate rollbacks recorded,
METI's three lists kept apart, versions for files without one, warnings kept, freshness."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from helpers import run
from sanctrace.errors import Conflict
from sanctrace.lists.snapshots import load_lists
from sanctrace.services import lists
from sanctrace.services.context import Context
from sanctrace.settings import Settings
from sanctrace.store import open_database
from sanctrace.store.tables import audit_log, rescreen_jobs, snapshot_activations, snapshots


@pytest.fixture
def ofac_set(fixtures, tmp_path) -> Path:
    folder = tmp_path / "ofac_a"
    shutil.copytree(fixtures / "lists" / "ofac_csv", folder)
    return folder


def _variant(folder: Path, target: Path) -> Path:
    """The OFAC set with one more listed person: other bytes, another snapshot."""
    shutil.copytree(folder, target)
    with open(target / "sdn.csv", "a", encoding="utf-8") as fh:
        fh.write(
            '10005,"NOVYI, Entry","individual","RUSSIA-EO14024",-0- ,-0- ,-0- ,-0- ,-0- ,'
            "-0- ,-0- ,-0- \n"
        )
    return target


def _context(db_url: str, tmp_path: Path, **settings) -> Context:
    return Context(Settings(db=db_url, data_dir=tmp_path / "data", **settings))


def _snapshot_ids(db, source: str) -> list[int]:
    with db.connect() as conn:
        return list(
            conn.execute(
                sa.select(snapshots.c.id).where(snapshots.c.source == source).order_by("id")
            ).scalars()
        )


def test_an_older_file_is_refused_unless_allowed(db_url, ofac_set, tmp_path):
    db = open_database(db_url)
    (new,) = load_lists(db, [ofac_set], version="2024-05-03")
    assert new.version == "2024-05-03" and new.published == "2024-05-03"
    older = _variant(ofac_set, tmp_path / "ofac_old")
    with pytest.raises(Conflict, match=r"published 2019-01-31, older than the active snapshot"):
        load_lists(db, [older], version="2019-01-31")
    assert _snapshot_ids(db, "us_ofac_sdn") == [new.snapshot_id]  # nothing of it stored
    (forced,) = load_lists(db, [older], version="2019-01-31", allow_older=True)
    assert forced.created and forced.delta == {"added": 1, "removed": 0, "changed": 0}
    assert lists.status(Context(db=db)).sources["us_ofac_sdn"].snapshot.id == forced.snapshot_id
    db.dispose()


def test_same_files_again_never_reactivate_silently(db_url, ofac_set, tmp_path):
    ctx = _context(db_url, tmp_path)
    load = functools.partial(lists.load, ctx)
    (a,) = load(lists.LoadRequest(paths=(ofac_set,), version="2024-01-05"))
    newer = _variant(ofac_set, tmp_path / "ofac_b")
    (b,) = load(lists.LoadRequest(paths=(newer,), version="2024-02-09"))
    assert b.created and b.delta == {"added": 1, "removed": 0, "changed": 0}
    # Loading A again: refused, saying how to roll back on purpose.
    with pytest.raises(Conflict, match=rf"lists activate {a.snapshot_id}"):
        load(lists.LoadRequest(paths=(ofac_set,)))
    # The deliberate rollback, recorded.
    done = lists.activate(
        ctx, lists.ActivateRequest(snapshot_id=a.snapshot_id, actor="ops", reason="bad file")
    )
    assert (done.previous_id, done.changed) == (b.snapshot_id, True)
    assert lists.status(ctx).sources["us_ofac_sdn"].snapshot.id == a.snapshot_id
    # B again is newer than the active A: active once more, and it says so.
    (again,) = load(lists.LoadRequest(paths=(newer,)))
    assert again.reactivated and not again.created and again.snapshot_id == b.snapshot_id
    with ctx.db.connect() as conn:
        reasons = conn.execute(
            sa.select(snapshot_activations.c.reason, snapshot_activations.c.actor).order_by(
                snapshot_activations.c.id
            )
        ).all()
        audit = conn.execute(
            sa.select(audit_log.c.actor, audit_log.c.action, audit_log.c.reason).where(
                audit_log.c.action == "lists.activate"
            )
        ).all()
        pending = conn.execute(
            sa.select(sa.func.count())
            .select_from(rescreen_jobs)
            .where(rescreen_jobs.c.finished_at.is_(None))
        ).scalar_one()
    assert [r for r, _ in reasons] == ["load", "load", "rollback", "reload"]
    assert ("ops", "lists.activate", "bad file") in [tuple(r) for r in audit]
    assert pending == 0
    assert lists.status(ctx).sources["us_ofac_sdn"].snapshot.id == b.snapshot_id
    ctx.db.dispose()


def test_meti_lists_are_three_sources_by_content(db_url, shared_data, tmp_path):
    """File names that say nothing; the titles tell the lists apart."""
    meti = shared_data / "lists" / "jp"
    folder = tmp_path / "meti"
    folder.mkdir()
    for n, name in enumerate(
        [
            "meti_russia_2025-09-12.txt",
            "meti_belarus_2025-07.txt",
            "meti_third_countries_2025-09-12.txt",
        ]
    ):
        shutil.copyfile(meti / name, folder / f"list{n}.txt")
    db = open_database(db_url)
    (ru,) = load_lists(db, [folder / "list0.txt"])
    (by,) = load_lists(db, [folder / "list1.txt"])
    assert (ru.source, by.source) == ("jp_meti_ru", "jp_meti_by")
    both = {r.source: r for r in load_lists(db, [folder])}
    assert set(both) == {"jp_meti_ru", "jp_meti_by", "jp_meti_third"}
    assert not both["jp_meti_ru"].created and not both["jp_meti_by"].created
    assert both["jp_meti_third"].created and both["jp_meti_third"].published == "2025-09-12"
    active = lists.status(Context(db=db)).sources
    assert active["jp_meti_ru"].entities == ru.entities > 500  # Belarus replaced nothing
    # --source still decides.
    (forced,) = load_lists(db, [folder / "list1.txt"], source="jp_meti_belarus_test")
    assert forced.source == "jp_meti_belarus_test" and forced.created
    db.dispose()


def test_cli_refuses_the_older_file_and_shows_warnings(tmp_path, fixtures):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    folder = fixtures / "lists" / "ofac_csv"
    database = open_database(db)
    load_lists(database, [folder], version="2024-05-03")
    database.dispose()
    older = _variant(folder, tmp_path / "older")
    refused = run("lists", "load", str(older), "--version", "2019-01-31", db=db)
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()
    assert "older than the active snapshot 1" in line and "--allow-older" in line
    shown = run("lists", "warnings", "us_ofac_sdn", "--json", db=db)
    kept = json.loads(shown.stdout)
    assert kept["version"] == "2024-05-03"
    assert any("invalid XBT address" in w for w in kept["warnings"])


def test_freshness_per_source_and_stale_warnings(db_url, ofac_set, tmp_path, fixtures):
    ctx = _context(db_url, tmp_path)
    lists.load(ctx, lists.LoadRequest(paths=(ofac_set,)))
    lists.load(ctx, lists.LoadRequest(paths=(ofac_set,), source="jp_mof_sanctions"))
    later = datetime.now(UTC) + timedelta(hours=72)
    ages = {f.source: f for f in lists.freshness(ctx, at=later)}
    assert ages["us_ofac_sdn"].stale and ages["us_ofac_sdn"].max_age_hours == 48
    assert not ages["jp_mof_sanctions"].stale and ages["jp_mof_sanctions"].max_age_hours == 720
    assert lists.stale_warnings(ctx) == []  # fresh now
    (both,) = lists.stale_warnings(ctx, at=later)
    assert both.startswith("us_ofac_sdn: the list is stale") and "リストが古くなっています" in both
    (ja,) = lists.stale_warnings(ctx, lang="ja", at=later)
    assert "最終確認から72時間経過（上限48時間）" in ja
    # A user's sources file sets its own maximum ages.
    own = tmp_path / "sources.toml"
    own.write_text("[max_age_hours]\nus_ofac_sdn = 100\n")
    relaxed = _context(db_url, tmp_path, sources=own)
    assert lists.stale_warnings(relaxed, at=later) == []
    ctx.db.dispose()
    relaxed.db.dispose()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_fetch_takes_last_modified_as_the_publication_date(db_url, fixtures, tmp_path):
    served = tmp_path / "www"
    shutil.copytree(fixtures / "lists" / "ofac_csv", served)
    stamp = datetime(2024, 5, 3, 15, 0, tzinfo=UTC).timestamp()
    for path in served.iterdir():
        os.utime(path, (stamp, stamp))  # http.server sends the file's time as Last-Modified
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(served))
    )
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    names = sorted(p.name for p in served.iterdir())
    config = tmp_path / "sources.toml"
    config.write_text(
        '[sources.us_ofac_sdn]\nformat = "ofac_csv"\n'
        f"urls = [{', '.join(json.dumps(f'{base}/{n}') for n in names)}]\n"
    )
    ctx = _context(db_url, tmp_path)
    try:
        (answer,) = lists.fetch(ctx, lists.FetchRequest(config=config), backoff=0)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert answer.load.created and answer.load.published == "2024-05-03"
    assert answer.load.version is None  # the CSV prints none; the date came from the server
    ctx.db.dispose()


def _un_older(shared_data: Path, tmp_path: Path) -> Path:
    """The UN list as if generated a year earlier, one individual fewer."""
    text = (shared_data / "lists" / "un" / "UN_consolidated_2026-02-27.xml").read_text("utf-8")
    text = text.replace('dateGenerated="2026-02-27', 'dateGenerated="2025-02-27', 1)
    start = text.index("<INDIVIDUAL>")
    end = text.index("</INDIVIDUAL>", start) + len("</INDIVIDUAL>")
    path = tmp_path / "un_older.xml"
    path.write_text(text[:start] + text[end:], "utf-8")
    return path


def _load_in_child(db_url: str, path: Path, go: int, say: int) -> None:
    """A forked process: wait for the start signal, load, report "0" or "2 <message>"."""
    os.read(go, 1)
    ctx = Context(Settings(db=db_url, data_dir=path.parent / "data"))
    try:
        lists.load(ctx, lists.LoadRequest(paths=(path,)))
        os.write(say, b"0\n")
    except Conflict as exc:
        os.write(say, f"2 {exc}\n".encode())


def _race(db_url: str, paths: list[Path]) -> list[str]:
    """Load ``paths`` in as many processes at once (released together); their outcomes."""
    go_r, go_w = os.pipe()
    children = []
    for path in paths:
        say_r, say_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 0
            try:
                os.close(go_w)
                os.close(say_r)
                _load_in_child(db_url, path, go_r, say_w)
            except BaseException:  # noqa: BLE001 - reported through the exit status
                code = 70
            os._exit(code)
        os.close(say_w)
        children.append((pid, say_r))
    os.close(go_r)
    os.write(go_w, b"x" * len(paths))  # all start now
    os.close(go_w)
    outcomes = []
    for pid, say_r in children:
        with os.fdopen(say_r) as fh:
            outcomes.append(fh.read().strip())
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, outcomes
    return outcomes


def test_concurrent_loads_of_one_source(db_url, shared_data, tmp_path):
    """Three processes at once: the newest UN file twice and an older one. Whatever the
    order, one delta chain, the newest file active, the older one loaded under it or refused."""
    newest = tmp_path / "un_newest.xml"
    shutil.copyfile(shared_data / "lists" / "un" / "UN_consolidated_2026-02-27.xml", newest)
    older = _un_older(shared_data, tmp_path)
    open_database(db_url).dispose()  # migrated before the race; no connection crosses the fork
    first, old, second = _race(db_url, [newest, older, newest])
    assert (first, second) == ("0", "0")
    assert old == "0" or (old.startswith("2 ") and "older than the active snapshot" in old)
    db = open_database(db_url)
    with db.connect() as conn:
        rows = conn.execute(
            sa.select(snapshots.c.id, snapshots.c.published, snapshots.c.stats).order_by("id")
        ).all()
    chain = [(r.id, r.stats["delta_from"]) for r in rows]
    # Each snapshot's delta is against the one before it: one chain, no fork.
    expected = [(r.id, p.id) for p, r in zip(rows[:-1], rows[1:], strict=True)]
    assert chain == [(rows[0].id, None), *expected]
    assert rows[-1].published == "2026-02-27"
    assert len(rows) == (2 if old == "0" else 1)
    assert lists.status(Context(db=db)).sources["un_sc_sanctions"].snapshot.id == rows[-1].id
    db.dispose()
