"""``LiveFacts``: what the rules may ask, answered by the services and the stored events.

One instance per ``Context`` serves every request of a process: the address screener, the
exposure engines and the name screener are built once and reused until the lists, tags or
chain data change, so a call costs a lookup. Inside ``services._snapshot_cache.pinned`` (one
decision, one batch) the data version they all depend on is read once, and the history and
customer queries share the block's read connection.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sanctrace.errors import NotFound, Unavailable
from sanctrace.model import Match, NameQuery
from sanctrace.monitor import ipgeo
from sanctrace.monitor.events import CustomerEvent, Event, NameIn, parse_event
from sanctrace.monitor.rules.base import AddressFacts, IpCountry
from sanctrace.names import Screener
from sanctrace.services._snapshot_cache import active_snapshot_ids, reader
from sanctrace.services.addresses import AddressAnswer, AddressScreener
from sanctrace.services.context import Context
from sanctrace.services.exposure import ExposureRequest, ExposureService
from sanctrace.services.names import shared_screener
from sanctrace.store.monitoring import event_rows
from sanctrace.store.tables import events

__all__ = ["LiveFacts", "address_facts", "exposure_of", "on_demand", "party_matches"]


class LiveFacts:
    """The ``Facts`` protocol over a context's database, chain store and the IP database."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._lock = threading.Lock()
        self._screener: AddressScreener | None = None
        # One exposure service per flag file: the service keeps one engine per chain, and a
        # rule with its own flags (mining_origin) would otherwise rebuild the other's engine.
        self._exposure: dict[str | None, ExposureService] = {}

    # ---- addresses
    def address(self, chain: str, address: str) -> AddressFacts:
        """List hits, own tags and the tags its cluster lends it (each with its reason)."""
        if self._screener is None:
            with self._lock:
                if self._screener is None:
                    self._screener = AddressScreener(self.ctx.db, self.ctx.chain_store)
        return address_facts(self._screener.screen(address), chain)

    # ---- exposure
    def exposure(
        self,
        *,
        chain: str,
        direction: str,
        hops: int,
        address: str | None = None,
        txid: str | None = None,
        output_index: int | None = None,
        flagged_file: Path | None = None,
    ) -> dict[str, Any] | None:
        """The exposure answer as JSON, or None when the chain store holds nothing for the
        chain or does not know the subject."""
        key = None if flagged_file is None else str(flagged_file)
        with self._lock:
            service = self._exposure.get(key)
            if service is None:
                service = self._exposure[key] = ExposureService(self.ctx.db, self.ctx.chain_store)
        answer = exposure_of(
            service,
            chain=chain,
            direction=direction,
            hops=hops,
            address=address,
            txid=txid,
            output_index=output_index,
            flagged_file=flagged_file,
        )
        if answer is None and txid is not None and direction == "in" and chain == "btc":
            answer = on_demand(self.ctx, chain, txid, output_index, hops, flagged_file)
        return answer

    # ---- names
    def names(
        self,
        names: Sequence[NameIn],
        *,
        schema: str | None = None,
        birth_date: str | None = None,
        country: str | None = None,
    ) -> list[Match]:
        """Matches of a party's names at the screener's threshold, best per entity, best first.

        Each legal name and alias is a query, with the first kana reading beside it; kana
        alone is screened as the name. ``Unavailable`` when no list is loaded."""
        # The index of the snapshots the decision records (opened, or built, first).
        screener, _ = shared_screener(self.ctx, wait=True)
        return party_matches(screener, names, schema=schema, birth_date=birth_date, country=country)

    # ---- history
    def history(
        self,
        customer_id: str,
        *,
        types: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Event]:
        """The customer's stored events in time order."""
        with reader(self.ctx.db) as conn:
            rows = event_rows(
                conn, customer_id=customer_id, types=list(types) or None, since=since, until=until
            )
        return [parse_event(r.payload, f"stored event {r.event_id}") for r in rows]

    def customer(self, customer_id: str) -> CustomerEvent | None:
        """The customer's latest ``customer`` event."""
        query = (
            sa.select(events.c.event_id, events.c.payload)
            .where(events.c.customer_id == customer_id, events.c.type == "customer")
            .order_by(events.c.time.desc(), events.c.id.desc())
            .limit(1)
        )
        with reader(self.ctx.db) as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        event = parse_event(row.payload, f"stored event {row.event_id}")
        return event if isinstance(event, CustomerEvent) else None

    # ---- the rest
    def ip_country(self, ip: str) -> IpCountry | None:
        return ipgeo.lookup(ip)

    def snapshots(self) -> dict[str, int]:
        return active_snapshot_ids(self.ctx.db)


