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

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from sanctrace import filesets
from sanctrace.chain.records import Block, Transfer
from sanctrace.chain.sources.base import ChainFormat, ChainParseError
from sanctrace.chain.sources.registry import detect_format, get_format, with_chain
from sanctrace.chainstore.store import TABLES, ChainStore, LoadSummary, summary_of

__all__ = [
    "CHAIN_SUFFIXES",
    "append_blocks",
    "batch_sha256",
    "followed_blocks",
    "group_files",
    "load_chain",
    "load_set",
    "roll_back",
    "set_sha256",
]

CHAIN_SUFFIXES = frozenset(
    {
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
)

Progress = Callable[[int], None]
OnSkip = Callable[[Path, str], None]


def _error(where: Path | str, message: str) -> ChainParseError:
    return ChainParseError(where, None, message)


def group_files(
    files: list[filesets.SourceFile],
    fmt_name: str | None = None,
    chain: str | None = None,
    on_skip: OnSkip | None = None,
) -> list[tuple[ChainFormat, list[Path]]]:
    """Files grouped into loadable sets, one per format (folder files of no format skipped)."""
    if fmt_name:
        return [(get_format(fmt_name, chain), [f.path for f in files])]

    def detect(path: Path) -> ChainFormat:
        fmt = detect_format(path)
        return with_chain(fmt, chain) if chain else fmt

    def skipped(path: Path, _reason: str) -> None:
        if on_skip is not None:
            on_skip(path, "not in a known chain format")

    groups = filesets.group(
        files, detect, lambda f: f.name, on_skip=skipped, skippable=ChainParseError
    )
    if not groups:
        raise ChainParseError(files[0].path.parent, None, "no file in a known chain format")
    return groups


def set_sha256(fmt: str, chain: str | None, digests: list[str]) -> str:
    """One digest for a load: format, chain and the file digests (names do not count)."""
    return filesets.identity("chain", [fmt, chain], digests)


def load_chain(
    paths: list[Path],
    store: ChainStore,
    fmt: str | None = None,
    progress: Progress | None = None,
    chain: str | None = None,
    on_skip: OnSkip | None = None,
) -> list[LoadSummary]:
    """Load files (or folders of files) into the chain store, one load per format found."""
    files = filesets.expand(paths, CHAIN_SUFFIXES, error=_error)
    groups = group_files(files, fmt, chain, on_skip)
    return [load_set(store, fmt_obj, files, progress) for fmt_obj, files in groups]


def load_set(
    store: ChainStore,
    fmt: ChainFormat,
    files: list[Path],
    progress: Progress | None = None,
) -> LoadSummary:
    """Load one file set of one format, leaving out files loaded before; all or nothing."""
    files = sorted(files)
    digests = {path: filesets.file_sha256(path, error=_error) for path in files}
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


# ------------------------------------------------------------------ followed block batches
#
# A follower (``sanctrace.nodes``) appends each batch of consecutive blocks as one load whose
# manifest entry carries ``source: "rpc"``, ``heights: [first, last]`` and ``block_hashes``
# (one per height, in order). Rolling back removes whole entries; the follower then appends
# again from the lowest height removed.


def batch_sha256(fmt: str, chain: str, block_hashes: Sequence[str]) -> str:
    """One digest for a block batch: format, chain and its block hashes."""
    hexes = [h.removeprefix("0x").lower() for h in block_hashes]
    return filesets.identity("chain-blocks", [fmt, chain], hexes)


def append_blocks(
    store: ChainStore,
    chain: str,
    fmt: str,
    first_height: int,
    block_hashes: Sequence[str],
    records: Iterable[Block | Transfer],
    progress: Progress | None = None,
) -> LoadSummary:
    """Append consecutive blocks (heights ``first_height`` on) as one load, all or nothing;
    the same blocks again write nothing."""
    if not block_hashes:
        raise ValueError("a block batch needs at least one block")
    extra: dict[str, Any] = {
        "source": "rpc",
        "heights": [first_height, first_height + len(block_hashes) - 1],
        "block_hashes": list(block_hashes),
    }
    sha = batch_sha256(fmt, chain, block_hashes)
    return store.write(chain, records, [], sha, fmt=fmt, progress=progress, extra=extra)


def followed_blocks(store: ChainStore, chain: str) -> dict[int, tuple[str, str]]:
    """Height → (block hash, load sha256) of the blocks that followers appended."""
    found: dict[int, tuple[str, str]] = {}
    for entry in store.loads(chain):
        if entry.get("source") != "rpc":
            continue
        first = int(entry["heights"][0])
        for offset, block_hash in enumerate(entry["block_hashes"]):
            found[first + offset] = (block_hash, entry["sha256"])
    return found


def roll_back(store: ChainStore, chain: str, from_height: int) -> list[dict[str, Any]]:
    """Remove every followed load holding a block at ``from_height`` or above; the removed
    manifest entries (a batch that straddles the height goes whole: append it again)."""
    doomed = [
        e["sha256"]
        for e in store.loads(chain)
        if e.get("source") == "rpc" and int(e["heights"][1]) >= from_height
    ]
    return store.remove_loads(doomed)
