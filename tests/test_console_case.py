"""The console's case page over HTTP: a case made by the real pipeline (an OFAC CSV list, a
customer event and a withdrawal), its evidence drawn, the forms (comment, close, four-eyes
approval, reopen), CSRF and roles, escaping, and the Japanese labels."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from monitor_helpers import LISTED, context, customer, load_list, withdrawal, write_list
from sanctrace.api.app import create_app
from sanctrace.api.auth import CSRF_HEADER, SESSION_COOKIE
from sanctrace.cases import cases, users
from sanctrace.cases.customer_view import customer_view, evidence_event_ids
from sanctrace.monitor.events import parse_event
from sanctrace.monitor.pipeline import process
from sanctrace.services.context import Context
from sanctrace.store import monitoring
from sanctrace.web.i18n import LANG_COOKIE
from sanctrace.web.pages.case import explain_match, highlight, matched_tokens

PASSWORD = "correct horse battery staple"


class Session:
    """A signed-in console user: the session cookie and its CSRF token."""

    def __init__(self, ctx: Context, name: str, role: str) -> None:
        users.add_user(ctx, name, role, PASSWORD)
        token, self.csrf = users.login(ctx, name, PASSWORD)
        self.name = name
        self.cookies = {SESSION_COOKIE: token}

    def use(self, client: TestClient, **cookies: str) -> TestClient:
        client.cookies.clear()
        for name, value in {**self.cookies, **cookies}.items():
            client.cookies.set(name, value)
        return client

    def get(self, client: TestClient, url: str, **cookies: str) -> Any:
        return self.use(client, **cookies).get(url)

    def post(self, client: TestClient, url: str, data: dict[str, str], csrf: bool = True) -> Any:
        form = {**data, "csrf_token": self.csrf} if csrf else data
        return self.use(client).post(url, data=form, follow_redirects=False)


def _case(ctx: Context, tmp_path: Path, name: str = "Igor VOLKOV") -> int:
    """Load the list, then a customer whose name is listed and a withdrawal to a listed
    address, through the pipeline; the customer's case."""
    load_list(ctx, write_list(tmp_path / "list", 2))
    process(
        ctx,
        [
            parse_event(customer("C1", name, birth_date="1975-03-02")),
            parse_event(withdrawal("w1", LISTED)),
        ],
    )
    (found,) = cases.list_cases(ctx, cases.CaseQuery(customer_id="C1"))
    return found.case_id


@pytest.fixture
def setup(db_url: str, tmp_path: Path) -> Any:
    ctx = context(db_url, tmp_path)
    case_id = _case(ctx, tmp_path)
    with TestClient(create_app(ctx)) as client:
        yield ctx, client, case_id


