"""Exposure screening of deposits and withdrawals against the lists, tags and chain store.

The engines (``chain.exposure``, ``chain.exposure_account``) are pure; this service feeds
them: the transfer graph of a chain from the chain store, the flagged addresses (the address
rows of the active list snapshots and the stored attribution tags, or a user file), the
stop entities (tags of category ``exchange`` by default) and the chain's cluster map when
one was built. Engines are cached per data version (chain loads, active snapshots, tag sets,
cluster build, model, hops), so repeated questions cost a lookup and the evidence walk.

Every answer names what it was computed against: ``snapshots`` ({source: snapshot id}),
``tag_sets`` and the chain store loads.

The graph follows the chain store incrementally (``chain._exposure_live``): loads appended
after the graph's (a node follower's new blocks) are merged in a background thread, the
engines carried over without a full sweep, while the previous graph keeps answering (its
answers name its loads). A question about a transaction the previous graph does not know waits
for the merge, so a new deposit is screened with the blocks up to the tip; questions about an
address, in the "out" direction or over clusters wait at most ``TIP_WAIT_SECONDS`` (new blocks
can change them); a known transaction's source of funds lies in older blocks and is answered
at once. Loads
removed (a reorganisation) fall back to the newest kept graph without them, else the graph is
built again before answering. With a cluster map, the merges of the new blocks' inputs are
applied on top of it (``chain.cluster.extend_labels``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Collection, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

import pyarrow as pa
import pyarrow.parquet as pq

from sanctrace.chain._exposure_append import carry_engine
from sanctrace.chain._exposure_live import Entries, LiveGraphs, Version
from sanctrace.chain._exposure_records import UnknownSubject
from sanctrace.chain.addresses import EVM_CHAINS, parse_any
from sanctrace.chain.exposure import Direction, Exposure, ExposureEngine
from sanctrace.chain.exposure_account import AccountExposure
from sanctrace.chain.exposure_options import (
    ACCOUNT_MODELS,
    DEFAULT_HOPS,
    DEFAULT_PATHS,
    check_options,
)
from sanctrace.chain.flags import FlagSet
from sanctrace.chain.graph import AccountGraph, UtxoGraph
from sanctrace.chain.tags import SANCTIONED, Tag, tags_from_snapshot_rows
from sanctrace.chainstore.clusters import ClusterFiles, cluster_ids, cluster_labels
from sanctrace.chainstore.store import ChainStore
from sanctrace.errors import BadRequest, Unavailable
from sanctrace.lists.lookup import hit_dict
from sanctrace.services._snapshot_cache import data_version
from sanctrace.services.addresses import is_sanctioned, tag_dict, tag_of
from sanctrace.store import Database
from sanctrace.store import tags as repo

__all__ = [
    "Basis",
    "EntityExposure",
    "EvidencePath",
    "EvidenceStep",
    "ExposureAnswer",
    "ExposureRequest",
    "ExposureService",
    "Risk",
    "Stop",
    "Unit",
    "cluster_ids",
    "flags_for",
    "risk_of",
    "unit_of",
    "warm_up",
]


# ------------------------------------------------------------------------------ request


@dataclass(frozen=True, kw_only=True)
class ExposureRequest:
    """What to screen and how; checked once, when built (``BadRequest`` naming the field)."""

    chain: str | None = None  # detected from the address when absent; else "btc"
    txid: str | None = None
    output_index: int | None = None  # with txid: one output
    address: str | None = None
    direction: str = "in"
    model: str = "haircut"
    hops: int = DEFAULT_HOPS
    paths: int = DEFAULT_PATHS
    token: str | None = None  # account chains: the token contract ("" = the native coin)
    flagged_file: Path | None = None  # flag these addresses instead of the lists and tags

    def __post_init__(self) -> None:
        if (self.txid is None) == (self.address is None):
            raise BadRequest("txid, address: give exactly one of a transaction id or an address")
        if self.output_index is not None and self.txid is None:
            raise BadRequest("output_index: an output index needs a transaction id")
        if self.output_index is not None and self.output_index < 0:
            raise BadRequest(f"output_index: {self.output_index} is negative")
        check_options(self.model, self.hops, self.direction, paths=self.paths, error=BadRequest)


# ------------------------------------------------------------------------------- answer


@dataclass(frozen=True)
class Unit:
    """The unit amounts are counted in: base units of ``symbol`` with ``decimals`` (None:
    unknown, as for a token whose decimals the chain data does not give)."""

    symbol: str
    decimals: int | None

    def format(self, amount: float) -> str:
        """``amount`` (base units) for people: in the asset's unit when its decimals are
        known, else as base units, saying so."""
        if self.decimals is None:
            return f"{amount:,.0f} base units of {self.symbol}"
        return f"{amount / 10**self.decimals:,.{self.decimals}f} {self.symbol}"


_NATIVE = {
    **dict.fromkeys(("btc", "ltc", "bch", "bsv", "btg", "dash", "zec", "doge"), 8),
    **dict.fromkeys(EVM_CHAINS, 18),
    "trx": 6,
}
_SYMBOL = {"arb": "ETH", "op": "ETH", "bsc": "BNB", "matic": "MATIC", "trx": "TRX"}


def unit_of(chain: str, token: str | None = None) -> Unit:
    """The unit of ``chain``'s native coin, or of ``token`` (a contract: decimals unknown)."""
    if token:
        return Unit(f"token {token}", None)
    decimals = _NATIVE.get(chain)
    return Unit(_SYMBOL.get(chain, chain.upper()), decimals)


