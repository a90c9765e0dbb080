"""Live chain data for ``services.chain_data``: follow a node, flag the decisions a fork
orphans, screen a deposit on a history fetched on demand.

Node URLs and credentials come from the settings (``SANCTRACE_BTC_RPC_*``,
``SANCTRACE_ETH_RPC_*``); a URL given to ``follow`` replaces the setting's URL only, and may
not carry credentials. Texts name a node only by its masked URL.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sanctrace.chainstore.store import ChainStore
from sanctrace.errors import BadRequest, Unavailable
from sanctrace.nodes.follow import Follower, FollowOptions, FollowState, Rollback
from sanctrace.nodes.ondemand import ConeFetch, fetch_btc_cone, fetch_eth_history, ondemand_store
from sanctrace.nodes.rpc import Backoff, RpcClient
from sanctrace.nodes.sources import BitcoinNode, ChainNode, EthereumNode
from sanctrace.services.context import Context
from sanctrace.services.exposure import ExposureAnswer, ExposureRequest, ExposureService
from sanctrace.settings import Settings
from sanctrace.store import Database
from sanctrace.store.monitoring import add_alert, evidence_key
from sanctrace.store.tables import decisions, events

__all__ = [
    "FOLLOWED_CHAINS",
    "FollowRequest",
    "OnDemandAnswer",
    "flag_orphaned",
    "follow",
    "follow_in_background",
    "follower",
    "node_client",
    "on_demand_exposure",
    "ondemand_cache",
]

log = logging.getLogger(__name__)

FOLLOWED_CHAINS = ("btc", "eth")
REORG_RULE = "chain_reorg"


def _secret(value: Any) -> str | None:
    return None if value is None else str(value.get_secret_value())


def node_client(
    settings: Settings,
    chain: str,
    url: str | None = None,
    *,
    retries: int = 3,
    backoff: Backoff | None = None,
    wait: Callable[[float], Any] = time.sleep,
) -> RpcClient:
    """A client of ``chain``'s node: ``url``, else the setting; credentials from the settings.
    ``Unavailable`` when no node is configured."""
    if chain not in FOLLOWED_CHAINS:
        raise BadRequest(f"chain: {chain!r} is not one of {', '.join(FOLLOWED_CHAINS)}")
    configured = _secret(getattr(settings, f"{chain}_rpc_url"))
    target = url or configured
    if not target:
        raise Unavailable(
            f"no {chain} node: give --rpc URL or set SANCTRACE_{chain.upper()}_RPC_URL"
        )
    return RpcClient(
        target,
        user=_secret(getattr(settings, f"{chain}_rpc_user")),
        password=_secret(getattr(settings, f"{chain}_rpc_password")),
        cookie_file=settings.btc_rpc_cookie if chain == "btc" else None,
        timeout=settings.rpc_timeout,
        retries=retries,
        backoff=backoff,
        wait=wait,
    )


def _node(chain: str, client: RpcClient) -> ChainNode:
    return BitcoinNode(client) if chain == "btc" else EthereumNode(client, chain)


# ----------------------------------------------------------------------------- follow


@dataclass(frozen=True, kw_only=True)
class FollowRequest:
    """Follow ``chain``'s node: from ``start`` (None: where the store stopped, else the
    node's tip), ``confirmations`` deep before a block is final; ``until_tip`` stops at the
    node's tip instead of waiting for new blocks."""

    chain: str
    url: str | None = None
    start: int | None = None
    confirmations: int = 6
    batch: int = 50
    poll: float = 5.0
    backoff: float = 1.0
    backoff_limit: float = 60.0
    until_tip: bool = False
    give_up: int | None = None  # failures in a row before giving up (None: 5 with until_tip)

    def __post_init__(self) -> None:
        if self.chain not in FOLLOWED_CHAINS:
            raise BadRequest(f"chain: {self.chain!r} is not one of {', '.join(FOLLOWED_CHAINS)}")
        if not 1 <= self.confirmations <= 1000:
            raise BadRequest("confirmations: must be between 1 and 1000")
        if not 1 <= self.batch <= 10_000:
            raise BadRequest("batch: must be between 1 and 10000")
        if self.start is not None and self.start < 0:
            raise BadRequest("from: must not be negative")

    def options(self) -> FollowOptions:
        return FollowOptions(
            start=self.start,
            confirmations=self.confirmations,
            batch=self.batch,
            poll=self.poll,
            backoff=self.backoff,
            backoff_limit=self.backoff_limit,
        )


def follower(
    ctx: Context,
    request: FollowRequest,
    *,
    client: RpcClient | None = None,
    on_append: Callable[[int, int], None] | None = None,
) -> Follower:
    """The follower of a request, its rollbacks flagging the orphaned decisions."""
    client = client or node_client(ctx.settings, request.chain, request.url)

    def rolled_back(rollback: Rollback) -> None:
        try:
            db = ctx.db
        except Unavailable as exc:
            if "no database at" not in str(exc):
                raise  # unreachable: the follower tries again, the store untouched
            log.warning("follow %s: no database, so no decision to flag", request.chain)
            return
        flag_orphaned(db, rollback, sla_hours=ctx.settings.sla_hours)

    return Follower(
        _node(request.chain, client),
        ctx.chain_store,
        request.options(),
        on_rollback=rolled_back,
        on_append=on_append,
    )


def follow(
    ctx: Context,
    request: FollowRequest,
    stop: threading.Event | None = None,
    *,
    client: RpcClient | None = None,
    on_append: Callable[[int, int], None] | None = None,
) -> FollowState:
    """Follow until ``stop`` is set (or the tip, with ``until_tip``); the follower's state."""
    runner = follower(ctx, request, client=client, on_append=on_append)
    give_up = request.give_up
    if give_up is None and request.until_tip:
        give_up = 5
    runner.run(stop or threading.Event(), until_tip=request.until_tip, give_up=give_up)
    return runner.state


