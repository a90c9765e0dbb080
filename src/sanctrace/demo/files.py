"""Writing the demo world to files: the list in OFAC's CSV layout, customers, wallets, truth."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from sanctrace.demo.chain_world import ChainWorld
from sanctrace.demo.world import ListEntry, World
from sanctrace.fileio import write_atomic

EMPTY = "-0- "


def _q(value: str | None) -> str:
    return EMPTY if not value else '"' + value.replace('"', '""') + '"'


def _sdn_row(e: ListEntry) -> str:
    remarks = list(e.remarks) + [f"Digital Currency Address - {a} {addr}" for a, addr in e.crypto]
    remark_text = "; ".join(remarks) + "." if remarks else None
    programs = "] [".join(e.programs)
    fields = [str(e.ent_num), _q(e.name), _q(e.sdn_type or None), _q(programs)]
    fields += [EMPTY] * 7 + [_q(remark_text)]
    return ",".join(fields)


def write_list(entries: list[ListEntry], folder: Path) -> list[Path]:
    """The fictional list as sdn.csv, alt.csv and add.csv (OFAC's legacy layout)."""
    sdn = "\n".join(_sdn_row(e) for e in entries) + "\n"
    alt_rows, add_rows = [], []
    alt_num = add_num = 1
    for e in entries:
        for kind, name in e.aliases:
            alt_rows.append(f"{e.ent_num},{alt_num},{_q(kind)},{_q(name)},{EMPTY}")
            alt_num += 1
        for street, city, country in e.addresses:
            add_rows.append(f"{e.ent_num},{add_num},{_q(street)},{_q(city)},{_q(country)},{EMPTY}")
            add_num += 1
    paths = [folder / "sdn.csv", folder / "alt.csv", folder / "add.csv"]
    for path, text in zip(
        paths, (sdn, "\n".join(alt_rows) + "\n", "\n".join(add_rows) + "\n"), strict=True
    ):
        write_atomic(path, text)
    return paths


def csv_text(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def write_world(world: World, folder: Path) -> dict[str, Path]:
    """Every file of the world; returns them by role."""
    files = {"list": folder / "list", "list_update": folder / "list-update"}
    write_list(world.entries, files["list"])
    write_list(world.update, files["list_update"])
    files["customers"] = folder / "customers.csv"
    rows = [
        [
            c.id,
            c.kind,
            c.country,
            c.birth_date or "",
            c.nationality or "",
            c.incorporated or "",
            next((n for k, n in c.names if k == "legal"), ""),
            next((n for k, n in c.names if k == "reading"), ""),
            next((n for k, n in c.names if k == "latin"), ""),
        ]
        for c in world.customers
    ]
    header = [
        "id",
        "kind",
        "country",
        "birth_date",
        "nationality",
        "incorporated",
        "name",
        "name_kana",
        "name_latin",
    ]
    write_atomic(files["customers"], csv_text(header, rows))
    files["wallets"] = folder / "wallets.csv"
    write_atomic(
        files["wallets"],
        csv_text(
            ["customer_id", "chain", "address", "purpose"],
            [[w.customer_id, w.chain, w.address, w.purpose] for w in world.wallets],
        ),
    )
    files["ownership"] = folder / "ownership.ftm.json"
    write_atomic(
        files["ownership"],
        "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in world.ownership),
    )
    files["truth"] = folder / "truth.json"
    write_atomic(files["truth"], json.dumps(world.truth, indent=2, ensure_ascii=False) + "\n")
    return files


def write_chain(chain: ChainWorld, folder: Path) -> dict[str, Path]:
    """The demo chain as BigQuery-layout JSON lines and its attribution tags as a tag CSV."""
    from sanctrace.chain.tags import CSV_COLUMNS

    files = {"chain": folder / "chain" / "btc_transactions.jsonl", "tags": folder / "tags.csv"}
    write_atomic(files["chain"], "".join(json.dumps(r) + "\n" for r in chain.rows))
    rows = [[t.get(c, "") for c in CSV_COLUMNS] for t in chain.tags]
    write_atomic(files["tags"], csv_text(list(CSV_COLUMNS), rows))
    return files


def data_dir(folder: Path) -> Path:
    """The demo's data directory (its chain store is ``<data_dir>/chain``), so that
    ``sanctrace --data-dir <folder>/data serve`` shows the demo's chain in the console."""
    return folder / "data"
