"""Append-only numpy arrays for graphs that grow block by block.

``grow(array, tail)`` answers ``array`` followed by ``tail``. When ``array`` is the newest
prefix view of a buffer with room left, the tail is written into that room and a longer view
of the same buffer comes back: no copy, and every earlier view still reads exactly what it read
before (nothing before its end is written). Otherwise the values move into a new buffer with
half again as much room, so that a graph of n elements pays one copy per n/2 appended.

A buffer remembers how far it has been handed out: growing a view that is no longer the newest
(an older graph after a newer one grew, as when a reorganisation falls back to an older graph)
copies instead of overwriting what the newer view holds.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

_SLACK = 0.5  # room added on a copy, as a share of the new length
_MIN_ROOM = 1 << 12
_claims: dict[int, tuple[weakref.ref[np.ndarray], int]] = {}  # id(buffer) -> (buffer, end)
_lock = threading.Lock()


def _buffer_of(array: np.ndarray) -> np.ndarray | None:
    """The 1-d buffer ``array`` is a prefix view of, or None."""
    base = array.base
    if (
        not isinstance(base, np.ndarray)
        or base.ndim != 1
        or base.dtype != array.dtype
        or array.ndim != 1
        or array.strides != base.strides
        or array.__array_interface__["data"][0] != base.__array_interface__["data"][0]
    ):
        return None
    return base


def _claim(buffer: np.ndarray, end: int) -> None:
    key = id(buffer)

    def forget(_ref: weakref.ref[np.ndarray]) -> None:
        _claims.pop(key, None)

    _claims[key] = (weakref.ref(buffer, forget), end)


def grow(array: np.ndarray, tail: np.ndarray) -> np.ndarray:
    """``array`` followed by ``tail`` (cast to ``array``'s type unless it needs a wider one)."""
    tail = np.asarray(tail)
    dtype = np.result_type(array.dtype, tail.dtype) if tail.size else array.dtype
    if tail.dtype.kind in "iu" and array.dtype.kind in "iu" and tail.size:
        # ids keep their narrow type while they fit (int32 below 2**31)
        info = np.iinfo(array.dtype)
        dtype = array.dtype if info.min <= tail.min() and tail.max() <= info.max else dtype
    n, k = len(array), len(tail)
    with _lock:
        buffer = _buffer_of(array) if dtype == array.dtype else None
        if buffer is not None:
            claim = _claims.get(id(buffer))
            owner = claim[0]() if claim else None
            if owner is buffer and claim is not None and claim[1] == n and len(buffer) >= n + k:
                buffer[n : n + k] = tail
                _claim(buffer, n + k)
                return buffer[: n + k]
        room = max(int((n + k) * _SLACK), _MIN_ROOM)
        buffer = np.empty(n + k + room, dtype)
        buffer[:n] = array
        buffer[n : n + k] = tail
        _claim(buffer, n + k)
        return buffer[: n + k]