@dataclass(frozen=True)
class EvidenceStep:
    """One output (UTXO) or transfer (account chain: ``output_index`` is its log index, -1
    for a native transfer) on an evidence path; ``amount`` in base units."""

    txid: str
    output_index: int
    address: str | None
    tags: list[str]
    amount: int


@dataclass(frozen=True)
class EvidencePath:
    """A chain of steps from a flagged source to the subject (in) or on to flagged (out)."""

    value: float
    hops: int
    steps: list[EvidenceStep]


@dataclass(frozen=True)
class EntityExposure:
    """The tainted value one flagged entity contributes."""

    entity: str | None
    label: str | None
    category: str | None
    tainted_value: float
    fraction: float


@dataclass(frozen=True)
class Stop:
    """Where taint stopped at a stop entity (another exchange)."""

    txid: str | None
    output_index: int | None
    address: str | None
    label: str
    tainted_value: float


@dataclass(frozen=True)
class Risk:
    """A decision the platform can act on."""

    level: Literal["flagged", "direct", "indirect", "none"]
    action: Literal["block", "review", "allow"]
    why: str


@dataclass(frozen=True)
class Basis:
    """What an answer was computed against."""

    snapshots: dict[str, int]
    tag_sets: list[int]
    flagged: int
    stops: int
    chain_loads: list[str] = field(default_factory=list)
    flagged_file: str | None = None  # only when a user file replaced the flags
    cluster_build: str | None = None  # UTXO chains: the cluster map's build (None: no map)
    utxo: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Today's JSON: ``flagged_file`` only when given, ``cluster_build`` on UTXO chains."""
        d: dict[str, Any] = {"snapshots": dict(self.snapshots), "tag_sets": list(self.tag_sets)}
        if self.flagged_file is not None:
            d["flagged_file"] = self.flagged_file
        d |= {"flagged": self.flagged, "stops": self.stops, "chain_loads": list(self.chain_loads)}
        if self.utxo:
            d["cluster_build"] = self.cluster_build
        return d


