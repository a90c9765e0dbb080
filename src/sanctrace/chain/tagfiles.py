"""Tag file sets: GraphSense TagPack folders or files, or users' tag CSV files, read as one set.

A folder with ``packs/`` (or ``*.yaml``) is TagPacks, with its ``schema/confidence.csv`` and
``actors/*.yaml``; a pack file inside ``packs/`` uses those of its parent folder. Unlike
``read_tagpack_folder``, a file that cannot be read at all raises ``TagError`` (file and field):
a load is all or nothing. The set's identity is ``filesets.identity`` over its kind and the
contents of every file read (names do not count).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sanctrace.chain.tagpacks import read_actors, read_confidence_levels, read_tagpack
from sanctrace.chain.tags import DEFAULT_CONFIDENCE, TagError, TagReadResult, read_tag_csv
from sanctrace.filesets import file_sha256, identity

__all__ = ["TAG_KINDS", "TagFileSet", "read_tag_files"]

TAG_KINDS = ("tagpack", "csv")

# ------------------------------------------------------------------------- tag file sets


@dataclass
class TagFileSet:
    """The tags of a file set, and what identifies it."""

    kind: str
    files: list[Path]
    sha256: str
    result: TagReadResult


def _kind_of(path: Path) -> str:
    if path.is_dir():
        if (path / "packs").is_dir() or any(path.rglob("*.yaml")):
            return "tagpack"
        if any(path.glob("*.csv")):
            return "csv"
        raise TagError(f"{path}: no TagPack (*.yaml) or tag CSV (*.csv) files")
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "tagpack"
    if suffix == ".csv":
        return "csv"
    raise TagError(f"{path}: cannot tell the format from the name; give --format tagpack|csv")


def _pack_root(path: Path) -> Path | None:
    """The folder holding ``schema/`` and ``actors/`` for a pack file in ``packs/``."""
    for parent in path.parents:
        if parent.name == "packs":
            return parent.parent
    return None


def _read_tagpacks(root: Path | None, packs: list[Path], seen: list[Path]) -> TagReadResult:
    levels = dict(DEFAULT_CONFIDENCE)
    actors = {}
    result = TagReadResult()
    if root is not None:
        if (root / "schema" / "confidence.csv").is_file():
            levels = read_confidence_levels(root / "schema" / "confidence.csv")
            seen.append(root / "schema" / "confidence.csv")
        actor_dir = root / "actors"
        for path in sorted(actor_dir.glob("*.yaml")) if actor_dir.is_dir() else []:
            actors.update(read_actors(path, result.problems))
            seen.append(path)
    for path in packs:
        result.extend(read_tagpack(path, levels, actors or None))
        seen.append(path)
    return result


def read_tag_files(paths: Iterable[Path | str], fmt: str | None = None) -> TagFileSet:
    """Read TagPack folders/files or tag CSV files as one set (see the module docstring)."""
    given = [Path(p) for p in paths]
    if fmt is not None and fmt not in TAG_KINDS:
        raise TagError(f"--format {fmt!r}: one of {', '.join(TAG_KINDS)}")
    if not given:
        raise TagError("PATH: no tag files given")
    for path in given:
        if not path.exists():
            raise TagError(f"{path}: no such file or folder")
    kinds = {fmt or _kind_of(p) for p in given}
    if len(kinds) > 1:
        raise TagError(f"{given[0]}: TagPacks and CSV files mixed; load them as separate sets")
    kind = kinds.pop()
    result = TagReadResult()
    seen: list[Path] = []
    for path in given:
        if kind == "csv":
            files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
            for file in files:
                result.extend(read_tag_csv(file))
                seen.append(file)
        elif path.is_dir():
            packs = path / "packs" if (path / "packs").is_dir() else path
            root = path.parent if path.name == "packs" and packs == path else path
            files = [
                p
                for p in sorted(packs.rglob("*.yaml"))
                if packs != path or p.parent.name not in ("actors", "schema")
            ]
            result.extend(_read_tagpacks(root, files, seen))
        else:
            result.extend(_read_tagpacks(_pack_root(path), [path], seen))
    unique = list(dict.fromkeys(p.resolve() for p in seen))
    return TagFileSet(kind, unique, _set_sha256(kind, unique), result)


def _set_sha256(kind: str, files: list[Path]) -> str:
    digests = [
        file_sha256(path, lambda where, message: TagError(f"{where}: {message}")) for path in files
    ]
    return identity("tags", [kind], digests)
