"""Faults: a database that never answers, one that goes away under a running server, a URL
with a password that is malformed, and a SQLite path that does not exist.

Real servers on 127.0.0.1 throughout: a socket that accepts and stays silent (the hung
database), and a small TCP proxy in front of the real PostgreSQL that the test closes (the
outage).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import httpx
import pytest
import sqlalchemy as sa

from helpers import key_headers, serving, user_headers
from sanctrace.api.app import create_app
from sanctrace.errors import BadRequest
from sanctrace.services import lists
from sanctrace.services.context import Context
from sanctrace.settings import Settings

SECRET = "s3cret-Pa55"
PG_URL = os.environ.get("SANCTRACE_TEST_DATABASE_URL")


def postgres_only(test):
    """Run ``test`` on the PostgreSQL ``db_url`` only: the faults are a server's."""
    for mark in (
        pytest.mark.parametrize(
            "db_url", [PG_URL or "postgresql"], ids=["postgresql"], indirect=True
        ),
        pytest.mark.skipif(not PG_URL, reason="SANCTRACE_TEST_DATABASE_URL is not set"),
        pytest.mark.postgres,
    ):
        test = mark(test)
    return test


@contextmanager
def silent_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            with suppress(OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
        for conn in held:
            conn.close()


class Proxy:
    """A TCP proxy on 127.0.0.1 to ``target``; ``close()`` is the outage: it stops accepting
    and cuts every connection it carries."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.closed = False
        self.frozen = threading.Event()  # set: a hung server, it takes bytes and answers none
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client = self.listener.accept()[0]
            except OSError:
                return
            if self.frozen.is_set():
                with self.lock:
                    self.sockets.append(client)  # accepted, never answered
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                if self.closed:
                    client.close()
                    upstream.close()
                    return
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        with suppress(OSError):
            while data := src.recv(65536):
                if not self.frozen.is_set():
                    dst.sendall(data)
        with suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.listener.close()
            for sock in self.sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


def cli(capsys, *args: str) -> tuple[int, str]:
    """Run the command line in this process (``sanctrace.cli.main``): its exit code and
    everything it wrote."""
    from sanctrace.cli import main

    capsys.readouterr()
    old = sys.argv
    sys.argv = ["sanctrace", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = old
    captured = capsys.readouterr()
    return code, captured.err + captured.out


def _one_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


# -- the CLI ----------------------------------------------------------------------------------


def test_a_hung_database_fails_the_cli_within_the_timeout(capsys, monkeypatch):
    monkeypatch.setenv("SANCTRACE_DB_CONNECT_TIMEOUT", "2")
    with silent_server() as port:
        began = time.monotonic()
        code, text = cli(
            capsys, "--db", f"postgresql://u:{SECRET}@127.0.0.1:{port}/db", "lists", "status"
        )
        took = time.monotonic() - began
    assert code == 3, text
    line = _one_line(text)
    assert "database unavailable" in line and "timeout" in line
    assert SECRET not in text
    assert took < 10  # the 2 s connect timeout, not a hang


def test_a_malformed_url_never_shows_its_password(capsys, caplog):
    url = f"postgresql://u:{SECRET}@host:notaport/db"
    code, text = cli(capsys, "--db", url, "lists", "status")
    assert code == 2
    assert "not a usable database URL" in _one_line(text)
    assert SECRET not in text
    # The server refuses to start the same way, and logs nothing with it.
    caplog.set_level(logging.DEBUG)
    with pytest.raises(BadRequest) as refused:
        create_app(Context(Settings(db=url))).openapi()
    assert SECRET not in str(refused.value) and "***" in str(refused.value)
    assert SECRET not in caplog.text


def test_read_only_commands_refuse_a_missing_database(tmp_path, fixtures, capsys):
    path = tmp_path / "typo.db"
    url = f"sqlite:///{path}"
    for command in (("lists", "status"), ("screen", "name", "Arkady Kornevsky")):
        code, text = cli(capsys, "--db", url, *command)
        assert code == 3, (command, text)
        assert "no database at" in _one_line(text)
        assert not path.exists(), command
    # A command that brings data in creates it; then the read-only ones work.
    code, text = cli(capsys, "--db", url, "lists", "load", str(fixtures / "lists" / "ofac_csv"))
    assert code == 0, text
    assert path.exists()
    assert cli(capsys, "--db", url, "screen", "name", "Arkady Kornevsky")[0] == 1  # a hit


# -- the server -------------------------------------------------------------------------------


def _proxied(url: str, port: int) -> str:
    parsed = sa.make_url(url)
    return parsed.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


@postgres_only
def test_a_database_outage_answers_503_json_everywhere(db_url, fixtures, caplog):
    parsed = sa.make_url(db_url)
    proxy = Proxy((parsed.host or "127.0.0.1", parsed.port or 5432))
    settings = Settings(db=_proxied(db_url, proxy.port), db_connect_timeout=2, request_timeout=10)
    ctx = Context(settings)
    try:
        lists.load(ctx, lists.LoadRequest(paths=(fixtures / "lists" / "ofac_csv",)))
        key = key_headers(ctx)
        admin = user_headers(ctx, "admin")
        app = create_app(ctx)
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            name = {"name": "Arkady Kornevsky"}
            assert client.post("/v1/screen/name", json=name, headers=key).status_code == 200
            assert client.get("/v1/ready").status_code == 200
            proxy.close()  # the outage
            caplog.set_level(logging.INFO)
            calls = [
                ("POST", "/v1/screen/name", name, key),
                (
                    "POST",
                    "/v1/screen/address",
                    {"address": "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"},
                    key,
                ),
                ("GET", "/v1/lists", None, admin),
                ("GET", "/v1/cases", None, admin),
                ("GET", "/v1/alerts", None, admin),
            ]
            for method, path, body, headers in calls:
                answer = client.request(method, path, json=body, headers=headers)
                assert answer.status_code == 503, (path, answer.status_code, answer.text)
                detail = answer.json()["detail"]
                assert "\n" not in detail and "database unavailable" in detail, detail
            page = client.get("/", headers=admin)  # the console: its own error page
            assert page.status_code == 503 and "database unavailable" in page.text
            ready = client.get("/v1/ready")
            assert ready.status_code == 503
            failed = {c["name"]: c["reason"] for c in ready.json()["checks"] if not c["ok"]}
            assert failed["database"] == "database unreachable"
            assert client.get("/v1/health").status_code == 200  # alive, and says only that
        assert "Arkady" not in caplog.text  # no name in the log, at any level
    finally:
        proxy.close()
        ctx.db.dispose()


@postgres_only
def test_a_database_that_hangs_under_the_server_times_out_as_json(db_url):
    """The database stops answering (connections stay open, nothing comes back): a request
    ends at the request timeout with 504 JSON, not a hang."""
    parsed = sa.make_url(db_url)
    proxy = Proxy((parsed.host or "127.0.0.1", parsed.port or 5432))
    settings = Settings(db=_proxied(db_url, proxy.port), db_connect_timeout=5, request_timeout=1)
    ctx = Context(settings)
    try:
        admin = user_headers(ctx, "admin")
        with serving(create_app(ctx)) as base, httpx.Client(base_url=base, timeout=30) as client:
            assert client.get("/v1/lists", headers=admin).status_code == 200
            proxy.frozen.set()
            began = time.monotonic()
            answer = client.get("/v1/lists", headers=admin)
            took = time.monotonic() - began
            assert answer.status_code == 504, answer.text
            assert answer.json()["detail"].startswith("the request took longer than 1 s")
            assert took < 4
            proxy.close()  # lets the abandoned request's thread fail, so the server can stop
    finally:
        proxy.close()
        ctx.db.dispose()


def test_error_bodies_do_not_show_the_data_folder(tmp_path):
    from fastapi.testclient import TestClient

    data = tmp_path / "secret-folder"
    ctx = Context(Settings(db=f"sqlite:///{tmp_path / 'x.db'}", data_dir=data))
    headers = key_headers(ctx)
    with TestClient(create_app(ctx)) as client:
        answer = client.post(
            "/v1/screen/transaction",
            json={"chain": "btc", "txid": "a" * 64},
            headers=headers,
        )
    assert answer.status_code in (404, 422, 503), answer.text
    assert str(tmp_path) not in answer.text and "secret-folder" not in answer.text
    ctx.db.dispose()


def test_scrub_removes_paths_and_sql():
    from sanctrace.api.errors import scrub

    message = (
        "chain btc: nothing loaded in the chain store /srv/data/chain; load it [SQL: SELECT 1]"
    )
    assert scrub(message) == "chain btc: nothing loaded in the chain store <path>; load it"
    assert scrub("see /v1/cases/3") == "see /v1/cases/3"
    assert scrub("in data/chain", hidden=["data"]) == "in <data>/chain"
