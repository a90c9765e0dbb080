"""Dense integer ids for strings (txids, addresses, tokens), without a Python object per string.

Strings are hashed to 128 bits in vectorised numpy; ids follow first appearance. Building the
maps trusts the hashes (a collision among 1e9 strings has odds of about 1e-21); single lookups
check the string itself.
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

_U64 = np.uint64


def id_dtype(count: int) -> type[np.signedinteger]:
    """The narrowest id type for ``count`` nodes (int32 below 2**31)."""
    return np.int32 if count < 2**31 - 1 else np.int64


# ------------------------------------------------------------------------------ hashing


def _splitmix(z: NDArray[np.uint64]) -> NDArray[np.uint64]:
    z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
    out: NDArray[np.uint64] = z ^ (z >> _U64(31))
    return out


def _fmix(z: NDArray[np.uint64]) -> NDArray[np.uint64]:
    z = (z ^ (z >> _U64(33))) * _U64(0xFF51AFD7ED558CCD)
    z = (z ^ (z >> _U64(33))) * _U64(0xC4CEB9FE1A85EC53)
    out: NDArray[np.uint64] = z ^ (z >> _U64(33))
    return out


def _as_strings(values: object) -> pa.Array:
    arr: pa.Array  # pyarrow has no type information: this is ``Any`` to mypy
    if isinstance(values, pa.ChunkedArray):
        arr = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    elif isinstance(values, pa.Array):
        arr = values
    else:
        arr = pa.array(values, type=pa.string())
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pc.cast(arr, pa.string())
    return arr


def _hash_words(words: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    hi = np.full(len(words), 0x9E3779B97F4A7C15, _U64)
    lo = np.full(len(words), 0x2545F4914F6CDD1D, _U64)
    for w in range(words.shape[1]):
        word = words[:, w]
        hi = _splitmix(hi ^ word)
        lo = _fmix(lo + (word ^ _U64(0x5851F42D4C957F2D)))
    spread = _U64((length * 0x9E3779B97F4A7C15) & (2**64 - 1))
    return _splitmix(hi ^ _U64(length)), _fmix(lo ^ spread)


def hash_strings(values: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two independent 64-bit hashes of each string and a validity mask, fully vectorised.

    Strings of one length are copied from the arrow buffer into a zero-padded matrix, read as
    8-byte words and folded in with non-linear mixers (splitmix64 and murmur3's finaliser);
    the length is folded in last.
    """
    arr = _as_strings(values)
    n = len(arr)
    valid = np.ones(n, bool) if arr.null_count == 0 else arr.is_valid().to_numpy(False)
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    bufs = arr.buffers()
    off_type = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(bufs[1], off_type)[arr.offset : arr.offset + n + 1].astype(np.int64)
    raw = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    data = raw[: int(offsets[-1]) if n else 0]
    lengths, starts = np.diff(offsets), offsets[:-1]
    hi, lo = np.empty(n, _U64), np.empty(n, _U64)
    by_length = np.argsort(lengths, kind="stable")
    bounds = np.flatnonzero(np.diff(lengths[by_length])) + 1
    for rows in np.split(by_length, bounds) if n else []:
        length = int(lengths[rows[0]])
        block = np.zeros((len(rows), (length + 7) // 8 * 8), np.uint8)
        if length:
            block[:, :length] = np.lib.stride_tricks.sliding_window_view(data, length)[starts[rows]]
        hi[rows], lo[rows] = _hash_words(block.view("<u8"), length)
    return hi, lo, valid


# ----------------------------------------------------------------------------- interning


def _merge_runs(
    a: tuple[np.ndarray, np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two runs sorted by ``hi`` merged into one, in linear time (no sort of the whole run:
    appending a block's strings to a run of millions stays cheap). Equal ``hi`` stay adjacent,
    all ``_find`` needs."""
    (h1, l1, i1), (h2, l2, i2) = a, b
    n = len(h1) + len(h2)
    at_b = np.searchsorted(h1, h2, side="right") + np.arange(len(h2))
    from_b = np.zeros(n, bool)
    from_b[at_b] = True
    merged = []
    for x, y in ((h1, h2), (l1, l2), (i1, i2)):
        out = np.empty(n, np.result_type(x.dtype, y.dtype))
        out[at_b] = y
        out[~from_b] = x
        merged.append(out)
    return merged[0], merged[1], merged[2]


class Interner:
    """Dense ids for strings, in order of first appearance.

    Lookups go through sorted runs of 128-bit hash keys (16 bytes + an id per string); the
    strings themselves are kept as arrow arrays for id → string. ``id_of`` checks the string,
    so a hash collision can never return a wrong id there; bulk interning trusts the 128 bits
    (a collision among 1e9 strings has odds of about 1e-21).
    """

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # hi, lo, ids
        self._chunks: list[pa.Array] = []
        self._starts: list[int] = []
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def _find(self, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        found = np.full(len(hi), -1, np.int64)
        # Sorted needles make searchsorted walk the runs in order: several times faster.
        order = np.argsort(hi)
        for run_hi, run_lo, run_ids in self._runs:
            pos = np.empty(len(hi), np.int64)
            pos[order] = np.minimum(np.searchsorted(run_hi, hi[order]), len(run_hi) - 1)
            same_hi = run_hi[pos] == hi
            hit = same_hi & (run_lo[pos] == lo)
            found[hit] = run_ids[pos[hit]]
            # Two keys sharing their first 64 bits sit side by side: walk the (rare) tie.
            for i in np.flatnonzero(same_hi & ~hit):
                p = int(pos[i]) + 1
                while p < len(run_hi) and run_hi[p] == hi[i]:
                    if run_lo[p] == lo[i]:
                        found[i] = run_ids[p]
                        break
                    p += 1
        return found

    def lookup(self, values: object) -> np.ndarray:
        """Ids of ``values`` (int64), -1 for unknown strings and nulls."""
        hi, lo, valid = hash_strings(values)
        ids = self._find(hi, lo)
        ids[~valid] = -1
        return ids

    def intern(self, values: object) -> np.ndarray:
        """Ids of ``values`` (int64), adding the new strings; -1 for nulls."""
        arr = _as_strings(values)
        hi, lo, valid = hash_strings(arr)
        ids = self._find(hi, lo)
        ids[~valid] = -1
        missing = np.flatnonzero(valid & (ids < 0))
        if missing.size:
            m_hi, m_lo = hi[missing], lo[missing]
            order = np.argsort(m_hi)
            s_hi, s_lo = m_hi[order], m_lo[order]
            if ((s_hi[1:] == s_hi[:-1]) & (s_lo[1:] != s_lo[:-1])).any():
                order = np.lexsort((m_lo, m_hi))  # a 64-bit tie: sort on the full key
                s_hi, s_lo = m_hi[order], m_lo[order]
            head = np.ones(len(order), bool)
            head[1:] = (s_hi[1:] != s_hi[:-1]) | (s_lo[1:] != s_lo[:-1])
            group = np.cumsum(head) - 1
            # per unique key, its first position within ``missing``
            first = np.minimum.reduceat(order, np.flatnonzero(head))
            rank = np.empty(len(first), np.int64)
            rank[np.argsort(first, kind="stable")] = np.arange(len(first))
            new_ids = self.size + rank
            ids[missing[order]] = new_ids[group]
            self._chunks.append(arr.take(pa.array(missing[np.sort(first)])))
            self._starts.append(self.size)
            self._runs.append((s_hi[head], s_lo[head], new_ids))
            self.size += len(first)
            self._compact(final=False)
        return ids

    def _compact(self, final: bool) -> None:
        while len(self._runs) > 1 and (
            final or 2 * len(self._runs[-1][0]) >= len(self._runs[-2][0])
        ):
            self._runs[-2:] = [_merge_runs(self._runs[-2], self._runs[-1])]

    def copy(self) -> Interner:
        """An interner with the same strings that can grow without changing this one (the
        arrays are shared: they are never written in place)."""
        twin = Interner()
        twin._runs, twin._chunks = list(self._runs), list(self._chunks)
        twin._starts, twin.size = list(self._starts), self.size
        return twin

    def freeze(self) -> Interner:
        """Merge the lookup runs and the string chunks (faster lookups once building is done)."""
        self._compact(final=True)
        if len(self._chunks) > 1:
            self._chunks = [pa.concat_arrays(self._chunks)]
            self._starts = [0]
        if self._runs:
            hi, lo, ids = self._runs[0]
            self._runs[0] = (hi, lo, ids.astype(id_dtype(self.size)))
        return self

    def id_of(self, text: str) -> int:
        """The id of ``text``, or -1."""
        found = int(self.lookup([text])[0])
        return found if found >= 0 and self.string(found) == text else -1

    def string(self, ident: int) -> str:
        if not 0 <= ident < self.size:
            raise IndexError(f"id {ident} out of range 0..{self.size - 1}")
        k = bisect_right(self._starts, ident) - 1
        text: str = self._chunks[k][ident - self._starts[k]].as_py()
        return text

    def strings(self) -> pa.Array:
        """All strings, id order."""
        if not self._chunks:
            return pa.array([], pa.string())
        return self._chunks[0] if len(self._chunks) == 1 else pa.concat_arrays(self._chunks)

    @property
    def nbytes(self) -> int:
        keys = sum(h.nbytes + lo.nbytes + i.nbytes for h, lo, i in self._runs)
        chunks: int = sum(c.nbytes for c in self._chunks)
        return keys + chunks
