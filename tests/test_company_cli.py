"""``sanctrace network check`` as users run it, and the demo's Singapore company."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from jinja2 import Environment, PackageLoader, select_autoescape

from helpers import run
from sanctrace.demo.files import write_world
from sanctrace.demo.ownership import ownership_section
from sanctrace.demo.world import generate
from sanctrace.lists.snapshots import load_lists
from sanctrace.store import open_database

KYB = """company_id,company_name,company_country,party_id,party_name,party_type,party_country,party_birth_date,relation,share
K1,Sakura Trading KK,JP,P1,Yamada Taro,person,JP,,shareholder,100
K2,Baltic Amber Holdings Ltd,CY,P2,Arkady Kornevsky,person,RU,1971-02-14,shareholder,50
K3,Faulty Records Ltd,GB,P3,Someone Else,person,GB,,shareholder,140
"""
CONTRACT_KEYS = {"entity_id", "name", "verdict", "controlled", "paths", "signals"}


@pytest.fixture(scope="module")
def db(tmp_path_factory, fixtures) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'cli.db'}"
    loaded = run("lists", "load", str(fixtures / "lists" / "ofac_csv"), db=url)
    assert loaded.returncode == 0, loaded.stderr
    return url


def test_check_json_contract_and_problems_on_stderr(db, tmp_path):
    kyb = tmp_path / "kyb.csv"
    kyb.write_text(KYB)
    result = run("network", "check", str(kyb), "--json", db=db)
    assert result.returncode == 1, result.stderr  # a hit: K2 is blocked
    data = json.loads(result.stdout)
    assert [r["entity_id"] for r in data] == ["K1", "K2", "K3"]
    assert all(CONTRACT_KEYS <= set(r) for r in data)
    assert [r["verdict"] for r in data] == ["not_blocked", "blocked", "not_blocked"]
    assert data[1]["paths"][0]["steps"][0]["owner"] == "P2"
    assert (
        f"problem: {kyb}:4: percentage: '140' is over 100%; counted as unknown (0-100%)"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_check_human_output(db, tmp_path):
    kyb = tmp_path / "kyb.csv"
    kyb.write_text(KYB)
    result = run("network", "check", str(kyb), db=db)
    assert result.returncode == 1, result.stderr  # a hit: K2 is blocked
    assert "not_blocked" in result.stdout and "blocked" in result.stdout
    assert "ownership: Arkady Kornevsky —50%→ Baltic Amber Holdings Ltd" in result.stdout
    assert "signal third_country_front:" in result.stdout
    assert "3 companies checked: 1 flagged, 1 problems" in result.stderr


def test_check_nothing_found_exits_0(db, tmp_path):
    kyb = tmp_path / "clean.csv"
    kyb.write_text("\n".join(KYB.splitlines()[:2]) + "\n")  # K1 only: clean
    result = run("network", "check", str(kyb), "--json", db=db)
    assert result.returncode == 0, result.stderr
    assert [r["verdict"] for r in json.loads(result.stdout)] == ["not_blocked"]


def test_check_errors_are_one_line(db, tmp_path):
    missing = run("network", "check", str(tmp_path / "none.csv"), db=db)
    assert missing.returncode == 2  # bad input
    (line,) = missing.stderr.strip().splitlines()
    assert "none.csv" in line and "cannot read KYB file" in line
    empty = tmp_path / "empty.csv"
    empty.write_text("company_id,company_name\n,No id\n")
    nothing = run("network", "check", str(empty), db=db)
    assert nothing.returncode == 2  # bad input
    (line,) = nothing.stderr.strip().splitlines()
    assert "no company could be read" in line and "company_id: missing" in line
    assert run("network", "check", db=db).returncode == 2
    bare = f"sqlite:///{tmp_path / 'bare.db'}"
    open_database(bare).dispose()  # a database that exists, without lists
    no_lists = run("network", "check", str(empty), db=bare)
    assert no_lists.returncode == 3 and "no sanctions lists loaded" in no_lists.stderr


def test_demo_singapore_company_caught_through_its_chain(tmp_path):
    world = generate(2022, 600)
    files = write_world(world, tmp_path / "world")
    db = open_database(f"sqlite:///{tmp_path / 'demo.db'}")
    load_lists(db, [files["list"]], source="demo_sdn", fmt="ofac_csv")
    section = ownership_section(db, tmp_path / "world")
    db.dispose()
    (planted,) = world.truth["owned_companies"]
    sg = next(r for r in section["results"] if r["entity_id"] == planted["customer_id"])
    assert sg["name"] == "ORCHID STRAITS TRADING PTE. LTD." and sg["verdict"] == "blocked"
    (path,) = sg["paths"]
    chain = [path["steps"][0]["owner_name"]] + [s["asset_name"] for s in path["steps"]]
    assert chain[1:] == [
        "AO IRKUT INVEST HOLDING",
        "OOO ANGARA KAPITAL",
        "ORCHID STRAITS TRADING PTE. LTD.",
    ]
    listed = path["steps"][0]["owner_blocked_because"]
    assert f"[demo_sdn:{planted['owner_ent_num']}]" in listed
    assert [s["share"] for s in path["steps"]] == ["100%", "60%", "100%"]
    assert "third_country_front" in {s["code"] for s in sg["signals"]}
    assert section["caught"] == [planted["customer_id"]]
    # The drawing: one box per party of the chain, the listed person marked.
    svg = ET.fromstring(section["svg"])
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert texts[:2] == [chain[0], "LISTED"] and "60%" in texts
    assert texts.count("BLOCKED") == 3
    env = Environment(
        loader=PackageLoader("sanctrace.demo", "templates"), autoescape=select_autoescape()
    )
    html = env.get_template("_ownership.html").render(ownership=section)
    assert "<svg" in html and 'id="ownership"' in html and "possibly blocked" not in html
    assert "Incorporated in a third country" in html
    # The same file through the command line.
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    result = run("network", "check", str(files["ownership"]), "--json", db=url)
    assert result.returncode == 1, result.stderr  # a hit: the planted company
    verdicts = {r["entity_id"]: r["verdict"] for r in json.loads(result.stdout)}
    assert verdicts[planted["customer_id"]] == "blocked"
