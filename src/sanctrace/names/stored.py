"""The screening index as flat arrays: built once, saved to a folder, memory-mapped back.

A built index is a handful of arrays: the inverted index (keys, posting offsets and ids, key
rarity), the tokens of every list name (token ids per name), each distinct token's weight, and
three record tables (tokens, names, entries) stored as one byte blob each with offsets. Opening
a saved index maps the arrays read-only (``numpy.load(mmap_mode="r")``), so every process that
opens the same folder shares the same pages; records are decoded only when a query touches
them, and kept once decoded.

Records are pickled one by one (a ``NameToken``, an ``IndexedName`` without its tokens, an
``Entry``), so the normaliser's and the scorer's records can gain fields without a change
here. The folder is trusted like the database it was built from (it lives in the data folder
beside the lists); ``key_of`` changes whenever the normaliser's version or any file of this
package changes, so a saved index never outlives the code that made it.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

# Bump when normalisation changes what an index holds in a way the code digest cannot see
# (data read from outside this package). Any edit to a file of ``sanctrace.names`` already
# changes ``code_digest``.
NORMALISER_VERSION = "2"

ARRAYS = (
    "post_off",
    "post_ids",
    "key_idf",
    "key_df",
    "name_norm",
    "name_tok_off",
    "name_tok",
    "tok_weight",
    "tok_blob",
    "tok_off",
    "name_blob",
    "name_off",
    "entry_blob",
    "entry_off",
    "key_blob",
)
META = "meta.json"

T = TypeVar("T")


@lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-256 over the source and data files of ``sanctrace.names``: the code that made an index."""
    root = Path(__file__).parent
    digest = hashlib.sha256(NORMALISER_VERSION.encode())
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".yml", ".yaml", ".json", ".txt", ".tsv"):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def key_of(identity: Any) -> str:
    """The folder name of an index over ``identity`` (JSON-able: the lists it was built from)."""
    text = json.dumps([identity, NORMALISER_VERSION, code_digest()], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def pack(records: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Records as one byte blob and its offsets (pickled one by one)."""
    parts = [pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL) for r in records]
    off = np.zeros(len(parts) + 1, dtype=np.int64)
    if parts:
        np.cumsum([len(p) for p in parts], out=off[1:])
    blob = np.frombuffer(b"".join(parts), dtype=np.uint8) if parts else np.zeros(0, np.uint8)
    return blob, off


class Records(Generic[T]):
    """A read-only sequence of records: a list, or a blob decoded on first access."""

    def __init__(
        self,
        items: list[T] | None = None,
        blob: np.ndarray | None = None,
        off: np.ndarray | None = None,
        finish: Callable[[int, Any], T] | None = None,
    ) -> None:
        self._items = items
        self._blob = blob
        self._off = off
        self._finish = finish
        self._cache: dict[int, T] = {}
        self._len = len(items) if items is not None else (len(off) - 1 if off is not None else 0)

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, i: int) -> T:
        if self._items is not None:
            return self._items[i]
        found = self._cache.get(i)
        if found is None:
            assert self._blob is not None and self._off is not None
            if i < 0:
                i += self._len
            if not 0 <= i < self._len:
                raise IndexError(i)
            raw = self._blob[int(self._off[i]) : int(self._off[i + 1])].tobytes()
            value = pickle.loads(raw)  # noqa: S301 - our own index folder, as trusted as the db
            found = self._cache[i] = self._finish(i, value) if self._finish else value
        return found

    def __iter__(self) -> Iterator[T]:
        for i in range(self._len):
            yield self[i]


@dataclass
class IndexArrays:
    """The arrays of a built index (in memory or mapped from a folder)."""

    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def keys(self) -> list[str]:
        """The index keys, in key-id order."""
        blob = self.arrays["key_blob"]
        if not len(blob):
            return []
        return bytes(blob).decode("utf-8").split("\x00")

    def save(self, folder: Path, extra: dict[str, Any] | None = None) -> None:
        """Write every array and ``meta.json`` (last) into ``folder``, which must be new.

        The caller makes the folder appear atomically (write elsewhere, then rename)."""
        folder.mkdir(parents=True)
        for name in ARRAYS:
            with open(folder / f"{name}.npy", "wb") as fh:
                np.save(fh, np.ascontiguousarray(self.arrays[name]), allow_pickle=False)
                fh.flush()
        meta = {**self.meta, **(extra or {}), "normaliser_version": NORMALISER_VERSION}
        meta["code_digest"] = code_digest()
        (folder / META).write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> IndexArrays:
        """Map a saved index read-only; ``FileNotFoundError`` or ``ValueError`` when it is not
        a complete index of this code."""
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
        if meta.get("code_digest") != code_digest():
            raise ValueError(f"{folder}: built by other code")
        arrays = {}
        for name in ARRAYS:
            path = folder / f"{name}.npy"
            try:
                arrays[name] = np.load(path, mmap_mode="r", allow_pickle=False)
            except ValueError:  # an empty array cannot be mapped: read it
                arrays[name] = np.load(path, allow_pickle=False)
        return cls(arrays, meta)
