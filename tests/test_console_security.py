"""The console's security, over HTTP: CSRF tokens, session fixation, role limits on the server,
escaped output, the session cookie's flags and sign-out ending the session on the server."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sanctrace.api.app import create_app
from sanctrace.api.auth import CSRF_HEADER, PUBLIC, SESSION_COOKIE, endpoints
from sanctrace.cases import users
from sanctrace.cases.auth import ROLE_PERMISSIONS, Permission, Role
from sanctrace.services import lists as list_service
from sanctrace.services.context import Context
from sanctrace.settings import Settings

PASSWORD = "correct horse battery staple"
SCRIPT_NAME = '<script>alert("xss")</script> Mallory'


@pytest.fixture
def ctx(tmp_path):
    context = Context(Settings(db=f"sqlite:///{tmp_path / 'console.db'}"))
    yield context
    context.db.dispose()


@pytest.fixture
def app(ctx) -> FastAPI:
    application = create_app(ctx)
    for name, role in (("ana", Role.ANALYST), ("otto", Role.AUDITOR), ("adam", Role.ADMIN)):
        users.add_user(ctx, name, role, password=PASSWORD)
    return application


def _client(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="http://testserver", follow_redirects=False)


def _sign_in(client: TestClient, name: str) -> str:
    answer = client.post("/login", data={"username": name, "password": PASSWORD, "next": "/"})
    assert answer.status_code == 303, answer.text
    token = answer.cookies.get(SESSION_COOKIE)  # the id the server issued on sign-in
    assert token
    client.cookies.clear()  # as a browser does: the issued cookie replaces a planted one
    client.cookies.set(SESSION_COOKIE, token)
    return token


def _csrf(client: TestClient, path: str = "/") -> str:
    """The CSRF token the console puts in its pages' forms."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "no CSRF token in the page's forms"
    return found.group(1)


def _set_cookie_headers(answer) -> list[str]:
    return [v for k, v in answer.headers.multi_items() if k.lower() == "set-cookie"]


# -- CSRF -------------------------------------------------------------------------------------


def test_post_without_csrf_token_is_refused(app):
    client = _client(app)
    _sign_in(client, "ana")
    assert client.post("/logout").status_code == 403
    assert client.post("/logout", data={"csrf_token": "not-the-token"}).status_code == 403
    assert client.get("/").status_code == 200  # still signed in: the forged sign-out failed
    # The REST API on a session wants the token too (in the header).
    assert client.post("/v1/cases/1/comment", json={"text": "x"}).status_code == 403
    # With the token it goes through.
    assert client.post("/logout", data={"csrf_token": _csrf(client)}).status_code == 303


def test_every_console_form_route_wants_the_csrf_token(app):
    """Every console route that changes something refuses a signed-in POST without the token
    (read from the app, so the pages being added are covered)."""
    client = _client(app)
    _sign_in(client, "ana")
    checked = []
    for endpoint in endpoints(app):
        if endpoint.path.startswith("/v1/") or endpoint.path in PUBLIC:
            continue
        for method in sorted(endpoint.methods - {"GET", "HEAD", "OPTIONS"}):
            path = re.sub(r"\{[^}]+\}", "1", endpoint.path)
            answer = client.request(method, path, data={"x": "1"})
            assert answer.status_code == 403, f"{method} {path}: {answer.status_code}"
            checked.append(path)
    assert "/logout" in checked


# -- session fixation --------------------------------------------------------------------------


def test_a_cookie_planted_before_sign_in_is_not_the_session(app, ctx):
    client = _client(app)
    planted = "attacker-chosen-session-id"
    client.cookies.set(SESSION_COOKIE, planted)
    assert client.get("/").status_code == 303  # not a session: off to the sign-in page
    token = _sign_in(client, "ana")
    assert token != planted
    assert client.get("/").status_code == 200
    fresh = _client(app)
    fresh.cookies.set(SESSION_COOKIE, planted)
    assert fresh.get("/").status_code == 303  # the planted id opens nothing

    # A real session id planted in a victim's browser (the attacker's own) is replaced too.
    attacker = _client(app)
    attackers = _sign_in(attacker, "otto")
    victim = _client(app)
    victim.cookies.set(SESSION_COOKIE, attackers)
    assert _sign_in(victim, "ana") != attackers
    assert users.session_info(ctx, victim.cookies[SESSION_COOKIE]).principal.name == "ana"
    assert victim.get("/").status_code == 200
    assert users.session_info(ctx, attackers).principal.name == "otto"


# -- roles enforced on the server --------------------------------------------------------------


def _changing_routes(app: FastAPI) -> list[tuple[str, str, frozenset[Permission]]]:
    found = []
    for endpoint in endpoints(app):
        if endpoint.path in PUBLIC or not endpoint.permissions:
            continue
        path = re.sub(r"\{[^}]+\}", "1", endpoint.path)
        for method in sorted(endpoint.methods - {"GET", "HEAD", "OPTIONS"}):
            found.append((method, path, endpoint.permissions))
    return found


