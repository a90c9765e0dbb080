"""Loading chain files into the chain store: expand, detect, group, skip what is loaded, write.

Files named on the command line must be in a known format; files found in a named folder (not
recursively; hidden files and unknown suffixes ignored) that no format recognises are skipped
and reported, so an export folder with extra tables (ethereum-etl ``blocks``, ``logs``) loads.
Files are grouped by format; each group is one load, identified by the SHA-256 of its format,
chain and the contents of its files. A file whose contents were already loaded with the same
format and chain is left out, so loading the same files twice writes nothing and a folder that
grew loads only its new files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from sanctrace.chain.sources.base import ChainFormat, ChainParseError
from sanctrace.chain.sources.registry import detect_format, get_format, with_chain
from sanctrace.chainstore.store import TABLES, ChainStore, LoadSummary, summary_of

CHAIN_SUFFIXES = {
    ".blk",
    ".dat",
    ".bin",
    ".raw",
    ".hex",
    ".json",
    ".jsonl",
    ".ndjson",
    ".csv",
    ".tsv",
    ".parquet",
    ".pq",
    ".txt",
    ".gz",
    ".bz2",
}

Progress = Callable[[int], None]
OnSkip = Callable[[Path, str], None]


def expand_paths(paths: list[Path]) -> list[tuple[Path, bool]]:
    """``(file, named)`` for the files named directly and the chain files inside folders."""
    files: list[tuple[Path, bool]] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(
                (p, False)
                for p in sorted(path.iterdir())
                if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in CHAIN_SUFFIXES
            )
        elif path.exists():
            files.append((path, True))
        else:
            raise ChainParseError(path, None, "no such file or folder")
    if not files:
        raise ChainParseError(paths[0] if paths else "PATH", None, "no chain files found")
    return files


def group_files(
    files: list[tuple[Path, bool]],
    fmt_name: str | None = None,
    chain: str | None = None,
    on_skip: OnSkip | None = None,
) -> list[tuple[ChainFormat, list[Path]]]:
    """Files grouped into loadable sets, one per format (folder files of no format skipped)."""
    if fmt_name:
        return [(get_format(fmt_name, chain), [p for p, _named in files])]
    groups: dict[str, tuple[ChainFormat, list[Path]]] = {}
    for path, named in files:
        try:
            fmt = detect_format(path)
        except ChainParseError:
            if named:
                raise
            if on_skip:
                on_skip(path, "not in a known chain format")
            continue
        if chain:
            fmt = with_chain(fmt, chain)
        groups.setdefault(fmt.name, (fmt, []))[1].append(path)
    if not groups:
        raise ChainParseError(files[0][0].parent, None, "no file in a known chain format")
    return list(groups.values())


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (as stored, compressed or not)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise ChainParseError(path, None, f"cannot read: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def set_sha256(fmt: str, chain: str | None, digests: list[str]) -> str:
    """One digest for a load: format, chain and the sorted file digests (names do not count)."""
    digest = hashlib.sha256(f"sanctrace-chain\0{fmt}\0{chain or ''}\0".encode())
    for value in sorted(digests):
        digest.update(bytes.fromhex(value))
    return digest.hexdigest()


def load_chain(
    paths: list[Path],
    store: ChainStore,
    fmt: str | None = None,
    progress: Progress | None = None,
    chain: str | None = None,
    on_skip: OnSkip | None = None,
) -> list[LoadSummary]:
    """Load files (or folders of files) into the chain store, one load per format found."""
    groups = group_files(expand_paths(paths), fmt, chain, on_skip)
    return [load_set(store, fmt_obj, files, progress) for fmt_obj, files in groups]


def load_set(
    store: ChainStore,
    fmt: ChainFormat,
    files: list[Path],
    progress: Progress | None = None,
) -> LoadSummary:
    """Load one file set of one format, leaving out files loaded before; all or nothing."""
    files = sorted(files)
    digests = {path: file_sha256(path) for path in files}
    done = store.loaded_files(fmt.name, fmt.chain)
    new: list[Path] = []
    skipped: list[Path] = []
    for path in files:
        if digests[path] in done:
            skipped.append(path)
        else:
            done.add(digests[path])  # the same contents twice in one set load once
            new.append(path)
    sha = set_sha256(fmt.name, fmt.chain, [digests[p] for p in (new or files)])
    if not new:
        previous = store.find_load(sha)
        if previous is not None:
            summary = summary_of(previous, created=False)
        else:
            summary = LoadSummary(
                chain=fmt.chain or "",
                format=fmt.name,
                sha256=sha,
                files=[p.name for p in files],
                created=False,
                counts=dict.fromkeys(TABLES, 0),
            )
    else:
        summary = store.write(
            fmt.chain,
            fmt.read(new),
            new,
            sha,
            fmt=fmt.name,
            file_sha256={p: digests[p] for p in new},
            progress=progress,
        )
    summary.skipped_files = [p.name for p in skipped]
    return summary
