"""Repository for the exchange's customers, their names in every script, and their wallets."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from sanctrace.model import detect_script
from sanctrace.store.snapshots import now
from sanctrace.store.tables import (
    active_snapshots,
    crypto_addresses,
    customer_names,
    customers,
    wallets,
)


def upsert_customers(conn: sa.Connection, records: Iterable[dict]) -> int:
    """Insert or replace customers. Each record: id, kind, names [(kind, name)], and optional
    country, birth_date, nationality, residence, incorporated, data."""
    count = 0
    for rec in records:
        conn.execute(customer_names.delete().where(customer_names.c.customer_id == rec["id"]))
        conn.execute(customers.delete().where(customers.c.id == rec["id"]))
        conn.execute(
            customers.insert().values(
                id=rec["id"],
                kind=rec["kind"],
                country=rec.get("country"),
                birth_date=rec.get("birth_date"),
                nationality=rec.get("nationality"),
                residence=rec.get("residence"),
                incorporated=rec.get("incorporated"),
                created_at=now(),
                data=rec.get("data", {}),
            )
        )
        names = [
            {"customer_id": rec["id"], "name": name, "kind": kind, "script": detect_script(name)}
            for kind, name in rec["names"]
            if name
        ]
        if names:
            conn.execute(customer_names.insert(), names)
        count += 1
    return count


def add_wallets(conn: sa.Connection, records: Iterable[dict]) -> int:
    """Add wallets (customer_id, chain, address, purpose); known ones are left as they are."""
    rows = [{**r, "created_at": now()} for r in records]
    existing = {
        tuple(r)
        for r in conn.execute(sa.select(wallets.c.chain, wallets.c.address, wallets.c.customer_id))
    }
    fresh = [r for r in rows if (r["chain"], r["address"], r["customer_id"]) not in existing]
    if fresh:
        conn.execute(wallets.insert(), fresh)
    return len(fresh)


def count(conn: sa.Connection) -> dict[str, int]:
    return {
        "customers": conn.execute(sa.select(sa.func.count()).select_from(customers)).scalar_one(),
        "customer_names": conn.execute(
            sa.select(sa.func.count()).select_from(customer_names)
        ).scalar_one(),
        "wallets": conn.execute(sa.select(sa.func.count()).select_from(wallets)).scalar_one(),
    }


def customer_names_of(conn: sa.Connection, customer_id: str) -> list[tuple[str, str, str]]:
    query = (
        sa.select(customer_names.c.kind, customer_names.c.name, customer_names.c.script)
        .where(customer_names.c.customer_id == customer_id)
        .order_by(customer_names.c.id)
    )
    return [tuple(r) for r in conn.execute(query)]


def listed_wallets(conn: sa.Connection) -> list[sa.Row]:
    """Customer wallets whose address is held by an entity of an active list snapshot.

    Addresses a list printed under the wrong asset still count: the text is what is listed.
    """
    query = (
        sa.select(
            wallets.c.customer_id,
            wallets.c.chain,
            wallets.c.address,
            wallets.c.purpose,
            crypto_addresses.c.entity_id,
            crypto_addresses.c.asset,
            crypto_addresses.c.snapshot_id,
        )
        .join(crypto_addresses, crypto_addresses.c.address == wallets.c.address)
        .join(active_snapshots, active_snapshots.c.snapshot_id == crypto_addresses.c.snapshot_id)
        .order_by(wallets.c.customer_id, wallets.c.address)
    )
    return list(conn.execute(query))


class CustomerView:
    """A customer with its names, for reports."""

    def __init__(self, row: sa.Row, names: list[tuple[str, str, str]]) -> None:
        self.id = row.id
        self.kind = row.kind
        self.row = row
        self.names = names


def customer_rows(conn: sa.Connection, ids: Iterable[str]) -> list[CustomerView]:
    """The named customers with their names (kind, name, script) in insertion order."""
    ids = sorted(set(ids))
    out = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        names: dict[str, list] = {}
        for cid, kind, name, script in conn.execute(
            sa.select(
                customer_names.c.customer_id,
                customer_names.c.kind,
                customer_names.c.name,
                customer_names.c.script,
            )
            .where(customer_names.c.customer_id.in_(chunk))
            .order_by(customer_names.c.id)
        ):
            names.setdefault(cid, []).append((kind, name, script))
        for row in conn.execute(sa.select(customers).where(customers.c.id.in_(chunk))):
            out.append(CustomerView(row, names.get(row.id, [])))
    return out


def save_customer(conn: sa.Connection, rec: dict) -> bool:
    """Insert a customer, or update a stored one in place (its names replaced) so that its
    wallets and screening matches stay; the record as for ``upsert_customers``. Returns True
    when the customer is new."""
    exists = conn.execute(sa.select(customers.c.id).where(customers.c.id == rec["id"])).first()
    if exists is None:
        upsert_customers(conn, [rec])
        return True
    conn.execute(
        customers.update()
        .where(customers.c.id == rec["id"])
        .values(
            kind=rec["kind"],
            country=rec.get("country"),
            birth_date=rec.get("birth_date"),
            nationality=rec.get("nationality"),
            residence=rec.get("residence"),
            incorporated=rec.get("incorporated"),
            data=rec.get("data", {}),
        )
    )
    conn.execute(customer_names.delete().where(customer_names.c.customer_id == rec["id"]))
    names = [
        {"customer_id": rec["id"], "name": name, "kind": kind, "script": detect_script(name)}
        for kind, name in rec["names"]
        if name
    ]
    if names:
        conn.execute(customer_names.insert(), names)
    return False


def customer_exists(conn: sa.Connection, customer_id: str) -> bool:
    query = sa.select(customers.c.id).where(customers.c.id == customer_id)
    return conn.execute(query).first() is not None


def remove_wallet(conn: sa.Connection, customer_id: str, chain: str, address: str) -> int:
    """Remove a customer's wallet; returns how many rows went (0 when it was not stored)."""
    result = conn.execute(
        wallets.delete().where(
            wallets.c.customer_id == customer_id,
            wallets.c.chain == chain,
            wallets.c.address == address,
        )
    )
    return int(result.rowcount or 0)