# What every Facts answers the same way, whatever lists it is pinned to (``cases.replay``).


def address_facts(answer: AddressAnswer, chain: str) -> AddressFacts:
    """An address screening answer as a rule sees it: its tags and those its cluster lends."""
    tags = list(answer.tags)
    if answer.cluster is not None:
        for member in answer.cluster.tagged:
            for tag in member.tags:
                tags.append({**tag, "cluster_id": answer.cluster.id, "path": member.path})
    return AddressFacts(
        address=answer.address,
        chain=answer.chain or chain,
        sanctioned=answer.sanctioned,
        hits=list(answer.hits),
        tags=tags,
        snapshots=dict(answer.snapshots),
    )


def exposure_of(
    service: ExposureService,
    *,
    chain: str,
    direction: str,
    hops: int,
    address: str | None,
    txid: str | None,
    output_index: int | None,
    flagged_file: Path | None,
) -> dict[str, Any] | None:
    """The exposure answer as JSON, or None when the chain has no data or the subject is
    unknown."""
    request = ExposureRequest(
        chain=chain,
        direction=direction,
        hops=hops,
        address=address if txid is None else None,
        txid=txid,
        output_index=output_index if txid is not None else None,
        flagged_file=flagged_file,
    )
    try:
        return service.screen(request).to_dict()
    except (Unavailable, NotFound):
        return None


def on_demand(
    ctx: Context,
    chain: str,
    txid: str,
    output_index: int | None,
    hops: int,
    flagged_file: Path | None,
) -> dict[str, Any] | None:
    """A deposit the chain store does not hold: its history fetched from the exchange's node
    (when one is configured) and screened. An unreachable node is ``Unavailable`` with a
    ``pending`` reason, so the decision holds: never a silent allow."""
    from sanctrace.services import chain_data

    if getattr(ctx.settings, f"{chain}_rpc_url", None) is None:
        return None
    try:
        answer = chain_data.on_demand_exposure(
            ctx,
            chain=chain,
            txid=txid,
            output_index=output_index,
            hops=hops,
            flagged_file=flagged_file,
        )
    except NotFound:
        return None
    except Unavailable as exc:
        raise Unavailable(
            f"pending: deposit {txid} is not in the chain store and its history could not be "
            f"fetched ({exc}); decide again when the {chain} node answers"
        ) from None
    return answer.to_dict()


def party_matches(
    screener: Screener,
    names: Sequence[NameIn],
    *,
    schema: str | None,
    birth_date: str | None,
    country: str | None,
) -> list[Match]:
    """Matches of a party's names, best per entity, best first: each legal name and alias is
    a query with the first kana reading beside it; kana alone is screened as the name."""
    kana = next((n.text for n in names if n.kind == "kana"), None)
    mains = [n.text for n in names if n.kind != "kana"] or ([kana] if kana else [])
    best: dict[str, Match] = {}
    for text in dict.fromkeys(mains):
        query = NameQuery(
            name=text,
            schema=schema,
            birth_date=birth_date,
            country=country,
            name_kana=kana if kana != text else None,
        )
        for m in screener.screen(query, top=5):
            if m.entity_id not in best or m.score > best[m.entity_id].score:
                best[m.entity_id] = m
    return sorted(best.values(), key=lambda m: -m.score)
