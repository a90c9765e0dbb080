"""A small Bitcoin chain for the demo exchange, in the public BigQuery transactions layout.

Deterministic for a seed. Money moves the ways exposure screening must see through: a listed
mining company's block rewards paid out to miners and merged with clean coins before a deposit;
a sanctioned exchange paying a customer straight away, and through a peel chain of a few hops;
a chain longer than the hop limit; funds that pass through another exchange (a stop entity);
clean deposits; and a withdrawal whose receiver forwards the coins to a listed address.
``truth`` says what each planted flow should show.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sanctrace.demo.world import DemoAddresses, World

FEE = 2_000
START = datetime(2022, 3, 1, tzinfo=UTC)


@dataclass
class _Utxo:
    txid: str
    index: int
    value: int
    address: str


@dataclass
class ChainWorld:
    rows: list[dict]  # BigQuery ``transactions`` rows, chain order
    tags: list[dict]  # attribution tags (tag CSV columns): the other exchange, our hot wallet
    truth: dict = field(default_factory=dict)


class _Builder:
    """Blocks of transactions; each ``pay`` spends whole outputs and returns the new ones."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.height = 725_000
        self.block: list[dict] = []
        self.n = 0

    def _txid(self, body: object) -> str:
        self.n += 1
        return hashlib.sha256(json.dumps([self.n, body]).encode()).hexdigest()

    def _out(self, i: int, value: int, address: str) -> dict:
        kind = "witness_v0_keyhash" if address.startswith("bc1") else "pubkeyhash"
        return {"index": i, "value": value, "type": kind, "addresses": [address]}

    def coinbase(self, address: str, value: int = 625_000_000) -> _Utxo:
        txid = self._txid(["coinbase", address, value])
        self.block.append(
            {
                "hash": txid,
                "is_coinbase": True,
                "inputs": [],
                "outputs": [self._out(0, value, address)],
            }
        )
        return _Utxo(txid, 0, value, address)

    def pay(
        self, spend: list[_Utxo], to: list[tuple[str, int]], change: str | None = None
    ) -> list[_Utxo]:
        """Spend ``spend`` to ``to``; what is left after the fee goes to ``change``."""
        total = sum(u.value for u in spend)
        outs = list(to)
        left = total - sum(v for _, v in outs) - FEE
        if left < 0:
            raise ValueError("demo chain: a payment spends more than its inputs")
        if change is not None and left > 0:
            outs.append((change, left))
        txid = self._txid([[[u.txid, u.index] for u in spend], outs])
        inputs = [
            {
                "index": i,
                "spent_transaction_hash": u.txid,
                "spent_output_index": u.index,
                "value": u.value,
                "type": "witness_v0_keyhash" if u.address.startswith("bc1") else "pubkeyhash",
                "addresses": [u.address],
                "sequence": 0xFFFFFFFF,
            }
            for i, u in enumerate(spend)
        ]
        self.block.append(
            {
                "hash": txid,
                "is_coinbase": False,
                "inputs": inputs,
                "outputs": [self._out(i, v, a) for i, (a, v) in enumerate(outs)],
            }
        )
        return [_Utxo(txid, i, v, a) for i, (a, v) in enumerate(outs)]

    def seal(self) -> None:
        """Close the current block (every later payment may spend its outputs)."""
        if not self.block:
            return
        block_hash = hashlib.sha256(f"block {self.height}".encode()).hexdigest()
        when = START + timedelta(minutes=10 * (self.height - 725_000))
        for row in self.block:
            row.update(
                block_hash=block_hash,
                block_number=self.height,
                block_timestamp=when.strftime("%Y-%m-%d %H:%M:%S UTC"),
            )
        self.rows.extend(self.block)
        self.block = []
        self.height += 1


