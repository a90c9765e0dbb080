"""Following a node: append its new blocks to the chain store, roll back what it orphans.

Each ``step`` reads the node's tip, checks that the store's last followed block is still on
the node's chain (else walks down to the fork point, tells ``on_rollback`` and then rolls
the orphaned blocks back), then appends the next blocks: up to ``batch`` blocks in one load while they
are at least ``confirmations`` deep, one block per load within that depth (those are
provisional: a fork takes them back, and one-block loads make that cheap). ``run`` repeats
steps until stopped, waiting ``poll`` seconds at the tip and backing off exponentially while
the node is away. Every step writes the follower's state (``follow-<chain>.json`` in the chain
store, atomically): the store's tip, the node's, the lag, the last error.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sanctrace.chainstore.load import append_blocks, followed_blocks, roll_back
from sanctrace.chainstore.store import ChainStore
from sanctrace.errors import SanctraceError, Unavailable
from sanctrace.fileio import write_atomic
from sanctrace.nodes.rpc import Backoff, NodeRefused, RpcError
from sanctrace.nodes.sources import ChainNode, NodeChanged

__all__ = ["FollowOptions", "FollowState", "Follower", "Rollback", "read_state", "state_path"]

log = logging.getLogger(__name__)


def state_path(store: ChainStore, chain: str) -> Path:
    """Where the follower of ``chain`` keeps its state."""
    return store.root / f"follow-{chain}.json"


@dataclass
class FollowState:
    """What ``chain status`` shows of a follower (the JSON of its state file)."""

    chain: str
    node: str = ""  # masked URL
    height: int | None = None  # the store's last followed block
    hash: str | None = None
    node_height: int | None = None
    lag: int | None = None  # blocks behind the node
    confirmations: int = 1
    provisional: int = 0  # followed blocks less than ``confirmations`` deep
    blocks_appended: int = 0
    reorgs: int = 0
    last_reorg: dict[str, Any] | None = None
    last_error: str | None = None
    last_error_at: str | None = None
    updated_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_state(store: ChainStore, chain: str) -> FollowState | None:
    """The follower's state of ``chain``; None when it never ran."""
    try:
        data = json.loads(state_path(store, chain).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    known = set(FollowState.__dataclass_fields__)
    return FollowState(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class FollowOptions:
    """How to follow: the first height (None: after the store's last followed block, else the
    node's tip), the confirmation depth, the batch size and the waits."""

    start: int | None = None
    confirmations: int = 6
    batch: int = 50
    poll: float = 5.0
    backoff: float = 1.0
    backoff_limit: float = 60.0

    def __post_init__(self) -> None:
        if self.confirmations < 1 or self.batch < 1:
            raise SanctraceError("confirmations and batch must be at least 1")
        if self.start is not None and self.start < 0:
            raise SanctraceError("--from must not be negative")


@dataclass
class Rollback:
    """Blocks a fork took back: the fork height (the last block kept), the orphaned blocks
    (height → hash) and the transactions they held."""

    chain: str
    fork_height: int
    blocks: dict[int, str]
    txids: list[str] = field(default_factory=list)


class Follower:
    """Follows one node into one chain store (see the module docstring)."""

    def __init__(
        self,
        node: ChainNode,
        store: ChainStore,
        options: FollowOptions | None = None,
        *,
        on_rollback: Callable[[Rollback], None] | None = None,
        on_append: Callable[[int, int], None] | None = None,
    ) -> None:
        self.node, self.store = node, store
        self.options = options or FollowOptions()
        self.on_rollback, self.on_append = on_rollback, on_append
        self.chain = node.chain
        self.state = read_state(store, self.chain) or FollowState(self.chain)
        self.state.node = node.client.shown
        self.state.confirmations = self.options.confirmations

    # ------------------------------------------------------------------------- steps

    def step(self) -> int:
        """One round: reconcile a fork, append the next blocks; the blocks appended."""
        try:
            appended = self._step()
        except (Unavailable, NodeChanged, RpcError) as exc:
            self._failed(exc)
            raise
        self.state.last_error = None
        self._save()
        return appended

    def run(
        self, stop: threading.Event, until_tip: bool = False, give_up: int | None = None
    ) -> None:
        """Steps until ``stop`` is set (or, with ``until_tip``, the store reaches the node's
        tip); waits at the tip and backs off while the node is away. ``give_up``: after that
        many failures in a row the last one is raised (None: never)."""
        backoff = Backoff(self.options.backoff, self.options.backoff_limit)
        failures = 0
        while not stop.is_set():
            try:
                appended = self.step()
            except (Unavailable, NodeChanged, RpcError) as exc:
                failures += 1
                if give_up is not None and (failures >= give_up or isinstance(exc, NodeRefused)):
                    raise
                delay = backoff.next()
                log.warning("follow %s: %s; again in %.1f s", self.chain, exc, delay)
                stop.wait(delay)
                continue
            backoff.reset()
            failures = 0
            if not appended:
                if until_tip:
                    return
                stop.wait(self.options.poll)

    def _step(self) -> int:
        tip = self.node.tip()
        self.state.node_height = tip
        known = followed_blocks(self.store, self.chain)
        if known:
            known = self._reconcile(known, tip)
        if known:
            ours = max(known)
            start = ours + 1
        else:
            start = self.options.start if self.options.start is not None else tip
        appended = 0
        if start <= tip:
            deep = tip - self.options.confirmations + 1  # the last block that is confirmed
            count = min(self.options.batch, deep - start + 1) if start <= deep else 1
            blocks = self.node.fetch(start, count)
            self._check_links(blocks, known)
            hashes = [b.hash for b in blocks]
            records = [r for b in blocks for r in b.records]
            append_blocks(self.store, self.chain, self.node.fmt, start, hashes, records)
            appended = len(blocks)
            known = {**known, **{b.height: (b.hash, "") for b in blocks}}
            self.state.blocks_appended += appended
            if self.on_append is not None:
                self.on_append(start, appended)
        self._track(known, tip)
        return appended

    def _check_links(self, blocks: list[Any], known: dict[int, tuple[str, str]]) -> None:
        """Each block's parent is the block before it: the store's, then the batch's."""
        previous = known.get(blocks[0].height - 1)
        expected = previous[0] if previous else None
        for block in blocks:
            if expected is not None and block.prev_hash != expected:
                raise NodeChanged(
                    f"block {block.height} {block.hash} does not build on {expected}: "
                    "the node's chain changed; trying again"
                )
            expected = block.hash

    def _reconcile(self, known: dict[int, tuple[str, str]], tip: int) -> dict[int, tuple[str, str]]:
        """Roll back the followed blocks the node no longer has; what stays."""
        height = min(max(known), tip)
        lowest = min(known)
        while height >= lowest and self.node.block_hash(height) != known[height][0]:
            height -= 1
        if height == max(known):
            return known
        orphaned = {h: known[h][0] for h in known if h > height}
        rollback = Rollback(self.chain, height, orphaned, self._txids(orphaned))
        if self.on_rollback is not None:
            # Before the store changes: when it fails, the next step finds the fork again.
            self.on_rollback(rollback)
        removed = roll_back(self.store, self.chain, height + 1)
        cut = min([int(e["heights"][0]) for e in removed] + [height + 1])
        kept = {h: v for h, v in known.items() if h < cut}
        self.state.reorgs += 1
        self.state.last_reorg = {
            "at": _now(),
            "fork_height": height,
            "orphaned": len(orphaned),
            "deeper_than_confirmations": len(orphaned) >= self.options.confirmations,
        }
        log.warning(
            "follow %s: fork at height %d: %d block(s) orphaned", self.chain, height, len(orphaned)
        )
        return kept

    def _txids(self, orphaned: dict[int, str]) -> list[str]:
        """The transactions of the orphaned blocks, read from the store before they go."""
        import pyarrow.compute as pc

        if self.node.fmt == "btc_rpc":
            table = self.store.table(self.chain, "transactions", ["txid", "block_hash"])
            mask = pc.is_in(table["block_hash"], value_set=_strings(orphaned.values()))
            return sorted(set(table.filter(mask)["txid"].to_pylist()))
        table = self.store.table(self.chain, "transfers", ["tx_hash", "block_number"])
        low = min(orphaned)
        mask = pc.greater_equal(table["block_number"], low)
        return sorted(set(table.filter(mask)["tx_hash"].to_pylist()))

    # ------------------------------------------------------------------------- state

    def _track(self, known: dict[int, tuple[str, str]], tip: int) -> None:
        if known:
            ours = max(known)
            self.state.height, self.state.hash = ours, known[ours][0]
            self.state.lag = max(0, tip - ours)
            floor = tip - self.options.confirmations + 1
            self.state.provisional = sum(1 for h in known if h > floor)
        else:
            self.state.lag = None

    def _failed(self, exc: Exception) -> None:
        self.state.last_error = str(exc)[:500]
        self.state.last_error_at = _now()
        self._save()

    def _save(self) -> None:
        self.state.updated_at = _now()
        path = state_path(self.store, self.chain)
        try:
            write_atomic(path, json.dumps(self.state.to_dict(), indent=2) + "\n")
        except OSError as exc:
            log.warning("follow %s: cannot write %s: %s", self.chain, path, exc)


def _strings(values: Any) -> Any:
    import pyarrow as pa

    return pa.array(list(values), type=pa.string())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
