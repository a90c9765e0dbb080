"""The demo's monitoring step, at a small size: what the rules, the decisions and the lookback
must find in the demo exchange's activity."""

from __future__ import annotations

import json

import pytest

from helpers import run


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    db = f"sqlite:///{folder / 'sanctrace.db'}"
    result = run("demo", "--customers", "400", db=db, cwd=folder)
    assert result.returncode == 0, result.stderr
    alerts = json.loads((folder / "demo-report" / "alerts.json").read_text(encoding="utf-8"))
    history = [
        json.loads(line)
        for line in (folder / "demo-world" / "activity" / "history.jsonl").read_text().splitlines()
    ]
    live = {
        r["event_id"]: r
        for r in map(json.loads, (folder / "demo-world" / "activity" / "live.jsonl").open())
    }
    html = (folder / "demo-report" / "index.html").read_text(encoding="utf-8")
    return {
        "folder": folder,
        "db": db,
        "stdout": result.stdout,
        "alerts": alerts,
        "history": {e["event_id"]: e for e in history},
        "live": live,
        "html": html,
    }


def _by_event(alerts, rule):
    return {a["event_id"]: a for a in alerts if a["rule"] == rule}


def test_logins_from_russia_and_north_korea(demo):
    ip = _by_event(demo["alerts"], "sanctioned_jurisdiction_ip")
    logins = [e for e in demo["history"].values() if e["type"] == "login"]
    ru = [e for e in logins if e["ip"] in ("77.88.8.8", "5.255.255.5", "95.108.128.1")]
    kp = [e for e in logins if e["ip"].startswith("175.45.")]
    assert ru and kp
    assert all(ip[e["event_id"]]["action"] == "alert" for e in ru)  # high-risk: alert
    assert all(ip[e["event_id"]]["action"] == "hold" for e in kp)  # sanctioned: hold
    assert "RU" in ip[ru[0]["event_id"]]["summary"] and ip[kp[0]["event_id"]]["summary_ja"]
    # No login from Japanese address space is alerted.
    assert all(e["event_id"] not in ip for e in logins if e not in ru + kp)
    # Residence JP while logging in from RU / KP: a jurisdiction mismatch.
    mismatch = {a["customer_id"] for a in demo["alerts"] if a["rule"] == "jurisdiction_mismatch"}
    assert {ru[0]["customer_id"], kp[0]["customer_id"]} <= mismatch


def test_pass_through_through_the_singapore_company(demo):
    truth = json.loads((demo["folder"] / "demo-world" / "truth.json").read_text())
    sg = truth["owned_companies"][0]["customer_id"]
    found = [a for a in demo["alerts"] if a["rule"] == "pass_through"]
    assert [a["customer_id"] for a in found] == [sg]
    deposit = demo["history"][found[0]["evidence"]["deposit"]["event_id"]]
    assert deposit["customer_id"] == sg and deposit["amount"] == "1.5"


def test_structuring_alerted(demo):
    found = [a for a in demo["alerts"] if a["rule"] == "structuring"]
    assert len(found) == 1
    withdrawals = [
        e
        for e in demo["history"].values()
        if e["type"] == "withdrawal" and e["customer_id"] == found[0]["customer_id"]
    ]
    assert len(withdrawals) >= 3 and all(float(e["amount"]) < 0.1 for e in withdrawals)


def test_live_decisions(demo):
    decisions = {
        d["event_id"]: d
        for d in json.loads((demo["folder"] / "demo-report" / "decisions.json").read_text())
    }
    rules = {k: {r["rule"] for r in d["reasons"]} for k, d in decisions.items()}
    # The miner's payout is held before crediting, by mining_origin.
    assert decisions["live-dep-miner"]["decision"] == "hold"
    assert "mining_origin" in rules["live-dep-miner"]
    miner = [a for a in demo["alerts"] if a["rule"] == "mining_origin"]
    assert [a["decision_id"] for a in miner] == [decisions["live-dep-miner"]["decision_id"]]
    # The withdrawal to the listed exchange's address is blocked.
    assert decisions["live-wd-listed"]["decision"] == "block"
    assert "sanctioned_address" in rules["live-wd-listed"]
    # From a North Korean IP: held.
    assert decisions["live-wd-kp"]["decision"] == "hold"
    assert "sanctioned_jurisdiction_ip" in rules["live-wd-kp"]
    # The clean withdrawal is allowed and raises nothing.
    assert decisions["live-wd-clean"]["decision"] == "allow"
    assert not decisions["live-wd-clean"]["reasons"]
    assert all(d["snapshots"] and d["rules_version"] for d in decisions.values())
    assert decisions["live-wd-namesake"]["decision"] == "hold"
    assert "name_match" in rules["live-wd-namesake"]
    assert "1 allow, 3 hold, 1 block" in " ".join(demo["stdout"].split())