def generate_chain(world: World, seed: int) -> ChainWorld:
    """The demo chain over ``world``'s listed addresses and customer wallets."""
    rng = random.Random(seed * 7 + 1)
    addr = DemoAddresses(rng)
    b = _Builder()

    listed = {e.name: [a for asset, a in e.crypto if asset == "XBT"] for e in world.entries}
    mining = next(a for name, a in listed.items() if "BAIKALSKAYA" in name and a)
    exchange = next(a for name, a in listed.items() if name.startswith("KRIPTOBIRZHA") and a)
    sub = listed["AO ANGARSKII DATA TSENTR"]
    flagged_customers = {w["customer_id"] for w in world.truth["listed_wallets"]}
    deposits = [
        w
        for w in world.wallets
        if w.chain == "btc" and w.purpose == "deposit" and w.customer_id not in flagged_customers
    ]
    withdrawals = [
        w
        for w in world.wallets
        if w.chain == "btc" and w.purpose == "withdrawal" and w.customer_id not in flagged_customers
    ]
    rng.shuffle(deposits)
    picks = iter(deposits)
    hot, other_exchange = addr.btc(), addr.btc()
    truth: dict = {"deposits": {}, "withdrawals": {}}

    def plant(key: str, wallet_address: str, customer: str, **facts: object) -> None:
        truth["deposits"][key] = {"address": wallet_address, "customer_id": customer, **facts}

    # Block rewards: the listed mining company, clean miners, our hot wallet, the other exchange.
    rewards = [b.coinbase(mining[0]) for _ in range(2)]
    clean = [b.coinbase(addr.btc()) for _ in range(40)]
    x_funds = b.coinbase(exchange[0])
    hot_funds = b.coinbase(hot)
    b.seal()

    # 1. The mining company pays its miners; one miner merges the payout with clean coins.
    miners = [addr.btc() for _ in range(8)]
    payout = b.pay([rewards[0]], [(m, 70_000_000) for m in miners], change=mining[0])
    b.seal()
    w = next(picks)
    b.pay([payout[0], clean[0]], [(w.address, 200_000_000)], change=miners[0])
    plant(
        "mining_payout_merged",
        w.address,
        w.customer_id,
        hops=2,
        haircut=70_000_000 / (70_000_000 + clean[0].value),
    )
    b.seal()

    # 2. The sanctioned exchange pays a customer directly (change back to itself).
    w = next(picks)
    direct = b.pay([x_funds], [(w.address, 50_000_000)], change=exchange[0])
    plant("direct_from_listed_exchange", w.address, w.customer_id, hops=1, haircut=1.0)
    b.seal()

    # 3. A peel chain of four hops, clean coins merged in at the second hop.
    i1, i2, i3 = addr.btc(), addr.btc(), addr.btc()
    step = b.pay([direct[1]], [(i1, 100_000_000)], change=exchange[0])
    b.seal()
    step2 = b.pay([step[0], clean[1]], [(i2, 300_000_000)], change=addr.btc())
    b.seal()
    step3 = b.pay([step2[0]], [(i3, 250_000_000)], change=addr.btc())
    b.seal()
    w = next(picks)
    b.pay([step3[0]], [(w.address, 120_000_000)], change=addr.btc())
    share = 100_000_000 / (100_000_000 + clean[1].value)
    plant("peel_chain", w.address, w.customer_id, hops=4, haircut=share)
    b.seal()

    # 4. A chain longer than the default hop limit (5): no exposure at 5 hops.
    coin = step[1]
    for _ in range(6):
        (coin,) = b.pay([coin], [(addr.btc(), coin.value - FEE)])
        b.seal()
    w = next(picks)
    b.pay([coin], [(w.address, coin.value - FEE)])
    plant("beyond_hop_limit", w.address, w.customer_id, hops=7, haircut=0.0)
    b.seal()

    # 5. Through another exchange: a stop entity; its later payouts are not traced further.
    (at_other,) = b.pay([rewards[1]], [(other_exchange, rewards[1].value - FEE)])
    b.seal()
    w = next(picks)
    b.pay([at_other], [(w.address, 300_000_000)], change=other_exchange)
    plant(
        "through_other_exchange",
        w.address,
        w.customer_id,
        hops=None,
        haircut=0.0,
        stopped_at=other_exchange,
    )
    b.seal()

    # 6. Clean deposits.
    for coin, w in zip(clean[2:30], picks, strict=False):
        b.pay([coin], [(w.address, coin.value // 4)], change=addr.btc())
        truth["deposits"].setdefault("clean", []).append(w.address)
        if len(b.block) >= 5:
            b.seal()
    b.seal()

    # 7. A withdrawal to a customer's whitelisted address, forwarded on to a listed address.
    if withdrawals:
        w = withdrawals[0]
        sent = b.pay([hot_funds], [(w.address, 100_000_000)], change=hot)
        b.seal()
        g = addr.btc()
        (fwd,) = b.pay([sent[0]], [(g, 100_000_000 - FEE)])
        b.seal()
        b.pay([fwd], [(sub[0], 60_000_000)], change=addr.btc())
        b.seal()
        truth["withdrawals"]["forwarded_to_listed"] = {
            "address": w.address,
            "customer_id": w.customer_id,
            "txid": sent[0].txid,
            "hops": 2,
            "reaches": sub[0],
        }

    # 8. For the monitoring step, seven weeks later: the Singapore company's new deposit address
    # receives clean coins (it forwards them within hours: a pass-through). Appended last, so
    # the flows above and what the chain step traces are unchanged.
    sg = next((c["customer_id"] for c in world.truth.get("owned_companies", [])), None)
    if sg is not None:
        b.height += 6 * 24 * 52
        sg_address = addr.btc()
        received = b.pay([clean[30]], [(sg_address, 150_000_000)], change=addr.btc())
        b.seal()
        truth["activity"] = {
            "pass_through": {
                "customer_id": sg,
                "address": sg_address,
                "txid": received[0].txid,
                "output_index": 0,
                "value": 150_000_000,
                "time": b.rows[-1]["block_timestamp"],
            }
        }

    tags = [
        {
            "address": other_exchange,
            "chain": "btc",
            "label": "Other Exchange hot wallet",
            "category": "exchange",
            "actor": "otherexchange",
            "source": "demo",
            "confidence": "100",
            "jurisdiction": "",
        },
        {
            "address": hot,
            "chain": "btc",
            "label": "Our hot wallet",
            "category": "exchange",
            "actor": "demo_exchange",
            "source": "demo",
            "confidence": "100",
            "jurisdiction": "",
        },
    ]
    truth["mining_address"], truth["exchange_address"] = mining[0], exchange[0]
    truth["other_exchange"], truth["hot_wallet"] = other_exchange, hot
    return ChainWorld(b.rows, tags, truth)
