"""The demo exchange's activity as event records (docs/events.md), deterministic for a seed.

Two parts, on one timeline:

* ``history`` — what happened before the list update, loaded through the monitoring pipeline
  before the update step: customers and their wallets, logins (some from Russian and North
  Korean address space, placed with the same offline IP database the rule uses), every deposit
  of the demo chain but the miner payout, withdrawal requests (clean ones, one to a listed
  exchange, one whose receiver forwards to a listed address, one to the address the list
  update will list), a pass-through through the Singapore company's account and structuring;
* ``live`` — the requests decided after the update (``monitor.decisions.decide``): a clean
  withdrawal, a withdrawal to a listed address, a withdrawal from a North Korean IP and the
  Irkutsk miner's payout deposited before crediting.

``planted`` says which events carry which typology, for the report and the tests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sanctrace.demo.chain_world import ChainWorld
from sanctrace.demo.world import Customer, DemoAddresses, World

__all__ = ["Activity", "build_activity", "btc_amount"]

# Registered in the RIR delegation files (iptocc) to JP, RU and KP.
JP_IPS = ("133.11.0.1", "126.0.0.1", "153.120.0.1", "210.140.10.1", "106.72.0.1", "27.80.0.1")
RU_IPS = ("77.88.8.8", "5.255.255.5", "95.108.128.1", "2a02:6b8::1")
KP_IPS = ("175.45.176.1", "175.45.178.10")
AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 15_4 like Mac OS X) AppleWebKit/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/100.0",
    "DemoExchangeApp/3.2 (Android 12)",
)
HISTORY_START = datetime(2022, 2, 20, 9, 0, tzinfo=UTC)
LIVE_TIME = datetime(2022, 4, 28, 10, 0, tzinfo=UTC)  # the live decisions, after the update
SAMPLE = 150  # ordinary customers with history, beside the ones the scenarios need


@dataclass
class Activity:
    history: list[dict[str, Any]] = field(default_factory=list)
    live: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # label, kind, req
    planted: dict[str, Any] = field(default_factory=dict)


def btc_amount(sats: int) -> str:
    """Satoshi as a decimal BTC string ("0.95")."""
    return f"{(Decimal(sats) / Decimal(10**8)).normalize():f}"


def _iso(t: datetime) -> str:
    return t.isoformat()


def _block_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)


def _customer_event(c: Customer, t: datetime) -> dict[str, Any]:
    names = []
    for kind, text in c.names:
        names.append({"text": text, "kind": "kana" if kind == "reading" else "legal"})
    return {
        "event_id": f"cust-{c.id}",
        "type": "customer",
        "time": _iso(t),
        "customer_id": c.id,
        "kind": c.kind,
        "names": names,
        "birth_date": c.birth_date if c.kind == "person" else c.incorporated,
        "nationality": c.nationality,
        "residence": c.country,
        "address_country": c.country,
        "phone_country": c.country,
    }


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed * 13 + 5)
        self.addr = DemoAddresses(random.Random(seed * 17 + 3))
        self.events: list[dict[str, Any]] = []
        self.n = 0

    def add(self, kind: str, customer_id: str, t: datetime, **fields: Any) -> dict[str, Any]:
        self.n += 1
        event = {
            "event_id": f"{kind[:3]}-{self.n:05d}",
            "type": kind,
            "time": _iso(t),
            "customer_id": customer_id,
            **fields,
        }
        self.events.append(event)
        return event

    def login(self, customer_id: str, t: datetime, ip: str) -> dict[str, Any]:
        return self.add(
            "login",
            customer_id,
            t,
            ip=ip,
            device_id=f"dev-{customer_id}",
            user_agent=self.rng.choice(AGENTS),
        )

    def withdrawal(
        self, customer_id: str, t: datetime, address: str, sats: int, ip: str
    ) -> dict[str, Any]:
        return self.add(
            "withdrawal",
            customer_id,
            t,
            chain="btc",
            asset="BTC",
            amount=btc_amount(sats),
            address=address,
            ip=ip,
        )


def _deposit_outputs(chain: ChainWorld) -> dict[str, tuple[str, int, int, datetime]]:
    """{address: (txid, output index, value, block time)} of the last output paying it."""
    found: dict[str, tuple[str, int, int, datetime]] = {}
    for row in chain.rows:
        for out in row["outputs"]:
            for address in out["addresses"]:
                found[address] = (
                    row["hash"],
                    out["index"],
                    out["value"],
                    _block_time(row["block_timestamp"]),
                )
    return found


def build_activity(world: World, chain: ChainWorld, seed: int) -> Activity:
    """The activity history and the live requests of the demo exchange (module docstring)."""
    b = _Builder(seed)
    rng = b.rng
    act = Activity()
    by_id = {c.id: c for c in world.customers}
    wallets: dict[str, list[Any]] = {}
    for w in world.wallets:
        wallets.setdefault(w.customer_id, []).append(w)
    outputs = _deposit_outputs(chain)
    flagged = {w["customer_id"] for w in world.truth["listed_wallets"]}

    # Who takes part: the chain's depositors, the listed and soon-listed customers, the
    # Singapore company, and a sample of ordinary customers.
    deposits = dict(chain.truth["deposits"])
    clean = list(deposits.pop("clean", []))
    miner = deposits.pop("mining_payout_merged")
    depositor = {w.address: w.customer_id for w in world.wallets if w.purpose == "deposit"}
    cast: list[str] = []

    def join(cid: str) -> None:
        if cid in by_id and cid not in cast:
            cast.append(cid)

    for d in deposits.values():
        join(d["customer_id"])
    for a in clean:
        join(depositor[a])
    join(miner["customer_id"])
    for c in world.truth["listed_customers"] + world.truth.get("listed_after_update", []):
        join(c["customer_id"])
    for w in chain.truth["withdrawals"].values():
        join(w["customer_id"])
    for w in world.truth["listed_wallets"]:
        join(w["customer_id"])
    pt = chain.truth.get("activity", {}).get("pass_through")
    if pt:
        join(pt["customer_id"])
    ordinary = [
        c.id
        for c in world.customers
        if c.id not in cast and c.id not in flagged and c.country == "JP"
    ]
    whitelisting = [
        cid
        for cid in ordinary
        if any(w.chain == "btc" and w.purpose == "withdrawal" for w in wallets.get(cid, []))
    ]
    roles: dict[str, str] = {}
    pick = iter(whitelisting + [c for c in ordinary if c not in whitelisting])
    for role in ("allow", "lookback", "ru_login", "kp_login", "structuring"):
        cid = next(pick)
        roles[role] = cid
        join(cid)
    for cid in rng.sample(ordinary, min(SAMPLE, len(ordinary))):
        join(cid)

    # Onboarding: customer and wallet events, then logins from Japan.
    for i, cid in enumerate(cast):
        t = HISTORY_START + timedelta(minutes=7 * i)
        b.events.append(_customer_event(by_id[cid], t))
        for w in wallets.get(cid, []):
            b.add(
                "wallet",
                cid,
                t + timedelta(minutes=1),
                chain=w.chain,
                address=w.address,
                purpose=w.purpose,
            )
        for k in range(rng.randint(1, 3)):
            b.login(
                cid, t + timedelta(days=2 + 9 * k, hours=rng.randint(0, 12)), rng.choice(JP_IPS)
            )

    # Logins from sanctioned and high-risk jurisdictions.
    ru, kp = roles["ru_login"], roles["kp_login"]
    act.planted["ru_login"] = [
        b.login(ru, datetime(2022, 3, 14 + k, 22, 5, tzinfo=UTC), RU_IPS[k])["event_id"]
        for k in range(3)
    ]
    act.planted["kp_login"] = [
        b.login(kp, datetime(2022, 3, 18, 3, 40, tzinfo=UTC), KP_IPS[0])["event_id"]
    ]
    act.planted["login_customers"] = {"RU": ru, "KP": kp}

    # Deposits: every customer deposit on the demo chain but the miner payout (decided live).
    act.planted["deposits"] = {}
    for key, address in [(k, d["address"]) for k, d in deposits.items()] + [
        ("clean", a) for a in clean
    ]:
        txid, index, value, when = outputs[address]
        event = b.add(
            "deposit",
            depositor[address],
            when + timedelta(minutes=30),
            chain="btc",
            asset="BTC",
            amount=btc_amount(value),
            txid=txid,
            output_index=index,
            address=address,
        )
        act.planted["deposits"].setdefault(key, []).append(event["event_id"])

    # Withdrawal requests: clean ones to whitelisted addresses.
    t = datetime(2022, 3, 8, 12, 0, tzinfo=UTC)
    for cid in cast:
        if cid in flagged or cid in roles.values():
            continue
        for w in wallets.get(cid, []):
            if w.chain == "btc" and w.purpose == "withdrawal" and w.address not in outputs:
                t += timedelta(hours=5)
                b.withdrawal(cid, t, w.address, rng.randint(20, 90) * 1_000_000, rng.choice(JP_IPS))
    # … one whose receiver forwards the coins on to a listed address (destination of funds).
    for key, w in chain.truth["withdrawals"].items():
        event = b.withdrawal(
            w["customer_id"],
            datetime(2022, 2, 28, 23, 0, tzinfo=UTC),
            w["address"],
            100_000_000,
            JP_IPS[0],
        )
        act.planted[key] = event["event_id"]
    # … one to a listed exchange's address a customer had whitelisted.
    exchange = chain.truth["exchange_address"]
    holder = next(
        (w["customer_id"] for w in world.truth["listed_wallets"] if w["address"] == exchange),
        None,
    )
    if holder is not None:
        event = b.withdrawal(
            holder, datetime(2022, 3, 22, 8, 15, tzinfo=UTC), exchange, 40_000_000, JP_IPS[1]
        )
        act.planted["to_listed_exchange"] = event["event_id"]
    # … one to the address the list update will list (the lookback finds it afterwards).
    soon = world.truth.get("addresses_after_update", [])
    if soon:
        cid = roles["lookback"]
        event = b.withdrawal(
            cid,
            datetime(2022, 3, 25, 14, 30, tzinfo=UTC),
            soon[0]["address"],
            30_000_000,
            JP_IPS[2],
        )
        act.planted["listed_later"] = {
            "event_id": event["event_id"],
            "customer_id": cid,
            "address": soon[0]["address"],
        }

    # Structuring: four withdrawals within five days, each just under the threshold.
    cid = roles["structuring"]
    act.planted["structuring"] = {"customer_id": cid, "events": []}
    target = b.addr.btc()
    for k, sats in enumerate((9_600_000, 9_800_000, 9_500_000, 9_900_000)):
        when = datetime(2022, 4, 4, 10, 0, tzinfo=UTC) + timedelta(days=k, hours=3 * k)
        event = b.withdrawal(cid, when, target, sats, rng.choice(JP_IPS))
        act.planted["structuring"]["events"].append(event["event_id"])

    # The pass-through: the Singapore company's new deposit address receives 1.5 BTC, and
    # 90% of it leaves within five hours to two other addresses.
    if pt:
        sg = pt["customer_id"]
        when = _block_time(pt["time"])
        b.add(
            "wallet",
            sg,
            when - timedelta(days=1),
            chain="btc",
            address=pt["address"],
            purpose="deposit",
        )
        b.login(sg, when - timedelta(hours=1), "153.120.0.1")
        dep = b.add(
            "deposit",
            sg,
            when + timedelta(minutes=20),
            chain="btc",
            asset="BTC",
            amount=btc_amount(pt["value"]),
            txid=pt["txid"],
            output_index=pt["output_index"],
            address=pt["address"],
        )
        outs = []
        for hours_after, sats in ((2, 90_000_000), (5, 45_000_000)):
            address = b.addr.btc()
            b.add(
                "wallet",
                sg,
                when + timedelta(hours=hours_after - 1),
                chain="btc",
                address=address,
                purpose="withdrawal",
            )
            outs.append(
                b.withdrawal(sg, when + timedelta(hours=hours_after), address, sats, "153.120.0.1")[
                    "event_id"
                ]
            )
        act.planted["pass_through"] = {
            "customer_id": sg,
            "deposit": dep["event_id"],
            "withdrawals": outs,
        }

    act.history = b.events

    # The live requests, decided after the list update.
    allow = roles["allow"]
    allow_to = next(
        w.address for w in wallets[allow] if w.chain == "btc" and w.purpose == "withdrawal"
    )
    live_ip = JP_IPS[3]
    act.live.append(
        (
            "clean withdrawal to a whitelisted address",
            "withdrawal",
            _live(
                "live-wd-clean", allow, "withdrawal", address=allow_to, amount="0.25", ip=live_ip
            ),
        )
    )
    act.live.append(
        (
            "withdrawal to the listed exchange's address",
            "withdrawal",
            _live(
                "live-wd-listed",
                holder or allow,
                "withdrawal",
                address=exchange,
                amount="0.5",
                ip=live_ip,
            ),
        )
    )
    act.live.append(
        (
            "withdrawal requested from a North Korean IP",
            "withdrawal",
            _live(
                "live-wd-kp",
                kp,
                "withdrawal",
                address=b.addr.btc(),
                amount="0.3",
                ip=KP_IPS[1],
            ),
        )
    )
    txid, index, value, _ = outputs[miner["address"]]
    act.live.append(
        (
            "the Irkutsk miner's payout, before crediting",
            "deposit",
            _live(
                "live-dep-miner",
                miner["customer_id"],
                "deposit",
                address=miner["address"],
                amount=btc_amount(value),
                txid=txid,
                output_index=index,
            ),
        )
    )
    # A travel-rule beneficiary who shares a listed person's name: held for review; the
    # casework step confirms from the beneficiary's data that it is not the listed person.
    namesake = next(e for e in world.entries if e.sdn_type == "individual")
    act.live.append(
        (
            "withdrawal to a namesake of a listed person",
            "withdrawal",
            _live(
                "live-wd-namesake",
                allow,
                "withdrawal",
                address=allow_to,
                amount="0.1",
                ip=live_ip,
                beneficiary={"names": [{"text": namesake.name}], "country": "JP"},
            ),
        )
    )
    act.planted["live"] = {
        "clean": "live-wd-clean",
        "listed": "live-wd-listed",
        "kp": "live-wd-kp",
        "miner": "live-dep-miner",
        "namesake": "live-wd-namesake",
    }
    act.planted["miner_customer"] = miner["customer_id"]
    return act


def _live(event_id: str, customer_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": kind,
        "time": _iso(LIVE_TIME),
        "customer_id": customer_id,
        "chain": "btc",
        "asset": "BTC",
        **fields,
    }
