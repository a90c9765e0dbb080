"""Fixtures of the console's browser tests (``tests/test_browser.py``): a small demo database
with known users, a real server on 127.0.0.1, and Debian's chromium driven by Playwright.

Nothing here reaches the internet: the browser launches ``/usr/bin/chromium`` (Playwright's own
browser download is never used) and every request outside the test server is aborted and
recorded, so a page that needs a CDN fails its test. Screenshots go to ``test-artifacts/
screenshots/`` (git-ignored). Without chromium or the ``playwright`` package the tests skip.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from helpers import ROOT, serving

CHROMIUM = Path(os.environ.get("SANCTRACE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PASSWORD = "browser-test-password-1"
# Known users beside the demo's own (whose passwords are made fresh on every run).
ANALYST = "alice"  # works cases, asks for releases
APPROVER = "bob"  # approves (the second pair of eyes)
APPROVER2 = "carol"  # a second approver: four-eyes holds for approvers too
CUSTOMERS = 300
TIMEOUT_MS = 15_000


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does it)"
    return None


@dataclass
class World:
    """The demo database the console serves, and what the tests need to know about it."""

    ctx: Any
    folder: Path
    report: Path
    worked_case: int | None  # the case the demo closed and approved (its reports exist)
    addresses: list[str] = field(default_factory=list)  # on-chain addresses with neighbours


@pytest.fixture(scope="module")
def console_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The demo at a small size, plus three known users."""
    from sanctrace.cases import users
    from sanctrace.cases.auth import Role
    from sanctrace.demo.run import run_demo
    from sanctrace.services.context import Context
    from sanctrace.settings import Settings

    base = tmp_path_factory.mktemp("console")
    ctx = Context(Settings(db=f"sqlite:///{base / 'sanctrace.db'}", data_dir=base / "data"))
    run_demo(ctx, base / "demo-world", base / "demo-report", customers=CUSTOMERS, seed=2022)
    for name, role in ((ANALYST, Role.ANALYST), (APPROVER, Role.APPROVER)):
        users.add_user(ctx, name, role, password=PASSWORD)
    users.add_user(ctx, APPROVER2, Role.APPROVER, password=PASSWORD)
    worked = None
    for path in sorted((base / "demo-report").glob("goaml-case-*.xml")):
        found = re.search(r"goaml-case-(\d+)\.xml", path.name)
        worked = int(found.group(1)) if found else None
    world = World(ctx, base / "demo-world", base / "demo-report", worked, _addresses(ctx))
    yield world
    ctx.db.dispose()


def _addresses(ctx: Any) -> list[str]:
    """Bitcoin customer wallets that are listed addresses (in the demo's chain)."""
    from sanctrace.store import customers as customer_repo

    try:
        with ctx.db.connect() as conn:
            return [h.address for h in customer_repo.listed_wallets(conn) if h.chain == "btc"]
    except Exception:  # noqa: BLE001 - only a hint for the graph test
        return []


@pytest.fixture(scope="module")
def console_url(console_world: World) -> Iterator[str]:
    """The console and API served by uvicorn on a free port of 127.0.0.1."""
    from sanctrace.api.app import create_app
    from sanctrace.demo.monitoring import monitoring_context

    # The demo keeps its chain in the world folder: the graph reads it there.
    with serving(create_app(monitoring_context(console_world.ctx, console_world.folder))) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    why = browser_missing()
    if why:
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


class Session:
    """One browser context (its own cookies) on the console, with the requests it tried to
    send elsewhere and the script errors of its pages."""

    def __init__(self, browser: Any, base: str, locale: str = "en-US") -> None:
        self.base = base
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context = browser.new_context(
            accept_downloads=True,
            locale=locale,
            viewport={"width": 1280, "height": 900},
            extra_http_headers={"Accept-Language": locale},
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(self.base) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def go(self, path: str) -> Any:
        return self.page.goto(self.base + path)

    def sign_in(self, name: str, password: str = PASSWORD) -> None:
        page = self.page
        self.go("/login")
        page.get_by_label("User name").fill(name)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()

    def csrf(self) -> str:
        """The session's CSRF token, from the page's forms."""
        value = self.page.locator("input[name=csrf_token]").first.get_attribute("value")
        assert value, "no CSRF token on the page"
        return value

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def session_factory(browser: Any, console_url: str) -> Iterator[Any]:
    """Make ``Session``s (one per user); each is closed, and checked to have stayed offline."""
    made: list[Session] = []

    def make(locale: str = "en-US") -> Session:
        made.append(Session(browser, console_url, locale))
        return made[-1]

    yield make
    for session in made:
        session.close()
    outside = [u for s in made for u in s.outside]
    assert not outside, f"pages tried to reach outside the server: {outside[:5]}"


def clean_screenshots() -> None:
    """Empty the screenshots folder (called once per run of the browser tests)."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
