"""File sets: what list loads, chain loads, tag loads and event loads have in common.

A load names files and folders. ``expand`` turns them into files (a folder contributes the files
inside it whose suffix the loader reads; a file named directly is always taken), ``group``
sorts them into one set per format (a multi-file set such as OFAC's CSV files stays together),
and ``identity`` is the SHA-256 that says whether a set was loaded before.

One identity rule for every kind of load: the digest covers the kind of load, the format (and
any further qualifier, such as the chain), and the sorted SHA-256 of each file's bytes as
stored. File names and order do not count, so the same files renamed or listed in another
order are the same set, and a file named twice counts once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from sanctrace.errors import BadRequest, SanctraceError

__all__ = ["FileSetError", "SourceFile", "expand", "file_sha256", "group", "identity"]

F = TypeVar("F")
CHUNK = 1 << 20


class FileSetError(BadRequest):
    """A named path is missing, unreadable or holds no file to load."""


@dataclass(frozen=True)
class SourceFile:
    """A file of a load, and whether it was named directly (not found inside a folder)."""

    path: Path
    named: bool


def expand(
    paths: Sequence[Path | str],
    suffixes: Collection[str],
    error: Callable[[Path | str, str], SanctraceError] | None = None,
) -> list[SourceFile]:
    """Files named directly, plus the files inside named folders whose suffix is in
    ``suffixes`` (hidden files skipped); an empty result or a missing path is an error."""
    fail = error or (lambda where, message: FileSetError(f"{where}: {message}"))
    wanted = {s.lower() for s in suffixes}
    files: list[SourceFile] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(
                SourceFile(p, False)
                for p in sorted(path.iterdir())
                if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in wanted
            )
        elif path.exists():
            files.append(SourceFile(path, True))
        else:
            raise fail(path, "no such file or folder")
    if not files:
        raise fail(paths[0] if paths else "PATH", "no files to load found")
    return files


@dataclass
class _Group(Generic[F]):
    format: F
    files: list[Path]


def group(
    files: Iterable[SourceFile],
    detect: Callable[[Path], F],
    name_of: Callable[[F], str],
    on_skip: Callable[[Path, str], None] | None = None,
    skippable: type[Exception] | tuple[type[Exception], ...] = (),
) -> list[tuple[F, list[Path]]]:
    """Files grouped by the format ``detect`` finds, in order of first appearance.

    A file found inside a folder whose format is unknown (``detect`` raises ``skippable``) is
    skipped and reported to ``on_skip``; a file named directly always raises."""
    groups: dict[str, _Group[F]] = {}
    for f in files:
        try:
            fmt = detect(f.path)
        except skippable:
            if f.named or not skippable:
                raise
            if on_skip is not None:
                on_skip(f.path, "not in a known format")
            continue
        groups.setdefault(name_of(fmt), _Group(fmt, [])).files.append(f.path)
    return [(g.format, g.files) for g in groups.values()]


def file_sha256(
    path: Path, error: Callable[[Path | str, str], SanctraceError] | None = None
) -> str:
    """SHA-256 of a file's bytes as stored (compressed or not)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(CHUNK), b""):
                digest.update(chunk)
    except OSError as exc:
        fail = error or (lambda where, message: FileSetError(f"{where}: {message}"))
        raise fail(path, f"cannot read: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def identity(kind: str, qualifiers: Sequence[str | None], digests: Iterable[str]) -> str:
    """The identity of a file set: its kind, format and qualifiers, and its files' digests."""
    # "sanctrace-<kind>\0<q1>\0<q2>\0…": the chain store's and tag sets' ids stay as they were.
    head = f"sanctrace-{kind}\0" + "".join(f"{q or ''}\0" for q in qualifiers)
    digest = hashlib.sha256(head.encode())
    for value in sorted(set(digests)):
        digest.update(bytes.fromhex(value))
    return digest.hexdigest()
