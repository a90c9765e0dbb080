"""The layout rules of docs/DESIGN.md as a test: imports point down the layer table, never up.

``LAYERS`` is the table as data: each top-level module or package of ``sanctrace`` and the
sanctrace modules it may import besides its own. Every import is checked (module level, inside
functions, under ``if TYPE_CHECKING:``), so a new package must be placed in the table before
it can import anything. A second rule: only ``settings.py`` reads the environment
(``ENVIRONMENT``); the Spark session's launcher variables are the one listed exception.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

CORE = frozenset(
    {"__init__", "model", "errors", "countries", "customer_dates", "fileio", "filesets"}
)
ENGINES = frozenset({"names", "chain", "network"})
STORAGE = frozenset({"store", "chainstore", "nodes"})
BELOW_SERVICES = CORE | ENGINES | STORAGE | {"lists", "settings"}
WORKFLOW = BELOW_SERVICES | {"services", "monitor", "cases"}
# The interfaces go through the services: no engine, list reader or storage module directly.
INTERFACE = CORE | {"settings", "services", "monitor", "cases"}

# Layer → what it may import. An entry is a layer name or a dotted module below it
# ("chain.addresses": that module and its submodules only).
LAYERS: dict[str, frozenset[str]] = {
    # core: the records, errors and small helpers everything shares
    "__init__": frozenset({"model", "errors"}),
    "model": frozenset({"errors"}),
    "errors": frozenset(),
    "countries": frozenset(),
    "customer_dates": frozenset({"errors"}),
    "fileio": frozenset({"errors"}),
    "filesets": frozenset({"errors", "fileio"}),
    "settings": frozenset(),  # stdlib and pydantic only: the one reader of the environment
    # engines: pure, data in and results out
    "names": CORE,
    "chain": CORE,
    "network": CORE,
    # storage
    "store": CORE,
    "chainstore": CORE | {"chain"},
    # the exchange's nodes (JSON-RPC I/O): followers and on-demand fetches into the chain store
    "nodes": CORE | {"chain", "chainstore"},
    # list readers and snapshots; addresses on lists are validated by the chain engine
    "lists": CORE | {"store", "chain.addresses"},
    # use cases and workflow
    "services": BELOW_SERVICES,
    "monitor": BELOW_SERVICES | {"services"},
    "cases": BELOW_SERVICES | {"services", "monitor"},
    # interfaces: api and web are one HTTP application; the CLI starts it (serve) and the demo
    "api": INTERFACE | {"web"},
    "web": INTERFACE | {"api"},
    "cli": INTERFACE | {"api", "web", "demo"},
    "spark": CORE | ENGINES,
    "demo": WORKFLOW | {"api", "web", "cli", "spark"},
    "__main__": frozenset({"cli"}),
}

# Modules that may read os.environ / os.getenv, and which variables.
ENVIRONMENT: dict[str, frozenset[str] | None] = {
    "sanctrace.settings": None,  # any
    "sanctrace.spark.session": frozenset({"MASTER", "PYSPARK_GATEWAY_PORT", "SPARK_LOCAL_IP"}),
}


def _modules(root: Path, package: str) -> Iterator[tuple[str, Path]]:
    """(dotted name, path) of every module of ``package`` under ``root`` (the src folder)."""
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _imports(
    tree: ast.AST, module: str, is_package: bool, known: set[str]
) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import in ``tree``, relative ones resolved."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.module == "__future__":
                continue
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                if not is_package:
                    anchor = anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield node.lineno, sub if sub in known else base


def _layer(module: str, package: str) -> str | None:
    parts = module.split(".")
    if parts[0] != package:
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def _allowed(target: str, rules: frozenset[str], package: str) -> bool:
    rest = target.split(".", 1)[1] if "." in target else "__init__"
    return any(rest == rule or rest.startswith(rule + ".") for rule in rules)


def check_layers(
    root: Path, package: str = "sanctrace", layers: Mapping[str, frozenset[str]] = LAYERS
) -> list[str]:
    """Every import that breaks ``layers``, as ``module:line imports target (layer → layer)``."""
    found = dict(_modules(root, package))
    known = set(found)
    problems = []
    for module, path in found.items():
        source = _layer(module, package)
        assert source is not None
        if source not in layers:
            problems.append(f"{module}: layer {source!r} is not in the layer table")
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        for line, target in _imports(tree, module, is_package, known):
            dest = _layer(target, package)
            if dest is None or dest == source:
                continue
            problem = f"{module}:{line} imports {target} ({source} → {dest})"
            if not _allowed(target, layers[source], package) and problem not in problems:
                problems.append(problem)
    return problems


def _environment_key(node: ast.AST, parents: Mapping[ast.AST, ast.AST]) -> str | None:
    """The variable name an ``environ``/``getenv`` use reads, when it is a literal."""
    parent = parents.get(node)
    arg: ast.AST | None = None
    if isinstance(parent, ast.Subscript):
        arg = parent.slice
    elif isinstance(parent, ast.Call) and parent.func is node:  # getenv("X")
        arg = parent.args[0] if parent.args else None
    elif isinstance(parent, ast.Attribute):  # environ.get("X"), environ.setdefault("X", ...)
        call = parents.get(parent)
        if isinstance(call, ast.Call) and call.args:
            arg = call.args[0]
    elif isinstance(parent, ast.Compare) and parent.comparators and parent.comparators[0] is node:
        arg = parent.left  # "X" in environ
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    return None


def check_environment(
    root: Path,
    package: str = "sanctrace",
    allowed: Mapping[str, frozenset[str] | None] = ENVIRONMENT,
) -> list[str]:
    """Every read of the environment outside the modules (and variables) ``allowed`` names."""
    problems = []
    for module, path in _modules(root, package):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv", "environb"}:
                pass
            elif isinstance(node, ast.Name) and node.id in {"environ", "getenv"}:
                pass
            elif isinstance(node, ast.alias) and node.name in {"environ", "getenv"}:
                problems.append(f"{module}: imports os.{node.name}")
                continue
            else:
                continue
            if module in allowed and allowed[module] is None:
                continue
            key = _environment_key(node, parents)
            names = allowed.get(module) or frozenset()
            if key is None or key not in names:
                what = repr(key) if key else "the environment"
                problems.append(f"{module}:{node.lineno} reads {what} (only settings.py may)")
    return problems


# ── the real tree ───────────────────────────────────────────────────────────


def test_every_import_points_down_the_layer_table() -> None:
    problems = check_layers(SRC)
    assert not problems, "imports against docs/DESIGN.md's layer table:\n" + "\n".join(problems)


def test_only_settings_reads_the_environment() -> None:
    problems = check_environment(SRC)
    assert not problems, "\n".join(problems)


def test_every_layer_in_the_table_exists_or_is_reserved() -> None:
    present = {_layer(module, "sanctrace") for module, _ in _modules(SRC, "sanctrace")}
    reserved = {"cases", "web"}  # named in DESIGN.md, not written yet
    assert set(LAYERS) - present <= reserved


# ── the test of the test ────────────────────────────────────────────────────


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "sanctrace" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for folder in [tmp_path / "sanctrace", *(tmp_path / "sanctrace").rglob("*")]:
        if folder.is_dir() and not (folder / "__init__.py").exists():
            (folder / "__init__.py").write_text("", encoding="utf-8")
    return tmp_path


CLEAN = {
    "model.py": "from sanctrace.errors import BadRequest\n",
    "errors.py": "class BadRequest(Exception): ...\n",
    "chain/graph.py": "from __future__ import annotations\nfrom sanctrace import model\n"
    "from . import addresses\n",
    "chain/addresses.py": "from ..model import *\n",
    "lists/ofac.py": "def f():\n    from sanctrace.chain.addresses import parse\n",
    "services/names.py": "from sanctrace.store import db\nfrom sanctrace.names import index\n",
    "store/db.py": "import sqlalchemy\n",
    "names/index.py": "import numpy\n",
    "cli/screen.py": "from sanctrace.services import names\n",
    "settings.py": "import os\nX = os.environ.get('SANCTRACE_DB')\n",
    "spark/session.py": "import os\nM = os.environ.get('MASTER')\n",
}


def test_a_clean_tree_passes(tmp_path: Path) -> None:
    root = _tree(tmp_path, CLEAN)
    assert check_layers(root) == []
    assert check_environment(root) == []


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("chain/bad.py", "from sanctrace.store import db\n", "sanctrace.chain.bad:1 imports"),
        ("chain/bad.py", "def f():\n    import sanctrace.settings\n", "(chain → settings)"),
        ("names/bad.py", "from ..services import names\n", "(names → services)"),
        (
            "network/bad.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from sanctrace.lists import x\n",
            "(network → lists)",
        ),
        ("lists/bad.py", "from sanctrace.chain import graph\n", "imports sanctrace.chain.graph"),
        ("cli/bad.py", "from sanctrace.store.db import open_database\n", "(cli → store)"),
        ("api/bad.py", "import sanctrace.chainstore.store\n", "(api → chainstore)"),
        ("store/bad.py", "from sanctrace import services\n", "(store → services)"),
        ("model.py", "from sanctrace.chain import addresses\n", "(model → chain)"),
        ("widgets/x.py", "", "layer 'widgets' is not in the layer table"),
    ],
)
def test_a_broken_rule_is_reported(tmp_path: Path, name: str, text: str, expected: str) -> None:
    root = _tree(tmp_path, {**CLEAN, name: text})
    problems = check_layers(root)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("chainstore/store.py", "import os\nD = os.environ.get('SANCTRACE_DATA_DIR', '.')\n"),
        ("services/x.py", "import os\nD = os.getenv('SANCTRACE_DB')\n"),
        ("cli/x.py", "from os import environ\n"),
        ("demo/x.py", "import os\nD = os.environ['SANCTRACE_SOURCES']\n"),
        ("spark/session.py", "import os\nD = os.environ.get('SANCTRACE_DB')\n"),
        ("spark/session.py", "import os\nD = dict(os.environ)\n"),
    ],
)
def test_reading_the_environment_outside_settings_is_reported(
    tmp_path: Path, name: str, text: str
) -> None:
    root = _tree(tmp_path, {**CLEAN, name: text})
    assert check_environment(root)
