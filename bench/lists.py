"""Benchmark: load the 2024 SDN.CSV and the UN XML into SQLite; time and peak memory.

Each case runs in a fresh process (so peak RSS is its own), three times; the best time counts.
The reference in the same run is the bare parse of the same file (stdlib csv over the gzip,
lxml iterparse over the XML): the ratio says what sanctrace's entity building, validation and
storage cost on top of reading the bytes. Run: ``make bench`` or ``python bench/lists.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("SANCTRACE_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "bench" / "results"
REPEAT = 3

CASES = {
    "ofac_sdn_2024_csv": DATA / "lists" / "ofac" / "2024-05-03" / "sdn.csv.gz",
    "un_2026_xml": DATA / "lists" / "un" / "UN_consolidated_2026-02-27.xml",
}

SANCTRACE = """
import sys, time
from pathlib import Path
from sanctrace.lists.snapshots import load_lists
from sanctrace.store import open_database
db = open_database(sys.argv[1])
t = time.perf_counter()
(r,) = load_lists(db, [Path(sys.argv[2])])
print(time.perf_counter() - t, r.entities)
"""

BARE = """
import csv, gzip, sys, time
from lxml import etree
path = sys.argv[2]
t = time.perf_counter()
n = 0
if path.endswith(".gz"):
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        n = sum(1 for _ in csv.reader(fh))
else:
    for _, el in etree.iterparse(path, events=("end",), resolve_entities=False):
        if el.tag in ("INDIVIDUAL", "ENTITY"):
            n += 1
            el.clear()
print(time.perf_counter() - t, n)
"""


def measure(script: str, path: Path) -> dict:
    best = None
    for _ in range(REPEAT):
        start = time.perf_counter()
        seconds, records, peak = run_case_rusage(script, path)
        wall = time.perf_counter() - start
        if best is None or seconds < best["seconds"]:
            best = {"seconds": seconds, "wall_seconds": wall, "records": records, "peak_mb": peak}
    return best


def run_case_rusage(script: str, path: Path) -> tuple[float, int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        proc = subprocess.Popen(
            [sys.executable, "-c", script, f"sqlite:///{tmp}/bench.db", str(path)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        if status:
            raise SystemExit(f"benchmark process failed (status {status})")
    seconds, records = out.split()
    return float(seconds), int(records), usage.ru_maxrss / 1024


def main() -> None:
    missing = [str(p) for p in CASES.values() if not p.exists()]
    if missing:
        raise SystemExit(f"reference data not found: {missing[0]} (set SANCTRACE_SHARED_DATA)")
    rows = []
    for name, path in CASES.items():
        ours = measure(SANCTRACE, path)
        bare = measure(BARE, path)
        rows.append(
            {
                "case": name,
                "file": str(path.relative_to(DATA)),
                "sanctrace": ours,
                "bare_parse": bare,
                "time_ratio": ours["seconds"] / bare["seconds"],
            }
        )
    header = f"{'case':<20} {'entities':>8} {'load s':>7} {'peak MB':>8} {'bare s':>7} {'bare MB':>8} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for r in rows:
        s, b = r["sanctrace"], r["bare_parse"]
        print(
            f"{r['case']:<20} {s['records']:>8} {s['seconds']:>7.2f} {s['peak_mb']:>8.0f} "
            f"{b['seconds']:>7.2f} {b['peak_mb']:>8.0f} {r['time_ratio']:>6.1f}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "lists.json"
    out.write_text(json.dumps({"repeat": REPEAT, "results": rows}, indent=2) + "\n")
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
