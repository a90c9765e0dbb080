"""Property-based requests from the OpenAPI document (schemathesis) against a real server on
127.0.0.1, with a small list loaded and credentials that hold each operation's permission:
no answer may be a 5xx other than 503 (the service saying it cannot answer, by design), and
every 503 must be JSON.

Bounded: a fixed number of examples per operation, valid and invalid, derandomised so CI
sees the same requests every run."""

from __future__ import annotations

import re

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from helpers import key_headers, serving, user_headers
from sanctrace.api.app import create_app
from sanctrace.api.auth import endpoints
from sanctrace.cases.auth import KEY_SCOPES, ROLE_PERMISSIONS, Role
from sanctrace.services import lists
from sanctrace.services.context import Context
from sanctrace.settings import Settings

# Its invalid bodies take Hypothesis ~9 s to build (a deep schema); test_company_api and
# test_api_limits send invalid ones by hand.
SLOW_NEGATIVE = frozenset({"POST /v1/screen/company"})
EXAMPLES = 4  # per operation and mode: about 45 operations, two modes: ~350 requests


def _credentials(ctx: Context, app) -> dict[tuple[str, str], dict[str, str]]:
    """For each (METHOD, path): headers that hold every permission the route requires."""
    key = key_headers(ctx)
    sessions = {role: user_headers(ctx, role.value) for role in (Role.ADMIN, Role.APPROVER)}
    chosen: dict[tuple[str, str], dict[str, str]] = {}
    for endpoint in endpoints(app):
        if endpoint.permissions <= KEY_SCOPES:
            headers = key
        else:
            role = next(
                (r for r in sessions if endpoint.permissions <= ROLE_PERMISSIONS[r]), Role.ADMIN
            )
            headers = sessions[role]
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", endpoint.path)  # {id:path} is {id} there
        for method in endpoint.methods:
            chosen[(method.upper(), path)] = headers
    return chosen


def _probe(operation, mode, headers: dict[str, str], base: str, failures: list[str]):
    """A Hypothesis test sending ``EXAMPLES`` generated requests for ``operation``."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def probe(case) -> None:
        answer = case.call(base_url=base, headers=headers, timeout=30)
        status = answer.status_code
        kind = (answer.headers.get("content-type") or [""])[0]  # schemathesis: lists
        if status >= 500 and not (status == 503 and kind.startswith("application/json")):
            failures.append(
                f"{status} {case.method} {case.formatted_path} query={case.query!r} "
                f"body={str(case.body)[:300]!r}: {answer.text[:200]}"
            )

    return probe


def test_no_server_errors_from_generated_requests(tmp_path, fixtures):
    ctx = Context(Settings(db=f"sqlite:///{tmp_path / 'st.db'}", data_dir=tmp_path / "data"))
    lists.load(ctx, lists.LoadRequest(paths=(fixtures / "lists" / "ofac_csv",)))
    app = create_app(ctx)
    credentials = _credentials(ctx, app)
    failures: list[str] = []
    with serving(app) as base:
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        # The credentials are ours (below), not made up: a random key only tests the 401.
        schema.config.generation.update(with_security_parameters=False)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 20
        for operation in operations:
            headers = credentials.get((operation.method.upper(), operation.path), {})
            modes = [GenerationMode.POSITIVE]
            if (operation.query or operation.body) and operation.label not in SLOW_NEGATIVE:
                # Something to make invalid. (Not for a path alone: Hypothesis spends seconds
                # proving that a free-text path parameter has no invalid value.)
                modes.append(GenerationMode.NEGATIVE)
            for mode in modes:
                try:
                    _probe(operation, mode, headers, base, failures)()
                except Unsatisfiable:  # every value is valid (a free-text path parameter)
                    assert mode is GenerationMode.NEGATIVE, operation.label
    ctx.db.dispose()
    assert not failures, "\n".join(failures[:20])
