"""The one interface every list format implements, and what parsers share."""

from __future__ import annotations

import bz2
import gzip
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol, cast

from sanctrace.errors import SanctraceError
from sanctrace.model import Entity

log = logging.getLogger(__name__)

# Refuse list files larger than this (uncompressed bytes read): a guard against bombs.
MAX_LIST_BYTES = 2 * 1024**3


class ParseError(SanctraceError):
    """A list file is malformed. The message names the file and line or element."""

    def __init__(self, path: Path | str, where: str | int | None, message: str) -> None:
        self.path = str(path)
        self.where = where
        self.reason = message
        loc = f"{self.path}:{where}" if where not in (None, "") else self.path
        super().__init__(f"{loc}: {message}")


@dataclass
class ParseReport:
    """What a parser learned besides the entities: version, warnings."""

    version: str | None = None  # publication date or version printed in the file
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        # Warnings may quote names: keep them out of INFO logs.
        self.warnings.append(message)
        log.debug("list warning: %s", message)


class ListFormat(Protocol):
    """A list format: recognises its files and streams entities out of them."""

    name: str  # e.g. "ofac_csv"
    default_source: str  # OpenSanctions dataset name, e.g. "us_ofac_sdn"
    description: str

    def sniff(self, path: Path, head: bytes) -> bool:
        """True when ``path`` (first bytes ``head``, decompressed) is in this format."""
        ...

    def parse(self, paths: list[Path], source: str, report: ParseReport) -> Iterator[Entity]:
        """Stream the entities of a file set; raise ParseError on malformed input."""
        ...


def open_binary(path: Path) -> IO[bytes]:
    """Open a list file for reading, decompressing ``.gz`` and ``.bz2`` transparently."""
    try:
        if path.suffix == ".gz":
            return cast(IO[bytes], gzip.open(path, "rb"))  # typeshed: GzipFile is no IO
        if path.suffix == ".bz2":
            return bz2.open(path, "rb")
        return open(path, "rb")
    except OSError as exc:
        raise ParseError(path, None, f"cannot open: {exc.strerror or exc}") from exc


def open_text(path: Path, encoding: str = "utf-8-sig") -> IO[str]:
    """Open a text list file (decompressing as needed); undecodable bytes are an error."""
    return io.TextIOWrapper(open_binary(path), encoding=encoding, errors="strict", newline="")


def read_head(path: Path, size: int = 4096) -> bytes:
    """The first ``size`` decompressed bytes of a file (for format sniffing)."""
    try:
        with open_binary(path) as fh:
            return fh.read(size)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise ParseError(path, None, f"cannot read: {exc}") from exc


def stem(path: Path) -> str:
    """File name without compression suffix and extension, lower-cased: ``sdn.csv.gz`` → ``sdn``."""
    name = path.name.lower()
    for suffix in (".gz", ".bz2"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name.rsplit(".", 1)[0]
