"""Exposure screening of deposits and withdrawals against the lists, tags and chain store.

The engines (``chain.exposure``, ``chain.exposure_account``) are pure; this service feeds
them: the transfer graph of a chain from the chain store, the flagged addresses (the address
rows of the active list snapshots and the stored attribution tags, or a user file), the
stop entities (tags of category ``exchange`` by default) and the chain's cluster map when
one was built. Engines are cached per data version (chain loads, active snapshots, tag sets,
cluster build, model, hops), so repeated questions cost a lookup and the evidence walk.

Every answer names what it was computed against: ``snapshots`` ({source: snapshot id}),
``tag_sets`` and the chain store loads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sanctrace.chain.addresses import parse_any
from sanctrace.chain.exposure import DEFAULT_HOPS, MAX_HOPS, ExposureEngine
from sanctrace.chain.flags import FlagSet
from sanctrace.chain.graph import AccountGraph, UtxoGraph
from sanctrace.chain.tags import SANCTIONED, Tag, tags_from_snapshot_rows
from sanctrace.chainstore.clusters import ClusterFiles
from sanctrace.chainstore.store import ChainStore
from sanctrace.errors import SanctraceError
from sanctrace.lists.lookup import hit_dict
from sanctrace.services.addresses import is_sanctioned, tag_dict, tag_of
from sanctrace.store import Database
from sanctrace.store import tags as repo

UTXO_CHAINS = frozenset({"btc", "ltc", "bch", "bsv", "btg", "dash", "zec", "doge"})
MODELS = ("haircut", "poison", "fifo")
DIRECTIONS = ("in", "out")


class ExposureRequestError(SanctraceError):
    """A question the service cannot answer as asked (unknown chain, bad option)."""


@dataclass(frozen=True)
class Question:
    """What to screen and how."""

    chain: str | None = None  # detected from the address when absent; else "btc"
    txid: str | None = None
    output_index: int | None = None  # with txid: one output
    address: str | None = None
    direction: str = "in"
    model: str = "haircut"
    hops: int = DEFAULT_HOPS
    paths: int = 5
    token: str | None = None  # account chains: the token contract ("" = the native coin)

    def check(self) -> None:
        if (self.txid is None) == (self.address is None):
            raise ExposureRequestError("give exactly one of a transaction id or an address")
        if self.output_index is not None and self.txid is None:
            raise ExposureRequestError("an output index needs a transaction id")
        check_options(self.model, self.hops, self.direction)


def check_options(model: str, hops: int, direction: str = "in") -> None:
    """One clear error for a model, hop limit or direction the engines do not know."""
    if direction not in DIRECTIONS:
        raise ExposureRequestError(f"direction {direction!r}: use 'in' or 'out'")
    if model not in MODELS:
        raise ExposureRequestError(f"model {model!r}: use {', '.join(MODELS)}")
    if not 0 <= hops <= MAX_HOPS:
        raise ExposureRequestError(f"hops {hops}: must be between 0 and {MAX_HOPS}")


def chain_tags(db: Database, chain: str) -> tuple[list[Tag], dict[str, int], list[int]]:
    """Tags on ``chain``: list addresses of the active snapshots (category ``sanctioned``) and
    stored attribution tags (GraphSense ``abuse: sanction`` counts as sanctioned); with the
    active snapshot ids and the tag set ids they come from."""
    with db.connect() as conn:
        hits = [hit_dict(r) for r in repo.listed(conn)]
        stored = [tag_dict(r) for r in repo.all_tags(conn)]
        snapshots = repo.active_snapshot_ids(conn)
    tags = [t for t in tags_from_snapshot_rows(hits) if t.chain == chain and t.address]
    sets: set[int] = set()
    for d in stored:
        if d["chain"] != chain:
            continue
        tag = tag_of(d)
        if is_sanctioned(d) and tag.category != SANCTIONED:
            tag = replace(tag, category=SANCTIONED)
        tags.append(tag)
        sets.add(int(d["tag_set_id"]))
    return tags, snapshots, sorted(sets)


def flags_for(
    db: Database,
    chain: str,
    flagged_file: Path | None = None,
    categories: Collection[str] = (SANCTIONED,),
    stop_categories: Collection[str] = ("exchange",),
) -> tuple[FlagSet, dict[str, Any]]:
    """The flag set of ``chain`` and a description of where it came from."""
    tags, snapshots, tag_sets = chain_tags(db, chain)
    flags = FlagSet.from_tags(tags, categories=categories, stop_categories=stop_categories)
    basis: dict[str, Any] = {"snapshots": snapshots, "tag_sets": tag_sets}
    if flagged_file is not None:
        user = FlagSet.from_file(flagged_file)
        # The user's file replaces the flagged addresses; the stop entities stay, except
        # those the file flags.
        stops = {a: f for a, f in flags.stops.items() if a not in user.flagged}
        flags = FlagSet(user.flagged, stops)
        basis["flagged_file"] = str(flagged_file)
    basis["flagged"] = len(flags.flagged)
    basis["stops"] = len(flags.stops)
    return flags, basis


def cluster_ids(graph: UtxoGraph, files: ClusterFiles) -> np.ndarray:
    """Cluster id per graph address id (-1 when the cluster map does not know the address)."""
    table = pq.read_table(files.addresses_path, columns=["address", "cluster"])
    at = pc.index_in(graph.addresses.strings(), value_set=table["address"])
    clusters = pc.take(table["cluster"], at).to_numpy(zero_copy_only=False)
    return np.where(at.is_null().to_numpy(zero_copy_only=False), -1, clusters).astype(np.int64)


def _file_key(path: Path | None) -> tuple | None:
    """A user's flag file changes the answers when its contents change."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return (str(path),)  # FlagSet.from_file names the problem
    return (str(path), st.st_mtime_ns, st.st_size)


