"""Direct lookup of a crypto address in the active list snapshots."""

from __future__ import annotations

from sanctrace.store import Database
from sanctrace.store import snapshots as repo


def lookup_address(db: Database, address: str) -> dict:
    """The listed holders of ``address``; the address is canonicalised for its chain first."""
    from sanctrace.chain.addresses import parse_any

    parsed = parse_any(address)
    canonical = parsed.address if parsed.valid else address.strip()
    with db.connect() as conn:
        rows = repo.find_address(conn, canonical)
        if not rows and canonical != address.strip():
            rows = repo.find_address(conn, address.strip())
    return {
        "address": canonical,
        "chain": parsed.chain if parsed.valid else None,
        "valid": parsed.valid,
        "reason": parsed.reason,
        "hits": [
            {
                "address": r.address,
                "asset": r.asset,
                "chain": r.chain,
                "entity_id": r.entity_id,
                "caption": r.caption,
                "schema": r.schema,
                "source": r.source,
                "snapshot_id": r.snapshot_id,
                "version": r.version,
            }
            for r in rows
        ],
    }
