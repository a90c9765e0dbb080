"""Shell and front signals: each code fires on a hand-made case and not on a near miss."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sanctrace.network import OwnershipGraph, designations_from_ftm, listed_from_ftm
from sanctrace.network.signals import (
    TITLES,
    SignalConfig,
    SignalConfigError,
    shell_signals,
)

AS_OF = "2025-01-01"
CONFIG = SignalConfig.load()


def party(pid: str, schema: str = "Company", **props: str | list[str]) -> dict:
    properties = {k: v if isinstance(v, list) else [v] for k, v in props.items()}
    properties.setdefault("name", [pid.title()])
    return {"id": pid, "schema": schema, "properties": properties}


def own(
    owner: str,
    asset: str,
    pct: str | None = "100",
    start: str | None = None,
    end: str | None = None,
) -> dict:
    props = {"owner": [owner], "asset": [asset]}
    for key, value in (("percentage", pct), ("startDate", start), ("endDate", end)):
        if value:
            props[key] = [value]
    return {"id": f"own:{owner}:{asset}:{start}", "schema": "Ownership", "properties": props}


def director(who: str, company: str, role: str = "director") -> dict:
    return {
        "id": f"dir:{who}:{company}",
        "schema": "Directorship",
        "properties": {"director": [who], "organization": [company], "role": [role]},
    }


def codes(
    records: list[dict],
    listed: dict | None = None,
    designations: dict | None = None,
    config: SignalConfig = CONFIG,
    ids: list[str] | None = None,
) -> dict[str, list[str]]:
    g = OwnershipGraph()
    g.add_ftm(records, "case.ftm.json")
    assert g.validate() == []
    found = shell_signals(g, listed or {}, designations or {}, ids=ids, config=config, as_of=AS_OF)
    for signals in found.values():
        for s in signals:
            assert s.title == TITLES[s.code] and s.explanation and s.evidence
            assert json.dumps(s.to_dict())  # serialisable as it is
    return {k: [s.code for s in v] for k, v in found.items()}


def test_third_country_front() -> None:
    records = [
        party("shell", jurisdiction="sg"),
        party("holdco", jurisdiction="cy"),
        party("ivan", "Person", nationality="ru"),
        own("holdco", "shell"),
        own("ivan", "holdco"),
    ]
    assert codes(records, ids=["shell"]) == {"shell": ["third_country_front"]}
    # A Russian director alone is enough.
    records = [
        party("shell", jurisdiction="ae"),
        party("olga", "Person", country="ru"),
        director("olga", "shell"),
    ]
    assert codes(records, ids=["shell"]) == {"shell": ["third_country_front"]}
    # Near misses: German owners of a Singapore company; Russian owners of a German one.
    records = [
        party("shell", jurisdiction="sg"),
        party("hans", "Person", nationality="de"),
        own("hans", "shell"),
    ]
    assert codes(records, ids=["shell"]) == {"shell": []}
    records = [
        party("gmbh", jurisdiction="de"),
        party("ivan", "Person", nationality="ru"),
        own("ivan", "gmbh"),
    ]
    assert codes(records, ids=["gmbh"]) == {"gmbh": []}


def test_formed_near_designation() -> None:
    records = [
        party("newco", incorporationDate="2022-04-15"),
        party("ivan", "Person"),
        own("ivan", "newco", start="2022-04-15"),
    ]
    found = codes(records, {"ivan": "SDN"}, {"ivan": "2022-03-11"}, ids=["newco"])
    assert "formed_near_designation" in found["newco"]
    # Near miss: incorporated 400 days after (window 365).
    records[0] = party("newco", incorporationDate="2023-04-15")
    found = codes(records, {"ivan": "SDN"}, {"ivan": "2022-03-11"}, ids=["newco"])
    assert "formed_near_designation" not in found["newco"]


def test_reowned_near_designation() -> None:
    records = [
        party("co"),
        party("ivan", "Person"),
        party("cousin", "Person"),
        own("ivan", "co", "100", start="2010-01-01", end="2022-02-20"),
        own("cousin", "co", "100", start="2022-02-21"),
    ]
    found = codes(records, {"ivan": "SDN"}, {"ivan": "2022-03-11"}, ids=["co"])
    assert "reowned_near_designation" in found["co"]
    # Near miss: the new owner came in two years earlier.
    records[3] = own("ivan", "co", "100", start="2010-01-01", end="2020-02-20")
    records[4] = own("cousin", "co", "100", start="2020-02-21")
    found = codes(records, {"ivan": "SDN"}, {"ivan": "2022-03-11"}, ids=["co"])
    assert "reowned_near_designation" not in found["co"]


def test_shares_moved_from_listed() -> None:
    records = [
        party("co"),
        party("ivan", "Person"),
        party("wife", "Person"),
        own("ivan", "co", "75", start="2015-01-01", end="2022-02-28"),
        own("wife", "co", "75", start="2022-03-01"),
    ]
    g = OwnershipGraph()
    g.add_ftm(records, "case.ftm.json")
    (signal,) = [
        s
        for s in shell_signals(
            g, {"ivan": "SDN"}, {"ivan": "2022-03-11"}, ids=["co"], config=CONFIG, as_of=AS_OF
        )["co"]
        if s.code == "shares_moved_from_listed"
    ]
    evidence = signal.evidence[0]
    assert evidence["days_after_designation"] == -11
    assert [t["owner"]["id"] for t in evidence["new_owners"]] == ["wife"]
    # Near miss: the same move by a person who is not listed.
    found = codes(records, {}, {"ivan": "2022-03-11"}, ids=["co"])
    assert "shares_moved_from_listed" not in found["co"]


def test_shared_director() -> None:
    records = [
        party("co"),
        party("listedco"),
        party("anna", "Person"),
        director("anna", "co"),
        director("anna", "listedco"),
    ]
    assert codes(records, {"listedco": "SDN"}, ids=["co"]) == {"co": ["shared_director"]}
    # Near miss: the other company Anna directs is not listed.
    assert codes(records, {}, ids=["co"]) == {"co": []}


def test_shared_contacts() -> None:
    records = [
        party(
            "co",
            address="Office 5, 12 Marina Boulevard, Singapore 018982",
            phone="+65 6123-4567",
            email="Desk@Front.example",
        ),
        party(
            "listedco",
            address="12 Marina Boulevard, Office 5, SINGAPORE 018982",
            phone="(65) 6123 4567; +7 495 000 0000",
            email="desk@front.example",
        ),
    ]
    assert codes(records, {"listedco": "SDN"}, ids=["co"]) == {
        "co": ["shared_address", "shared_phone", "shared_email"]
    }
    # Near misses: another office in the same building, another number, another mailbox;
    # and a city with its postcode alone is not an address worth matching.
    records = [
        party(
            "co",
            address="Office 6, 12 Marina Boulevard, Singapore 018982",
            phone="+65 6123 4568",
            email="sales@front.example",
        ),
        party(
            "listedco",
            address="Office 5, 12 Marina Boulevard, Singapore 018982",
            phone="+65 6123 4567",
            email="desk@front.example",
        ),
        party("other", address="Izhevsk, 426008"),
        party("listed2", address="IZHEVSK, 426008"),
    ]
    assert codes(records, {"listedco": "SDN", "listed2": "SDN"}, ids=["co", "other"]) == {
        "co": [],
        "other": [],
    }


def test_circular_ownership() -> None:
    records = [
        party("a"),
        party("b"),
        party("c"),
        party("d"),
        own("a", "b", "60"),
        own("b", "c", "60"),
        own("c", "a", "30"),
        own("c", "d", "100"),
    ]
    g = OwnershipGraph()
    g.add_ftm(records, "case.ftm.json")
    found = shell_signals(g, {}, ids=["a", "d"], config=CONFIG, as_of=AS_OF)
    (signal,) = found["a"]
    assert signal.code == "circular_ownership"
    assert [(e["owner"], e["asset"]) for e in signal.evidence] == [
        ("a", "b"),
        ("b", "c"),
        ("c", "a"),
    ]
    # d is owned from inside the circle but is not on it (three layers above it, though).
    assert [s.code for s in found["d"]] == ["deep_ownership"]
    # Near miss: the closing link ended.
    records[6] = own("c", "a", "30", start="2019-01-01", end="2020-01-01")
    assert codes(records, ids=["a"]) == {"a": []}


def test_deep_ownership() -> None:
    chain = ["opco", "l1", "l2", "l3"]
    records = [party(p) for p in chain] + [party("ubo", "Person")]
    records += [own(chain[i + 1], chain[i]) for i in range(3)] + [own("ubo", "l3")]
    g = OwnershipGraph()
    g.add_ftm(records, "case.ftm.json")
    (signal,) = shell_signals(g, {}, ids=["opco"], config=CONFIG, as_of=AS_OF)["opco"]
    assert signal.code == "deep_ownership"
    assert [e["owner"] for e in signal.evidence] == ["l3", "l2", "l1"]
    # Near miss: two layers of companies (threshold 3).
    assert codes(records, ids=["l1"]) == {"l1": []}


def test_nominee_director() -> None:
    companies = [f"co{i}" for i in range(5)]
    records = [party(c) for c in companies] + [party("sam", "Person")]
    records += [director("sam", c) for c in companies]
    assert codes(records, ids=["co0"]) == {"co0": ["nominee_director"]}
    # Near miss: four companies; but a role that says nominee fires at once.
    assert codes(records[:4] + [records[5]] + records[6:10], ids=["co0"]) == {"co0": []}
    records = [party("co0"), party("sam", "Person"), director("sam", "co0", "Nominee Director")]
    assert codes(records, ids=["co0"]) == {"co0": ["nominee_director"]}


def test_config(tmp_path: Path) -> None:
    assert "sg" in CONFIG.third_countries and "ru" in CONFIG.sanctioned_jurisdictions
    path = tmp_path / "signals.yml"
    path.write_text("third_countries: [SG]\nnominee_min_companies: 2\n", encoding="utf-8")
    config = SignalConfig.load(path)
    assert (config.third_countries, config.nominee_min_companies) == (frozenset({"sg"}), 2)
    assert config.sanctioned_jurisdictions == frozenset()
    path.write_text("nominee_min: 2\n", encoding="utf-8")
    with pytest.raises(SignalConfigError, match="signals.yml: nominee_min: unknown setting"):
        SignalConfig.load(path)
    path.write_text("max_depth: deep\n", encoding="utf-8")
    with pytest.raises(SignalConfigError, match="max_depth: a whole number"):
        SignalConfig.load(path)


def test_zala_signals(shared_data: Path) -> None:
    path = shared_data / "entities" / "zala_aero_network.ftm.json"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    g = OwnershipGraph()
    g.add_ftm(records, path.name)
    g.validate()
    sdn = listed_from_ftm(records, {"us_ofac_sdn"})
    found = shell_signals(g, sdn, designations_from_ftm(records), config=CONFIG, as_of="2026-05-01")
    by_name = {g.name_of(k): [s.code for s in v] for k, v in found.items() if v}
    assert by_name == {
        'ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ "СПС"': ["shares_moved_from_listed"],
        'Limited Liability Company "RTC"': ["shares_moved_from_listed"],
        'НЕКОММЕРЧЕСКОЕ ПАРТНЕРСТВО "АССОЦИАЦИЯ БЕСПИЛОТНЫХ СИСТЕМ"': ["shared_director"],
        "ZALA AERO JSC": ["formed_near_designation", "shares_moved_from_listed", "shared_address"],
    }
    zala = found["NK-cPks3aTbes8k4aCerfBAzN"]
    address = next(s for s in zala if s.code == "shared_address")
    assert address.evidence[0]["listed_entity"]["name"] == "AEROSCAN"
    formed = next(s for s in zala if s.code == "formed_near_designation")
    assert formed.evidence[0]["days_after_designation"] == 265
