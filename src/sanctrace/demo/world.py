"""The synthetic exchange: a fictional sanctions list, customers, wallets and ownership.

Deterministic for a seed. It mirrors the situation sanctrace exists for: Russian persons and
companies on a list, a crypto-mining company in the Irkutsk region with subsidiaries, a
sanctioned exchange with crypto addresses, and a Japanese exchange whose customers include
Russian persons held only in katakana and a Singapore company owned through a chain by a listed
person. ``truth`` records what was planted, so later steps can be measured against it.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from sanctrace.chain._codecs import b58check_encode, segwit_encode
from sanctrace.demo import names_data as nd
from sanctrace.store import customers as customer_repo


@dataclass
class ListEntry:
    """One entry of the fictional list, in OFAC CSV terms."""

    ent_num: int
    name: str
    sdn_type: str  # "individual" or "" for an entity
    programs: list[str]
    remarks: list[str] = field(default_factory=list)
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (aka|fka, name)
    addresses: list[tuple[str, str, str]] = field(default_factory=list)  # street, city, country
    crypto: list[tuple[str, str]] = field(default_factory=list)  # (asset, address)


@dataclass
class Customer:
    id: str
    kind: str  # person | company
    names: list[tuple[str, str]]  # (kind, name): legal, reading, latin, alias
    country: str
    birth_date: str | None = None
    nationality: str | None = None
    incorporated: str | None = None
    data: dict = field(default_factory=dict)


@dataclass
class Wallet:
    customer_id: str
    chain: str
    address: str
    purpose: str  # deposit | withdrawal


@dataclass
class World:
    seed: int
    entries: list[ListEntry]
    update: list[ListEntry]  # the next version of the list: one delisting, one new listing
    customers: list[Customer]
    wallets: list[Wallet]
    ownership: list[dict]  # FtM entities: companies, persons and Ownership links
    truth: dict


class DemoAddresses:
    """Valid-looking, deterministic addresses for the demo (random keys, real encodings)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def _bytes(self, n: int) -> bytes:
        return bytes(self.rng.getrandbits(8) for _ in range(n))

    def btc(self) -> str:
        if self.rng.random() < 0.5:
            return b58check_encode(b"\x00" + self._bytes(20))
        return segwit_encode("bc", 0, self._bytes(20))

    def eth(self) -> str:
        return "0x" + self._bytes(20).hex()

    def trx(self) -> str:
        return b58check_encode(b"\x41" + self._bytes(20))

    def for_chain(self, chain: str) -> str:
        return getattr(self, chain)()


def _dob(rng: random.Random, young: int = 1995, old: int = 1955) -> str:
    return f"{rng.randint(old, young)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _ofac_date(iso: str) -> str:
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    y, m, d = iso.split("-")
    return f"{d} {months[int(m) - 1]} {y}"


def _feminine(latin: str, cyrillic: str, kana: str) -> tuple[str, str, str]:
    """The feminine form of a Russian surname in all three scripts (-ov → -ova, -sky → -skaya)."""
    if latin.endswith("y") and cyrillic.endswith("ий"):
        return latin[:-1] + "aya", cyrillic[:-2] + "ая", kana.removesuffix("キー") + "カヤ"
    if latin.endswith(("ov", "ev", "in", "yn")):
        if kana.endswith("フ"):
            kana = kana[:-1] + "ワ"
        elif kana.endswith("ン"):
            kana = kana[:-1] + "ナ"
        return latin + "a", cyrillic + "а", kana
    return latin, cyrillic, kana  # -ko, -uk, -ets do not change


def _ru_person(rng: random.Random) -> dict:
    female = rng.random() < 0.3
    given = rng.choice(nd.RU_GIVEN_F if female else nd.RU_GIVEN_M)
    surname = rng.choice(nd.RU_SURNAMES)
    patr = rng.choice(nd.RU_PATRONYMICS)
    latin_surname, cyr_surname, kana_surname = surname
    if female:
        latin_surname, cyr_surname, kana_surname = _feminine(*surname)
    patronymic = patr[0] if not female else patr[0].replace("vich", "vna").replace("ich", "na")
    return {
        "female": female,
        "given": given,
        "surname_lat": latin_surname,
        "surname_cyr": cyr_surname,
        "surname_kana": kana_surname,
        "patronymic": patronymic,
        "patronymic_cyr": patr[1] if not female else patr[1].replace("вич", "вна"),
    }