@dataclass(frozen=True)
class ExposureAnswer:
    """The exposure of one transaction, output or address, with its evidence, a risk
    decision and its basis. Values are in base units (``unit`` says which)."""

    subject: str  # "tx:<txid>", "output:<txid>:<n>", "address:<addr>"
    direction: Literal["in", "out"]
    model: str
    hops_limit: int  # -1: no limit (account chains)
    value: int
    tainted_value: float
    fraction: float
    min_hops: int | None
    by_category: dict[str, float]
    by_entity: list[EntityExposure]
    stopped: list[Stop]
    paths: list[EvidencePath]
    chain: str
    risk: Risk
    basis: Basis
    unit: Unit

    @property
    def hit(self) -> bool:
        """True when the platform must not proceed unreviewed (block or review)."""
        return self.risk.action in ("block", "review")

    @property
    def account_chain(self) -> bool:
        return self.hops_limit < 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON answer of the CLI (``--json``) and the API (base units)."""
        d = {f: getattr(self, f) for f in _JSON_FIELDS}
        d["by_category"] = dict(self.by_category)
        d["by_entity"] = [asdict(e) for e in self.by_entity]
        d["stopped"] = [asdict(s) for s in self.stopped]
        d["paths"] = [asdict(p) for p in self.paths]
        d["risk"] = asdict(self.risk)
        d["basis"] = self.basis.to_dict()
        return d


_JSON_FIELDS = (
    "subject",
    "direction",
    "model",
    "hops_limit",
    "value",
    "tainted_value",
    "fraction",
    "min_hops",
    "by_category",
    "by_entity",
    "stopped",
    "paths",
    "chain",
    "risk",
    "basis",
)


def _answer(result: Exposure, chain: str, basis: Basis, unit: Unit) -> ExposureAnswer:
    return ExposureAnswer(
        subject=result.subject,
        direction=result.direction,
        model=result.model,
        hops_limit=result.hops_limit,
        value=result.value,
        tainted_value=result.tainted_value,
        fraction=result.fraction,
        min_hops=result.min_hops,
        by_category=dict(result.by_category),
        by_entity=[EntityExposure(**e) for e in result.by_entity],
        stopped=[Stop(**s) for s in result.stopped],
        paths=[
            EvidencePath(p.value, p.hops, [EvidenceStep(**asdict(s)) for s in p.steps])
            for p in result.paths
        ],
        chain=chain,
        risk=risk_of(result),
        basis=basis,
        unit=unit,
    )


# --------------------------------------------------------------------------------- data


def chain_tags(
    db: Database, chain: str, pinned: Mapping[str, int] | None = None
) -> tuple[list[Tag], dict[str, int], list[int]]:
    """Tags on ``chain``: list addresses of the active snapshots (category ``sanctioned``) and
    stored attribution tags (GraphSense ``abuse: sanction`` counts as sanctioned); with the
    active snapshot ids and the tag set ids they come from. ``pinned`` ({source: snapshot
    id}) reads those snapshots instead of the active ones (``cases.replay``)."""
    ids = None if pinned is None else set(pinned.values())
    with db.connect() as conn:
        hits = [hit_dict(r) for r in repo.listed(conn, snapshot_ids=ids)]
        stored = [tag_dict(r) for r in repo.all_tags(conn)]
        snapshots = repo.active_snapshot_ids(conn) if pinned is None else dict(pinned)
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
    pinned: Mapping[str, int] | None = None,
) -> tuple[FlagSet, Basis]:
    """The flag set of ``chain`` and where it came from (the basis, without chain data);
    ``pinned`` as in ``chain_tags``."""
    tags, snapshots, tag_sets = chain_tags(db, chain, pinned)
    flags = FlagSet.from_tags(tags, categories=categories, stop_categories=stop_categories)
    if flagged_file is not None:
        user = FlagSet.from_file(flagged_file)
        # The user's file replaces the flagged addresses; the stop entities stay, except
        # those the file flags.
        stops = {a: f for a, f in flags.stops.items() if a not in user.flagged}
        flags = FlagSet(user.flagged, stops)
    basis = Basis(
        snapshots=snapshots,
        tag_sets=tag_sets,
        flagged=len(flags.flagged),
        stops=len(flags.stops),
        flagged_file=None if flagged_file is None else str(flagged_file),
    )
    return flags, basis


def _file_key(path: Path | None) -> tuple[object, ...] | None:
    """A user's flag file changes the answers when its contents change."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return (str(path),)  # FlagSet.from_file names the problem
    return (str(path), st.st_mtime_ns, st.st_size)


Engine = ExposureEngine | AccountExposure
TIP_WAIT_SECONDS = 5.0  # the longest an address or "out" question waits for a merge


