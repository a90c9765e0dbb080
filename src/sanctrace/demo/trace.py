"""The demo's on-chain step: load the demo chain, trace deposits and withdrawals, report paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sanctrace.chainstore.store import ChainStore
from sanctrace.demo.chain_world import generate_chain
from sanctrace.demo.files import data_dir, write_chain
from sanctrace.demo.world import World
from sanctrace.services.chain_data import load_chain, load_tags
from sanctrace.services.exposure import ExposureRequest, ExposureService
from sanctrace.store import Database


def trace_demo_chain(
    db: Database, world: World, folder: Path, report_dir: Path, seed: int
) -> tuple[str, dict[str, Any]]:
    """Screen every on-chain deposit (source of funds) and withdrawal (destination of funds).

    Returns the step's one-line summary and the report context."""
    chain = generate_chain(world, seed)
    files = write_chain(chain, folder)
    store = ChainStore(data_dir(folder) / "chain")
    load_chain(store, [files["chain"]], fmt="btc_bigquery")
    load_tags(db, [files["tags"]], fmt="csv", name="demo exchange tags")
    service = ExposureService(db, store)

    deposits = []
    planted = {d["address"]: key for key, d in chain.truth["deposits"].items() if key != "clean"}
    addresses = list(planted) + chain.truth["deposits"].get("clean", [])
    for address in addresses:
        request = ExposureRequest(chain="btc", address=address, direction="in")
        answer = service.screen(request).to_dict()
        answer["planted"] = planted.get(address, "clean")
        deposits.append(answer)
    withdrawals = []
    for key, w in chain.truth["withdrawals"].items():
        request = ExposureRequest(chain="btc", address=w["address"], direction="out")
        answer = service.screen(request).to_dict()
        answer["planted"] = key
        withdrawals.append(answer)
    engine, _ = service.table("btc", "haircut", 5)
    tainted_outputs = engine.write_csv(report_dir / "exposure.csv")

    exposed = [d for d in deposits if d["tainted_value"] > 0]
    by_level: dict[str, int] = {}
    for d in exposed:
        by_level[d["risk"]["level"]] = by_level.get(d["risk"]["level"], 0) + 1
    reached = sum(1 for w in withdrawals if w["tainted_value"] > 0)
    levels = ", ".join(f"{n} {level}" for level, n in sorted(by_level.items()))
    summary = (
        f"{len(chain.rows)} transactions loaded; {len(deposits)} deposits traced (haircut, 5 hops): "
        f"{len(exposed)} exposed ({levels}), {len(deposits) - len(exposed)} clean; "
        f"{reached} of {len(withdrawals)} withdrawals reach a listed address; "
        f"{tainted_outputs} tainted outputs in exposure.csv"
    )
    context = {
        "deposits": sorted(deposits, key=lambda d: -d["fraction"]),
        "withdrawals": withdrawals,
        "tainted_outputs": tainted_outputs,
        "truth": chain.truth,
    }
    return summary, context
