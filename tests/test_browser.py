"""The analyst console in a real browser: Debian's chromium, headless, driven by Playwright, on
a real server over a small demo database (``browser_helpers``).

Scenarios: sign in; work a case from the queue to a closed true match with a second user
approving (and the closer's own approval refused); release a hold under four-eyes; open the
transaction graph and expand a node; switch to Japanese; download a JAFIC pack; the API docs
offline. Each page is saved as a screenshot under ``test-artifacts/screenshots/``. Every
session fails if a page tried to reach anything but the test server.

Selectors are the ones a person uses: labels, roles and visible text (the issue's UI), so the
pages' markup may change under them.
"""

from __future__ import annotations

import json
import re

import pytest

import browser_helpers
from browser_helpers import (
    ANALYST,
    APPROVER,
    APPROVER2,
    Session,
    World,
    browser_missing,
    clean_screenshots,
)

# The fixtures (browser_helpers), made visible to this module's tests.
browser = browser_helpers.browser
console_world = browser_helpers.console_world
console_url = browser_helpers.console_url
session_factory = browser_helpers.session_factory

pytestmark = pytest.mark.skipif(bool(browser_missing()), reason=browser_missing() or "")

CASE_LINK = "main a[href^='/cases/']"


@pytest.fixture(scope="module", autouse=True)
def _screenshots() -> None:
    if not browser_missing():
        clean_screenshots()


def _expect():
    from playwright.sync_api import expect

    return expect


def _first_visible(*locators):
    """The first of ``locators`` that matches a visible element, else None."""
    for locator in locators:
        try:
            if locator.count() and locator.first.is_visible():
                return locator.first
        except Exception:  # noqa: BLE001, S112 - a locator that does not apply here
            continue
    return None


def _button(scope, pattern: str):
    name = re.compile(pattern, re.I)
    return _first_visible(
        scope.get_by_role("button", name=name), scope.get_by_role("link", name=name)
    )


def _case_id(page) -> int:
    found = re.search(r"/cases/(\d+)", page.url)
    assert found, f"not on a case page: {page.url}"
    return int(found.group(1))


def _case_state(world: World, case_id: int):
    from sanctrace.cases.cases import show_case

    return show_case(world.ctx, case_id)


def _close_as_true_match(s: Session, reason: str) -> None:
    page = s.page
    comment = _first_visible(page.get_by_label(re.compile(r"^(new )?comment$", re.I)))
    if comment is not None:
        comment.fill("Checked the listed name against the KYC record: same person.")
        _button(page, r"^(add )?comment$").click()
        page.wait_for_load_state()
    choice = page.get_by_label("True match", exact=True)
    if choice.count():
        choice.first.check()
    else:
        page.get_by_label(re.compile(r"disposition", re.I)).select_option("true_match")
    page.get_by_label(re.compile(r"^reason", re.I)).first.fill(reason)
    _button(page, r"^close( the)?( case)?$").click()
    page.wait_for_load_state()


# -- sign in -----------------------------------------------------------------------------------


def test_sign_in(session_factory, console_world):
    s = session_factory()
    page = s.page
    s.go("/")
    assert "/login" in page.url  # no session: the sign-in page
    _expect()(page.get_by_label("User name")).to_be_visible()
    s.shot("01-login")
    s.sign_in(ANALYST, "not the password")
    _expect()(page.get_by_role("alert")).to_contain_text("Wrong user name or password")
    s.sign_in(ANALYST)
    nav = page.get_by_role("navigation")
    _expect()(nav.get_by_role("link", name="Dashboard")).to_be_visible()
    _expect()(page.get_by_text(ANALYST, exact=False).first).to_be_visible()
    s.shot("02-dashboard")
    for path, name in (
        ("/queue", "03-queue"),
        ("/holds", "04-holds"),
        ("/screen", "05-screen"),
        ("/lists", "06-lists"),
        ("/audit", "07-audit"),
        ("/reports", "08-reports"),
        ("/graph", "09-graph"),
    ):
        answer = s.go(path)
        assert answer is not None and answer.status == 200, path
        s.shot(name)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    assert "/login" in page.url
    assert not s.errors, s.errors


# -- a case from the queue to a closed true match, four-eyes -------------------------------------