def test_decisions_through_the_cli_are_the_stored_ones(demo, tmp_path):
    # The same request again answers the stored decision.
    request = tmp_path / "req.json"
    request.write_text(json.dumps(demo["live"]["live-wd-listed"]))
    result = run("decide", "withdrawal", "--json", str(request), db=demo["db"])
    assert result.returncode in (0, 1), result.stderr
    answer = json.loads(result.stdout)
    assert answer["decision"] == "block"


def test_lookback_after_the_list_update(demo):
    truth = json.loads((demo["folder"] / "demo-world" / "truth.json").read_text())
    address = truth["addresses_after_update"][0]["address"]
    lookback = [a for a in demo["alerts"] if a["snapshot_id"] is not None]
    update_snapshot = max(a["snapshot_id"] for a in lookback)
    hits = [a for a in lookback if a["rule"] == "sanctioned_address" and a["subject"] == address]
    assert len(hits) == 1 and hits[0]["snapshot_id"] == update_snapshot
    event = demo["history"][hits[0]["event_id"]]
    assert event["type"] == "withdrawal" and event["address"] == address
    assert f"snapshot {update_snapshot}" in hits[0]["summary"]
    # The customer whose namesake the update lists is alerted by the lookback too.
    newly = truth["listed_after_update"][0]["customer_id"]
    assert any(
        a["rule"] == "name_match"
        and a["customer_id"] == newly
        and a["snapshot_id"] == update_snapshot
        for a in lookback
    )


def test_report_has_the_monitoring_section(demo):
    html = demo["html"]
    assert 'id="monitoring"' in html and 'id="decisions"' in html
    assert 'id="alerts-by-rule"' in html and 'id="lookback-alerts"' in html
    for rule in ("pass_through", "structuring", "mining_origin", "sanctioned_jurisdiction_ip"):
        assert rule in html
    assert "取引モニタリング" in html and "遡及調査" in html
    # The earlier sections are still there.
    assert 'id="wallet-hits"' in html and 'id="deposits"' in html


def test_second_run_is_idempotent(demo):
    second = run("demo", "--customers", "400", db=demo["db"], cwd=demo["folder"])
    assert second.returncode == 0, second.stderr
    again = json.loads((demo["folder"] / "demo-report" / "alerts.json").read_text())
    assert {a["alert_id"] for a in again} == {a["alert_id"] for a in demo["alerts"]}
    assert "(0 new)" in " ".join(second.stdout.split())


def test_casework_two_users_a_released_hold_and_the_reports(demo):
    folder = demo["folder"]
    report = folder / "demo-report"
    assert 'id="casework"' in demo["html"]
    # The case was worked by the analyst and approved by the approver (two users).
    cases = run("cases", "list", "--json", db=demo["db"], cwd=folder)
    assert cases.returncode == 0, cases.stderr
    closed = [c for c in json.loads(cases.stdout) if c["state"] == "closed"]
    # One case per run (a test above runs the demo a second time on the same database).
    assert 1 <= len(closed) <= 2
    assert all(c["approved_by"] == "demo-approver" for c in closed)
    case = min(closed, key=lambda c: c["case_id"])
    assert case["disposition"] == "true_match"
    assert case["assignee"] == "demo-analyst"
    assert any(a["rule"] == "sanctioned_address" for a in case["alerts"])
    holds = json.loads(run("holds", "list", "--json", db=demo["db"], cwd=folder).stdout)
    states = {h["event_id"]: h["state"] for h in holds}
    # The namesake's withdrawal released under four-eyes; the others stay held.
    assert states == {
        "live-wd-namesake": "released",
        "live-wd-kp": "held",
        "live-dep-miner": "held",
    }
    # Its JAFIC pack (JSON and HTML, in Japanese) and goAML file are in the report folder.
    pack = json.loads((report / f"STR-{case['case_id']}.json").read_text(encoding="utf-8"))
    assert "疑わしい取引に該当すると判断した理由" in json.dumps(pack, ensure_ascii=False)
    assert (report / f"STR-{case['case_id']}.html").exists()
    goaml = (report / f"goaml-case-{case['case_id']}.xml").read_bytes()
    assert goaml.startswith(b"<?xml") and b"<report" in goaml
    # The audit chain holds every step and verifies.
    verify = run("audit", "verify", db=demo["db"], cwd=folder)
    assert verify.returncode == 0, verify.stdout + verify.stderr
