"""Regulator reports: a case built from real events through the monitoring pipeline and a list
loaded from an OFAC CSV, then the JAFIC pack, goAML XML (valid against the shared 5.0.2 XSD),
the completed-transfer notification, the regulator summary and the case file export, field by
field."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from lxml import etree

from helpers import ROOT, run
from monitor_helpers import LISTED, context, load_list, withdrawal, write_list
from sanctrace.cases import audit
from sanctrace.cases.reports import load_case, load_reporter
from sanctrace.cases.reports.casefile import CasefileRequest, write_casefile
from sanctrace.cases.reports.goaml import GoamlRequest, build_xml, validate, write_goaml
from sanctrace.cases.reports.jafic import JaficRequest, write_pack
from sanctrace.cases.reports.notification import list_tasks, open_transfer_tasks
from sanctrace.cases.reports.summary import SummaryRequest, write_summary
from sanctrace.errors import BadRequest, NotFound
from sanctrace.monitor.decisions import decide
from sanctrace.monitor.events import parse_event
from sanctrace.monitor.pipeline import process
from sanctrace.services.context import Context
from sanctrace.store import reports as repo
from sanctrace.store.tables import alerts, case_alerts, case_notes, cases, events, holds, tasks

EXAMPLES = ROOT / "docs" / "examples" / "events.jsonl"
REPORTER = """\
name = "サンプル暗号資産取引所株式会社"
name_latin = "Sample Crypto Exchange KK"
registration_number = "Kanto 00099"
address = "東京都千代田区丸の内1-1-1"
officer = "山田 太郎"
officer_latin = "YAMADA Taro"
department = "コンプライアンス部"
phone = "03-0000-0000"

[goaml]
rentity_id = 4242
rentity_branch = "HQ"
currency_code_local = "JPY"
indicators = ["TFS03"]
"""


def _xsd(shared: Path) -> Path:
    path = shared / "reports" / "goaml" / "goAMLSchema-5.0.2.xsd"
    if not path.exists():
        pytest.skip(f"goAML schema not found at {path}")
    return path


def _open_case(ctx: Context, customer_id: str, **values: Any) -> int:
    """A case over the customer's alerts, written straight to the tables (the case service is
    another module's)."""
    now = datetime.now(UTC)
    with ctx.db.begin() as conn:
        ids = [
            r.id
            for r in conn.execute(sa.select(alerts.c.id).where(alerts.c.customer_id == customer_id))
        ]
        key = conn.execute(
            cases.insert().values(
                subject_type="customer",
                subject=customer_id,
                customer_id=customer_id,
                state=values.pop("state", "in_review"),
                severity="critical",
                assignee="alice",
                due=now + timedelta(hours=24),
                opened_at=now,
                updated_at=now,
                **values,
            )
        ).inserted_primary_key
        case_id = int(key[0])
        for alert_id in ids:
            conn.execute(
                case_alerts.insert().values(case_id=case_id, alert_id=alert_id, added_at=now)
            )
        conn.execute(
            case_notes.insert().values(
                case_id=case_id,
                kind="comment",
                author="alice",
                time=now,
                text="送付人ウォレットを確認",
            )
        )
        audit.record(
            conn,
            actor="alice",
            action="case.open",
            object_type="case",
            object_id=case_id,
            after={"state": "in_review"},
        )
    return case_id


@pytest.fixture
def world(db_url, tmp_path):
    """The example events (C1001's deposit comes from the listed wallet) with a list listing
    it, a withdrawal to it, and a case over C1001's alerts."""
    ctx = context(db_url, tmp_path)
    load_list(ctx, write_list(tmp_path / "v2", 2))
    records = [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines()]
    records.append(
        withdrawal(
            "x-bad", address=LISTED, cid="C1001", ip="203.0.113.9", time="2024-04-05T10:00:00+09:00"
        )
    )
    result = process(ctx, [parse_event(r) for r in records])
    assert result.stored == len(records)
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "reporter.toml").write_text(REPORTER, encoding="utf-8")
    case_id = _open_case(ctx, "C1001")
    return ctx, case_id


