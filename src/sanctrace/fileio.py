"""Atomic file output (a reader never sees a half-written file), and text files in the
encodings users' tools write (UTF-8, Shift-JIS from Excel)."""

from __future__ import annotations

import gzip
import os
import re
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# Excel saves "CSV" in the code page of the user's Windows: on a Japanese system, Shift-JIS
# (Microsoft's cp932). UTF-8 is tried first: cp932 text almost never decodes as UTF-8.
_SNIFF_BYTES = 1 << 16
# Kana, kanji, Japanese punctuation and full-width forms: what Shift-JIS text is made of.
_JAPANESE = re.compile("[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff01-\uffef]")


def detect_encoding(data: bytes) -> str:
    """The encoding of text bytes: ``utf-8-sig`` (UTF-8, BOM or not) or ``cp932`` (Shift-JIS
    as Excel writes it). ``data`` may be the head of a file, cut anywhere.

    Raises ``UnicodeDecodeError`` (the UTF-8 one, which names the offending byte) when the
    bytes are neither.
    """
    try:
        data.decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.start >= len(data) - 3:
            return "utf-8-sig"  # a character cut by the end of the head
        utf8_error = exc
    try:
        text = data.decode("cp932")
    except UnicodeDecodeError as exc:
        # The head may end inside a two-byte character: cp932 has no longer ones.
        if exc.start < len(data) - 1:
            raise utf8_error from None
        text = data[: exc.start].decode("cp932")
    # Nearly any bytes decode as cp932: a Latin-1 "Société" would become kanji. Shift-JIS
    # text is taken only when what it decodes to reads as Japanese.
    other = [ch for ch in text if not ch.isascii()]
    japanese = sum(1 for ch in other if _JAPANESE.match(ch))
    if japanese < 0.9 * len(other):
        raise utf8_error
    return "cp932"


def sniff_encoding(path: Path) -> str:
    """``detect_encoding`` of a file's first 64 KiB (a ``.gz`` file's uncompressed text)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    return detect_encoding(head)


def read_text(path: Path) -> str:
    """A whole text file in UTF-8 or cp932 (see ``detect_encoding``)."""
    data = path.read_bytes()
    return data.decode(detect_encoding(data[:_SNIFF_BYTES]))
