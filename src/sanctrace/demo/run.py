"""``sanctrace demo``: generate the world, run each step of the product on it, write the report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from rich.console import Console

from sanctrace.demo.files import csv_text, write_atomic, write_world
from sanctrace.demo.world import generate
from sanctrace.lists.snapshots import load_lists, status
from sanctrace.store import Database
from sanctrace.store import customers as customer_repo


@dataclass
class DemoSummary:
    report: Path
    steps: list[tuple[str, str]] = field(default_factory=list)


def run_demo(
    db: Database,
    folder: Path,
    report_dir: Path,
    customers: int = 10_000,
    seed: int = 2022,
    console: Console | None = None,
) -> DemoSummary:
    """Every step of the demo; returns what each did and where the report is."""
    console = console or Console(stderr=True, quiet=True)
    started = time.perf_counter()
    summary = DemoSummary(report=report_dir / "index.html")
    context: dict = {"seed": seed, "database": db.url}

    with console.status("generating the demo world"):
        world = generate(seed, customers)
        files = write_world(world, folder)
    summary.steps.append(
        (
            "world",
            f"{len(world.entries)} list entries, {len(world.customers)} customers, "
            f"{len(world.wallets)} wallets in {folder}",
        )
    )

    with console.status("storing customers and wallets"), db.begin() as conn:
        customer_repo.upsert_customers(
            conn,
            (
                {
                    "id": c.id,
                    "kind": c.kind,
                    "names": c.names,
                    "country": c.country,
                    "birth_date": c.birth_date,
                    "nationality": c.nationality,
                    "residence": c.country,
                    "incorporated": c.incorporated,
                    "data": c.data,
                }
                for c in world.customers
            ),
        )
        customer_repo.add_wallets(
            conn,
            (
                {
                    "customer_id": w.customer_id,
                    "chain": w.chain,
                    "address": w.address,
                    "purpose": w.purpose,
                }
                for w in world.wallets
            ),
        )
        counts = customer_repo.count(conn)
    summary.steps.append(
        ("customers", f"{counts['customers']} customers, {counts['wallets']} wallets stored")
    )
    context["counts"] = counts

    with console.status("loading the sanctions list"):
        loads = load_lists(db, [files["list"]], source="demo_sdn", fmt="ofac_csv")
    lists = status(db)
    context["lists"] = lists
    load = loads[0]
    summary.steps.append(
        (
            "lists",
            f"snapshot {load.snapshot_id} of demo_sdn: {load.entities} entities, "
            f"{load.addresses} crypto addresses ({'new' if load.created else 'unchanged'})",
        )
    )

    with db.connect() as conn:
        hits = customer_repo.listed_wallets(conn)
    planted = {(w["customer_id"], w["address"]) for w in world.truth["listed_wallets"]}
    found = {(h.customer_id, h.address) for h in hits}
    summary.steps.append(
        (
            "wallets",
            f"{len(hits)} customer wallets are listed addresses "
            f"({len(found & planted)} of {len(planted)} planted found)",
        )
    )
    rows = [
        [h.customer_id, h.chain, h.address, h.purpose, h.entity_id, h.asset, h.snapshot_id]
        for h in hits
    ]
    write_atomic(
        report_dir / "wallet_hits.csv",
        csv_text(
            ["customer_id", "chain", "address", "purpose", "entity_id", "asset", "snapshot_id"],
            rows,
        ),
    )
    context["wallet_hits"] = rows
    context["steps"] = summary.steps
    context["elapsed"] = f"{time.perf_counter() - started:.1f}"
    env = Environment(
        loader=PackageLoader("sanctrace.demo", "templates"), autoescape=select_autoescape()
    )
    write_atomic(summary.report, env.get_template("report.html").render(**context))
    return summary
