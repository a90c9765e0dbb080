"""Screening many names on every core.

``screen_all`` forks worker processes that inherit the screener, whose index arrays are
mapped from one folder: the workers share those pages instead of copying the index. Names go
out in chunks and come back in order, so the answer does not depend on the number of jobs.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from typing import Any

from sanctrace.model import Match, NameQuery

__all__ = ["CHUNK", "default_jobs", "screen_all"]

CHUNK = 64  # names per task: small enough to balance, large enough to amortise the transfer
MIN_PER_JOB = 2 * CHUNK  # with fewer names than this per process, fewer processes

# The screener and options the forked workers screen with (set before the fork).
_WORKER: dict[str, Any] = {}


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _screen_chunk(chunk: list[NameQuery]) -> list[list[Match]]:
    screener, top, threshold = _WORKER["screener"], _WORKER["top"], _WORKER["threshold"]
    return [screener.screen(q, top=top, threshold=threshold) for q in chunk]


def screen_all(
    screener: Any,
    queries: Sequence[NameQuery],
    top: int,
    threshold: float | None,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[list[Match]]:
    """The matches of every query, in order, screened by ``jobs`` processes (None: every
    core; one when there are few names, or where processes cannot be forked)."""
    wanted = default_jobs() if jobs is None else jobs
    wanted = min(wanted, max(1, len(queries) // MIN_PER_JOB))
    if wanted <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        out = []
        for q in queries:
            out.append(screener.screen(q, top=top, threshold=threshold))
            if progress:
                progress(1)
        return out
    chunks = [list(queries[i : i + CHUNK]) for i in range(0, len(queries), CHUNK)]
    _WORKER.update(screener=screener, top=top, threshold=threshold)
    results: list[list[Match]] = []
    try:
        with multiprocessing.get_context("fork").Pool(wanted) as pool:
            for chunk, found in zip(chunks, pool.imap(_screen_chunk, chunks), strict=True):
                results.extend(found)
                if progress:
                    progress(len(chunk))
    finally:
        _WORKER.clear()
    return results
