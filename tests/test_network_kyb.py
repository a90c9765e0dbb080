"""KYB input (CSV and FtM JSON lines) into the ownership graph; bad records one by one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sanctrace.errors import SanctraceError
from sanctrace.network import (
    KybError,
    OwnershipGraph,
    assess,
    input_id_of,
    kyb_companies,
    listed_from_ftm,
    read_kyb,
)
from sanctrace.network.kyb import (
    KybCompany,
    KybParty,
    party_id,
    records_from_companies,
    records_from_dicts,
)

AS_OF = "2024-06-01"


@pytest.fixture()
def kyb_csv(fixtures: Path) -> Path:
    return fixtures / "network" / "kyb_customers.csv"


@pytest.fixture()
def kyb_ftm(fixtures: Path) -> Path:
    return fixtures / "network" / "kyb_network.ftm.json"


def load(*paths: Path, extra: list[dict] | None = None) -> tuple[OwnershipGraph, list, list]:
    records, problems = read_kyb(paths)
    g = OwnershipGraph()
    if extra:
        g.add_ftm(extra, "list.ftm.json")
    g.add_ftm(records, "kyb")
    g.validate()
    return g, records, problems


def test_csv_companies_parties_and_links(kyb_csv: Path) -> None:
    g, records, _ = load(kyb_csv)
    assert kyb_companies(records) == [f"kyb:C-{n}00" for n in range(1, 6)]
    lion = g.nodes["kyb:C-100"]
    assert (lion.schema, lion.name, lion.country, lion.input_id) == (
        "Company",
        "Lion Gate Trading Pte. Ltd.",
        "sg",
        "C-100",
    )
    assert lion.properties["incorporationDate"] == ["2022-03-20"]
    assert lion.properties["phone"] == ["+65 6100 2000"]
    assert lion.origin == f"kyb:{kyb_csv}"
    assert input_id_of("kyb:C-100") == "C-100"
    # Ivan Petrov appears in two rows (shareholder of C-200, UBO of C-400): one party.
    petrov = g.nodes["kyb:P-2"]
    assert (petrov.schema, petrov.country) == ("Person", "ru")
    owners = {h.owner: h.share.label() for h in g.owners_of("kyb:C-100")}
    assert owners == {"kyb:C-200": "60%", "kyb:P-1": "40%"}
    kinds = {(c.controller, c.company): c.kind for c in g.controls}
    assert kinds[("kyb:P-9", "kyb:C-100")] == "nominee"  # role "nominee director"
    assert kinds[("kyb:P-2", "kyb:C-400")] == "ubo"
    holding = g.owners_of("kyb:C-200")[0]
    assert holding.origin == f"{kyb_csv}:5"


def test_csv_bad_rows_are_reported_and_the_rest_kept(kyb_csv: Path) -> None:
    g, _, problems = load(kyb_csv)
    found = [str(p) for p in problems + g.problems]
    assert found == [
        f"{kyb_csv}:12: party_country: 'Atlantis' is not a known country; ignored",
        f"{kyb_csv}:12: start_date: '2021-13-45' is not an ISO date (YYYY-MM-DD); date ignored",
        f"{kyb_csv}:9: percentage: '140' is over 100%; counted as unknown (0-100%)",
        f"{kyb_csv}:10: percentage: '-5' is negative; counted as unknown (0-100%)",
        f"{kyb_csv}:11: owner: kyb:C-500 owns itself; record skipped",
    ]
    # The company with the bad rows is still there; a bad share is kept as unknown (bad data
    # never drops an owner who might be listed).
    owners = [(h.owner, h.share.label()) for h in g.owners_of("kyb:C-500")]
    assert owners == [
        ("kyb:P-5", "unknown (invalid: '140')"),
        ("kyb:P-6", "unknown (invalid: '-5')"),
        ("kyb:P-7", "20%"),
    ]
    assert all(isinstance(p.record, str) for p in problems)


def test_csv_verdicts_through_a_chain(kyb_csv: Path) -> None:
    g, records, _ = load(kyb_csv)
    listed = {"kyb:P-2": "OFAC SDN: PETROV, Ivan"}
    result = assess(g, listed, {"kyb:P-3": "weak match"}, ids=kyb_companies(records), as_of=AS_OF)
    summary = {input_id_of(k): (a.verdict, a.controlled) for k, a in result.items()}
    assert summary == {
        "C-100": ("blocked", False),  # Petrov 100% of Orion, Orion 60% of Lion Gate
        "C-200": ("blocked", False),
        "C-300": ("possibly_blocked", False),  # a weak match holding (25%, 50%]
        "C-400": ("possibly_blocked", True),  # Petrov declared UBO, chain not given
        "C-500": ("not_blocked", False),
    }
    steps = result["kyb:C-100"].paths[0]["steps"]
    assert [(s["owner_name"], s["asset_name"], s["share"]) for s in steps] == [
        ("Ivan Petrov", "Orion Holdings FZE", "100%"),
        ("Orion Holdings FZE", "Lion Gate Trading Pte. Ltd.", "60%"),
    ]
    assert result["kyb:C-400"].paths[0]["steps"][0]["share"] == "unknown (UBO declaration)"


def test_ftm_kyb_linked_to_list_entities(kyb_ftm: Path, shared_data: Path) -> None:
    zala_path = shared_data / "entities" / "zala_aero_network.ftm.json"
    zala = [json.loads(line) for line in zala_path.read_text(encoding="utf-8").splitlines()]
    g, records, problems = load(kyb_ftm, extra=zala)
    assert kyb_companies(records) == ["kyb:acme", "kyb:holdco"]
    assert sorted(str(p) for p in problems + g.problems) == [
        f"{kyb_ftm}:5: owner: refers to 'ghost-owner', which is in no input; record skipped",
        f"{kyb_ftm}:6: owner: kyb:acme owns itself; record skipped",
        f"{kyb_ftm}:7: percentage: '101' is over 100%; counted as unknown (0-100%)",
        f"{kyb_ftm}:8: json: Expecting value; line skipped",
    ]
    result = assess(g, listed_from_ftm(zala), ids=kyb_companies(records), as_of=AS_OF)
    acme = result["kyb:acme"]
    assert (acme.verdict, acme.controlled, acme.input_id) == ("blocked", True, "acme")
    steps = acme.paths[0]["steps"]
    # The KYB file names the list entity by its list id: the chain reaches the list.
    assert [s["owner"] for s in steps] == ["NK-aU5ybkbRFJucf8YMwsJvDw", "kyb:holdco"]
    assert steps[0]["owner_blocked_because"].startswith("listed: us_ofac_sdn")
    assert [s["link"] for s in acme.control_paths[0]["steps"]] == ["director"]


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(KybError, match="missing.csv: cannot read KYB file"):
        read_kyb([tmp_path / "missing.csv"])
    binary = tmp_path / "blob.csv"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(KybError, match="blob.csv: not UTF-8 text"):
        read_kyb([binary])
    other = tmp_path / "other.csv"
    other.write_text("name,amount\nx,1\n", encoding="utf-8")
    with pytest.raises(SanctraceError, match="other.csv: not a KYB CSV: no company_id column"):
        read_kyb([other])


def test_csv_row_problems(tmp_path: Path) -> None:
    path = tmp_path / "kyb.csv"
    path.write_text(
        "Company_ID,company_name,party_name,party_type,relation,share,colour\n"
        ",Nameless,,,,,red\n"
        "K1,Kite Ltd,Jo Bloggs,alien,shareholder,10,\n"
        "K1,,Jo Bloggs,person,sharholder,10,\n"
        "K2,Kestrel Ltd,Anne Other,person,,,\n",
        encoding="utf-8",
    )
    records, problems = read_kyb([path])
    assert [str(p) for p in problems] == [
        f"{path}:1: colour: unknown column colour; ignored",
        f"{path}:2: company_id: missing; row skipped",
        f"{path}:3: party_type: 'alien' is not person, company or organization; read as an "
        "unspecified entity",
        f"{path}:4: relation: 'sharholder' is not one of beneficial_owner, control, controller, "
        "director, member, nominee, nominee_director, officer, owner, parent, representative, "
        "secretary, shareholder, signatory, ubo; relation skipped",
        f"{path}:5: relation: 'empty' is not one of beneficial_owner, control, controller, "
        "director, member, nominee, nominee_director, officer, owner, parent, representative, "
        "secretary, shareholder, signatory, ubo; relation skipped",
    ]
    g = OwnershipGraph()
    g.add_ftm(records, path.name)
    assert g.validate() == []
    # Only the row with a known relation makes a holding.
    assert kyb_companies(records) == ["kyb:K1", "kyb:K2"]
    assert [h.share.low for h in g.owners_of("kyb:K1")] == [10.0]


def test_party_id_one_rule_for_files_and_company_objects(tmp_path: Path) -> None:
    """A party without an id gets the same id from a KYB file and from an API body."""
    path = tmp_path / "kyb.csv"
    path.write_text(
        "company_id,company_name,party_name,party_type,party_country,relation,share\n"
        "K1,Kite Ltd,Arkady  Kornevsky,person,Russia,shareholder,60\n",
        encoding="utf-8",
    )
    from_file, _ = read_kyb([path])
    owner = KybParty(name="ARKADY KORNEVSKY", country="ru", share="60%")
    holdco = KybParty(name="Kite Holdings", type="company", country="RU", shareholders=(owner,))
    company = KybCompany(id="K2", name="Kestrel Ltd", shareholders=(holdco,))
    from_body, problems = records_from_companies([company])
    assert problems == []
    person = party_id("arkady kornevsky", "Person", "RU")
    assert [r["input_id"] for r in from_file if r["schema"] == "Person"] == [person]
    assert [r["input_id"] for r in from_body if r["schema"] == "Person"] == [person]
    # The body's records: ids prefixed, origins as JSON paths, only its companies customers.
    assert kyb_companies(from_body) == ["kyb:K2"]
    link = next(r for r in from_body if r["properties"].get("owner") == [f"kyb:{person}"])
    assert link["origin"] == "request:companies[0].shareholders[0].shareholders[0]"
    assert link["properties"]["percentage"] == ["60%"]
    assert party_id("Kite Holdings", "Company", "RU") != party_id("Kite Holdings", "Person", "RU")


def test_company_objects_from_plain_data() -> None:
    data = {
        "id": "C1",
        "name": "Orchid Ltd",
        "shareholders": [{"name": "A", "type": "company", "shareholders": [{"name": "B"}]}],
        "directors": [{"name": "D", "role": "secretary"}],
    }
    company = KybCompany.from_dict(data)
    assert company.shareholders[0].shareholders[0] == KybParty(name="B")
    records, _ = records_from_companies([company])
    roles = {r["schema"]: r["properties"].get("role") for r in records}
    assert roles["Directorship"] == ["secretary"]
    g = OwnershipGraph()
    g.add_ftm(records, "request")
    assert g.validate() == []


def test_ftm_dicts_in_memory() -> None:
    records, problems = records_from_dicts(
        [{"id": "A", "schema": "Company", "properties": {"name": ["A"]}}, {"schema": "Company"}]
    )
    assert [r["id"] for r in records] == ["kyb:A"]
    assert [str(p) for p in problems] == [
        "request:2: id: not an FtM entity (id and schema needed); skipped"
    ]


def test_graph_bad_records_one_by_one() -> None:
    g = OwnershipGraph()
    g.add_ftm(
        [
            {"id": "a", "schema": "Company", "properties": {"name": ["A"]}},
            {"id": "x", "schema": "Person", "properties": {"name": ["X"]}},
            {"id": "y", "schema": "Person", "properties": {"name": ["Y"]}},
            {"schema": "Ownership"},
            "junk",
            {"id": "o3", "schema": "Ownership", "properties": {"owner": ["x"]}},
            {
                "id": "o4",
                "schema": "Ownership",
                "properties": {"owner": ["x"], "asset": ["a"], "percentage": ["-3"]},
            },
            {
                "id": "o5",
                "schema": "Ownership",
                "properties": {
                    "owner": ["x"],
                    "asset": ["a"],
                    "percentage": ["70"],
                    "startDate": ["20.01.2020"],
                },
            },
            {
                "id": "o6",
                "schema": "Ownership",
                "properties": {"owner": ["y"], "asset": ["a"], "percentage": ["60"]},
            },
            {
                "id": "d7",
                "schema": "Directorship",
                "properties": {"director": ["ghost"], "organization": ["a"]},
            },
            {
                "id": "d8",
                "schema": "Directorship",
                "properties": {"director": ["a"], "organization": ["a"]},
            },
        ],
        "g.ftm.json",
    )
    found = g.validate()
    assert [str(p) for p in g.problems] == [
        "g.ftm.json:4: id: missing; record skipped",
        "g.ftm.json:5: record: not an FtM entity; record skipped",
        "g.ftm.json:6: asset: missing; record skipped",
        "g.ftm.json:7: percentage: '-3' is negative; counted as unknown (0-100%)",
        "g.ftm.json:8: startDate: '20.01.2020' is not an ISO date; date ignored",
        "g.ftm.json:11: controller: a controls itself; record skipped",
        "g.ftm.json:10: controller: refers to 'ghost', which is in no input; record skipped",
        "a: percentage: current owners of a hold 130% together (over 100%); kept, sums capped "
        "at 100%",
    ]
    assert [p.record for p in found] == ["d7", "a"]
    assert g.validate() == []  # nothing left to find
    assert [h.id for h in g.owners_of("a")] == ["o4", "o5", "o6"]  # o4: unknown share
    assert g.controllers_of("a") == []
