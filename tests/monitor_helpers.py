"""Helpers of the monitoring tests: a small OFAC CSV list with crypto addresses, events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sanctrace.services import lists
from sanctrace.services.context import Context
from sanctrace.settings import Settings

CLEAN = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
LISTED = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"  # listed by the fixture's second version
DEPOSIT_ADDRESS = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"

_V1 = (
    '20001,"VOLKOV, Igor Sergeyevich","individual","CYBER2",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,'
    '-0- ,"DOB 02 Mar 1975; nationality Russia."\n'
)
_V2 = _V1 + (
    '20002,"GARANTEX TEST EXCHANGE","-0- ","CYBER2",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,'
    f'"Digital Currency Address - XBT {LISTED}; Website example.test."\n'
)


def write_list(folder: Path, version: int) -> Path:
    """An OFAC CSV set (sdn.csv only) in ``folder``: version 1 lists one person, version 2
    adds an exchange holding ``LISTED``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sdn.csv").write_text(_V1 if version == 1 else _V2, encoding="utf-8")
    return folder


def load_list(ctx: Context, folder: Path) -> list[lists.LoadAnswer]:
    return lists.load(ctx, lists.LoadRequest(paths=(folder,), source="us_ofac_sdn"))


def context(db_url: str, tmp_path: Path) -> Context:
    return Context(Settings(db=db_url, data_dir=tmp_path / "data"))


def customer(cid: str = "C1", name: str = "SATO Kenji", **extra: Any) -> dict[str, Any]:
    return {
        "event_id": f"cust-{cid}",
        "type": "customer",
        "time": "2024-04-01T09:00:00+09:00",
        "customer_id": cid,
        "kind": "person",
        "names": [{"text": name}, {"text": "サトウ ケンジ", "kind": "kana"}],
        "nationality": "JP",
        "residence": "JP",
        **extra,
    }


def withdrawal(
    event_id: str, address: str = CLEAN, cid: str = "C1", **extra: Any
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "withdrawal",
        "time": "2024-04-03T15:30:00+09:00",
        "customer_id": cid,
        "chain": "btc",
        "asset": "BTC",
        "amount": "0.25",
        "address": address,
        **extra,
    }


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text(
        "".join(
            (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records
        ),
        encoding="utf-8",
    )
    return path