def generate(seed: int = 2022, customers: int = 10_000) -> World:
    """Build the whole world for ``seed`` with about ``customers`` exchange customers."""
    rng = random.Random(seed)
    addr = DemoAddresses(rng)
    entries: list[ListEntry] = []
    truth: dict = {"listed_customers": [], "listed_wallets": [], "owned_companies": []}
    num = iter(range(90001, 99999))

    # Listed Russian persons, with aliases in other romanisations and in Cyrillic.
    people: list[dict[str, Any]] = []
    used: set[tuple[str, str]] = set()
    while len(people) < 40:
        p = _ru_person(rng)
        key = (p["given"][0], p["surname_lat"])
        if key in used:
            continue
        used.add(key)
        p["dob"] = _dob(rng, 1985, 1950)
        entry = ListEntry(
            next(num),
            f"{p['surname_lat'].upper()}, {p['given'][0]} {p['patronymic']}",
            "individual",
            ["RUSSIA-EO14024"],
        )
        for variant in nd.RU_VARIANTS.get(p["given"][0], [])[:2]:
            entry.aliases.append(
                ("aka", f"{p['surname_lat'].upper()}, {variant} {p['patronymic']}")
            )
        entry.aliases.append(("aka", f"{p['surname_cyr']} {p['given'][1]} {p['patronymic_cyr']}"))
        entry.remarks += [
            f"DOB {_ofac_date(p['dob'])}",
            "POB Irkutsk, Russia" if rng.random() < 0.3 else "POB Moscow, Russia",
            "nationality Russia",
            f"Gender {'Female' if p['female'] else 'Male'}",
            f"Passport {rng.randint(10**8, 10**9 - 1)} (Russia)",
            f"Tax ID No. {rng.randint(10**11, 10**12 - 1)} (Russia)",
        ]
        if rng.random() < 0.25:
            entry.crypto.append(("XBT", addr.btc()))
        p["ent_num"] = entry.ent_num
        entries.append(entry)
        people.append(p)

    def company(
        name: str, city: str, remarks: list[str], programs=("RUSSIA-EO14024",)
    ) -> ListEntry:
        e = ListEntry(next(num), name, "", list(programs), remarks=list(remarks))
        e.addresses.append(("ul. Lenina 1", city, "Russia"))
        entries.append(e)
        return e

    # The Irkutsk mining group.
    mining = company(
        "OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTYU BAIKALSKAYA VYCHISLITELNAYA KOMPANIYA",
        "Irkutsk",
        [
            f"Tax ID No. {rng.randint(10**9, 10**10 - 1)} (Russia)",
            "Organization Type: Other information technology and computer service activities",
        ],
    )
    mining.aliases += [
        ("aka", "BAIKAL HASHPOWER LLC"),
        ("aka", "OOO BAIKALSKAYA VK"),
        ("aka", "ООО БАЙКАЛЬСКАЯ ВЫЧИСЛИТЕЛЬНАЯ КОМПАНИЯ"),
    ]
    mining.crypto += [("XBT", addr.btc()) for _ in range(3)]
    subs = []
    for name, city in (
        ("AO ANGARSKII DATA TSENTR", "Angarsk"),
        ("OOO BRATSKAYA ENERGO MINING", "Bratsk"),
        ("OOO USOLYE HOSTING", "Usolye-Sibirskoye"),
    ):
        sub = company(name, city, [f"Linked To: {mining.name}"])
        sub.crypto.append(("XBT", addr.btc()))
        subs.append(sub)
    # The sanctioned exchange.
    exchange = company(
        "KRIPTOBIRZHA VOSTOCHNY MOST",
        "Moscow",
        ["Website www.vostochny-most.example", "Organization Established Date 2019"],
        programs=("RUSSIA-EO14024", "CYBER2"),
    )
    exchange.aliases += [("aka", "VOSTOK BRIDGE EXCHANGE"), ("fka", "OOO VOSTOCHNY MOST TREIDING")]
    exchange.crypto += [
        ("XBT", addr.btc()),
        ("XBT", addr.btc()),
        ("ETH", addr.eth()),
        ("USDT", addr.trx()),
        ("TRX", addr.trx()),
    ]
    # Companies in the usual Russian legal forms.
    forms = ["OOO", "AO", "PAO", "ZAO"]
    words = ["SIBIR", "TAIGA", "URAL", "VOLGA", "SEVER", "AMUR", "NEVA", "ALTAI"]
    kinds = ["STROI", "TREID", "LOGISTIK", "INVEST", "TEKH", "ENERGO"]
    for _ in range(20):
        company(
            f"{rng.choice(forms)} {rng.choice(words)}{rng.choice(kinds)}",
            rng.choice(["Moscow", "Novosibirsk", "Irkutsk", "Kazan"]),
            [f"Registration Number {rng.randint(10**12, 10**13 - 1)} (Russia)"],
        )

    listed_addresses = [(e.ent_num, a) for e in entries for a in e.crypto]

    # Exchange customers.
    out: list[Customer] = []
    wallets: list[Wallet] = []
    n_ru = max(customers // 50, 20)
    n_foreign = customers // 10
    n_company = customers // 25
    n_jp = customers - n_ru - n_foreign - n_company - 1
    seen_jp = set()
    for _ in range(n_jp):
        s, g = rng.choice(nd.JP_SURNAMES), rng.choice(nd.JP_GIVEN)
        cid = f"C{len(out) + 1:06d}"
        dob = _dob(rng, 2005, 1945)
        seen_jp.add((s[0], g[0]))
        out.append(
            Customer(
                cid,
                "person",
                [
                    ("legal", f"{s[0]} {g[0]}"),
                    ("reading", f"{s[1]} {g[1]}"),
                    ("latin", f"{s[2]} {g[2]}"),
                ],
                "JP",
                dob,
                "JP",
            )
        )
    for _ in range(n_foreign):
        fam, giv = rng.choice(nd.FOREIGN_NAMES)
        cid = f"C{len(out) + 1:06d}"
        out.append(
            Customer(
                cid,
                "person",
                [("latin", f"{fam.upper()} {giv}")],
                "JP",
                _dob(rng),
                rng.choice(["VN", "CN", "KR", "PH", "US", "FR", "DE", "IN"]),
            )
        )
    # Russian residents, held only in katakana. Some are listed persons.
    planted = rng.sample(people, 12)
    for i in range(n_ru):
        cid = f"C{len(out) + 1:06d}"
        if i < len(planted):
            p = planted[i]
            truth["listed_customers"].append({"customer_id": cid, "ent_num": p["ent_num"]})
            dob = p["dob"]
        else:
            p = _ru_person(rng)
            while (p["given"][0], p["surname_lat"]) in used:
                p = _ru_person(rng)
            used.add((p["given"][0], p["surname_lat"]))
            dob = _dob(rng)
            if i == len(planted):
                newly = (cid, p, dob)
        out.append(
            Customer(
                cid,
                "person",
                [("reading", f"{p['surname_kana']} {p['given'][2]}")],
                "JP",
                dob,
                "RU",
            )
        )
    # Japanese companies.
    for _ in range(n_company):
        w, k = rng.choice(nd.JP_COMPANY_WORDS), rng.choice(nd.JP_COMPANY_KINDS)
        cid = f"C{len(out) + 1:06d}"
        out.append(
            Customer(
                cid,
                "company",
                [("legal", f"株式会社{w[0]}{k[0]}"), ("reading", f"カ）{w[1]}{k[1]}")],
                "JP",
                incorporated=_dob(rng, 2022, 1970),
            )
        )
    # The Singapore company, owned through a chain by a listed person.
    owner = people[0]
    sg_id = f"C{len(out) + 1:06d}"
    sg = Customer(
        sg_id,
        "company",
        [
            ("legal", "ORCHID STRAITS TRADING PTE. LTD."),
            ("reading", "オーキッド・ストレイツ・トレーディング"),
        ],
        "SG",
        incorporated="2022-04-18",
    )
    sg.data["shareholders"] = [{"name": "OOO ANGARA KAPITAL", "country": "RU", "share": 100}]
    sg.data["directors"] = [{"name": "TAN Wei Ming", "country": "SG"}]
    out.append(sg)
    truth["owned_companies"].append(
        {
            "customer_id": sg_id,
            "owner_ent_num": owner["ent_num"],
            "chain": ["OOO ANGARA KAPITAL", "AO IRKUT INVEST HOLDING"],
        }
    )
    ownership = _ownership_chain(owner, sg)

    # Wallets: every customer has a deposit address; some whitelist withdrawal addresses.
    for c in out:
        chain = rng.choice(["btc", "btc", "eth", "trx"])
        wallets.append(Wallet(c.id, chain, addr.for_chain(chain), "deposit"))
        if rng.random() < 0.2:
            chain = rng.choice(["btc", "eth"])
            wallets.append(Wallet(c.id, chain, addr.for_chain(chain), "withdrawal"))
    # A few customers whitelisted addresses of the sanctioned exchange and the mining group.
    targets = [a for e in (exchange, mining, subs[0]) for a in e.crypto]
    for asset, address in targets:
        c = rng.choice(out[:n_jp])
        chain = {"XBT": "btc", "ETH": "eth", "USDT": "trx", "TRX": "trx"}[asset]
        wallets.append(Wallet(c.id, chain, address, "withdrawal"))
        truth["listed_wallets"].append({"customer_id": c.id, "address": address})
    truth["list_addresses"] = len(listed_addresses)
    # The update also lists a Bitcoin address for the new entry (its own generator, so every
    # address above stays as it was for the seed): the lookback finds past withdrawals to it.
    new_address = DemoAddresses(random.Random(seed * 31 + 7)).btc()
    update = _list_update(entries, planted[0], newly, truth, new_address)
    return World(seed, entries, update, out, wallets, ownership, truth)


def _list_update(
    entries: list[ListEntry], delisted: dict, newly: tuple, truth: dict, address: str
) -> list[ListEntry]:
    """The next list version: a planted person delisted, a customer's namesake newly listed
    with a Bitcoin address."""
    cid, p, dob = newly
    entry = ListEntry(
        max(e.ent_num for e in entries) + 1,
        f"{p['surname_lat'].upper()}, {p['given'][0]} {p['patronymic']}",
        "individual",
        ["RUSSIA-EO14024"],
        remarks=[f"DOB {_ofac_date(dob)}", "nationality Russia"],
    )
    entry.aliases.append(("aka", f"{p['surname_cyr']} {p['given'][1]} {p['patronymic_cyr']}"))
    entry.crypto.append(("XBT", address))
    truth["listed_after_update"] = [{"customer_id": cid, "ent_num": entry.ent_num}]
    truth["addresses_after_update"] = [{"address": address, "ent_num": entry.ent_num}]
    gone = next(c for c in truth["listed_customers"] if c["ent_num"] == delisted["ent_num"])
    truth["delisted"] = [gone]
    return [e for e in entries if e.ent_num != delisted["ent_num"]] + [entry]


def _ownership_chain(owner: dict, sg: Customer) -> list[dict]:
    """FtM records: listed person → 100% holding → 60% → 100% of the Singapore customer."""

    def eid(*parts: str) -> str:
        return "demo-" + hashlib.sha1("/".join(parts).encode()).hexdigest()[:12]

    person: dict[str, Any] = {
        "id": eid("person", str(owner["ent_num"])),
        "schema": "Person",
        "properties": {
            "name": [f"{owner['given'][0]} {owner['patronymic']} {owner['surname_lat']}"],
            "nationality": ["ru"],
        },
    }
    holding: dict[str, Any] = {
        "id": eid("AO IRKUT INVEST HOLDING"),
        "schema": "Company",
        "properties": {
            "name": ["AO IRKUT INVEST HOLDING"],
            "jurisdiction": ["ru"],
            "address": ["Irkutsk, Russia"],
        },
    }
    kapital: dict[str, Any] = {
        "id": eid("OOO ANGARA KAPITAL"),
        "schema": "Company",
        "properties": {"name": ["OOO ANGARA KAPITAL"], "jurisdiction": ["ru"]},
    }
    company: dict[str, Any] = {
        "id": sg.id,
        "schema": "Company",
        "properties": {
            "name": [sg.names[0][1]],
            "jurisdiction": ["sg"],
            "incorporationDate": [sg.incorporated],
        },
    }
    links = []
    for parent, child, pct in (
        (person, holding, "100"),
        (holding, kapital, "60"),
        (kapital, company, "100"),
    ):
        links.append(
            {
                "id": eid("own", parent["id"], child["id"]),
                "schema": "Ownership",
                "properties": {
                    "owner": [parent["id"]],
                    "asset": [child["id"]],
                    "percentage": [pct],
                },
            }
        )
    return [person, holding, kapital, company, *links]


def store_world(conn: sa.Connection, world: World) -> None:
    """Store the world's customers (names in every script) and their wallets, in ``conn``'s
    transaction: what an exchange's first import would bring."""
    customer_repo.upsert_customers(
        conn,
        (
            {
                "id": c.id,
                "kind": c.kind,
                "names": c.names,
                "country": c.country,
                "birth_date": c.birth_date,
                "nationality": c.nationality,
                "residence": c.country,
                "incorporated": c.incorporated,
                "data": c.data,
            }
            for c in world.customers
        ),
    )
    customer_repo.add_wallets(
        conn,
        (
            {
                "customer_id": w.customer_id,
                "chain": w.chain,
                "address": w.address,
                "purpose": w.purpose,
            }
            for w in world.wallets
        ),
    )
