"""The one interface every chain format implements, and what chain readers share.

Each format module (``btc_raw``, ``eth_etl`` …) defines ``FORMAT``, an object satisfying
``ChainFormat``.
"""

from __future__ import annotations

import bz2
import gzip
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, TypeAlias

from sanctrace.chain.records import Block, Transfer
from sanctrace.errors import SanctraceError


class ChainParseError(SanctraceError):
    """A chain file is malformed. The message names the file and the byte offset or line.

    ``where`` is an int (a byte offset, shown as ``offset N``) or a string used as is
    (``"line 12"``, ``"row 3"``); ``None`` names only the file.
    """

    def __init__(self, path: Path | str, where: str | int | None, message: str) -> None:
        self.path = str(path)
        self.where = where
        self.reason = message
        if isinstance(where, int):
            loc = f"{self.path}:offset {where}"
        elif where:
            loc = f"{self.path}:{where}"
        else:
            loc = self.path
        super().__init__(f"{loc}: {message}")


class ChainFormat(Protocol):
    """A chain data format: recognises its files and streams blocks or transfers out of them."""

    name: str  # e.g. "btc_raw"
    chain: str | None  # "btc", "eth" …; None when the file says
    description: str

    def sniff(self, path: Path, head: bytes) -> bool:
        """True when ``path`` (first bytes ``head``, decompressed) is in this format."""
        ...

    def read(self, paths: list[Path]) -> Iterator[Block | Transfer]:
        """Stream the records of a file set; raise ChainParseError on malformed input."""
        ...


# What ``open_chain_file`` gives: a binary reader, decompressing or not.
ChainFile: TypeAlias = gzip.GzipFile | bz2.BZ2File | io.BufferedReader


def open_chain_file(path: Path) -> ChainFile:
    """Open a chain file for binary reading, decompressing ``.gz`` and ``.bz2`` transparently."""
    path = Path(path)
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rb")
        if path.suffix == ".bz2":
            return bz2.open(path, "rb")
        return open(path, "rb")
    except OSError as exc:
        raise ChainParseError(path, None, f"cannot open: {exc.strerror or exc}") from exc


def read_head(path: Path, size: int = 4096) -> bytes:
    """The first ``size`` decompressed bytes of a chain file (for format sniffing)."""
    try:
        with open_chain_file(path) as fh:
            return fh.read(size)
    except (OSError, EOFError, ValueError) as exc:
        raise ChainParseError(path, None, f"cannot read: {exc}") from exc