# --- the case as reports read it ----------------------------------------------------------------


def test_load_case_collects_events_and_listed(world):
    ctx, case_id = world
    bundle = load_case(ctx, case_id)
    assert {a["rule"] for a in bundle.alerts} >= {"sanctioned_address", "sanctioned_vasp"}
    # The deposit named by the alert, and the later withdrawal counted on the same alert.
    assert {"d-1001-1", "x-bad"} <= {e["event_id"] for e in bundle.events}
    assert {r["entity_id"] for r in bundle.listed} == {"us_ofac_sdn:20002"}
    assert (
        bundle.customer is not None and bundle.customer["latest_event"]["event_id"] == "c-1001-v1"
    )
    with pytest.raises(NotFound):
        load_case(ctx, 999)


# --- JAFIC ------------------------------------------------------------------------------------


def test_jafic_pack_fields(world, tmp_path):
    ctx, case_id = world
    result = write_pack(ctx, JaficRequest(case_id=case_id, out_dir=tmp_path / "out", user="alice"))
    pack = json.loads(result.json_path.read_text(encoding="utf-8"))
    assert pack["format"] == "sanctrace-jafic-str-pack" and pack["language"] == "ja"
    assert pack["sections"]["report_form"] == "届出票"
    assert pack["sections"]["reasons"] == "疑わしい取引に該当すると判断した理由"
    form = pack["report_form"]
    assert form["reporter"]["name"] == "サンプル暗号資産取引所株式会社"
    assert form["reporter"]["officer"] == "山田 太郎" and form["reporter_complete"]
    assert form["case"]["case_id"] == case_id and form["case"]["severity_ja"] == "重大"
    assert form["case"]["state_ja"] == "調査中"
    assert [v["source"] for v in form["list_versions"]] == ["us_ofac_sdn"]

    customer = pack["customer"]
    assert customer["customer_id"] == "C1001" and customer["kind_ja"] == "個人"
    names = {n["text"]: n for n in customer["names"]}
    assert set(names) == {"TANAKA Hiroshi", "田中 博", "タナカ ヒロシ", "Hiro Tanaka"}
    assert names["タナカ ヒロシ"]["kind_ja"] == "フリガナ"
    assert names["Hiro Tanaka"]["kind_ja"] == "別名"
    assert names["TANAKA Hiroshi"]["script_ja"] == "ラテン文字"
    assert customer["birth_date"] == "1980-05-17"
    assert customer["nationality"] == {"code": "JP", "name_ja": "日本"}
    assert customer["address_country"]["code"] == "JP"
    assert customer["documents"] == [
        {
            "type": "passport",
            "type_ja": "旅券",
            "number": "TR1234567",
            "country": {"code": "JP", "name_ja": "日本"},
        }
    ]
    assert customer["source"]["event_id"] == "c-1001-v1"

    accounts = pack["accounts"]
    assert accounts["account"]["account_id"] == "C1001"
    by_address = {w["address"]: w for w in accounts["wallets"]}
    assert by_address["3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"]["purpose_ja"].startswith("入庫用")

    txs = {t["event_id"]: t for t in pack["transactions"]["transactions"]}
    dep = txs["d-1001-1"]
    assert dep["type_ja"] == "暗号資産の受入れ（入庫）"
    assert (dep["amount"], dep["asset"]) == ("0.95", "BTC")
    assert dep["time_jst"] == "2024-04-02 10:00:00 JST"
    assert (
        dep["counterparty"]["wallet"] == LISTED
        and dep["counterparty"]["vasp"] == "Example Wallet KK"
    )
    assert dep["counterparty"]["names"] == ["Hiro Tanaka"]
    chain = dep["chain_evidence"]
    assert chain["txid"].startswith("4a5e1e4b") and chain["output_index"] == 0
    assert chain["address"] == "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"
    rules = {f["rule"] for f in chain["findings"]}
    assert "sanctioned_address" in rules
    finding = next(f for f in chain["findings"] if f["rule"] == "sanctioned_address")
    assert finding["address"] == LISTED and "送付人" in finding["role_ja"]
    out = txs["x-bad"]
    assert out["type_ja"] == "暗号資産の移転（出庫）" and out["counterparty"]["address"] == LISTED
    assert out["ip"] == "203.0.113.9"

    reasons = pack["reasons"]
    assert reasons["title"] == "疑わしい取引に該当すると判断した理由"
    assert "TANAKA Hiroshi" in reasons["draft"] and "C1001" in reasons["draft"]
    assert "疑わしい取引に該当すると判断した" in reasons["draft"]
    for point in reasons["points"]:
        alert = next(a for a in load_case(ctx, case_id).alerts if a["id"] == point["alert_id"])
        assert alert["summary_ja"] in point["text"] and alert["summary_ja"] in reasons["draft"]
    assert reasons["listed"][0]["entity_id"] == "us_ofac_sdn:20002"
    assert "GARANTEX TEST EXCHANGE" in reasons["draft"]

    html = result.html_path.read_text(encoding="utf-8")
    assert '<html lang="ja">' in html and "届出票" in html and "取引時確認情報" in html
    assert "口座情報" in html and "取引情報" in html and "田中 博" in html
    assert LISTED in html
    # Recorded in the audit trail, as a report.
    with ctx.db.connect() as conn:
        assert (
            conn.execute(
                sa.select(sa.func.count())
                .select_from(repo.audit_log)
                .where(repo.audit_log.c.action == "report.jafic")
            ).scalar()
            == 1
        )


