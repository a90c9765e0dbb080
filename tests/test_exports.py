"""Every package says what it exports, and says it truthfully (the httpx pattern).

A package's ``__all__`` lists its public API: every name in it exists, and every public
name the package's ``__init__`` defines or re-exports from inside the package is in it.
Helpers it imports from elsewhere (``Path``, ``typer``) are not exports and need not be listed.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from types import ModuleType

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# Alembic's script folders are packages only so setuptools ships them; they export nothing.
NOT_AN_API = ("sanctrace.store.migrations",)


def _packages() -> list[str]:
    names = []
    for init in sorted((SRC / "sanctrace").rglob("__init__.py")):
        name = ".".join(init.parent.relative_to(SRC).parts)
        if not name.startswith(NOT_AN_API):
            names.append(name)
    return names


def _defined(module: ModuleType) -> set[str]:
    """Public names the module's own source binds: definitions, assignments, and imports
    from inside its own package (re-exports). Imports from elsewhere are helpers."""
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    package = module.__name__
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            inside = node.level > 0 or source == package or source.startswith(package + ".")
            if inside:
                names.update(alias.asname or alias.name for alias in node.names)
    return {name for name in names if not name.startswith("_")} - {"__all__"}


def export_problems(module: ModuleType) -> list[str]:
    """What is wrong with ``module.__all__``: missing, duplicated, naming what is not there,
    or leaving out a public name the module defines."""
    exported = getattr(module, "__all__", None)
    if exported is None:
        return [f"{module.__name__} has no __all__"]
    problems = []
    if len(set(exported)) != len(exported):
        problems.append(f"{module.__name__}.__all__ repeats a name")
    for name in exported:
        if not hasattr(module, name):
            problems.append(f"{module.__name__}.__all__ names {name!r}, which is not there")
    for name in sorted(_defined(module) - set(exported)):
        if not isinstance(getattr(module, name, None), ModuleType):
            problems.append(f"{module.__name__}.{name} is public but not in __all__")
    return problems


@pytest.mark.parametrize("package", _packages())
def test_all_is_what_the_package_exports(package: str) -> None:
    assert export_problems(importlib.import_module(package)) == []


def test_the_root_package_exports_the_version() -> None:
    import sanctrace

    assert "__version__" in sanctrace.__all__


# ── the test of the test ────────────────────────────────────────────────────


def _fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, init: str, name: str) -> ModuleType:
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text(init, encoding="utf-8")
    (package / "core.py").write_text("def helper():\n    return 1\n\nVALUE = 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return importlib.import_module(name)


def test_a_truthful_all_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    init = (
        "from pathlib import Path\n"
        "from fake_ok.core import helper\n"
        "from . import core\n"
        "def run(): ...\n"
        "_private = 1\n"
        "__all__ = ['helper', 'run']\n"
    )
    assert export_problems(_fake(tmp_path, monkeypatch, init, "fake_ok")) == []


def test_an_all_that_lies_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    init = (
        "from .core import VALUE, helper\n"
        "class Engine: ...\n"
        "__all__ = ['helper', 'helper', 'gone']\n"
    )
    problems = export_problems(_fake(tmp_path, monkeypatch, init, "fake_liar"))
    assert problems == [
        "fake_liar.__all__ repeats a name",
        "fake_liar.__all__ names 'gone', which is not there",
        "fake_liar.Engine is public but not in __all__",
        "fake_liar.VALUE is public but not in __all__",
    ]


def test_a_package_without_all_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = _fake(tmp_path, monkeypatch, "X = 1\n", "fake_bare")
    assert export_problems(module) == ["fake_bare has no __all__"]