def _text(body: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", body))


# --- the pieces -----------------------------------------------------------------------------
def test_highlight_marks_aligned_words_and_escapes():
    query, listed = matched_tokens("tokens 'igor'≈'igor' 1.00, 'volkov'≈'volkov' 1.00")
    assert query == {"igor", "volkov"} and listed == {"igor", "volkov"}
    assert str(highlight("Igor VOLKOV", query)) == "<mark>Igor</mark> <mark>VOLKOV</mark>"
    assert str(highlight("VOLKOV, Igor Sergeyevich", listed)) == (
        "<mark>VOLKOV</mark>, <mark>Igor</mark> Sergeyevich"
    )
    marked = str(highlight("<script>alert(1)</script> Igor", {"igor", "script"}))
    assert "<script>" not in marked and "&lt;" in marked and marked.endswith(" <mark>Igor</mark>")
    # A name written without spaces, aligned syllable by syllable.
    assert str(highlight("金正恩", {"金", "恩"})) == "<mark>金</mark>正<mark>恩</mark>"


def test_explanation_in_words():
    notes = explain_match(
        {
            "score": 0.9455,
            "features": {"name": 0.9255, "evidence": 0.02},
            "explanation": "tokens 'igor'≈'igor' 1.00; only in list name: 'sergeyevich' "
            "(optional); birth date 1975-03-02 matches (+0.05); country JP differs (-0.03)",
        }
    )
    messages = [n.message % n.values if n.values else n.message for n in notes]
    assert messages[0] == "Overall score 0.95 (1.00 is certain)."
    assert "The names alone are 0.93 similar (1.00: the same words)." in messages
    assert "Date of birth, country and identifiers moved the score by +0.02." in messages
    assert any("«igor» in the customer's name matches «igor»" in m for m in messages)
    assert any(m.startswith("Only in the listed name: sergeyevich (a patronymic") for m in messages)
    assert "The date of birth 1975-03-02 is the same on the list (+0.05)." in messages
    assert "The country JP differs from the list (-0.03)." in messages


def test_customer_view_and_evidence_events(setup):
    ctx, _client, _case_id = setup
    found = customer_view(ctx, "C1")
    assert found is not None
    assert [(n.text, n.kind) for n in found.names][:1] == [("Igor VOLKOV", "latin")]
    assert {n.script for n in found.names} >= {"Latin", "Katakana"}
    assert found.kyc["birth_date"] == "1975-03-02" and found.kyc["nationality"] == "JP"
    assert [a.event_id for a in found.activity] == ["w1", "cust-C1"]
    assert customer_view(ctx, "nobody") is None
    assert evidence_event_ids({"a": [{"event_id": "e2"}, {"b": {"event_id": "e1"}}]}, "e1") == [
        "e1",
        "e2",
    ]


# --- the page -------------------------------------------------------------------------------
def test_page_shows_names_side_by_side_with_highlights(setup):
    ctx, client, case_id = setup
    analyst = Session(ctx, "ana", "analyst")
    page = analyst.get(client, f"/cases/{case_id}")
    assert page.status_code == 200
    body = page.text
    # Both names, the matched words marked on each side.
    assert "<mark>Igor</mark> <mark>VOLKOV</mark>" in body
    assert "<mark>VOLKOV</mark>, <mark>Igor</mark> Sergeyevich" in body
    text = _text(body)
    assert "Customer's name" in text and "Listed name" in text
    assert "Overall score 0.95" in text
    assert "The date of birth 1975-03-02 is the same on the list" in text
    # The customer: names in their own scripts with their kinds, KYC, activity.
    assert "サトウ ケンジ" in body and "Katakana" in text and "Reading (kana)" in text
    assert "Date of birth" in text and "1975-03-02" in text
    assert "Recent activity" in text and LISTED in text
    # The other alerts: the listed address and the event behind it.
    assert "Sanctioned address" in text and "GARANTEX TEST EXCHANGE" in text
    assert "Events behind this alert" in text and "w1" in text
    # The work forms carry the CSRF token; no approval step yet.
    assert f'name="csrf_token" value="{analyst.csrf}"' in body
    assert "Approve the decision" not in text
    # Times in JST; the case's audit records.
    assert "JST" in text and "case.open" in text


def test_work_close_and_four_eyes(setup):
    ctx, client, case_id = setup
    analyst = Session(ctx, "ana", "analyst")
    maker = Session(ctx, "apo", "approver")
    checker = Session(ctx, "bea", "approver")
    url = f"/cases/{case_id}"

    answer = analyst.post(client, f"{url}/comment", {"text": "DOB and name agree <b>"})
    assert answer.status_code == 303 and answer.headers["location"].startswith(f"{url}?done=")
    page = analyst.get(client, answer.headers["location"])
    assert "Your comment was added." in page.text
    assert "DOB and name agree &lt;b&gt;" in page.text
    assert cases.show_case(ctx, case_id).state == "in_review"

    answer = analyst.post(
        client, f"{url}/attach", {"name": "kyc.json", "content": '{"dob": "1975-03-02"}'}
    )
    assert answer.status_code == 303
    assert cases.show_case(ctx, case_id).attachments[0].content == {"dob": "1975-03-02"}
    bad = analyst.post(client, f"{url}/attach", {"name": "x", "content": "{not json"})
    assert bad.status_code == 422 and "not JSON" in bad.text and "Please check the form" in bad.text

    # A reason is required: the refusal is shown on the page, the case unchanged.
    refused = analyst.post(client, f"{url}/close", {"disposition": "true_match", "reason": " "})
    assert refused.status_code == 422 and "reason: required" in refused.text
    assert cases.show_case(ctx, case_id).state == "in_review"

    answer = analyst.post(
        client, f"{url}/close", {"disposition": "true_match", "reason": "same person"}
    )
    assert answer.status_code == 303 and "done=pending" in answer.headers["location"]
    case = cases.show_case(ctx, case_id)
    assert (case.state, case.disposition, case.closed_by) == (
        "pending_approval",
        "true_match",
        "ana",
    )
    page = analyst.get(client, answer.headers["location"])
    assert "The case now waits for a second person to approve it." in page.text
    assert "Four-eyes approval" in page.text
    assert "Approve the decision" not in page.text  # the analyst has no approve right

    # The analyst cannot approve: no approve right (the refusal is a page, not a crash).
    refused = analyst.post(client, f"{url}/approve", {"reason": ""})
    assert refused.status_code == 403 and "may not approve" in refused.text
    assert cases.show_case(ctx, case_id).state == "pending_approval"

    # An approver sees the button.
    assert "Approve the decision" in checker.get(client, url).text

    # The maker may not approve their own decision: shown as a message, nothing changes.
    cases.reopen_case(ctx, maker_principal(ctx, "apo"), case_id, "second look")
    answer = maker.post(
        client, f"{url}/close", {"disposition": "true_match", "reason": "same person, DOB"}
    )
    assert answer.status_code == 303
    refused = maker.post(client, f"{url}/approve", {"reason": "ok"})
    assert refused.status_code == 403
    assert "Not allowed" in refused.text and "four-eyes" in refused.text
    assert 'role="alert"' in refused.text and "Case " in refused.text  # the case page itself
    assert cases.show_case(ctx, case_id).state == "pending_approval"

    answer = checker.post(client, f"{url}/approve", {"reason": "agreed"})
    assert answer.status_code == 303 and "done=approved" in answer.headers["location"]
    case = cases.show_case(ctx, case_id)
    assert (case.state, case.approved_by) == ("closed", "bea")
    page = checker.get(client, answer.headers["location"])
    text = _text(page.text)
    assert "The decision was approved and the case is closed." in text
    assert "case.approve" in text and "case.close" in text

    # Approving again is a conflict, shown on the page.
    again = checker.post(client, f"{url}/approve", {"reason": ""})
    assert again.status_code == 409 and "nothing waits for approval" in again.text

    answer = analyst.post(client, f"{url}/reopen", {"reason": "new information"})
    assert answer.status_code == 303
    assert cases.show_case(ctx, case_id).state == "reopened"


def maker_principal(ctx: Context, name: str) -> Any:
    from sanctrace.cases.auth import Principal, Role

    return Principal(name=name, kind="user", role=Role.APPROVER)


def test_csrf_and_roles(setup):
    ctx, client, case_id = setup
    analyst = Session(ctx, "ana", "analyst")
    auditor = Session(ctx, "aud", "auditor")
    url = f"/cases/{case_id}"

    missing = analyst.post(client, f"{url}/comment", {"text": "hi"}, csrf=False)
    assert missing.status_code == 403
    wrong = analyst.post(client, f"{url}/comment", {"text": "hi", "csrf_token": "x" * 40}, False)
    assert wrong.status_code == 403
    assert cases.show_case(ctx, case_id).comments == []

    # The header htmx sends is accepted too.
    answer = analyst.use(client).post(
        f"{url}/comment",
        data={"text": "via htmx"},
        headers={CSRF_HEADER: analyst.csrf},
        follow_redirects=False,
    )
    assert answer.status_code == 303

    # An auditor reads the page but cannot post, and sees no work forms.
    page = auditor.get(client, url)
    assert page.status_code == 200 and "Add comment" not in page.text
    for action, data in (
        ("comment", {"text": "x"}),
        ("close", {"disposition": "false_positive", "reason": "x"}),
        ("assign", {"to": "aud"}),
        ("approve", {}),
        ("reopen", {"reason": "x"}),
        ("attach", {"name": "x", "content": "{}"}),
    ):
        assert auditor.post(client, f"{url}/{action}", data).status_code == 403, action
    assert len(cases.show_case(ctx, case_id).comments) == 1

    # Without a session: to the sign-in page.
    client.cookies.clear()
    answer = client.get(url, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    # An unknown case.
    assert analyst.get(client, "/cases/999999").status_code == 404


def test_listed_name_with_script_is_escaped(db_url, tmp_path):
    ctx = context(db_url, tmp_path)
    folder = tmp_path / "list"
    folder.mkdir()
    (folder / "sdn.csv").write_text(
        '20001,"VOLKOV, Igor <script>alert(1)</script>","individual","CYBER2",-0- ,-0- ,-0- ,'
        '-0- ,-0- ,-0- ,-0- ,"DOB 02 Mar 1975; nationality Russia."\n',
        encoding="utf-8",
    )
    load_list(ctx, folder)
    process(ctx, [parse_event(customer("C1", "Igor VOLKOV <script>alert(1)</script>"))])
    (case,) = cases.list_cases(ctx)
    assert "<script>" in case.alerts[0].evidence["match"]["matched_name"]
    with TestClient(create_app(ctx)) as client:
        page = Session(ctx, "ana", "analyst").get(client, f"/cases/{case.case_id}")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text or "&lt;<mark>script</mark>&gt;" in page.text


def test_japanese_labels(setup):
    ctx, client, case_id = setup
    analyst = Session(ctx, "ana", "analyst")
    page = analyst.get(client, f"/cases/{case_id}", **{LANG_COOKIE: "ja"})
    assert page.status_code == 200
    text = _text(page.text)
    for label in (
        "顧客の名義",
        "リスト上の名義",
        "コメントを追加",
        "監査記録",
        "判定して完了する",
        "最近の取引",
    ):
        assert label in text, label
    assert "Customer's name" not in text and "Add comment" not in text
    assert "総合スコア 0.95" in text
    # The Japanese summary of the alert, names in their own scripts.
    assert "サトウ ケンジ" in text and "一致しました" in text
    # Browser language works as well.
    page = analyst.use(client).get(f"/cases/{case_id}", headers={"Accept-Language": "ja,en;q=0.5"})
    assert "顧客の名義" in _text(page.text)


def _stored_alert(ctx: Context, rule: str, evidence: dict[str, Any], event_id: str | None) -> None:
    """An alert with evidence the pipeline makes from chain data and KYB records (exposure
    paths, ownership chains, windowed rule hits), stored as the pipeline stores it."""
    with ctx.db.begin() as conn:
        monitoring.add_alert(
            conn,
            {
                "customer_id": "C1",
                "rule": rule,
                "severity": "high",
                "action": "alert",
                "subject": f"{rule}-subject",
                "summary": f"{rule} found",
                "summary_ja": f"{rule} を検知",
                "evidence": evidence,
                "evidence_key": monitoring.evidence_key(rule, "k"),
                "event_id": event_id,
            },
            sla_hours=ctx.settings.sla_hours,
        )


def test_exposure_ownership_and_rule_hits_drawn(setup):
    ctx, client, case_id = setup
    tx1, tx2 = "a" * 64, "b" * 64
    _stored_alert(
        ctx,
        "indirect_exposure",
        {
            "subject": f"tx:{tx2}",
            "fraction": 0.5,
            "min_hops": 2,
            "by_entity": [{"entity": "us_ofac_sdn:20002", "label": "GARANTEX", "fraction": 0.5}],
            "path": {
                "value": 50_000_000,
                "hops": 2,
                "steps": [
                    {
                        "txid": tx1,
                        "output_index": 0,
                        "address": LISTED,
                        "tags": ["sanctioned:us_ofac_sdn:20002"],
                        "amount": 150_000_000,
                    },
                    {
                        "txid": tx2,
                        "output_index": 1,
                        "address": "bc1qexample",
                        "tags": [],
                        "amount": 50_000_000,
                    },
                ],
            },
        },
        "w1",
    )
    _stored_alert(
        ctx,
        "company_ownership",
        {
            "paths": [
                {
                    "kind": "ownership",
                    "certain": True,
                    "steps": [
                        {
                            "owner": "us_ofac_sdn:1",
                            "owner_name": "Listed Holding <b>Ltd</b>",
                            "asset": "kyb:2",
                            "asset_name": "Middle Co",
                            "link": "ownership",
                            "share": "60%",
                            "owner_blocked_because": "listed: us_ofac_sdn",
                        },
                        {
                            "owner": "kyb:2",
                            "owner_name": "Middle Co",
                            "asset": "C1",
                            "asset_name": "Customer KK",
                            "link": "ownership",
                            "share": "100%",
                        },
                    ],
                }
            ]
        },
        None,
    )
    _stored_alert(
        ctx, "structuring", {"deposits": [{"event_id": "w1"}, {"event_id": "cust-C1"}]}, None
    )
    page = Session(ctx, "ana", "analyst").get(client, f"/cases/{case_id}")
    assert page.status_code == 200
    text = _text(page.text)
    # The exposure path: hops, transactions, outputs, amounts in BTC, the flagged tag.
    assert "Path 1: 2 hops" in text and "Hop 0" in text and "Hop 1" in text
    assert tx1 in text and tx2 in text and "Output 1" in text
    assert "1.5 BTC" in text and "0.5 BTC" in text
    assert "Tagged" in text and "sanctioned:us_ofac_sdn:20002" in text
    # The ownership chain, names escaped.
    assert "Chain of ownership" in text
    assert "Listed Holding &lt;b&gt;Ltd&lt;/b&gt;" in page.text
    assert "holds 60% of" in text and "holds 100% of" in text and "Customer KK" in text
    # The rule hit's events.
    section = text[text.index("Structuring") :]
    assert "Events behind this alert" in section and "w1" in section and "cust-C1" in section