def test_jafic_html_escapes(world, tmp_path):
    ctx, case_id = world
    with ctx.db.begin() as conn:
        conn.execute(
            cases.update()
            .where(cases.c.id == case_id)
            .values(disposition="true_match", reason="<script>x</script>")
        )
    result = write_pack(ctx, JaficRequest(case_id=case_id, out_dir=tmp_path / "o"))
    html = result.html_path.read_text(encoding="utf-8")
    assert "<script>x" not in html and "&lt;script&gt;" in html


# --- goAML ------------------------------------------------------------------------------------


def test_goaml_fields_and_schema(world, tmp_path, shared_data):
    ctx, case_id = world
    xsd = _xsd(shared_data)
    out = tmp_path / "case.xml"
    result = write_goaml(ctx, GoamlRequest(case_id=case_id, out=out, xsd=xsd))
    assert result.validated_against == str(xsd)
    root = etree.parse(str(out)).getroot()
    assert root.tag == "report"
    assert root.findtext("rentity_id") == "4242" and root.findtext("rentity_branch") == "HQ"
    assert root.findtext("submission_code") == "E" and root.findtext("report_code") == "STR"
    assert root.findtext("entity_reference") == f"SANCTRACE-CASE-{case_id}"
    assert root.findtext("currency_code_local") == "JPY"
    assert root.findtext("reporting_person/first_name") == "Taro"
    assert root.findtext("reporting_person/last_name") == "YAMADA"
    assert "GARANTEX TEST EXCHANGE" in root.findtext("reason")
    assert root.findtext("report_indicators/indicator") == "TFS03"
    txs = {t.findtext("internal_ref_number"): t for t in root.findall("transaction")}
    dep = txs["d-1001-1"]
    assert dep.findtext("transactionnumber").startswith("4a5e1e4b")
    assert dep.findtext("date_transaction") == "2024-04-02T01:00:00"
    assert dep.findtext("transmode_code") == "DAWLT"
    assert dep.findtext("t_from/from_funds_code") == "CRPTC"
    assert dep.findtext("t_from/from_foreign_currency/foreign_currency_code") == "XBT"
    assert dep.findtext("t_from/from_foreign_currency/foreign_amount") == "0.95"
    src = dep.find("t_from/from_account")
    assert src.findtext("account") == LISTED and src.findtext("account_type") == "CRYWT"
    assert src.findtext("institution_name") == "Example Wallet KK"
    assert src.findtext("sanctions/sanction_list/provider") == "us_ofac_sdn"
    assert "us_ofac_sdn:20002" in src.findtext("sanctions/sanction_list/sanction_list_attributes")
    dst = dep.find("t_to/to_account")
    assert dst.findtext("account") == "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"
    assert dst.findtext("client_number") == "C1001" and dst.findtext("account_type") == "CRYWT"
    person = dst.find("signatory/t_person")
    assert person.findtext("first_name") == "Hiroshi" and person.findtext("last_name") == "TANAKA"
    assert person.findtext("birthdate") == "1980-05-17T00:00:00"
    assert "田中 博" in person.findtext("full_name_frn")
    assert person.findtext("passport_number") == "TR1234567"
    assert person.findtext("nationality1") == "JP"
    out_tx = txs["x-bad"]
    info = out_tx.find("t_from/from_transaction_additional_info")
    assert info.findtext("network_device/ip_address/ipv4") == "203.0.113.9"
    assert out_tx.findtext("t_to/to_account/account") == LISTED
    assert out_tx.findtext("t_from/from_account/client_number") == "C1001"
    fiat = [t for t in root.findall("transaction") if t.findtext("transmode_code") == "ELCFT"]
    assert not fiat  # C2001's bank transfers are not in C1001's case