def test_work_a_case_to_true_match_with_four_eyes(session_factory, console_world):
    from sanctrace.cases.cases import CaseQuery, list_cases

    analyst = session_factory()
    analyst.sign_in(ANALYST)
    page = analyst.page
    analyst.go("/queue")
    take = _button(page, r"take next")
    if take is not None:
        take.click()
        page.wait_for_url(re.compile(r"/cases/\d+"))
    else:
        page.locator(CASE_LINK).first.click()
        page.wait_for_url(re.compile(r"/cases/\d+"))
    case_id = _case_id(page)
    analyst.shot("10-case")
    assign = _button(page, r"assign to me|^take$|take this")
    if assign is not None:
        assign.click()
        page.wait_for_load_state()
    _close_as_true_match(analyst, "Confirmed listed person: stop and report.")
    assert _case_state(console_world, case_id).state == "pending_approval"
    _expect()(
        page.get_by_text(
            re.compile(r"pending.approval|awaiting approval|waiting for approval", re.I)
        ).first
    ).to_be_visible()
    analyst.shot("11-case-pending-approval")

    # The analyst cannot approve (the server refuses, whatever the page shows).
    own = _button(page, r"^approve")
    if own is not None:
        own.click()
        page.wait_for_load_state()
    answer = page.request.post(
        f"{analyst.base}/v1/cases/{case_id}/approve",
        headers={"X-CSRF-Token": analyst.csrf()},
        data=json.dumps({}),
    )
    assert answer.status == 403
    assert _case_state(console_world, case_id).state == "pending_approval"

    # A second user approves: the case is closed as a true match.
    approver = session_factory()
    approver.sign_in(APPROVER)
    approver.go(f"/cases/{case_id}")
    _button(approver.page, r"^approve").click()
    approver.page.wait_for_load_state()
    done = _case_state(console_world, case_id)
    assert (done.state, done.disposition) == ("closed", "true_match")
    _expect()(approver.page.get_by_text(re.compile(r"true.match", re.I)).first).to_be_visible()
    approver.shot("12-case-closed")

    # Four-eyes holds for approvers too: who closed a case cannot approve it.
    other = next(
        c.case_id
        for c in list_cases(console_world.ctx, CaseQuery(state="open"))
        if c.case_id != case_id
    )
    approver.go(f"/cases/{other}")
    _close_as_true_match(approver, "Same person, confirmed.")
    assert _case_state(console_world, other).state == "pending_approval"
    mine = _button(approver.page, r"^approve")
    if mine is not None:
        mine.click()
        approver.page.wait_for_load_state()
        _expect()(approver.page.get_by_role("alert").first).to_be_visible()
        approver.shot("13-case-own-approval-refused")
    assert _case_state(console_world, other).state == "pending_approval"
    second = session_factory()
    second.sign_in(APPROVER2)
    second.go(f"/cases/{other}")
    _button(second.page, r"^approve").click()
    second.page.wait_for_load_state()
    assert _case_state(console_world, other).state == "closed"
    assert not (analyst.errors or approver.errors or second.errors)


# -- holds -------------------------------------------------------------------------------------


def test_release_a_hold_with_four_eyes(session_factory, console_world):
    from sanctrace.cases import holds

    waiting = holds.list_holds(console_world.ctx, holds.HoldQuery(state="held"))
    assert waiting, "the demo leaves holds waiting"
    hold = waiting[0]
    analyst = session_factory()
    analyst.sign_in(ANALYST)
    analyst.go("/holds")
    page = analyst.page
    _expect()(page.get_by_text(hold.asset).first).to_be_visible()
    analyst.shot("14-holds")
    row = page.locator("tr, li, article, section").filter(has_text=hold.event_id).last
    scope = row if row.count() else page
    reason = _first_visible(scope.get_by_label(re.compile(r"reason", re.I)))
    if reason is None:
        reason = _first_visible(page.get_by_label(re.compile(r"reason", re.I)))
    if reason is not None:
        reason.fill("Namesake: date of birth and nationality differ from the listed person.")
    (
        _button(scope, r"request release|^release") or _button(page, r"request release|^release")
    ).click()
    page.wait_for_load_state()
    asked = (
        holds.show_hold(console_world.ctx, hold.hold_id) if hasattr(holds, "show_hold") else None
    )
    if asked is not None:
        assert asked.state == "release_pending"
    analyst.shot("15-hold-release-requested")

    approver = session_factory()
    approver.sign_in(APPROVER)
    approver.go("/holds")
    page = approver.page
    row = page.locator("tr, li, article, section").filter(has_text=hold.event_id).last
    scope = row if row.count() else page
    (_button(scope, r"approve( release)?|^release") or _button(page, r"approve")).click()
    page.wait_for_load_state()
    states = {
        h.hold_id: h.state
        for h in holds.list_holds(console_world.ctx, holds.HoldQuery(state="released"))
    }
    assert states.get(hold.hold_id) == "released"
    approver.shot("16-hold-released")
    assert not (analyst.errors or approver.errors)


