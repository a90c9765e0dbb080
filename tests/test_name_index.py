"""The persisted name index: built once per set of active snapshots, mapped by any process,
invalidated by a list load or a normaliser change, swapped in the background; its answers
equal an index built in memory and the scorer's own pair scores; no list is never "no match"."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import ROOT
from sanctrace.errors import Unavailable
from sanctrace.lists.snapshots import active_entities, load_lists
from sanctrace.model import NameQuery
from sanctrace.names import Screener
from sanctrace.names import stored as stored_module
from sanctrace.services import names as name_service
from sanctrace.services._name_index import IndexCache, folder_for, index_cache
from sanctrace.services._snapshot_cache import active_snapshot_ids
from sanctrace.services.context import Context
from sanctrace.settings import Settings

QUERIES = [
    NameQuery("Arkady Kornevsky", schema="Person"),
    NameQuery("KORNEVSKII Arkadii"),
    NameQuery("Корневский Аркадий", schema="Person", birth_date="1971"),
    NameQuery("コルネフスキー・アルカジー", schema="Person"),
    NameQuery("Taiga Vychisleniya LLC", schema="Company"),
    NameQuery("Severnaya Zvezda", schema="Vessel"),
    NameQuery("Hanako Yamada", schema="Person"),
]


@pytest.fixture
def ctx(db_url, tmp_path, fixtures):
    context = Context(Settings(db=db_url, data_dir=tmp_path / "data"))
    load_lists(context.db, [fixtures / "lists" / "ofac_csv"])
    yield context
    context.db.dispose()


def _answers(screener: Screener) -> list[list[tuple[str, float, str]]]:
    return [[(m.entity_id, m.score, m.explanation) for m in screener.screen(q)] for q in QUERIES]


def test_index_is_saved_mapped_and_equal_to_a_fresh_build(ctx):
    info = name_service.prepare_index(ctx)
    assert info.folder is not None and (info.folder / "meta.json").is_file()
    assert info.folder.parent == ctx.settings.data_dir / "index"
    screener, snapshots = name_service.shared_screener(ctx)
    assert snapshots == info.snapshots and screener.data.folder == info.folder
    # Mapped read-only from the folder, not copied.
    assert not screener.data.name_tok.flags.writeable
    entities = [e for _, e in active_entities(ctx.db)]
    fresh = Screener.from_entities(entities)
    got = _answers(screener)
    assert got == _answers(fresh)
    assert got[0] and got[0][0][0] == "us_ofac_sdn:10001" and got[-1] == []
    # Every returned pair scores as the scorer scores that pair alone.
    by_id = {e.id: e for e in entities}
    for query in QUERIES:
        for m in screener.screen(query):
            alone = fresh.compare(query, by_id[m.entity_id])
            assert alone is not None and alone.score == m.score, (query.name, m.entity_id)


@pytest.fixture
def sqlite_ctx(tmp_path, fixtures):
    """As ``ctx`` on SQLite only: for what does not depend on the database."""
    context = Context(Settings(db=f"sqlite:///{tmp_path / 'idx.db'}", data_dir=tmp_path / "data"))
    load_lists(context.db, [fixtures / "lists" / "ofac_csv"])
    yield context
    context.db.dispose()


def test_another_process_maps_the_same_folder(sqlite_ctx):
    ctx = sqlite_ctx
    info = name_service.prepare_index(ctx)
    script = (
        "import json, sys; from pathlib import Path\n"
        "from sanctrace.names.built import ScreenerData\n"
        "from sanctrace.names import Screener\n"
        "s = Screener(data=ScreenerData.load(Path(sys.argv[1])))\n"
        "print(json.dumps([[m.entity_id, m.score] for m in s.screen(sys.argv[2])]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(info.folder), "Arkady Kornevsky"],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    screener, _ = name_service.shared_screener(ctx)
    here = [[m.entity_id, m.score] for m in screener.screen("Arkady Kornevsky")]
    assert json.loads(out.stdout) == here and here


def test_a_list_load_makes_a_new_index_and_the_load_builds_it(ctx, fixtures):
    first = name_service.prepare_index(ctx)
    load_lists(ctx.db, [fixtures / "lists" / "uk"])
    snapshots = active_snapshot_ids(ctx.db)
    new_folder = folder_for(ctx.db, ctx.settings.data_dir, snapshots)
    assert new_folder != first.folder
    second = name_service.prepare_index(ctx)
    assert second.folder == new_folder and second.snapshots == snapshots
    assert second.entries > first.entries
    # A new process opens what is there, without building.
    again = IndexCache(ctx.db, ctx.settings.data_dir).get()
    assert again.data is not None and again.data.folder == new_folder


def test_a_normaliser_version_change_invalidates(sqlite_ctx, monkeypatch):
    ctx = sqlite_ctx
    before = name_service.prepare_index(ctx).folder
    snapshots = active_snapshot_ids(ctx.db)
    monkeypatch.setattr(stored_module, "NORMALISER_VERSION", "test-next")
    stored_module.code_digest.cache_clear()
    try:
        after = folder_for(ctx.db, ctx.settings.data_dir, snapshots)
        assert after != before
        # A folder written by other code is refused, never used.
        with pytest.raises(ValueError, match="other code"):
            stored_module.IndexArrays.load(before)
        fresh = IndexCache(ctx.db, ctx.settings.data_dir).get(wait=True)
        assert fresh.data is not None and fresh.data.folder == after
    finally:
        monkeypatch.undo()
        stored_module.code_digest.cache_clear()


def test_the_old_index_answers_while_the_new_one_is_built(ctx, fixtures):
    import shutil

    cache = IndexCache(ctx.db, ctx.settings.data_dir)
    old = cache.get()
    load_lists(ctx.db, [fixtures / "lists" / "uk"])
    snapshots = active_snapshot_ids(ctx.db)
    # As if another process loaded the list without building the index.
    shutil.rmtree(folder_for(ctx.db, ctx.settings.data_dir, snapshots), ignore_errors=True)
    during = cache.get()
    assert during is old and during.snapshots != snapshots  # answers name the data they used
    assert cache.background is not None
    cache.background.join(timeout=120)
    after = cache.get()
    assert after.snapshots == snapshots and after.data is not None


def test_no_list_is_unavailable_never_no_match(db_url, tmp_path):
    ctx = Context(Settings(db=db_url, data_dir=tmp_path / "data"))
    try:
        with pytest.raises(Unavailable, match="no sanctions list loaded"):
            name_service.screen_name(ctx, name_service.NameScreenRequest(name="Vladimir Putin"))
        csv_in = tmp_path / "in.csv"
        csv_in.write_text("id,name\nc1,Vladimir Putin\n", encoding="utf-8")
        request = name_service.BulkRequest(input=csv_in, output=tmp_path / "out.csv")
        with pytest.raises(Unavailable, match="no sanctions list loaded"):
            name_service.screen_names(ctx, request)
        assert not (tmp_path / "out.csv").exists()
        info = name_service.prepare_index(ctx)
        assert info.folder is None and info.snapshots == {}
    finally:
        ctx.db.dispose()


def test_shared_by_the_company_checks(ctx):
    from sanctrace.services._company_lists import ListSide

    name_service.prepare_index(ctx)
    side = ListSide.build(ctx.db)
    assert side.screener.data is index_cache(ctx.db).current.data  # type: ignore[union-attr]


def test_damaged_folder_is_rebuilt(sqlite_ctx):
    ctx = sqlite_ctx
    info = name_service.prepare_index(ctx)
    assert info.folder is not None
    (info.folder / "name_tok.npy").write_bytes(b"not an array")
    rebuilt = IndexCache(ctx.db, ctx.settings.data_dir).get()
    assert rebuilt.data is not None
    assert len(rebuilt.data.names) == info.names
