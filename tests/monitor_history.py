"""A generated exchange history for the windowed typologies: customers with declared residences
(some with a Russian phone or a North Korean passport), logins from a pool of IPs in JP, US,
RU, KP and IR space, deposits and withdrawals in BTC and ETH (bursts of forwarding and of
small withdrawals), fiat withdrawals in JPY. Times fall on a coarse grid so that window
boundaries and ties are hit often."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sanctrace.monitor.events import Event, parse_event
from sanctrace.monitor.rules.base import IpCountry, RuleConfig
from sanctrace.store import monitoring as repo

START = datetime(2025, 3, 1, tzinfo=UTC)

# The IP pool: address → country (None: not in the database).
IP_COUNTRY: dict[str, str | None] = {
    "203.0.113.10": "JP",
    "203.0.113.11": "JP",
    "198.51.100.7": "US",
    "192.0.2.55": "RU",
    "192.0.2.66": "KP",
    "192.0.2.77": "IR",
    "2001:db8::1": "RU",
    "100.64.0.1": None,
}

RULES = {
    "pass_through": {"window_hours": 48, "min_fraction": "0.8"},
    "structuring": {
        "window_days": 7,
        "min_count": 3,
        "thresholds": {"BTC": "1", "ETH": "10", "JPY": "1000000"},
    },
    "jurisdiction_mismatch": {"window_days": 30},
}


def configs(overrides: dict[str, dict[str, Any]] | None = None) -> list[RuleConfig]:
    merged = {k: {**v, **(overrides or {}).get(k, {})} for k, v in RULES.items()}
    return [RuleConfig(id=k, params=v) for k, v in merged.items()]


def ip_country(ip: str) -> IpCountry | None:
    country = IP_COUNTRY.get(ip)
    if country is None:
        return None
    return IpCountry(ip, country, "test-ip-db", date(2025, 1, 1))


def generate(seed: int = 7, customers: int = 60, days: int = 40) -> list[Event]:
    """Events in time order (ties in list order)."""
    rng = random.Random(seed)
    raw: list[dict[str, Any]] = []
    n = 0

    def at(minutes: int) -> str:
        return (START + timedelta(minutes=minutes)).isoformat()

    def add(type_: str, cid: str, minutes: int, **fields: Any) -> None:
        nonlocal n
        n += 1
        raw.append(
            {"event_id": f"e{n:06d}", "type": type_, "time": at(minutes), "customer_id": cid}
            | fields
        )

    horizon = days * 24 * 60
    for c in range(customers):
        cid = f"c{c:04d}"
        residence = rng.choice(["JP", "JP", "JP", "SG", "RU", None])
        docs = []
        if rng.random() < 0.2:
            docs.append(
                {"type": "passport", "number": f"P{c}", "country": rng.choice(["KP", "JP"])}
            )
        add(
            "customer",
            cid,
            rng.randrange(0, 600) // 30 * 30,
            kind="person",
            names=[{"text": f"Customer {c}"}],
            residence=residence,
            address_country=rng.choice(["JP", None]),
            phone_country=rng.choice(["JP", "JP", "JP", "JP", "RU", None]),
            id_documents=docs,
        )
        if rng.random() < 0.3:  # a later update
            add(
                "customer",
                cid,
                rng.randrange(600, horizon) // 60 * 60,
                action="update",
                kind="person",
                names=[{"text": f"Customer {c}"}],
                residence=rng.choice(["JP", "BY", None]),
                phone_country=rng.choice(["JP", "BY", None]),
            )
        for _ in range(rng.randrange(0, 12)):
            add(
                "login",
                cid,
                rng.randrange(600, horizon) // 60 * 60,
                ip=rng.choice(list(IP_COUNTRY)),
            )
        for _ in range(rng.randrange(0, 8)):  # deposits, often forwarded
            asset = rng.choice(["BTC", "BTC", "ETH"])
            t = rng.randrange(600, horizon) // 60 * 60
            amount = rng.choice(["1", "0.5", "2.25", "0.1", "10", "0"])
            add(
                "deposit",
                cid,
                t,
                chain=asset.lower() if asset == "BTC" else "eth",
                asset=asset,
                amount=amount,
                txid=f"{n:064x}",
                output_index=0,
                address=f"dep-{cid}",
            )
            for _ in range(rng.randrange(0, 4)):
                add(
                    "withdrawal",
                    cid,
                    t + rng.choice([0, 60, 600, 1440, 2880, 2940]),
                    chain="btc" if asset == "BTC" else "eth",
                    asset=asset,
                    amount=rng.choice(["0.4", "0.3", "0.8", "0.05", "1.8", "0.2"]),
                    address=f"out-{rng.randrange(1000)}",
                )
        for _ in range(rng.randrange(0, 5)):  # bursts of small withdrawals
            t = rng.randrange(600, horizon) // 1440 * 1440
            asset = rng.choice(["BTC", "ETH", "JPY"])
            for k in range(rng.randrange(1, 5)):
                minutes = t + k * rng.choice([60, 1440, 3 * 1440])
                if asset == "JPY":
                    add(
                        "fiat_out",
                        cid,
                        minutes,
                        amount=rng.choice(["400000", "999999", "1000000", "250000.5"]),
                        currency="JPY",
                        bank_country="JP",
                    )
                else:
                    add(
                        "withdrawal",
                        cid,
                        minutes,
                        chain="btc" if asset == "BTC" else "eth",
                        asset=asset,
                        amount=rng.choice(["0.4", "0.99", "1", "3.5", "9.99", "0.35"]),
                        address=f"out-{rng.randrange(1000)}",
                    )
    raw.sort(key=lambda r: r["time"])  # stable: ties keep their order
    return [parse_event(r, r["event_id"]) for r in raw]


@dataclass
class Row:
    """An ``events`` row as the repository answers it."""

    id: int
    event_id: str
    type: str
    time: datetime
    customer_id: str
    chain: str | None
    asset: str | None
    amount: str | None
    address: str | None
    payload: dict[str, Any]


def row_of(i: int, event: Event) -> Row:
    return Row(
        id=i,
        event_id=event.event_id,
        type=event.type,
        time=event.time,
        customer_id=event.customer_id,
        chain=getattr(event, "chain", None),
        asset=getattr(event, "asset", None),
        amount=getattr(event, "amount", None),
        address=getattr(event, "address", None),
        payload=event.model_dump(mode="json"),
    )


def record(event: Event) -> dict[str, Any]:
    """The repository's insert record of an event."""
    r = row_of(0, event)
    return {
        "event_id": r.event_id,
        "type": r.type,
        "time": r.time,
        "customer_id": r.customer_id,
        "payload": r.payload,
        "chain": r.chain,
        "asset": r.asset,
        "amount": r.amount,
        "address": r.address,
    }


class StoredFacts:
    """The facts a windowed rule asks for, over the events stored in a real database: the
    history through the repository (time order, then arrival), the IP pool above. The chain
    store and lists are not involved (``exposure`` knows nothing: None)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def history(self, customer_id, *, types=(), since=None, until=None):  # noqa: ANN001
        with self.db.connect() as conn:
            rows = repo.event_rows(
                conn, customer_id=customer_id, types=list(types) or None, since=since, until=until
            )
        return [parse_event(r.payload, r.event_id) for r in rows]

    def customer(self, customer_id):  # noqa: ANN001
        found = self.history(customer_id, types=("customer",))
        return found[-1] if found else None

    def ip_country(self, ip):  # noqa: ANN001
        return ip_country(ip)

    def exposure(self, **kwargs):  # noqa: ANN003
        return None

    def address(self, chain, address):  # noqa: ANN001
        raise NotImplementedError("not asked by the windowed rules")

    def names(self, names, **kwargs):  # noqa: ANN001, ANN003
        return []

    def snapshots(self):
        return {}


def store(db: Any, events: list[Event]) -> None:
    with db.begin() as conn:
        repo.insert_events(conn, [record(e) for e in events])