@pytest.mark.parametrize("who, role", [("otto", Role.AUDITOR), ("ana", Role.ANALYST)])
def test_a_role_cannot_do_what_it_lacks(app, who, role):
    """The auditor (read only) can POST nothing; the analyst nothing admin-only or approving:
    403 from the server, whatever the page shows, with a valid CSRF token."""
    client = _client(app)
    _sign_in(client, who)
    token = _csrf(client)
    held = ROLE_PERMISSIONS[role]
    refused = []
    for method, path, needs in _changing_routes(app):
        if needs <= held:
            continue
        if path.startswith("/v1/"):
            answer = client.request(method, path, json={}, headers={CSRF_HEADER: token})
        else:
            answer = client.request(method, path, data={"csrf_token": token})
        assert answer.status_code == 403, f"{role} {method} {path}: {answer.status_code}"
        refused.append(path)
    assert refused
    if role is Role.AUDITOR:
        answer = client.post(
            "/v1/cases/1/comment", json={"text": "x"}, headers={CSRF_HEADER: token}
        )
        assert answer.status_code == 403


def test_admin_only_console_pages_refuse_an_analyst(app):
    """Every console page that needs more than the analyst holds answers 403 to an analyst."""
    client = _client(app)
    _sign_in(client, "ana")
    held = ROLE_PERMISSIONS[Role.ANALYST]
    for endpoint in endpoints(app):
        if endpoint.path.startswith("/v1/") or endpoint.path in PUBLIC:
            continue
        if "GET" in endpoint.methods and not endpoint.permissions <= held:
            path = re.sub(r"\{[^}]+\}", "1", endpoint.path)
            assert client.get(path).status_code == 403, path


# -- escaped output ----------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if href.startswith("/") and not href.startswith("//"):
                self.links.append(href.split("#")[0])
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def test_a_listed_name_with_a_script_tag_is_shown_as_text(app, ctx, tmp_path: Path):
    source = tmp_path / "xss.ftm.json"
    source.write_text(
        json.dumps(
            {
                "id": "xss-1",
                "schema": "Person",
                "properties": {"name": [SCRIPT_NAME], "nationality": ["ru"]},
            }
        )
        + "\n",
        encoding="utf-8",
    )
    list_service.load(ctx, list_service.LoadRequest(paths=(source,), source="xss_list"))
    client = _client(app)
    _sign_in(client, "ana")
    escaped = "&lt;script&gt;alert("
    # Crawl the lists pages (sources, snapshots, deltas, entities) for the listed name.
    seen: set[str] = set()
    todo = ["/lists"]
    shown_on = []
    while todo and len(seen) < 60:
        path = todo.pop(0)
        if path in seen or not path.startswith("/lists") or "download" in path:
            continue
        seen.add(path)
        answer = client.get(path)
        if answer.status_code != 200 or "html" not in answer.headers.get("content-type", ""):
            continue
        assert '<script>alert("xss")' not in answer.text, path
        parser = _Links()
        parser.feed(answer.text)
        assert not any("alert(" in s for s in parser.scripts), path
        if escaped in answer.text:
            shown_on.append(path)
        todo += [link for link in parser.links if link not in seen]
    assert shown_on, f"no lists page shows the listed name (looked at {sorted(seen)})"


# -- the cookie and sign-out --------------------------------------------------------------------


def test_the_session_cookie_is_httponly_and_samesite_strict(app):
    client = _client(app)
    answer = client.post("/login", data={"username": "ana", "password": PASSWORD})
    (cookie,) = [c for c in _set_cookie_headers(answer) if c.startswith(f"{SESSION_COOKIE}=")]
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert "httponly" in flags
    assert "samesite=strict" in flags
    assert any(f.startswith("max-age=") for f in flags)
    https = TestClient(app, base_url="https://testserver", follow_redirects=False)
    answer = https.post("/login", data={"username": "ana", "password": PASSWORD})
    (cookie,) = [c for c in _set_cookie_headers(answer) if c.startswith(f"{SESSION_COOKIE}=")]
    assert "secure" in {part.strip().lower() for part in cookie.split(";")[1:]}


def test_wrong_password_opens_no_session(app):
    client = _client(app)
    answer = client.post("/login", data={"username": "ana", "password": "wrong password!"})
    assert answer.status_code == 401
    assert SESSION_COOKIE not in client.cookies
    assert "Wrong user name or password." in answer.text


def test_sign_out_ends_the_session_on_the_server(app, ctx):
    client = _client(app)
    token = _sign_in(client, "ana")
    csrf = _csrf(client)
    answer = client.post("/logout", data={"csrf_token": csrf})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login"
    # The old cookie, replayed by someone who kept it, opens nothing any more.
    replay = _client(app)
    replay.cookies.set(SESSION_COOKIE, token)
    assert replay.get("/").status_code == 303
    assert replay.get("/v1/cases").status_code == 401
    with pytest.raises(users.Unauthenticated):
        users.session_info(ctx, token)


def test_no_open_redirect_after_sign_in(app):
    client = _client(app)
    answer = client.post(
        "/login", data={"username": "ana", "password": PASSWORD, "next": "//evil.example/"}
    )
    assert answer.headers["location"] == "/"


# -- the API docs: offline, from the package ----------------------------------------------------


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_api_docs_load_nothing_from_outside(app, path):
    client = _client(app)
    answer = client.get(path)
    assert answer.status_code == 200
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', answer.text)
    assert sources and all(s.startswith("/") for s in sources), sources
    assert "cdn." not in answer.text and "fonts.googleapis" not in answer.text
    for source in sources:
        assert client.get(source).status_code == 200, source
