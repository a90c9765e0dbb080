"""Users, roles, API keys and sessions: 401 and 403 on every route (read from the app, so new
routers are covered), the roles' limits, hashed secrets, revocation, expiry, the CLI."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
import sqlalchemy as sa
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from helpers import key_headers, run, user_headers
from sanctrace.api.app import create_app
from sanctrace.api.auth import (
    CSRF_HEADER,
    PUBLIC,
    SESSION_COOKIE,
    check_routes,
    endpoints,
    install_auth,
    requires,
)
from sanctrace.cases import users
from sanctrace.cases.auth import KEY_SCOPES, ROLE_PERMISSIONS, Forbidden, Permission, Role
from sanctrace.cases.auth import Unauthenticated as Unauth
from sanctrace.errors import BadRequest, Conflict, NotFound
from sanctrace.services.context import Context
from sanctrace.settings import Settings
from sanctrace.store.tables import api_keys, audit_log, sessions
from sanctrace.store.tables import users as users_table


@pytest.fixture
def ctx(db_url):
    context = Context(Settings(db=db_url))
    yield context
    context.db.dispose()


def _routes(app: FastAPI, api: bool = True) -> list[tuple[str, str, frozenset[Permission]]]:
    """Every (method, concrete path, permissions) of the API (``/v1/…``; with ``api`` False,
    of the console) outside the public paths."""
    found = []
    for endpoint in endpoints(app):
        if endpoint.path in PUBLIC or endpoint.path.startswith("/v1/") != api:
            continue
        path = re.sub(r"\{[^}]+\}", "1", endpoint.path)
        for method in sorted(endpoint.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path, endpoint.permissions))
    return found


def _call(client: TestClient, method: str, path: str, headers: dict[str, str] | None = None):
    kwargs = {} if method == "GET" else {"json": {}}
    return client.request(method, path, headers=headers or {}, **kwargs)


def _principals(ctx: Context) -> dict[str, tuple[frozenset[Permission], dict[str, str]]]:
    """One session per role and one key per scope (and one with every scope), with what each
    may do."""
    found = {
        f"role:{role.value}": (ROLE_PERMISSIONS[role], user_headers(ctx, role.value))
        for role in Role
    }
    for scope in KEY_SCOPES:
        found[f"key:{scope.value}"] = (frozenset({scope}), key_headers(ctx, scope.value))
    found["key:all"] = (KEY_SCOPES, key_headers(ctx))
    return found


def test_every_route_is_401_without_credentials_and_403_outside_the_role(ctx):
    app = create_app(ctx)
    routes = _routes(app)
    assert len(routes) >= 8  # the screening, decision, event, alert and list routes at least
    revoked = key_headers(ctx)
    users.revoke_key(ctx, users.list_keys(ctx)[0].name)
    principals = _principals(ctx)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/v1/health").status_code == 200
        for method, path, needed in routes:
            where = f"{method} {path}"
            assert needed, f"{where} declares no permission"
            for headers in (
                None,
                {"Authorization": "Bearer st_00000000_" + "A" * 43},
                {"Authorization": "Bearer nonsense"},
                {"Authorization": "Basic dXNlcjpwYXNz"},
                {"Cookie": f"{SESSION_COOKIE}=not-a-session"},
                revoked,
            ):
                reply = _call(client, method, path, headers)
                assert reply.status_code == 401, (where, headers, reply.text)
                assert reply.headers["www-authenticate"] == "Bearer"
            for who, (allowed, headers) in principals.items():
                reply = _call(client, method, path, headers)
                if needed <= allowed:
                    assert reply.status_code not in (401, 403), (where, who, reply.text)
                else:
                    assert reply.status_code == 403, (where, who, reply.text)


def test_console_pages_send_the_browser_to_sign_in(ctx):
    app = create_app(ctx)
    pages = _routes(app, api=False)
    assert len(pages) >= 9  # dashboard, queue, case, graph, screen, holds, lists, audit, reports
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, path, needed in pages:
            assert needed, f"{method} {path} declares no permission"
            for headers in (None, {"Cookie": f"{SESSION_COOKIE}=not-a-session"}):
                reply = client.request(method, path, headers=headers or {}, follow_redirects=False)
                assert reply.status_code == 303, (method, path, reply.text)
                assert reply.headers["location"].startswith("/login"), (method, path)


def test_the_permission_of_each_existing_route(ctx):
    expected = {
        "/v1/screen/name": Permission.SCREEN,
        "/v1/screen/address": Permission.SCREEN,
        "/v1/screen/transaction": Permission.SCREEN,
        "/v1/screen/company": Permission.SCREEN,
        "/v1/decide/withdrawal": Permission.DECIDE,
        "/v1/decide/deposit": Permission.DECIDE,
        "/v1/events": Permission.EVENTS,
        "/v1/alerts": Permission.READ,
        "/v1/lists": Permission.READ,
    }
    found = {e.path: e.permissions for e in endpoints(create_app(ctx))}
    for path, permission in expected.items():
        assert found[path] == {permission}, path


def test_keys_reach_no_read_route_and_auditors_change_nothing(ctx):
    assert Permission.READ not in KEY_SCOPES
    auditor = ROLE_PERMISSIONS[Role.AUDITOR]
    assert auditor == {Permission.READ}
    with TestClient(create_app(ctx)) as client:
        key = key_headers(ctx)
        assert client.get("/v1/alerts", headers=key).status_code == 403
        assert client.get("/v1/lists", headers=key).status_code == 403
        reader = user_headers(ctx, "auditor")
        assert client.get("/v1/alerts", headers=reader).status_code == 200
        assert client.get("/v1/lists", headers=reader).json() == {}
        for path in ("/v1/events", "/v1/decide/withdrawal", "/v1/screen/name"):
            assert client.post(path, json={}, headers=reader).status_code == 403, path


def test_a_session_change_needs_its_csrf_token(ctx):
    with TestClient(create_app(ctx)) as client:
        analyst = user_headers(ctx, "analyst")
        cookie_only = {"Cookie": analyst["Cookie"]}
        assert client.get("/v1/alerts", headers=cookie_only).status_code == 200
        body = {"name": "Arkady Kornevsky"}
        refused = client.post("/v1/screen/name", json=body, headers=cookie_only)
        assert refused.status_code == 403 and CSRF_HEADER in refused.json()["detail"]
        wrong = {**cookie_only, CSRF_HEADER: "x" * 43}
        assert client.post("/v1/screen/name", json=body, headers=wrong).status_code == 403
        # With the token the request is through (503: no list is loaded).
        assert client.post("/v1/screen/name", json=body, headers=analyst).status_code == 503


def test_a_revoked_key_is_refused(ctx):
    created = users.create_key(ctx, "platform", ["screen"])
    assert users.authenticate_key(ctx, created.token).scopes == {Permission.SCREEN}
    headers = {"Authorization": f"Bearer {created.token}"}
    with TestClient(create_app(ctx)) as client:
        assert (
            client.post("/v1/screen/name", json={"name": "x y"}, headers=headers).status_code == 503
        )
        users.revoke_key(ctx, "platform")
        again = client.post("/v1/screen/name", json={"name": "x y"}, headers=headers)
        assert again.status_code == 401
    with pytest.raises(Unauth):
        users.authenticate_key(ctx, created.token)
    # A key one character off is refused too.
    other = users.create_key(ctx, "platform-2", ["decide"])
    with pytest.raises(Unauth):
        users.authenticate_key(ctx, other.token[:-1] + ("A" if other.token[-1] != "A" else "B"))
    assert users.revoke_key(ctx, "platform").revoked_at is not None  # twice: no change
    with pytest.raises(Conflict):
        users.create_key(ctx, "platform", ["screen"])  # revoked keys keep their names
    with pytest.raises(NotFound):
        users.revoke_key(ctx, "nobody")
    with pytest.raises(BadRequest):
        users.create_key(ctx, "reader", ["read"])  # keys never read
    with pytest.raises(BadRequest):
        users.create_key(ctx, "nothing", [])


def test_passwords_keys_and_sessions_are_stored_hashed(ctx):
    added = users.add_user(ctx, "hana", "analyst")
    chosen = users.add_user(ctx, "ken", "approver", "correct horse battery staple")
    assert added.password and chosen.password is None
    key = users.create_key(ctx, "platform", ["screen", "decide"])
    token, csrf = users.login(ctx, "hana", added.password)
    with ctx.db.connect() as conn:
        rows = {r.name: r for r in conn.execute(sa.select(users_table))}
        keys = list(conn.execute(sa.select(api_keys)))
        held = list(conn.execute(sa.select(sessions)))
        trail = list(conn.execute(sa.select(audit_log)))
    assert rows["hana"].password_hash.startswith("$argon2id$")
    assert rows["ken"].password_hash.startswith("$argon2id$")
    assert added.password not in rows["hana"].password_hash
    assert "correct horse" not in rows["ken"].password_hash
    (stored,) = keys
    assert stored.key_hash == hashlib.sha256(key.token.encode()).hexdigest()
    assert key.token not in json.dumps([list(map(str, r)) for r in keys])
    assert key.token.startswith(f"st_{stored.prefix}_")
    (session,) = held
    assert session.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert session.csrf_token == csrf
    # The audit trail names each change, never a secret.
    actions = [r.action for r in trail]
    assert {"user.add", "key.create", "user.login"} <= set(actions)
    text = json.dumps([list(map(str, r)) for r in trail])
    for secret in (added.password, "correct horse battery staple", key.token, token):
        assert secret not in text


def test_login_sessions_expiry_and_disabled_users(ctx):
    added = users.add_user(ctx, "mio", "auditor")
    assert added.password is not None
    with pytest.raises(Unauth):
        users.login(ctx, "mio", added.password + "x")
    with pytest.raises(Unauth):
        users.login(ctx, "nobody", added.password)
    token, _ = users.login(ctx, "mio", added.password)
    who = users.session_principal(ctx, token)
    assert (who.name, who.kind, who.role) == ("mio", "user", Role.AUDITOR)
    assert not who.can(Permission.WORK)
    with pytest.raises(Forbidden):
        who.require(Permission.APPROVE)

    from datetime import timedelta

    old, _ = users.login(ctx, "mio", added.password, ttl=timedelta(seconds=-1))
    with pytest.raises(Unauth):
        users.session_principal(ctx, old)
    users.logout(ctx, token)
    with pytest.raises(Unauth):
        users.session_principal(ctx, token)

    token, _ = users.login(ctx, "mio", added.password)
    assert users.acting_user(ctx, "mio").role == Role.AUDITOR
    users.set_disabled(ctx, "mio", True)
    with pytest.raises(Unauth):
        users.session_principal(ctx, token)  # disabling ends the sessions
    with pytest.raises(Unauth):
        users.login(ctx, "mio", added.password)
    with pytest.raises(Forbidden):
        users.acting_user(ctx, "mio")
    with pytest.raises(NotFound):
        users.acting_user(ctx, "nobody")
    users.set_disabled(ctx, "mio", False)
    assert users.acting_user(ctx, "mio").name == "mio"


def test_users_are_checked_when_added(ctx):
    with pytest.raises(BadRequest, match="at least 12"):
        users.add_user(ctx, "short", "analyst", "abc")
    with pytest.raises(BadRequest, match="unknown role"):
        users.add_user(ctx, "x", "root")
    with pytest.raises(BadRequest, match="bad user name"):
        users.add_user(ctx, "no spaces", "analyst")
    users.add_user(ctx, "yui", "admin")
    with pytest.raises(Conflict):
        users.add_user(ctx, "yui", "analyst")
    assert [u.to_dict()["role"] for u in users.list_users(ctx)] == ["admin"]
    assert users.has_users(ctx) and users.has_users(ctx, Role.ADMIN)
    assert not users.has_users(ctx, Role.APPROVER)


def test_an_app_with_an_unprotected_route_is_refused(ctx):
    router = APIRouter()

    @router.get("/v1/open")
    def open_route() -> dict:
        return {}

    @router.get("/v1/closed", dependencies=[requires(Permission.READ)])
    def closed_route() -> dict:
        return {}

    app = FastAPI()
    install_auth(app, ctx)
    app.include_router(router)
    with pytest.raises(RuntimeError, match="/v1/open"):
        check_routes(app)


def test_cli_acting_user_refuses_without_a_known_user(ctx, monkeypatch):
    from sanctrace.cli import _console

    monkeypatch.setattr(_console.state, "db_url", ctx.settings.db)
    monkeypatch.setattr(_console.state, "user", None)
    monkeypatch.setattr(_console.state, "_context", None)
    monkeypatch.delenv("SANCTRACE_USER", raising=False)
    with pytest.raises(BadRequest, match="--user NAME") as refused:
        _console.acting_user()
    assert refused.value.exit_code == 2
    with pytest.raises(NotFound):
        _console.acting_user("ghost")
    users.add_user(ctx, "rin", "approver")
    assert _console.acting_user("rin").role == Role.APPROVER
    monkeypatch.setattr(_console.state, "_context", None)
    monkeypatch.setenv("SANCTRACE_USER", "rin")
    assert _console.acting_user().name == "rin"
    monkeypatch.setattr(_console.state, "_context", None)


def test_serve_says_how_to_create_the_first_admin(ctx, capsys):
    from sanctrace.cli.serve import _first_admin_hint

    _first_admin_hint(ctx)
    assert "sanctrace users add NAME --role admin" in capsys.readouterr().err
    users.add_user(ctx, "first", "admin")
    _first_admin_hint(ctx)
    assert capsys.readouterr().err == ""


def test_cli_users_and_keys(db_url):
    added = run("users", "add", "aoi", "--role", "admin", db=db_url)
    assert added.returncode == 0, added.stderr
    password = added.stdout.strip()
    assert len(password) >= 12 and password not in added.stderr
    typed = run_with_stdin(
        ["users", "add", "sora", "--role", "analyst", "--password-stdin"],
        "a long passphrase\n",
        db_url,
    )
    assert typed.returncode == 0 and typed.stdout == "", typed.stderr
    listed = run("users", "list", "--json", db=db_url)
    assert {(u["name"], u["role"]) for u in json.loads(listed.stdout)} == {
        ("aoi", "admin"),
        ("sora", "analyst"),
    }
    assert run("users", "add", "x", "--role", "root", db=db_url).returncode == 2

    created = run("keys", "create", "platform", "--scope", "screen", "--scope", "decide", db=db_url)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("st_") and token not in created.stderr
    # Only an admin named as acting may manage keys; an analyst is refused.
    refused = run("--user", "sora", "keys", "create", "k2", "--scope", "screen", db=db_url)
    assert refused.returncode == 2 and "may not admin" in refused.stderr
    assert (
        run("--user", "aoi", "keys", "create", "k2", "--scope", "events", db=db_url).returncode == 0
    )
    assert run("keys", "create", "k3", "--scope", "read", db=db_url).returncode == 2

    ctx = Context(Settings(db=db_url))
    try:
        assert users.authenticate_key(ctx, token).name == "platform"
        revoked = run("keys", "revoke", "platform", db=db_url)
        assert revoked.returncode == 0, revoked.stderr
        with pytest.raises(Unauth):
            users.authenticate_key(ctx, token)
        assert users.login(ctx, "sora", "a long passphrase")[0]
        assert users.login(ctx, "aoi", password)[0]
    finally:
        ctx.db.dispose()
    keys = json.loads(run("keys", "list", "--json", db=db_url).stdout)
    assert {k["name"]: bool(k["revoked_at"]) for k in keys} == {"platform": True, "k2": False}
    assert run("keys", "revoke", "nobody", db=db_url).returncode == 2


def run_with_stdin(args: list[str], text: str, db_url: str):
    import os
    import subprocess
    import sys

    from helpers import ROOT

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("SANCTRACE_DB", None)
    cmd = [sys.executable, "-m", "sanctrace", "--db", db_url, *args]
    return subprocess.run(cmd, input=text, capture_output=True, text=True, env=env, timeout=300)


def test_demo_credentials_are_fresh_on_every_run(ctx):
    from sanctrace.demo.accounts import ANALYST, APPROVER, demo_accounts

    first = demo_accounts(ctx)
    second = demo_accounts(ctx)
    assert [c.name for c in first[:2]] == [ANALYST, APPROVER]
    assert all(a.secret != b.secret for a, b in zip(first, second, strict=True))
    assert users.login(ctx, ANALYST, second[0].secret)
    with pytest.raises(Unauth):
        users.login(ctx, ANALYST, first[0].secret)
    with pytest.raises(Unauth):
        users.authenticate_key(ctx, first[2].secret)  # the earlier run's key is revoked
    assert users.authenticate_key(ctx, second[2].secret).can(Permission.DECIDE)
    assert users.acting_user(ctx, APPROVER).can(Permission.APPROVE)
