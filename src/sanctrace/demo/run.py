"""``sanctrace demo``: generate the world, run each step of the product on it, write the report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from rich.console import Console

from sanctrace.demo.accounts import ANALYST, APPROVER, Credential, demo_accounts
from sanctrace.demo.casework import casework_step
from sanctrace.demo.files import csv_text, write_world
from sanctrace.demo.monitoring import load_history, monitoring_context, monitoring_step
from sanctrace.demo.ownership import ownership_section
from sanctrace.demo.trace import trace_demo_chain
from sanctrace.demo.world import generate, store_world
from sanctrace.errors import Conflict
from sanctrace.fileio import write_atomic
from sanctrace.services import lists as list_service
from sanctrace.services import names as name_service
from sanctrace.services.context import Context

# The demo still stores its customers and wallets straight into the store: the events load
# of the monitoring issue will take this over.
from sanctrace.store import customers as customer_repo


@dataclass
class DemoSummary:
    """Where the report is, and one line per step."""

    report: Path
    steps: list[tuple[str, str]] = field(default_factory=list)
    # Made on this run, shown once by the command (never written to the report).
    credentials: list[Credential] = field(default_factory=list)


def run_demo(
    ctx: Context,
    folder: Path,
    report_dir: Path,
    customers: int = 10_000,
    seed: int = 2022,
    console: Console | None = None,
) -> DemoSummary:
    """Every step of the demo; returns what each did and where the report is."""
    console = console or Console(stderr=True, quiet=True)
    db = ctx.db
    started = time.perf_counter()
    summary = DemoSummary(report=report_dir / "index.html")
    context: dict[str, Any] = {"seed": seed, "database": db.url}

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
        store_world(conn, world)
        counts = customer_repo.count(conn)
    summary.steps.append(
        ("customers", f"{counts['customers']} customers, {counts['wallets']} wallets stored")
    )
    context["counts"] = counts

    summary.credentials = demo_accounts(ctx)
    context["demo_users"] = {"analyst": ANALYST, "approver": APPROVER}
    summary.steps.append(
        (
            "users",
            f"analyst {ANALYST}, approver {APPROVER}, platform key "
            f"{summary.credentials[-1].name} (credentials printed at the end)",
        )
    )

    # The customers are stored: the load re-screens them against the new snapshot.
    with console.status("loading the sanctions list and screening customer names"):
        try:
            (load,) = list_service.load(
                ctx,
                list_service.LoadRequest(
                    paths=(files["list"],), source="demo_sdn", format="ofac_csv"
                ),
            )
        except Conflict:  # a second run: the update is active, and older files are refused
            (load,) = list_service.load(
                ctx,
                list_service.LoadRequest(
                    paths=(files["list_update"],), source="demo_sdn", format="ofac_csv"
                ),
            )
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

    run = load.rescreen
    if run is None:  # the snapshot was loaded before (a second demo run on one database)
        with console.status("screening customer names"):
            run = name_service.screen_stored_customers(ctx)
    planted = {
        (c["customer_id"], f"demo_sdn:{c['ent_num']}") for c in world.truth["listed_customers"]
    }
    found = {(cid, m.entity_id) for cid, ms in run.by_customer.items() for m in ms}
    summary.steps.append(
        (
            "names",
            f"{run.customers} customers screened: {len(run.by_customer)} with matches, "
            f"{len(found & planted)} of {len(planted)} planted listed persons found",
        )
    )

    # The exchange's activity so far, through the monitoring rules (before the update, so that
    # the update's lookback has a history to look at).
    monitor_ctx = monitoring_context(ctx, folder)
    with console.status("loading the exchange's activity history through the rules"):
        history = load_history(monitor_ctx, world, folder, seed)

    with console.status("loading the list update and re-screening"):
        (update,) = list_service.load(
            ctx,
            list_service.LoadRequest(
                paths=(files["list_update"],), source="demo_sdn", format="ofac_csv"
            ),
        )
        delta = list_service.diff(ctx, "demo_sdn")
    rerun = update.rescreen or name_service.ScreeningRun()
    summary.steps.append(
        (
            "update",
            f"snapshot {update.snapshot_id}: {len(delta.added)} added, "
            f"{len(delta.removed)} removed, {len(delta.changed)} changed; re-screening "
            f"found {rerun.new} new matches and retired {rerun.retired}",
        )
    )
    context["delta"] = delta
    matches = name_service.open_matches(db)
    with db.connect() as conn:
        names = {
            r.id: r for r in customer_repo.customer_rows(conn, {m.customer_id for m in matches})
        }
    context["matches"] = [
        (
            m,
            ", ".join(n for _, n, _ in names[m.customer_id].names)
            if m.customer_id in names
            else "",
        )
        for m in matches
    ]
    context["retired"] = name_service.retired_matches(db)
    context["lists"] = list_service.status(ctx).sources
    write_atomic(
        report_dir / "name_matches.csv",
        csv_text(
            ["customer_id", "customer_names", "score", "entity_id", "matched_name", "explanation"],
            [
                [m.customer_id, n, f"{m.score:.3f}", m.entity_id, m.matched_name, m.explanation]
                for m, n in context["matches"]
            ],
        ),
    )
    with console.status("checking corporate customers through their owners"):
        context["ownership"] = ownership_section(db, folder)
    summary.steps.append(("ownership", context["ownership"]["summary"]))

    with console.status("tracing deposits and withdrawals on chain"):
        line, context["exposure"] = trace_demo_chain(db, world, folder, report_dir, seed)
    summary.steps.append(("chain", line))

    with console.status("deciding live requests and collecting alerts"):
        line, context["monitoring"] = monitoring_step(
            monitor_ctx, history, report_dir, update.snapshot_id
        )
    summary.steps.append(("monitoring", line))

    with console.status("working a case and a hold"):
        line, context["casework"] = casework_step(monitor_ctx, report_dir)
    summary.steps.append(("casework", line))

    context["steps"] = summary.steps
    context["elapsed"] = f"{time.perf_counter() - started:.1f}"
    env = Environment(
        loader=PackageLoader("sanctrace.demo", "templates"), autoescape=select_autoescape()
    )
    write_atomic(summary.report, env.get_template("report.html").render(**context))
    return summary