class ExposureService:
    """Exposure answers over the chain store and the database, engines cached per version.
    ``snapshots`` ({source: snapshot id}) flags the addresses of those list snapshots instead
    of the active ones (a stored decision, replayed: ``cases.replay``)."""

    def __init__(
        self, db: Database, store: ChainStore, snapshots: Mapping[str, int] | None = None
    ) -> None:
        self.db = db
        self.store = store
        self.snapshots = None if snapshots is None else dict(snapshots)
        self._lock = threading.Lock()
        self._engines: dict[tuple[Any, ...], tuple[Engine, Basis]] = {}
        self._cache_lock = threading.Lock()  # the engine cache, shared with merges
        self.live = LiveGraphs(self._read, self._carry)

    # ---- data
    def graph(self, chain: str) -> tuple[UtxoGraph | AccountGraph, tuple[str, ...]]:
        """The transfer graph of ``chain`` and the chain loads it holds; ``Unavailable`` when
        nothing is loaded for the chain. New loads are appended in the background while this
        answers the graph without them (``chain._exposure_live``)."""
        entries = self.store.loads(chain)
        if not entries:
            raise Unavailable(
                f"chain {chain}: nothing loaded in the chain store {self.store.root}; "
                "load blocks with: sanctrace chain load PATH"
            )
        version = self.live.current(chain, entries)
        return version.graph, version.loads

    def _read(self, entries: Entries, table: str) -> Iterator[pa.RecordBatch]:
        """The record batches of ``table`` in the parts of these loads, in load order."""
        for entry in entries:
            part = entry.get("parts", {}).get(table)
            if part is not None:
                yield from pq.ParquetFile(self.store.root / part).iter_batches()

    def _carry(self, chain: str, version: Version, base: Version | None) -> None:
        """Carry the engines of ``base`` over to the appended ``version`` (a merge)."""
        if base is None:
            return
        with self._cache_lock:
            olds = [(k, v) for k, v in self._engines.items() if v[0].graph is base.graph]
        carried: dict[tuple[Any, ...], tuple[Engine, Basis]] = {}
        loads = [k[:16] for k in version.loads]
        for key, (engine, basis) in olds:
            new = carry_engine(engine, version.graph, key[-1][1] if key[-1] else True)
            carried[(key[0], id(version.graph), *key[2:])] = (
                new,
                replace(basis, chain_loads=loads),
            )
        with self._cache_lock:
            self._engines.update(carried)

    def engine(
        self, chain: str, model: str, hops: int, flagged_file: Path | None = None
    ) -> tuple[Engine, Basis]:
        """The engine for ``chain`` (UTXO or account) and the basis of its answers.

        An engine is reused while nothing it depends on changed: the chain loads, the active
        snapshots and tag sets (one small query), the cluster map's build and the flag file;
        only then are flags read and the bulk sweep run."""
        check_options(model, hops, error=BadRequest)
        graph, loads = self.graph(chain)
        if isinstance(graph, AccountGraph):
            check_options(model, models=ACCOUNT_MODELS, error=BadRequest)
        version = data_version(self.db)  # once per request inside ``_snapshot_cache.pinned``
        files = ClusterFiles.open(self.store.root, chain) if isinstance(graph, UtxoGraph) else None
        build = files.build if files is not None else None
        if self.snapshots is not None:
            version = (tuple(sorted(self.snapshots.items())), version[1])
        cluster_key = None if files is None else (build, files.coinjoin_filter)
        key = (chain, id(graph), model, hops, _file_key(flagged_file), version, cluster_key)
        with self._cache_lock:
            cached = self._engines.get(key)
        if cached is not None and cached[0].graph is graph:
            return cached
        flags, basis = flags_for(self.db, chain, flagged_file, pinned=self.snapshots)
        basis = replace(basis, chain_loads=[k[:16] for k in loads])
        engine: Engine
        if isinstance(graph, UtxoGraph):
            basis = replace(basis, cluster_build=build, utxo=True)
            clusters = cluster_labels(graph, loads, files) if files is not None else None
            engine = ExposureEngine(graph, flags, model=model, hops=hops, clusters=clusters)  # type: ignore[arg-type]
            engine.run()
        else:
            engine = AccountExposure(graph, flags, model=model)  # type: ignore[arg-type]
        # Keep the other chains' engines; of this chain, only the current data's, for the
        # graphs a reorganisation may fall back to.
        kept = {id(v.graph) for v in self.live.versions(chain)}
        with self._cache_lock:
            self._engines = {
                k: v
                for k, v in self._engines.items()
                if k[0] != chain or (k[1] in kept and k[2:] == key[2:])
            }
            self._engines[key] = (engine, basis)
        return engine, basis

    # ---- answers
    def screen(self, request: ExposureRequest) -> ExposureAnswer:
        """Exposure of one transaction, output or address, with its evidence and basis.

        ``NotFound`` for a transaction, output, address or token the chain data does not
        hold; ``Unavailable`` when nothing is loaded for the chain."""
        chain, address = request.chain, request.address
        if address is not None:
            parsed = parse_any(address)
            if parsed.valid:
                chain = chain or parsed.chain
                if parsed.chain == chain:
                    address = parsed.address
        chain = chain or "btc"
        if (
            address is not None
            or request.direction == "out"
            or ClusterFiles.open(self.store.root, chain) is not None
        ):
            # New blocks can change these answers (an address's new transfers, a later spend,
            # clusters merged); without clusters, a transaction's source of funds lies in
            # older blocks only.
            self.graph(chain)  # starts merging the loads appended since, if any
            self.live.wait(chain, timeout=TIP_WAIT_SECONDS)
        seen: Version | None = None
        while True:
            try:
                return self._screen(request, chain, address)
            except UnknownSubject:
                # A deposit in a block being merged: answer once the graph reaches the tip.
                self.live.wait(chain)
                latest = self.live.latest(chain)
                failed = self.live.errors.get(chain)
                if failed is not None:
                    raise Unavailable(
                        f"chain {chain}: the newest chain loads could not be merged: {failed}"
                    ) from failed
                if latest is None or latest is seen:
                    raise
                seen = latest

    def _screen(self, request: ExposureRequest, chain: str, address: str | None) -> ExposureAnswer:
        with self._lock:
            engine, basis = self.engine(chain, request.model, request.hops, request.flagged_file)
            token = request.token
            # Checked in the request: one of the engines' directions.
            direction = cast(Direction, request.direction)
            top = request.paths
            if isinstance(engine, AccountExposure):
                if address is None:
                    raise BadRequest(f"txid: chain {chain} is an account chain: screen an address")
                result = engine.address(address, direction, token=token, paths=top)
                if token is None:
                    used = engine.tokens_of(address)
                    token = used[0] if used else (engine.token or "")
            elif address is not None:
                result = engine.address(address, direction, paths=top)
            elif request.output_index is not None:
                assert request.txid is not None
                result = engine.output(request.txid, request.output_index, direction, paths=top)
            else:
                assert request.txid is not None
                result = engine.transaction(request.txid, direction, paths=top)
        return _answer(result, chain, basis, unit_of(chain, token))

    def table(
        self, chain: str, model: str, hops: int, flagged_file: Path | None = None
    ) -> tuple[ExposureEngine, Basis]:
        """Every tainted output of ``chain`` (source of funds), as the engine's table."""
        with self._lock:
            engine, basis = self.engine(chain, model, hops, flagged_file)
        if not isinstance(engine, ExposureEngine):
            raise BadRequest(f"chain: {chain} is an account chain; --all needs a UTXO chain")
        return engine, basis


def risk_of(result: Exposure) -> Risk:
    """A decision the platform can act on: flagged or direct exposure blocks, indirect exposure
    goes to review, anything else is allowed."""
    hops, tainted = result.min_hops, result.tainted_value or 0
    inbound = result.direction == "in"
    if tainted and hops == 0:
        return Risk("flagged", "block", "the subject itself is flagged")
    if tainted and hops == 1:
        why = "received straight from" if inbound else "sent straight to"
        return Risk("direct", "block", f"{why} a flagged address")
    if tainted:
        return Risk("indirect", "review", f"{result.fraction:.2%} within {hops} hops")
    if result.stopped:
        return Risk("none", "allow", "flows stop at another exchange")
    return Risk("none", "allow", "no flagged funds within the hop limit")


def warm_up() -> None:
    """Compile the exposure kernels (about 20 s the first time, cached on disk afterwards), so
    that a server does it before it listens rather than on its first request."""
    from sanctrace.chain import exposure, exposure_account

    exposure.warm_up()
    exposure_account.warm_up()
