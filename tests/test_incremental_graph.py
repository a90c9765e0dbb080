"""Incremental graphs: loads appended one by one answer exactly as a graph built from all of
them (exposure under every model, both directions, evidence; cluster partitions), on real
Bitcoin and Ethereum blocks and on synthetic ones; the exposure service merges new loads in the
background and falls back on a reorganisation."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sanctrace.chain._exposure_append import (
    append_account,
    append_utxo,
    extend_account_engine,
    extend_engine,
)
from sanctrace.chain._exposure_grow import grow
from sanctrace.chain._exposure_live import LiveGraphs
from sanctrace.chain.cluster import cluster_addresses, extend_clustering, extend_labels
from sanctrace.chain.exposure import ExposureEngine
from sanctrace.chain.exposure_account import AccountExposure
from sanctrace.chain.flags import Flag, FlagSet
from sanctrace.chain.graph import AccountGraph, UtxoGraph
from sanctrace.chain.records import Block, Transfer, Tx, TxIn, TxOut
from sanctrace.chain.sources.registry import detect_format, get_format
from sanctrace.chainstore.clusters import build_clusters
from sanctrace.chainstore.store import ChainStore
from sanctrace.services.exposure import ExposureRequest, ExposureService
from sanctrace.store import open_database

UTXO_TABLES = ("transactions", "inputs", "outputs")


# --------------------------------------------------------------------------------- helpers


def synthetic_blocks(
    seed: int = 3, blocks: int = 24, per_block: int = 30, fork: tuple[int, int] | None = None
) -> list[Block]:
    """Blocks of random spends among 80 addresses: coinbases of 4 outputs, transactions of
    1-3 inputs and 1-3 outputs, some outputs without an address. ``fork`` (height, seed):
    from that height on, another branch (other transactions) over the same prefix."""
    rng = random.Random(seed)
    mark = "1"
    unspent: list[tuple[str, int, int]] = []
    chain = []
    for h in range(blocks):
        if fork is not None and h == fork[0]:
            rng, mark = random.Random(fork[1]), "2"
        coinbase = Tx(
            f"{h:06x}c{mark}".ljust(64, "0"),
            [TxIn("0" * 64, 0xFFFFFFFF, 0, coinbase=True)],
            [TxOut(5_000 + i, "p2pkh", f"1addr{rng.randrange(80)}") for i in range(4)],
        )
        txs, made = [coinbase], []
        for j in range(per_block):
            if not unspent:
                break
            count = min(len(unspent), rng.randint(1, 3))
            spent = [unspent.pop(rng.randrange(len(unspent))) for _ in range(count)]
            total = sum(s[2] for s in spent)
            cuts = sorted(rng.randrange(1, max(total, 2)) for _ in range(rng.randint(0, 2)))
            values = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
            txid = f"{h:06x}{j:04x}".ljust(64, mark)
            outs = [
                TxOut(v, "p2pkh", None if rng.random() < 0.05 else f"1addr{rng.randrange(80)}")
                for v in values
            ]
            txs.append(Tx(txid, [TxIn(s[0], s[1], 0) for s in spent], outs))
            made += [(txid, i, v) for i, v in enumerate(values)]
        unspent += [(coinbase.txid, i, 5_000 + i) for i in range(4)] + made
        chain.append(
            Block("btc", h, f"{h:064x}", f"{h - 1:064x}", "0" * 64, 1_300_000_000 + h, txs)
        )
    return chain


def write_loads(
    store: ChainStore, batches: list[list], tmp: Path, chain: str = "btc", first: int = 0
) -> None:
    """One chain-store load per batch of records (as a follower appends them), numbered from
    ``first``."""
    for n, records in enumerate(batches, start=first):
        source = tmp / f"batch-{chain}-{n}.src"
        source.write_text(str(n))
        digest = f"{n:02x}{chain}".ljust(64, "a")
        store.write(chain, records, [source], digest, fmt="test")


def tables(store: ChainStore, entries: list[dict], names: tuple[str, ...]) -> list[pa.Table]:
    out = []
    for name in names:
        parts = [
            pq.read_table(store.root / e["parts"][name]) for e in entries if name in e["parts"]
        ]
        out.append(pa.concat_tables(parts))
    return out


def appended_graphs(store: ChainStore, chain: str = "btc") -> list[UtxoGraph]:
    """The graph after each load: built from the first, then appended load by load."""
    entries = store.loads(chain)
    graphs = [UtxoGraph.from_tables(*tables(store, entries[:1], UTXO_TABLES), chain=chain)]
    for entry in entries[1:]:
        longer = append_utxo(graphs[-1], *tables(store, [entry], UTXO_TABLES))
        assert longer is not None
        graphs.append(longer)
    return graphs


def flags_of(flagged: list[str], stops: list[str]) -> FlagSet:
    return FlagSet(
        {a: [Flag("sanctioned", f"e{i % 2}", f"Entity {i % 2}")] for i, a in enumerate(flagged)},
        {a: [Flag("exchange", "x", "Exchange X")] for a in stops},
    )


def partition(graph: UtxoGraph, labels: np.ndarray) -> set[frozenset[str]]:
    names = graph.addresses.strings().to_pylist()
    groups: dict[int, set[str]] = {}
    for name, label in zip(names, labels.tolist(), strict=True):
        groups.setdefault(label, set()).add(name)
    return {frozenset(g) for g in groups.values()}


def assert_same_exposure(
    graphs: list[UtxoGraph],
    full: UtxoGraph,
    flags: FlagSet,
    subjects: list[tuple[str, str]],
    clusters: tuple[list[np.ndarray | None], np.ndarray | None] = ([], None),
) -> None:
    """Engines carried over the appended graphs answer as one engine over ``full``."""
    steps, full_labels = clusters
    for model in ("haircut", "poison", "fifo"):
        labels = steps[0] if steps else None
        engine = ExposureEngine(graphs[0], flags, model=model, clusters=labels)  # type: ignore[arg-type]
        engine.run()
        for n, graph in enumerate(graphs[1:], start=1):
            engine = extend_engine(engine, graph, steps[n] if steps else None)
            # without clusters only the new transactions are swept
            assert ("appended_transactions" in engine.stats) == (not steps)
        reference = ExposureEngine(full, flags, model=model, clusters=full_labels)  # type: ignore[arg-type]
        reference.run()
        assert engine.table().equals(reference.table()), model
        for kind, subject in subjects:
            for direction in ("in", "out"):
                ask = engine.address if kind == "address" else engine.transaction
                want = reference.address if kind == "address" else reference.transaction
                assert ask(subject, direction) == want(subject, direction), (model, subject)


# ----------------------------------------------------------------------------------- tests


def test_grown_arrays_leave_older_views_alone():
    base = grow(np.arange(3), np.arange(3, 5))
    longer = grow(base, np.array([9]))
    assert longer.base is base.base and base.tolist() == [0, 1, 2, 3, 4]
    other = grow(base, np.array([7]))  # ``base`` is no longer the newest view: copied
    assert other.tolist() == [0, 1, 2, 3, 4, 7] and longer.tolist() == [0, 1, 2, 3, 4, 9]
    wide = grow(np.zeros(2, np.int32), np.array([2**40]))
    assert wide.dtype == np.int64 and wide[-1] == 2**40


def test_synthetic_batches_equal_a_full_build(tmp_path):
    store = ChainStore(tmp_path / "chain")
    blocks = synthetic_blocks()
    write_loads(store, [blocks[i : i + 5] for i in range(0, len(blocks), 5)], tmp_path)
    graphs = appended_graphs(store)
    full = UtxoGraph.from_tables(*tables(store, store.loads("btc"), UTXO_TABLES))
    assert (graphs[-1].n_tx, graphs[-1].n_outputs, graphs[-1].n_inputs) == (
        full.n_tx,
        full.n_outputs,
        full.n_inputs,
    )
    assert graphs[-1].txids.strings().equals(full.txids.strings())
    for name in ("out_ptr", "out_value", "in_ptr", "in_output", "in_value", "spent_by"):
        assert np.array_equal(getattr(graphs[-1], name), getattr(full, name)), name
    assert graphs[0].n_outputs < full.n_outputs  # the first graph was not changed
    flags = flags_of(["1addr3", "1addr17", "1addr40"], ["1addr9"])
    subjects = [("address", f"1addr{i}") for i in (1, 3, 22, 55)]
    subjects += [("tx", full.txid(t)) for t in (5, full.n_tx // 2, full.n_tx - 1)]
    assert_same_exposure(graphs, full, flags, subjects)

    # clusters: extended load by load, the same partition (and labels) as from scratch
    clustering = cluster_addresses(graphs[0])
    for graph in graphs[1:]:
        clustering = extend_clustering(clustering, graph)
    assert np.array_equal(clustering.labels, cluster_addresses(graphs[-1]).labels)
    whole = cluster_addresses(full)
    assert partition(graphs[-1], clustering.labels) == partition(full, whole.labels)
    assert len(clustering.ev_a) == len(whole.ev_a)  # a spanning forest either way

    # exposure over clusters: a stored map's labels, with the later merges applied on top
    first = cluster_addresses(graphs[0]).labels
    steps = [first] + [extend_labels(first, g, graphs[0].n_tx) for g in graphs[1:]]
    assert partition(graphs[-1], steps[-1]) == partition(full, whole.labels)
    assert_same_exposure(graphs, full, flags, subjects[:3], (steps, whole.labels))


def test_what_cannot_be_appended_is_refused(tmp_path):
    store = ChainStore(tmp_path / "chain")
    blocks = synthetic_blocks(blocks=6, per_block=5)
    write_loads(store, [blocks[3:], blocks[:3]], tmp_path)  # later blocks first
    entries = store.loads("btc")
    graph = UtxoGraph.from_tables(*tables(store, entries[:1], UTXO_TABLES))
    assert append_utxo(graph, *tables(store, entries[1:], UTXO_TABLES)) is None
    assert append_utxo(graph, *tables(store, entries[:1], UTXO_TABLES)) is None  # same txids


def test_real_bitcoin_blocks_in_batches(shared_data, tmp_path):
    folder = shared_data / "chain" / "btc" / "raw_blocks"
    reader = get_format("btc_raw")
    early = list(reader.read([folder / "blocks1-256.bz2"]))
    later = [
        next(iter(reader.read([p]))) for p in sorted(folder.glob("block-*.blk"))
    ]  # 540,107 and 574,200
    later.sort(key=lambda b: b.height)
    assert [b.height for b in later] == [540_107, 574_200]
    store = ChainStore(tmp_path / "chain")
    write_loads(store, [early[:85], early[85:170], early[170:], later[:1], later[1:]], tmp_path)
    graphs = appended_graphs(store)
    full = UtxoGraph.from_tables(*tables(store, store.loads("btc"), UTXO_TABLES))
    assert graphs[-1].n_outputs == full.n_outputs > 8_000
    satoshi, hal = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"
    consolidation = later[0].txs[1]
    spender = later[1].txs[1]
    payee = next(o.address for o in consolidation.outputs if o.address)
    flags = flags_of([satoshi, payee], [hal])
    subjects = [("address", hal), ("address", satoshi), ("address", payee)]
    subjects += [("tx", consolidation.txid), ("tx", spender.txid), ("tx", early[169].txs[1].txid)]
    assert_same_exposure(graphs, full, flags, subjects)
    tainted = ExposureEngine(full, flags)
    assert tainted.address(hal).tainted_value > 0  # block 170: Satoshi pays Hal Finney

    clustering = cluster_addresses(graphs[0])
    for graph in graphs[1:]:
        clustering = extend_clustering(clustering, graph)
    whole = cluster_addresses(full)
    assert partition(graphs[-1], clustering.labels) == partition(full, whole.labels)
    assert whole.n_clusters < full.n_addresses  # 540,107's consolidations merged addresses


def read_transfers(folder: Path) -> list[Transfer]:
    records: list[Transfer] = []
    for name in ("expected_transactions.json", "expected_token_transfers.json"):
        path = folder / name
        records += [r for r in detect_format(path).read([path]) if isinstance(r, Transfer)]
    return records


def test_real_ethereum_blocks_in_batches(shared_data, tmp_path):
    records = read_transfers(shared_data / "chain" / "eth" / "blocks_17173049_17173050")
    low = min(r.block_number for r in records)
    batches = [
        [r for r in records if r.block_number == low],
        [r for r in records if r.block_number != low],
    ]
    assert all(batches)
    store = ChainStore(tmp_path / "chain")
    write_loads(store, batches, tmp_path, chain="eth")
    entries = store.loads("eth")
    graph = AccountGraph.from_table(tables(store, entries[:1], ("transfers",))[0], chain="eth")
    longer = append_account(graph, tables(store, entries[1:], ("transfers",))[0])
    full = AccountGraph.from_table(tables(store, entries, ("transfers",))[0], chain="eth")
    assert longer is not None and longer.n_edges == full.n_edges
    assert longer.transfers.equals(full.transfers)
    assert append_account(longer, tables(store, entries[:1], ("transfers",))[0]) is None
    names = longer.addresses.strings().to_pylist()
    for node in range(0, longer.n_addresses, 7):  # the same neighbours, in the same order
        other = full.address_id(names[node])
        assert longer.transfers.take(pa.array(longer.out_edges_of(node))).equals(
            full.transfers.take(pa.array(full.out_edges_of(other)))
        )
        assert longer.transfers.take(pa.array(longer.in_edges_of(node))).equals(
            full.transfers.take(pa.array(full.in_edges_of(other)))
        )
    senders = [r.sender for r in batches[0][:40:4]]
    flags = flags_of(senders[:3], senders[3:4])
    for model in ("haircut", "poison"):
        engine = extend_account_engine(AccountExposure(graph, flags, model=model), longer)
        reference = AccountExposure(full, flags, model=model)
        assert engine.table().equals(reference.table())
        for r in batches[1][::25]:
            for direction in ("in", "out"):
                token = r.token
                assert engine.address(r.receiver, direction, token=token) == reference.address(
                    r.receiver, direction, token=token
                )


def screen(service: ExposureService, flagged: Path, **request) -> dict:
    return service.screen(ExposureRequest(flagged_file=flagged, **request)).to_dict()


def test_service_merges_new_loads_and_rolls_back(db_url, tmp_path):
    db = open_database(db_url)
    store = ChainStore(tmp_path / "chain")
    blocks = synthetic_blocks(seed=11, blocks=12, per_block=20)
    write_loads(store, [blocks[:6]], tmp_path)
    flagged = tmp_path / "flagged.txt"
    bad = [o.address for o in blocks[1].txs[0].outputs[:2]]
    flagged.write_text("\n".join(bad) + "\n")
    known = blocks[0].txs[0].outputs[0].address
    service = ExposureService(db, store)
    first = screen(service, flagged, address=known)
    assert len(first["basis"]["chain_loads"]) == 1
    build_clusters(store, "btc")  # a cluster map of the first load only

    write_loads(store, [blocks[6:9], blocks[9:]], tmp_path, first=1)  # two more loads
    entries = store.loads("btc")
    newest = blocks[-1].txs[-1].txid  # a deposit in the newest block: waits for the merge
    answer = screen(service, flagged, txid=newest)
    service.live.wait("btc")
    answer = screen(service, flagged, txid=newest)
    assert answer["basis"]["chain_loads"] == [e["sha256"][:16] for e in entries]
    rebuilt = ExposureService(db, store)
    for request in ({"txid": newest}, {"address": known}, {"address": bad[0]}):
        for direction in ("in", "out"):
            got = screen(service, flagged, direction=direction, **request)
            assert got == screen(rebuilt, flagged, direction=direction, **request)
    kept = service.live.versions("btc")
    assert kept[-1].graph.n_tx > kept[0].graph.n_tx
    assert service.live.counts == {"built": 1, "appended": 1, "rebuilt": 0, "fell_back": 0}

    # a reorganisation takes the last load out: the graph without it answers at once
    store.remove_loads([entries[-1]["sha256"]])
    rolled = screen(service, flagged, address=known)
    assert rolled["basis"]["chain_loads"] == [e["sha256"][:16] for e in entries[:-1]]
    assert rolled == screen(ExposureService(db, store), flagged, address=known)
    assert service.live.errors == {} and service.live.counts["fell_back"] == 1


def test_the_older_graph_answers_while_a_merge_runs_and_after_a_fork(tmp_path):
    store = ChainStore(tmp_path / "chain")
    main = synthetic_blocks(seed=5, blocks=10, per_block=15)
    branch = synthetic_blocks(seed=5, blocks=10, per_block=15, fork=(6, 99))
    assert main[:6] == branch[:6] and main[6].txs[1].txid != branch[6].txs[1].txid
    write_loads(store, [main[:6], main[6:]], tmp_path)
    gate = threading.Event()
    gate.set()

    def read(entries, table):  # the store's parts, held back while the gate is closed
        for entry in entries:
            if entry is not first[0]:
                gate.wait()
            if table in entry["parts"]:
                yield from pq.ParquetFile(store.root / entry["parts"][table]).iter_batches()

    live = LiveGraphs(read)
    first = store.loads("btc")[:1]
    older = live.current("btc", first)
    gate.clear()
    assert live.current("btc", store.loads("btc")) is older  # answers while merging
    assert live.pending("btc")
    gate.set()
    live.wait("btc")
    newer = live.latest("btc")
    assert newer is not None and len(newer.loads) == 2 and live.counts["appended"] == 1

    # the fork: the second load is rolled back and the other branch loaded
    store.remove_loads([store.loads("btc")[1]["sha256"]])
    write_loads(store, [branch[6:]], tmp_path, first=2)
    entries = store.loads("btc")
    assert live.current("btc", entries) is older  # fell back at once, merging the branch
    live.wait("btc")
    forked = live.latest("btc")
    assert forked is not None and forked.loads == tuple(e["sha256"] for e in entries)
    full = UtxoGraph.from_tables(*tables(store, entries, UTXO_TABLES))
    rebuilt_older = UtxoGraph.from_tables(*tables(store, entries[:1], UTXO_TABLES))
    for name in ("out_ptr", "out_value", "in_ptr", "in_output", "in_value", "spent_by"):
        assert np.array_equal(getattr(forked.graph, name), getattr(full, name)), name
        assert np.array_equal(getattr(older.graph, name), getattr(rebuilt_older, name)), name
    assert live.counts == {"built": 1, "appended": 2, "rebuilt": 0, "fell_back": 1}