def test_goaml_validation_names_first_error(world, tmp_path, shared_data):
    ctx, case_id = world
    xsd = _xsd(shared_data)
    xml = build_xml(load_case(ctx, case_id), load_reporter(ctx))
    validate(xml, xsd)
    broken = xml.replace(b"<report_code>STR</report_code>", b"<report_code>XYZ</report_code>")
    with pytest.raises(BadRequest, match="report_code"):
        validate(broken, xsd)
    # The example from the schema's repository is valid too (the validator is not too strict).
    validate((xsd.parent / "example-STR.xml").read_bytes(), xsd)


# --- notification of a completed transfer ------------------------------------------------------


def test_completed_transfer_task_after_lookback(db_url, tmp_path):
    ctx = context(db_url, tmp_path)
    load_list(ctx, write_list(tmp_path / "v1", 1))
    process(
        ctx,
        [
            parse_event(
                {
                    "event_id": "cust-C1",
                    "type": "customer",
                    "time": "2024-04-01T09:00:00+09:00",
                    "customer_id": "C1",
                    "kind": "person",
                    "names": [{"text": "SATO Kenji"}],
                }
            ),
            parse_event(withdrawal("x-past", address=LISTED, ip="198.51.100.4")),
        ],
    )
    second = load_list(ctx, write_list(tmp_path / "v2", 2))[0]
    assert second.lookback is not None and second.lookback.alerts >= 1
    # What the lookback would call (services/lookback.py): the alert values and the event row.
    with ctx.db.begin() as conn:
        alert = conn.execute(
            sa.select(alerts).where(
                alerts.c.rule == "sanctioned_address", alerts.c.event_id == "x-past"
            )
        ).one()
        row = conn.execute(sa.select(events).where(events.c.event_id == "x-past")).one()
        values = dict(alert._mapping)
        task_id = repo.create_transfer_task(conn, values, row, alert_id=alert.id)
        assert task_id is not None
        # Once per transfer and listed entity; a deposit or another rule makes none.
        assert repo.create_transfer_task(conn, values, row, alert_id=alert.id) == task_id
        assert repo.create_transfer_task(conn, {**values, "rule": "name_match"}, row) is None
    assert open_transfer_tasks(ctx) == []  # the sweep finds the same task, makes no other
    found = list_tasks(ctx)
    assert len(found) == 1
    task = found[0]
    assert task.kind == "completed_transfer_notification" and task.state == "open"
    p = task.payload
    assert p["transfer"]["event_id"] == "x-past" and p["transfer"]["amount"] == "0.25"
    assert p["transfer"]["destination"] == LISTED and p["transfer"]["asset"] == "BTC"
    assert p["listing"]["entity_id"] == "us_ofac_sdn:20002"
    assert p["listing"]["snapshot_id"] == second.snapshot_id
    assert p["listing"]["caption"] == "GARANTEX TEST EXCHANGE"
    assert p["found_by"] == "lookback" and p["addressees"] == ["金融庁", "財務省"]
    notice = p["notice_ja"]
    assert "金融庁" in notice and "財務省" in notice and "x-past" in notice
    assert "GARANTEX TEST EXCHANGE" in notice and f"スナップショット {second.snapshot_id}" in notice
    assert "疑わしい取引の届出とは別" in notice
    # ``reports tasks --json``
    listed = run("reports", "tasks", "--json", db=ctx.settings.db)
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert (
        data[0]["task_id"] == task.task_id
        and data[0]["payload"]["transfer"]["event_id"] == "x-past"
    )


