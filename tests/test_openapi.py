"""The OpenAPI document declares a response schema for every endpoint, and the error answers
that the shared handler gives."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from sanctrace.api.app import create_app


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict:
    db = tmp_path_factory.mktemp("openapi") / "sanctrace.db"
    with TestClient(create_app(f"sqlite:///{db}")) as client:
        document = client.get("/openapi.json").json()
    assert isinstance(document, dict)
    return document


def _operations(openapi: dict) -> list[tuple[str, str, dict]]:
    return [
        (path, method, operation)
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
    ]


def _values(node: object, key: str) -> list[str]:
    if isinstance(node, dict):
        found = [node[key]] if key in node else []
        return found + [v for child in node.values() for v in _values(child, key)]
    if isinstance(node, list):
        return [v for child in node for v in _values(child, key)]
    return []


def test_the_check_sees_an_undeclared_answer() -> None:
    assert _values({"type": "object", "additionalProperties": True}, "$ref") == []
    assert _values({"type": "object", "additionalProperties": {"$ref": "#/x/A"}}, "$ref") == [
        "#/x/A"
    ]


def test_every_endpoint_declares_its_answer(openapi: dict) -> None:
    operations = _operations(openapi)
    assert len(operations) >= 6
    for path, method, operation in operations:
        ok = operation["responses"].get("200", {}).get("content", {}).get("application/json", {})
        schema = ok.get("schema", {})
        # An undeclared answer shows as {} or a bare object: every endpoint names a model
        # (directly, or as the values of a map or the items of a list).
        refs = _values(schema, "$ref")
        assert refs, f"{method.upper()} {path} declares no response model: {schema}"
        for ref in refs:
            name = ref.rsplit("/", 1)[-1]
            assert openapi["components"]["schemas"][name].get("properties"), (path, name)


def test_screening_endpoints_declare_their_errors(openapi: dict) -> None:
    for path, _method, operation in _operations(openapi):
        if path.startswith("/v1/screen/"):
            assert {"422", "503"} <= set(operation["responses"]), path
