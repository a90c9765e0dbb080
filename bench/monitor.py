"""Benchmark of monitoring (issue 12). Each section writes its figures into
``bench/results/monitor.json``, merged with what is there (running one section keeps the
other's figures):

* ``latency`` (``bench/monitor_latency.py``) — ``POST /v1/decide/withdrawal`` over a real server
  on 127.0.0.1, p50/p99 at concurrency 1 and 16, SQLite and PostgreSQL; target p99 ≤ 50 ms at
  concurrency 16 on PostgreSQL, no errors.
* ``backtest`` — events per second of the columnar backtest (see its section).

Run: ``python bench/monitor.py [--small] [--section latency|backtest]``; ``--small`` is for
development.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from _report import RESULTS, finish  # type: ignore[import-not-found]  # noqa: E402
from monitor_latency import latency  # type: ignore[import-not-found]  # noqa: E402

# =============================================================================================
# backtest: its section goes here (a function ``backtest(small: bool) -> dict`` registered in
# SECTIONS below).
# =============================================================================================

SECTIONS: dict[str, Callable[[bool], dict]] = {"latency": latency}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a quick run for development")
    parser.add_argument(
        "--section", action="append", choices=sorted(SECTIONS), help="run only these sections"
    )
    args = parser.parse_args(argv)
    path = RESULTS / "monitor.json"
    results: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    results.pop("max_rss_mb", None)
    for name in args.section or sorted(SECTIONS):
        results[name] = SECTIONS[name](args.small)
        results[name]["small"] = args.small
    finish("monitor", results)


if __name__ == "__main__":
    main()
