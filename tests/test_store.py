"""Storage on SQLite and PostgreSQL: migrations, customers, wallets, transactions."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sanctrace.errors import SanctraceError
from sanctrace.settings import load_settings
from sanctrace.store import customers as repo
from sanctrace.store import open_database, resolve_url
from sanctrace.store.tables import metadata


def test_migrations_create_every_table(db_url):
    db = open_database(db_url)
    names = set(sa.inspect(db.engine).get_table_names())
    assert set(metadata.tables) <= names
    assert "alembic_version" in names
    # The migrations build every column the code's tables name, with the same nullability.
    inspector = sa.inspect(db.engine)
    for table in metadata.sorted_tables:
        built = {c["name"]: c["nullable"] for c in inspector.get_columns(table.name)}
        declared = {c.name: c.nullable for c in table.columns}
        assert built == declared, table.name
    # A second open finds the schema current and changes nothing.
    with db.connect() as conn:
        before = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    open_database(db_url).dispose()
    with db.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == before
        )
    db.dispose()


def test_customers_with_names_in_every_script(db_url):
    db = open_database(db_url)
    with db.begin() as conn:
        repo.upsert_customers(
            conn,
            [
                {
                    "id": "C1",
                    "kind": "person",
                    "names": [
                        ("legal", "山田 太郎"),
                        ("reading", "ヤマダ タロウ"),
                        ("latin", "Yamada Taro"),
                    ],
                    "country": "JP",
                    "birth_date": "1980-01-02",
                },
                {
                    "id": "C2",
                    "kind": "person",
                    "names": [("reading", "ヴォルコフ ドミトリー")],
                    "country": "JP",
                },
            ],
        )
    with db.connect() as conn:
        names = repo.customer_names_of(conn, "C1")
        assert [(k, s) for k, _, s in names] == [
            ("legal", "Han"),
            ("reading", "Katakana"),
            ("latin", "Latin"),
        ]
        assert repo.count(conn) == {"customers": 2, "customer_names": 4, "wallets": 0}
    # Replacing a customer replaces its names.
    with db.begin() as conn:
        repo.upsert_customers(
            conn, [{"id": "C1", "kind": "person", "names": [("latin", "Taro Yamada")]}]
        )
    with db.connect() as conn:
        assert repo.customer_names_of(conn, "C1") == [("latin", "Taro Yamada", "Latin")]
    db.dispose()


def test_wallets_are_added_once(db_url):
    db = open_database(db_url)
    with db.begin() as conn:
        repo.upsert_customers(
            conn, [{"id": "C1", "kind": "company", "names": [("legal", "株式会社未来商事")]}]
        )
        wallet = {
            "customer_id": "C1",
            "chain": "btc",
            "address": "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
            "purpose": "deposit",
        }
        assert repo.add_wallets(conn, [wallet]) == 1
        assert repo.add_wallets(conn, [wallet]) == 0
    db.dispose()


def test_writes_that_belong_together_roll_back_together(db_url):
    db = open_database(db_url)
    with pytest.raises(RuntimeError), db.begin() as conn:
        repo.upsert_customers(conn, [{"id": "C9", "kind": "person", "names": [("latin", "A B")]}])
        raise RuntimeError("fail after the first write")
    with db.connect() as conn:
        assert repo.count(conn)["customers"] == 0
    db.dispose()


def test_url_resolution(monkeypatch):
    # The environment is read by the settings alone; the store resolves the URL it is given.
    monkeypatch.delenv("SANCTRACE_DB", raising=False)
    assert resolve_url(load_settings().db) == "sqlite:///sanctrace.db"
    monkeypatch.setenv("SANCTRACE_DB", "postgresql://u@h/db")
    assert resolve_url(load_settings().db) == "postgresql+psycopg://u@h/db"
    assert resolve_url("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.parametrize("url", ["nonsense://x", "sqlite:////nonexistent-dir/x/y.db"])
def test_bad_database_url_is_one_error(url):
    with pytest.raises(SanctraceError) as info:
        open_database(url)
    assert "\n" not in str(info.value)