def test_transfer_sweep_creates_missing_tasks(db_url, tmp_path):
    ctx = context(db_url, tmp_path)
    load_list(ctx, write_list(tmp_path / "v1", 1))
    process(
        ctx,
        [
            parse_event(
                {
                    "event_id": "cust-C1",
                    "type": "customer",
                    "time": "2024-04-01T09:00:00+09:00",
                    "customer_id": "C1",
                    "kind": "person",
                    "names": [{"text": "SATO Kenji"}],
                }
            ),
            parse_event(withdrawal("x-past", address=LISTED)),
        ],
    )
    load_list(ctx, write_list(tmp_path / "v2", 2))
    # The lookback after the update opened the task itself: the sweep finds nothing missing.
    with ctx.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tasks)).scalar() == 1
    assert open_transfer_tasks(ctx) == []
    # A task lost (say, a lookback from before this version) is opened again by the sweep.
    with ctx.db.begin() as conn:
        conn.execute(tasks.delete())
    made = open_transfer_tasks(ctx)
    assert len(made) == 1 and open_transfer_tasks(ctx) == []
    with ctx.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tasks)).scalar() == 1


# --- the regulator summary ----------------------------------------------------------------------


def test_summary_counts_by_list_rule_asset(world, tmp_path):
    ctx, case_id = world
    answer = decide(
        ctx,
        "withdrawal",
        withdrawal("x-dec", address=LISTED, cid="C1001", time="2024-04-06T10:00:00+09:00"),
    )
    assert answer.decision == "block"
    now = datetime.now(UTC)
    with ctx.db.begin() as conn:
        conn.execute(
            holds.insert().values(
                decision_id="h-dec-1",
                event_id="d-1001-1",
                customer_id="C1001",
                kind="deposit",
                chain="btc",
                asset="BTC",
                amount="0.95",
                case_id=case_id,
                state="released",
                created_at=now,
                updated_at=now,
            )
        )
        conn.execute(
            cases.update()
            .where(cases.c.id == case_id)
            .values(state="closed", disposition="true_match", closed_at=now, reason="確認済み")
        )
        alert_id = conn.execute(
            sa.select(alerts.c.id).where(alerts.c.rule == "sanctioned_address")
        ).scalar()
        conn.execute(alerts.update().where(alerts.c.id == alert_id).values(decision_id="h-dec-1"))
    write_pack(ctx, JaficRequest(case_id=case_id, out_dir=tmp_path / "p"))
    day = now.date()
    result = write_summary(ctx, SummaryRequest(start=day, end=day, out_dir=tmp_path / "sum"))
    s = result.summary
    assert s["totals"] == {"holds": 1, "blocks": 1, "releases": 1, "reports": 1, "true_matches": 1}
    assert s["by_list"]["us_ofac_sdn"]["blocks"] == 1
    assert s["by_list"]["us_ofac_sdn"]["true_matches"] == 1
    assert s["by_rule"]["sanctioned_address"]["holds"] == 1
    assert s["by_rule"]["sanctioned_address"]["blocks"] == 1
    assert s["by_asset"]["BTC"]["blocks"] == 1 and s["by_asset"]["BTC"]["releases"] == 1
    assert [v["source"] for v in s["list_versions"]] == ["us_ofac_sdn"]
    rows = list(csv.DictReader(io.StringIO(result.csv_path.read_text(encoding="utf-8"))))
    row = next(r for r in rows if r["dimension"] == "list" and r["key"] == "us_ofac_sdn")
    assert row["blocks"] == "1" and row["true_matches"] == "1"
    assert any(r["dimension"] == "total" for r in rows)
    html = result.html_path.read_text(encoding="utf-8")
    assert "保留 / Holds" in html and "リスト別 / By list" in html and "us_ofac_sdn" in html
    # An empty period: zero everywhere.
    old = write_summary(
        ctx,
        SummaryRequest(
            start=day - timedelta(days=400), end=day - timedelta(days=399), out_dir=tmp_path / "old"
        ),
    )
    assert old.summary["totals"] == {
        "holds": 0,
        "blocks": 0,
        "releases": 0,
        "reports": 0,
        "true_matches": 0,
    }