# -- the transaction graph ---------------------------------------------------------------------


def test_graph_opens_and_expands_a_node(session_factory, console_world):
    assert console_world.addresses, "the demo has customer wallets on listed addresses"
    s = session_factory()
    s.sign_in(ANALYST)
    page = s.page
    rows = page.locator("#node-table tbody tr")
    for address in console_world.addresses[:5]:  # the first with neighbours in the chain
        s.go("/graph")
        page.get_by_label("Address", exact=True).fill(address)
        page.get_by_role("button", name="Show").click()
        page.wait_for_load_state()
        if rows.count() >= 2:
            break
    assert rows.count() >= 2, "no demo address has a neighbourhood on the graph"
    _expect()(page.locator("#graph canvas").first).to_be_visible()
    s.shot("17-graph")
    # Select a node (the table's keyboard-reachable buttons select in the drawing too).
    selects = page.get_by_role("button", name="Select")
    _expect()(selects.first).to_be_visible()
    status = page.locator("#graph-status")
    expanded = False
    for i in range(min(selects.count(), 8)):
        selects.nth(i).click()
        for label in ("Expand inputs", "Expand outputs", "Cluster neighbours"):
            action = page.get_by_role("button", name=label)
            if action.is_enabled():
                action.click()
                _expect()(status).not_to_have_text(re.compile(r"^$|Loading", re.I))
                if re.search(r"\d+ nodes added", status.inner_text()):
                    expanded = True
                    break
        if expanded:
            break
    assert expanded, f"no node expanded: {status.inner_text()!r}"
    s.shot("18-graph-expanded")
    assert not s.errors, s.errors


# -- Japanese ----------------------------------------------------------------------------------


def test_switch_to_japanese(session_factory):
    s = session_factory()
    s.sign_in(ANALYST)
    page = s.page
    page.get_by_role("link", name="日本語").click()
    page.wait_for_load_state()
    nav = page.get_by_role("navigation")
    _expect()(nav.get_by_role("link", name="ダッシュボード")).to_be_visible()
    _expect()(
        page.get_by_role("button", name=re.compile("サインアウト|ログアウト"))
    ).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "ja"
    s.shot("19-dashboard-ja")
    for path, name in (("/queue", "20-queue-ja"), ("/holds", "21-holds-ja")):
        s.go(path)
        s.shot(name)
    # The choice stays; English again through the switch.
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    _expect()(page.get_by_role("navigation").get_by_role("link", name="Dashboard")).to_be_visible()
    # A browser asking for Japanese gets it before any switch, on the sign-in page too.
    ja = session_factory(locale="ja-JP")
    ja.go("/login")
    _expect()(ja.page.get_by_role("button", name="サインイン")).to_be_visible()
    ja.shot("22-login-ja")


# -- reports -----------------------------------------------------------------------------------


def test_download_a_jafic_pack(session_factory, console_world):
    case_id = console_world.worked_case
    assert case_id is not None, "the demo worked and approved a case"
    s = session_factory()
    s.sign_in(APPROVER)
    page = s.page
    s.go("/reports")
    page.get_by_label("Case", exact=True).select_option(str(case_id))
    page.get_by_role("button", name="Choose").click()
    page.wait_for_load_state()
    s.shot("23-reports")
    trigger = _button(page, r"JAFIC.*JSON") or _button(page, r"JAFIC")
    assert trigger is not None, "no JAFIC control on the reports page"
    with page.expect_download() as info:
        trigger.click()
    download = info.value
    path = download.path()
    assert path is not None
    body = open(path, "rb").read()
    assert body, "empty JAFIC pack"
    name = download.suggested_filename.lower()
    assert "jafic" in name or str(case_id) in name, name
    if name.endswith(".json"):
        json.loads(body)
    elif name.endswith(".zip"):
        assert body[:2] == b"PK"
    s.shot("24-reports-downloaded")


# -- the API docs, offline ---------------------------------------------------------------------


def test_api_docs_work_offline(session_factory):
    s = session_factory()
    page = s.page
    s.go("/docs")
    _expect()(page.locator(".swagger-ui .info .title").first).to_contain_text("sanctrace")
    _expect()(page.locator(".opblock").first).to_be_visible()
    s.shot("25-docs")
    s.go("/redoc")
    _expect()(page.locator("redoc h1, [role=main] h1, h1").first).to_contain_text(
        "sanctrace", timeout=30_000
    )
    s.shot("26-redoc")
    assert not s.errors, s.errors