def follow_in_background(
    ctx: Context,
    request: FollowRequest,
    *,
    client: RpcClient | None = None,
    on_append: Callable[[int, int], None] | None = None,
) -> tuple[threading.Thread, threading.Event]:
    """Run ``follow`` in a daemon thread (``serve``); set the event to stop it."""
    stop = threading.Event()
    runner = follower(ctx, request, client=client, on_append=on_append)

    def run() -> None:
        try:
            runner.run(stop)
        except Exception:  # a follower that dies says so; serve keeps answering
            log.exception("follow %s stopped", request.chain)

    thread = threading.Thread(target=run, name=f"follow-{request.chain}", daemon=True)
    thread.start()
    return thread, stop


# ------------------------------------------------------------------ orphaned decisions


def flag_orphaned(
    db: Database, rollback: Rollback, *, sla_hours: dict[str, int] | None = None
) -> list[int]:
    """An alert for review on every decision made on a deposit whose transaction was in an
    orphaned block; the alert ids (one per decision; a repeated fork counts on it)."""
    if not rollback.txids:
        return []
    orphaned = set(rollback.txids)
    query = (
        sa.select(
            events.c.event_id,
            events.c.customer_id,
            events.c.payload,
            decisions.c.decision_id,
            decisions.c.decision,
        )
        .join(decisions, decisions.c.event_id == events.c.event_id)
        .where(events.c.type == "deposit", events.c.chain == rollback.chain)
    )
    found: list[int] = []
    with db.begin() as conn:
        rows = [r for r in conn.execute(query) if _txid(r.payload) in orphaned]
        for row in rows:
            txid = _txid(row.payload)
            heights = sorted(rollback.blocks)
            span = f"{heights[0]}–{heights[-1]}" if len(heights) > 1 else str(heights[0])
            values = {
                "customer_id": row.customer_id,
                "rule": REORG_RULE,
                "severity": "high",
                "action": "alert",
                "subject": txid,
                "summary": (
                    f"Deposit {txid} was decided ({row.decision}) on a {rollback.chain} block "
                    f"that a reorganisation orphaned (heights {span}); review the decision."
                ),
                "summary_ja": (
                    f"入金 {txid} の判定（{row.decision}）の根拠となった {rollback.chain} の"
                    f"ブロック（高さ {span}）はチェーン再編成で無効になりました。判定を見直してください。"
                ),
                "evidence": {
                    "txid": txid,
                    "decision_id": row.decision_id,
                    "decision": row.decision,
                    "fork_height": rollback.fork_height,
                    "orphaned_blocks": {str(h): b for h, b in sorted(rollback.blocks.items())},
                },
                "evidence_key": evidence_key(REORG_RULE, txid, row.decision_id),
                "decision_id": row.decision_id,
                "event_id": row.event_id,
                "snapshot_id": None,
            }
            found.append(add_alert(conn, values, sla_hours=sla_hours)[0])
    return found


def _txid(payload: Any) -> str:
    return str((payload or {}).get("txid") or "").lower() if isinstance(payload, dict) else ""


# --------------------------------------------------------------------------- on demand


def ondemand_cache(ctx: Context) -> ChainStore:
    """The chain store of histories fetched on demand (beside the followed one)."""
    return ondemand_store(ctx.chain_store)


@dataclass(frozen=True)
class OnDemandAnswer:
    """A history fetched from the node and the exposure computed on it."""

    fetch: ConeFetch
    exposure: ExposureAnswer

    @property
    def hit(self) -> bool:
        return self.exposure.hit

    def to_dict(self) -> dict[str, Any]:
        return {**self.exposure.to_dict(), "fetch": self.fetch.to_dict()}


def on_demand_exposure(
    ctx: Context,
    *,
    chain: str,
    hops: int,
    txid: str | None = None,
    output_index: int | None = None,
    address: str | None = None,
    direction: str = "in",
    model: str = "haircut",
    token: str | None = None,
    flagged_file: Path | None = None,
    client: RpcClient | None = None,
) -> OnDemandAnswer:
    """Fetch the source of funds of a transaction (btc: ancestors up to ``hops``) or an
    address (eth: ``Transfer`` logs) from the node, cache it, and screen it there.

    ``Unavailable`` (``NodeUnreachable``) when no node is configured or it does not answer;
    ``NotFound`` when the node does not know the transaction."""
    if direction != "in":
        raise BadRequest("direction: on-demand history traces the source of funds (in)")
    client = client or node_client(ctx.settings, chain, retries=1, backoff=Backoff(0.2, 1.0))
    cache = ondemand_store(ctx.chain_store)
    if chain == "btc":
        if txid is None:
            raise BadRequest("txid: btc on-demand history starts from a transaction")
        fetched = fetch_btc_cone(client, cache, txid, hops)
    else:
        if address is None:
            raise BadRequest(f"address: {chain} on-demand history starts from an address")
        fetched = fetch_eth_history(client, cache, address, hops, chain=chain)
    request = ExposureRequest(
        chain=chain,
        txid=txid if chain == "btc" else None,
        output_index=output_index if chain == "btc" else None,
        address=None if chain == "btc" else address,
        direction=direction,
        model=model,
        hops=hops,
        token=token,
        flagged_file=flagged_file,
    )
    answer = ExposureService(ctx.db, cache).screen(request)
    return OnDemandAnswer(fetched, answer)
