"""The graph of a chain kept up to date with the chain store, block by block.

A ``Version`` is a graph and the loads (manifest entries, by ``sha256``) it holds.
``LiveGraphs.current`` answers the version to use for the chain store's loads now:

* the same loads: the current version;
* new loads after the current ones (a follower appended blocks): the current version still
  answers while one background thread appends just the new loads' parts
  (``_exposure_append``) and carries the engines over (``prepare(chain, new, base)``), then
  switches;
* loads removed (a reorganisation rolled blocks back): the newest kept version whose loads
  are a prefix of the store's answers at once (undoing a delta costs nothing: the older graph
  was never changed), and whatever follows it is appended as above; without such a version
  (more than ``history`` versions back, or another order) the graph is built again, in the
  caller's thread, so that no answer uses an orphaned block.

A delta that cannot be appended (``append`` answers None) is built from all the loads in the
background instead. The caller reads the loads' parts through ``read(entries, table)``: this
module knows no store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from sanctrace.chain._exposure_append import append_account, append_utxo
from sanctrace.chain.graph import AccountGraph, UtxoGraph

Graph = UtxoGraph | AccountGraph
Entries = Sequence[dict[str, Any]]
Reader = Callable[[Entries, str], Iterator[pa.RecordBatch]]


@dataclass(frozen=True, eq=False)
class Version:
    """A graph and the loads it holds (in load order)."""

    loads: tuple[str, ...]
    graph: Graph


class LiveGraphs:
    """Versions per chain; see the module docstring."""

    def __init__(
        self,
        read: Reader,
        prepare: Callable[[str, Version, Version | None], None] | None = None,
        history: int = 6,
    ) -> None:
        self._read, self._prepare = read, prepare
        self.history = history
        self._lock = threading.Lock()
        self._versions: dict[str, list[Version]] = {}
        self._merges: dict[str, tuple[threading.Thread, tuple[str, ...]]] = {}
        self.errors: dict[str, BaseException] = {}  # the last failed merge per chain
        self.counts = {"built": 0, "appended": 0, "rebuilt": 0, "fell_back": 0}

    def _build(self, chain: str, entries: Entries) -> Graph:
        """The graph of all these loads, built whole."""
        if any("inputs" in e.get("parts", {}) for e in entries):
            return UtxoGraph.from_tables(
                self._read(entries, "transactions"),
                self._read(entries, "inputs"),
                self._read(entries, "outputs"),
                chain=chain,
            )
        return AccountGraph.from_table(self._read(entries, "transfers"), chain=chain)

    def _append(self, graph: Graph, entries: Entries) -> Graph | None:
        """``graph`` with these loads appended; None when only a build gives the same."""
        if isinstance(graph, AccountGraph):
            return append_account(graph, list(self._read(entries, "transfers")))
        tables = [list(self._read(entries, t)) for t in ("transactions", "inputs", "outputs")]
        return append_utxo(graph, *tables)

    def versions(self, chain: str) -> list[Version]:
        with self._lock:
            return list(self._versions.get(chain, []))

    def current(self, chain: str, entries: Entries) -> Version:
        """The version to answer with for the store's ``entries`` of ``chain`` now."""
        loads = tuple(e["sha256"] for e in entries)
        with self._lock:
            kept = self._versions.get(chain, [])
            base = next((v for v in reversed(kept) if loads[: len(v.loads)] == v.loads), None)
            if base is not None:
                if base is not kept[-1]:  # loads were removed: fall back
                    self._versions[chain] = kept[: kept.index(base) + 1]
                    self.counts["fell_back"] += 1
                if base.loads != loads:
                    self._start(chain, base, list(entries[len(base.loads) :]), entries, loads)
                return base
        version = Version(loads, self._build(chain, entries))
        if self._prepare is not None:
            self._prepare(chain, version, None)
        with self._lock:
            self._versions[chain] = [version]
            self.counts["built"] += 1
        return version

    def _start(
        self,
        chain: str,
        base: Version,
        delta: list[dict[str, Any]],
        entries: Entries,
        loads: tuple[str, ...],
    ) -> None:
        running = self._merges.get(chain)
        if running is not None and running[0].is_alive():
            return  # the next question after it finishes starts the next merge
        thread = threading.Thread(
            target=self._merge,
            args=(chain, base, delta, list(entries), loads),
            name=f"sanctrace-merge-{chain}",
            daemon=True,
        )
        self._merges[chain] = (thread, loads)
        thread.start()

    def _merge(
        self,
        chain: str,
        base: Version,
        delta: list[dict[str, Any]],
        entries: list[dict[str, Any]],
        loads: tuple[str, ...],
    ) -> None:
        try:
            graph = self._append(base.graph, delta)
            version = Version(loads, graph if graph is not None else self._build(chain, entries))
            if self._prepare is not None:
                self._prepare(chain, version, base if graph is not None else None)
        except Exception as exc:  # noqa: BLE001 - kept for the caller; the old version answers
            with self._lock:
                self.errors[chain] = exc
            return
        appended = graph is not None
        with self._lock:
            kept = self._versions.get(chain, [])
            if not kept or kept[-1] is not base:
                return  # a reorganisation or a rebuild overtook this merge
            self._versions[chain] = [*kept, version][-self.history :]
            self.errors.pop(chain, None)
            self.counts["appended" if appended else "rebuilt"] += 1

    def latest(self, chain: str) -> Version | None:
        """The newest version of ``chain`` (None before the first question)."""
        with self._lock:
            kept = self._versions.get(chain)
            return kept[-1] if kept else None

    def pending(self, chain: str) -> bool:
        with self._lock:
            running = self._merges.get(chain)
        return running is not None and running[0].is_alive()

    def wait(self, chain: str, timeout: float | None = None) -> bool:
        """Wait for the chain's merge in progress; True when there was one."""
        with self._lock:
            running = self._merges.get(chain)
        if running is None or not running[0].is_alive():
            return False
        running[0].join(timeout)
        return True