# --- the case file ------------------------------------------------------------------------------


def test_casefile_zip(world, tmp_path):
    ctx, case_id = world
    out = tmp_path / "case.zip"
    result = write_casefile(ctx, CasefileRequest(case_id=case_id, out=out))
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        assert {
            "case.json",
            "alerts.json",
            "events.json",
            "decisions.json",
            "holds.json",
            "notes.json",
            "audit.jsonl",
            "summary.html",
            "manifest.json",
        } <= names
        case = json.loads(z.read("case.json"))
        assert case["id"] == case_id and case["customer_id"] == "C1001"
        found = json.loads(z.read("alerts.json"))
        assert {a["rule"] for a in found} >= {"sanctioned_address"}
        evidence = [n for n in names if n.startswith("evidence/")]
        assert len(evidence) == len(found)
        first = json.loads(z.read(f"evidence/alert-{found[0]['id']}.json"))
        assert first == found[0]["evidence"]
        notes = json.loads(z.read("notes.json"))
        assert notes[0]["text"] == "送付人ウォレットを確認"
        records = [json.loads(line) for line in z.read("audit.jsonl").decode().splitlines()]
        assert records[0]["action"] == "case.open" and len(records[0]["hash"]) == 64
        assert records[0]["hash"] == audit.record_hash(records[0]["prev_hash"], records[0])
        manifest = json.loads(z.read("manifest.json"))
        import hashlib

        for name, digest in manifest["files"].items():
            assert hashlib.sha256(z.read(name)).hexdigest() == digest
        html = z.read("summary.html").decode()
        assert "事案" in html and "C1001" in html and records[0]["hash"] in html
    assert result.to_dict()["alerts"] == len(found)


# --- the command line ---------------------------------------------------------------------------


def test_cli_reports(world, tmp_path, shared_data):
    ctx, case_id = world
    db = ctx.settings.db
    data_dir = str(tmp_path / "data")
    jafic = run(
        "--data-dir",
        data_dir,
        "reports",
        "jafic",
        str(case_id),
        "--out",
        str(tmp_path / "j"),
        db=db,
    )
    assert jafic.returncode == 0, jafic.stderr
    assert (tmp_path / "j" / f"STR-{case_id}.json").exists()
    xsd = _xsd(shared_data)
    goaml = run(
        "--data-dir",
        data_dir,
        "reports",
        "goaml",
        str(case_id),
        "--out",
        str(tmp_path / "g.xml"),
        "--xsd",
        str(xsd),
        db=db,
    )
    assert goaml.returncode == 0, goaml.stderr
    assert "valid" in goaml.stderr
    zipped = run("reports", "casefile", str(case_id), "--out", str(tmp_path / "c.zip"), db=db)
    assert zipped.returncode == 0, zipped.stderr and zipfile.is_zipfile(tmp_path / "c.zip")
    day = datetime.now(UTC).date().isoformat()
    summary = run(
        "reports", "summary", "--from", day, "--to", day, "--out", str(tmp_path / "s"), db=db
    )
    assert summary.returncode == 0, summary.stderr
    assert (tmp_path / "s" / f"summary-{day}-{day}.csv").exists()
