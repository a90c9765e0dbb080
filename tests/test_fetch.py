"""`lists fetch` against a real HTTP server on 127.0.0.1 serving the shared files."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from helpers import run
from sanctrace.errors import SanctraceError
from sanctrace.lists.fetch import fetch_sources
from sanctrace.lists.snapshots import status
from sanctrace.services import lists
from sanctrace.services.context import Context
from sanctrace.services.names import open_matches
from sanctrace.settings import Settings
from sanctrace.store import customers as customer_repo
from sanctrace.store import open_database
from sanctrace.store.tables import fetches


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; paths under /flaky/ fail with 503 on their first request."""

    failed: set[str] = set()

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        if self.path.startswith("/flaky/") and self.path not in self.failed:
            self.failed.add(self.path)
            self.send_error(503)
            return
        if self.path.startswith("/flaky/"):
            self.path = self.path[len("/flaky") :]
        super().do_GET()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server(shared_data):
    handler = functools.partial(Handler, directory=str(shared_data))
    Handler.failed = set()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def config(tmp_path: Path, base: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(
        f"""
[sources.un_sc_sanctions]
format = "un_xml"
urls = ["{base}/flaky/lists/un/UN_consolidated_2026-02-27.xml"]

[sources.us_ofac_sdn]
format = "ofac_csv"
urls = ["{base}/lists/ofac/2019/sdn.csv", "{base}/lists/ofac/2019/alt.csv",
        "{base}/lists/ofac/2019/add.csv", "{base}/lists/ofac/2019/sdn_comments.csv"]

[sources.broken]
format = "un_xml"
urls = ["{base}/lists/un/missing.xml"]
"""
    )
    return path


def test_fetch_retries_records_and_loads(tmp_path, server, db_url):
    db = open_database(db_url)
    cfg = config(tmp_path, server)
    cache = tmp_path / "data" / "lists"
    un, ofac = fetch_sources(db, cache, ["un_sc_sanctions", "us_ofac_sdn"], cfg, backoff=0)
    assert un.downloaded == 1 and un.load.created and un.load.entities == 1003
    assert ofac.downloaded == 4 and ofac.load.entities == 7379
    assert set(status(db)) == {"un_sc_sanctions", "us_ofac_sdn"}
    with db.connect() as conn:
        rows = conn.execute(sa.select(fetches.c.status, fetches.c.sha256)).all()
    assert len(rows) == 5 and all(s == 200 and len(h) == 64 for s, h in rows)
    # Second fetch: conditional requests answer 304 and nothing new is loaded.
    un2, ofac2 = fetch_sources(db, cache, ["un_sc_sanctions", "us_ofac_sdn"], cfg, backoff=0)
    assert (un2.downloaded, un2.unchanged) == (0, 1) and not un2.load.created
    assert (ofac2.downloaded, ofac2.unchanged) == (0, 4) and not ofac2.load.created
    assert not list((tmp_path / "data").rglob("*.part"))
    db.dispose()


def test_fetch_failure_is_one_error_and_keeps_lists(tmp_path, server, db_url):
    db = open_database(db_url)
    cfg = config(tmp_path, server)
    cache = tmp_path / "data" / "lists"
    with pytest.raises(SanctraceError, match=r"missing.xml: HTTP 404"):
        fetch_sources(db, cache, ["broken"], cfg, backoff=0)
    with pytest.raises(SanctraceError, match="unknown source 'nope'"):
        fetch_sources(db, cache, ["nope"], cfg, backoff=0)
    assert status(db) == {}
    db.dispose()


def test_fetch_rescreens_stored_customers(tmp_path, server, db_url):
    """A new snapshot re-screens customers whichever command made it: here ``lists fetch``."""
    db = open_database(db_url)
    with db.begin() as conn:
        customer_repo.upsert_customers(
            conn, [{"id": "C1", "kind": "person", "names": [("latin", "Kim Kwang-Il")]}]
        )
    ctx = Context(Settings(db=db_url, data_dir=tmp_path / "data"), db=db)
    request = lists.FetchRequest(sources=("un_sc_sanctions",), config=config(tmp_path, server))
    (first,) = lists.fetch(ctx, request, backoff=0)
    assert first.load.created and first.load.rescreen is not None
    assert first.load.rescreen.new >= 1
    assert "C1" in {m.customer_id for m in open_matches(db)}
    assert (tmp_path / "data" / "lists" / "un_sc_sanctions").is_dir()
    # Nothing new the second time: no snapshot, no re-screening.
    (again,) = lists.fetch(ctx, request, backoff=0)
    assert not again.load.created and again.load.rescreen is None
    db.dispose()


def test_lists_fetch_command_rescreens(tmp_path, server):
    db_url = f"sqlite:///{tmp_path / 'fetch.db'}"
    db = open_database(db_url)
    with db.begin() as conn:
        customer_repo.upsert_customers(
            conn, [{"id": "C1", "kind": "person", "names": [("latin", "Kim Kwang-Il")]}]
        )
    db.dispose()
    cfg = config(tmp_path, server)
    fetched = run(
        "--data-dir",
        str(tmp_path / "data"),
        "lists",
        "fetch",
        "us_ofac_sdn",
        "un_sc_sanctions",
        "--config",
        str(cfg),
        db=db_url,
    )
    assert fetched.returncode == 0, fetched.stderr
    assert "un_sc_sanctions: customers re-screened against the changes: 1 new matches" in (
        fetched.stderr
    )
    assert "un_sc_sanctions: 1 downloaded, 0 not modified; snapshot" in fetched.stderr