class ExposureService:
    """Exposure answers over the chain store and the database, engines cached per version."""

    def __init__(self, db: Database, store: ChainStore) -> None:
        self.db = db
        self.store = store
        self._lock = threading.Lock()
        self._graphs: dict[str, tuple[tuple, Any]] = {}
        self._engines: dict[tuple, tuple[Any, dict[str, Any]]] = {}

    # ---- data
    def graph(self, chain: str) -> tuple[UtxoGraph | AccountGraph, tuple[str, ...]]:
        """The transfer graph of ``chain`` and the chain loads it holds (rebuilt when the
        chain store changed)."""
        loads = tuple(e["sha256"] for e in self.store.loads(chain))
        if not loads:
            raise ExposureRequestError(
                f"chain {chain}: nothing loaded in the chain store {self.store.root}; "
                "load blocks with: sanctrace chain load PATH"
            )
        cached = self._graphs.get(chain)
        if cached is not None and cached[0] == loads:
            return cached[1], loads

        def batches(table: str) -> Any:
            return self.store.dataset(chain, table).to_batches()

        if self.store.parts(chain, "inputs"):
            graph: Any = UtxoGraph.from_tables(
                batches("transactions"), batches("inputs"), batches("outputs"), chain=chain
            )
        else:
            graph = AccountGraph.from_table(batches("transfers"), chain=chain)
        self._graphs[chain] = (loads, graph)
        return graph, loads

    def engine(
        self, chain: str, model: str, hops: int, flagged_file: Path | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """The engine for ``chain`` (UTXO or account) and the basis of its answers.

        An engine is reused while nothing it depends on changed: the chain loads, the active
        snapshots and tag sets (one small query), the cluster map's build and the flag file;
        only then are flags read and the bulk sweep run."""
        graph, loads = self.graph(chain)
        utxo = isinstance(graph, UtxoGraph)
        if not utxo and model == "fifo":
            raise ExposureRequestError("account chains support the haircut and poison models")
        with self.db.connect() as conn:
            version = repo.data_version(conn)
        files = ClusterFiles.open(self.store.root, chain) if utxo else None
        build = files.build if files is not None else None
        key = (chain, id(graph), model, hops, _file_key(flagged_file), version, build)
        cached = self._engines.get(key)
        if cached is not None:
            return cached
        flags, basis = flags_for(self.db, chain, flagged_file)
        basis["chain_loads"] = [k[:16] for k in loads]
        if utxo:
            basis["cluster_build"] = build
            clusters = cluster_ids(graph, files) if files is not None else None  # type: ignore[arg-type]
            engine: Any = ExposureEngine(graph, flags, model=model, hops=hops, clusters=clusters)  # type: ignore[arg-type]
            engine.run()
        else:
            from sanctrace.chain.exposure_account import AccountExposure

            engine = AccountExposure(graph, flags, model=model)  # type: ignore[arg-type]
        # Keep the other chains' engines; of this chain, only the current data's.
        self._engines = {k: v for k, v in self._engines.items() if k[0] != chain}
        self._engines[key] = (engine, basis)
        return engine, basis

    # ---- answers
    def screen(self, q: Question, flagged_file: Path | None = None) -> dict[str, Any]:
        """Exposure of one transaction, output or address, with its evidence and basis."""
        q.check()
        chain, address = q.chain, q.address
        if address is not None:
            parsed = parse_any(address)
            if parsed.valid:
                chain = chain or parsed.chain
                if parsed.chain == chain:
                    address = parsed.address
        chain = chain or "btc"
        with self._lock:
            engine, basis = self.engine(chain, q.model, q.hops, flagged_file)
            if not isinstance(engine, ExposureEngine):
                if address is None:
                    raise ExposureRequestError(f"chain {chain}: screen an address, not a tx")
                result = engine.address(address, q.direction, token=q.token, paths=q.paths)
            elif address is not None:
                result = engine.address(address, q.direction, paths=q.paths)
            elif q.output_index is not None:
                assert q.txid is not None
                result = engine.output(q.txid, q.output_index, q.direction, paths=q.paths)
            else:
                assert q.txid is not None
                result = engine.transaction(q.txid, q.direction, paths=q.paths)
        answer = result.to_dict()
        answer["chain"] = chain
        answer["risk"] = risk_of(answer)
        answer["basis"] = dict(basis)
        return answer

    def table(
        self, chain: str, model: str, hops: int, flagged_file: Path | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Every tainted output of ``chain`` (source of funds), as the engine's table."""
        with self._lock:
            engine, basis = self.engine(chain, model, hops, flagged_file)
        if not isinstance(engine, ExposureEngine):
            raise ExposureRequestError(f"chain {chain}: --all needs a UTXO chain")
        return engine, basis


def risk_of(answer: dict[str, Any]) -> dict[str, str]:
    """A decision the platform can act on: flagged or direct exposure blocks, indirect exposure
    goes to review, anything else is allowed."""
    hops, tainted = answer.get("min_hops"), answer.get("tainted_value") or 0
    inbound = answer.get("direction") == "in"
    if tainted and hops == 0:
        return {"level": "flagged", "action": "block", "why": "the subject itself is flagged"}
    if tainted and hops == 1:
        why = "received straight from" if inbound else "sent straight to"
        return {"level": "direct", "action": "block", "why": f"{why} a flagged address"}
    if tainted:
        share = f"{answer.get('fraction', 0):.2%}"
        return {"level": "indirect", "action": "review", "why": f"{share} within {hops} hops"}
    if answer.get("stopped"):
        return {"level": "none", "action": "allow", "why": "flows stop at another exchange"}
    return {"level": "none", "action": "allow", "why": "no flagged funds within the hop limit"}
